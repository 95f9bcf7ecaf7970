"""terraform/aws: init from the offline mirror, validate, and plan with the
real AWS provider against an unused loopback port (any API call would fail
the plan), then the plan JSON is checked for what the module promises."""
import hashlib
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support import tf_offline as tfo

FAKE_IDS = {
    "ami_id": "ami-0123456789abcdef0",
    "vpc_id": "vpc-0123456789abcdef0",
    "subnet_id": "subnet-0123456789abcdef0",
}


def write_root(tmp, inputs, **extra):
    """A root module calling terraform/aws.  Nothing secret goes in: the box
    makes its own host key and teardown token."""
    tmp = Path(tmp)
    args = dict(inputs)
    args.update(FAKE_IDS)
    args.update(extra)
    body = "\n".join(f"  {k} = {tfo.hcl(v)}" for k, v in args.items() if v is not None)
    outs = "".join(f'output "{o}" {{\n  value = module.box.{o}\n}}\n'
                   for o in ("host", "port", "user", "instance_id"))
    (tmp / "main.tf").write_text(f"""{tfo.provider_block()}
module "box" {{
  source = {tfo.hcl(tfo.rel(tfo.ROOT / "terraform" / "aws", tmp))}
{body}
}}
{outs}""")


def plan(tmp, inputs, **extra):
    write_root(tmp, inputs, **extra)
    tfo.init(tmp)
    return tfo.plan_json(tmp)


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tf-aws")
    inputs = tfo.box_inputs(tmp)
    write_root(tmp, inputs)
    tfo.init(tmp)
    tfo.tf(["validate", "-no-color"], tmp)
    p, raw = tfo.plan_json(tmp)
    yield {"tmp": tmp, "inputs": inputs, "plan": p, "raw": raw}
    shutil.rmtree(tmp, ignore_errors=True)  # its keys and .terraform


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
    # cloud-config userdata/ renders from the same inputs (box_role_id and
    # state_url among them: the box's prefix).
    text = tfo.render_userdata(tmp_path, planned["inputs"])
    assert f"JUMPBOX_BOX_ROLE_ID={tfo.BOX_ROLE_ID}" in text
    inst = one(planned["plan"], "aws_instance")
    assert inst["user_data"] == hashlib.sha1(text.encode()).hexdigest()


def test_the_module_takes_no_host_key_or_token(planned):
    """The box makes both: the module has no input for either, and the
    user data it plans holds neither (userdata's tests scan the text)."""
    variables = {v for v in planned["plan"]["configuration"]["root_module"]["module_calls"]
                 ["box"]["module"]["variables"]}
    assert {"host_private_key", "host_public_key", "teardown_token"} & variables == set()
    assert "box_role_id" in variables
    assert tfo.paths_containing(planned["plan"], "PRIVATE KEY") == []


def test_box_role_id_is_required_and_checked_and_the_state_must_be_s3(tmp_path):
    """Refused before any call: no box_role_id, a malformed one, a state the
    box cannot publish to.  A root calling the module once per case; one
    plan per stage at which Terraform stops (a missing argument, the
    module's own variables, then userdata's, which checks state_url)."""
    inputs = dict(tfo.box_inputs(tmp_path), **FAKE_IDS)
    src = tfo.hcl(tfo.rel(tfo.ROOT / "terraform" / "aws", tmp_path))
    cases = {"no_role": ({"box_role_id": None}, 'The argument "box_role_id" is required'),
             "bad_role": ({"box_role_id": "aroa-not-an-id"},
                          "box_role_id must be the box role's unique id"),
             "file_state": ({"state_url": "file:///var/lib/jumpbox"},
                            "state_url must be s3://BUCKET[/PREFIX]"),
             "no_state": ({"state_url": None}, "state_url must be s3://BUCKET[/PREFIX]")}

    def root(names):
        blocks = []
        for name in names:
            args = dict(inputs, **cases[name][0])
            body = "\n".join(f"  {k} = {tfo.hcl(v)}" for k, v in args.items() if v is not None)
            blocks.append(f'module "{name}" {{\n  source = {src}\n{body}\n}}\n')
        (tmp_path / "main.tf").write_text(tfo.provider_block() + "\n".join(blocks))

    root(cases)
    tfo.init(tmp_path)
    for names in (["no_role"], ["bad_role"], ["file_state", "no_state"]):
        root(names)
        cp = tfo.tf(["plan", "-input=false", "-no-color"], tmp_path, check=False)
        err = " ".join(cp.stderr.split())
        assert cp.returncode != 0
        for name in names:
            assert cases[name][1] in err, (name, cp.stderr)
        assert err.count("Error: ") == len(names), cp.stderr


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


# ---- which AMI: the distribution's public SSM parameter ----------------------

