"""Not a test: a stress run that found why the emulated cloud's applies
failed now and then (the answer in two sends, moto_cloud.py OneWrite).

Creates and destroys one security group in the emulated cloud's default VPC
with the real Terraform AWS provider, N times, with K busy loops beside it,
and stops at the first failed apply, keeping its TF_LOG=DEBUG log and moto's
log (look for "retrying request" and a [fixture] action answered twice).
Before OneWrite about one apply in 13 failed this way; after, none in 80.

    JUMPBOX_TF_PLUGIN_DIR=... python3 tests/support/provider_repeat.py DIR [N [K]]

Run with the Python that has moto; it enters a network namespace of its own
(emulated_cloud.py), so it needs root, as the suites do."""
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import emulated_cloud  # noqa: E402

MAIN_TF = """
provider "aws" {
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}
variable "n" { type = string }
data "aws_vpc" "default" { default = true }
resource "aws_security_group" "g" {
  name   = "repeat-${var.n}"
  vpc_id = data.aws_vpc.default.id
}
"""


def main():
    work = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 80
    busy = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    plugins = os.environ["JUMPBOX_TF_PLUGIN_DIR"]
    emulated_cloud.plugin_dir = lambda: plugins   # no pytest here to unpack a mirror
    cloud = emulated_cloud.EmulatedCloud(work / "cloud").start()
    tf = work / "tf"
    tf.mkdir(parents=True, exist_ok=True)
    (tf / "main.tf").write_text(MAIN_TF)
    env = dict(os.environ, **cloud.env())
    subprocess.run(["terraform", "init", "-plugin-dir", plugins], cwd=tf, env=env, check=True,
                   capture_output=True)
    load = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(busy)]
    failed = None
    try:
        for i in range(n):
            log = work / f"apply-{i}.log"
            cp = subprocess.run(["terraform", "apply", "-auto-approve", "-input=false",
                                 f"-var=n={i}"], cwd=tf, capture_output=True, text=True,
                                env=dict(env, TF_LOG="DEBUG", TF_LOG_PATH=str(log)))
            if cp.returncode != 0:
                failed = i
                print(f"apply {i} failed: {log}, {cloud.log_path}\n{cp.stderr[-600:]}")
                break
            log.unlink()
            subprocess.run(["terraform", "destroy", "-auto-approve", "-input=false",
                            f"-var=n={i}"], cwd=tf, env=env, check=True, capture_output=True)
    finally:
        for p in load:
            p.kill()
        cloud.stop()
    print(f"{n if failed is None else failed} applies passed" +
          ("" if failed is None else f", apply {failed} failed"))
    return 1 if failed is not None else 0


if __name__ == "__main__":
    sys.exit(main())
