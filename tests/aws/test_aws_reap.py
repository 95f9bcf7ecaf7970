"""The reaper on the emulated cloud: what is tagged as ours in EC2 but has no
lease goes -- and nothing of a live stack, of another state or of no stack of
ours.  Orphans are made cheaply with botocore, tagged as terraform/aws tags;
one real create stands for the live stack whose lease and state are then
lost behind our back."""
import datetime
import json

from support.awsflow import CLEAN
from support.emulated_cloud import BUCKET, INSTANCE_PROFILE, PREFIX, STATE_URL
from support.jbtest import bin_path, run
from support.matrix import MATRIX

LONG_AGO = "2020-01-01T00:00:00Z"


def rfc3339(minutes_from_now):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes_from_now)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def tags(stack, expires=LONG_AGO, state=STATE_URL, **extra):
    """The tags terraform/aws puts on everything (None leaves one out)."""
    t = {"Name": f"jumpbox-{stack}", "jumpbox:stack": stack, "jumpbox:requester": "test",
         "jumpbox:expires-at": expires, "jumpbox:state": state, **extra}
    return [{"Key": k, "Value": v} for k, v in t.items() if v is not None]


class Ec2:
    """Resources made directly with botocore, as if by a create whose lease
    and state were then lost."""

    def __init__(self, aws):
        self.aws = aws
        self.ec2 = aws.cloud.client("ec2")
        self.ami = self.ec2.describe_images()["Images"][0]["ImageId"]
        self.vpc = self.ec2.describe_vpcs(
            Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]

    def group(self, name, tag_list=None):
        spec = [{"ResourceType": "security-group", "Tags": tag_list}] if tag_list else []
        gid = self.ec2.create_security_group(GroupName=name, Description="test", VpcId=self.vpc,
                                             TagSpecifications=spec)["GroupId"]
        self.ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
            "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        return gid

    def instance(self, tag_list=None, group=None, profile=INSTANCE_PROFILE):
        """One instance, one reservation, with the box's instance profile
        unless told otherwise.  Tagged only once the stand-in has been told
        to leave it alone: it has no user data to boot from."""
        kw = {"SecurityGroupIds": [group]} if group else {}
        if profile:
            kw["IamInstanceProfile"] = {"Name": profile}
        iid = self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1,
                                     **kw)["Instances"][0]["InstanceId"]
        if tag_list:
            self.aws.standin.ignore.add(iid)
            self.ec2.create_tags(Resources=[iid], Tags=tag_list)
        return iid

    def stack(self, stack, **kw):
        """A group and an instance in it, as terraform/aws makes them."""
        gid = self.group(f"jumpbox-{stack}", tags(stack, **kw))
        return self.instance(tags(stack, **kw), gid), gid

    def profile(self, name):
        """Another instance profile of the account (its role of the same name)."""
        iam = self.aws.cloud.client("iam")
        if name not in {p["InstanceProfileName"] for p in
                        iam.list_instance_profiles()["InstanceProfiles"]}:
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": "ec2.amazonaws.com"}}]}))
            iam.create_instance_profile(InstanceProfileName=name)
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]

    def instance_states(self):
        out = {}
        for page in self.ec2.get_paginator("describe_instances").paginate():
            for r in page["Reservations"]:
                for i in r["Instances"]:
                    out[i["InstanceId"]] = i["State"]["Name"]
        return out

    def group_ids(self):
        return {g["GroupId"] for g in self.ec2.describe_security_groups()["SecurityGroups"]}

    def remove(self, instances, groups):
        """What a test leaves on purpose, taken away so the fixture's
        nothing-left check holds."""
        if instances:
            self.ec2.terminate_instances(InstanceIds=list(instances))
            self.aws.wait_for("test instances to terminate", lambda: all(
                self.instance_states()[i] == "terminated" for i in instances), timeout=60)
        for g in groups:
            self.ec2.delete_security_group(GroupId=g)


def by_id(report):
    return {r["id"]: r for r in report["resources"]}


def audit(aws):
    path = aws.work / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def ec2_actions(aws, *actions):
    return [c for c in aws.cloud.calls() if c["service"] == "ec2" and c["action"] in actions]


