"""provisioner keygen, checked by OpenSSH's own ssh-keygen."""
import os
import stat
import subprocess

from support.jbtest import run, run_json


def test_keygen_output_is_read_by_ssh_keygen(provisioner, tmp_path):
    out = tmp_path / "k"
    res = run_json([provisioner, "keygen", "--out", str(out), "--comment", "backup@vm1"])
    priv, pub = out / "id_ed25519", out / "id_ed25519.pub"
    assert stat.S_IMODE(os.stat(priv).st_mode) == 0o600
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(priv)], capture_output=True,
                             text=True, check=True).stdout.strip()
    assert derived.split()[:2] == res["public_key"].split()[:2]
    assert pub.read_text().strip() == res["public_key"]
    assert res["public_key"].endswith(" backup@vm1")
    for f in (priv, pub):
        fp = subprocess.run(["ssh-keygen", "-lf", str(f)], capture_output=True, text=True,
                            check=True).stdout.split()[1]
        assert fp == res["fingerprint"]


def test_keygen_never_overwrites(provisioner, tmp_path):
    run_json([provisioner, "keygen", "--out", str(tmp_path)])
    before = (tmp_path / "id_ed25519").read_bytes()
    cp = run([provisioner, "keygen", "--out", str(tmp_path)], check=2)
    assert "--out" in cp.stderr and len(cp.stderr.strip().splitlines()) == 1
    assert (tmp_path / "id_ed25519").read_bytes() == before


def test_keygen_bad_input_exits_2_naming_the_field(provisioner, tmp_path):
    for args, field in ((["keygen"], "--out"),
                        (["keygen", "--out", str(tmp_path / "x"), "--bogus"], "--bogus"),
                        (["keygen", "--out", str(tmp_path / "y"), "--comment", "a\nb"],
                         "--comment")):
        cp = run([provisioner] + args, check=2)
        assert field in cp.stderr
        assert cp.stdout == ""
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_help_on_every_command(provisioner):
    for args in (["--help"], ["keygen", "--help"]):
        cp = run([provisioner] + args, check=0)
        assert "usage:" in cp.stdout
