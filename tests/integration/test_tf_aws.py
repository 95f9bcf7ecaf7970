"""terraform/aws: init from the offline mirror, validate, and plan with the
real AWS provider against an unused loopback port (any API call would fail
the plan), then the plan JSON is checked for what the module promises."""
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from support import tf_offline as tfo

FAKE_IDS = {
    "ami_id": "ami-0123456789abcdef0",
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_id": "subnet-0123456789abcdef0",
}


def write_root(tmp, inputs, secrets="files", **extra):
    """A root module calling terraform/aws.  secrets="files": read with file()
    from 0600 files (nothing secret in the plan); "variables": sensitive root
    variables, as the provisioner's main.tf.json wires them."""
    tmp = Path(tmp)
    args = {k: v for k, v in inputs.items() if k != "host_private_key_text"}
    args.update(FAKE_IDS)
    args.update(extra)
    body = "\n".join(f"  {k} = {tfo.hcl(v)}" for k, v in args.items())
    if secrets == "files":
        wiring, decls = ('  host_private_key = file("host_private_key")\n'
                         '  teardown_token   = file("teardown_token")\n'), ""
    else:
        wiring = ("  host_private_key = var.host_private_key\n"
                  "  teardown_token   = var.teardown_token\n")
        decls = "".join(f'variable "{v}" {{\n  type      = string\n  sensitive = true\n}}\n'
                        for v in ("host_private_key", "teardown_token"))
        (tmp / "secrets.tfvars.json").write_text(json.dumps({
            "host_private_key": inputs["host_private_key_text"],
            "teardown_token": tfo.TOKEN}))
        (tmp / "secrets.tfvars.json").chmod(0o600)
    outs = "".join(f'output "{o}" {{\n  value = module.box.{o}\n}}\n'
                   for o in ("host", "port", "user", "instance_id"))
    (tmp / "main.tf").write_text(f"""{tfo.provider_block()}
{decls}
module "box" {{
  source = {tfo.hcl(tfo.rel(tfo.ROOT / "terraform" / "aws", tmp))}
{body}
{wiring}}}
{outs}""")


def plan(tmp, inputs, secrets="files", **extra):
    write_root(tmp, inputs, secrets, **extra)
    tfo.init(tmp)
    varfile = ["-var-file=secrets.tfvars.json"] if secrets == "variables" else []
    return tfo.plan_json(tmp, varfile)


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tf-aws")
    inputs = tfo.box_inputs(tmp)
    write_root(tmp, inputs)
    tfo.init(tmp)
    tfo.tf(["validate", "-no-color"], tmp)
    p, raw = tfo.plan_json(tmp)
    yield {"tmp": tmp, "inputs": inputs, "plan": p, "raw": raw}
    shutil.rmtree(tmp, ignore_errors=True)  # its keys, token and .terraform


def one(plan, rtype):
    (v,) = tfo.resources(plan, rtype).values()
    return v


def tags_ok(tags, inputs):
    return (tags.get("jumpbox:stack") == inputs["stack_id"]
            and tags.get("jumpbox:requester") == inputs["requester"]
            and tags.get("jumpbox:expires-at") == inputs["expires_at"])


def test_plan_makes_the_promised_resources(planned):
    types = sorted(rc["type"] for rc in planned["plan"]["resource_changes"])
    assert types == ["aws_instance", "aws_security_group",
                     "aws_vpc_security_group_egress_rule", "aws_vpc_security_group_ingress_rule"]
    assert all(rc["change"]["actions"] == ["create"] for rc in planned["plan"]["resource_changes"])
    assert set(planned["plan"]["output_changes"]) == {"host", "port", "user", "instance_id"}
    assert planned["plan"]["output_changes"]["port"]["after"] == 22
    assert planned["plan"]["output_changes"]["user"]["after"] == "jump"


def test_ssh_is_the_only_ingress_and_only_from_the_cidr(planned):
    plan, inputs = planned["plan"], planned["inputs"]
    (rule,) = tfo.resources(plan, "aws_vpc_security_group_ingress_rule").values()
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 22, 22)
    assert rule["cidr_ipv4"] == inputs["allow_cidr"] and rule["cidr_ipv6"] is None
    assert rule.get("referenced_security_group_id") is None and rule.get("prefix_list_id") is None
    sg = one(plan, "aws_security_group")
    assert not sg.get("ingress")  # no inline rules beside the rule resource
    for r in tfo.resources(plan, "aws_vpc_security_group_ingress_rule").values():
        assert r["cidr_ipv4"] not in ("0.0.0.0/0",) and r["cidr_ipv6"] not in ("::/0",)
    (egress,) = tfo.resources(plan, "aws_vpc_security_group_egress_rule").values()
    assert egress["ip_protocol"] == "tcp"


