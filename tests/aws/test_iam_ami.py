"""IAM, proven offline, for the AMI the build function launches: its role's
policies as terraform/control-plane renders them (tests/support/policies.py),
evaluated by @cloud-copilot/iam-simulate (tests/support/evaluate.mjs).

terraform/aws reads the AMI from a distribution's public SSM parameter
(Debian 13 by default, Amazon Linux 2023 when asked) and RunInstances is
authorized on the image by its owner (ec2:Owner).  Each of the two
statements is shown allowing what the module needs and denying what it does
not: another public parameter, Debian's daily builds, an image of another
owner.  The recorded flows of test_iam.py launch the emulated cloud's Debian
image too; this test names each case on its own and costs one plan."""
import shutil

import pytest

from support import policies
from support import simulate

ACCOUNT = "123456789012"
REGION = "eu-west-1"
DEBIAN = "136693071363"    # Debian's official AMIs' owner (control-plane ami_owners)


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("iam-ami")
    planned = policies.plan(tmp, ACCOUNT, REGION, f"jumpbox-state-{ACCOUNT}", "jumpbox",
                            "backup-vm", ["10.0.0.0/8"])
    shutil.rmtree(tmp, ignore_errors=True)
    rendered = policies.Rendered(planned)
    role = rendered.after["aws_iam_role.build"]["name"]
    return {"build": {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/build",
                      "policies": rendered.roles()[role]["policies"]}, "role": role}



def request(i, build, action, resource, context=None):
    return {"id": f"r{i}", "principal": "build", "action": action, "resource": resource,
            "context": {"aws:SecureTransport": "true", "aws:RequestedRegion": REGION,
                        "aws:PrincipalAccount": ACCOUNT,
                        "aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/{build['role']}",
                        **(context or {})}}


def parameter(name):
    # As tests/support/iam_requests.py maps a recorded GetParameter: the
    # public parameter under the caller's account (the simulator needs one).
    return f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}"


PARAMETERS = [
    ("/aws/service/debian/release/13/latest/arm64", True),
    ("/aws/service/debian/release/13/latest/amd64", True),
    ("/aws/service/debian/release/13/20250814-2204/arm64", True),   # a dated release
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64", True),
    ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64", True),
    ("/aws/service/some-other/release/13/latest/arm64", False),
    ("/aws/service/debian/daily/13/latest/arm64", False),
    ("/aws/service/debian/release/12/latest/arm64", False),
    ("/jumpbox/secret", False),
]

IMAGES = [
    (DEBIAN, True),
    ("amazon", True),
    ("111122223333", False),
    ("aws-marketplace", False),
]


def judge(ev, cases):
    failures = []
    for r, what, allow in cases:
        res = ev["results"][r["id"]]
        got = res.get("result") == "Allowed"
        if res.get("error") or got != allow:
            failures.append(f"{r['action']} {what}: {res.get('result') or res.get('error')} "
                            f"({simulate.deciding(res)}), wanted "
                            f"{'Allowed' if allow else 'denied'}")
    return failures


def test_the_ami_parameters_the_module_reads_and_no_other(build):
    cases = []
    for i, (name, allow) in enumerate(PARAMETERS):
        for j, action in enumerate(("ssm:GetParameter", "ssm:GetParameters")):
            cases.append((request(f"{i}.{j}", build, action, parameter(name)), name, allow))
    ev = simulate.evaluate(ACCOUNT, {"build": build["build"]}, [], [r for r, _, _ in cases])
    failures = judge(ev, cases)
    assert failures == [], "\n".join(failures)
    for r, _, allow in cases:
        if allow:
            assert simulate.deciding(ev["results"][r["id"]]).endswith(":AmiParameter")


def test_run_instances_from_debian_or_amazon_images_only(build):
    image = f"arn:aws:ec2:{REGION}::image/ami-0123456789abcdef0"
    cases = [(request(i, build, "ec2:RunInstances", image,
                      {"ec2:Owner": owner, "ec2:ImageID": "ami-0123456789abcdef0",
                       "ec2:ImageType": "machine", "ec2:Public": "true",
                       "ec2:RootDeviceType": "ebs"}), f"from an image of {owner}", allow)
             for i, (owner, allow) in enumerate(IMAGES)]
    ev = simulate.evaluate(ACCOUNT, {"build": build["build"]}, [], [r for r, _, _ in cases])
    failures = judge(ev, cases)
    assert failures == [], "\n".join(failures)
    for r, _, allow in cases:
        if allow:
            assert simulate.deciding(ev["results"][r["id"]]).endswith(":RunFromOwnersImage")
