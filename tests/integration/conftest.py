"""Fixtures for the integration tests; helpers live in jbtest.py."""
# The binaries as fixtures, and tmp_path removed after each passing test.
from support.jbtest import (  # noqa: F401
    _remove_tmp_path_of_passing_tests, cleaner, provisioner, pytest_collection_modifyitems,
    pytest_runtest_makereport)
# A scratch `make install` shared by the install, unit and package tests.
from support.installs import installed  # noqa: F401,E402
