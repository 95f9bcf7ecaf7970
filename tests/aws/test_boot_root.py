"""The booted stand-in's root (tests/support/boot_root.py) against what it
claims to be: Debian 13 with the package set of Debian's own EC2 image,
less what a container cannot run, plus what the fixture needs, each named.
No boot: the recipe's data, and the built root's dpkg status."""
import re

from support import boot_root as br

IMAGE = {p for ps in br.EC2_IMAGE.values() for p in ps}


def test_the_recipe_is_debians_ec2_image_less_what_a_container_cannot_run():
    assert br.SUITE == "trixie"
    assert br.UPSTREAM.startswith("GoCarrot/debian-cloud-images@")
    # Every package the image has is taken or left out with a reason; what
    # is left out is the image's, and nothing else leaves it.
    assert set(br.LEFT_OUT) <= IMAGE, set(br.LEFT_OUT) - IMAGE
    assert all(isinstance(r, str) and len(r) > 10 for r in br.LEFT_OUT.values()), br.LEFT_OUT
    assert set(br.TAKEN) == IMAGE - set(br.LEFT_OUT)
    # The fixture's own additions are named, with a reason, and are not the
    # image's (else they would be taken, or left out).
    assert all(len(r) > 10 for r in br.FIXTURE.values()), br.FIXTURE
    assert not set(br.FIXTURE) & IMAGE, set(br.FIXTURE) & IMAGE
    assert br.PACKAGES == sorted(set(br.TAKEN) | set(br.FIXTURE))
    # What the box itself runs on is the image's, not an extra.
    for p in ("cloud-init", "openssh-server", "curl", "awscli", "systemd-resolved"):
        assert p in br.TAKEN, p
    # The build installs exactly that set, on minbase, as the image's build.
    argv = br.mmdebstrap_argv("/nonexistent")
    (inc,) = [a for a in argv if a.startswith("--include=")]
    assert sorted(inc.split("=", 1)[1].split(",")) == br.PACKAGES
    assert "--variant=minbase" in argv and br.SUITE in argv


def installed(root):
    """Package names dpkg has installed in root."""
    text = (root / "var/lib/dpkg/status").read_text()
    out = set()
    for stanza in text.split("\n\n"):
        name = re.search(r"^Package: (\S+)$", stanza, re.M)
        status = re.search(r"^Status: .* installed$", stanza, re.M)
        if name and status:
            out.add(name.group(1))
    return out


def test_the_built_root_is_that_recipe(booted_root):
    have = installed(booted_root)
    assert set(br.PACKAGES) - have == set()
    # No dependency dragged in what was left out (a kernel, a boot loader...).
    assert set(br.LEFT_OUT) & have == set()
    assert not any(p.startswith(("linux-image", "grub", "initramfs-tools")) for p in have), \
        sorted(p for p in have if p.startswith(("linux-image", "grub", "initramfs")))
    os_release = (booted_root / "etc/os-release").read_text()
    assert 'VERSION_ID="13"' in os_release, os_release
    # As Debian's build leaves the image: no host keys, resolved's resolv.conf,
    # an empty machine-id (so no boot is a first boot: sshd-keygen.service,
    # ConditionFirstBoot, mints no keys beside the pinned one, as on the AMI).
    assert list((booted_root / "etc/ssh").glob("ssh_host_*")) == []
    assert (booted_root / "etc/machine-id").read_bytes() == b""
    assert (booted_root / "etc/resolv.conf").readlink().as_posix() == \
        "/run/systemd/resolve/resolv.conf"
