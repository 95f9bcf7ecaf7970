"""State in S3 (s3rver, a real local S3 server): Terraform's own S3 backend
keeps the state at PREFIX/STACK/terraform.tfstate, our lease sits beside it,
`cleaner destroy` purges PREFIX/STACK/ and nothing outside it."""
import json

import pytest

from support.fixture_servers import FIXTURES, PY
from support.localflow import box_processes, ssh
from support.s3_servers import S3RVER_KEY, run, s3rver  # noqa: F401  (fixture)


@pytest.fixture
def s3env(s3rver, tmp_path, provisioner, cleaner):  # noqa: F811
    env = s3rver.env(JUMPBOX_WORK_DIR=str(tmp_path / "work"))
    yield s3rver, env, tmp_path
    for pid, _ in box_processes(tmp_path / "work"):
        __import__("os").kill(pid, 9)


def keys(s3rver, prefix):
    cp = s3rver.aws("s3api", "list-objects-v2", "--bucket", "state", "--prefix", prefix)
    out = cp.stdout.decode()
    return sorted(o["Key"] for o in json.loads(out).get("Contents", [])) if out.strip() else []


def test_create_list_destroy_on_s3_state(s3env, provisioner, cleaner):
    s3, env, tmp = s3env
    state = "s3://state/jb/team-a"
    # A neighbour whose name starts like ours must survive the purge.
    (tmp / "empty").write_text("")
    for key in ("jb/team-a/s3-flow-10/lease.json", "jb/team-a/s3-flow.txt"):
        s3.aws("s3api", "put-object", "--bucket", "state", "--key", key,
               "--body", str(tmp / "empty"))
    cp = run([provisioner, "create", "--state", state, "--ttl", "10m", "--stack-id", "s3-flow",
              "--out", str(tmp / "out")], env=env, check=0)
    res = json.loads(cp.stdout)
    assert keys(s3, "jb/team-a/s3-flow/") == ["jb/team-a/s3-flow/lease.json",
                                              "jb/team-a/s3-flow/terraform.tfstate"]
    # What our code wrote, the real aws CLI reads.
    lease = json.loads(s3.aws("s3", "cp", "s3://state/jb/team-a/s3-flow/lease.json",
                              "-").stdout)
    assert lease["status"] == "ready" and lease["stack_id"] == "s3-flow"
    tfstate = s3.aws("s3", "cp", "s3://state/jb/team-a/s3-flow/terraform.tfstate", "-").stdout
    assert b"terraform_data" in tfstate and b"PRIVATE KEY" not in tfstate
    assert ssh(tmp / "out" / "ssh_config", "s3-flow", "true").returncode == 0

    listed = json.loads(run([provisioner, "list", "--state", state], env=env, check=0).stdout)
    # The neighbour's empty lease is unreadable: listed leases are only ours.
    assert [l["stack_id"] for l in listed] == ["s3-flow"]

    cp = run([cleaner, "destroy", "--state", state, "--stack-id", "s3-flow"], env=env, check=0)
    assert '"destroyed"' in cp.stdout
    assert keys(s3, "jb/team-a/s3-flow/") == []
    # The purge of the stack's prefix left its audit records alone.
    audit = keys(s3, "jb/team-a/audit/")
    assert [k.rsplit("/", 1)[1].split("-")[1] for k in audit] == \
        ["create", "ready", "box.sshd_log", "destroy"], audit
    assert all(k.startswith("jb/team-a/audit/s3-flow/") for k in audit)
    assert [k for k in keys(s3, "jb/team-a/") if k not in audit] == \
        ["jb/team-a/s3-flow-10/lease.json", "jb/team-a/s3-flow.txt"]
    # What our code wrote, the real aws CLI reads; provisioner audit lists it.
    create = json.loads(s3.aws("s3", "cp", f"s3://state/{audit[0]}", "-").stdout)
    assert create["event"] == "create" and create["user_key_fingerprint"].startswith("SHA256:")
    listed = [json.loads(l) for l in run([provisioner, "audit", "--state", state],
                                         env=env, check=0).stdout.splitlines()]
    assert [r["event"] for r in listed] == ["create", "ready", "box.sshd_log", "destroy"]
    assert listed[0] == dict(create, record=audit[0].rsplit("/", 1)[1])
    assert listed[2]["logins"] and listed[3]["result"] == "destroyed"
    assert not box_processes(tmp / "work")
    assert res["port"] > 0


