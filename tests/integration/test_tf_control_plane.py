"""terraform/control-plane: planned offline (a copy of the module plus a test
override that points the provider at an unused loopback port), then the plan
JSON is checked: bucket hardening, the image repository, the functions (one
image pinned by digest) and their environment, the sweep schedule, and least
privilege in every IAM policy.  Planned twice: as the first apply of a
deployment from zero (no image yet: no functions) and with the image."""
import json
import re
import shutil

import pytest

from support import tf_offline as tfo

ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = f"jumpbox-state-{ACCOUNT}-{REGION}"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function"
DIGEST = "sha256:" + "5e" * 32
VARS = [f"-var=region={REGION}", f"-var=account_id={ACCOUNT}",
        '-var=allowed_cidrs=["203.0.113.0/24","198.51.100.0/24"]',
        "-var=backup_vm_role_name=backup-vm"]


@pytest.fixture(scope="module")
def module_copy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("control-plane")
    mod = tmp / "cp"
    shutil.copytree(tfo.ROOT / "terraform" / "control-plane", mod,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (mod / "zz_test_override.tf").write_text(tfo.provider_block(REGION))
    tfo.init(mod)
    tfo.tf(["validate", "-no-color"], mod)
    yield mod
    shutil.rmtree(tmp, ignore_errors=True)  # its .terraform


@pytest.fixture(scope="module")
def planned(module_copy):
    plan, _ = tfo.plan_json(module_copy, [*VARS, f"-var=image_digest={DIGEST}"])
    return plan


@pytest.fixture(scope="module")
def first_apply(module_copy):
    """Deploying from zero, step 1: nothing pushed yet."""
    plan, _ = tfo.plan_json(module_copy, VARS)
    return plan


def test_allowed_targets_reach_the_functions(module_copy):
    plan, _ = tfo.plan_json(module_copy, [
        *VARS, f"-var=image_digest={DIGEST}",
        '-var=allowed_targets=["10.20.0.0/16:873","*.backup.example.com:22"]'])
    # The build function's environment is known only after apply (see
    # known_env); tests/aws/test_control_plane_apply.py shows it is the
    # clean function's plus JUMPBOX_BOX_ROLE_ID.
    env = known_env(plan)["jumpbox-clean"]
    assert env["JUMPBOX_ALLOWED_TARGETS"] == "10.20.0.0/16:873,*.backup.example.com:22"


def known_env(plan):
    """{function name: environment} of the functions whose environment the
    plan knows: the clean function's.  The build function's holds the box
    role's unique id, which AWS assigns, and the provider cannot plan a map
    with one unknown value: the whole map is known after apply."""
    out = {}
    for rc in plan["resource_changes"]:
        if rc["type"] != "aws_lambda_function":
            continue
        after, unknown = rc["change"]["after"], rc["change"]["after_unknown"]
        name = after["function_name"]
        if name == "jumpbox-build":
            assert unknown["environment"] == [{"variables": True}], unknown["environment"]
            continue
        out[name] = after["environment"][0]["variables"]
    assert set(out) == {"jumpbox-clean"}, out
    return out


def by_type(plan, rtype):
    return tfo.resources(plan, rtype)


def one(plan, rtype):
    (v,) = by_type(plan, rtype).values()
    return v


def test_state_bucket_is_private_versioned_encrypted_and_tls_only(planned):
    assert one(planned, "aws_s3_bucket")["bucket"] == BUCKET
    assert one(planned, "aws_s3_bucket")["force_destroy"] is False
    v = one(planned, "aws_s3_bucket_versioning")
    assert v["versioning_configuration"][0]["status"] == "Enabled"
    sse = one(planned, "aws_s3_bucket_server_side_encryption_configuration")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"
    pab = one(planned, "aws_s3_bucket_public_access_block")
    assert all(pab[k] is True for k in ("block_public_acls", "block_public_policy",
                                        "ignore_public_acls", "restrict_public_buckets"))
    rules = {r["id"]: r for r in one(planned, "aws_s3_bucket_lifecycle_configuration")["rule"]}
    assert set(rules) == {"expire-old-versions", "expire-audit-records", "expire-box-records",
                          "expire-deadlines"}
    rule = rules["expire-old-versions"]
    assert rule["status"] == "Enabled"
    assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 30
    pol = json.loads(one(planned, "aws_s3_bucket_policy")["policy"])
    sts = {st["Sid"]: st for st in pol["Statement"]}
    assert set(sts) == {"DenyInsecureTransport", "OnlyTheBoxWritesBoxRecords",
                        "OnlyProvisionersWriteDeadlines"}
    st = sts["DenyInsecureTransport"]
    assert st["Effect"] == "Deny"
    assert st["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(st["Resource"]) == [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]


def test_only_the_box_role_may_write_under_boxes(planned):
    """The bucket policy's half of "nobody plants a host key": a Deny of
    every write under boxes/ to every principal but the box role
    (tests/aws/test_iam.py evaluates it with the roles' policies)."""
    pol = json.loads(one(planned, "aws_s3_bucket_policy")["policy"])
    st = {st["Sid"]: st for st in pol["Statement"]}["OnlyTheBoxWritesBoxRecords"]
    assert st["Effect"] == "Deny" and st["Principal"] == "*"
    assert "s3:PutObject" in as_list(st["Action"])
    assert st["Resource"] == f"arn:aws:s3:::{BUCKET}/stacks/boxes/*"
    # The role the instance profile carries (role/<name>, default path).
    assert st["Condition"] == {"ArnNotEquals": {
        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/jumpbox-box"}}
    assert one(planned, "aws_iam_instance_profile")["role"] == "jumpbox-box"
    assert by_type(planned, "aws_iam_role")["aws_iam_role.box"]["path"] == "/"


WRITERS = [f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Ops_0a1b",
           f"arn:aws:iam::{ACCOUNT}:user/backup-operator"]


def deadline_writers(plan):
    pol = json.loads(one(plan, "aws_s3_bucket_policy")["policy"])
    st = {st["Sid"]: st for st in pol["Statement"]}["OnlyProvisionersWriteDeadlines"]
    assert st["Effect"] == "Deny" and st["Principal"] == "*"
    assert sorted(as_list(st["Action"])) == ["s3:PutObject", "s3:PutObjectAcl",
                                             "s3:PutObjectVersionAcl", "s3:ReplicateObject"]
    assert st["Resource"] == f"arn:aws:s3:::{BUCKET}/stacks/deadlines/*"
    (cond,) = st["Condition"].items()
    assert cond[0] == "ArnNotEquals" and list(cond[1]) == ["aws:PrincipalArn"], cond
    return sorted(as_list(cond[1]["aws:PrincipalArn"]))


def test_only_the_build_role_and_the_named_writers_may_write_deadlines(planned, module_copy):
    """The bucket policy's half of "nobody but the provisioner moves a box's
    deadline" (tests/aws/test_iam.py evaluates it): the build role by
    default, and the CLI's principals only when the operator names them."""
    build = f"arn:aws:iam::{ACCOUNT}:role/jumpbox-build"
    assert deadline_writers(planned) == [build]
    assert by_type(planned, "aws_iam_role")["aws_iam_role.build"]["name"] == "jumpbox-build"
    assert by_type(planned, "aws_iam_role")["aws_iam_role.build"]["path"] == "/"
    plan, _ = tfo.plan_json(module_copy, [*VARS, f"-var=image_digest={DIGEST}",
                                          f"-var=deadline_writer_arns={json.dumps(WRITERS)}"])
    assert deadline_writers(plan) == sorted([build, *WRITERS])
    for bad in (f"arn:aws:iam::{ACCOUNT}:role/*", f"arn:aws:iam::{ACCOUNT}:root",
                f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/me", "*", "ops"):
        cp = tfo.tf(["plan", "-input=false", "-no-color", *VARS,
                     f"-var=deadline_writer_arns={json.dumps([bad])}"], module_copy, check=False)
        assert cp.returncode != 0 and "deadline_writer_arns: each must be" in cp.stderr, \
            (bad, cp.stderr)


RECORD_RULES = {"expire-audit-records": "audit/", "expire-box-records": "boxes/"}


def record_rules(plan):
    return {r["id"]: r for r in one(plan, "aws_s3_bucket_lifecycle_configuration")["rule"]
            if r["id"] in RECORD_RULES}


def test_audit_records_expire_after_their_retention_and_no_earlier(planned, module_copy):
    # The stacks' audit records and what the boxes published (each written
    # once; no function deletes them): both kept audit_retention_days.
    rules = record_rules(planned)
    assert set(rules) == set(RECORD_RULES)
    for rid, rule in rules.items():
        assert rule["status"] == "Enabled"
        assert rule["filter"][0]["prefix"] == "stacks/" + RECORD_RULES[rid]
        assert rule["expiration"][0]["days"] == 365
    # No rule expires a current object but these and the deadlines' (a day
    # after their last write; no box lives longer): the other rules take
    # only noncurrent versions, and a record is never overwritten.
    for r in one(planned, "aws_s3_bucket_lifecycle_configuration")["rule"]:
        if r["id"] == "expire-deadlines":
            assert r["status"] == "Enabled"
            assert r["filter"][0]["prefix"] == "stacks/deadlines/"
            assert r["expiration"][0]["days"] == 1
            assert r["noncurrent_version_expiration"][0]["noncurrent_days"] == 1
        elif r["id"] not in RECORD_RULES:
            assert not r.get("expiration"), r
    plan, _ = tfo.plan_json(module_copy, [*VARS, f"-var=image_digest={DIGEST}",
                                          "-var=audit_retention_days=30",
                                          "-var=state_prefix=team-a"])
    for rid, rule in record_rules(plan).items():
        assert (rule["filter"][0]["prefix"], rule["expiration"][0]["days"]) == \
            ("team-a/" + RECORD_RULES[rid], 30)
    rules = {r["id"]: r for r in one(plan, "aws_s3_bucket_lifecycle_configuration")["rule"]}
    assert rules["expire-deadlines"]["filter"][0]["prefix"] == "team-a/deadlines/"
    for bad in ("0", "1.5"):
        cp = tfo.tf(["plan", "-input=false", "-no-color", *VARS,
                     f"-var=audit_retention_days={bad}"], module_copy, check=False)
        assert cp.returncode != 0 and "audit_retention_days must be" in cp.stderr, cp.stderr


def test_functions_run_one_image_pinned_by_digest(planned):
    fns = {f["function_name"]: f for f in by_type(planned, "aws_lambda_function").values()}
    assert set(fns) == {"jumpbox-build", "jumpbox-clean"}
    envs = known_env(planned)
    entry = {"jumpbox-build": ["/var/task/bin/provisioner"],
             "jumpbox-clean": ["/var/task/bin/cleaner"]}
    for name, f in fns.items():
        assert f["package_type"] == "Image"
        assert not f.get("runtime") and not f.get("layers") and not f.get("filename")
        assert f["image_config"][0]["entry_point"] == entry[name]
        assert f["timeout"] == 900
        assert f["logging_config"][0]["log_group"] == f"/aws/lambda/{f['function_name']}"
        assert f["image_uri"] == (f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/jumpbox@{DIGEST}")
    for name, env in envs.items():
        assert env["JUMPBOX_MODULE"] == "aws"
        assert env["JUMPBOX_STATE"] == f"s3://{BUCKET}/stacks"
        # The reaper's box profile (lib/stack/reap.h): the profile the plan makes.
        assert env["JUMPBOX_BOX_INSTANCE_PROFILE"] == \
            f"arn:aws:iam::{ACCOUNT}:instance-profile/jumpbox-box"
        assert env["JUMPBOX_MAX_TTL"] == "4h"
        assert env["JUMPBOX_ALLOWED_CIDRS"] == "203.0.113.0/24,198.51.100.0/24"
        # No allowed_targets given: requests' permit_open is not bounded.
        assert "JUMPBOX_ALLOWED_TARGETS" not in env
        # Terraform and the provider mirror: the image's own Env says where.
        assert not {"JUMPBOX_TF_PLUGIN_DIR", "JUMPBOX_TERRAFORM"} & set(env)
        # Only the build function looks for what a box published.
        assert "JUMPBOX_BOX_ROLE_ID" not in env
    assert not by_type(planned, "aws_lambda_layer_version")
    for g in by_type(planned, "aws_cloudwatch_log_group").values():
        assert g["retention_in_days"] == 30


def test_repository_immutable_scanned_expiring_pull_only_for_our_functions(planned):
    repo = one(planned, "aws_ecr_repository")
    assert repo["name"] == "jumpbox"
    assert repo["image_tag_mutability"] == "IMMUTABLE"
    assert repo["image_scanning_configuration"] == [{"scan_on_push": True}]
    assert repo["force_delete"] is False
    rules = json.loads(one(planned, "aws_ecr_lifecycle_policy")["policy"])["rules"]
    assert [r["action"]["type"] for r in rules] == ["expire", "expire"]
    keep = rules[-1]["selection"]
    assert keep["tagStatus"] == "any" and keep["countType"] == "imageCountMoreThan"
    assert keep["countNumber"] == 10
    (st,) = json.loads(one(planned, "aws_ecr_repository_policy")["policy"])["Statement"]
    assert st["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(st["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    assert sorted(st["Condition"]["StringEquals"]["aws:SourceArn"]) == [
        f"{FN}:jumpbox-build", f"{FN}:jumpbox-clean"]


def test_first_apply_makes_everything_but_the_functions(first_apply):
    types = {rc["type"] for rc in first_apply["resource_changes"]}
    assert {"aws_ecr_repository", "aws_s3_bucket", "aws_iam_role"} <= types
    assert not types & {"aws_lambda_function", "aws_scheduler_schedule",
                        "aws_lambda_function_event_invoke_config"}


def test_a_bad_digest_is_refused(module_copy):
    cp = tfo.tf(["plan", "-input=false", "-no-color", *VARS, "-var=image_digest=latest"],
                module_copy, check=False)
    assert cp.returncode != 0 and "image_digest must be sha256:" in cp.stderr, cp.stderr


def test_sweep_schedule_invokes_clean(planned):
    s = one(planned, "aws_scheduler_schedule")
    (target,) = s["target"]
    assert json.loads(target["input"]) == {"action": "sweep"}
    assert s["schedule_expression"].startswith("rate(")
    cfg = {r["address"]: r for r in planned["configuration"]["root_module"]["resources"]}
    refs = cfg["aws_scheduler_schedule.sweep"]["expressions"]["target"][0]["arn"]["references"]
    assert by_type(planned, "aws_lambda_function_event_invoke_config")
    assert 'aws_lambda_function.fn["clean"]' in refs


def policies(plan):
    """Every IAM policy document in the plan, by where it is."""
    out = {}
    for rtype, attr in (("aws_iam_role_policy", "policy"), ("aws_iam_policy", "policy"),
                        ("aws_iam_role", "assume_role_policy"),
                        ("aws_s3_bucket_policy", "policy"),
                        ("aws_ecr_repository_policy", "policy")):
        for addr, after in tfo.resources(plan, rtype).items():
            out[f"{addr}.{attr}"] = json.loads(after[attr])
    return out


def as_list(v):
    return v if isinstance(v, list) else [v]


# Actions with no resource type in the Service Authorization Reference: "*"
# is the only resource that can match them.
NO_RESOURCE_TYPE = ("ec2:Describe", "states:SendTask")


def test_every_policy_names_actions_and_resources(planned):
    assert_least_privilege(policies(planned))


def assert_least_privilege(pols):
    assert len(pols) >= 10
    for where, doc in pols.items():
        for st in doc["Statement"]:
            assert "NotAction" not in st and "NotResource" not in st, where
            if st["Effect"] == "Deny":
                continue  # the bucket's TLS-only guard denies s3:* on purpose
            actions = as_list(st["Action"])
            for a in actions:
                assert a != "*" and not a.endswith(":*") and "*" not in a, (where, a)
            if "Principal" in st:  # trust policies name their service
                assert st["Principal"] != "*", where
                continue
            resources = as_list(st["Resource"])
            if "*" in resources:
                # Describe* supports no resource-level permissions (iam.tf).
                assert resources == ["*"], where
                assert all(a.startswith(NO_RESOURCE_TYPE) for a in actions), (where, actions)
                if any(a.startswith("states:") for a in actions):
                    assert st.get("Condition"), (where, "states:* on * needs a condition")
            for r in resources:
                assert r == "*" or r.startswith("arn:aws:"), (where, r)


def statements(plan, address):
    return {st.get("Sid"): st for st in policies(plan)[address]["Statement"]}


def test_box_may_only_invoke_clean_publish_its_own_records_and_read_its_deadline(planned):
    sts = statements(planned, "aws_iam_role_policy.box.policy")
    assert set(sts) == {"InvokeClean", "PublishOwnRecordsOnce", "ReadOwnDeadline"}
    assert sts["InvokeClean"]["Action"] == "lambda:InvokeFunction"
    assert sts["InvokeClean"]["Resource"] == f"{FN}:jumpbox-clean"
    # Its host key, token hash and sshd log under its own session's prefix
    # (the policy variable reaches the policy as such, not interpolated by
    # Terraform), and nothing else of the state.
    pub = sts["PublishOwnRecordsOnce"]
    assert pub["Action"] == "s3:PutObject"
    assert pub["Resource"] == f"arn:aws:s3:::{BUCKET}/stacks/boxes/${{aws:userid}}/*"
    # Each object once, never over one (If-None-Match: *).
    assert pub["Condition"] == {"StringEquals": {"s3:if-none-match": "*"}}
    # Its own deadline object, read only, by the same session id.
    read = sts["ReadOwnDeadline"]
    assert read["Effect"] == "Allow" and read["Action"] == "s3:GetObject"
    assert read["Resource"] == f"arn:aws:s3:::{BUCKET}/stacks/deadlines/${{aws:userid}}.json"
    assert "Condition" not in read
    prof = one(planned, "aws_iam_instance_profile")
    assert prof["name"] == "jumpbox-box"  # terraform/aws's default instance_profile_name


def test_the_box_role_id_reaches_the_build_function_and_the_outputs(planned):
    """JUMPBOX_BOX_ROLE_ID (the build function) and the box_role_id output
    (the CLI user's) are the box role's unique id: known after apply only,
    so the plan shows where they come from (test_control_plane_apply.py
    shows the values)."""
    cfg = planned["configuration"]["root_module"]
    assert "aws_iam_role.box.unique_id" in cfg["outputs"]["box_role_id"]["expression"]["references"]
    assert planned["output_changes"]["box_role_id"]["after_unknown"] is True
    (fn,) = [r for r in cfg["resources"] if r["address"] == "aws_lambda_function.fn"]
    (env,) = fn["expressions"]["environment"]
    assert "aws_iam_role.box.unique_id" in env["variables"]["references"]
    known_env(planned)  # the build function's environment is the one unknown


def test_backup_vm_may_only_invoke_build_and_clean(planned):
    # One statement: no states:SendTask* unless a state machine is named.
    (st,) = statements(planned, "aws_iam_policy.backup_vm.policy").values()
    assert st["Action"] == "lambda:InvokeFunction"
    assert sorted(st["Resource"]) == [f"{FN}:jumpbox-build", f"{FN}:jumpbox-clean"]
    att = one(planned, "aws_iam_role_policy_attachment")
    assert att["role"] == "backup-vm"
    assert "states:" not in json.dumps(policies(planned))


SFN_ARNS = [f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:nightly-backup",
            f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:weekly-backup",
            f"arn:aws:states:us-east-2:{ACCOUNT}:stateMachine:dr-copy"]


def test_backup_vm_reports_step_functions_tasks_only_when_given_a_state_machine(module_copy):
    plan, _ = tfo.plan_json(module_copy, [
        *VARS, f"-var=image_digest={DIGEST}",
        f"-var=step_functions_state_machine_arns={json.dumps(SFN_ARNS)}"])
    sts = statements(plan, "aws_iam_policy.backup_vm.policy")
    assert set(sts) == {"InvokeBuildAndClean", "ReportStepFunctionsTask"}
    st = sts["ReportStepFunctionsTask"]
    assert st["Effect"] == "Allow"
    assert sorted(as_list(st["Action"])) == [
        "states:SendTaskFailure", "states:SendTaskHeartbeat", "states:SendTaskSuccess"]
    # SendTask* has no resource type in the Service Authorization Reference:
    # "*" is the only resource that matches; the regions scope it.
    assert st["Resource"] == "*"
    (cond,) = st["Condition"].items()
    assert cond[0] == "StringEquals"
    assert sorted(cond[1]["aws:RequestedRegion"]) == sorted([REGION, "us-east-2"])
    assert list(cond[1]) == ["aws:RequestedRegion"]
    assert_least_privilege(policies(plan))
    # Nothing else changes: no other policy mentions Step Functions.
    others = {a: p for a, p in policies(plan).items() if a != "aws_iam_policy.backup_vm.policy"}
    assert "states:" not in json.dumps(others)


@pytest.mark.parametrize("arn", ["arn:aws:states:eu-west-1:123456789012:execution:x:y",
                                 "arn:aws:lambda:eu-west-1:123456789012:function:x",
                                 "*", "arn:aws:states:eu-west-1:1234:stateMachine:x"])
def test_state_machine_arns_are_validated(module_copy, arn):
    cp = tfo.tf(["plan", "-input=false", "-no-color", *VARS,
                 f"-var=step_functions_state_machine_arns={json.dumps([arn])}"],
                module_copy, check=False)
    assert cp.returncode != 0
    assert "step_functions_state_machine_arns: each must be" in cp.stderr


def test_build_launches_only_hardened_tagged_boxes(planned):
    sts = statements(planned, "aws_iam_role_policy.build.policy")
    run = sts["RunTaggedInstance"]
    assert run["Condition"]["StringEquals"]["ec2:MetadataHttpTokens"] == "required"
    assert run["Condition"]["NumericLessThanEquals"]["ec2:MetadataHttpPutResponseHopLimit"] == "1"
    assert run["Condition"]["Null"] == {"aws:RequestTag/jumpbox:stack": "false"}
    assert sts["RunEncryptedTaggedVolume"]["Condition"]["Bool"] == {"ec2:Encrypted": "true"}
    assert sts["PassBoxRole"]["Condition"]["StringEquals"] == {
        "iam:PassedToService": "ec2.amazonaws.com"}
    assert sts["TagOnCreate"]["Condition"]["StringEquals"]["ec2:CreateAction"]
    for sid in ("TerminateBoxInstances", "ModifyBoxInstances", "TearDownStateGroups"):
        assert sts[sid]["Condition"]["Null"] == {"aws:ResourceTag/jumpbox:stack": "false"}


def test_clean_cannot_launch_or_pass_roles(planned):
    sts = statements(planned, "aws_iam_role_policy.clean.policy")
    actions = {a for st in sts.values() for a in as_list(st["Action"])}
    assert "ec2:RunInstances" not in actions and "iam:PassRole" not in actions
    assert "ec2:CreateTags" not in actions
    assert {"s3:DeleteObjectVersion", "ec2:TerminateInstances"} <= actions
    # It removes a box's deadline object at destroy (its stacks/* Allow),
    # never writes one: that would move the box's teardown.
    deny = sts["DeadlinesAreTheProvisioners"]
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:PutObject"
    assert deny["Resource"] == f"arn:aws:s3:::{BUCKET}/stacks/deadlines/*"
    assert "DeadlinesAreTheProvisioners" not in statements(
        planned, "aws_iam_role_policy.build.policy")


def test_clean_may_do_what_the_reaper_calls_and_only_on_tagged_resources(planned):
    # The EC2 actions lib/aws/ec2.c sends (the reaper's), read from its source.
    src = (tfo.ROOT / "lib" / "aws" / "ec2.c").read_text()
    called = {a for a in re.findall(r'"((?:Describe|Terminate|Delete|Revoke|Run|Create|'
                                    r'Authorize|Modify)[A-Za-z]+)"', src)
              if not a.endswith("Response")}
    assert called >= {"DescribeInstances", "DescribeSecurityGroups", "TerminateInstances",
                      "DeleteSecurityGroup"}, called
    sts = statements(planned, "aws_iam_role_policy.clean.policy").values()
    for action in sorted(called):
        allowing = [st for st in sts if st["Effect"] == "Allow" and
                    f"ec2:{action}" in as_list(st["Action"])]
        assert allowing, f"the clean role may not ec2:{action}"
        for st in allowing:
            if action.startswith("Describe"):
                continue  # no resource-level permissions (see the test above)
            # Tags are anyone's with ec2:CreateTags: this state's tag too, and
            # on an instance the box's profile, which only the build role passes.
            want = {"Null": {"aws:ResourceTag/jumpbox:stack": "false"},
                    "StringEquals": {"aws:ResourceTag/jumpbox:state": f"s3://{BUCKET}/stacks"}}
            kind = "instance" if action == "TerminateInstances" else "security-group"
            if kind == "instance":
                want["ArnEquals"] = {
                    "ec2:InstanceProfile": f"arn:aws:iam::{ACCOUNT}:instance-profile/jumpbox-box"}
            assert st["Condition"] == want, (action, st)
            assert as_list(st["Resource"]) == [f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/*"], \
                (action, st)
