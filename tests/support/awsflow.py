"""Helpers for the emulated-cloud tests: the CLI environment, the Lambda
harness with the clean (and build) function, and the checks that nothing is
left."""
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from support.ec2_standin import InstanceStandIn
from support.emulated_cloud import BUCKET, REGION, STATE_URL
from support.jbtest import bin_path, run, run_json
from support.lambda_harness import LambdaHarness

CLEAN, BUILD = "jumpbox-clean", "jumpbox-build"
BOX_KEY = ("AKIDJUMPBOXBOXROLE", "box-role-not-a-secret")
BACKUP_VM_KEY = ("AKIDJUMPBOXBACKUPVM", "backup-vm-not-a-secret")


class AwsEnv:
    """standin: what plays the instances -- ec2_standin.InstanceStandIn (an
    sshd from the user data) or ec2_boot.BootStandIn (a booted container),
    called as standin(cloud, workdir)."""

    def __init__(self, cloud, tmp, standin=InstanceStandIn):
        self.cloud, self.tmp = cloud, tmp
        # Terraform's TMPDIR, where each provider makes its socket, is the
        # stack's work dir while that is short enough for a socket's path
        # (lib/stack/terraform.c), and pytest's tmp paths are about as long:
        # the CLI sees tmp/work through a short link, so that the stacks'
        # dirs are the same in every run.  Its own TMPDIR is tmp/tmp.
        (tmp / "work").mkdir()
        (tmp / "tmp").mkdir()
        self._links = Path(tempfile.mkdtemp(prefix="jbw"))
        self.work = self._links / "w"
        self.work.symlink_to(tmp / "work")
        self.state = STATE_URL
        dirs = dict(JUMPBOX_WORK_DIR=str(self.work), XDG_STATE_HOME=str(tmp / "xdg"),
                    XDG_CACHE_HOME=str(tmp / "cache"), TMPDIR=str(tmp / "tmp"))
        # The CLI as the build role creates, as the clean role destroys and
        # sweeps (the calls each makes are told apart by their keys), and as
        # the test itself lists and looks.
        self.cli = cloud.env(**dirs)
        self.as_build = cloud.env("build", **dirs)
        self.as_clean = cloud.env("clean", **dirs)
        self.standin = standin(cloud, tmp / "instances").start()
        self.harness = None
        self.box_keys = set()   # the keys the boxes' IMDS handed out

    # ---- the Lambda side (the box's timer reaches the clean function) -------
    def start_harness(self, build=False):
        """The functions, each with its role's key; the boxes' timers and the
        backup VM invoke them with keys of their own (BOX_KEY, BACKUP_VM_KEY)."""
        h = LambdaHarness(str(self.tmp), region=REGION,
                          bind=getattr(self.standin, "lambda_bind", "127.0.0.1")).start()
        for key, secret in (BOX_KEY, BACKUP_VM_KEY):
            h.add_key(key, secret)
        fenv = dict(PATH=os.environ.get("PATH", "/usr/bin:/bin"),
                    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                    JUMPBOX_STATE=self.state)
        h.add_function(CLEAN, [self._bootstrap("clean", "cleaner")],
                       dict(self.cloud.env("clean"), **fenv,
                            JUMPBOX_WORK_DIR=str(self.tmp / "fn-work-clean")), timeout_s=300)
        if build:
            h.add_function(BUILD, [self._bootstrap("build", "provisioner")],
                           dict(self.cloud.env("build"), **fenv,
                                JUMPBOX_WORK_DIR=str(self.tmp / "fn-work-build"),
                                JUMPBOX_MODULE="aws", JUMPBOX_MAX_TTL="30m",
                                JUMPBOX_ALLOWED_CIDRS="10.0.0.0/8, 127.0.0.0/8"),
                           timeout_s=300)
        self.harness = h
        self.standin.set_lambda(h.client_env(BOX_KEY[0]), add_key=self._box_key)
        return h

    def _box_key(self, access_key, secret_key, session_token):
        """A box's role credentials from IMDS: the harness accepts them, and
        the IAM tests know whose they are."""
        self.box_keys.add(access_key)
        self.harness.add_key(access_key, secret_key, session_token)

    def backup_vm_env(self, **over):
        """The backup VM: reaches the functions only, with its own key."""
        return dict(self.harness.client_env(BACKUP_VM_KEY[0]), PATH=os.environ["PATH"],
                    HOME=str(self.tmp), **over)

    def _bootstrap(self, name, binary):
        d = self.tmp / "task" / name
        d.mkdir(parents=True)
        (d / "bootstrap").symlink_to(bin_path(binary))
        return str(d / "bootstrap")

    # ---- the CLI -------------------------------------------------------------
    def run_env(self, **over):
        """The full environment a CLI create gets (what jbtest.run builds),
        signing as the build role."""
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        e.update(self.as_build)
        e.update(over)
        return e

    def create(self, *args, check=0, ttl="10m", cidr="10.0.0.0/8", env=None, module_vars=None):
        """module_vars: extra inputs of the aws module (JUMPBOX_MODULE_VARS)."""
        env = dict(self.as_build, **(env or {}))
        if module_vars:
            fd, f = tempfile.mkstemp(dir=self.tmp, prefix="module-vars-", suffix=".json")
            with os.fdopen(fd, "w") as fh:
                json.dump(module_vars, fh)
            env["JUMPBOX_MODULE_VARS"] = f
        cp = run([bin_path("provisioner"), "create", "--module", "aws", "--ttl", ttl,
                  "--allow-cidr", cidr, "--state", self.state, *args],
                 env=env, check=check, timeout=600)
        return json.loads(cp.stdout) if check == 0 else cp

    def destroy(self, stack_id, check=0, env=None):
        cp = run([bin_path("cleaner"), "destroy", "--stack-id", stack_id, "--state", self.state],
                 env=dict(self.as_clean, **(env or {})), check=check, timeout=600)
        return json.loads(cp.stdout) if check == 0 else cp

    def sweep(self, check=0):
        return run_json([bin_path("cleaner"), "sweep", "--state", self.state],
                        env=self.as_clean, check=check, timeout=600)

    def reap(self, *args, check=0, **env):
        """`cleaner reap` of this state: its JSON report (or, with check other
        than 0, the CompletedProcess)."""
        cp = run([bin_path("cleaner"), "reap", "--state", self.state, *args],
                 env=dict(self.cli, **env), check=check, timeout=600)
        return json.loads(cp.stdout) if check == 0 else cp

    def leases(self):
        return run_json([bin_path("provisioner"), "list", "--state", self.state], env=self.cli)

    def ssh(self, out_dir, stack_id, *cmd, timeout=60):
        return subprocess.run(["ssh", "-F", str(out_dir / "ssh_config"), "-o",
                               "ConnectTimeout=10", stack_id, *cmd], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def wait_for(self, what, cond, timeout=240):
        deadline = time.monotonic() + timeout
        while not cond():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.5)

    def audit_records(self, stack_id):
        """The stack's durable audit records (lib/stack/audit.h) as stored in S3."""
        s3 = self.cloud.client("s3")
        return [json.loads(s3.get_object(Bucket=BUCKET, Key=k)["Body"].read())
                for k, _ in sorted(self.cloud.state_objects(stack_id, audit=True))
                if k.endswith(".json")]

    def destroy_records(self, stack_id, timeout=60):
        """The stack's destroy records, once one is written.  A destroy writes
        its record after the purge (lib/stack/stack_destroy.c), so when the
        destroy runs elsewhere (the clean function, a box's timer) "nothing
        left" comes a moment before the record does."""
        found = []

        def written():
            found[:] = [r for r in self.audit_records(stack_id) if r["event"] == "destroy"]
            return found
        self.wait_for(f"{stack_id}'s destroy record", written, timeout=timeout)
        return found

    # ---- afterwards ----------------------------------------------------------
    def sockets_left(self):
        """Unix sockets under the test's dirs (the CLI's TMPDIR, its work
        dirs): a provider's, once its Terraform is gone, is litter."""
        return [os.path.join(d, f)
                for top in ("tmp", "work", "fn-work-clean", "fn-work-build")
                for d, _, files in os.walk(self.tmp / top) for f in files
                if stat.S_ISSOCK(os.lstat(os.path.join(d, f)).st_mode)]

    def close(self):
        try:
            if self.harness:
                self.harness.stop()
            self.cloud.faults([])   # a failed test may have left some
            for lease in self.leases():
                run([bin_path("cleaner"), "destroy", "--stack-id", lease["stack_id"],
                     "--state", self.state], env=self.as_clean, timeout=600)
        finally:
            self.standin.stop()
            shutil.rmtree(self._links, ignore_errors=True)
        assert self.standin.errors == [], self.standin.errors
        assert self.cloud.leftovers() == []


def plan_changes(aws, stack_id, instance_id):
    """`terraform plan -detailed-exitcode` of a live stack in its own work dir:
    0 means no drift.  (Nothing secret to supply: the box made its own host
    key and token.)"""
    from support import tf_offline
    workdir = aws.work / "stacks" / stack_id
    env = dict(aws.cli, TF_DATA_DIR=str(workdir / ".terraform"), TF_IN_AUTOMATION="1",
               CHECKPOINT_DISABLE="1", PATH=os.environ["PATH"], HOME=str(aws.tmp))
    return subprocess.run([tf_offline.terraform_bin(), "plan", "-detailed-exitcode",
                           "-input=false", "-no-color", "-lock=false"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
