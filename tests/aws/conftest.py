"""The aws module on the emulated cloud (tests/support/emulated_cloud.py:
moto with named patches, not AWS) and an EC2 instance stand-in: `aws` plays
each instance with a real sshd from its user data
(tests/support/ec2_standin.py), `aws_boot` boots it -- systemd and
cloud-init in a Debian container (tests/support/ec2_boot.py).

Everything in this suite runs inside a network namespace of its own: this
conftest enters it before any test is collected, and the cloud fixture
refuses to start outside one."""
import functools
import re

import pytest

from support import netns

netns.enter_private_netns()

from support import boot_root  # noqa: E402
from support.awsflow import AwsEnv  # noqa: E402
from support.ec2_boot import BootStandIn  # noqa: E402
from support.emulated_cloud import EmulatedCloud  # noqa: E402
from support.jbtest import (  # noqa: E402,F401
    _remove_tmp_path_of_passing_tests, attach_log, cleaner, provisioner,
    pytest_collection_modifyitems, pytest_runtest_makereport)
from support.matrix import print_matrix  # noqa: E402


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


# werkzeug's access lines of answered requests say only "POST / 200": the
# rest (the fault layer's action lines, errors, tracebacks) is kept.
ANSWERED = re.compile(r'"[A-Z]+ \S+ HTTP/1\.[01]" [23]\d\d ')


@pytest.fixture(autouse=True)
def _cloud_log_in_failure_reports(request):
    if "cloud" in request.fixturenames:
        attach_log(request.node, "emulated cloud (moto) log during the test",
                   request.getfixturevalue("cloud").log_path,
                   keep=lambda line: not ANSWERED.search(line))


@pytest.fixture
def aws(cloud, tmp_path):
    """A clean emulated cloud with the stand-in watching it.  Afterwards every
    stack a test left is destroyed, and the test fails if anything of ours
    is still in EC2 or S3."""
    cloud.reset()
    e = AwsEnv(cloud, tmp_path)
    yield e
    e.close()


@pytest.fixture(scope="session")
def booted_root():
    """The cached Debian root.  It is built by a dependency step (make
    integration-aws runs tests/support/boot_root.py), not here: building
    needs the apt repositories, and this process has no network."""
    p = boot_root.built()
    if p is None:
        pytest.fail(f"no cached root at {boot_root.root_path()}: run "
                    "`python3 tests/support/boot_root.py` (make integration-aws does)")
    return p


@pytest.fixture
def aws_boot(cloud, tmp_path, booted_root):
    """Like `aws`, with every instance booted (ec2_boot.BootStandIn)."""
    cloud.reset()
    e = AwsEnv(cloud, tmp_path, standin=functools.partial(BootStandIn, root=booted_root))
    yield e
    e.close()
