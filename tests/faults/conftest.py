"""Fixtures for the fault matrix, and the table printed after the run."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

# The binaries as fixtures, and tmp_path removed after each passing test.
from jbtest import (  # noqa: E402,F401
    _remove_tmp_path_of_passing_tests, cleaner, provisioner, pytest_runtest_makereport)
from matrix import print_matrix  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    print_matrix(terminalreporter, "fault matrix: stage x fault -> outcome, orphans")
