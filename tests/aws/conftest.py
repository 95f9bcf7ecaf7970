"""The aws module on the emulated cloud (tests/fixtures/emulated_cloud.py:
moto with named patches, not AWS) and the EC2 instance stand-in
(tests/fixtures/ec2_standin.py: a real sshd per instance, from its user data).

Everything in this suite runs inside a network namespace of its own: this
conftest enters it before any test is collected, and the cloud fixture
refuses to start outside one."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "integration"), str(TESTS / "fixtures"), str(TESTS / "faults")]

import netns  # noqa: E402

netns.enter_private_netns()

from awsflow import AwsEnv  # noqa: E402
from emulated_cloud import EmulatedCloud  # noqa: E402
from jbtest import (  # noqa: E402,F401
    _remove_tmp_path_of_passing_tests, cleaner, provisioner, pytest_runtest_makereport)
from matrix import print_matrix  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    """The aws rows of the fault matrix (tests/aws/test_aws_fault_matrix.py)."""
    print_matrix(terminalreporter, "fault matrix, aws module on the emulated cloud: "
                 "orphans counted in EC2 and S3", stage_width=13)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory):
    """One moto for the whole session; each test resets it."""
    c = EmulatedCloud(tmp_path_factory.mktemp("cloud")).start()
    yield c
    c.stop()


@pytest.fixture
def aws(cloud, tmp_path):
    """A clean emulated cloud with the stand-in watching it.  Afterwards every
    stack a test left is destroyed, and the test fails if anything of ours
    is still in EC2 or S3."""
    cloud.reset()
    e = AwsEnv(cloud, tmp_path)
    yield e
    e.close()
