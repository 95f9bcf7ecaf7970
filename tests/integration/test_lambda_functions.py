"""The build and clean functions end to end: `provisioner request` and
`cleaner request` (SigV4, lib/aws/lambda_invoke) -> the local Lambda harness -> the real
binaries as custom-runtime functions -> Terraform with terraform/local -> a
real sshd -> real `ssh`.  Plus every bad event, each refused with the field
named and nothing made or touched."""
import base64
import calendar
import json
import os
import shutil
import stat
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from support.jbtest import ROOT, bin_path, run, run_json
from support.lambda_util import LambdaHarness, boto_lambda, invoke
from support.localflow import box_processes

BUILD, CLEAN = "jumpbox-build", "jumpbox-clean"
X25519_B64 = base64.b64encode(bytes(range(1, 33))).decode()


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.state = tmp / "state"
        self.work = tmp / "work"
        self.state.mkdir(mode=0o700)
        self.task = tmp / "task"
        self.base = {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            "JUMPBOX_STATE": "file://" + str(self.state),
            "JUMPBOX_WORK_DIR": str(self.work),
        }
        # What a CLI on the same machine needs to see the same stacks.
        self.cli = {"JUMPBOX_WORK_DIR": str(self.work), "XDG_STATE_HOME": str(tmp / "xdg")}

    def bootstrap(self, name, binary):
        """A task directory like Lambda's: bootstrap is the binary itself."""
        d = self.task / name
        d.mkdir(parents=True)
        (d / "bootstrap").symlink_to(bin_path(binary))
        return str(d / "bootstrap")

    def leases(self):
        return sorted(p.name for p in self.state.iterdir() if (p / "lease.json").exists())


@pytest.fixture
def env(tmp_path):
    e = Env(tmp_path)
    yield e
    # Whatever a failed test left behind: destroyed with the CLI.
    for sid in e.leases():
        run([bin_path("cleaner"), "destroy", "--stack-id", sid, "--state",
             "file://" + str(e.state)], env=e.cli)


def build_env(e, **over):
    d = dict(e.base, JUMPBOX_MODULE="local", JUMPBOX_MAX_TTL="30m",
             JUMPBOX_ALLOWED_CIDRS="127.0.0.0/8, ::1/128", JUMPBOX_DEADLINE_RESERVE="20s")
    d.update(over)
    return d


@pytest.fixture
def harness(env, tmp_path):
    h = LambdaHarness(str(tmp_path)).start()
    h.add_function(BUILD, [env.bootstrap("build", "provisioner")], build_env(env),
                   timeout_s=120)
    # The local module: nothing of ours in EC2, so the sweep does not reap
    # (tests/aws/test_aws_reap.py has the reap on the emulated cloud).
    h.add_function(CLEAN, [env.bootstrap("clean", "cleaner")],
                   dict(env.base, JUMPBOX_MODULE="local"), timeout_s=120)
    yield h
    h.stop()


def cli_create(env, ttl="10m"):
    return run_json([bin_path("provisioner"), "create", "--ttl", ttl, "--state",
                     "file://" + str(env.state)], env=env.cli)


