"""provisioner(1) and cleaner(1): they render without a warning, and they
cannot drift from the programs: every command and option the --help texts
name, every long option the sources accept, every environment variable the
code reads and every exit status is in the page."""
import re
import shutil
import subprocess

import pytest

from support.jbtest import ROOT, run

MAN = ROOT / "man"
PROGRAMS = {"provisioner": ("create", "list", "audit", "keygen", "request", "run"),
            "cleaner": ("destroy", "sweep", "reap", "request")}
SOURCES = {"provisioner": "provisioner/*.c", "cleaner": "cleaner/*.c"}
# Read by code but not settings anyone gives: the local box's host key (from
# Terraform to jumpbox-localbox), Lambda's own task root, PATH.
NOT_SETTINGS = {"JB_HOST_PRIVATE_KEY", "LAMBDA_TASK_ROOT", "PATH"}


def rendered(name):
    """The page as a reader sees it, without overstrike."""
    cp = subprocess.run(["mandoc", "-T", "ascii", str(MAN / f"{name}.1")],
                        capture_output=True, check=True)
    return re.sub(r".\x08", "", cp.stdout.decode())


def has_option(page, opt):
    """opt ("--ttl") as a word of its own: not a prefix of a longer one."""
    return re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", page) is not None


def help_texts(binary, name):
    texts = [run([binary, "--help"], check=0).stdout]
    for cmd in PROGRAMS[name]:
        texts.append(run([binary, cmd, "--help"], check=0).stdout)
    return texts


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_mandoc_lint_is_clean(name, tmp_path):
    # Cross references (Xr) are checked against a manpath holding both pages.
    (tmp_path / "man1").mkdir()
    for page in MAN.glob("*.1"):
        shutil.copy(page, tmp_path / "man1")
    cp = subprocess.run(["mandoc", "-T", "lint", "-W", "style", "-M",
                         f"{tmp_path}:/usr/share/man", str(MAN / f"{name}.1")],
                        capture_output=True, text=True)
    # mandoc also notes that Debian's man pages have no mandoc.db: not ours.
    ours = [l for l in cp.stderr.splitlines() if f"{name}.1:" in l]
    assert cp.returncode == 0 and not ours, cp.stderr


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_man_renders_without_warnings(name):
    cp = subprocess.run(["groff", "-ww", "-z", "-mandoc", str(MAN / f"{name}.1")],
                        capture_output=True, text=True)
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr
    cp = subprocess.run(["man", "--warnings", "-P", "cat", "-l", str(MAN / f"{name}.1")],
                        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                             "MANWIDTH": "80", "LANG": "C.UTF-8"})
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr
    assert "EXIT STATUS" in cp.stdout


def test_every_option_and_command_of_every_help_is_in_the_page(provisioner, cleaner):
    for name, binary in (("provisioner", provisioner), ("cleaner", cleaner)):
        page = rendered(name)
        commands = re.search(r"\nCOMMANDS\n(.*?)\n[A-Z]", page, re.S).group(1)
        synopsis = re.search(r"\nSYNOPSIS\n(.*?)\n[A-Z]", page, re.S).group(1)
        for cmd in PROGRAMS[name]:
            assert re.search(rf"^     {cmd}\b", commands, re.M), f"{name}(1): command {cmd}"
            assert f"{name} {cmd}" in synopsis, f"{name}(1) SYNOPSIS: {cmd}"
        for text in help_texts(binary, name):
            for opt in set(re.findall(r"--[a-z][a-z-]*", text)):
                assert has_option(page, opt), f"{name}(1) lacks {opt} (from --help)"


def test_every_long_option_the_sources_accept_is_in_the_page():
    for name, pattern in SOURCES.items():
        page = rendered(name)
        found = set()
        for src in ROOT.glob(pattern):
            found |= set(re.findall(r'\{"([a-z][a-z-]*)",\s*(?:no|required|optional)_argument',
                                    src.read_text()))
        assert found, f"no getopt tables found in {pattern}"
        for opt in sorted(found):
            assert has_option(page, f"--{opt}"), f"{name}(1) lacks --{opt} (accepted by {pattern})"


def test_every_setting_the_code_reads_is_in_a_page():
    pages = rendered("provisioner") + rendered("cleaner")
    read = set()
    for src in [p for d in ("lib", "provisioner", "cleaner", "localbox") for p in ROOT.glob(f"{d}/**/*.c")]:
        read |= set(re.findall(r'\b(?:getenv|jb_env|env)\("([A-Z][A-Z0-9_]+)"\)', src.read_text()))
    assert "JUMPBOX_MODULE_DIR" in read
    for var in sorted(read - NOT_SETTINGS):
        assert re.search(rf"\b{var}\b", pages), f"{var} is read by the code but in neither page"


def test_the_readme_environment_table_is_in_provisioner_1():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Environment", 1)[1].split("\n\n", 2)[1]
    names = set(re.findall(r"`((?:JUMPBOX|AWS)_[A-Z_]+)`", table))
    assert "JUMPBOX_TERRAFORM" in names
    page = rendered("provisioner")
    for var in sorted(names):
        assert re.search(rf"\b{var}\b", page), f"provisioner(1) lacks {var} (README Environment)"


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_exit_statuses_and_examples(name):
    page = rendered(name)
    status = re.search(r"\nEXIT STATUS\n(.*?)\n[A-Z]", page, re.S).group(1)
    for code in ("0", "1", "2"):
        assert re.search(rf"^     {code}\s", status, re.M), f"{name}(1): exit status {code}"
    assert "\nEXAMPLES\n" in page and "\nENVIRONMENT\n" in page and "\nFILES\n" in page