def test_reap_takes_exactly_the_orphans_and_dry_run_takes_nothing(aws):
    e = Ec2(aws)
    # Six orphan stacks, each an instance in its group: more than one page of
    # both listings at JUMPBOX_REAP_PAGE_SIZE=5 (one reservation each).
    orphans = {f"lost-{n}": e.stack(f"lost-{n}") for n in range(6)}
    lone_group = e.group("jumpbox-lost-g", tags("lost-g"))          # a group on its own
    kept = {
        "not_expired": e.stack("fresh", expires=rfc3339(-5)),        # within the 10m grace
        "no_expiry": e.stack("noexp", expires=None),
        "other_state": e.stack("elsewhere", state="s3://another-state/stacks"),
        "no_state_tag": e.stack("stateless", state=None),
        "bad_stack_tag": e.stack("Not_A-Stack"),
    }
    garbled = e.instance(tags("garbled", expires="soon"))            # unparseable expiry
    foreign_group = e.group("not-ours")
    foreign = e.instance(group=foreign_group)                        # no tags of ours at all
    ours = {i for pair in orphans.values() for i in pair} | {lone_group}

    before = (e.instance_states(), e.group_ids())
    aws.cloud.calls(clear=True)
    dry = aws.reap("--dry-run", JUMPBOX_REAP_PAGE_SIZE="5")
    assert dry["dry_run"] is True and dry["reaped"] == 0 and dry["failed"] == 0
    assert {i for i, r in by_id(dry).items() if r["result"] == "would_reap"} == ours
    assert (e.instance_states(), e.group_ids()) == before
    assert ec2_actions(aws, "TerminateInstances", "DeleteSecurityGroup") == []
    assert audit(aws) == []

    aws.cloud.settings(shutdown_seconds=3)   # terminating takes a while, as on AWS
    aws.cloud.calls(clear=True)
    res = aws.reap(JUMPBOX_REAP_PAGE_SIZE="5")
    got = by_id(res)
    assert {i for i, r in got.items() if r["result"] == "reaped"} == ours, res
    assert res["failed"] == 0 and res["reaped"] == len(ours) == 13
    for reason, (iid, gid) in kept.items():
        assert got[iid]["result"] == got[gid]["result"] == "skipped"
        assert got[iid]["reason"] == got[gid]["reason"] == reason
    assert got[garbled]["reason"] == "no_expiry"
    assert foreign not in got and foreign_group not in got
    assert res["found"] == len(ours) + 2 * len(kept) + 1
    assert got[orphans["lost-0"][0]]["state"] == "terminated"

    # Exactly the orphans are gone.
    states = e.instance_states()
    assert {i for i, s in states.items() if s == "terminated"} == \
        {i for i, _ in orphans.values()}
    assert e.group_ids() & ours == set()
    assert {g for _, g in kept.values()} | {foreign_group} <= e.group_ids()
    # Every listing was read to its end, and each group went only once its
    # instance was terminated (moto now refuses it before: DependencyViolation).
    # (The stand-in lists too, without MaxResults.)
    listings = ec2_actions(aws, "DescribeInstances", "DescribeSecurityGroups")
    for action in ("DescribeInstances", "DescribeSecurityGroups"):
        pages = [c["params"] for c in listings if c["action"] == action and
                 c["params"].get("Filter.1.Value.1") == "jumpbox:stack" and
                 c["params"].get("MaxResults") == "5"]
        assert len(pages) >= 2 and "NextToken" not in pages[0], (action, pages)
        assert all("NextToken" in p for p in pages[1:]), (action, pages)
    calls = ec2_actions(aws, "TerminateInstances", "DescribeInstances", "DeleteSecurityGroup")
    last_terminate = max(n for n, c in enumerate(calls) if c["action"] == "TerminateInstances")
    first_delete = min(n for n, c in enumerate(calls) if c["action"] == "DeleteSecurityGroup")
    waits = [c for c in calls[last_terminate:first_delete] if c["action"] == "DescribeInstances"
             and c["params"].get("Filter.1.Name") == "instance-id"]
    assert waits, calls
    # One audit line per resource taken.
    lines = audit(aws)
    assert sorted((a["event"], a["resource"]) for a in lines) == sorted(
        [("reap.terminated", i) for i, _ in orphans.values()] +
        [("reap.deleted", g) for _, g in orphans.values()] + [("reap.deleted", lone_group)])
    assert {a["stack_id"] for a in lines} == set(orphans) | {"lost-g"}

    # A second run finds nothing more to take.
    again = aws.reap()
    assert again["reaped"] == 0 and again["failed"] == 0
    e.remove([i for i, _ in kept.values()] + [garbled, foreign],
             [g for _, g in kept.values()] + [foreign_group])