def test_instance_hardening(planned):
    inst = one(planned["plan"], "aws_instance")
    (md,) = inst["metadata_options"]
    assert md["http_tokens"] == "required"
    assert md["http_put_response_hop_limit"] == 1
    assert md["http_endpoint"] == "enabled"
    assert inst["instance_initiated_shutdown_behavior"] == "terminate"
    (root,) = inst["root_block_device"]
    assert root["encrypted"] is True and root["delete_on_termination"] is True
    assert inst["associate_public_ip_address"] is False
    assert inst["ami"] == FAKE_IDS["ami_id"]
    assert inst["iam_instance_profile"] == "jumpbox-box"  # control-plane's default name
    assert inst["user_data_replace_on_change"] is True
    assert inst.get("user_data_base64") is None


def test_every_resource_is_tagged(planned):
    plan, inputs = planned["plan"], planned["inputs"]
    for rc in plan["resource_changes"]:
        assert tags_ok(rc["change"]["after"]["tags"], inputs), rc["address"]
    assert tags_ok(one(plan, "aws_instance")["volume_tags"], inputs)


def test_user_data_is_only_a_hash_of_the_rendered_cloud_config(planned, tmp_path):
    # The provider keeps SHA-1(user_data), not the text: compare it with the
    # cloud-config userdata/ renders from the same inputs.
    for f in ("host_private_key", "teardown_token"):
        (tmp_path / f).write_text((planned["tmp"] / f).read_text())
    # state_url as the module passes it: the box ships its sshd log there.
    text = tfo.render_userdata(tmp_path, planned["inputs"],
                               state_url=planned["inputs"]["state_url"])
    inst = one(planned["plan"], "aws_instance")
    assert inst["user_data"] == hashlib.sha1(text.encode()).hexdigest()


def test_no_secret_in_the_plan(planned):
    plan, raw = planned["plan"], planned["raw"]
    needles = tfo.secret_needles(planned["inputs"]["host_private_key_text"]) + [tfo.TOKEN]
    for n in needles:
        assert tfo.paths_containing(plan, n) == [], n
        # Nor in the prior state or the configuration a saved plan carries.
        for name, data in raw.items():
            if name != "tfplan":
                assert n.encode() not in data, (n, name)
    # The saved plan's own changes do hold it, once: SDKv2 providers keep the
    # pre-StateFunc user_data in the change's planned private data
    # ("_new_extra_shim") for apply.  Hence the provisioner never saves a plan.
    tfplan = raw["tfplan"]
    assert b"_new_extra_shim" in tfplan
    for n in needles:
        assert tfplan.count(n.encode()) == 1, n


def test_secrets_as_root_variables_show_only_as_those_variables(tmp_path):
    # How Terraform itself behaves, and why the provisioner must never save a
    # plan: a saved plan carries root variable values (sensitive or not);
    # resources, planned values and state see only the user_data hash.
    inputs = tfo.box_inputs(tmp_path)
    p, _ = plan(tmp_path, inputs, secrets="variables")
    leaks = set()
    for n in tfo.secret_needles(inputs["host_private_key_text"]) + [tfo.TOKEN]:
        leaks |= set(tfo.paths_containing(p, n))
    assert leaks == {"/variables/host_private_key/value", "/variables/teardown_token/value"}


def test_any_cidr_is_refused_unless_asked_for(tmp_path):
    inputs = tfo.box_inputs(tmp_path)
    for cidr in ("0.0.0.0/0", "::/0"):
        write_root(tmp_path, dict(inputs, allow_cidr=cidr))
        tfo.init(tmp_path)
        cp = tfo.tf(["plan", "-input=false", "-no-color"], tmp_path, check=False)
        assert cp.returncode != 0
        assert "opens SSH to the whole Internet" in cp.stderr, cp.stderr
    p, _ = plan(tmp_path, dict(inputs, allow_cidr="::/0"), allow_any_cidr=True)
    (rule,) = tfo.resources(p, "aws_vpc_security_group_ingress_rule").values()
    assert rule["cidr_ipv6"] == "::/0" and rule["cidr_ipv4"] is None


def test_public_ip_only_when_asked(tmp_path):
    inputs = tfo.box_inputs(tmp_path)
    p, _ = plan(tmp_path, inputs, associate_public_ip=True, ssh_port=2222)
    inst = one(p, "aws_instance")
    assert inst["associate_public_ip_address"] is True
    (rule,) = tfo.resources(p, "aws_vpc_security_group_ingress_rule").values()
    assert (rule["from_port"], rule["to_port"]) == (2222, 2222)


def test_modules_are_terraform_fmt_clean(tmp_path):
    for d in ("terraform/aws", "terraform/control-plane", "terraform/examples/step-functions",
              "userdata"):
        cp = tfo.tf(["fmt", "-check", "-diff", "-no-color", str(tfo.ROOT / d)], tmp_path,
                    check=False)
        assert cp.returncode == 0, f"{d}: run terraform fmt\n{cp.stdout}"
