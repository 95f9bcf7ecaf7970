"""The Lambda container image (`make image`, packaging/image.sh): its
layout, that it is reproducible, and the two functions run from it the way
Lambda runs an image -- unpacked with umoci, read-only root, only /tmp
writable (512 MB tmpfs), uid 993 owning nothing in it, no HOME, Lambda's
variables -- against the Runtime API harness (tests/support/lambda_sandbox.py,
tests/support/lambda_harness.py)."""
import base64
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from pathlib import Path

import pytest

from support.hardening import assert_hardened
from support.image_util import (ROOT, TAG, UNTRACKED, build_image,  # noqa: F401
                                 lambda_image)
from support.jbtest import bin_path, run, run_json
from support.lambda_sandbox import (LAMBDA_UID, LAMBDA_VARS, TMP_BYTES, children, entry_pid,
                                    gone, sandboxed_pids, tmp_used, tree_listing)
from support.lambda_util import LambdaHarness, boto_lambda, invoke
from support.s3_versioned_double import VersionedS3Double

BUILD, CLEAN = "jumpbox-build", "jumpbox-clean"
CLEANER_ENTRY = ["/var/task/bin/cleaner"]   # the clean function's image_config.entry_point
X25519_B64 = base64.b64encode(bytes(range(1, 33))).decode()
GOOD_TOKEN = "ab" * 32
S3_BUCKET, S3_PREFIX = "state", "jb"
BOX_ROLE_ID = "AROAJUMPBOXSANDBOX0001"  # well-formed ([A-Z0-9]{16,128}), no such role


# ---- the image itself ---------------------------------------------------------

def layers(img):
    """[(descriptor, [TarInfo])] oldest first."""
    out = []
    for d in img.unpacked.manifest["layers"]:
        algo, hexd = d["digest"].split(":")
        with tarfile.open(os.path.join(img.layout, "blobs", algo, hexd), "r:gz") as t:
            out.append((d, t.getmembers()))
    return out