def test_tags_alone_do_not_make_an_instance_or_a_group_ours(aws):
    """Anyone with ec2:CreateTags can tag anything as an expired stack of
    this state: the reaper takes an instance only when it runs with the box's
    instance profile, and a group only when it is named jumpbox-STACK."""
    e = Ec2(aws)
    admin = e.profile("admin")
    box, box_group = e.stack("lost")                                  # ours: the control
    other = e.instance(tags("hijack-a"), profile="admin")             # someone's server
    bare = e.instance(tags("hijack-b"), profile=None)
    db = e.group("db-servers", tags("hijack-c"))                      # someone's group
    got = by_id(aws.reap("--dry-run"))
    assert got[box]["result"] == got[box_group]["result"] == "would_reap"
    assert (got[other].get("reason"), got[bare].get("reason"), got[db].get("reason")) == \
        ("other_profile", "no_profile", "other_name"), got
    assert got[box]["instance_profile"].endswith(f":instance-profile/{INSTANCE_PROFILE}")
    assert got[other]["instance_profile"] == admin
    # The box's profile is a setting: by its ARN on the command line, by its
    # name in the environment.
    got = by_id(aws.reap("--dry-run", "--box-profile", admin))
    assert (got[other]["result"], got[box]["reason"]) == ("would_reap", "other_profile")
    got = by_id(aws.reap("--dry-run", JUMPBOX_BOX_INSTANCE_PROFILE="admin"))
    assert (got[other]["result"], got[box]["reason"]) == ("would_reap", "other_profile")

    aws.cloud.settings(shutdown_seconds=1)
    res = aws.reap()
    assert {i for i, r in by_id(res).items() if r["result"] == "reaped"} == {box, box_group}
    states = e.instance_states()
    assert states[other] == states[bare] == "running" and db in e.group_ids()
    e.remove([other, bare], [db])


def test_a_live_stack_is_never_reaped_until_its_lease_and_state_are_lost(aws):
    res = aws.create("--stack-id", "live")
    e = Ec2(aws)
    (gid,) = aws.cloud.security_groups()
    iid = res["instance_id"]
    # Long expired by its tags, yet it has a lease: the sweeper's, not ours.
    e.ec2.create_tags(Resources=[iid, gid], Tags=[{"Key": "jumpbox:expires-at",
                                                   "Value": LONG_AGO}])
    got = by_id(aws.reap("--grace", "0"))
    assert got[iid]["reason"] == got[gid]["reason"] == "leased"
    assert aws.cloud.leftovers("live") != []

    # The lease and the Terraform state deleted behind our back.
    s3 = aws.cloud.client("s3")
    objs = aws.cloud.state_objects("live")
    assert {k for k, _ in objs} >= {f"{PREFIX}/live/lease.json", f"{PREFIX}/live/terraform.tfstate"}
    for key, version in objs:
        s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version)
    assert aws.leases() == []
    aws.cloud.settings(shutdown_seconds=3)
    reaped = aws.reap()
    got = by_id(reaped)
    assert got[iid]["result"] == got[gid]["result"] == "reaped", reaped
    left = aws.cloud.leftovers()
    MATRIX.append(("state", "lease and state lost (S3 objects deleted)",
                   f"cleaner reap: {reaped['reaped']} reaped", len(left)))
    assert left == []
    aws.wait_for("the box's sshd to go", lambda: not aws.standin.boxes)


