"""`provisioner run` with the local module: a real box, the real ssh and
rsync through it (ProxyJump to a host behind it) from COMMAND, and the box torn down however COMMAND ends:
success, failure, signals forwarded, a TTL shorter than the job, and run
itself SIGKILLed (the box's timer, or the sweeper, ends the box then)."""
import json
import os
import pty
import signal
import stat
import subprocess
import sys
import time

import pytest

from support.jbtest import run, wrapped_terraform
from support.localflow import Env, box_processes
from support.target_sshd import TargetSshd

PY = sys.executable

# COMMAND for the success test: what a backup job does through the box.
JOB = r'''
import json, os, re, stat, subprocess, sys
cfg, host, d = (os.environ[k] for k in ("JUMPBOX_SSH_CONFIG", "JUMPBOX_HOST", "JUMPBOX_DIR"))
out = {"cfg": cfg, "host": host, "dir": d,
       "dir_mode": stat.S_IMODE(os.stat(d).st_mode),
       "key_mode": stat.S_IMODE(os.stat(os.path.join(d, "id_ed25519")).st_mode)}
ssh = ["ssh", "-F", cfg, "-o", "BatchMode=yes"]
# The box runs nothing of its own (it only forwards) ...
r = subprocess.run(ssh + [host, "echo", "on-the-box"], capture_output=True, text=True)
out["ssh"] = [r.returncode, r.stdout.strip(), r.stderr]
# ... so the job reaches the host behind it with ProxyJump, as a backup does.
behind = ["-J", host, "-p", os.environ["TARGET_PORT"], "-i", os.environ["TARGET_KEY"],
          "-o", "UserKnownHostsFile=" + os.environ["TARGET_KNOWN_HOSTS"],
          "-o", "StrictHostKeyChecking=yes"]
r = subprocess.run(ssh + behind + [os.environ["USER_AT"], "echo", "jumped"],
                   capture_output=True, text=True)
out["jump"] = [r.returncode, r.stdout.strip(), r.stderr]
if os.environ.get("RSYNC_SRC"):
    r = subprocess.run(["rsync", "-a", "-e", " ".join(ssh + behind), os.environ["RSYNC_SRC"],
                        os.environ["USER_AT"] + ":" + os.environ["RSYNC_DST"]],
                       capture_output=True, text=True)
    out["rsync"] = [r.returncode, r.stderr]
json.dump(out, open(sys.argv[1], "w"))
print("COMMAND's own stdout")
'''

# Every signal that would end `run`, which it must survive long enough to
# tear the box down (SIGKILL aside).
ENDING = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
          signal.SIGUSR2, signal.SIGALRM]


def default_dispositions():
    """preexec_fn: `run` starts with these signals at their defaults, as a
    shell would start it, whatever the test runner inherited (nohup)."""
    for s in ENDING:
        signal.signal(s, signal.SIG_DFL)


# COMMAND for the signal tests: says it started (and where its directory
# is), records the signals it gets, exits 40+N on the first unless told
# to ignore them.
TRAP = r'''
import os, signal, sys, time
log, mode = sys.argv[1], sys.argv[2]
def got(n, _):
    with open(log, "a") as f:
        f.write("%d\n" % n)
    if mode == "exit":
        sys.exit(40 + n)
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
          signal.SIGUSR2, signal.SIGALRM):
    signal.signal(s, got)
with open(log + ".started", "w") as f:
    f.write(os.environ["JUMPBOX_DIR"])
deadline = time.time() + 600
while time.time() < deadline:
    time.sleep(0.2)
'''


@pytest.fixture
def jb(tmp_path, provisioner, cleaner):
    e = Env(tmp_path, provisioner, cleaner)
    rt = tmp_path / "rt"
    rt.mkdir(mode=0o700)
    e.env["XDG_RUNTIME_DIR"] = str(rt)
    e.rt = rt
    yield e
    e.cleanup()
    assert not box_processes(e.work), "a test left a jump box running"


def run_args(jb, *opts):
    return [jb.provisioner, "run", "--state", jb.state, *opts]


def assert_nothing_left(jb):
    assert jb.leases() == []
    assert jb.stack_dirs() == []
    assert not box_processes(jb.work)
    assert list(jb.rt.iterdir()) == [], "the private directory was left behind"


def jumpbox_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("jumpbox: ")]