def test_sweep_on_s3_state(s3env, provisioner, cleaner):
    s3, env, tmp = s3env
    state = "s3://state/sweep"
    run([provisioner, "create", "--state", state, "--ttl", "1h", "--stack-id", "old"], env=env,
        check=0)
    run([provisioner, "create", "--state", state, "--ttl", "1h", "--stack-id", "young"], env=env,
        check=0)
    lease = json.loads(s3.aws("s3", "cp", "s3://state/sweep/old/lease.json", "-").stdout)
    lease["expires_at"] = "2020-01-01T00:00:00Z"
    (tmp / "lease.json").write_text(json.dumps(lease))
    s3.aws("s3", "cp", str(tmp / "lease.json"), "s3://state/sweep/old/lease.json")
    res = json.loads(run([cleaner, "sweep", "--state", state], env=env, check=0).stdout)
    assert [(s["stack_id"], s["result"]) for s in res["stacks"]] == [("old", "destroyed")]
    assert keys(s3, "sweep/old/") == []
    assert keys(s3, "sweep/young/") != []
    run([cleaner, "destroy", "--state", state, "--stack-id", "young"], env=env, check=0)
    assert [k for k in keys(s3, "sweep/") if not k.startswith("sweep/audit/")] == []
    destroys = [json.loads(l) for l in run([provisioner, "audit", "--state", state], env=env,
                                           check=0).stdout.splitlines()
                if '"destroy"' in l]
    assert [(r["stack_id"], r["reason"], r["result"]) for r in destroys] == \
        [("old", "sweep", "destroyed"), ("young", "request", "destroyed")]
    assert not box_processes(tmp / "work")


@pytest.mark.parametrize("url,why", [
    ("s3://no-such-bucket/jb", "NoSuchBucket"),
    ("s3://", "--state"),
    ("s3://state/../x", "--state"),
])
def test_unusable_s3_state_is_bad_input(s3env, provisioner, url, why):
    s3, env, tmp = s3env
    cp = run([provisioner, "create", "--state", url, "--ttl", "5m"], env=env, check=2)
    assert cp.stderr.startswith("provisioner create: --state:") and why in cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1
    assert not (tmp / "work" / "stacks").exists()


def test_credentials_are_resolved_once_per_process(s3env, provisioner, cleaner):
    """With a credential_process (IAM Roles Anywhere's signing helper costs
    hundreds of ms a run), a create and a destroy on S3 state each run it at
    most once in their own process, however many S3 calls they make (lease,
    audit records, outputs, purge); before, every call's client ran the
    whole chain again.  Terraform's runs (its own processes) are not ours."""
    s3, env, tmp = s3env
    calls = tmp / "calls"
    config = tmp / "config"
    config.write_text("[default]\ncredential_process = " + " ".join(
        [PY, str(FIXTURES / "credential_process.py"), "as", str(calls), S3RVER_KEY,
         S3RVER_KEY]) + "\n")
    env = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_CONFIG_FILE"] = str(config)
    state = "s3://state/creds-once"
    run([provisioner, "create", "--state", state, "--ttl", "10m", "--stack-id", "once"],
        env=env, check=0)
    run([cleaner, "destroy", "--state", state, "--stack-id", "once"], env=env, check=0)
    runs = [line.split(" ", 1) for line in calls.read_text().splitlines()]
    ours = {}
    for pid, comm in runs:
        if comm in ("provisioner", "cleaner"):
            ours.setdefault(comm, []).append(pid)
    assert sorted(ours) == ["cleaner", "provisioner"], runs
    for comm, pids in ours.items():
        assert len(pids) == 1, f"{comm} ran credential_process {len(pids)} times: {runs}"
