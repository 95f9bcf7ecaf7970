"""Fixtures for the integration tests; helpers live in jbtest.py."""
import pytest

from jbtest import ROOT, BIN_DIR, bin_path, run, run_json  # noqa: F401  (re-exported)


@pytest.fixture
def provisioner():
    return bin_path("provisioner")


@pytest.fixture
def cleaner():
    return bin_path("cleaner")