DEBIAN = "/aws/service/debian/release/13/latest/"
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-"
# What the SSM stand-in answers: one made-up image per parameter.
PARAMETERS = {DEBIAN + "arm64": "ami-0de0000000000a064", DEBIAN + "amd64": "ami-0de0000000000d064",
              AL2023 + "arm64": "ami-0a1000000000a064", AL2023 + "x86_64": "ami-0a10000000008664",
              "/site/golden-ami": "ami-0901d000000000001"}


class SsmStandIn(ThreadingHTTPServer):
    """SSM's GetParameter (JSON protocol) on 127.0.0.1: the images above, and
    ParameterNotFound, as SSM answers, for any other name.  Records the names
    asked for."""

    def __init__(self):
        self.asked = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                target = self.headers.get("X-Amz-Target", "")
                name = body.get("Name", "")
                server.asked.append((target, name))
                if target == "AmazonSSM.GetParameter" and name in PARAMETERS:
                    status, out = 200, {"Parameter": {
                        "Name": name, "Type": "String", "Value": PARAMETERS[name], "Version": 1,
                        "DataType": "aws:ec2:image",
                        "ARN": f"arn:aws:ssm:eu-west-1::parameter{name}"}}
                else:
                    status, out = 400, {"__type": "ParameterNotFound", "message": name}
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        super().__init__(("127.0.0.1", 0), Handler)
        self.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def ami_root(tmp_path_factory):
    """A root calling terraform/aws once per case (one plan for them all),
    the SSM endpoint the stand-in."""
    tmp = tmp_path_factory.mktemp("tf-aws-ami")
    ssm = SsmStandIn()
    threading.Thread(target=ssm.serve_forever, daemon=True).start()
    inputs = tfo.box_inputs(tmp)

    def write(cases):
        ssm.asked.clear()
        blocks = []
        for name, extra in cases.items():
            args = dict(inputs)
            args.update({k: v for k, v in FAKE_IDS.items() if k != "ami_id"}, **extra)
            body = "\n".join(f"  {k} = {tfo.hcl(v)}" for k, v in args.items())
            blocks.append(f'module "{name}" {{\n'
                          f'  source = {tfo.hcl(tfo.rel(tfo.ROOT / "terraform" / "aws", tmp))}\n'
                          f'{body}\n}}\n')
        (tmp / "main.tf").write_text(tfo.provider_block(endpoints={"ssm": ssm.url})
                                     + "\n".join(blocks))
        tfo.init(tmp)   # the module calls' names; the provider stays

    yield {"tmp": tmp, "ssm": ssm, "write": write}
    ssm.shutdown()
    ssm.server_close()
    shutil.rmtree(tmp, ignore_errors=True)


AMI_CASES = {
    # name: (inputs, parameter read, instance type)
    "default": ({}, DEBIAN + "arm64", "t4g.nano"),
    "amd64": ({"ami_architecture": "amd64"}, DEBIAN + "amd64", "t3.nano"),
    "al2023": ({"ami_os": "al2023"}, AL2023 + "arm64", "t4g.nano"),
    "al2023_amd64": ({"ami_os": "al2023", "ami_architecture": "amd64"}, AL2023 + "x86_64",
                     "t3.nano"),
    # The explicit parameter and instance type win, as before ami_os existed.
    "own_parameter": ({"ami_ssm_parameter": "/site/golden-ami", "instance_type": "t4g.micro"},
                      "/site/golden-ami", "t4g.micro"),
}


def test_the_ami_is_debian_13_unless_asked_and_the_instance_type_follows(ami_root):
    ami_root["write"]({name: inputs for name, (inputs, _, _) in AMI_CASES.items()})
    p, _ = tfo.plan_json(ami_root["tmp"])
    got = {rc["module_address"].split(".", 1)[1]: rc["change"]["after"]
           for rc in p["resource_changes"] if rc["type"] == "aws_instance"}
    for name, (_, parameter, itype) in AMI_CASES.items():
        assert (got[name]["ami"], got[name]["instance_type"]) == \
            (PARAMETERS[parameter], itype), name
    # Each parameter read once, with GetParameter, and no other.
    wanted = sorted({parameter for _, parameter, _ in AMI_CASES.values()})
    assert sorted(n for _, n in ami_root["ssm"].asked) == wanted
    assert {t for t, _ in ami_root["ssm"].asked} == {"AmazonSSM.GetParameter"}


def test_a_bad_architecture_or_os_is_refused_before_any_call(ami_root):
    ami_root["write"]({"arch": {"ami_architecture": "x86_64"}, "os": {"ami_os": "ubuntu"}})
    cp = tfo.tf(["plan", "-input=false", "-no-color"], ami_root["tmp"], check=False)
    assert cp.returncode != 0
    err = " ".join(cp.stderr.split())
    assert 'ami_architecture must be "arm64" or "amd64".' in err, cp.stderr
    assert 'ami_os must be "debian-13" or "al2023".' in err, cp.stderr
    assert "var.ami_architecture" in err and "var.ami_os" in err, cp.stderr
    assert ami_root["ssm"].asked == []
