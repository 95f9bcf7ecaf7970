"""A failing test's report shows what a shared server logged while it ran
(support/jbtest.py attach_log): a failure seen once in a CI run can be read
from CI's output alone.  Run as pytest runs the suites, in a child."""
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

CONFTEST = """
from support.jbtest import pytest_runtest_makereport  # noqa: F401
"""

SUITE = """
import pytest
from support.jbtest import attach_log

LOG = {log!r}

@pytest.fixture
def server_log(request):
    with open(LOG, "a") as f:
        f.write("before the test\\n")
    attach_log(request.node, "the server's log", LOG, keep=lambda l: "noise" not in l)

def test_fails(server_log):
    with open(LOG, "a") as f:
        f.write("noise 200\\nRevokeSecurityGroupEgress -> 400\\n")
    assert False

def test_passes(server_log):
    with open(LOG, "a") as f:
        f.write("quiet success\\n")
"""


def test_a_failing_test_s_report_shows_what_the_server_logged_during_it(tmp_path):
    log = tmp_path / "server.log"
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(SUITE.format(log=str(log)))
    (tmp_path / "pytest.ini").write_text(f"[pytest]\npythonpath = {TESTS}\n")
    cp = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                         str(tmp_path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert "1 failed, 1 passed" in cp.stdout, cp.stdout + cp.stderr
    assert "the server's log" in cp.stdout
    section = cp.stdout.split("the server's log", 1)[1]
    assert "RevokeSecurityGroupEgress -> 400" in section
    # Only what the failing test's time added, and only the lines kept.
    assert "before the test" not in section and "noise 200" not in section
    assert "quiet success" not in cp.stdout
