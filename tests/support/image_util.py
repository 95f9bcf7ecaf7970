"""The Lambda image for the tests: built with packaging/image.sh (what
`make image` runs) once per test run and unpacked once per pytest session
for the sandbox (tests/support/lambda_sandbox.py).

`make integration` runs two pytest sessions (tests/integration and
tests/aws, which lives in a network namespace of its own); it empties
JUMPBOX_TEST_IMAGE_DIR first and the first session builds the image there,
the second finds it.  Without that variable each session builds its own in
a temporary directory."""
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from support import tf_offline as tfo
from support.lambda_sandbox import LambdaImage

ROOT = Path(__file__).resolve().parents[2]
TAG = "jumpbox"


def plugin_dir():
    d = os.environ.get("JUMPBOX_TF_PLUGIN_DIR") or tfo._find_mirror()
    if not d:
        pytest.fail("no unpacked hashicorp/aws provider mirror: set JUMPBOX_TF_PLUGIN_DIR "
                    "(the image cannot be built without one)")
    return d


def build_image(out, build_dir=None):
    """packaging/image.sh into out/; returns (layout path, digest, seconds)."""
    env = dict(os.environ, IMAGE_OUT=str(out), JUMPBOX_TF_PLUGIN_DIR=plugin_dir())
    env.pop("SOURCE_DATE_EPOCH", None)
    env.pop("MODULE_VARS", None)
    if build_dir:
        env["IMAGE_BUILD"] = str(build_dir)
    t0 = time.monotonic()
    cp = subprocess.run(["nice", "-n", "10", "bash", str(ROOT / "packaging/image.sh")],
                        env=env, capture_output=True, text=True, timeout=1200)
    assert cp.returncode == 0, f"packaging/image.sh failed:\n{cp.stdout}\n{cp.stderr}"
    return str(Path(out) / "oci"), (Path(out) / "digest").read_text().strip(), \
        time.monotonic() - t0


# Untracked files dropped into the tree for the build, as a user's tree may
# hold them (a plan with secrets in clear, an override that changes the
# module, an .env): the image must leave them out, and
# test_lambda_image.py checks that its code layer holds only what git
# tracks.  Harmless if a killed run leaves them behind (the override holds
# only a comment); the next build removes them.
UNTRACKED = {
    "terraform/aws/jbtest_override.tf": "# An untracked file the image must leave out "
                                        "(tests/support/image_util.py); delete it.\n",
    "terraform/local/jbtest.tfplan": "secret: jbtest-plan-secret\n",
    "userdata/.jbtest.env": "AWS_SECRET_ACCESS_KEY=jbtest-not-a-secret\n",
}


@contextlib.contextmanager
def untracked_in_tree():
    try:
        for rel, text in UNTRACKED.items():
            (ROOT / rel).write_text(text)
        yield
    finally:
        for rel in UNTRACKED:
            (ROOT / rel).unlink(missing_ok=True)


class BuiltImage:
    def __init__(self, tmp):
        self.tmp = tmp
        shared = os.environ.get("JUMPBOX_TEST_IMAGE_DIR")
        out = Path(shared) if shared else tmp / "image"
        out.mkdir(parents=True, exist_ok=True)
        # Parallel workers (pytest-xdist) share the one build: the first
        # builds, the others wait on the lock and find it.  untracked_in_tree
        # writes into the tree, so two builds must never overlap anyway.
        with open(out.with_name(out.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if shared and (out / "digest").exists():
                self.layout, self.digest, self.build_s = \
                    str(out / "oci"), (out / "digest").read_text().strip(), 0.0
            else:
                with untracked_in_tree():
                    self.layout, self.digest, self.build_s = build_image(out)
        t0 = time.monotonic()
        self.unpacked = LambdaImage(self.layout, TAG, parent=str(tmp))
        self.unpack_s = time.monotonic() - t0


@pytest.fixture(scope="session")
def lambda_image():
    """The image, built and unpacked once per session (about 40 s and 1 GB of
    disk on a 2-core machine; removed at the end)."""
    tmp = Path(tempfile.mkdtemp(prefix="jumpbox-image-test."))
    os.chmod(tmp, 0o711)
    try:
        img = BuiltImage(tmp)
        print(f"\nimage: built in {img.build_s:.0f} s, unpacked in {img.unpack_s:.0f} s",
              file=sys.stderr)
        yield img
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
