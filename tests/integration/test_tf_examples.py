"""terraform/examples/: each example validated and planned offline (a copy
plus a test override that points the provider at an unused loopback port;
the real AWS provider from JUMPBOX_TF_PLUGIN_DIR), and what it promises
checked in the plan JSON."""
import json
import shutil
import subprocess

import pytest

from support import tf_offline as tfo

REGION = "eu-west-1"
EXAMPLES = tfo.ROOT / "terraform" / "examples"
QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/jumpbox-nightly-backup"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:jumpbox-nightly-backup"


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()) == ["step-functions"]


@pytest.fixture(scope="module")
def sfn_example(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("examples")
    mod = tmp / "step-functions"
    shutil.copytree(EXAMPLES / "step-functions", mod,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    tfo.init(mod)
    tfo.tf(["validate", "-no-color"], mod)
    # The queue's ARN is known only after apply; pinned here so the plan
    # shows the policies.  (Its URL stays unknown: with the definition known
    # the provider would ask Step Functions to validate it.)
    (mod / "zz_test_override.tf").write_text(
        tfo.provider_block(REGION) + f'locals {{\n  queue_arn = "{QUEUE_ARN}"\n}}\n')
    args = [f"-var=region={REGION}", "-var=backup_vm_role_name=backup-vm",
            "-var=heartbeat_seconds=120"]
    plan, _ = tfo.plan_json(mod, args)
    # The definition as Terraform renders it, the queue's URL and the
    # partition (a data source: console reads none) pinned too.
    with open(mod / "zz_test_override.tf", "a") as f:
        f.write(f'locals {{\n  queue_url = "{QUEUE_URL}"\n  p         = "aws"\n}}\n')
    cp = subprocess.run([tfo.terraform_bin(), "console", *args], cwd=mod, env=tfo.tf_env(mod),
                        input="jsonencode(local.definition)\n", capture_output=True, text=True,
                        timeout=300)
    assert cp.returncode == 0, cp.stderr
    shown = cp.stdout
    yield {"plan": plan, "definition": json.loads(json.loads(shown))}
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def sfn_plan(sfn_example):
    return sfn_example["plan"]


def one(plan, rtype):
    (v,) = tfo.resources(plan, rtype).values()
    return v


def test_state_machine_hands_the_token_to_the_queue_and_waits(sfn_example):
    sm = one(sfn_example["plan"], "aws_sfn_state_machine")
    assert sm["name"] == "jumpbox-nightly-backup"
    d = sfn_example["definition"]
    task = d["States"][d["StartAt"]]
    assert task["Type"] == "Task"
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert task["Parameters"]["QueueUrl"] == QUEUE_URL
    assert task["Parameters"]["MessageBody"]["TaskToken.$"] == "$$.Task.Token"
    assert task["HeartbeatSeconds"] == 120 and task["TimeoutSeconds"] > 120
    # A VM that went silent: one retry, with a new message and token.
    assert task["Retry"] == [{"ErrorEquals": ["States.HeartbeatTimeout"], "MaxAttempts": 1,
                              "IntervalSeconds": 60}]
    # A reported failure ends the execution with the job's error and cause.
    (catch,) = task["Catch"]
    failed = d["States"][catch["Next"]]
    assert failed == {"Type": "Fail", "ErrorPath": f"{catch['ResultPath']}.Error",
                      "CausePath": f"{catch['ResultPath']}.Cause"}
    assert d["States"][task["Next"]]["Type"] == "Succeed"


def test_each_role_may_do_one_thing(sfn_plan):
    pols = {a: v.get("policy") for a, v in tfo.resources(sfn_plan, "aws_iam_role_policy").items()}
    assert set(pols) == {"aws_iam_role_policy.states", "aws_iam_role_policy.backup_vm[0]",
                         "aws_iam_role_policy.scheduler[0]"}, pols
    (st,) = json.loads(pols["aws_iam_role_policy.states"])["Statement"]
    assert (st["Effect"], st["Action"], st["Resource"]) == ("Allow", "sqs:SendMessage", QUEUE_ARN)
    # The schedule's names the state machine, whose ARN is known after apply.
    rc = next(r for r in sfn_plan["resource_changes"]
              if r["address"] == "aws_iam_role_policy.scheduler[0]")
    assert rc["change"]["after_unknown"].get("policy") is True
    trusts = {v["name"]: json.loads(v["assume_role_policy"])["Statement"][0]["Principal"]
              for v in tfo.resources(sfn_plan, "aws_iam_role").values()}
    assert trusts == {"jumpbox-nightly-backup-states": {"Service": "states.amazonaws.com"},
                      "jumpbox-nightly-backup-schedule": {"Service": "scheduler.amazonaws.com"}}
    sq = one(sfn_plan, "aws_sqs_queue")
    assert sq["sqs_managed_sse_enabled"] is True and sq["receive_wait_time_seconds"] == 20
    sched = one(sfn_plan, "aws_scheduler_schedule")
    assert sched["schedule_expression"] == "cron(0 2 * * ? *)"


def test_backup_vm_queue_policy_is_receive_and_delete_only(sfn_plan):
    pol = json.loads(tfo.resources(sfn_plan, "aws_iam_role_policy")[
        "aws_iam_role_policy.backup_vm[0]"]["policy"])
    (st,) = pol["Statement"]
    assert sorted(st["Action"]) == ["sqs:DeleteMessage", "sqs:ReceiveMessage"]
    assert st["Resource"] == QUEUE_ARN