def wait_for(pred, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_run_ssh_jump_and_rsync_through_the_box(jb, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "data.bin").write_bytes(os.urandom(100000))
    dst = tmp_path / "dst"
    info = tmp_path / "info.json"
    key = tmp_path / "target_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    target = TargetSshd(tmp_path / "target", (tmp_path / "target_key.pub").read_text())
    kh = tmp_path / "target_known_hosts"
    kh.write_text(target.known_hosts_line())
    try:
        cp = run(run_args(jb, "--module", "local", "--ttl", "10m", "--stack-id", "run-ok", "--",
                          PY, "-c", JOB, str(info)),
                 env=dict(jb.env, RSYNC_SRC=f"{src}/", RSYNC_DST=str(dst),
                          USER_AT=f"{target.user}@127.0.0.1", TARGET_PORT=str(target.port),
                          TARGET_KEY=str(key), TARGET_KNOWN_HOSTS=str(kh)),
                 check=0)
    finally:
        target.close()
    res = json.loads(info.read_text())
    assert res["host"] == "run-ok"
    assert res["ssh"][:2] == [0, ""], res["ssh"]      # a jump box runs nothing
    assert res["jump"][:2] == [0, "jumped"], res["jump"]
    assert res["rsync"][0] == 0, res["rsync"]
    assert (dst / "data.bin").read_bytes() == (src / "data.bin").read_bytes()
    assert res["dir_mode"] == 0o700 and res["key_mode"] == 0o600
    assert res["dir"].startswith(str(jb.rt) + "/")
    # stdout is COMMAND's, byte for byte; jumpbox speaks on stderr, prefixed.
    assert cp.stdout == "COMMAND's own stdout\n"
    lines = jumpbox_lines(cp.stderr)
    assert any("ready" in l for l in lines) and any("run-ok destroyed" in l for l in lines)
    assert not os.path.exists(res["dir"])
    assert_nothing_left(jb)


def test_stdin_and_stdout_bytes_untouched(jb, tmp_path):
    data = bytes(range(256)) * 64
    p = subprocess.run(run_args(jb, "--ttl", "10m", "--quiet", "--", "cat"), input=data,
                       env=dict(os.environ, **jb.env), capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout == data
    # --quiet: nothing of jumpbox's on a good run.
    assert p.stderr == b""
    assert_nothing_left(jb)


def test_a_tty_stays_a_tty(jb):
    """COMMAND's stdin, stdout and stderr are ours, untouched: a terminal
    stays one (an interactive ssh through the box needs it)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(run_args(jb, "--ttl", "10m", "--quiet", "--", "sh", "-c",
                                      "test -t 0 && test -t 1 && test -t 2"),
                             env=dict(os.environ, **jb.env), stdin=slave, stdout=slave,
                             stderr=slave)
        os.close(slave)
        slave = -1
        out = b""
        while p.poll() is None:
            try:
                import select
                if select.select([master], [], [], 0.5)[0]:
                    out += os.read(master, 4096)
            except OSError:
                break
        p.wait(timeout=300)
        assert p.returncode == 0, out
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    assert_nothing_left(jb)


def test_command_failure_and_signal_death_are_passed_through(jb):
    cp = run(run_args(jb, "--ttl", "10m", "--", "sh", "-c", "echo oops >&2; exit 7"),
             env=jb.env, check=7)
    assert "oops" in cp.stderr
    assert any("destroyed" in l for l in jumpbox_lines(cp.stderr))
    assert_nothing_left(jb)
    run(run_args(jb, "--ttl", "10m", "--", "sh", "-c", "kill -9 $$"), env=jb.env, check=128 + 9)
    assert_nothing_left(jb)


def test_command_not_found_or_not_executable_makes_nothing(jb, tmp_path):
    cp = run(run_args(jb, "--", "no-such-command-jb"), env=jb.env, check=127)
    assert cp.stderr.strip() == "jumpbox: COMMAND: no-such-command-jb: not found"
    plain = tmp_path / "not-executable"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    cp = run(run_args(jb, "--", str(plain)), env=jb.env, check=126)
    assert cp.stderr.strip().endswith("not executable")
    assert not jb.state_dir.exists() and not jb.work.exists()
    assert list(jb.rt.iterdir()) == []


@pytest.mark.parametrize("args, field", [
    (["--ttl", "5x", "--", "true"], "--ttl"),
    (["--module", "gcp", "--", "true"], "--module"),
    (["--ttl", "10m"], "COMMAND"),
    (["--heartbeat", "30s", "--", "true"], "--heartbeat"),
    (["--grace", "0s", "--", "true"], "--grace"),
    (["--permit-open", "no-port", "--", "true"], "--permit-open"),
    (["--task-token", "", "--", "true"], "--task-token"),
    (["--allow-cidr", "10.0.0.0/8", "--", "true"], "--allow-cidr"),
    (["--function", "jumpbox-build", "--module", "local", "--", "true"], "--function"),
    (["--function", "jumpbox-build", "--allow-cidr", "127.0.0.1/32", "--stack-id", "x", "--",
      "true"], "--stack-id"),
    (["--clean-function", "jumpbox-clean", "--", "true"], "--clean-function"),
    (["--stack-id", "Bad_Id", "--", "true"], "--stack-id"),
    (["--bogus", "--", "true"], "--bogus"),
])
def test_bad_input_is_125_with_nothing_made(jb, args, field):
    cp = run(run_args(jb, *args), env=jb.env, check=125)
    lines = cp.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jumpbox: {field}: "), cp.stderr
    assert cp.stdout == ""
    assert not jb.state_dir.exists() or jb.stack_dirs() == []
    assert not box_processes(jb.work)
    assert list(jb.rt.iterdir()) == []


def start_trap(jb, tmp_path, mode, *opts):
    log = tmp_path / "signals.log"
    p = subprocess.Popen(run_args(jb, "--ttl", "10m", *opts, "--", PY, "-c", TRAP, str(log),
                                  mode),
                         env=dict(os.environ, **jb.env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=default_dispositions)
    started = tmp_path / "signals.log.started"
    wait_for(lambda: started.exists() and started.read_text() or p.poll() is not None, 300,
             "COMMAND to start")
    assert p.poll() is None, p.communicate()
    return p, log, started.read_text()


@pytest.mark.parametrize("sig", [s for s in ENDING if s != signal.SIGINT],
                         ids=lambda s: s.name)
def test_signal_is_forwarded_and_the_box_torn_down(jb, tmp_path, sig):
    """SIGINT: the grace test below."""
    p, log, d = start_trap(jb, tmp_path, "exit")
    assert os.path.isdir(d)
    p.send_signal(sig)
    _, err = p.communicate(timeout=300)
    assert log.read_text() == f"{int(sig)}\n"
    assert p.returncode == 40 + sig, err
    assert any("destroyed" in l for l in jumpbox_lines(err)), err
    assert not os.path.exists(d)
    assert_nothing_left(jb)


def test_sigint_then_sigkill_after_the_grace(jb, tmp_path):
    """A COMMAND that ignores the forwarded SIGINT is killed after --grace."""
    p, log, d = start_trap(jb, tmp_path, "ignore", "--grace", "2s")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert log.read_text() == "2\n"
    assert p.returncode == 128 + 9, err
    assert not os.path.exists(d)
    assert_nothing_left(jb)


# COMMAND for the nohup test: says whether it started with SIGHUP ignored,
# then waits for the test's word and exits 0.
HUP_IGNORED = r'''
import os, signal, sys, time
started, go = sys.argv[1], sys.argv[2]
with open(started + ".tmp", "w") as f:
    f.write("ignored" if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN else "default")
os.rename(started + ".tmp", started)
deadline = time.time() + 600
while not os.path.exists(go) and time.time() < deadline:
    time.sleep(0.1)
'''


def test_a_signal_the_caller_ignored_stays_ignored(jb, tmp_path):
    """`nohup provisioner run -- job`: SIGHUP ignored by the caller is
    ignored by run and by COMMAND, which finishes its work; the hangup goes
    to the whole process group, as a closing terminal sends it."""
    started, go = tmp_path / "started", tmp_path / "go"

    def nohup():
        default_dispositions()
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

    p = subprocess.Popen(run_args(jb, "--ttl", "10m", "--", PY, "-c", HUP_IGNORED, str(started),
                                  str(go)),
                         env=dict(os.environ, **jb.env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=nohup,
                         start_new_session=True)
    try:
        wait_for(lambda: started.exists() or p.poll() is not None, 300, "COMMAND to start")
        assert p.poll() is None, p.communicate()
        assert started.read_text() == "ignored"
        os.killpg(p.pid, signal.SIGHUP)
        # Pending from here on: COMMAND cannot see the word before the signal.
        go.touch()
        _, err = p.communicate(timeout=300)
    finally:
        if p.poll() is None:  # failed half-way: COMMAND gets SIGTERM from the kernel
            p.kill()
            p.communicate()
    assert p.returncode == 0, err
    assert not any("got signal" in l for l in jumpbox_lines(err)), err
    assert any("destroyed" in l for l in jumpbox_lines(err)), err
    assert_nothing_left(jb)


# COMMAND for the teardown test: stages the job's data into $JUMPBOX_DIR
# by hard links (as `cp -al` and `rsync --link-dest` do), puts a hard link
# in place of the key, and FIFOs in place of the token and beside them.
STAGE = r'''
import os, subprocess, sys
src = sys.argv[1]
d = os.environ["JUMPBOX_DIR"]
os.link(os.path.join(src, "one"), os.path.join(d, "one"))
subprocess.run(["cp", "-al", src, os.path.join(d, "stage")], check=True)
os.unlink(os.path.join(d, "id_ed25519"))
os.link(os.path.join(src, "two"), os.path.join(d, "id_ed25519"))
os.unlink(os.path.join(d, "teardown_token"))
os.mkfifo(os.path.join(d, "teardown_token"))
os.mkfifo(os.path.join(d, "stage", "pipe"))
'''


def test_teardown_keeps_hard_linked_data_and_passes_fifos(jb, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    data = {"one": os.urandom(5000), "two": os.urandom(7000)}
    for name, b in data.items():
        (src / name).write_bytes(b)
    p = subprocess.Popen(run_args(jb, "--ttl", "10m", "--", PY, "-c", STAGE, str(src)),
                         env=dict(os.environ, **jb.env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail("run's teardown hung (on a FIFO?)")
    assert p.returncode == 0, err
    for name, b in data.items():
        assert (src / name).read_bytes() == b, f"{name}: the source was overwritten"
        assert (src / name).stat().st_nlink == 1
    assert_nothing_left(jb)


def test_ttl_shorter_than_the_job_warns_and_ends_cleanly(jb, tmp_path):
    """The box's own timer ends it at expiry while COMMAND still runs;
    run warned before, and its teardown then finds the box gone."""
    wait_gone = ("import os, subprocess, time\n"
                 "deadline = time.time() + 240\n"
                 "while time.time() < deadline and subprocess.run(\n"
                 "        ['ssh', '-F', os.environ['JUMPBOX_SSH_CONFIG'], '-o', 'BatchMode=yes',\n"
                 "         '-o', 'ConnectTimeout=5', os.environ['JUMPBOX_HOST'], 'true'],\n"
                 "        capture_output=True).returncode == 0:\n"
                 "    time.sleep(1)\n"
                 "print('box gone' if time.time() < deadline else 'box still there')\n")
    cp = run(run_args(jb, "--ttl", "30s", "--stack-id", "run-ttl", "--", PY, "-c", wait_gone),
             env=jb.env, check=0, timeout=400)
    assert cp.stdout == "box gone\n"
    assert "jumpbox: warning: the box expires at" in cp.stderr
    assert "run-ttl was already gone" in cp.stderr
    assert "TTL reached" in (jb.work / "logs" / "run-ttl.ttl.log").read_text()
    assert_nothing_left(jb)


def test_run_killed_the_box_timer_ends_the_box(jb, tmp_path):
    lease_ttl = "30s"
    p, log, d = start_trap(jb, tmp_path, "exit", "--ttl", lease_ttl, "--stack-id", "run-kill")
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    wait_for(lambda: log.exists() and log.read_text() == "15\n", 60, "COMMAND to stop")
    assert jb.wait_gone("run-kill", timeout=240), "the box's timer did not end the box"
    assert jb.leases() == [] and not box_processes(jb.work)
    # Killed, run could not clean its directory: the next look is the user's.
    run(["rm", "-rf", d], check=0)


def test_run_killed_the_sweeper_ends_the_box(jb, tmp_path):
    p, log, d = start_trap(jb, tmp_path, "exit", "--ttl", "30s", "--stack-id", "run-swept")
    # Without the box's own timer only the sweeper is left to end it.
    timer = int((jb.work / "boxes" / "run-swept" / "timer.pid").read_text())
    os.kill(timer, signal.SIGKILL)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    wait_for(lambda: log.exists() and log.read_text() == "15\n", 60, "COMMAND to stop")
    wait_for(lambda: all(l["expired"] for l in jb.leases()), 120, "the lease to expire")
    res = json.loads(jb.sweep().stdout)
    assert res["stacks"] == [{"stack_id": "run-swept", "result": "destroyed"}]
    assert jb.leases() == [] and not box_processes(jb.work)
    run(["rm", "-rf", d], check=0)


def test_teardown_failure_is_125_and_keeps_the_lease(jb, tmp_path):
    """COMMAND ran (exit 5) but the destroy failed: 125, stderr says
    COMMAND's status, and the lease is kept for the sweeper, which ends
    the box."""
    fake = wrapped_terraform(tmp_path, "terraform-no-destroy",
                             "if 'destroy' in sys.argv: sys.exit('refusing to destroy')")
    cp = run(run_args(jb, "--ttl", "10m", "--stack-id", "run-sticky", "--", "sh", "-c", "exit 5"),
             env=dict(jb.env, JUMPBOX_TERRAFORM=fake), check=125)
    assert "teardown of run-sticky failed" in cp.stderr
    assert "jumpbox: COMMAND exited with status 5" in cp.stderr
    (lease,) = jb.leases()
    assert lease["stack_id"] == "run-sticky" and lease["status"] == "failed"
    assert lease["expired"] is True
    assert list(jb.rt.iterdir()) == []
    res = json.loads(jb.sweep().stdout)
    assert res["stacks"] == [{"stack_id": "run-sticky", "result": "destroyed"}]
    assert_nothing_left(jb)


def test_allow_my_ip(jb):
    """--allow-my-ip with the local module: the address JUMPBOX_CHECKIP_URL
    gives (a fixture answering 127.0.0.1) is the box's only allowed source;
    an answer that is no address is jumpbox's failure, with nothing made."""
    import http.server
    import threading
    answer = [b"127.0.0.1\n"]

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer[0])))
            self.end_headers()
            self.wfile.write(answer[0])

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        env = dict(jb.env, JUMPBOX_CHECKIP_URL=f"http://127.0.0.1:{srv.server_port}/")
        lease = jb.state_dir / "run-myip" / "lease.json"
        cp = run(run_args(jb, "--allow-my-ip", "--ttl", "10m", "--stack-id", "run-myip", "--",
                          "sh", "-c", 'ssh -F "$JUMPBOX_SSH_CONFIG" -o BatchMode=yes '
                          f'"$JUMPBOX_HOST" true && cat {lease}'), env=env, check=0)
        assert "allowing 127.0.0.1/32" in cp.stderr
        assert json.loads(cp.stdout)["vars"]["allow_cidr"] == "127.0.0.1/32"
        assert_nothing_left(jb)
        answer[0] = b"<html>no address</html>"
        cp = run(run_args(jb, "--allow-my-ip", "--", "true"), env=env, check=125)
        assert cp.stderr.startswith("jumpbox: --allow-my-ip: ")
        assert jb.stack_dirs() == [] and list(jb.rt.iterdir()) == []
    finally:
        srv.shutdown()
        srv.server_close()


