"""How long a local box lives (issue: keep-alive, extend, a hard cap):
`run --keepalive` holds the box while COMMAND runs and lets it go soon
after run dies; `provisioner extend` moves the expiry, and the box's own
timer follows; the cap (JUMPBOX_MAX_TTL from creation) holds.  The aws
box's half is in tests/aws (the stand-in and the booted box)."""
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

from support import timeline
from support.jbtest import run
from support.localflow import Env, box_processes, ssh

PY = sys.executable


@pytest.fixture(scope="module")
def lives():
    """The audit records of the stacks these tests end, drawn as one SVG
    timeline (support/timeline.py) once they ran: the README's picture is
    this with JUMPBOX_TIMELINE_OUT naming where it goes."""
    lines = []
    yield lines
    if not lines:
        return
    picture = timeline.svg(timeline.stacks(lines))
    root = ET.fromstring(picture)
    drawn = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for sid in timeline.stacks(lines):
        assert sid in drawn, drawn
    if os.environ.get("JUMPBOX_TIMELINE_OUT"):
        with open(os.environ["JUMPBOX_TIMELINE_OUT"], "w") as f:
            f.write(picture)


def keep_records(lives, jb, sid):
    cp = run([jb.provisioner, "audit", "--state", jb.state, "--stack-id", sid], env=jb.env,
             check=0)
    lives.extend(l for l in cp.stdout.splitlines() if '"box.sshd_log"' not in l)


@pytest.fixture
def jb(tmp_path, provisioner, cleaner):
    e = Env(tmp_path, provisioner, cleaner)
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    e.env["XDG_RUNTIME_DIR"] = str(rt)
    yield e
    e.cleanup()
    assert not box_processes(e.work), "a test left a jump box running"


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def lease_file(jb, sid):
    return jb.state_dir / sid / "lease.json"


def destroy_records(jb, sid):
    return [r for r in jb.audit("--stack-id", sid) if r["event"] == "destroy"]


# COMMAND: through the box every 5 s for a minute, three keep-alives and
# more; prints how many logins worked.
HOLD = r'''
import os, subprocess, sys, time
ok = tries = 0
end = time.time() + float(sys.argv[1])
# A minute and at least MIN tries: on a loaded machine a login can take
# longer than the sleep between them.
while True:
    tries += 1
    r = subprocess.run(["ssh", "-F", os.environ["JUMPBOX_SSH_CONFIG"], "-o", "BatchMode=yes",
                        "-o", "ConnectTimeout=5", os.environ["JUMPBOX_HOST"], "true"],
                       capture_output=True)
    ok += r.returncode == 0
    if time.time() >= end and tries >= int(sys.argv[2]):
        break
    time.sleep(5)
print(ok, tries)
'''


def test_a_keepalive_box_stays_while_its_job_runs(jb, lives):
    """--keepalive 20s, COMMAND a minute: the heartbeats hold the box the
    whole time; run's teardown then destroys it (not its timer)."""
    cp = run([jb.provisioner, "run", "--state", jb.state, "--stack-id", "held", "--ttl", "10m",
              "--keepalive", "20s", "--", PY, "-c", HOLD, "60", "10"],
             env=jb.env, check=0, timeout=400)
    ok, tries = map(int, cp.stdout.split())
    assert ok == tries >= 10, cp.stderr      # every try over the minute got in
    assert "held destroyed" in cp.stderr, cp.stderr
    assert "keep-alive heartbeat failed" not in cp.stderr
    (rec,) = destroy_records(jb, "held")
    assert rec["reason"] == "run-ended" and "ended_by" not in rec, rec
    assert rec["keepalive_s"] == 20
    log = (jb.work / "logs" / "held.ttl.log").read_text()
    assert "keep-alive reached" not in log and "TTL reached" not in log, log
    assert jb.leases() == []
    keep_records(lives, jb, "held")


