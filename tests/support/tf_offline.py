"""Terraform with the real AWS provider and no AWS: `init -plugin-dir` from the
offline mirror, and a provider whose every endpoint is an unused loopback port,
so any API call during plan fails loudly instead of reaching anything."""
import functools
import json
import os
import shutil
import socket
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_GLOB = "terraform-provider-aws_*"


def terraform_bin():
    tf = os.environ.get("JUMPBOX_TERRAFORM") or shutil.which("terraform")
    if not tf:
        pytest.skip("terraform not found (install it or set JUMPBOX_TERRAFORM)")
    return tf


@functools.lru_cache(maxsize=None)
def _find_mirror():
    # The mirror root is the directory holding registry.terraform.io/.
    for top in ("/opt", "/usr/local", "/usr/share", "/var", "/root", "/home", "/"):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in
                           ("/proc", "/sys", "/dev", "/run", "/tmp")]
            if any(Path(f).match(PROVIDER_GLOB) for f in filenames):
                parts = Path(dirpath).parts
                if "registry.terraform.io" in parts:
                    return str(Path(*parts[:parts.index("registry.terraform.io")]))
    return None


def plugin_dir():
    d = os.environ.get("JUMPBOX_TF_PLUGIN_DIR") or _find_mirror()
    if not d:
        pytest.skip("no offline hashicorp/aws provider mirror: set JUMPBOX_TF_PLUGIN_DIR")
    return d


def unused_loopback_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


ENDPOINT_SERVICES = ("ec2", "ssm", "sts", "iam", "s3", "lambda", "logs", "scheduler")


def provider_block(region="eu-west-1", endpoints=None):
    """endpoints: {service: URL} of fixtures that answer in place of the
    unused port."""
    url = unused_loopback_url()
    eps = "\n".join(f"    {s} = \"{(endpoints or {}).get(s, url)}\"" for s in ENDPOINT_SERVICES)
    return f"""provider "aws" {{
  region                      = "{region}"
  access_key                  = "AKIDJUMPBOXTEST"
  secret_key                  = "jumpbox-test-not-a-secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {{
{eps}
  }}
}}
"""


def tf_env(workdir):
    """No credentials, profiles or endpoints from the caller's environment."""
    cfg = Path(workdir) / "terraformrc"
    cfg.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update({
        "HOME": str(workdir),
        "TF_CLI_CONFIG_FILE": str(cfg),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": unused_loopback_url(),
    })
    return env


def tf(args, cwd, check=True, timeout=300):
    cp = subprocess.run([terraform_bin(), *args], cwd=cwd, env=tf_env(cwd),
                        capture_output=True, text=True, timeout=timeout)
    if check:
        assert cp.returncode == 0, (f"terraform {' '.join(args)} exited {cp.returncode}\n"
                                    f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
    return cp


def init(cwd, with_plugins=True):
    args = ["init", "-input=false", "-no-color"]
    if with_plugins:
        args.append(f"-plugin-dir={plugin_dir()}")
    tf(args, cwd)


def plan_json(cwd, extra=()):
    """plan -out, then (plan JSON, {entry name: bytes} of the saved plan)."""
    tf(["plan", "-input=false", "-no-color", "-out=plan.bin", *extra], cwd)
    shown = tf(["show", "-json", "plan.bin"], cwd).stdout
    with zipfile.ZipFile(Path(cwd) / "plan.bin") as z:
        raw = {n: z.read(n) for n in z.namelist()}
    return json.loads(shown), raw


def paths_containing(obj, needle, path=""):
    """JSON paths whose string value contains needle."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += paths_containing(v, needle, f"{path}/{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += paths_containing(v, needle, f"{path}/{i}")
    elif isinstance(obj, str) and needle in obj:
        found.append(path)
    return found


def resources(plan, rtype):
    """after-values of the planned changes of one resource type, by address."""
    return {rc["address"]: rc["change"]["after"] for rc in plan["resource_changes"]
            if rc["type"] == rtype and rc["mode"] == "managed"}


def keypair(tmp, name, comment):
    """A real Ed25519 key pair from ssh-keygen: (private text, public line)."""
    path = Path(tmp) / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                    "-f", str(path)], check=True, capture_output=True)
    return path.read_text(), (Path(f"{path}.pub").read_text().strip())


def secret_needles(private_text):
    """The base64 lines of an OpenSSH private key: none may ever show."""
    return [ln for ln in private_text.splitlines() if ln and not ln.startswith("-----")]


def rel(target, start):
    """Terraform resolves ../ in nested module sources only when the caller
    names the module by a relative path (terraform/aws/README.md)."""
    return os.path.relpath(target, start)


# A teardown token as the box's scripts take it (the box makes its own).
TOKEN = "tok-Jumpbox.Test_7fQ2~x"
# A role's unique id as IAM gives it ("AROA" and 17 more).
BOX_ROLE_ID = "AROAJUMPBOXTEST7Q2X4Z9"


def box_inputs(tmp):
    """The common variables of terraform/README.md with a real user key, and
    the aws module's box_role_id.  Nothing secret: the box makes its own host
    key and teardown token."""
    tmp = Path(tmp)
    _, user_pub = keypair(tmp, "user_key", "backup-vm@dc1")
    return {
        "stack_id": "nightly-7",
        "requester": "backup-vm@dc1",
        "public_key": user_pub,
        "box_role_id": BOX_ROLE_ID,
        "expires_at": "2030-01-02T03:04:05Z",
        "allow_cidr": "203.0.113.7/32",
        "state_url": "s3://jumpbox-state-test/stacks",
    }


def hcl(value):
    return json.dumps(value)


def render_userdata(tmp, inputs, **extra):
    """Applies a root that calls userdata/ (no provider, local state in tmp) and
    returns the cloud_config output."""
    tmp = Path(tmp)
    args = {
        "stack_id": inputs["stack_id"],
        "public_key": inputs["public_key"],
        "box_role_id": inputs["box_role_id"],
        "expires_at": inputs["expires_at"],
        "state_url": inputs["state_url"],
        "clean_function_name": "jumpbox-clean",
        "region": "eu-west-1",
        **extra,
    }
    body = "\n".join(f"  {k} = {hcl(v)}" for k, v in args.items())
    (tmp / "main.tf").write_text(f"""
module "ud" {{
  source = {hcl(rel(ROOT / "userdata", tmp))}
{body}
}}
output "cloud_config" {{
  value = module.ud.cloud_config
}}
""")
    init(tmp, with_plugins=False)
    tf(["apply", "-auto-approve", "-input=false", "-no-color"], tmp)
    return tf(["output", "-raw", "cloud_config"], tmp).stdout
