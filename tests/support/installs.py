"""Scratch installs for the install, unit and package tests: one release
build per test run, in a build dir of its own, installed under a scratch
PREFIX with `make install`, as a user would."""
import fcntl
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.jbtest import ROOT


def make(*args, cwd=ROOT, timeout=900):
    """Runs make as a user types it: not as a child of `make test`, whose
    MAKEFLAGS (jobserver descriptors, -s, …) would leak in."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    cp = subprocess.run(["nice", "-n", "10", "make", "-s", "-j2", *args], cwd=cwd, env=env,
                        capture_output=True, text=True, timeout=timeout)
    assert cp.returncode == 0, f"make {' '.join(args)} exited {cp.returncode}\n{cp.stdout}\n{cp.stderr}"
    return cp


def data_files():
    """What the programs read at run time, relative to DATADIR: the
    jump-box modules and the user data terraform/aws reaches as
    ../../userdata (not control-plane/: it deploys from a clone)."""
    # What git tracks, not what the tree holds: another test (or a user)
    # may have dropped a file there, which must not be installed.
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "terraform/local",
                              "terraform/aws", "userdata"], capture_output=True, text=True,
                             check=True).stdout.split()
    return sorted(f for f in tracked
                  if (f.startswith("terraform/") and f.endswith(".tf") and f.count("/") == 2)
                  or (f.startswith("userdata/") and not f.endswith(".md")))


def installed_files(prefix, sysconfdir, man_suffix=""):
    """Every file `make install` puts down (the .deb adds its own docs)."""
    p = prefix.lstrip("/")
    files = [f"{p}/bin/provisioner", f"{p}/bin/cleaner", f"{p}/libexec/jumpbox/jumpbox-localbox",
             f"{p}/share/man/man1/provisioner.1{man_suffix}",
             f"{p}/share/man/man1/cleaner.1{man_suffix}",
             f"{p}/lib/systemd/system/jumpbox-sweep.service",
             f"{p}/lib/systemd/system/jumpbox-sweep.timer",
             f"{sysconfdir.lstrip('/')}/jumpbox/sweep.env"]
    files += [f"{p}/share/jumpbox/{f}" for f in data_files()]
    return sorted(files)


def files_under(root):
    root = Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())


@dataclass
class Installed:
    base: Path
    prefix: Path
    build: Path

    @property
    def bin(self):
        return self.prefix / "bin"

    def unit(self, name):
        return self.prefix / "lib" / "systemd" / "system" / name


def run_wide_dir(tmp_path_factory):
    """A directory every worker of this pytest run shares (pytest-xdist's
    workers each have a base temp dir under the run's own); without
    workers, this session's base."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    """A release build (build/ of its own) installed under a scratch PREFIX.
    Built once for the run: the first worker to need it builds it, the
    others wait on the lock and find it (no test writes into it).  Left for
    pytest's own clean-up of old runs: a worker done early must not remove
    what another still uses."""
    base = run_wide_dir(tmp_path_factory) / "installed"
    base.mkdir(exist_ok=True)
    inst = Installed(base, base / "prefix", base / "build")
    with open(base / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (base / "done").exists():
            shutil.rmtree(inst.prefix, ignore_errors=True)
            make(f"B={inst.build}", f"PREFIX={inst.prefix}", "install")
            (base / "done").touch()
    return inst