def test_a_killed_run_lets_its_box_go_at_the_keepalive_not_the_ttl(jb, tmp_path, lives):
    """SIGKILL: no heartbeat, no teardown from run; the box's timer follows
    the lease's alive_until and ends the box within the keep-alive and a
    grace (the timer's 2 s poll, the destroy), long before --ttl."""
    started = tmp_path / "started"
    p = subprocess.Popen([jb.provisioner, "run", "--state", jb.state, "--stack-id", "orphan",
                          "--ttl", "10m", "--keepalive", "20s", "--", PY, "-c",
                          "import sys, time; open(sys.argv[1], 'w').close(); time.sleep(600)",
                          str(started)],
                         env=dict(os.environ, **jb.env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    wait_for(lambda: started.exists() or p.poll() is not None, 300, "COMMAND to start")
    assert p.poll() is None, p.communicate()
    (lease,) = jb.leases()
    assert lease["keepalive_s"] == 20 and lease["status"] == "ready"
    p.send_signal(signal.SIGKILL)
    killed = time.time()
    p.communicate(timeout=60)
    assert jb.wait_gone("orphan", timeout=20 + 120), "the keep-alive did not end the box"
    gone = time.time() - killed
    assert gone < 20 + 120 < 600, gone
    log = (jb.work / "logs" / "orphan.ttl.log").read_text()
    assert "keep-alive reached for orphan" in log, log
    (rec,) = destroy_records(jb, "orphan")
    assert rec["reason"] == "keepalive" and rec["ended_by"] == "keepalive", rec
    assert rec["result"] == "destroyed" and rec["alive_until"] < rec["expires_at"], rec
    assert jb.leases() == []
    subprocess.run(["pkill", "-f", str(started)], check=False)
    keep_records(lives, jb, "orphan")


def test_the_sweeper_takes_a_box_whose_keepalive_ran_out(jb):
    """The lease alone says so: ready, alive_until passed, expiry far."""
    jb.create("--stack-id", "stale", "--ttl", "10m")
    path = lease_file(jb, "stale")
    lease = json.loads(path.read_text())
    # A keep-alive that ran out a minute ago (as a dead run leaves it); the
    # box's own timer is stopped so only the sweeper is left.
    timer = int((jb.work / "boxes" / "stale" / "timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)
    lease.update(keepalive_s=20, alive_until=time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)))
    path.write_text(json.dumps(lease))
    (listed,) = jb.leases()
    assert listed["expired"] is True and listed["alive_until"] == lease["alive_until"]
    res = json.loads(jb.sweep().stdout)
    assert res["stacks"] == [{"stack_id": "stale", "result": "destroyed"}]
    (rec,) = destroy_records(jb, "stale")
    assert rec["reason"] == "sweep" and rec["ended_by"] == "keepalive", rec
    assert jb.leases() == [] and not box_processes(jb.work)


def extend(jb, *args, check=0, env=None):
    return run([jb.provisioner, "extend", "--state", jb.state, *args],
               env=dict(jb.env, **(env or {})), check=check)


def test_extend_moves_the_expiry_and_the_box_follows(jb, lives):
    res, _ = jb.create("--stack-id", "longer", "--ttl", "15s")
    first = res["expires_at"]
    cp = extend(jb, "--stack-id", "longer", "--ttl", "2m")
    out = json.loads(cp.stdout)
    assert out["stack_id"] == "longer" and out["previous_expires_at"] == first
    assert out["expires_at"] > first
    (lease,) = jb.leases()
    assert lease["expires_at"] == out["expires_at"]
    # Past the first expiry the box is still there, and its timer says why.
    wait_for(lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) > first, 60,
             "the first expiry to pass")
    time.sleep(4)      # two of the timer's polls past it
    assert [l["stack_id"] for l in jb.leases()] == ["longer"]
    assert box_processes(jb.work)
    log = (jb.work / "logs" / "longer.ttl.log").read_text()
    assert f"longer ends at {out['expires_at']} (ttl), was {first}" in log, log
    assert "TTL reached" not in log
    (rec,) = [r for r in jb.audit("--stack-id", "longer") if r["event"] == "extend"]
    assert rec["previous_expires_at"] == first and rec["expires_at"] == out["expires_at"]
    assert rec["by"]["via"] == "cli", rec
    jb.destroy("longer")
    assert jb.leases() == []
    keep_records(lives, jb, "longer")


def test_the_cap_holds_and_bad_extensions_change_nothing(jb):
    cap = {"JUMPBOX_MAX_TTL": "1m"}
    cp = run([jb.provisioner, "create", "--state", jb.state, "--ttl", "2m"],
             env=dict(jb.env, **cap), check=2)
    assert cp.stderr.startswith("provisioner create: --ttl: at most 60s"), cp.stderr
    assert jb.leases() == []
    res, _ = jb.create("--stack-id", "capped", "--ttl", "30s", extra_env=cap)
    (lease,) = jb.leases()
    before = lease_file(jb, "capped").read_bytes()
    # Past the cap: refused, exit 2, one line naming the field.
    cp = extend(jb, "--stack-id", "capped", "--ttl", "2m", check=2)
    assert cp.stderr.count("\n") == 1 and "--ttl: would end the stack at" in cp.stderr
    assert f"past its cap {lease['max_until']}" in cp.stderr, cp.stderr
    # Not later than it is, no such stack, no TTL: the same.
    cp = extend(jb, "--stack-id", "capped", "--ttl", "10s", check=2)
    assert "not later than its expiry" in cp.stderr
    cp = extend(jb, "--stack-id", "nosuch", "--ttl", "1m", check=2)
    assert "--stack-id: no stack nosuch" in cp.stderr
    cp = extend(jb, "--stack-id", "capped", check=2)
    assert "--ttl: required" in cp.stderr
    assert lease_file(jb, "capped").read_bytes() == before
    # A stack being destroyed is not extended: it fails, saying why.
    doomed = json.loads(before)
    doomed["status"] = "destroying"
    lease_file(jb, "capped").write_text(json.dumps(doomed))
    cp = extend(jb, "--stack-id", "capped", "--ttl", "50s", check=1)
    assert "capped is destroying, not ready: its box is ending" in cp.stderr, cp.stderr
    lease_file(jb, "capped").write_bytes(before)
    assert [r for r in jb.audit("--stack-id", "capped") if r["event"] == "extend"] == []
    jb.destroy("capped")