def test_request_ssh_and_teardown_through_the_functions(env, harness, tmp_path):
    out = tmp_path / "out"
    cenv = harness.client_env()
    res = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                    "--allow-cidr", "127.0.0.1/32", "--requester", "backup-vm-1",
                    "--out", str(out)], env=cenv)
    sid = res["stack_id"]
    assert env.leases() == [sid]
    for name, mode in [("id_ed25519", 0o600), ("teardown_token", 0o600),
                       ("known_hosts", 0o644), ("ssh_config", 0o644)]:
        assert stat.S_IMODE((out / name).stat().st_mode) == mode, name
    # The function's answer held the key and token only sealed.
    answer = harness.functions[BUILD].history[-1]["body"].decode()
    token = (out / "teardown_token").read_text()
    assert "PRIVATE KEY" not in answer and token not in answer
    assert "sealed_private_key" in json.loads(answer)
    lease = json.loads((env.state / sid / "lease.json").read_text())
    assert lease["requester"] == "backup-vm-1"

    ssh = subprocess.run(["ssh", "-F", str(out / "ssh_config"), sid, "echo", "via-lambda"],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert ssh.returncode == 0, ssh.stderr
    assert ssh.stdout == ""       # logged in; a jump box runs nothing

    gone = run_json([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id", sid,
                     "--out", str(out)], env=cenv)
    assert gone == {"stack_id": sid, "result": "destroyed"}
    assert env.leases() == []
    assert not (out / "id_ed25519").exists() and not (out / "teardown_token").exists()
    # The audit records name each function's invocation as the actor.
    recs = {r["event"]: r for r in map(json.loads, run(
        [bin_path("provisioner"), "audit", "--state", "file://" + str(env.state)],
        env=env.cli, check=0).stdout.splitlines())}
    build, clean = harness.functions[BUILD], harness.functions[CLEAN]
    assert recs["create"]["by"] == {"via": "build-function", "function_arn": build.arn,
                                    "request_id": build.history[-1]["request_id"]}
    assert recs["create"]["requester"] == "backup-vm-1"
    assert recs["create"]["allow_cidr"] == "127.0.0.1/32"
    assert recs["destroy"]["by"] == {"via": "clean-function", "function_arn": clean.arn,
                                     "request_id": clean.history[-1]["request_id"],
                                     "action": "destroy"}
    assert (recs["destroy"]["reason"], recs["destroy"]["result"]) == ("request", "destroyed")
    ssh = subprocess.run(["ssh", "-F", str(out / "ssh_config"), "-o", "ConnectTimeout=5", sid,
                          "true"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert ssh.returncode != 0


def test_run_through_the_functions(env, harness, tmp_path):
    """`provisioner run --function`: the box from the build function, COMMAND
    through it, then the clean function (with the box's teardown token)
    ends it; the private directory is gone."""
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    job = ('ssh -F "$JUMPBOX_SSH_CONFIG" -o BatchMode=yes "$JUMPBOX_HOST" true && echo via-run && '
           'echo "$JUMPBOX_DIR" >&2; exit 3')
    cp = run([bin_path("provisioner"), "run", "--function", BUILD, "--clean-function", CLEAN,
              "--ttl", "10m", "--allow-cidr", "127.0.0.1/32", "--requester", "backup-vm-2",
              "--", "sh", "-c", job], env=dict(harness.client_env(), XDG_RUNTIME_DIR=str(rt)),
             check=3, timeout=600)
    assert cp.stdout == "via-run\n"
    assert "jumpbox: [" in cp.stderr and "invoking: jumpbox-build" in cp.stderr
    sid = json.loads(harness.functions[BUILD].history[-1]["body"])["stack_id"]
    assert f"{sid} destroyed" in cp.stderr
    clean = [json.loads(h["body"]) for h in harness.functions[CLEAN].history]
    assert clean == [{"stack_id": sid, "result": "destroyed"}]
    assert env.leases() == []
    assert not box_processes(env.work)
    assert list(rt.iterdir()) == []


def good_event(**over):
    ev = {"action": "create", "ttl": "10m", "allow_cidr": "127.0.0.1/32",
          "requester": "t", "recipient_key": X25519_B64}
    ev.update(over)
    return {k: v for k, v in ev.items() if v is not None}


BAD_BUILD = [
    (b"not json", "event: not JSON"),
    (b"[1]", "event: must be a JSON object"),
    ({}, "action: required"),
    (good_event(action=5), "action: must be a string"),
    (good_event(action="explode"), "action: unknown action"),
    (good_event(ttl=30), "ttl: must be a string"),
    (good_event(ttl="soon"), "ttl: "),
    (good_event(ttl="2h"), "ttl: over this function's limit"),
    (good_event(ttl="1s"), "ttl: at least 10s"),
    (good_event(allow_cidr=None), "allow_cidr: required"),
    (good_event(allow_cidr="300.1.1.1/32"), "allow_cidr: "),
    (good_event(allow_cidr="10.0.0.0/8"), "allow_cidr: 10.0.0.0/8 is not inside"),
    (good_event(allow_cidr="::1/128"), "allow_cidr: module local is reached from 127.0.0.1"),
    (good_event(requester=None), "requester: required"),
    (good_event(requester="a\nb"), "requester: "),
    (good_event(recipient_key=None), "recipient_key: required"),
    (good_event(recipient_key="abc"), "recipient_key: not a base64 X25519"),
    (good_event(recipient_key=base64.b64encode(bytes(32)).decode()), "recipient_key: "),
    # A point of small order: nothing can be sealed to it, so it is refused
    # before a box is built (not after, when the seal fails).
    (good_event(recipient_key=base64.b64encode(b"\x01" + bytes(31)).decode()),
     "recipient_key: a point of small order"),
    (good_event(recipient_key=["x"]), "recipient_key: must be a string"),
    (good_event(module="aws"), "module: unknown field"),
    (json.dumps(good_event()).replace('"ttl": "10m"', '"ttl": "10m", "ttl": "24h"').encode(),
     "ttl: given more than once"),
]


@pytest.mark.parametrize("event,msg", BAD_BUILD, ids=[m for _, m in BAD_BUILD])
def test_build_refuses_bad_events(env, harness, event, msg):
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    body, ferr = invoke(boto_lambda(harness), BUILD, payload)
    assert ferr == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"] == "jumpbox.InvalidRequest", doc
    assert doc["errorMessage"].startswith(msg), doc
    assert env.leases() == []
    assert not (env.work / "stacks").exists() or not any((env.work / "stacks").iterdir())


def test_request_cli_reports_a_refusal_as_bad_input(env, harness, tmp_path):
    cp = run([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "5h",
              "--allow-cidr", "127.0.0.1/32", "--out", str(tmp_path / "o")],
             env=harness.client_env(), check=2)
    assert "ttl: over this function's limit" in cp.stderr
    assert env.leases() == []


def test_build_config_errors_are_init_errors(env, tmp_path):
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function("b", [env.bootstrap("b", "provisioner")],
                       build_env(env, JUMPBOX_ALLOWED_CIDRS="not-a-cidr"), timeout_s=30)
        body, ferr = invoke(boto_lambda(h), "b", json.dumps(good_event()).encode())
        assert ferr == "Unhandled"
        doc = json.loads(body)
        assert doc["errorType"] == "jumpbox.ConfigError"
        assert doc["errorMessage"].startswith("JUMPBOX_ALLOWED_CIDRS: ")
        assert h.functions["b"].history[-1]["outcome"] == "init_error"
    finally:
        h.stop()
    assert env.leases() == []


def test_an_aws_create_needs_where_its_box_publishes(env, tmp_path):
    """The box publishes its host key under boxes/ROLE_ID:INSTANCE_ID/ of an
    S3 state: an aws create without one (or without the role id) is refused
    before anything is made, saying which setting is missing."""
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function("b", [env.bootstrap("b", "provisioner")],
                       build_env(env, JUMPBOX_MODULE="aws"), timeout_s=30)
        body, ferr = invoke(boto_lambda(h), "b", json.dumps(good_event()).encode())
        doc = json.loads(body)
        assert ferr == "Unhandled", doc
        assert doc["errorMessage"].startswith("--state: module aws needs an s3:// state"), doc
    finally:
        h.stop()
    assert env.leases() == []


def test_a_bad_box_profile_is_a_clean_init_error(env, tmp_path):
    # The reaper's box instance profile (lib/stack/reap.h) is checked at init.
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function("c", [env.bootstrap("c", "cleaner")],
                       dict(env.base, JUMPBOX_BOX_INSTANCE_PROFILE="arn:aws:iam::1:role/x"),
                       timeout_s=30)
        body, ferr = invoke(boto_lambda(h), "c", b'{"action":"sweep"}')
        assert ferr == "Unhandled"
        doc = json.loads(body)
        assert doc["errorType"] == "jumpbox.ConfigError"
        assert doc["errorMessage"].startswith("JUMPBOX_BOX_INSTANCE_PROFILE: "), doc
        assert h.functions["c"].history[-1]["outcome"] == "init_error"
    finally:
        h.stop()


def test_plaintext_key_only_where_the_function_allows_it(env, tmp_path):
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function("plain", [env.bootstrap("plain", "provisioner")],
                       build_env(env, JUMPBOX_ALLOW_PLAINTEXT_KEY="1"), timeout_s=120)
        body, ferr = invoke(boto_lambda(h), "plain",
                            json.dumps(good_event(recipient_key=None)).encode())
        assert ferr is None, body
        res = json.loads(body)
        assert res["private_key"].startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
        assert len(res["teardown_token"]) == 64
        assert "sealed_private_key" not in res
        assert env.leases() == [res["stack_id"]]
    finally:
        h.stop()


BAD_CLEAN = [
    (b"{", "event: not JSON"),
    ({}, "action: required"),
    ({"action": "nuke"}, "action: unknown action"),
    ({"action": "destroy", "token": "0" * 64}, "stack_id: required"),
    ({"action": "destroy", "stack_id": "UPPER", "token": "0" * 64}, "stack_id: "),
    ({"action": "destroy", "stack_id": 7, "token": "0" * 64}, "stack_id: must be a string"),
    ({"action": "destroy", "stack_id": "SID"}, "token: required"),
    ({"action": "destroy", "stack_id": "SID", "token": "xyz"}, "token: must be 64"),
    ({"action": "sweep", "stack_id": "SID"}, "stack_id: not used by sweep"),
    ({"action": "reap", "stack_id": "SID"}, "stack_id: not used by reap"),
    ({"action": "sweep", "dry_run": True}, "dry_run: only for reap"),
    ({"action": "reap", "dry_run": "yes"}, "dry_run: must be true or false"),
    ({"action": "reap"}, "action: no reap with JUMPBOX_MODULE=local"),
    ({"action": "destroy", "stack_id": "SID", "token": "0" * 64, "force": True},
     "force: unknown field"),
    ({"action": "destroy", "stack_id": "SID", "token": "0" * 64, "reason": "Bad Reason"},
     "reason: must be [a-z-]{1,32}"),
    ({"action": "sweep", "reason": "ttl"}, "reason: not used by sweep"),
]


@pytest.mark.parametrize("event,msg", BAD_CLEAN, ids=[m for _, m in BAD_CLEAN])
def test_clean_refuses_bad_events_and_leaves_the_lease(env, harness, event, msg):
    sid = cli_create(env)["stack_id"]
    before = (env.state / sid / "lease.json").read_bytes()
    if isinstance(event, dict) and event.get("stack_id") == "SID":
        event["stack_id"] = sid
    payload = event if isinstance(event, bytes) else json.dumps(event).encode()
    body, ferr = invoke(boto_lambda(harness), CLEAN, payload)
    assert ferr == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"] == "jumpbox.InvalidRequest", doc
    assert doc["errorMessage"].startswith(msg), doc
    assert (env.state / sid / "lease.json").read_bytes() == before


def test_clean_denies_a_wrong_token(env, harness):
    created = run_json([bin_path("provisioner"), "create", "--ttl", "10m", "--state",
                        "file://" + str(env.state)], env=env.cli)
    sid, token = created["stack_id"], created["teardown_token"]
    before = (env.state / sid / "lease.json").read_bytes()
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    body, ferr = invoke(boto_lambda(harness), CLEAN, json.dumps(
        {"action": "destroy", "stack_id": sid, "token": wrong}).encode())
    assert ferr == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"] == "jumpbox.Denied"
    assert doc["errorMessage"].startswith("token: does not match")
    assert (env.state / sid / "lease.json").read_bytes() == before
    # The right one works.
    body, ferr = invoke(boto_lambda(harness), CLEAN, json.dumps(
        {"action": "destroy", "stack_id": sid, "token": token, "reason": "ttl"}).encode())
    assert ferr is None and json.loads(body)["result"] == "destroyed"
    assert env.leases() == []
    # The denied attempt destroyed nothing and left no destroy record; the
    # caller's reason is in the one that did.
    destroys = [json.loads(l) for l in run(
        [bin_path("provisioner"), "audit", "--state", "file://" + str(env.state)],
        env=env.cli, check=0).stdout.splitlines() if '"destroy"' in l]
    assert [(r["reason"], r["result"]) for r in destroys] == [("ttl", "destroyed")]


def test_clean_answers_an_unknown_stack_as_it_answers_a_wrong_token(env, harness):
    """Without the right token nobody learns whether a stack id exists: an
    unknown stack gets the answer a wrong token gets (not "already_gone")."""
    created = cli_create(env)
    sid, token = created["stack_id"], created["teardown_token"]
    wrong = ("0" if token[0] != "0" else "1") + token[1:]
    answers = []
    for stack in (sid, "jb-no-such-stack"):
        body, ferr = invoke(boto_lambda(harness), CLEAN, json.dumps(
            {"action": "destroy", "stack_id": stack, "token": wrong}).encode())
        doc = json.loads(body)
        answers.append((ferr, doc["errorType"], doc["errorMessage"].replace(stack, "ID")))
    assert answers[0] == answers[1] == (
        "Unhandled", "jumpbox.Denied", "token: does not match stack ID's teardown token")
    assert env.leases() == [sid]
    run([bin_path("cleaner"), "destroy", "--stack-id", sid, "--state",
         "file://" + str(env.state)], env=env.cli, check=0)


def test_sweep_destroys_expired_leases_only(env, harness):
    sids = [cli_create(env)["stack_id"] for _ in range(3)]
    for sid in sids[:2]:
        p = env.state / sid / "lease.json"
        lease = json.loads(p.read_text())
        lease["expires_at"] = "2001-01-01T00:00:00Z"
        p.write_text(json.dumps(lease))
    body, ferr = invoke(boto_lambda(harness), CLEAN, b'{"action":"sweep"}')
    assert ferr is None, body
    res = json.loads(body)
    assert sorted(s["stack_id"] for s in res["stacks"]) == sorted(sids[:2])
    assert all(s["result"] == "destroyed" for s in res["stacks"])
    assert res["failed"] == 0 and res["examined"] == 3
    assert "reap" not in res  # JUMPBOX_MODULE=local
    assert env.leases() == [sids[2]]


def slow_build(env, tmp_path, timeout_s, reserve, **slow):
    h = LambdaHarness(str(tmp_path)).start()
    h.add_function("slow", [env.bootstrap("slow", "provisioner")], build_env(
        env, JUMPBOX_TERRAFORM=str(ROOT / "tests/support/slow_terraform.py"),
        JUMPBOX_REAL_TERRAFORM=shutil.which("terraform"), JUMPBOX_SLOW_APPLY_S="3600",
        JUMPBOX_DEADLINE_RESERVE=reserve, **slow), timeout_s=timeout_s)
    return h


def test_build_rolls_back_before_the_deadline(env, tmp_path):
    """The apply runs on past the watchdog; the function stops it, rolls the
    box back and reports the timeout itself, before Lambda's deadline.
    Generous on both sides, so a busy machine does not matter: 30 s for
    init and apply to make the box (a second or two when idle), 60 s of
    reserve for a local destroy (as long)."""
    h = slow_build(env, tmp_path, 90, "60s")
    try:
        body, ferr = invoke(boto_lambda(h), "slow", json.dumps(good_event()).encode())
        assert ferr == "Unhandled"
        doc = json.loads(body)
        assert doc["errorType"] == "jumpbox.Timeout", doc
        # Reported by the function itself, before Lambda's deadline.
        assert h.functions["slow"].history[-1]["outcome"] == "error"
    finally:
        h.stop()
    # The apply had made a box; the rollback destroyed it and its lease.
    log = (tmp_path / "slow.log").read_text()
    assert "terraform destroy" in log, log
    assert env.leases() == []
    assert not box_processes(env.work)


def test_a_rollback_that_does_not_fit_leaves_a_sweepable_lease(env, tmp_path):
    """When even the rollback does not fit before Lambda's deadline (staged:
    its destroy hangs), the runtime's hard stop ends the handler half-way
    (and Lambda would end the rest).  The lease it leaves carries the
    invocation's deadline, so the sweeper takes the stack right after it,
    not at the lease's expiry ten minutes later."""
    h = slow_build(env, tmp_path, 20, "10s", JUMPBOX_SLOW_DESTROY_S="3600")
    try:
        body, ferr = invoke(boto_lambda(h), "slow", json.dumps(good_event()).encode())
        assert ferr == "Unhandled"
        assert json.loads(body)["errorType"] == "Runtime.DeadlineExceeded", body
    finally:
        h.stop()
    # Lambda would end everything the function started; the harness ends
    # only the function: its hanging Terraform goes the same way here.
    for pid, cmd in box_processes(env.work):
        if "slow_terraform.py" in cmd or "terraform" in cmd.split()[0]:
            os.kill(pid, 9)
    [sid] = env.leases()
    lease = json.loads((env.state / sid / "lease.json").read_text())
    assert lease["status"] == "creating", lease
    deadline = datetime.fromisoformat(lease["deadline"].replace("Z", "+00:00")).timestamp()
    expires = datetime.fromisoformat(lease["expires_at"].replace("Z", "+00:00")).timestamp()
    assert deadline <= time.time() + 10 < expires - 60, lease
    while time.time() <= deadline:  # a few seconds at most: the invocation's end
        time.sleep(0.5)
    cp = run([bin_path("cleaner"), "sweep", "--state", "file://" + str(env.state)],
             env=env.cli, check=0)
    assert json.loads(cp.stdout)["stacks"] == [{"stack_id": sid, "result": "destroyed"}]
    assert env.leases() == [] and not box_processes(env.work)


def test_request_out_dir_shared_keeps_the_other_runs_files(env, tmp_path):
    """Two requests with one --out: the other run's ssh_config and token
    (written, in this staging, while the function's Terraform applies) are
    never removed by our failed write, only what we wrote ourselves."""
    from support.localflow import race_env, race_results
    from test_local_flow import RIVAL_FILES
    out = tmp_path / "shared"
    rival = ["/usr/bin/python3", "-c", RIVAL_FILES, out, "ssh_config", "teardown_token"]
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function(BUILD, [env.bootstrap("build", "provisioner")],
                       build_env(env, **race_env(tmp_path, "apply", "after", rival)),
                       timeout_s=120)
        cp = run([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                  "--allow-cidr", "127.0.0.1/32", "--out", str(out)], env=h.client_env(),
                 check=1)
    finally:
        h.stop()
    assert race_results(tmp_path)[0]["exit"] == 0
    assert "ssh_config: File exists" in cp.stderr, cp.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ssh_config", "teardown_token"]
    for name in ("ssh_config", "teardown_token"):
        assert (out / name).read_text() == "the winner's " + name


class CheckIp:
    """A test fixture answering like checkip.amazonaws.com: one address."""

    def __init__(self, answer):
        import http.server
        import threading
        body = answer.encode()

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_port}/"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_request_allow_my_ip(env, harness, tmp_path):
    fx = CheckIp("127.0.0.1\n")
    try:
        cenv = dict(harness.client_env(), JUMPBOX_CHECKIP_URL=fx.url)
        cp = run([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                  "--allow-my-ip", "--out", str(tmp_path / "out")], env=cenv, check=0)
        sid = json.loads(cp.stdout)["stack_id"]
        assert "allowing 127.0.0.1/32" in cp.stderr
        lease = json.loads((env.state / sid / "lease.json").read_text())
        assert lease["vars"]["allow_cidr"] == "127.0.0.1/32"
        run([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id", sid,
             "--out", str(tmp_path / "out")], env=cenv, check=0)
    finally:
        fx.close()


def test_request_allow_my_ip_with_a_bad_answer_makes_nothing(env, harness, tmp_path):
    fx = CheckIp("<html>not an address</html>")
    try:
        cenv = dict(harness.client_env(), JUMPBOX_CHECKIP_URL=fx.url)
        cp = run([bin_path("provisioner"), "request", "--function", BUILD, "--allow-my-ip",
                  "--out", str(tmp_path / "out")], env=cenv, check=1)
        assert "--allow-my-ip" in cp.stderr and "not an IP address" in cp.stderr
        assert env.leases() == []
        both = run([bin_path("provisioner"), "request", "--function", BUILD, "--allow-my-ip",
                    "--allow-cidr", "127.0.0.1/32", "--out", str(tmp_path / "o2")], env=cenv,
                   check=2)
        assert "--allow-my-ip" in both.stderr
    finally:
        fx.close()


IMDS_SECRET = "imdsFixtureSecret/DoNotLeak+0000000000000"  # tests/support/imds_server.py


def test_box_timer_path_with_the_instance_roles_credentials(env, tmp_path):
    """What the jump box's timer does at expiry: `cleaner request` with no keys
    of its own, only the instance role's, from IMDSv2 (a test fixture)."""
    from support.fixture_servers import fixture_server
    h = LambdaHarness(str(tmp_path), access_key="ASIAIMDSFIXTURE00001",
                      secret_key=IMDS_SECRET).start()
    try:
        h.add_function(CLEAN, [env.bootstrap("clean", "cleaner")], dict(env.base), timeout_s=120)
        res = cli_create(env)
        token = tmp_path / "token"
        fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, res["teardown_token"].encode())
        os.close(fd)
        with fixture_server("imds_server.py") as port:
            box_env = {k: v for k, v in h.client_env().items()
                       if not k.startswith("AWS_ACCESS_KEY_ID") and
                       not k.startswith("AWS_SECRET_ACCESS_KEY")}
            box_env.update(AWS_EC2_METADATA_DISABLED="false",
                           AWS_EC2_METADATA_SERVICE_ENDPOINT=f"http://127.0.0.1:{port}/")
            gone = run_json([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id",
                             res["stack_id"], "--token-file", str(token)], env=box_env)
            log = json.loads(subprocess.run(
                ["curl", "-s", f"http://127.0.0.1:{port}/_fixture/log"], capture_output=True,
                text=True, check=True).stdout)
        assert gone == {"stack_id": res["stack_id"], "result": "destroyed"}
        assert env.leases() == []
        # IMDSv2: a session token first, then the role's credentials with it.
        assert log[0]["method"] == "PUT" and log[0]["path"] == "/latest/api/token"
        assert any(e["path"].startswith("/latest/meta-data/iam/security-credentials/")
                   for e in log[1:])
        assert h.verified >= 1 and not h.rejected
    finally:
        h.stop()


def test_the_owner_extends_and_keeps_alive_through_the_build_function(env, harness, tmp_path):
    """The backup VM cannot reach the state: `provisioner extend --function`
    and run's heartbeats go through the build function with the stack's
    teardown token, within the function's own JUMPBOX_MAX_TTL (30m here)."""
    out = tmp_path / "out"
    cenv = harness.client_env()
    sid = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                    "--allow-cidr", "127.0.0.1/32", "--out", str(out)], env=cenv)["stack_id"]
    lease = json.loads((env.state / sid / "lease.json").read_text())
    created = calendar.timegm(time.strptime(lease["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
    assert lease["max_until"] == time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                               time.gmtime(created + 30 * 60))
    extend = [bin_path("provisioner"), "extend", "--function", BUILD, "--stack-id", sid]
    moved = run_json(extend + ["--ttl", "20m", "--out", str(out)], env=cenv)
    assert moved["previous_expires_at"] == lease["expires_at"]
    assert moved["expires_at"] > lease["expires_at"]
    assert json.loads((env.state / sid / "lease.json").read_text())["expires_at"] == \
        moved["expires_at"]
    # Past the function's limit, or a wrong token: refused, exit 2, no change.
    cp = run(extend + ["--ttl", "2h", "--out", str(out)], env=cenv, check=2)
    assert "ttl: from 10s to this function's limit of 1800s" in cp.stderr, cp.stderr
    wrong = tmp_path / "wrong"
    wrong.write_text("0" * 64)
    cp = run(extend + ["--ttl", "25m", "--token-file", str(wrong)], env=cenv, check=2)
    assert "does not match" in cp.stderr, cp.stderr
    assert json.loads((env.state / sid / "lease.json").read_text())["expires_at"] == \
        moved["expires_at"]
    # A heartbeat for a stack made without a keep-alive is bad input.
    token = (out / "teardown_token").read_text().strip()
    body, ferr = invoke(boto_lambda(harness), BUILD, json.dumps(
        {"action": "heartbeat", "stack_id": sid, "token": token}).encode())
    assert ferr == "Unhandled" and "has no keep-alive" in json.loads(body)["errorMessage"]
    ext = [r for r in map(json.loads, run(
        [bin_path("provisioner"), "audit", "--state", "file://" + str(env.state)],
        env=env.cli, check=0).stdout.splitlines()) if r["event"] == "extend"]
    assert [(r["by"]["via"], r["by"]["action"], r["expires_at"]) for r in ext] == \
        [("build-function", "extend", moved["expires_at"])]
    run_json([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id", sid,
              "--out", str(out)], env=cenv)

    # run --function --keepalive: its heartbeats reach the build function.
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    cp = run([bin_path("provisioner"), "run", "--function", BUILD, "--clean-function", CLEAN,
              "--allow-cidr", "127.0.0.1/32", "--keepalive", "10s", "--", "sleep", "8"],
             env=dict(cenv, XDG_RUNTIME_DIR=str(rt)), check=0, timeout=600)
    assert "keep-alive heartbeat failed" not in cp.stderr, cp.stderr
    beats = [json.loads(h["event"]) for h in harness.functions[BUILD].history
             if json.loads(h["event"])["action"] == "heartbeat"]
    assert len(beats) >= 2 and all(b.get("token") for b in beats), beats
    assert env.leases() == []
