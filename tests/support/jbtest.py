"""Helpers shared by the pytest suites: the binaries under test (ASan builds
from `make asan`) and running them the way a user does."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest



ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(os.environ.get("JUMPBOX_BIN_DIR", ROOT / "build-asan"))


def bin_path(name):
    p = BIN_DIR / name
    if not p.exists():
        pytest.fail(f"{p} is missing: run `make asan` (or `make test`) first")
    return str(p)


def run(args, env=None, timeout=300, check=None, input=None):
    """Runs a binary; returns CompletedProcess with text stdout/stderr.
    check=N asserts the exit status is N and prints stderr when it is not."""
    full_env = dict(os.environ)
    full_env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    if env:
        full_env.update(env)
    cp = subprocess.run(args, env=full_env, capture_output=True, text=True,
                        timeout=timeout, input=input)
    if check is not None:
        assert cp.returncode == check, (
            f"{args[:2]} exited {cp.returncode}, wanted {check}\n"
            f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
    return cp


def run_json(args, **kw):
    cp = run(args, check=kw.pop("check", 0), **kw)
    return json.loads(cp.stdout)


# A passing test leaves nothing behind in its tmp_path: the keys it wrote
# with --out, leases it edited, Terraform data dirs.  A failing one keeps it
# for the post-mortem.
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    rep = (yield).get_result()
    if rep.when == "call":
        item.jb_passed = rep.passed


@pytest.fixture(autouse=True)
def _remove_tmp_path_of_passing_tests(request, tmp_path):
    yield
    if getattr(request.node, "jb_passed", False):
        shutil.rmtree(tmp_path, ignore_errors=True)


# The binaries under test, as fixtures; each suite's conftest imports them.
@pytest.fixture
def provisioner():
    return bin_path("provisioner")


@pytest.fixture
def cleaner():
    return bin_path("cleaner")


def wrapped_terraform(tmp_path, name, before):
    """A test stand-in for terraform: runs the Python line `before` (with
    os, sys and time imported; it may sys.exit), then execs the real
    terraform with the same arguments.  Its path, for JUMPBOX_TERRAFORM."""
    real = shutil.which("terraform")
    fake = Path(tmp_path) / name
    fake.write_text("#!/usr/bin/python3\nimport os, sys, time\n" + before + "\n"
                    f"os.execv({real!r}, [{real!r}] + sys.argv[1:])\n")
    fake.chmod(0o755)
    return str(fake)
