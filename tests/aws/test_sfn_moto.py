"""Step Functions on the emulated cloud (moto, not AWS): the example
terraform/examples/step-functions applied by the real Terraform provider,
executions run by moto's state machine interpreter (its
`execute_state_machine` setting: LocalStack's ASL interpreter, which
carries out the sqs:sendMessage.waitForTaskToken integration against
moto's SQS), and our C client (tests/tools/sfn_call, lib/aws/sfn) reporting
with the token it took off the queue, as the backup VM would.

What moto checks: the token (unknown or no longer waiting -> InvalidToken),
the outcome reaching the execution.  What it does not: signatures and IAM
(moto takes any key), the API's length limits, Step Functions' own
validation of the definition (tests/support/moto_cloud.py answers
ValidateStateMachineDefinition with a JSON shape check), heartbeat
timeouts, and more than one execution per server (a second StartExecution
fails in moto 5.2), so the failure path is shown against the fixture only."""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

from support import tf_offline as tfo
from support.emulated_cloud import REGION
from support.jbtest import bin_path

NAME = "jb-sfn-test"


def tf(cloud, mod, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(cloud.env(), HOME=str(mod), TF_IN_AUTOMATION="1", TF_INPUT="0",
               CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=str(mod / "terraformrc"))
    cp = subprocess.run([tfo.terraform_bin(), *args], cwd=mod, env=env, capture_output=True,
                        text=True, timeout=900)
    if check:
        assert cp.returncode == 0, f"terraform {args[0]}:\n{cp.stdout[-4000:]}\n{cp.stderr}"
    return cp


def moto_config(cloud, execute):
    req = urllib.request.Request(cloud.endpoint + "/moto-api/config", method="POST",
                                 data=json.dumps({"stepfunctions": {
                                     "execute_state_machine": execute}}).encode())
    urllib.request.urlopen(req, timeout=30).read()


@pytest.fixture(scope="module")
def example(cloud, tmp_path_factory):
    cloud.reset()
    moto_config(cloud, True)
    mod = tmp_path_factory.mktemp("sfn-example") / "step-functions"
    shutil.copytree(tfo.ROOT / "terraform" / "examples" / "step-functions", mod,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (mod / "terraformrc").write_text("")
    (mod / "zz_moto_override.tf").write_text(f"""provider "aws" {{
  region                      = "{REGION}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}}
""")
    vars_ = [f"-var=region={REGION}", f"-var=name={NAME}", "-var=schedule="]
    tf(cloud, mod, "init", "-input=false", "-no-color", f"-plugin-dir={tfo.plugin_dir()}")
    try:
        tf(cloud, mod, "apply", "-auto-approve", "-input=false", "-no-color", *vars_)
        out = {k: v["value"] for k, v in json.loads(
            tf(cloud, mod, "output", "-json").stdout).items()}
        yield out
    finally:
        tf(cloud, mod, "destroy", "-auto-approve", "-input=false", "-no-color", *vars_,
           check=False)
        moto_config(cloud, False)
        cloud.reset()


def report(cloud, tmp_path, *args, check=0):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(cloud.env(), HOME=str(tmp_path))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    cp = subprocess.run([bin_path("tools/sfn_call"), *args], env=env, capture_output=True,
                        text=True, timeout=300)
    assert cp.returncode == check, (args[0], cp.returncode, cp.stdout, cp.stderr)
    return json.loads(cp.stdout)


def take_job(cloud, queue_url):
    """What the backup VM does: long-poll the queue, delete the message."""
    sqs = cloud.client("sqs")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5,
                                  MaxNumberOfMessages=1).get("Messages", [])
        if got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=got[0]["ReceiptHandle"])
            return json.loads(got[0]["Body"])
    raise AssertionError("no job on the queue")


def finished(cloud, arn):
    sfn = cloud.client("stepfunctions")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        d = sfn.describe_execution(executionArn=arn)
        if d["status"] != "RUNNING":
            return d
        time.sleep(0.5)
    raise AssertionError(f"execution {arn} still running")


def test_the_example_runs_and_our_client_reports_to_it(cloud, example, tmp_path):
    """One execution: moto 5.2's interpreter runs one per server (a second
    StartExecution fails deep-copying the first one's lock), so the failure
    path (SendTaskFailure into the Fail state) is shown against the
    fixture only (tests/integration/test_sfn.py)."""
    sfn = cloud.client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=example["state_machine_arn"], name="run-1",
                              input=json.dumps({"job": "nightly", "n": 1}))["executionArn"]
    msg = take_job(cloud, example["queue_url"])
    assert msg["Job"] == {"job": "nightly", "n": 1}
    assert msg["ExecutionId"] == arn
    token = msg["TaskToken"]
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"  # waiting
    for _ in range(2):
        assert report(cloud, tmp_path, "heartbeat", token)["result"] == "ok"
    out = {"stack_id": "jb-x", "exit_status": 0, "duration_s": 3, "output_bytes": 42}
    assert report(cloud, tmp_path, "success", token, json.dumps(out))["result"] == "ok"
    d = finished(cloud, arn)
    assert d["status"] == "SUCCEEDED", d
    assert json.loads(d["output"])["result"] == out
    assert json.loads(d["output"])["job"] == "nightly"
    # The task is over: its token is refused, a clear error, no hang.
    for args in (("heartbeat", token), ("success", token, "{}")):
        r = report(cloud, tmp_path, *args, check=1)
        assert r["result"] == "notfound" and "refused the task token" in r["error"], r


def test_a_bogus_token_is_refused(cloud, example, tmp_path):
    for args in (("heartbeat", "AAAAbogus"), ("success", "AAAAbogus", "{}"),
                 ("failure", "AAAAbogus", "--error", "E")):
        r = report(cloud, tmp_path, *args, check=1)
        assert r["result"] == "notfound" and "(InvalidToken" in r["error"], r
