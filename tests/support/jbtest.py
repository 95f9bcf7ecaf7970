"""Helpers shared by the pytest suites: the binaries under test (ASan builds
from `make asan`) and running them the way a user does."""
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

# A run started in the background by a non-interactive shell (`make test &`
# in a script, a CI runner) inherits SIGINT and SIGQUIT ignored, and exec
# keeps an ignored signal ignored: a program a test interrupts would never
# see it.  Python's own SIGINT handler (a handled signal is reset to the
# default at exec) and the default for SIGQUIT, as an interactive shell
# would start the run.
signal.signal(signal.SIGINT, signal.default_int_handler)
signal.signal(signal.SIGQUIT, signal.SIG_DFL)

# Whole files run on one worker (--dist loadfile) in the order they are
# collected, so a long file collected last ends the run alone.  These go
# first, the longest first (each file's setup, calls and teardowns summed
# in a run of both suites side by side; tests/slowest.py): the image build
# first, since files of both runs wait for it.
SLOW_FILES_FIRST = (
    "test_lambda_image.py", "test_boot.py", "test_aws_fault_matrix.py",
    "test_tf_control_plane.py", "test_aws_flow.py", "test_lambda_functions.py",
    "test_tf_aws.py", "test_iam.py", "test_aws_keepalive.py", "test_s3_fault_matrix.py",
    "test_run.py", "test_aws_failures.py", "test_control_plane_apply.py", "test_keepalive.py",
    "test_deb.py", "test_boot_keepalive.py", "test_local_flow.py", "test_install.py",
    "test_s3_s3rver.py", "test_lambda_image_aws.py", "test_userdata.py", "test_fault_matrix.py",
    "test_aws_reap.py", "test_aws_deadline.py", "test_sfn_moto.py", "test_aws_permit_open.py",
    "test_permit_open.py", "test_races.py",
)


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOW_FILES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))   # stable: in-file order kept


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
    if rep.failed:
        for title, path, start, keep in getattr(item, "jb_logs", ()):
            rep.sections.append((title, log_since(path, start, keep)))


# A server a fixture runs for many tests (moto) logs to a file the failing
# test's report cannot show: what it logged during the test goes into the
# report, so a CI failure that happens once in a while can be read from
# CI's output alone.
SHOWN_LOG_LINES = 120


def attach_log(node, title, path, keep=None):
    """Shows what `path` gains from now on in `node`'s report if it fails;
    keep(line) picks the lines worth showing (all when None)."""
    path = Path(path)
    start = path.stat().st_size if path.exists() else 0
    node.jb_logs = getattr(node, "jb_logs", []) + [(title, path, start, keep)]


def log_since(path, start, keep):
    try:
        with open(path, "rb") as f:
            f.seek(start)
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return f"(unreadable: {e})"
    lines = [line for line in lines if keep is None or keep(line)]
    cut = len(lines) - SHOWN_LOG_LINES
    return "\n".join(([f"({cut} earlier lines in {path})"] if cut > 0 else [])
                     + lines[-SHOWN_LOG_LINES:])


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
