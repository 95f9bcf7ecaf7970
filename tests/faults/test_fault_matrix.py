"""For each stage of create (and destroy), inject a failure and check the
promises: no box left running that no lease names, every surviving lease is
found and destroyed by `cleaner sweep`, no private key on disk outside --out,
no secret in any log.  The table is printed at the end of the run."""
import json
import os
import resource
import shutil
import signal
import subprocess
import time

import pytest

from support.jbtest import ROOT
from support.localflow import Env, box_processes, copy_module
from support.matrix import MATRIX

FAKE_TF = str(ROOT / "tests" / "support" / "fake_terraform.py")


def no_key_outside(root, out_dir):
    hits = []
    for dirpath, _, files in os.walk(root):
        if out_dir and dirpath.startswith(str(out_dir)):
            continue
        for name in files:
            try:
                data = open(os.path.join(dirpath, name), "rb").read()
            except OSError:
                continue
            if b"PRIVATE KEY-----" in data:
                hits.append(os.path.join(dirpath, name))
    return hits


def expire_leases(state_dir):
    for lease in state_dir.glob("*/lease.json"):
        obj = json.loads(lease.read_text())
        obj["expires_at"] = "2020-01-01T00:00:00Z"
        lease.write_text(json.dumps(obj))


class Case:
    def __init__(self, tmp_path, provisioner, cleaner):
        self.jb = Env(tmp_path, provisioner, cleaner)
        self.tmp = tmp_path
        self.env = dict(os.environ, **self.jb.env,
                        JUMPBOX_REAL_TERRAFORM=shutil.which("terraform"),
                        JUMPBOX_TF_TIMEOUT="20s")  # short, yet room for a loaded machine

    def popen(self, args, extra=None, preexec=None, stdout=subprocess.PIPE):
        env = dict(self.env, **(extra or {}))
        return subprocess.Popen([self.jb.provisioner, "create", "--state", self.jb.state,
                                 "--ttl", "10m", *args], env=env, stdout=stdout,
                                stderr=subprocess.PIPE, text=True, preexec_fn=preexec)

    def settle(self, stage, fault, outcome):
        """After the fault: sweep whatever lease survived, then count orphans."""
        survived = self.jb.stack_dirs()
        swept = ""
        if survived:
            expire_leases(self.jb.state_dir)
            cp = subprocess.run([self.jb.cleaner, "sweep", "--state", self.jb.state],
                                env=self.env, capture_output=True, text=True, timeout=120)
            swept = f"\nthe sweep exited {cp.returncode}:\n{cp.stderr}{cp.stdout}"
            outcome += f"; lease kept, swept ({len(survived)})"
        orphans = len(box_processes(self.jb.work)) + len(self.jb.stack_dirs())
        keys = no_key_outside(self.tmp, self.tmp / "out")
        MATRIX.append((stage, fault, outcome, orphans + len(keys)))
        left = box_processes(self.jb.work)
        assert not left, f"a box is running that no lease names: {left}{swept}\n" + "".join(
            f"{p.name}:\n{p.read_text(errors='replace')}"
            for p in sorted((self.jb.work / "logs").glob("*")))
        assert self.jb.stack_dirs() == [], "a lease survived the sweep" + swept
        assert keys == [], f"private key on disk outside --out: {keys}"
        logs = self.jb.work / "logs"
        for log in logs.glob("*") if logs.exists() else []:
            assert "PRIVATE KEY" not in log.read_text(errors="replace")
        self.jb.cleanup()


@pytest.fixture
def case(tmp_path, provisioner, cleaner):
    return Case(tmp_path, provisioner, cleaner)


TF_FAULTS = [
    ("init", "init:fail", "terraform init fails", "terraform init failed"),
    ("init", "init:hang", "terraform init hangs past its deadline", "did not finish"),
    ("apply", "apply:fail-after", "terraform apply exits 1 after making the box",
     "terraform apply failed"),
    ("apply", "apply:hang-after", "terraform apply hangs past its deadline",
     "did not finish"),
    ("outputs", "apply:drop-outputs", "the state the apply wrote names no outputs",
     "terraform state: no outputs"),
]


@pytest.mark.parametrize("stage,fault,label,message", TF_FAULTS, ids=[f[1] for f in TF_FAULTS])
def test_terraform_faults(case, stage, fault, label, message):
    p = case.popen(["--stack-id", "f1", "--out", str(case.tmp / "out")],
                   extra={"JUMPBOX_TERRAFORM": FAKE_TF, "JUMPBOX_FAULT": fault})
    out, err = p.communicate(timeout=180)
    assert p.returncode == 1, err
    assert message in err and out == ""
    assert not (case.tmp / "out" / "id_ed25519").exists()
    case.settle(stage, label, f"exit 1, {'rolled back' if 'rollback' in err else 'nothing made'}")


def test_lease_write_disk_full(case):
    def no_space():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    p = case.popen(["--stack-id", "f2"], preexec=no_space)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "lease" not in out
    assert "File too large" in err or "No space" in err, err
    case.settle("lease", "disk full in the state directory", "exit 1, nothing made")


