"""The emulated cloud's moto ends with the test run that started it, even when
that run is killed by a signal and never reaches its teardown: nothing of a
killed `make test` keeps listening."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

# Where the support package is (pytest.ini's pythonpath), for the child.
TESTS = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time
from support.emulated_cloud import EmulatedCloud
cloud = EmulatedCloud(sys.argv[1]).start()
print(cloud.proc.pid, flush=True)
time.sleep(600)
"""


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waits for its parent (here: init after the reparent): gone.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def test_moto_ends_when_the_run_that_started_it_is_killed(tmp_path):
    run = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)],
                           env=dict(os.environ, PYTHONPATH=str(TESTS)),
                           stdout=subprocess.PIPE, text=True)
    moto = int(run.stdout.readline())
    assert alive(moto)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    deadline = time.monotonic() + 60
    while alive(moto) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(moto), f"moto {moto} outlived the killed run"
