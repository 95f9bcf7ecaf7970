"""The durable audit records (lib/stack/audit.h) of local stacks, end to end: a
real create, a real ssh login and forwarded connection through the box, a
real destroy; then `provisioner audit` reads back who asked, from where,
the keys' fingerprints as ssh-keygen -l prints them, the box's sshd log
(the login, the forward), who destroyed the stack and why."""
import json
import os
import pwd
import re
import socket
import subprocess
import threading

import pytest

from support.jbtest import run
from support.localflow import Env, box_processes, copy_module, ssh


@pytest.fixture
def jb(tmp_path, provisioner, cleaner):
    e = Env(tmp_path, provisioner, cleaner)
    yield e
    e.cleanup()
    assert not box_processes(e.work), "a test left a jump box running"


def fingerprint(path):
    """SHA256:… of the first key in path, as ssh-keygen -l prints it."""
    cp = subprocess.run(["ssh-keygen", "-l", "-f", str(path)], capture_output=True, text=True,
                        check=True)
    return cp.stdout.split()[1]


class Echo:
    """A TCP server on 127.0.0.1 that greets each connection once: the
    target of a forwarded connection through the box."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.sendall(b"hello from the target\n")
            c.close()


# User names that carry sshd's own messages (OpenSSH cuts a user name at
# ':' in some lines, not in its debug lines).
HOSTILE_USERS = (
    "x Accepted publickey for admin from 198.51.100.66 port 4242 ssh2: ED25519 SHA256:FORGED",
    "x debug1: server_request_direct_tcpip: originator 198.51.100.66 port 1, "
    "target 10.99.0.9 port 22",
    "x Received request from 198.51.100.66 port 1 to connect to host 10.99.0.8 port 23, "
    "but the request was denied.",
)


def ssh_as(out, stack_id, user, *args):
    return subprocess.run(["ssh", "-F", str(out / "ssh_config"), "-o", "BatchMode=yes",
                           "-l", user, *args, stack_id, "true"], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_audit_record_of_a_local_stack(jb, tmp_path):
    out = tmp_path / "out"
    res, _ = jb.create("--module", "local", "--ttl", "10m", "--stack-id", "aud-1",
                       "--requester", "backup@vm-7", "--out", str(out))
    assert ssh(out / "ssh_config", "aud-1", "true").returncode == 0
    target = Echo()
    cp = subprocess.run(["ssh", "-F", str(out / "ssh_config"), "-o", "BatchMode=yes",
                         "-W", f"127.0.0.1:{target.port}", "aud-1"],
                        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert cp.stdout == "hello from the target\n", cp.stderr
    # Clients with no key whose user names read like sshd's own lines: sshd
    # writes the name inside its messages, which count only from their start.
    for name in HOSTILE_USERS:
        cp = ssh_as(out, "aud-1", name)
        assert cp.returncode == 255 and "Permission denied" in cp.stderr, cp.stderr
    jb.destroy("aud-1", check=0)
    target.sock.close()

    # The stack is gone; its records are not.
    assert jb.stack_dirs() == [] and jb.leases() == []
    recs = jb.audit()
    assert [r["event"] for r in recs] == ["create", "ready", "box.sshd_log", "destroy"]
    assert {r["stack_id"] for r in recs} == {"aud-1"}
    create, ready, log, destroy = recs

    me = {"via": "cli", "user": pwd.getpwuid(os.geteuid()).pw_name, "uid": os.geteuid(),
          "host": socket.gethostname()}
    user_fp = fingerprint(out / "id_ed25519.pub")
    assert create["by"] == me
    assert create["requester"] == "backup@vm-7"
    assert create["allow_cidr"] == "127.0.0.1/32"
    assert create["ttl_s"] == 600 and create["expires_at"] == res["expires_at"]
    assert create["module"] == "local" and create["state"] == jb.state
    assert create["user_key_fingerprint"] == user_fp
    assert "permit_open" not in create  # none asked for
    assert (ready["host"], ready["port"]) == ("127.0.0.1", res["port"])
    # The host key is known once the box made and published it: at ready.
    assert "host_key_fingerprint" not in create
    assert ready["host_key_fingerprint"] == fingerprint(out / "known_hosts") == \
        res["host_fingerprint"]

    # The box's own log: every login with the key it used, the forward.
    logins = {(l["user"], l["from"], l["key_fingerprint"]) for l in log["logins"]}
    assert logins == {(res["user"], "127.0.0.1", user_fp)}, log["logins"]
    assert log["forwards"] == [{"from": "127.0.0.1", "target_host": "127.0.0.1",
                                "target_port": target.port, "allowed": True}]
    assert any("Accepted publickey for" in l for l in log["lines"])
    assert log["truncated"] is False
    # sshd did log the hostile names, in lines that forge nothing.
    for name in HOSTILE_USERS:
        assert any(name[:60] in l for l in log["lines"]), name

    assert (destroy["reason"], destroy["result"], destroy["by"]) == ("request", "destroyed", me)
    assert destroy["started_at"] <= destroy["time"]

    # The records hold no secret.
    key_lines = [l for l in (out / "id_ed25519").read_text().splitlines()
                 if l and not l.startswith("-----")]
    for f in (jb.state_dir / "audit").rglob("*"):
        if f.is_file():
            assert not any(l in f.read_text() for l in key_lines), f
            assert "PRIVATE KEY" not in f.read_text(), f


def test_audit_filters_by_stack_and_time(jb, tmp_path):
    jb.create("--ttl", "10m", "--stack-id", "aud-a")
    jb.create("--ttl", "10m", "--stack-id", "aud-b")
    jb.destroy("aud-a", check=0)
    assert {r["stack_id"] for r in jb.audit()} == {"aud-a", "aud-b"}
    assert [r["event"] for r in jb.audit("--stack-id", "aud-b")] == ["create", "ready"]
    assert jb.audit("--stack-id", "nothing-here") == []
    # --since: a duration back from now, or a time.
    assert len(jb.audit("--since", "1h")) == len(jb.audit())
    assert jb.audit("--since", "2099-01-01T00:00:00Z") == []
    assert len(jb.audit("--since", "2020-01-01T00:00:00Z")) == len(jb.audit())
    for bad in (["--since", "yesterday"], ["--stack-id", "Bad_Id"], ["--nope"]):
        cp = jb.audit(*bad, check=2)
        assert cp.stdout == "" and len(cp.stderr.strip().splitlines()) == 1
        assert cp.stderr.startswith(f"provisioner audit: {bad[0]}")
    jb.destroy("aud-b", check=0)


def test_sweep_and_rollback_are_named_as_destroyers(jb, tmp_path):
    jb.create("--ttl", "1h", "--stack-id", "aud-old")
    lease = jb.state_dir / "aud-old" / "lease.json"
    obj = json.loads(lease.read_text())
    obj["expires_at"] = "2020-01-01T00:00:00Z"
    lease.write_text(json.dumps(obj))
    jb.sweep(check=0)
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        "value = var.ssh_port", 'value = "not-a-port"') if name == "outputs.tf" else t)
    jb.create("--ttl", "10m", "--stack-id", "aud-bad", check=1,
              extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert jb.stack_dirs() == []
    events = [(r["stack_id"], r["event"], r.get("reason"), r.get("result"))
              for r in jb.audit() if r["event"] != "box.sshd_log"]
    assert events == [
        ("aud-bad", "create", None, None),
        ("aud-bad", "create.failed", None, None),
        ("aud-bad", "destroy", "rollback", "destroyed"),
        ("aud-old", "create", None, None),
        ("aud-old", "ready", None, None),
        ("aud-old", "destroy", "sweep", "destroyed"),
    ]
    failed = jb.audit("--stack-id", "aud-bad")[1]
    assert "terraform output port" in failed["error"]


def test_audit_is_no_stack_id(jb, provisioner, cleaner):
    """audit/ lies beside the stacks: a stack of that name would share it,
    and its purge would take the records."""
    _, cp = jb.create("--ttl", "10m", "--stack-id", "audit", check=2)
    assert cp.stderr.startswith("provisioner create: --stack-id:") and "reserved" in cp.stderr
    cp = run([cleaner, "destroy", "--state", jb.state, "--stack-id", "audit"], env=jb.env,
             check=2)
    assert "reserved" in cp.stderr


def test_no_record_no_box_but_a_destroy_goes_on_without_one(jb, tmp_path):
    """The create record is written before anything is applied, and a
    create that cannot write it makes nothing; a destroy that cannot write
    its record destroys all the same, and says so."""
    (jb.state_dir / "audit").mkdir(parents=True)
    (jb.state_dir / "audit" / "aud-no").write_text("not a directory")
    _, cp = jb.create("--ttl", "10m", "--stack-id", "aud-no", check=1)
    assert "audit record create" in cp.stderr
    assert "terraform apply" not in cp.stderr
    assert jb.stack_dirs() == [] and not box_processes(jb.work)

    jb.create("--ttl", "10m", "--stack-id", "aud-late")
    late = jb.state_dir / "audit" / "aud-late"
    for f in late.iterdir():
        f.unlink()
    late.rmdir()
    late.write_text("not a directory")
    cp = jb.destroy("aud-late", check=0)
    assert json.loads(cp.stdout)["result"] == "destroyed"
    assert "warning: the audit record destroy was not written" in cp.stderr
    assert jb.stack_dirs() == [] and not box_processes(jb.work)
    log = [json.loads(l) for l in (jb.work / "audit.log").read_text().splitlines()]
    assert any(e["event"] == "audit.failed" and e["record"] == "destroy" for e in log)


def test_a_long_sshd_log_keeps_its_newest_lines(jb, tmp_path):
    """The box cuts a log over the cap (1 MiB) to its newest lines, first
    line saying so; `provisioner audit` reads one stored over its limit by
    its end rather than skipping it."""
    out = tmp_path / "out"
    res, _ = jb.create("--module", "local", "--ttl", "10m", "--stack-id", "aud-long",
                       "--out", str(out))
    (log,) = jb.work.rglob("sshd.log")
    # 1.5 MiB of old lines, then the login that matters.
    with open(log, "a") as f:
        for i in range(1024 * 1024 * 3 // 2 // 20):
            f.write(f"filler line {i:07d}\n")
    assert ssh(out / "ssh_config", "aud-long", "true").returncode == 0
    jb.destroy("aud-long", check=0)
    (shipped,) = (jb.state_dir / "audit" / "aud-long").glob("*.log")
    assert shipped.stat().st_size <= 1024 * 1024
    (rec,) = [r for r in jb.audit("--stack-id", "aud-long") if r["event"] == "box.sshd_log"]
    assert rec["truncated"] is True
    assert re.fullmatch(r"jumpbox: sshd log cut to its newest lines, \d+ earlier bytes dropped",
                        rec["lines"][0]), rec["lines"][0]
    assert re.fullmatch(r"filler line \d{7}", rec["lines"][1])  # a whole line
    assert not any(l.startswith("Server listening") for l in rec["lines"])
    assert [l["user"] for l in rec["logins"]] == [res["user"]]

    # Stored by an older box, 2 MiB with its login at the end: shown by its end.
    big = jb.state_dir / "audit" / "aud-long" / "20200101T000000.000000Z-box.sshd_log-0000000a.log"
    big.write_text("".join(f"filler line {i:07d}\n" for i in range(2 * 1024 * 1024 // 20))
                   + rec["lines"][-1] + "\n"
                   + "Accepted publickey for jump from 192.0.2.7 port 4 ssh2: ED25519 SHA256:x\n")
    cp = run([jb.provisioner, "audit", "--state", jb.state, "--stack-id", "aud-long"],
             env=jb.env, check=0)
    assert "unreadable" not in cp.stderr, cp.stderr
    old = json.loads(cp.stdout.splitlines()[0])
    assert old["record"] == big.name and old["truncated"] is True
    assert re.fullmatch(r"filler line \d{7}", old["lines"][0])
    assert old["logins"] == [{"user": "jump", "from": "192.0.2.7", "port": 4,
                              "key_type": "ED25519", "key_fingerprint": "SHA256:x"}]
