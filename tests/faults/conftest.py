"""Fixtures for the fault matrix, and the table printed after the run."""
# The binaries as fixtures, and tmp_path removed after each passing test.
from support.jbtest import (  # noqa: F401
    _remove_tmp_path_of_passing_tests, cleaner, provisioner, pytest_collection_modifyitems,
    pytest_runtest_makereport)
from support.matrix import print_matrix


def pytest_terminal_summary(terminalreporter):
    print_matrix(terminalreporter, "fault matrix: stage x fault -> outcome, orphans")
