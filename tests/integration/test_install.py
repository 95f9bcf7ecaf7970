"""`make install` / `make uninstall`: the demo flow from the installed
programs with the source and build trees out of reach, the data directory
compiled in from PREFIX, JUMPBOX_MODULE_DIR over it, --version, DESTDIR."""
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile

import pytest

from support.hardening import assert_hardened
from support.installs import files_under, installed_files, make
from support.jbtest import ROOT, run
from support.localflow import Env, box_processes, copy_module, ssh


def clean_env():
    """The caller's environment minus anything pointing into the tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("JUMPBOX_") or k in ("JUMPBOX_TERRAFORM", "JUMPBOX_SSHD")}
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":")
                           if p and not p.startswith(str(ROOT)))
    return env


def module_dir(env, stack_id):
    """The module directory the stack's Terraform root calls."""
    workdir = env.work / "stacks" / stack_id
    root = json.loads((workdir / "main.tf.json").read_text())
    return (workdir / root["module"]["box"]["source"]).resolve()


@pytest.fixture
def flow(tmp_path):
    envs = []

    def make_env(bin_dir):
        e = Env(tmp_path, str(bin_dir / "provisioner"), str(bin_dir / "cleaner"))
        envs.append(e)
        return e
    yield make_env
    for e in envs:
        e.cleanup()
        assert not box_processes(e.work), "a test left a jump box running"


def test_demo_runs_from_the_installed_programs_alone(installed, tmp_path):
    """tests/demo.sh against PREFIX/bin, in a mount namespace where the
    source tree (and every build in it) and the scratch build are empty."""
    if os.geteuid() != 0:
        pytest.skip("hiding the trees takes a mount namespace, which takes root")
    demo = tmp_path / "demo.sh"
    shutil.copy(ROOT / "tests" / "demo.sh", demo)
    hide = f"mount -t tmpfs none {ROOT} && mount -t tmpfs none {installed.build}"
    cp = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                         f'{hide} && test -z "$(ls -A {ROOT})" && exec bash "$0" "$1"',
                         str(demo), str(installed.bin)],
                        cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
                        timeout=300)
    assert cp.returncode == 0, f"stdout:\n{cp.stdout}\nstderr:\n{cp.stderr}"
    assert "\nSSH-2.0-OpenSSH" in cp.stdout       # the forward through the box
    assert '"result":"destroyed"' in cp.stdout and "demo done" in cp.stdout


def test_programs_away_from_their_prefix_use_the_one_compiled_in(installed, flow, tmp_path):
    """Copied elsewhere, nothing is beside them: the modules and the helper
    can only come from the PREFIX the build was made for."""
    elsewhere = tmp_path / "elsewhere" / "bin"
    elsewhere.mkdir(parents=True)
    for name in ("provisioner", "cleaner"):
        shutil.copy2(installed.bin / name, elsewhere / name)
    e = flow(elsewhere)
    out = tmp_path / "out"
    e.create("--ttl", "10m", "--stack-id", "inst-1", "--out", str(out))
    lease = json.loads((e.state_dir / "inst-1" / "lease.json").read_text())
    assert lease["vars"]["localbox_bin"] == str(
        installed.prefix / "libexec" / "jumpbox" / "jumpbox-localbox")
    assert module_dir(e, "inst-1") == installed.prefix / "share" / "jumpbox" / "terraform" / "local"
    r = ssh(out / "ssh_config", "inst-1", "true")
    assert r.returncode == 0, r.stderr
    assert '"destroyed"' in e.destroy("inst-1").stdout


