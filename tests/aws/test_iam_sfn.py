"""IAM, proven offline, for `provisioner run --task-token`: the backup VM's
policy as terraform/control-plane renders it (tests/support/policies.py),
evaluated by @cloud-copilot/iam-simulate (tests/support/evaluate.mjs).  Without
step_functions_state_machine_arns the backup VM may call no
states:SendTask*; with them it may, in the state machines' regions only,
and still nothing else of Step Functions.

SendTaskSuccess/Failure/Heartbeat have no resource type in the Service
Authorization Reference (checked below from the simulator's own data): a
request names no resource, so it is evaluated against "*"."""
import json
import shutil

import pytest

from support import policies
from support import simulate

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ROLE = "backup-vm"
SEND = ("states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat")
ARNS = [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nightly-backup",
        f"arn:aws:states:us-east-2:{ACCOUNT}:stateMachine:dr-copy"]


def backup_vm(tmp_path_factory, extra):
    tmp = tmp_path_factory.mktemp("iam-sfn")
    planned = policies.plan(tmp, ACCOUNT, REGION, f"jumpbox-state-{ACCOUNT}", "jumpbox", ROLE,
                            ["10.0.0.0/8"], extra)
    shutil.rmtree(tmp, ignore_errors=True)
    roles = policies.Rendered(planned).roles()
    return {"backup_vm": {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/vm",
                          "policies": roles[ROLE]["policies"]}}


@pytest.fixture(scope="module")
def without(tmp_path_factory):
    return backup_vm(tmp_path_factory, ())


@pytest.fixture(scope="module")
def given(tmp_path_factory):
    return backup_vm(tmp_path_factory,
                     [f"-var=step_functions_state_machine_arns={json.dumps(ARNS)}"])


def request(i, action, region, resource="*"):
    return {"id": f"r{i}", "principal": "backup_vm", "action": action, "resource": resource,
            "context": {"aws:SecureTransport": "true", "aws:RequestedRegion": region,
                        "aws:PrincipalAccount": ACCOUNT,
                        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"}}


def evaluate(principals, reqs):
    return simulate.evaluate(ACCOUNT, principals, [], reqs)


def test_send_task_has_no_resource_type(given):
    ev = evaluate(given, [request(i, a, REGION) for i, a in enumerate(SEND)])
    for a in SEND:
        assert ev["sar"][a]["resourceTypes"] == [], (a, ev["sar"][a])
        assert ev["sar"][a]["conditionKeys"] == [], (a, ev["sar"][a])


def test_no_state_machine_no_send_task(without):
    reqs = [request(i, a, r) for i, (a, r) in enumerate(
        [(a, r) for a in SEND for r in (REGION, "us-east-2")])]
    ev = evaluate(without, reqs)
    for r in reqs:
        res = ev["results"][r["id"]]
        assert res.get("error") is None and res["result"] != "Allowed", (r, res)


def test_send_task_allowed_in_the_state_machines_regions_only(given):
    cases = [(a, r, r in (REGION, "us-east-2")) for a in SEND
             for r in (REGION, "us-east-2", "us-west-2")]
    reqs = [request(i, a, r) for i, (a, r, _) in enumerate(cases)]
    ev = evaluate(given, reqs)
    failures = []
    for r, (a, region, allow) in zip(reqs, cases):
        res = ev["results"][r["id"]]
        got = res.get("result") == "Allowed"
        if res.get("error") or got != allow:
            failures.append(f"{a} in {region}: {res.get('result') or res.get('error')} "
                            f"({simulate.deciding(res)}), wanted "
                            f"{'Allowed' if allow else 'denied'}")
        elif got:
            assert simulate.deciding(res).endswith(":ReportStepFunctionsTask"), res
    assert failures == [], "\n".join(failures)


def test_nothing_else_of_step_functions(given):
    sm = ARNS[0]
    execution = sm.replace(":stateMachine:", ":execution:") + ":run-1"
    others = [("states:StartExecution", sm), ("states:StopExecution", execution),
              ("states:DescribeExecution", execution), ("states:GetActivityTask",
                                                        sm.replace(":stateMachine:",
                                                                   ":activity:")),
              ("states:UpdateStateMachine", sm), ("states:DeleteStateMachine", sm),
              ("states:ListStateMachines", "*")]
    reqs = [request(i, a, REGION, res) for i, (a, res) in enumerate(others)]
    ev = evaluate(given, reqs)
    allowed = [f"{r['action']} on {r['resource']}" for r in reqs
               if ev["results"][r["id"]].get("result") == "Allowed"]
    assert allowed == []