FORWARD_JOB = r'''
import json, os, subprocess, sys
got = {}
for target in sys.argv[2:]:
    cp = subprocess.run(["ssh", "-F", os.environ["JUMPBOX_SSH_CONFIG"], "-o", "BatchMode=yes",
                         "-W", target, os.environ["JUMPBOX_HOST"]], input=b"ping\n",
                        capture_output=True, timeout=60)
    got[target] = [cp.returncode, cp.stdout.decode(), cp.stderr.decode()]
with open(sys.argv[1], "w") as f:
    json.dump(got, f)
'''


def test_permit_open_reaches_the_box(jb, tmp_path):
    """run's --permit-open is the box's forwarding allow-list: the permitted
    target forwards (ssh -W), another port of the same host is refused."""
    from support.forwarding import Echo
    ok, other = Echo(), Echo()
    try:
        info = tmp_path / "fwd.json"
        allowed, refused = f"127.0.0.1:{ok.port}", f"127.0.0.1:{other.port}"
        run(run_args(jb, "--module", "local", "--ttl", "10m", "--stack-id", "run-permit",
                     "--permit-open", allowed, "--", PY, "-c", FORWARD_JOB, str(info),
                     allowed, refused), env=jb.env, check=0)
        got = json.loads(info.read_text())
        assert got[allowed][:2] == [0, "ping\n"], got[allowed]
        assert got[refused][0] != 0 and got[refused][1] == ""
        assert "administratively prohibited" in got[refused][2], got[refused]
        assert ok.accepted == 1 and other.accepted == 0
    finally:
        ok.close()
        other.close()
    assert_nothing_left(jb)
