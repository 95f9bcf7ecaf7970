"""`make deb`: installed with dpkg into a scratch root, the package holds
exactly the installed tree plus its docs, depends by name on the libraries
the programs load (and not on Terraform), is lintian clean but for the
overrides it explains, and its programs run the local flow."""
import json
import os
import re
import shutil
import subprocess

import pytest

from support.hardening import assert_hardened
from support.installs import installed_files, make
from support.jbtest import ROOT, run
from support.localflow import Env, box_processes, ssh


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    base = tmp_path_factory.mktemp("deb")
    make(f"DEB_B={base / 'build'}", f"DIST={base / 'dist'}", "deb")
    (path,) = (base / "dist").glob("jumpbox_*.deb")
    yield path
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def root(deb, tmp_path_factory):
    """The package installed by dpkg into an empty root of its own."""
    r = tmp_path_factory.mktemp("debroot")
    (r / "var" / "lib" / "dpkg" / "updates").mkdir(parents=True)
    (r / "var" / "lib" / "dpkg" / "info").mkdir()
    (r / "var" / "lib" / "dpkg" / "status").write_text("")
    # The scratch root has no libraries: their dependencies are checked
    # against this machine below, not there.
    cp = subprocess.run(["dpkg", f"--root={r}", "--force-depends", "--force-not-root",
                         "--log=/dev/null", "--install", str(deb)],
                        capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    yield r
    shutil.rmtree(r, ignore_errors=True)


def field(deb, name):
    return subprocess.run(["dpkg-deb", "--field", str(deb), name], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_dpkg_installs_exactly_the_installed_tree_and_its_docs(root):
    cp = subprocess.run(["dpkg", f"--root={root}", "--listfiles", "jumpbox"],
                        capture_output=True, text=True, check=True)
    listed = sorted(p.lstrip("/") for p in cp.stdout.split() if not (root / p.lstrip("/")).is_dir())
    assert listed == sorted(installed_files("/usr", "/etc", man_suffix=".gz") + [
        "usr/share/doc/jumpbox/changelog.gz", "usr/share/doc/jumpbox/copyright",
        "usr/share/lintian/overrides/jumpbox"])
    status = subprocess.run(["dpkg", f"--root={root}", "--status", "jumpbox"],
                            capture_output=True, text=True, check=True).stdout
    assert "Status: install ok installed" in status
    assert re.search(r"^Conffiles:\n /etc/jumpbox/sweep.env [0-9a-f]{32}\n", status, re.M), status
    unit = (root / "usr/lib/systemd/system/jumpbox-sweep.service").read_text()
    assert "\nExecStart=/usr/bin/cleaner sweep --state ${JUMPBOX_STATE}\n" in unit
    assert "\nEnvironmentFile=/etc/jumpbox/sweep.env\n" in unit


def test_depends_names_every_library_the_programs_load_and_not_terraform(deb, root):
    depends = field(deb, "Depends")
    names = {d.strip().split()[0] for d in depends.split(",")}
    assert not any("terraform" in n for n in names), depends
    assert "Terraform" in field(deb, "Description")
    # Each library the ELF files name (NEEDED), and libcurl, which
    # lib/net/curl_dl.c dlopen()s, belongs to a package Depends names; what
    # those libraries need in turn is their own packages' business.
    sonames = set()
    for prog in ("usr/bin/provisioner", "usr/bin/cleaner", "usr/libexec/jumpbox/jumpbox-localbox"):
        dyn = subprocess.run(["readelf", "-d", str(root / prog)], capture_output=True,
                             text=True, check=True).stdout
        sonames |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", dyn))
    curl_h = (ROOT / "lib" / "net" / "curl_dl.h").read_text()
    sonames.add(re.search(r'#define JB_CURL_SONAME "([^"]+)"', curl_h).group(1))
    assert {"libssh2.so.1", "libsodium.so.23", "libcurl.so.4"} <= sonames
    cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    for so in sorted(sonames):
        lib = re.search(rf"^\s+{re.escape(so)} \(.*x86-64.*\) => (\S+)$", cache, re.M) or \
            re.search(rf"^\s+{re.escape(so)} .* => (\S+)$", cache, re.M)
        assert lib, f"{so}: not in the ld.so cache"
        real = subprocess.run(["readlink", "-f", lib.group(1)], capture_output=True,
                              text=True).stdout.strip()
        owner = subprocess.run(["dpkg", "-S", real], capture_output=True, text=True)
        if owner.returncode != 0:  # /lib and /usr/lib are one on a merged-/usr system
            owner = subprocess.run(["dpkg", "-S", real.replace("/usr/lib/", "/lib/", 1)],
                                   capture_output=True, text=True)
        pkg = owner.stdout.split(":")[0]
        assert pkg in names, f"{so} comes from {pkg!r}, which Depends ({depends}) lacks"


def test_the_packaged_programs_are_hardened(root):
    assert_hardened(root / "usr/bin/provisioner", root / "usr/bin/cleaner",
                    root / "usr/libexec/jumpbox/jumpbox-localbox")


def test_lintian_is_clean_but_for_the_overrides_it_explains(deb, tmp_path):
    # lintian leaves a temporary file (mldbm-elf-*) in its TMPDIR: this test's.
    cp = subprocess.run(["lintian", "--info", "--display-experimental", "--pedantic",
                         "--show-overrides", str(deb)], capture_output=True, text=True,
                        timeout=600, env=dict(os.environ, TMPDIR=str(tmp_path)))
    tags = [l for l in cp.stdout.splitlines() if re.match(r"[EWIPXC]: ", l)]
    assert cp.returncode == 0 and not tags, cp.stdout + cp.stderr
    # Every override is there for a tag lintian does report, with a reason.
    overridden = [l for l in cp.stdout.splitlines() if l.startswith("O: ")]
    lines = (ROOT / "packaging" / "debian" / "lintian-overrides").read_text().split("\n\n")
    rules = [b for b in lines if "jumpbox: " in b]
    assert len(overridden) == len(rules) > 0
    for block in rules:
        assert block.lstrip().startswith("#"), f"override without a reason: {block}"


def test_the_packaged_programs_run_the_local_flow(deb, root, tmp_path):
    version = field(deb, "Version")
    for name in ("provisioner", "cleaner"):
        out = run([str(root / "usr/bin" / name), "--version"], check=0).stdout.split()
        assert out[0] == name
        assert re.sub(r"-", ".", re.sub(r"-", "+git", out[1], count=1)) == version
    man = subprocess.run(["man", "--warnings", "-P", "cat", "-l",
                          str(root / "usr/share/man/man1/provisioner.1.gz")],
                         capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                              "MANWIDTH": "80"})
    assert man.returncode == 0 and man.stderr == "" and "provisioner create" in man.stdout
    # Stripped, hardened programs still make, open and destroy a box.
    e = Env(tmp_path, str(root / "usr/bin/provisioner"), str(root / "usr/bin/cleaner"))
    try:
        e.create("--ttl", "10m", "--stack-id", "deb-1", "--out", str(tmp_path / "out"))
        lease = json.loads((e.state_dir / "deb-1" / "lease.json").read_text())
        assert lease["vars"]["localbox_bin"] == str(root / "usr/libexec/jumpbox/jumpbox-localbox")
        r = ssh(tmp_path / "out" / "ssh_config", "deb-1", "true")
        assert r.returncode == 0, r.stderr
        assert '"destroyed"' in e.destroy("deb-1").stdout
    finally:
        e.cleanup()
    assert not box_processes(e.work)
