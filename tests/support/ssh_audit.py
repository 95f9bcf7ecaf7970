"""ssh-audit (Debian's package) against a jump box's sshd: what it fails or
warns about, less the notes this project accepts, each with its reason."""
import re
import shutil
import subprocess

import pytest

# (algorithm, ssh-audit's words) this project accepts:
ACCEPTED = {
    # ssh-audit 2.5 (Debian 12) predates these names: notes about its own
    # age, not about the box.  sntrup761x25519-sha512 is OpenSSH's newer
    # name for the @openssh.com hybrid, kex-strict-* the Terrapin fix's
    # marker, mlkem768x25519-sha256 the hybrid OpenSSH 9.9 added.
    ("sntrup761x25519-sha512", "unknown algorithm"),
    ("kex-strict-s-v00@openssh.com", "unknown algorithm"),
    ("mlkem768x25519-sha256", "unknown algorithm"),
    # The post-quantum hybrid the issue asks for; OpenSSH's default since
    # 9.0, "experimental" only to ssh-audit releases older than that.
    ("sntrup761x25519-sha512@openssh.com", "using experimental algorithm"),
    # The readiness probe's MACs (lib/stack/ssh.h JB_SSH_PROBE_MACS): its
    # libssh2 1.10 has no encrypt-then-MAC MAC and no AEAD cipher.  OpenSSH
    # clients never pick them (they prefer the AEAD ciphers).
    ("hmac-sha2-512", "using encrypt-and-MAC mode"),
    ("hmac-sha2-256", "using encrypt-and-MAC mode"),
}
LINE = re.compile(r"^\((\w+)\) (\S+) -- \[(fail|warn)\] (.*)$")


def audit(host, port):
    """ssh-audit's batch output for HOST:PORT, and every [fail] or [warn]
    it has that is not ACCEPTED."""
    exe = shutil.which("ssh-audit")
    if exe is None:
        pytest.fail("ssh-audit is missing: tests/deps.sh installs it")
    cp = subprocess.run([exe, "-n", "-b", "-t", "20", "-p", str(port), host],
                        capture_output=True, text=True, timeout=120)
    assert "(gen) banner: SSH-2.0-OpenSSH" in cp.stdout, cp.stdout + cp.stderr
    bad = []
    for line in cp.stdout.splitlines():
        m = LINE.match(line.strip())
        if m and (m.group(2), m.group(4).strip()) not in ACCEPTED:
            bad.append(line.strip())
    if "(gen) compression: disabled" not in cp.stdout:
        bad.append("compression is enabled")
    return cp.stdout, bad
