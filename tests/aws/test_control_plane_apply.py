"""terraform/control-plane applied and destroyed on the emulated cloud, the
way README's "deploying from zero" goes: apply without an image (bucket,
repository, roles, no functions), the image "pushed", apply with its digest
(the functions, pinned by it, and the schedule), destroy.

What moto checks and what it does not: it keeps what the provider creates
and reads it back (so the plan after each apply must be empty); with
MOTO_LAMBDA_STUB_ECR=false (the emulated cloud sets it) CreateFunction
refuses an image_uri whose digest is not in its ECR repository.  It has no
registry endpoint (/v2/), so the image cannot be pushed to it with skopeo:
PutImage registers our manifest under our digest instead, and moto neither
recomputes that digest nor sees a layer (`make push` itself is tested against
Debian's docker-registry, tests/integration/test_lambda_image.py).  It does
not evaluate IAM policies, scan images, run lifecycle rules or pull the
image for Lambda."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support import tf_offline as tfo
from support.emulated_cloud import REGION
from support.image_util import lambda_image  # noqa: F401

ACCOUNT = "123456789012"   # moto's account
OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/operator"
VARS = [f"-var=region={REGION}", f"-var=account_id={ACCOUNT}",
        '-var=allowed_cidrs=["203.0.113.0/24"]', "-var=name_prefix=jbcp",
        f"-var=deadline_writer_arns={json.dumps([OPERATOR])}"]


def tf(cloud, mod, *args, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env.update(cloud.env(), HOME=str(mod), TF_IN_AUTOMATION="1", TF_INPUT="0",
               CHECKPOINT_DISABLE="1", TF_CLI_CONFIG_FILE=str(mod / "terraformrc"))
    cp = subprocess.run([tfo.terraform_bin(), *args], cwd=mod, env=env, capture_output=True,
                        text=True, timeout=900)
    if check:
        assert cp.returncode == 0, f"terraform {args[0]}:\n{cp.stdout[-4000:]}\n{cp.stderr}"
    return cp


@pytest.fixture
def module(aws, tmp_path):
    mod = tmp_path / "cp"
    shutil.copytree(tfo.ROOT / "terraform" / "control-plane", mod,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars"))
    (mod / "terraformrc").write_text("")
    (mod / "zz_moto_override.tf").write_text(f"""provider "aws" {{
  region                      = "{REGION}"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
}}
""")
    tf(aws.cloud, mod, "init", "-input=false", "-no-color", f"-plugin-dir={tfo.plugin_dir()}")
    yield mod
    tf(aws.cloud, mod, "destroy", "-auto-approve", "-input=false", "-no-color", *VARS,
       check=False)


def test_deploy_from_zero_then_destroy(aws, module, lambda_image):
    cloud = aws.cloud
    # Step 3: everything but the functions.
    tf(cloud, module, "apply", "-auto-approve", "-input=false", "-no-color", *VARS)
    ecr = cloud.client("ecr")
    (repo,) = ecr.describe_repositories(repositoryNames=["jbcp"])["repositories"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"] == {"scanOnPush": True}
    rules = json.loads(ecr.get_lifecycle_policy(repositoryName="jbcp")["lifecyclePolicyText"])
    assert len(rules["rules"]) == 2
    assert cloud.client("lambda").list_functions()["Functions"] == []
    # The state bucket's deadline rules, as S3 keeps them: only the build
    # role and the named CLI principal write deadlines/, which expire.
    s3, bucket = cloud.client("s3"), f"jbcp-state-{ACCOUNT}-{REGION}"
    pol = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (st,) = [st for st in pol["Statement"] if st["Sid"] == "OnlyProvisionersWriteDeadlines"]
    writers = st["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
    assert sorted(writers) == [f"arn:aws:iam::{ACCOUNT}:role/jbcp-build", OPERATOR]
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["Expiration"]["Days"] for r in rules if r["ID"] == "expire-deadlines"] == [1]

    # Step 4, as far as moto goes: our manifest under our digest.
    algo, hexd = lambda_image.digest.split(":")
    manifest = Path(lambda_image.layout, "blobs", algo, hexd).read_text()
    ecr.put_image(repositoryName="jbcp", imageManifest=manifest, imageTag=hexd[:12],
                  imageManifestMediaType="application/vnd.oci.image.manifest.v1+json",
                  imageDigest=lambda_image.digest)

    # Step 5: the functions, pinned by digest.
    with_image = [*VARS, f"-var=image_digest={lambda_image.digest}"]
    tf(cloud, module, "apply", "-auto-approve", "-input=false", "-no-color", *with_image)
    lam = cloud.client("lambda")
    fns = {f["FunctionName"]: f for f in lam.list_functions()["Functions"]}
    assert set(fns) == {"jbcp-build", "jbcp-clean"}
    for name, entry in (("jbcp-build", "/var/task/bin/provisioner"),
                        ("jbcp-clean", "/var/task/bin/cleaner")):
        fn = lam.get_function(FunctionName=name)
        assert fn["Configuration"]["PackageType"] == "Image"
        assert fn["Code"]["ImageUri"].endswith(f"/jbcp@{lambda_image.digest}")
        assert fn["Configuration"]["ImageConfigResponse"]["ImageConfig"]["EntryPoint"] == [entry]
    assert [s["Name"] for s in cloud.client("scheduler").list_schedules()["Schedules"]] == \
        ["jbcp-sweep"]
    # The box role's unique id, as IAM assigned it: the build function's
    # JUMPBOX_BOX_ROLE_ID (known only after apply, so no plan shows it) and
    # the box_role_id output the CLI user sets it from.
    role_id = cloud.client("iam").get_role(RoleName="jbcp-box")["Role"]["RoleId"]
    assert re.fullmatch(r"[A-Z0-9]{16,128}", role_id), role_id
    env = {n: lam.get_function_configuration(FunctionName=n)["Environment"]["Variables"]
           for n in fns}
    assert env["jbcp-build"] == dict(env["jbcp-clean"], JUMPBOX_BOX_ROLE_ID=role_id)
    assert tf(cloud, module, "output", "-raw", "box_role_id").stdout == role_id
    # What the provider reads back is what it applied.
    plan = tf(cloud, module, "plan", "-detailed-exitcode", "-input=false", "-no-color",
              *with_image, check=False)
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr

    # A digest the repository does not hold is refused, as by AWS.
    bad = tf(cloud, module, "apply", "-auto-approve", "-input=false", "-no-color", *VARS,
             "-var=image_digest=sha256:" + "0" * 64, check=False)
    assert bad.returncode != 0 and "0" * 64 in bad.stdout + bad.stderr

    # Removing (README): the repository is not force-deleted, so empty it first.
    ecr.batch_delete_image(repositoryName="jbcp", imageIds=[{"imageDigest": lambda_image.digest}])
    tf(cloud, module, "destroy", "-auto-approve", "-input=false", "-no-color", *with_image)
    assert lam.list_functions()["Functions"] == []
    assert ecr.describe_repositories()["repositories"] == []