def test_module_dir_setting_wins_over_the_installed_modules(installed, flow, tmp_path):
    mods = copy_module(tmp_path, lambda name, text: text)
    e = flow(installed.bin)
    e.create("--ttl", "10m", "--stack-id", "inst-2",
             extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert module_dir(e, "inst-2") == (tmp_path / "modules" / "local").resolve()
    e.destroy("inst-2")
    # An explicit setting must be right: no falling back to the installed ones.
    _, cp = e.create("--stack-id", "inst-3", check=None,
                     extra_env={"JUMPBOX_MODULE_DIR": str(tmp_path / "nowhere")})
    assert cp.returncode != 0 and "JUMPBOX_MODULE_DIR" in cp.stderr
    assert e.stack_dirs() == []


def test_a_moved_install_tree_uses_its_own_files(installed, flow, tmp_path):
    """A DESTDIR staging tree (or a prefix moved elsewhere) runs from
    itself: ../share/jumpbox and ../libexec/jumpbox beside bin/ come first."""
    stage = tmp_path / "stage"
    make(f"B={installed.build}", f"PREFIX={installed.prefix}", f"DESTDIR={stage}", "install")
    moved = stage / str(installed.prefix).lstrip("/")
    e = flow(moved / "bin")
    e.create("--ttl", "10m", "--stack-id", "inst-4")
    lease = json.loads((e.state_dir / "inst-4" / "lease.json").read_text())
    assert lease["vars"]["localbox_bin"] == str(moved / "libexec" / "jumpbox" / "jumpbox-localbox")
    assert module_dir(e, "inst-4") == moved / "share" / "jumpbox" / "terraform" / "local"
    e.destroy("inst-4")


def test_release_build_is_hardened(installed):
    """`make` (and so `make install`) builds hardened programs:
    _FORTIFY_SOURCE, the strong stack protector, stack clash protection,
    PIE and full RELRO, read back from the installed binaries."""
    assert_hardened(installed.bin / "provisioner", installed.bin / "cleaner",
                    installed.prefix / "libexec" / "jumpbox" / "jumpbox-localbox", debug_info=True)


def test_version_is_git_describe(installed):
    want = make("version").stdout.strip()
    described = subprocess.run(["git", "describe", "--tags", "--match", "v[0-9]*", "--dirty"],
                               cwd=ROOT, capture_output=True, text=True)
    if described.returncode == 0:
        assert want == described.stdout.strip()[1:]
    else:  # no release tag yet: git describe's shape from a v0.0.0
        head = subprocess.run(["git", "rev-parse", "--short=7", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout.strip()
        assert re.fullmatch(rf"0\.0\.0-\d+-g{head}(-dirty)?", want), want
    for name in ("provisioner", "cleaner"):
        cp = run([str(installed.bin / name), "--version"], check=0)
        assert cp.stdout == f"{name} {want}\n" and cp.stderr == ""
        assert "--version" in run([str(installed.bin / name), "--help"], check=0).stdout


def test_version_as_root_in_a_clone_someone_else_owns(tmp_path):
    """`sudo make install` in a user's clone: git calls that "dubious
    ownership" and would leave the programs saying "unknown"."""
    if os.geteuid() != 0:
        pytest.skip("needs root, as `sudo make install` has")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    shutil.copy(ROOT / "packaging" / "version.sh", clone / "packaging" / "version.sh")
    subprocess.run(["chown", "-R", "54321:54321", str(clone)], check=True)
    refused = subprocess.run(["git", "describe", "--always"], cwd=clone, capture_output=True,
                             text=True)
    assert refused.returncode != 0 and "dubious ownership" in refused.stderr
    version = lambda d: subprocess.run(["sh", "packaging/version.sh", "--no-dirty"], cwd=d,
                                       capture_output=True, text=True, check=True).stdout
    assert version(clone) == version(ROOT) != "unknown\n"


def test_a_release_tarball_builds_programs_that_know_its_version(tmp_path):
    """make dist packs HEAD and a VERSION file; built from that tarball
    (no git), the programs say that version."""
    make(f"DIST={tmp_path}", "dist")
    (tarball,) = tmp_path.glob("jumpbox-*.tar.gz")
    with tarfile.open(tarball) as t:
        t.extractall(tmp_path / "x")
    (src,) = (tmp_path / "x").iterdir()
    version = (src / "VERSION").read_text().strip()
    assert tarball.name == f"jumpbox-{version}.tar.gz"
    assert not (src / ".git").exists() and "dirty" not in version
    make("all", cwd=src)
    for name in ("provisioner", "cleaner"):
        assert run([str(src / "build" / name), "--version"], check=0).stdout == f"{name} {version}\n"


def test_destdir_install_file_list_and_uninstall(installed, tmp_path):
    stage = tmp_path / "stage"
    args = (f"B={installed.build}", f"PREFIX={installed.prefix}", f"DESTDIR={stage}")
    make(*args, "install")
    prefix = str(installed.prefix)
    assert files_under(stage) == installed_files(prefix, prefix + "/etc")
    root = stage / prefix.lstrip("/")
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)
    assert mode(root / "bin" / "provisioner") == 0o755
    assert mode(root / "libexec" / "jumpbox" / "jumpbox-localbox") == 0o755
    assert mode(root / "share" / "jumpbox" / "terraform" / "local" / "main.tf") == 0o644
    env_file = root / "etc" / "jumpbox" / "sweep.env"
    assert mode(env_file) == 0o600
    # The aws module reaches the user data as ../../userdata, and that
    # reads its templates beside itself: all of it is there.
    aws = root / "share" / "jumpbox" / "terraform" / "aws"
    assert re.search(r'source\s*=\s*"\.\./\.\./userdata"', (aws / "main.tf").read_text())
    userdata = aws / ".." / ".." / "userdata"
    for ref in re.findall(r'\$\{path\.module\}/([\w.-]+)', (userdata / "main.tf").read_text()):
        assert (userdata / ref).is_file(), ref

    # An edited environment file is configuration: install keeps it,
    # uninstall leaves it.
    env_file.write_text("JUMPBOX_STATE=s3://bucket/boxes\n")
    make(*args, "install")
    assert env_file.read_text() == "JUMPBOX_STATE=s3://bucket/boxes\n"
    make(*args, "uninstall")
    assert files_under(stage) == [str(env_file.relative_to(stage))]
    env_file.unlink()
    make(*args, "install")
    make(*args, "uninstall")
    assert files_under(stage) == []
    for d in ("share/jumpbox", "libexec/jumpbox", "etc/jumpbox"):
        assert not (root / d).exists(), d
