"""Bad input exits 2 with one line naming the field, and creates nothing."""
import pytest

from jbtest import run
from localflow import Env, box_processes

CASES = [
    (["create", "--bogus"], "--bogus"),
    (["create", "--ttl"], "--ttl"),
    (["create", "--ttl", "abc"], "--ttl"),
    (["create", "--ttl", "0"], "--ttl"),
    (["create", "--ttl", "0s"], "--ttl"),
    (["create", "--ttl", "25h"], "--ttl"),
    (["create", "--ttl", "10x"], "--ttl"),
    (["create", "--ttl", "-5m"], "--ttl"),
    (["create", "--stack-id", "Bad_Id"], "--stack-id"),
    (["create", "--stack-id", "a" * 41], "--stack-id"),
    (["create", "--stack-id", "-lead"], "--stack-id"),
    (["create", "--stack-id", "../x"], "--stack-id"),
    (["create", "--allow-cidr", "10.0.0.1"], "--allow-cidr"),
    (["create", "--allow-cidr", "10.0.0.1/33"], "--allow-cidr"),
    (["create", "--allow-cidr", "10.0.0.1/8"], "--allow-cidr"),
    (["create", "--allow-cidr", "banana/32"], "--allow-cidr"),
    (["create", "--module", "gcp"], "--module"),
    (["create", "--module", "aws"], "--allow-cidr"),
    (["create", "--state", "s3://"], "--state"),
    (["create", "--state", "s3://b/../x"], "--state"),
    (["create", "--state", "file://relative/dir"], "--state"),
    (["create", "--state", "ftp://x"], "--state"),
    (["create", "--state", "file:///proc/no-such/dir"], "--state"),
    (["create", "extra-arg"], "extra-arg"),
    (["create", "--requester", "a\tb"], "--requester"),
    (["list", "--state", "nope"], "--state"),
    (["frobnicate"], "command"),
]


@pytest.mark.parametrize("args,field", CASES, ids=[" ".join(a)[:40] for a, _ in CASES])
def test_provisioner_bad_input(args, field, tmp_path, provisioner, cleaner):
    jb = Env(tmp_path, provisioner, cleaner)
    if args[0] == "create" and "--state" not in args:
        args = [args[0], "--state", jb.state] + args[1:]
    cp = run([provisioner] + args, env=jb.env, check=2)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], cp.stderr
    assert cp.stdout == ""
    assert jb.stack_dirs() == []
    assert not (jb.work / "stacks").exists()
    assert not box_processes(jb.work)


@pytest.mark.parametrize("args,field", [
    (["destroy"], "--stack-id"),
    (["destroy", "--stack-id", "UPPER"], "--stack-id"),
    (["destroy", "--stack-id", "ok", "--state", "s3://"], "--state"),
    (["sweep", "--what"], "--what"),
    (["sweep", "--state", "http://x"], "--state"),
    (["reap", "--grace", "soon"], "--grace"),
    (["reap", "--dry-run", "--state", "http://x"], "--state"),
    (["nope"], "command"),
])
def test_cleaner_bad_input(args, field, tmp_path, provisioner, cleaner):
    jb = Env(tmp_path, provisioner, cleaner)
    cp = run([cleaner] + args, env=jb.env, check=2)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], cp.stderr
    assert cp.stdout == ""


def test_help_everywhere(provisioner, cleaner):
    for b, cmds in ((provisioner, ["create", "list", "keygen"]), (cleaner, ["destroy", "sweep", "reap"])):
        assert "usage:" in run([b, "--help"], check=0).stdout
        for c in cmds:
            assert "usage:" in run([b, c, "--help"], check=0).stdout


def test_out_dir_that_holds_a_key_is_refused_before_anything(tmp_path, provisioner, cleaner):
    jb = Env(tmp_path, provisioner, cleaner)
    out = tmp_path / "o"
    out.mkdir()
    (out / "id_ed25519").write_text("mine")
    cp = run([provisioner, "create", "--state", jb.state, "--out", str(out)], env=jb.env,
             check=2)
    assert "--out" in cp.stderr
    assert (out / "id_ed25519").read_text() == "mine"
    assert jb.stack_dirs() == []
