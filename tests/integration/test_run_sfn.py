"""`provisioner run --task-token`: the job reported to a Step Functions
state machine waiting with .waitForTaskToken, against
tests/support/sfn_server.py (a TEST FIXTURE that checks every SigV4
signature with botocore, not Step Functions).  The local module makes the
box; what is shown is what the state machine hears: heartbeats while the
job runs, then its success (with the job's numbers) or failure (with the
tail of its stderr), and a refused token ending the reports without a
hang."""
import json
import os
import sys
import threading
import time

import pytest

from support.jbtest import run, wrapped_terraform
from support.sfn_server import SfnFixture
from test_run import assert_nothing_left, jb, run_args  # noqa: F401 (fixture)

TOKEN = "AAAAKgAAAAIAAAAAAAAAAQ+jumpbox/run-token=="
PY = sys.executable

# Waits (for at most 10 minutes) for the flag file the test makes once the
# fixture has recorded a heartbeat, so "a heartbeat came while the job ran"
# needs no timing; then writes what it was told and exits with it.
JOB = r'''
import os, sys, time
flag, out, err, status = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
deadline = time.time() + 600
while not os.path.exists(flag) and time.time() < deadline:
    time.sleep(0.1)
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(status)
'''


@pytest.fixture
def sfn():
    fx = SfnFixture().start()
    yield fx
    fx.stop()


def sfn_env(jb, fx):
    return dict(jb.env, AWS_ENDPOINT_URL_SFN=fx.endpoint, AWS_ACCESS_KEY_ID=fx.access_key,
                AWS_SECRET_ACCESS_KEY=fx.secret_key, AWS_REGION=fx.region,
                AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=os.devnull,
                AWS_SHARED_CREDENTIALS_FILE=os.devnull)


def actions(fx):
    return [a for a, _, _ in fx.calls]


def body(fx, action):
    (b,) = [json.loads(b) for a, _, b in fx.calls if a == action]
    return b


def flag_on_first_heartbeat(fx, flag):
    """Makes flag once the fixture has a heartbeat (in a thread)."""
    def watch():
        deadline = time.time() + 600
        while time.time() < deadline:
            if "SendTaskHeartbeat" in actions(fx):
                flag.write_text("")
                return
            time.sleep(0.1)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_success_is_reported_with_the_jobs_numbers(jb, sfn, tmp_path):  # noqa: F811
    """...and it is the last call: the task is over once reported, so the
    teardown after it sends no heartbeat (the service would refuse it)."""
    flag = tmp_path / "beat"
    flag_on_first_heartbeat(sfn, flag)
    out, err = "backed up 42 files\n", "a warning of the job's own\n"
    cp = run(run_args(jb, "--ttl", "10m", "--stack-id", "sfn-ok", "--task-token", TOKEN,
                      "--heartbeat", "1s", "--", PY, "-c", JOB, str(flag), out, err, "0"),
             env=dict(sfn_env(jb, sfn), JUMPBOX_TERRAFORM=wrapped_terraform(
                 # init 3 s slower, as on a loaded machine: the teardown's
                 # stages come more than a 1 s heartbeat period apart.
                 tmp_path, "terraform-slow-init", "if 'init' in sys.argv: time.sleep(3)")),
             check=0, timeout=900)
    # The job's output went through byte for byte, and was counted.
    assert cp.stdout == out
    assert err in cp.stderr
    acts = actions(sfn)
    assert "SendTaskHeartbeat" in acts and acts[-1] == "SendTaskSuccess", acts
    assert acts.count("SendTaskSuccess") == 1 and "SendTaskFailure" not in acts
    sent = body(sfn, "SendTaskSuccess")
    assert sent["taskToken"] == TOKEN
    res = json.loads(sent["output"])
    assert res["stack_id"] == "sfn-ok" and res["exit_status"] == 0
    assert res["stdout_bytes"] == len(out) and res["stderr_bytes"] == len(err)
    assert res["duration_s"] >= 0
    assert sfn.rejected == []
    assert_nothing_left(jb)


def test_failure_is_reported_with_the_tail_of_stderr(jb, sfn, tmp_path):  # noqa: F811
    flag = tmp_path / "beat"
    flag_on_first_heartbeat(sfn, flag)
    # More than the API's 32768-byte cause, ending in multi-byte characters:
    # the cause is the last of it, cut on a character boundary.
    err = "x" * 40000 + "\nrsync: connection unexpectedly closed – échec ✗\n"
    cp = run(run_args(jb, "--ttl", "10m", "--stack-id", "sfn-fail", "--task-token", TOKEN,
                      "--heartbeat", "1s", "--", PY, "-c", JOB, str(flag), "", err, "3"),
             env=sfn_env(jb, sfn), check=3, timeout=900)
    assert err in cp.stderr
    acts = actions(sfn)
    assert acts[-1] == "SendTaskFailure" and "SendTaskSuccess" not in acts, acts
    sent = body(sfn, "SendTaskFailure")
    assert sent["error"] == "jumpbox.CommandFailed"
    cause = sent["cause"]
    assert len(cause.encode()) <= 32768 and err.endswith(cause)
    assert cause.endswith("échec ✗\n") and len(cause.encode()) > 32000
    assert_nothing_left(jb)


def test_a_box_that_cannot_be_made_is_reported_as_such(jb, sfn, tmp_path):  # noqa: F811
    fake = wrapped_terraform(tmp_path, "terraform-no-apply",
                             "if 'apply' in sys.argv: sys.exit('refusing to apply')")
    ran = tmp_path / "ran"
    run(run_args(jb, "--ttl", "10m", "--stack-id", "sfn-nobox", "--task-token", TOKEN, "--",
                 "touch", str(ran)),
        env=dict(sfn_env(jb, sfn), JUMPBOX_TERRAFORM=fake), check=125, timeout=900)
    assert not ran.exists(), "COMMAND ran without a box"
    assert actions(sfn)[-1] == "SendTaskFailure"
    sent = body(sfn, "SendTaskFailure")
    assert sent["error"] == "jumpbox.BoxFailed" and sent["cause"], sent
    assert_nothing_left(jb)


def test_a_refused_token_ends_the_reports_not_the_job(jb, sfn, tmp_path):  # noqa: F811
    """The state machine gave up (TaskTimedOut): one clear line, no more
    calls, COMMAND runs to its end, the box is torn down, and run exits 125
    (the job's result could not be reported)."""
    sfn.expired.add(TOKEN)
    flag = tmp_path / "beat"

    def refused_then_flag():
        deadline = time.time() + 600
        while time.time() < deadline and not sfn.calls:
            time.sleep(0.1)
        flag.write_text("")
    threading.Thread(target=refused_then_flag, daemon=True).start()
    cp = run(run_args(jb, "--ttl", "10m", "--stack-id", "sfn-gone", "--task-token", TOKEN,
                      "--heartbeat", "1s", "--", PY, "-c", JOB, str(flag), "done\n", "", "0"),
             env=sfn_env(jb, sfn), check=125, timeout=900)
    assert cp.stdout == "done\n"
    assert "Step Functions refused the task token" in cp.stderr and "TaskTimedOut" in cp.stderr
    assert actions(sfn) == ["SendTaskHeartbeat"], actions(sfn)
    assert TOKEN not in cp.stderr
    assert_nothing_left(jb)