def test_one_single_arch_manifest_of_gzip_layers(lambda_image):
    img = lambda_image
    index = json.loads(Path(img.layout, "index.json").read_text())
    (m,) = index["manifests"]
    assert m["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert m["digest"] == img.digest
    cfg = img.unpacked.config
    assert cfg["os"] == "linux"
    assert cfg["architecture"] == {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    ls = img.unpacked.manifest["layers"]
    assert len(ls) == 3
    assert all(d["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip" for d in ls)
    assert cfg["config"]["Entrypoint"] == ["/var/task/bin/provisioner"]


def test_layers_hold_terraform_then_system_then_code(lambda_image):
    (tf, tf_files), (sysl, sys_files), (code, code_files) = layers(lambda_image)
    names = lambda fs: {f.name for f in fs if f.isfile()}  # noqa: E731
    assert names(tf_files) >= {"opt/bin/terraform", "opt/terraform/terraformrc"}
    assert any(n.startswith("opt/terraform/plugins/registry.terraform.io/hashicorp/aws/")
               and "/terraform-provider-aws_" in n for n in names(tf_files))
    assert all(n.startswith("opt/") for n in names(tf_files))
    assert any(n.endswith("/libc.so.6") for n in names(sys_files))
    assert "etc/ssl/certs/ca-certificates.crt" in names(sys_files)
    assert names(code_files) >= {"var/task/bin/provisioner", "var/task/bin/cleaner",
                                 "var/task/terraform/aws/main.tf", "var/task/userdata/main.tf"}
    assert all(n.startswith("var/task/") for n in names(code_files))
    # A code change re-pushes the code layer only: megabytes, not hundreds.
    assert code["size"] < 10 << 20 and sum(f.size for f in code_files) < 10 << 20
    assert tf["size"] > 10 * (sysl["size"] + code["size"])


def test_code_layer_holds_only_what_git_tracks(lambda_image):
    """The modules and the user data come from git's list, not the working
    tree: the untracked plan, override and .env image_util dropped into the
    tree for the build stay out."""
    tracked = subprocess.run(["git", "-c", f"safe.directory={ROOT}", "ls-files", "-z", "--",
                              "terraform/aws", "terraform/local", "userdata"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split("\0")
    want = {"var/task/bin/provisioner", "var/task/bin/cleaner"}
    want |= {f"var/task/{f}" for f in tracked if f}
    (_, _), (_, _), (_, code_files) = layers(lambda_image)
    got = {f.name for f in code_files if f.isfile()}
    assert got == want, (sorted(got - want), sorted(want - got))
    assert not any(f"var/task/{u}" in got for u in UNTRACKED)


def test_the_image_programs_are_hardened(lambda_image):
    """Built by the Makefile's release rules: hardened as `make` is (the
    binaries are stripped, so their compile flags are not there to read)."""
    bindir = Path(lambda_image.unpacked.rootfs, "var/task/bin")
    assert_hardened(bindir / "provisioner", bindir / "cleaner")


def test_the_image_is_built_from_a_clone_only(tmp_path):
    """Outside a git clone there is no list of what belongs in the image:
    the build stops before it starts."""
    (tmp_path / "packaging").mkdir()
    shutil.copy(ROOT / "packaging" / "image.sh", tmp_path / "packaging" / "image.sh")
    cp = subprocess.run(["bash", str(tmp_path / "packaging" / "image.sh")],
                        env=dict(os.environ, IMAGE_OUT=str(tmp_path / "out")),
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 1 and "is not a git clone" in cp.stderr, cp.stderr
    assert not (tmp_path / "out").exists()


def test_files_world_readable_executables_world_executable_no_symlinks(lambda_image):
    for _, members in layers(lambda_image):
        for f in members:
            assert f.uid == 0 and f.gid == 0, f.name
            assert f.isfile() or f.isdir(), (f.name, f.type)  # no symlinks, devices, hard links
            assert f.mode & 0o004, f.name
            if f.isdir():
                assert f.mode & 0o001, f.name
    root = Path(lambda_image.unpacked.rootfs)
    for p in root.rglob("*"):
        if p.is_file() and p.read_bytes()[:4] == b"\x7fELF" and ".so" not in p.name:
            assert p.stat().st_mode & 0o001, p
    entry = root / "var/task/bin/provisioner"
    assert entry.is_file() and not entry.is_symlink()


def test_the_function_user_owns_nothing_in_the_image(lambda_image):
    for dirpath, dirnames, filenames in os.walk(lambda_image.unpacked.rootfs):
        for n in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, n))
            assert st.st_uid != LAMBDA_UID and st.st_gid != LAMBDA_UID, n
            assert not st.st_mode & 0o002 or n == "tmp", n   # nothing writable by others


def test_image_is_reproducible(lambda_image, tmp_path):
    """The same inputs give the same digest: a second build from scratch (its
    own build directory, so the C code is compiled again) in another place."""
    layout, digest, secs = build_image(tmp_path / "again", build_dir=tmp_path / "build")
    print(f"second build: {secs:.0f} s")
    if digest != lambda_image.digest:
        a = set(os.listdir(os.path.join(lambda_image.layout, "blobs/sha256")))
        b = set(os.listdir(os.path.join(layout, "blobs/sha256")))
        pytest.fail(f"digests differ: {lambda_image.digest} vs {digest}; blobs only in the "
                    f"first: {sorted(a - b)}, only in the second: {sorted(b - a)}")


def sandbox_run(img, argv, timeout=60):
    return subprocess.run(img.unpacked.argv(entry_point=argv), env=img.unpacked.lambda_env("t"),
                          capture_output=True, text=True, timeout=timeout)


def test_programs_run_from_the_image_alone(lambda_image):
    """Nothing of this machine is visible in the sandbox: each program, and
    libcurl (dlopen'ed at the first AWS call), finds all it loads in the image."""
    for argv in (["/var/task/bin/provisioner", "--help"], ["/var/task/bin/cleaner", "--help"],
                 ["/opt/bin/terraform", "version"]):
        cp = sandbox_run(lambda_image, argv)
        assert cp.returncode == 0, (argv, cp.stderr)
    libdir = next(p for p in Path(lambda_image.unpacked.rootfs, "usr/lib").iterdir())
    curl = "/" + str((libdir / "libcurl.so.4").relative_to(lambda_image.unpacked.rootfs))
    cp = sandbox_run(lambda_image, ["/lib64/ld-linux-x86-64.so.2", "--list", curl])
    assert cp.returncode == 0 and "not found" not in cp.stdout, cp.stdout + cp.stderr
    assert "libssl.so.3" in cp.stdout
    # Only /tmp is writable.
    cp = sandbox_run(lambda_image, ["/var/task/bin/provisioner", "keygen", "--out", "/tmp/k"])
    assert cp.returncode == 0, cp.stderr
    cp = sandbox_run(lambda_image, ["/var/task/bin/provisioner", "keygen", "--out", "/var/task/k"])
    assert cp.returncode != 0 and "Read-only file system" in cp.stderr, cp.stderr


def test_the_loader_looks_only_in_the_image_library_directory(lambda_image):
    """Lambda's LD_LIBRARY_PATH names eight directories this image lacks, and
    the loader tries each, with its hwcaps subdirectories, before its own
    default one.  The programs carry a DT_RPATH naming the image's library
    directory, which the loader searches first, and link all but glibc and
    cJSON statically, so a cold start maps two libraries (bench/RESULTS.md)."""
    rootfs = Path(lambda_image.unpacked.rootfs)
    (libdir,) = {"/" + str(p.parent.relative_to(rootfs))
                 for p in rootfs.glob("usr/lib/*/libc.so.6")}
    env = dict(lambda_image.unpacked.lambda_env("t"), LD_DEBUG="libs")
    assert "/var/lang/lib" in env["LD_LIBRARY_PATH"]
    for prog in ("provisioner", "cleaner"):
        argv = [f"/var/task/bin/{prog}", "--help"]
        cp = subprocess.run(lambda_image.unpacked.argv(entry_point=argv), env=env,
                            capture_output=True, text=True, timeout=60)
        assert cp.returncode == 0, cp.stderr
        # setpriv and bwrap log too: only the lines of the entry point's pid.
        (pid,) = {ln.split(":")[0].strip() for ln in cp.stderr.splitlines()
                  if ln.rstrip().endswith(f"initialize program: {argv[0]}")}
        ours = [ln.split(":", 1)[1].strip() for ln in cp.stderr.splitlines()
                if ln.split(":")[0].strip() == pid]
        tried = [ln.split("trying file=")[1] for ln in ours if "trying file=" in ln]
        found = sorted(ln.split("find library=")[1].split()[0] for ln in ours
                       if "find library=" in ln)
        assert tried and all(t.startswith(libdir + "/") for t in tried), (prog, tried)
        assert found == ["libc.so.6", "libcjson.so.1"], (prog, found)


# ---- the functions in the sandbox ---------------------------------------------

class StsDenies:
    """A test fixture in place of every AWS endpoint: each call is refused as
    STS refuses an unknown key (403 InvalidClientTokenId), which the provider
    does not retry, so an apply fails at once, after Terraform and the
    provider have started from the image."""

    def __init__(self):
        body = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                b'<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security '
                b'token included in the request is invalid.</Message></Error>'
                b'<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>')
        self.calls = 0
        fx = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fx.calls += 1
                self.send_response(403)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_port}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class Sandboxed:
    """The harness with the build and clean functions running from the
    unpacked image.  State: a file:// directory of the host bound at
    /tmp/state (inside /tmp, as it must be), standing in for S3; or, with
    s3 (a VersionedS3Double whose keys are the execution role's in
    LAMBDA_VARS), s3://state/jb on it, reached with AWS_ENDPOINT_URL_S3 by
    our S3 client and Terraform's S3 backend alike (lib/stack/stackcfg.c)."""

    def __init__(self, img, tmp, build_env=None, s3=None):
        self.img, self.tmp, self.s3 = img, tmp, s3
        # Where uid 993 can reach it to bind it (tmp_path's parents are 0700).
        self.outer = Path(tempfile.mkdtemp(prefix="jumpbox-sandbox-state."))
        os.chmod(self.outer, 0o711)
        self.state = self.outer / "state"
        self.state.mkdir(mode=0o700)
        os.chown(self.state, LAMBDA_UID, LAMBDA_UID)
        self.before = tree_listing(img.unpacked.rootfs)
        self.h = LambdaHarness(str(tmp)).start()
        binds = [(str(self.state), "/tmp/state")]
        common = {"JUMPBOX_STATE": "file:///tmp/state"}
        if s3 is not None:
            common = {"JUMPBOX_STATE": f"s3://{S3_BUCKET}/{S3_PREFIX}",
                      "AWS_ENDPOINT_URL_S3": s3.endpoint}
        benv = dict(common, JUMPBOX_MODULE="aws", JUMPBOX_MAX_TTL="30m",
                    JUMPBOX_ALLOWED_CIDRS="203.0.113.0/24", JUMPBOX_DEADLINE_RESERVE="20s")
        benv.update(build_env or {})
        u = img.unpacked
        self.h.add_function(BUILD, u.argv(binds=binds), u.lambda_env(BUILD, benv), timeout_s=120)
        self.h.add_function(CLEAN, u.argv(entry_point=CLEANER_ENTRY, binds=binds),
                            u.lambda_env(CLEAN, common), timeout_s=120)
        self.client = boto_lambda(self.h)

    def invoke(self, name, event):
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        body, ferr = invoke(self.client, name, payload)
        return json.loads(body), ferr

    def pid(self, name):
        return self.h.functions[name].proc.pid

    def leases(self):
        if self.s3 is None:
            return sorted(p.name for p in self.state.iterdir() if (p / "lease.json").exists())
        with self.s3.lock:
            keys = [k for k, v in self.s3.buckets[S3_BUCKET].items() if not v[-1].marker]
        return sorted(k.split("/")[1] for k in keys
                      if k.startswith(S3_PREFIX + "/") and k.endswith("/lease.json")
                      and k.count("/") == 2)

    def lease(self, sid):
        """The stack's lease as stored now."""
        if self.s3 is None:
            return json.loads((self.state / sid / "lease.json").read_text())
        versions = self.s3.buckets[S3_BUCKET][f"{S3_PREFIX}/{sid}/lease.json"]
        assert not versions[-1].marker
        return json.loads(versions[-1].body)

    def stop(self):
        pids = [p for fn in self.h.functions.values() if fn.proc
                for p in [fn.proc.pid] + sandboxed_pids(fn.proc.pid)]
        self.h.stop()
        shutil.rmtree(self.outer, ignore_errors=True)
        assert gone(pids) == [], "a sandboxed process outlived the harness"
        after = tree_listing(self.img.unpacked.rootfs)
        assert after == self.before, "something in the image's rootfs changed"


@pytest.fixture
def sandboxed(lambda_image, tmp_path):
    s = Sandboxed(lambda_image, tmp_path)
    yield s
    s.stop()


def test_a_cold_start_runs_as_lambda_does(sandboxed):
    doc, ferr = sandboxed.invoke(CLEAN, {"action": "sweep"})
    assert ferr is None, doc
    assert doc["examined"] == 0 and doc["stacks"] == []
    pid = entry_pid(sandboxed.pid(CLEAN))
    with open(f"/proc/{pid}/status") as f:
        ids = {ln.split(":")[0]: ln.split()[1:] for ln in f if ln.startswith(("Uid", "Gid"))}
    assert ids["Uid"] == [str(LAMBDA_UID)] * 4 and ids["Gid"] == [str(LAMBDA_UID)] * 4
    env = dict(e.split("=", 1) for e in
               Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in e)
    assert "HOME" not in env
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")
    assert env["JUMPBOX_TF_PLUGIN_DIR"] == "/opt/terraform/plugins"   # from the image's Env
    assert os.readlink(f"/proc/{pid}/exe") == "/var/task/bin/cleaner"
    st = os.statvfs(f"/proc/{pid}/root/tmp")
    assert st.f_blocks * st.f_frsize == TMP_BYTES
    # The root is read-only for it.
    mounts = {ln.split()[4]: ln.split()[5].split(",")
              for ln in Path(f"/proc/{pid}/mountinfo").read_text().splitlines()}
    assert "ro" in mounts["/"] and "rw" in mounts["/tmp"]


BAD_BUILD = [
    (b"not json", "event: not JSON"),
    ({}, "action: required"),
    ({"action": "create", "ttl": "2h", "allow_cidr": "203.0.113.7/32", "requester": "t",
      "recipient_key": X25519_B64}, "ttl: over this function's limit"),
    ({"action": "create", "ttl": "10m", "allow_cidr": "10.0.0.0/8", "requester": "t",
      "recipient_key": X25519_B64}, "allow_cidr: 10.0.0.0/8 is not inside"),
    ({"action": "create", "ttl": "10m", "allow_cidr": "203.0.113.7/32", "requester": "t",
      "recipient_key": "abc"}, "recipient_key: not a base64 X25519"),
]
BAD_CLEAN = [
    (b"{", "event: not JSON"),
    ({"action": "nuke"}, "action: unknown action"),
    ({"action": "destroy", "stack_id": "UPPER", "token": GOOD_TOKEN}, "stack_id: "),
    ({"action": "sweep", "stack_id": "jb-x"}, "stack_id: not used by sweep"),
]


def test_bad_events_get_errors_and_the_runtime_keeps_serving(sandboxed):
    for name, cases in ((BUILD, BAD_BUILD), (CLEAN, BAD_CLEAN)):
        pids = set()
        for event, msg in cases:
            doc, ferr = sandboxed.invoke(name, event)
            assert ferr == "Unhandled", doc
            assert doc["errorType"] == "jumpbox.InvalidRequest", doc
            assert doc["errorMessage"].startswith(msg), doc
            pids.add(sandboxed.pid(name))
        assert len(pids) == 1, "the runtime was restarted"  # one cold start, every event
        assert all(h["outcome"] == "error" for h in sandboxed.h.functions[name].history)
    assert sandboxed.leases() == []


def expired_leases(tmp, state, n_expired, n_live):
    """Leases of the local module as `provisioner create` writes them, with no
    Terraform state behind them (the host made and destroyed one to copy): a
    sweep runs the image's Terraform on the image's terraform/local for each."""
    work = {"JUMPBOX_WORK_DIR": str(tmp / "hostwork"), "XDG_STATE_HOME": str(tmp / "xdg")}
    host_state = tmp / "hoststate"
    host_state.mkdir(mode=0o700)
    made = run_json([bin_path("provisioner"), "create", "--ttl", "10m", "--state",
                     f"file://{host_state}"], env=work)
    template = json.loads((host_state / made["stack_id"] / "lease.json").read_text())
    run([bin_path("cleaner"), "destroy", "--stack-id", made["stack_id"], "--state",
         f"file://{host_state}"], env=work, check=0)
    sids = []
    for i in range(n_expired + n_live):
        sid = f"jb-sandbox{i:03d}"
        lease = json.loads(json.dumps(template))
        lease.update(stack_id=sid, status="ready", token_hash=hashlib.sha256(
            GOOD_TOKEN.encode()).hexdigest())
        if i < n_expired:
            lease["expires_at"] = "2001-01-01T00:00:00Z"
        lease["vars"]["stack_id"] = sid
        d = state / sid
        d.mkdir(mode=0o700)
        (d / "lease.json").write_text(json.dumps(lease))
        for p in (d, d / "lease.json"):
            os.chown(p, LAMBDA_UID, LAMBDA_UID)
        sids.append(sid)
    return sids


def test_sweep_and_destroy_through_the_image(sandboxed, tmp_path):
    sids = expired_leases(tmp_path, sandboxed.state, 2, 2)
    doc, ferr = sandboxed.invoke(CLEAN, {"action": "sweep"})
    assert ferr is None, doc
    assert sorted(s["stack_id"] for s in doc["stacks"]) == sids[:2]
    assert all(s["result"] == "destroyed" for s in doc["stacks"]), doc
    assert doc["examined"] == 4 and doc["failed"] == 0
    assert sandboxed.leases() == sids[2:]
    # A wrong token is denied, the right one destroys; same runtime process.
    pid = sandboxed.pid(CLEAN)
    doc, ferr = sandboxed.invoke(CLEAN, {"action": "destroy", "stack_id": sids[2],
                                         "token": "cd" * 32})
    assert ferr == "Unhandled" and doc["errorType"] == "jumpbox.Denied", doc
    doc, ferr = sandboxed.invoke(CLEAN, {"action": "destroy", "stack_id": sids[2],
                                         "token": GOOD_TOKEN})
    assert ferr is None and doc == {"stack_id": sids[2], "result": "destroyed"}, doc
    assert sandboxed.leases() == sids[3:]
    assert sandboxed.pid(CLEAN) == pid


class TmpPeak:
    """Samples the sandbox's /tmp while an invocation runs (from outside,
    through /proc/PID/root): the peak use in bytes, and every symlink seen
    under it with its target."""

    def __init__(self, pid_fn):
        self.pid_fn, self.peak, self.links = pid_fn, 0, {}
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                init = children(self.pid_fn())[0]
                used = tmp_used(self.pid_fn())
                self.peak = max(self.peak, used or 0)
                top = f"/proc/{init}/root/tmp/jumpbox"
                for dirpath, dirnames, filenames in os.walk(top):
                    for n in dirnames + filenames:
                        p = os.path.join(dirpath, n)
                        if os.path.islink(p):
                            self.links[os.path.relpath(p, top)] = os.readlink(p)
            except (OSError, IndexError, AttributeError):
                pass
            time.sleep(0.05)

    def done(self):
        self.stop.set()
        self.t.join()
        return self.peak


def test_a_failing_create_runs_terraform_from_the_image_and_rolls_back(lambda_image, tmp_path):
    """A create whose AWS calls are all refused but S3's: Terraform and the
    provider start from the image (init links the unpacked mirror, nothing
    is copied to /tmp), the apply fails, the error says why, and the runtime
    serves the next event.  EC2 refuses the rollback too, so it cannot show
    that no instance was left (an apply may fail with RunInstances in
    flight): the lease stays, failed and expired, for the sweeper.

    The aws module needs an s3:// state (its box publishes its host key
    there) and a box role id: the state is the versioned S3 double, which
    checks every signature against the execution role's keys, reached with
    AWS_ENDPOINT_URL_S3 by our S3 client (lease, audit) and Terraform's S3
    backend (state, lock file); every other endpoint (STS, EC2, SSM) is
    StsDenies, through AWS_ENDPOINT_URL."""
    sts = StsDenies()
    s3 = VersionedS3Double(buckets=(S3_BUCKET,), access_key=LAMBDA_VARS["AWS_ACCESS_KEY_ID"],
                           secret_key=LAMBDA_VARS["AWS_SECRET_ACCESS_KEY"]).start()
    s = Sandboxed(lambda_image, tmp_path, s3=s3,
                  build_env={"AWS_ENDPOINT_URL": sts.url, "JUMPBOX_BOX_ROLE_ID": BOX_ROLE_ID})
    try:
        s.invoke(BUILD, b"{}")  # cold start first, so the sampler has a pid
        peak = TmpPeak(lambda: s.pid(BUILD))
        doc, ferr = s.invoke(BUILD, {"action": "create", "ttl": "10m",
                                     "allow_cidr": "203.0.113.7/32", "requester": "sandbox",
                                     "recipient_key": X25519_B64})
        used = peak.done()
        assert ferr == "Unhandled", doc
        assert doc["errorType"] == "jumpbox.Failed", doc
        assert "terraform apply failed" in doc["errorMessage"], doc
        assert sts.calls > 0, "the provider never called AWS"
        assert "rollback failed too" in doc["errorMessage"], doc
        assert "kept for the sweeper" in doc["errorMessage"], doc
        (sid,) = s.leases()
        lease = s.lease(sid)
        assert lease["status"] == "failed", lease
        # Terraform's S3 backend ran against the double too: it took and
        # released its lock file beside the state.
        lock = s3.all_versions(S3_BUCKET, f"{S3_PREFIX}/{sid}/terraform.tfstate.tflock")
        assert [marker for _, _, marker in lock][-2:] == [False, True], s3.all_versions(S3_BUCKET)
        assert s3.verified == len(s3.requests), s3.requests  # every request signed right
        print(f"/tmp peak during a create: {used} bytes; symlinks: {peak.links}")
        assert 0 < used < 32 << 20, used   # the provider alone is hundreds of MB
        # terraform init linked the image's unpacked mirror instead of copying it.
        assert any(t.startswith("/opt/terraform/plugins/registry.terraform.io/hashicorp/aws/")
                   for t in peak.links.values()), peak.links
        doc, ferr = s.invoke(BUILD, {"action": "explode"})
        assert doc["errorType"] == "jumpbox.InvalidRequest"
        assert len({h["pid"] for h in s.h.functions[BUILD].history}) == 1
    finally:
        s.stop()
        s3.stop()
        sts.close()


# ---- pushing ------------------------------------------------------------------

class Registry:
    """A test fixture in place of ECR: Debian's docker-registry (the
    distribution reference implementation) on 127.0.0.1, plain HTTP, no login.
    It checks what skopeo uploads against the digests it names, as ECR does;
    ECR's own login, immutable tags, scanning and lifecycle are not here."""

    def __init__(self, tmp):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        cfg = tmp / "registry.yml"
        cfg.write_text(f"""version: 0.1
log: {{level: error}}
storage: {{filesystem: {{rootdirectory: {tmp / "registry"}}}}}
http: {{addr: "127.0.0.1:{self.port}"}}
""")
        self.log = open(tmp / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(cfg)],
                                     stdout=self.log, stderr=self.log)
        self.url = f"http://127.0.0.1:{self.port}"
        for _ in range(200):
            try:
                self.get("/v2/")
                return
            except OSError:
                time.sleep(0.05)
        self.close()
        raise RuntimeError("docker-registry did not start")

    def get(self, path, accept=None):
        import urllib.request
        req = urllib.request.Request(self.url + path)
        if accept:
            req.add_header("Accept", accept)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read(), dict(r.headers)

    def close(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def push(img, repo, **env):
    e = dict(os.environ, IMAGE_OUT=str(Path(img.layout).parent), REPO=repo,
             REGISTRY_LOGIN="0", REGISTRY_TLS_VERIFY="false", **env)
    return subprocess.run(["bash", str(ROOT / "packaging/push.sh")], env=e, capture_output=True,
                          text=True, timeout=600)


def test_push_stores_the_manifest_unchanged(lambda_image, tmp_path):
    reg = Registry(tmp_path)
    try:
        repo = f"127.0.0.1:{reg.port}/jumpbox"
        cp = push(lambda_image, repo)
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout.strip() == lambda_image.digest
        tag = lambda_image.digest.split(":")[1][:12]
        body, headers = reg.get(f"/v2/jumpbox/manifests/{tag}",
                                accept="application/vnd.oci.image.manifest.v1+json")
        assert headers["Docker-Content-Digest"] == lambda_image.digest
        assert headers["Content-Type"] == "application/vnd.oci.image.manifest.v1+json"
        algo, hexd = lambda_image.digest.split(":")
        assert body == Path(lambda_image.layout, "blobs", algo, hexd).read_bytes()
        # Read back by digest, as Lambda pulls it, every layer is there.
        for d in lambda_image.unpacked.manifest["layers"]:
            _, h = reg.get(f"/v2/jumpbox/blobs/{d['digest']}")
            assert int(h["Content-Length"]) == d["size"]
        # No repository given: a clear error.
        cp = push(lambda_image, "")
        assert cp.returncode != 0 and "REPO is not set" in cp.stderr
    finally:
        reg.close()


def test_build_says_clearly_what_is_missing(tmp_path):
    """The provider mirror reaches the build only through JUMPBOX_TF_PLUGIN_DIR;
    without it, or with a packed (zip) mirror, the build stops before it starts."""
    def build(**env):
        e = {k: v for k, v in os.environ.items() if k != "JUMPBOX_TF_PLUGIN_DIR"}
        e.update(IMAGE_OUT=str(tmp_path / "out"), **env)
        return subprocess.run(["bash", str(ROOT / "packaging/image.sh")], env=e,
                              capture_output=True, text=True, timeout=120)

    cp = build()
    assert cp.returncode == 1 and "JUMPBOX_TF_PLUGIN_DIR is not set" in cp.stderr, cp.stderr
    packed = tmp_path / "packed" / "registry.terraform.io" / "hashicorp" / "aws"
    packed.mkdir(parents=True)
    arch = {"x86_64": "amd64", "aarch64": "arm64"}[os.uname().machine]
    (packed / f"terraform-provider-aws_5.100.0_linux_{arch}.zip").write_bytes(b"PK")
    cp = build(JUMPBOX_TF_PLUGIN_DIR=str(tmp_path / "packed"))
    assert cp.returncode == 1 and "is a packed mirror" in cp.stderr, cp.stderr
    cp = build(JUMPBOX_TF_PLUGIN_DIR=str(tmp_path / "nowhere"))
    assert cp.returncode == 1 and "is not a directory" in cp.stderr, cp.stderr
    assert not (tmp_path / "out").exists()
