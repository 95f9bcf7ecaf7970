"""Fixtures for the integration tests; helpers live in jbtest.py."""
from jbtest import cleaner, provisioner  # noqa: F401  (fixtures)