def test_keys_without_lockable_memory(case):
    def no_mlock():
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    p = case.popen(["--stack-id", "f3"], preexec=no_mlock)
    out, err = p.communicate(timeout=120)
    # libsodium keeps the guard pages and wipe even when mlock is refused.
    assert p.returncode == 0, err
    stack = json.loads(out)["stack_id"]
    subprocess.run([case.jb.cleaner, "destroy", "--state", case.jb.state, "--stack-id", stack],
                   env=case.env, check=True, capture_output=True)
    case.settle("keys", "RLIMIT_MEMLOCK=0 (no lockable memory)", "ok, destroyed on request")


def test_probe_never_answers(case):
    mods = copy_module(case.tmp, lambda name, t: t.replace(
        "value = var.ssh_port", "value = var.ssh_port == 1 ? 2 : 1")
        if name == "outputs.tf" else t)
    p = case.popen(["--stack-id", "f4", "--ready-timeout", "3s"],
                   extra={"JUMPBOX_MODULE_DIR": mods})
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "gave up after" in err, err
    case.settle("probe", "SSH never answers", "exit 1, rolled back")


def test_probe_wrong_host_key(case):
    impostor = case.tmp / "impostor"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)],
                   check=True)
    # The box's published public key replaced by another after it wrote it.
    mods = copy_module(case.tmp, lambda name, t: t.replace(
        "    command = var.box_dir\n  }\n",
        "    command = var.box_dir\n  }\n"
        f'  provisioner "local-exec" {{\n    interpreter = ["/bin/cp", "-f", "{impostor}.pub"]\n'
        '    command     = "${var.box_dir}/host_key.pub"\n  }\n', 1))
    p = case.popen(["--stack-id", "f5"], extra={"JUMPBOX_MODULE_DIR": mods})
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "pinned" in err, err
    impostor.unlink()  # the test's own key, not the product's
    (case.tmp / "impostor.pub").unlink()
    case.settle("probe", "SSH answers with the wrong host key", "exit 1, rolled back")


def test_response_cannot_be_written(case):
    with open("/dev/full", "w") as full:
        p = case.popen(["--stack-id", "f6"], stdout=full)
        _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and "destroying the stack again" in err, err
    case.settle("response", "stdout is full (ENOSPC)", "exit 1, destroyed")


def test_sigkill_mid_apply(case):
    # A second create-time step after sshd is up: killed there, "box" is
    # left tainted, and only the separate teardown resource stops sshd.
    mods = copy_module(case.tmp, lambda name, t: t.replace(
        "    command = var.box_dir\n  }\n",
        "    command = var.box_dir\n  }\n\n"
        "  provisioner \"local-exec\" {\n    interpreter = [\"/bin/sleep\"]\n"
        "    command     = \"30\"\n  }\n", 1))
    p = case.popen(["--stack-id", "f7"], extra={"JUMPBOX_MODULE_DIR": mods})
    log = case.jb.work / "logs" / "f7.log"
    def sshd_up():
        # The daemon (-D), not localbox's config check (sshd -t) that runs
        # first and is gone a moment later; and `up` done (its timer's pid
        # file written), so the kill lands in the second step.  A kill
        # inside `up`, between the timer's fork and its pid file, leaves a
        # timer that `down` does not stop (stop_strays without timers):
        # a known fault, its own test to come with its fix.
        return (case.jb.work / "boxes" / "f7" / "timer.pid").exists() and any(
            "sshd" in cmd and "-D" in cmd.split() for _, cmd in box_processes(case.jb.work))
    # Generous: init and apply on a loaded 2-core machine took over 120 s once.
    deadline = time.time() + 600
    up = False
    while time.time() < deadline and not up and p.poll() is None:
        time.sleep(0.1)
        up = sshd_up()
    assert up, "the box never started: " + (p.stderr.read() if p.poll() is not None else "")
    p.kill()
    p.communicate(timeout=30)
    # Terraform, told by PDEATHSIG, stops and saves its state: wait for it.
    deadline = time.time() + 120
    while time.time() < deadline and any(
            "terraform" in cmd.split()[0] for _, cmd in box_processes(case.jb.work)):
        time.sleep(0.2)
    assert case.jb.stack_dirs() == ["f7"], "the lease must survive for the sweeper"
    assert log.exists()
    case.settle("apply", "provisioner SIGKILLed mid-apply", "killed; lease left")


def test_destroy_fails(case):
    p = case.popen(["--stack-id", "f8"])
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    env = dict(case.env, JUMPBOX_TERRAFORM=FAKE_TF, JUMPBOX_FAULT="destroy:fail")
    r = subprocess.run([case.jb.cleaner, "destroy", "--state", case.jb.state,
                        "--stack-id", "f8"], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "kept" not in r.stdout
    lease = json.loads((case.jb.state_dir / "f8" / "lease.json").read_text())
    assert lease["status"] == "failed"
    case.settle("destroy", "terraform destroy fails", "exit 1, lease kept")
