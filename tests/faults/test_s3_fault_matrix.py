"""The S3 rows of the fault matrix: state in s3:// (s3rver, a real local S3
server) reached through tests/support/s3_fault_proxy.py, a TEST FIXTURE that
answers 500 InternalError / 503 SlowDown or drops the connection for the
requests its rules match.  Our C code and Terraform's own S3 backend both go
through it (AWS_ENDPOINT_URL_S3).

After each fault the same promises as the other rows: with S3 healthy again,
`cleaner sweep` finds and destroys every lease that survived; then no box is
running, nothing is left under the stack's prefix (while neighbours such as
STACK-10/ and STACK.txt are never touched), no private key is on disk outside
--out or in any S3 object, and no log holds one."""
import json
import os
import subprocess

import pytest
from botocore.config import Config

from support import botoclient
from support.localflow import box_processes
from support.matrix import MATRIX
from support.s3_servers import S3RVER_KEY, run, s3rver  # noqa: F401  (fixture)
from support.s3fault import FaultProxy
from test_fault_matrix import no_key_outside

LEASE = r"/lease\.json$"
TFSTATE = r"/terraform\.tfstate$"


class S3Case:
    def __init__(self, s3, tmp, provisioner, cleaner):
        self.s3, self.tmp = s3, tmp
        self.provisioner, self.cleaner = provisioner, cleaner
        self.work = tmp / "work"
        self.env = s3.env(JUMPBOX_WORK_DIR=str(self.work), XDG_STATE_HOME=str(tmp / "xdg"),
                          # Terraform's S3 backend retries 5 times with backoff
                          # (~10-15 s) before it gives up on a call: room for that.
                          JUMPBOX_TF_TIMEOUT="40s")
        self.proxy = FaultProxy(s3.endpoint, tmp).start()
        self.env["AWS_ENDPOINT_URL_S3"] = self.proxy.endpoint
        # The test's own look at the bucket goes to s3rver directly (botocore).
        self.bc = botoclient.client(
            "s3", endpoint_url=s3.endpoint, region_name="us-east-1",
            aws_access_key_id=S3RVER_KEY, aws_secret_access_key=S3RVER_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        self.neighbours = []

    def use(self, stack):
        self.stack = stack
        self.prefix = f"sm/{stack}"
        self.state = f"s3://state/{self.prefix}"
        # Names that start like ours: no purge or sweep may touch them.
        self.neighbours = [f"{self.prefix}/{stack}-10/lease.json",
                           f"{self.prefix}/{stack}-10/terraform.tfstate",
                           f"{self.prefix}/{stack}.txt"]
        for key in self.neighbours:
            self.bc.put_object(Bucket="state", Key=key, Body=b"")

    def create(self, *args, timeout=150, popen=False):
        argv = [self.provisioner, "create", "--state", self.state, "--ttl", "10m",
                "--stack-id", self.stack, "--out", str(self.tmp / "out"), *args]
        if popen:
            return subprocess.Popen(argv, env=self.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        return run(argv, env=self.env, timeout=timeout)

    def destroy(self, timeout=150):
        return run([self.cleaner, "destroy", "--state", self.state, "--stack-id", self.stack],
                   env=self.env, timeout=timeout)

    def keys(self, under=None):
        """Keys in the bucket under the state prefix, read from s3rver directly."""
        res = self.bc.list_objects_v2(Bucket="state", Prefix=under or self.prefix + "/")
        assert not res["IsTruncated"]
        return sorted(o["Key"] for o in res.get("Contents", []))

    def ours(self):
        return self.keys(f"{self.prefix}/{self.stack}/")

    def get(self, key):
        return self.bc.get_object(Bucket="state", Key=key)["Body"].read()

    def lease(self):
        return json.loads(self.get(f"{self.prefix}/{self.stack}/lease.json"))

    def put_lease(self, obj):
        self.bc.put_object(Bucket="state", Key=f"{self.prefix}/{self.stack}/lease.json",
                           Body=json.dumps(obj).encode())

    def lease_puts(self):
        return [e for e in self.proxy.log()
                if e["method"] == "PUT" and e["key"].endswith("/lease.json")]

    def settle(self, stage, fault, outcome, expire=True):
        """S3 healthy again: sweep what survived, then count orphans."""
        for key in self.keys():
            assert b"PRIVATE KEY" not in self.get(key), f"a private key in s3://state/{key}"
        self.proxy.healthy()
        survived = f"{self.prefix}/{self.stack}/lease.json" in self.ours()
        if survived:
            if expire:
                lease = self.lease()
                lease["expires_at"] = "2020-01-01T00:00:00Z"
                self.put_lease(lease)
            cp = run([self.cleaner, "sweep", "--state", self.state], env=self.env, timeout=150)
            res = json.loads(cp.stdout)
            assert [(s["stack_id"], s["result"]) for s in res["stacks"]] == \
                [(self.stack, "destroyed")], cp.stderr
            outcome += "; lease kept, swept"
        left = self.ours()
        boxes = box_processes(self.work)
        keys = no_key_outside(self.tmp, self.tmp / "out")
        MATRIX.append((stage, fault, outcome, len(boxes) + len(left) + len(keys)))
        assert not boxes, "a box is running that no lease names"
        assert left == [], f"left under the stack's prefix: {left}"
        assert sorted(set(self.keys()) & set(self.neighbours)) == sorted(self.neighbours), \
            "a neighbour's object was deleted"
        assert keys == [], f"private key on disk outside --out: {keys}"
        logs = self.work / "logs"
        for log in logs.glob("*") if logs.exists() else []:
            assert "PRIVATE KEY" not in log.read_text(errors="replace")

    def cleanup(self):
        for pid, _ in box_processes(self.work):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.proxy.stop()


@pytest.fixture
def case(s3rver, tmp_path, provisioner, cleaner):  # noqa: F811
    c = S3Case(s3rver, tmp_path, provisioner, cleaner)
    yield c
    c.cleanup()


def one_line(stderr, prefix):
    lines = [l for l in stderr.splitlines() if l.startswith(prefix)]
    assert len(lines) == 1, stderr
    return lines[0]


def test_lease_write_slowdown_twice(case):
    case.use("s1")
    case.proxy.rules([{"method": "PUT", "key": LEASE, "action": "503", "times": 2}])
    cp = case.create()
    assert cp.returncode == 0, cp.stderr
    assert [e["status"] for e in case.lease_puts()][:3] == [503, 503, 200]
    assert case.lease()["status"] == "ready"
    cp = case.destroy()
    assert cp.returncode == 0 and '"destroyed"' in cp.stdout, cp.stderr
    case.settle("lease", "S3: lease PUT 503 SlowDown x2, then OK", "ok (our retry), destroyed")


def test_lease_write_slowdown_storm(case):
    case.use("s2")
    case.proxy.rules([{"method": "PUT", "key": LEASE, "action": "503"}])
    cp = case.create()
    assert cp.returncode == 1 and cp.stdout == ""
    line = one_line(cp.stderr, "provisioner create: ")
    assert f"PutObject s3://state/{case.prefix}/s2/lease.json" in line, line
    assert "503 SlowDown" in line and "after 3 attempts" in line, line
    # Bounded: the standard 3 attempts, then the error.
    assert len(case.lease_puts()) == 3
    assert not (case.work / "stacks" / "s2").exists()
    assert not box_processes(case.work) and case.ours() == []
    case.settle("lease", "S3: lease PUT 503 SlowDown always", "exit 1, nothing made")


def test_lease_lookup_slowdown_storm(case):
    """The name check before a create reads the lease: S3 failing there is
    not "already exists" (bad input), it is S3 failing."""
    case.use("sc")
    case.proxy.rules([{"method": "GET", "key": LEASE, "action": "503"}])
    cp = case.create()
    assert cp.returncode == 1 and cp.stdout == "", cp.stderr
    line = one_line(cp.stderr, "provisioner create: ")
    assert "looking for a stack named sc" in line and "503 SlowDown" in line, line
    assert "already exists" not in line
    assert not (case.work / "stacks" / "sc").exists() and case.ours() == []
    case.settle("lease", "S3: lease GET 503 SlowDown always", "exit 1, nothing made")


def test_lease_create_answer_lost(case):
    """S3 stored the new lease but the answer never came back; the retry of
    the conditional write meets the lease it made itself (412, as S3
    answers; s3rver ignores If-None-Match, so the fixture gives it)."""
    case.use("s3")
    case.proxy.rules([
        {"method": "PUT", "key": LEASE, "header": "if-none-match", "action": "drop-after",
         "times": 1},
        {"method": "PUT", "key": LEASE, "header": "if-none-match", "action": "412", "times": 1},
    ])
    cp = case.create()
    assert cp.returncode == 0, cp.stderr
    assert [e["action"] for e in case.lease_puts()][:3] == ["drop-after", "412", "forward"]
    cp = case.destroy()
    assert cp.returncode == 0, cp.stderr
    case.settle("lease", "S3: lease PUT stored, answer lost, retry 412",
                "ok (own lease seen), destroyed")


def test_tfstate_put_fails_always(case):
    """Terraform cannot save its state: apply fails after making the box,
    and leaves the state in errored.tfstate.  The rollback must not run a
    destroy that reads the backend's empty state and "succeeds"."""
    case.use("s4")
    case.proxy.rules([{"method": "PUT", "key": TFSTATE, "action": "500"}])
    cp = case.create(timeout=170)
    assert cp.returncode == 1 and cp.stdout == "", cp.stderr
    line = one_line(cp.stderr, "provisioner create: ")
    assert "terraform apply failed" in line and "errored.tfstate" in line, line
    assert "lease s4 kept for the sweeper" in line, line
    # The box is up and the lease that names it survived, failed and expired.
    assert box_processes(case.work), "the box should still be running"
    lease = case.lease()
    assert lease["status"] == "failed"
    assert (case.work / "stacks" / "s4" / "errored.tfstate").exists()
    case.settle("apply", "S3: tfstate PUT (Terraform) 500 always", "exit 1, box left running",
                expire=False)


def test_tfstate_put_fails_then_another_machine_destroys(case):
    """The same failure, but the machine that made the box is gone (a Lambda
    container, a VM): its work directory with errored.tfstate in it is lost.
    The file was saved beside the lease in S3, so a sweep from any other
    machine pushes it and destroys the box, instead of destroying the
    backend's empty state, purging the lease and leaving the box running."""
    import shutil
    case.use("se")
    case.proxy.rules([{"method": "PUT", "key": TFSTATE, "action": "500"}])
    cp = case.create(timeout=170)
    assert cp.returncode == 1 and "lease se kept for the sweeper" in cp.stderr, cp.stderr
    assert f"{case.prefix}/se/errored.tfstate" in case.ours()
    assert b'"terraform_data"' in case.get(f"{case.prefix}/se/errored.tfstate")
    assert box_processes(case.work), "the box should still be running"
    case.proxy.healthy()
    shutil.rmtree(case.work / "stacks")
    other = dict(case.env, JUMPBOX_WORK_DIR=str(case.tmp / "other-machine"))
    cp = run([case.cleaner, "sweep", "--state", case.state], env=other, timeout=150)
    res = json.loads(cp.stdout)
    assert res["stacks"] == [{"stack_id": "se", "result": "destroyed"}], cp.stderr
    assert "errored.tfstate (from the state store)" in cp.stderr
    assert not box_processes(case.work), "destroyed from the backend's empty state: orphan"
    case.settle("apply", "S3: tfstate PUT 500, then the machine is lost",
                "exit 1; swept from another machine with the stored errored.tfstate")


def test_tfstate_put_fails_during_apply_only(case):
    """The same, but S3 is healthy again by the rollback: the state
    Terraform could not save is pushed, then destroyed."""
    case.use("s5")
    case.proxy.rules([{"method": "PUT", "key": TFSTATE, "action": "500"}])
    p = case.create(popen=True)
    lines = []
    for line in p.stderr:
        lines.append(line)
        if "rollback: destroying what was made" in line:
            case.proxy.healthy()
    p.wait(timeout=170)
    err = "".join(lines)
    assert p.returncode == 1 and "rollback" in err, err
    # Destroying from the backend's (empty) state alone would "succeed",
    # purge the lease and leave this box running with nothing naming it.
    assert not box_processes(case.work), "rolled back, yet the box runs"
    assert "terraform state push" in err and "kept for the sweeper" not in err, err
    assert case.ours() == []
    case.settle("apply", "S3: tfstate PUT 500 until the rollback",
                "exit 1, state pushed, rolled back")


@pytest.mark.parametrize("kind", ["drop", "drop-after"])
def test_lease_update_dropped(case, kind):
    """Every lease write after the first (the "ready" update) loses its
    connection: before S3 sees it (drop) or after S3 stored it (drop-after)."""
    stack = "s6" if kind == "drop" else "s7"
    case.use(stack)
    case.proxy.rules([{"method": "PUT", "key": LEASE, "action": kind, "skip": 1}])
    cp = case.create()
    assert cp.returncode == 1 and cp.stdout == "", cp.stderr
    line = one_line(cp.stderr, "provisioner create: ")
    assert f"PutObject s3://state/{case.prefix}/{stack}/lease.json" in line, line
    assert "no answer after 3 attempts" in line, line
    assert "rollback: destroying what was made" in cp.stderr
    assert not (case.tmp / "out" / "id_ed25519").exists()
    assert not box_processes(case.work) and case.ours() == []
    case.settle("ready", "S3: lease update PUT " + ("dropped always" if kind == "drop" else
                                                   "stored, then dropped"),
                "exit 1, rolled back")


@pytest.mark.parametrize("kind", ["drop", "500"])
def test_purge_fails(case, kind):
    stack = "s8" if kind == "drop" else "s9"
    case.use(stack)
    cp = case.create()
    assert cp.returncode == 0, cp.stderr
    case.proxy.rules([{"method": "POST", "query": r"(^|&)delete(=|&|$)", "action": kind}])
    cp = case.destroy()
    assert cp.returncode == 1 and cp.stdout == "", cp.stderr
    line = one_line(cp.stderr, "cleaner destroy: ")
    assert "DeleteObjects" in line, line
    assert not box_processes(case.work), "terraform destroy ran before the purge"
    # The records stay; the lease says failed, so the next sweep takes it at once.
    assert f"{case.prefix}/{stack}/lease.json" in case.ours()
    assert case.lease()["status"] == "failed"
    case.settle("destroy", f"S3: DeleteObjects (purge) {'dropped' if kind == 'drop' else kind} "
                "always", "exit 1, box gone", expire=False)


@pytest.mark.parametrize("kind", ["503", "drop"])
def test_list_and_sweep_in_a_storm(case, kind):
    stack = "sa" if kind == "503" else "sb"
    case.use(stack)
    cp = case.create()
    assert cp.returncode == 0, cp.stderr
    case.proxy.rules([{"action": kind}])
    case.env["AWS_MAX_ATTEMPTS"] = "2"
    for argv, who in (([case.provisioner, "list"], "provisioner list: "),
                      ([case.cleaner, "sweep"], "cleaner sweep: "),
                      ([case.provisioner, "create", "--ttl", "10m", "--stack-id", stack + "x"],
                       "provisioner create: ")):
        case.proxy._call("DELETE", "/_fixture/log")
        cp = run([*argv, "--state", case.state], env=case.env, timeout=60)
        # S3 failing is not bad input (2): exit 1, one line naming the call.
        assert cp.returncode == 1 and cp.stdout == "", (argv, cp.stderr)
        line = one_line(cp.stderr, who)
        assert f"{case.state} cannot be reached: ListObjectsV2" in line, line
        assert ("503 SlowDown" if kind == "503" else "no answer after 2 attempts") in line
        # Bounded: AWS_MAX_ATTEMPTS requests, no endless retry.  Of the
        # bucket (ListObjectsV2): the box's timer reads its own lease through
        # the proxy too, every 10 s, and may land in this window.
        lists = [e for e in case.proxy.log() if e["key"] == ""]
        assert len(lists) == 2, case.proxy.log()
    del case.env["AWS_MAX_ATTEMPTS"]
    assert case.lease()["status"] == "ready"
    assert not (case.work / "stacks" / (stack + "x")).exists()
    case.settle("sweep", f"S3: every call {'503 SlowDown' if kind == '503' else 'dropped'}",
                "list, sweep, create: exit 1")


def test_a_commands_requests_share_its_connection(case):
    """Each of our processes keeps its connection to S3 between requests
    (issue 25 item 2, as an SDK's client does): a create's calls and a
    destroy's go over one connection per process, not one per request.
    Before, every request opened its own (TCP and TLS again on AWS)."""
    case.use("pool")
    cp = case.create()
    assert cp.returncode == 0, cp.stderr
    created = [e for e in case.proxy.log() if e["agent"] == "jumpbox"]
    cp = case.destroy()
    assert cp.returncode == 0, cp.stderr
    destroyed = [e for e in case.proxy.log() if e["agent"] == "jumpbox"][len(created):]
    # The destroy's own calls; the box's log comes from its own process
    # (jumpbox-localbox down, which Terraform runs).
    destroyed = [e for e in destroyed if not e["key"].endswith(".log")]
    assert len(created) >= 5 and len(destroyed) >= 8, (created, destroyed)
    assert len({e["conn"] for e in created}) == 1, created
    assert len({e["conn"] for e in destroyed}) == 1, destroyed
