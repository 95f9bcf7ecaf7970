"""Helpers for tests that run the whole local flow: an isolated work and
state directory per test, and a check that nothing is left running."""
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from support.jbtest import ROOT, run


def box_processes(work_dir):
    """Live (non-zombie) processes whose command line names work_dir."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if state != "Z" and str(work_dir) in cmd:
            found.append((int(pid), cmd))
    return found


class Env:
    def __init__(self, tmp_path, provisioner, cleaner):
        self.work = tmp_path / "work"
        self.state_dir = tmp_path / "state"
        self.state = f"file://{self.state_dir}"
        self.provisioner = provisioner
        self.cleaner = cleaner
        self.env = {"JUMPBOX_WORK_DIR": str(self.work), "XDG_STATE_HOME": str(tmp_path / "xdg")}

    def create(self, *args, check=0, extra_env=None):
        env = dict(self.env, **(extra_env or {}))
        cp = run([self.provisioner, "create", "--state", self.state, *args], env=env,
                 check=check)
        return (json.loads(cp.stdout) if check == 0 else None), cp

    def destroy(self, stack_id, check=0, extra_env=None):
        env = dict(self.env, **(extra_env or {}))
        return run([self.cleaner, "destroy", "--state", self.state, "--stack-id", stack_id],
                   env=env, check=check)

    def sweep(self, check=0, extra_env=None):
        env = dict(self.env, **(extra_env or {}))
        return run([self.cleaner, "sweep", "--state", self.state], env=env, check=check)

    def leases(self):
        cp = run([self.provisioner, "list", "--state", self.state], env=self.env, check=0)
        return json.loads(cp.stdout)

    def stack_dirs(self):
        if not self.state_dir.exists():
            return []
        # audit/ holds the records that outlive the stacks (lib/stack/audit.h).
        return sorted(p.name for p in self.state_dir.iterdir() if p.is_dir() and p.name != "audit")

    def audit(self, *args, check=0):
        """provisioner audit's JSON lines, parsed."""
        cp = run([self.provisioner, "audit", "--state", self.state, *args], env=self.env,
                 check=check)
        return [json.loads(l) for l in cp.stdout.splitlines()] if check == 0 else cp

    def wait_gone(self, stack_id, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if stack_id not in self.stack_dirs() and not box_processes(self.work):
                return True
            time.sleep(0.5)
        return False

    def cleanup(self):
        """Leaves nothing behind even when a test failed half-way."""
        for lease in self.leases() if self.state_dir.exists() else []:
            self.destroy(lease["stack_id"], check=None)
        for pid, _ in box_processes(self.work):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def ssh(config, host, *cmd, known_hosts=None):
    args = ["ssh", "-F", str(config), "-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]
    if known_hosts:
        args += ["-o", f"UserKnownHostsFile={known_hosts}"]
    return subprocess.run(args + [host, *cmd], capture_output=True, text=True, timeout=60)


def copy_module(tmp_path, edit):
    """A copy of terraform/local with edit(text) applied to main.tf; returns
    a directory to use as JUMPBOX_MODULE_DIR."""
    mods = tmp_path / "modules"
    (mods / "local").mkdir(parents=True)
    for f in (ROOT / "terraform" / "local").glob("*.tf"):
        text = f.read_text()
        (mods / "local" / f.name).write_text(edit(f.name, text))
    return str(mods)


RACE_TF = str(ROOT / "tests" / "support" / "race_terraform.py")


def race_env(tmp_path, on, when, argv, rival_env=None):
    """Extra environment for a create or destroy whose Terraform runs a
    rival at command `on` (tests/support/race_terraform.py).  The rival's
    results are read back with race_results(tmp_path)."""
    real = shutil.which("terraform")
    return {"JUMPBOX_TERRAFORM": RACE_TF, "JUMPBOX_REAL_TERRAFORM": real,
            "JUMPBOX_RACE_ON": on, "JUMPBOX_RACE_WHEN": when,
            "JUMPBOX_RACE_ARGV": json.dumps([str(a) for a in argv]),
            "JUMPBOX_RACE_ENV": json.dumps(dict({"JUMPBOX_TERRAFORM": real},
                                                **(rival_env or {}))),
            "JUMPBOX_RACE_ONCE": str(tmp_path / "race.once"),
            "JUMPBOX_RACE_LOG": str(tmp_path / "race.log")}


def race_results(tmp_path):
    log = tmp_path / "race.log"
    return [json.loads(l) for l in log.read_text().splitlines()] if log.exists() else []
