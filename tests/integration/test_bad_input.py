"""Bad input exits 2 with one line naming the field, and creates nothing."""
import pytest

from support.jbtest import run
from support.localflow import Env, box_processes

CASES = [
    (["create", "--bogus"], "--bogus"),
    (["create", "--ttl"], "--ttl"),
    (["create", "--ttl", "abc"], "--ttl"),
    (["create", "--ttl", "0"], "--ttl"),
    (["create", "--ttl", "0s"], "--ttl"),
    (["create", "--ttl", "25h"], "--ttl"),
    # Expired before the box could be up: refused, not a create that fails.
    (["create", "--ttl", "1s"], "--ttl"),
    (["create", "--ttl", "9s"], "--ttl"),
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
    # The local box is reached from 127.0.0.1 only (a bounded probe, should
    # a create start after all).
    (["create", "--allow-cidr", "10.0.0.0/8", "--ready-timeout", "5s"], "--allow-cidr"),
    (["create", "--allow-cidr", "::1/128", "--ready-timeout", "5s"], "--allow-cidr"),
    (["create", "--module", "gcp"], "--module"),
    (["create", "--module", "aws"], "--allow-cidr"),
    (["create", "--state", "s3://"], "--state"),
    (["create", "--state", "s3://b/../x"], "--state"),
    (["create", "--state", "file://relative/dir"], "--state"),
    (["create", "--state", "ftp://x"], "--state"),
    (["create", "--state", "file:///proc/no-such/dir"], "--state"),
    (["create", "--state", 'file:///tmp/a"b'], "--state"),
    (["create", "--state", "file:///tmp/a\nb"], "--state"),
    (["create", "--state", "file:///tmp/a\\b"], "--state"),
    (["create", "--state", 's3://bucket/a"b'], "--state"),
    (["create", "extra-arg"], "extra-arg"),
    (["create", "--requester", "a\tb"], "--requester"),
    (["create", "--permit-open", "nas"], "--permit-open: not HOST:PORT"),
    (["create", "--permit-open", "nas:0"], "--permit-open: port must be"),
    (["create", "--permit-open", "nas:65536"], "--permit-open: port must be"),
    (["create", "--permit-open", "*:22"], "--permit-open: host must be"),
    (["create", "--permit-open", "*.example.com:22"], "--permit-open: host must be"),
    (["create", "--permit-open", "fd00::1:22"], "--permit-open: an IPv6 address needs brackets"),
    (["create", "--permit-open", "[fd00::1%eth0]:22"], "--permit-open: host must be"),
    (["create", "--permit-open", 'a"b:22'], "--permit-open: host must be"),
    (["create", "--permit-open", "a b:22"], "--permit-open: host must be"),
    (["create", "--permit-open", "a,b:22"], "--permit-open: host must be"),
    (["create", "--permit-open", "a" * 254 + ":22"], "--permit-open: host must be"),
    (["create"] + [a for p in range(1, 18) for a in ("--permit-open", f"nas:{p}")],
     "--permit-open: more than 16 targets"),
    (["request", "--function", "f", "--allow-cidr", "127.0.0.1/32", "--permit-open", "nas"],
     "--permit-open: not HOST:PORT"),
    (["list", "--state", "nope"], "--state"),
    (["audit", "--state", "nope"], "--state"),
    (["audit", "--since", "last week"], "--since"),
    (["audit", "--stack-id", "audit"], "--stack-id"),
    (["create", "--stack-id", "audit"], "--stack-id"),
    (["request", "--function", "f", "--ttl", "1s", "--allow-cidr", "127.0.0.1/32"], "--ttl"),
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


@pytest.mark.parametrize("value,why", [("abc", "'abc' is not a duration"),
                                       ("", "empty duration"), ("2h", "at most 1h")])
def test_ready_timeout_names_what_is_wrong(value, why, tmp_path, provisioner, cleaner):
    """The reason printed is the parse error itself (it was chosen by
    reading the unparsed, uninitialised value: valgrind saw it)."""
    jb = Env(tmp_path, provisioner, cleaner)
    cp = run([provisioner, "create", "--state", jb.state, "--ready-timeout", value],
             env=jb.env, check=2)
    assert cp.stderr == f"provisioner create: --ready-timeout: {why}" + (
        " (use e.g. 90s, 10m, 2h)\n" if why != "at most 1h" else "\n")
    assert jb.stack_dirs() == []


def test_help_everywhere(provisioner, cleaner):
    for b, cmds in ((provisioner, ["create", "list", "audit", "keygen"]), (cleaner, ["destroy", "sweep", "reap"])):
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


def _regular_file(tmp):
    (tmp / "file").write_text("not a directory")
    return tmp / "file"


def _dangling_symlink(tmp):
    (tmp / "link").symlink_to(tmp / "nowhere")
    return tmp / "link"


def _dangling_key_link(tmp):
    (tmp / "o").mkdir()
    (tmp / "o" / "id_ed25519").symlink_to(tmp / "nowhere")
    return tmp / "o"


def _percent(tmp):
    return tmp / "o%h"


def _percent_in_a_parent(tmp):
    (tmp / "p%d").mkdir()
    (tmp / "q").symlink_to(tmp / "p%d")
    return tmp / "q" / "o"


OUT_DIRS = [(_regular_file, "not a directory"),
            (_dangling_symlink, "No such file"),
            (_dangling_key_link, "already exists"),
            (_percent, "'%'"),
            (_percent_in_a_parent, "'%'")]


@pytest.mark.parametrize("make,why", OUT_DIRS, ids=[m.__name__[1:] for m, _ in OUT_DIRS])
def test_unusable_out_dir_is_refused_before_anything(make, why, tmp_path, provisioner, cleaner):
    """An --out that cannot take the files (a regular file, a dangling
    symlink where a file goes, a '%' that ssh would expand in the written
    ssh_config) is bad input, not a failure after a whole create."""
    jb = Env(tmp_path, provisioner, cleaner)
    out = make(tmp_path)
    cp = run([provisioner, "create", "--state", jb.state, "--ttl", "5m", "--out", str(out)],
             env=jb.env, check=2)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provisioner create: --out: "), cp.stderr
    assert why in lines[0], cp.stderr
    assert jb.stack_dirs() == [] and not (jb.work / "stacks").exists()
    if make is _dangling_key_link:
        assert (out / "id_ed25519").is_symlink()


MODULE_VARS = [
    # 64 KiB of inputs made a lease that list, destroy and sweep could not read.
    ('{"pad": "' + "x" * 60000 + '"}', "larger than 16384 bytes"),
    ('{"tags": {"a": "b"}}', "tags: not a string, number or boolean"),
    ('{"source": "../evil"}', "source: not a module input"),
    # Only through --permit-open, validated, as a list.
    ('{"permit_open": "10.0.0.1:22"}', "permit_open: not a module input"),
    # Only through JUMPBOX_MAX_TTL, the cap the lease keeps too.
    ('{"max_ttl_seconds": 600}', "max_ttl_seconds: not a module input"),
    ('[1, 2]', "not a JSON object"),
]


@pytest.mark.parametrize("text,why", MODULE_VARS,
                         ids=["huge", "nested", "source", "permit_open", "max_ttl", "array"])
def test_bad_module_vars_are_refused_before_anything(text, why, tmp_path, provisioner, cleaner):
    jb = Env(tmp_path, provisioner, cleaner)
    (tmp_path / "vars.json").write_text(text)
    cp = run([provisioner, "create", "--state", jb.state, "--ttl", "5m", "--stack-id", "mv"],
             env=dict(jb.env, JUMPBOX_MODULE_VARS=str(tmp_path / "vars.json")), check=None)
    if cp.returncode == 0:  # before the fix: a box with an unreadable lease
        run([cleaner, "destroy", "--state", jb.state, "--stack-id", "mv"], env=jb.env)
    assert cp.returncode == 2, cp.stderr
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("provisioner create: JUMPBOX_MODULE_VARS: ")
    assert why in lines[0], cp.stderr
    assert jb.stack_dirs() == [] and not box_processes(jb.work)