def test_the_clean_function_reaps_after_its_sweep(aws):
    h = aws.start_harness()
    e = Ec2(aws)
    iid, gid = e.stack("lost")
    fresh = e.stack("fresh", expires=rfc3339(-1))
    from support.lambda_util import boto_lambda, invoke

    body, ferr = invoke(boto_lambda(h), CLEAN, b'{"action":"reap","dry_run":true}')
    assert ferr is None, body
    dry = json.loads(body)
    assert dry["dry_run"] is True and by_id(dry)[iid]["result"] == "would_reap"
    assert e.instance_states()[iid] == "running"

    body, ferr = invoke(boto_lambda(h), CLEAN, b'{"action":"sweep"}')
    assert ferr is None, body
    res = json.loads(body)
    assert res["stacks"] == [] and res["failed"] == 0   # no lease to sweep ...
    got = by_id(res["reap"])                             # ... then the reap
    assert got[iid]["result"] == got[gid]["result"] == "reaped", res
    assert got[fresh[0]]["reason"] == "not_expired"
    assert e.instance_states()[iid] == "terminated" and gid not in e.group_ids()
    # The function's audit lines go to its log (JUMPBOX_AUDIT_LOG=-).
    log = (aws.tmp / f"{CLEAN}.log").read_text()
    assert '"event":"reap.terminated"' in log and '"event":"reap.deleted"' in log

    body, ferr = invoke(boto_lambda(h), CLEAN, b'{"action":"reap","stack_id":"lost"}')
    assert ferr == "Unhandled" and b"stack_id: not used by reap" in body
    e.remove([fresh[0]], [fresh[1]])


def test_what_cannot_be_reaped_is_reported_and_the_next_run_finishes_it(aws):
    e = Ec2(aws)
    iid, gid = e.stack("stuck")
    # EC2 refuses to terminate: the instance fails, its group is not tried.
    aws.cloud.faults([{"service": "ec2", "action": "TerminateInstances", "status": 403,
                       "code": "UnauthorizedOperation"}])
    aws.cloud.calls(clear=True)
    cp = aws.reap(check=1)
    got = by_id(json.loads(cp.stdout))
    assert got[iid]["result"] == "failed" and "UnauthorizedOperation" in got[iid]["error"]
    assert got[gid]["result"] == "failed" and "not terminated" in got[gid]["error"]
    assert ec2_actions(aws, "DeleteSecurityGroup") == []
    assert [a["event"] for a in audit(aws)] == ["reap.failed", "reap.failed"]
    # EC2 not answering the listing: exit 1, nothing done.
    aws.cloud.faults([{"service": "ec2", "action": "DescribeSecurityGroups", "status": 503,
                       "code": "RequestLimitExceeded"}])
    cp = aws.reap(check=1)
    assert cp.stdout == "" and "RequestLimitExceeded" in cp.stderr
    aws.cloud.faults([])
    res = aws.reap()
    assert {r["result"] for r in res["resources"]} == {"reaped"}
    assert aws.cloud.leftovers() == []


def test_bad_input_is_refused_before_anything_is_asked(aws):
    aws.cloud.calls(clear=True)
    for args, env, field in [
        (["--grace", "soon"], {}, "--grace"),
        (["--grace", "25h"], {}, "--grace"),
        (["--state", "ftp://x"], {}, "--state"),
        (["--stack-id", "x"], {}, "--stack-id"),
        ([], {"JUMPBOX_REAP_GRACE": "-1m"}, "JUMPBOX_REAP_GRACE"),
        ([], {"JUMPBOX_REAP_PAGE_SIZE": "4"}, "JUMPBOX_REAP_PAGE_SIZE"),
        (["--box-profile", "jumpbox box"], {}, "--box-profile"),
        (["--box-profile", "arn:aws:iam::123456789012:role/jumpbox-box"], {}, "--box-profile"),
        ([], {"JUMPBOX_BOX_INSTANCE_PROFILE": "arn:aws:iam::1234:instance-profile/x"},
         "JUMPBOX_BOX_INSTANCE_PROFILE"),
        ([], {"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "AWS_REGION"),
    ]:
        cp = run([bin_path("cleaner"), "reap", *args], env=dict(aws.cli, **env), check=2)
        assert cp.stdout == "" and field in cp.stderr, (args, cp.stderr)
        assert len(cp.stderr.strip().splitlines()) == 1
    # Not a call to S3, nor one of ours to EC2 (the stand-in's, without
    # MaxResults, go on).
    assert [c for c in aws.cloud.calls() if c["service"] == "s3" or
            "MaxResults" in c["params"]] == []
