"""The whole flow on one machine: provisioner create -> Terraform ->
terraform/local -> a real sshd -> the real ssh client -> cleaner destroy."""
import os
import shutil
import stat
import subprocess
import time

import pytest

from support.jbtest import ROOT, run, wrapped_terraform
from support.forwarding import Echo, assert_jump_only
from support.ssh_audit import audit
from support.localflow import Env, box_processes, copy_module, race_env, race_results, ssh


@pytest.fixture
def jb(tmp_path, provisioner, cleaner):
    e = Env(tmp_path, provisioner, cleaner)
    yield e
    e.cleanup()
    assert not box_processes(e.work), "a test left a jump box running"


def secret_lines(private_key_text):
    """The base64 body lines of an OpenSSH private key."""
    return [l for l in private_key_text.splitlines() if l and not l.startswith("-----")]


def assert_no_secret_under(root, lines):
    for dirpath, _, files in os.walk(root):
        for name in files:
            data = open(os.path.join(dirpath, name), "rb").read().decode(errors="replace")
            for line in lines:
                assert line not in data, f"secret material in {dirpath}/{name}"


def test_create_ssh_list_destroy(jb, tmp_path):
    out = tmp_path / "out"
    res, cp = jb.create("--module", "local", "--ttl", "10m", "--stack-id", "flow-1",
                        "--out", str(out))
    # Progress is for people, on stderr; stdout is exactly one JSON object.
    assert "terraform apply" in cp.stderr and "ready" in cp.stderr
    for field in ("stack_id", "module", "host", "port", "user", "public_key",
                  "host_public_key", "host_fingerprint", "known_hosts", "expires_at"):
        assert res[field], field
    assert "private_key" not in res and res["stack_id"] == "flow-1"
    assert res["expires_at"].endswith("Z")

    key = out / "id_ed25519"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "teardown_token").stat().st_mode) == 0o600
    derived = subprocess.run(["ssh-keygen", "-y", "-f", str(key)], capture_output=True,
                             text=True, check=True).stdout.split()[:2]
    assert derived == res["public_key"].split()[:2]
    fp = subprocess.run(["ssh-keygen", "-lf", str(out / "known_hosts")], capture_output=True,
                        text=True, check=True).stdout.split()[1]
    assert fp == res["host_fingerprint"]

    # The real ssh client, strict host key checking, through the written
    # config: a login, and a jump box only (no command, shell or subsystem
    # runs on it; ssh -W goes through).
    r = ssh(out / "ssh_config", "flow-1", "true")
    assert r.returncode == 0, r.stderr
    echo = Echo()
    try:
        assert_jump_only(out / "ssh_config", "flow-1", echo)
    finally:
        echo.close()
    # Modern algorithms only, on the box as made and in the written config.
    report, bad = audit("127.0.0.1", res["port"])
    assert bad == [], report
    asked = subprocess.run(["ssh", "-G", "-F", str(out / "ssh_config"), "flow-1"],
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert "ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com" \
        in asked and "macs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com" in asked
    assert "compression no" in asked and "requesttty false" in asked
    kex = [ln for ln in asked if ln.startswith("kexalgorithms ")][0]
    assert "curve25519-sha256" in kex and "ecdh" not in kex and "diffie-hellman" not in kex, kex

    # A jump box: ProxyJump through it to itself works (TCP forwarding on).
    r = subprocess.run(["ssh", "-F", str(out / "ssh_config"), "-o", "BatchMode=yes",
                        "-J", "flow-1", "-o", f"HostKeyAlias=[127.0.0.1]:{res['port']}",
                        "-p", str(res["port"]), "-i", str(key),
                        "-o", f"UserKnownHostsFile={out / 'known_hosts'}",
                        f"{res['user']}@127.0.0.1", "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr

    leases = jb.leases()
    assert [l["stack_id"] for l in leases] == ["flow-1"]
    assert leases[0]["status"] == "ready" and leases[0]["expired"] is False

    # No private key anywhere but --out: not in state, logs, work dir.
    lines = secret_lines(key.read_text())
    assert_no_secret_under(jb.state_dir, lines)
    assert_no_secret_under(jb.work / "logs", lines)
    assert_no_secret_under(jb.work / "stacks", lines)
    state = (jb.state_dir / "flow-1" / "terraform.tfstate").read_text()
    assert "PRIVATE KEY" not in state and (out / "teardown_token").read_text() not in state

    cp = jb.destroy("flow-1")
    assert '"destroyed"' in cp.stdout
    assert not box_processes(jb.work)
    assert jb.stack_dirs() == []
    assert ssh(out / "ssh_config", "flow-1", "true").returncode != 0
    # Destroying what is already gone succeeds, and says so.
    cp = jb.destroy("flow-1")
    assert '"already_gone"' in cp.stdout and "already gone" in cp.stderr


def test_without_out_the_key_is_in_the_json(jb, tmp_path):
    res, _ = jb.create("--ttl", "10m", "--stack-id", "flow-2")
    key = tmp_path / "k"
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, res["private_key"].encode())
    os.close(fd)
    kh = tmp_path / "kh"
    kh.write_text(res["known_hosts"] + "\n")
    r = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                        "-o", f"UserKnownHostsFile={kh}", "-i", str(key), "-p",
                        str(res["port"]), f"{res['user']}@{res['host']}", "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    # The same login with someone else's host key pinned must fail.
    other = tmp_path / "other"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=0)
    kh.write_text(f"[{res['host']}]:{res['port']} " + (tmp_path / "other.pub").read_text())
    r = subprocess.run(["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
                        "-o", f"UserKnownHostsFile={kh}", "-i", str(key), "-p",
                        str(res["port"]), f"{res['user']}@{res['host']}", "true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "HOST IDENTIFICATION HAS CHANGED" in r.stderr
    jb.destroy("flow-2")


def test_ttl_tears_the_box_down_with_nobody_asking(jb, tmp_path):
    # A TTL that outlasts a create on a loaded machine (10 s did not: the
    # box's timer fired while the create was still probing).
    res, _ = jb.create("--ttl", "40s", "--stack-id", "flow-ttl", "--out", str(tmp_path / "o"))
    assert jb.stack_dirs() == ["flow-ttl"]
    assert jb.wait_gone("flow-ttl", timeout=240), "the TTL did not destroy the stack"
    log = (jb.work / "logs" / "flow-ttl.ttl.log").read_text()
    assert "TTL reached" in log
    assert '"destroyed"' in log
    assert jb.leases() == []
    # The box's timer is named in the audit record as the destroyer.
    assert [(r["reason"], r["result"]) for r in jb.audit() if r["event"] == "destroy"] == \
        [("ttl", "destroyed")]


def test_sweep_destroys_expired_leases_only(jb, tmp_path):
    jb.create("--ttl", "1h", "--stack-id", "keep")
    jb.create("--ttl", "1h", "--stack-id", "old")
    lease = jb.state_dir / "old" / "lease.json"
    text = lease.read_text()
    import json
    obj = json.loads(text)
    obj["expires_at"] = "2020-01-01T00:00:00Z"
    lease.write_text(json.dumps(obj))
    cp = jb.sweep()
    res = json.loads(cp.stdout)
    assert [s["stack_id"] for s in res["stacks"]] == ["old"]
    assert res["stacks"][0]["result"] == "destroyed"
    assert jb.stack_dirs() == ["keep"]
    assert len(box_processes(jb.work)) == 2  # keep's sshd and its timer
    jb.destroy("keep")


def test_host_key_mismatch_is_a_hard_error_and_rolls_back(jb, tmp_path):
    """A box that shows another host key than the one published for it (here:
    a public key put over the box's host_key.pub after it wrote it) is never
    trusted."""
    impostor = tmp_path / "impostor"
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(impostor)], check=0)
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        "    command = var.box_dir\n  }\n",
        "    command = var.box_dir\n  }\n"
        f'  provisioner "local-exec" {{\n    interpreter = ["/bin/cp", "-f", "{impostor}.pub"]\n'
        '    command     = "${var.box_dir}/host_key.pub"\n  }\n', 1))
    _, cp = jb.create("--ttl", "10m", "--stack-id", "mitm", check=1,
                      extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert "host key other than the pinned one" in cp.stderr
    assert "rollback" in cp.stderr
    assert not box_processes(jb.work)
    assert jb.stack_dirs() == []


def test_failure_after_apply_rolls_back(jb, tmp_path):
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        "value = var.ssh_port", 'value = "not-a-port"') if name == "outputs.tf" else t)
    _, cp = jb.create("--ttl", "10m", "--stack-id", "badout", check=1,
                      extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert "terraform output port" in cp.stderr
    assert cp.stdout == ""
    assert not box_processes(jb.work)
    assert jb.stack_dirs() == []


def test_failed_apply_rolls_back(jb, tmp_path):
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        '"--port", tostring(var.ssh_port)', '"--port", "0"'))
    _, cp = jb.create("--ttl", "10m", "--stack-id", "badapply", check=1,
                      extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert "terraform apply failed" in cp.stderr and "log:" in cp.stderr
    assert jb.stack_dirs() == []
    assert not box_processes(jb.work)


def test_failed_destroy_keeps_the_lease_for_the_sweeper(jb, tmp_path):
    jb.create("--ttl", "1h", "--stack-id", "sticky")
    # A terraform that refuses to destroy: a test stand-in, not the product.
    fake = wrapped_terraform(tmp_path, "terraform-no-destroy",
                             "if 'destroy' in sys.argv: sys.exit('refusing to destroy')")
    cp = jb.destroy("sticky", check=1, extra_env={"JUMPBOX_TERRAFORM": fake})
    assert "terraform destroy failed" in cp.stderr
    leases = jb.leases()
    assert [l["stack_id"] for l in leases] == ["sticky"]
    assert leases[0]["status"] == "failed" and leases[0]["expired"] is True
    assert box_processes(jb.work)  # still running: the sweeper's job now
    res = __import__("json").loads(jb.sweep().stdout)
    assert res["stacks"] == [{"stack_id": "sticky", "result": "destroyed"}]
    assert not box_processes(jb.work) and jb.stack_dirs() == []


def test_stack_id_in_use_is_refused(jb):
    jb.create("--ttl", "10m", "--stack-id", "twice")
    _, cp = jb.create("--ttl", "10m", "--stack-id", "twice", check=2)
    assert cp.stderr.startswith("provisioner create: --stack-id:")
    assert len(box_processes(jb.work)) == 2
    jb.destroy("twice")


def test_interrupt_during_create_rolls_back(jb, tmp_path):
    """Ctrl-C while Terraform works: stop, destroy what was made, exit 1."""
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        "resource \"terraform_data\" \"box\" {",
        "resource \"terraform_data\" \"slow\" {\n  provisioner \"local-exec\" {\n"
        "    interpreter = [\"/bin/sleep\"]\n    command = \"30\"\n  }\n}\n\n"
        "resource \"terraform_data\" \"box\" {").replace(
        "depends_on = [terraform_data.teardown]",
        "depends_on = [terraform_data.teardown, terraform_data.slow]"))
    env = dict(os.environ, **jb.env, JUMPBOX_MODULE_DIR=mods)
    p = subprocess.Popen([jb.provisioner, "create", "--state", jb.state, "--ttl", "10m",
                          "--stack-id", "intr"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while time.time() < deadline and "terraform apply" not in "".join(
            open(jb.work / "logs" / "intr.log").readlines() if (jb.work / "logs" / "intr.log").exists() else []):
        time.sleep(0.2)
    time.sleep(2)
    p.send_signal(2)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1, err
    assert "stopped" in err and "rollback" in err
    assert jb.stack_dirs() == []
    assert not box_processes(jb.work)


def audit_events(path):
    import json
    return [(e["event"], e.get("stack_id")) for e in
            map(json.loads, path.read_text().splitlines())] if path.exists() else []


def test_audit_log_on_a_fresh_work_dir(jb, tmp_path):
    """The first run on a machine (no work dir yet) logs like any other:
    the log was opened before the directory existed, and silently lost."""
    assert not jb.work.exists()
    jb.create("--ttl", "10m", "--stack-id", "audit-1")
    assert audit_events(jb.work / "audit.log") == [("create.start", "audit-1"),
                                                   ("create.ready", "audit-1")]
    # A destroy from another machine: a work dir of its own, fresh too.
    other = tmp_path / "other-work"
    jb.destroy("audit-1", extra_env={"JUMPBOX_WORK_DIR": str(other)})
    assert audit_events(other / "audit.log") == [("destroy.start", "audit-1"),
                                                 ("destroy.done", "audit-1")]


def test_template_characters_in_the_state_and_module_paths(jb, tmp_path):
    """Terraform reads backend settings and a module's source as they are,
    never as templates: "${" there must not be escaped, or the state goes to
    a directory the lease does not name (and the module is not found)."""
    state_dir = tmp_path / "st${x}%{y}"
    mods = copy_module(tmp_path / "m${z}", lambda name, t: t)
    jb.state_dir, jb.state = state_dir, f"file://{state_dir}"
    jb.create("--ttl", "10m", "--stack-id", "tmpl", extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert sorted(p.name for p in (state_dir / "tmpl").iterdir()) == ["lease.json",
                                                                      "terraform.tfstate"]
    assert [p.name for p in tmp_path.iterdir() if "$$" in p.name or "%%" in p.name] == []
    assert len(box_processes(jb.work)) == 2
    cp = jb.destroy("tmpl", extra_env={"JUMPBOX_MODULE_DIR": mods})
    assert '"destroyed"' in cp.stdout
    assert not box_processes(jb.work) and jb.stack_dirs() == []


RIVAL_FILES = """import os, sys
for name in sys.argv[2:]:
    fd = os.open(os.path.join(sys.argv[1], name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, b"the winner's " + name.encode())
    os.close(fd)
"""


def test_out_dir_shared_by_two_runs_keeps_the_winners_files(jb, tmp_path):
    """Two creates with one --out: the other run (the rival, staged while our
    Terraform applies) wrote its ssh_config and teardown_token first.  We
    fail on ssh_config and remove only what we wrote, never the other
    run's files, whose box keeps running with them."""
    out = tmp_path / "shared"
    rival = ["/usr/bin/python3", "-c", RIVAL_FILES, out, "ssh_config", "teardown_token"]
    _, cp = jb.create("--ttl", "10m", "--stack-id", "loser", "--out", str(out), check=1,
                      extra_env=race_env(tmp_path, "apply", "after", rival))
    assert race_results(tmp_path)[0]["exit"] == 0, cp.stderr
    assert "ssh_config: File exists" in cp.stderr, cp.stderr
    assert sorted(p.name for p in out.iterdir()) == ["ssh_config", "teardown_token"]
    for name in ("ssh_config", "teardown_token"):
        assert (out / name).read_text() == "the winner's " + name
    assert jb.stack_dirs() == [] and not box_processes(jb.work)


def box_pids(work, stack_id):
    """pid of the sshd serving stack_id's box (from its own pid file)."""
    return int((work / "boxes" / stack_id / "sshd.pid").read_text())


def test_destroy_stops_sshd_even_when_the_box_dir_is_gone(jb):
    """The box directory (pid files, config) removed behind our back: the
    destroy still finds and stops the box's sshd and timer instead of
    reporting "destroyed" over a box that still runs."""
    jb.create("--ttl", "10m", "--stack-id", "nodir")
    assert len(box_processes(jb.work)) == 2
    shutil.rmtree(jb.work / "boxes" / "nodir")
    cp = jb.destroy("nodir")
    assert '"destroyed"' in cp.stdout
    assert not box_processes(jb.work)
    assert jb.stack_dirs() == []


def test_destroy_stops_only_its_own_box_not_one_whose_name_extends_it(jb):
    """boxes/ab is not boxes/abc: a stale pid in ab's pid file that now
    names abc's sshd (pid reuse, staged here by writing it) is not ab's."""
    jb.create("--ttl", "10m", "--stack-id", "ab")
    jb.create("--ttl", "10m", "--stack-id", "abc")
    ab, abc = box_pids(jb.work, "ab"), box_pids(jb.work, "abc")
    os.kill(ab, 15)
    while any(pid == ab for pid, _ in box_processes(jb.work)):
        time.sleep(0.1)
    (jb.work / "boxes" / "ab" / "sshd.pid").write_text(f"{abc}\n")
    jb.destroy("ab")
    assert any(pid == abc for pid, _ in box_processes(jb.work)), "abc's sshd was stopped"
    assert jb.stack_dirs() == ["abc"]
    jb.destroy("abc")
    assert not box_processes(jb.work)


def test_destroy_stops_a_timer_that_no_pid_file_names(jb):
    """`up` killed between forking its TTL timer and writing timer.pid
    (seen in the fault matrix: the provisioner SIGKILLed inside local-exec)
    leaves a timer no pid file names; staged here by removing timer.pid.
    The destroy stops it too, instead of leaving it to wake at the TTL and
    run a cleaner for a stack that is gone."""
    jb.create("--ttl", "10m", "--stack-id", "nopid")
    assert len(box_processes(jb.work)) == 2
    (jb.work / "boxes" / "nopid" / "timer.pid").unlink()
    jb.destroy("nopid")
    assert not box_processes(jb.work), "the unnamed timer outlived its stack"
    assert jb.stack_dirs() == []



def inits(jb, stack_id):
    return (jb.work / "logs" / f"{stack_id}.log").read_text().count(
        "==== jumpbox: terraform init ====")


def test_one_init_per_work_dir_unless_its_terraform_changed_or_a_teardown_failed(jb):
    """A destroy on the machine that made the stack finds the work dir its
    create initialised for the same configuration and runs no second init.
    Another Terraform inits again; and a teardown that failed forgets the
    init, so its retry does not trust what that init left."""
    jb.create("--ttl", "10m", "--stack-id", "once")
    cp = jb.destroy("once")
    assert "terraform init: done already in this work directory" in cp.stderr
    assert inits(jb, "once") == 1

    fake = {"JUMPBOX_TERRAFORM": str(ROOT / "tests" / "support" / "fake_terraform.py"),
            "JUMPBOX_REAL_TERRAFORM": shutil.which("terraform")}
    jb.create("--ttl", "10m", "--stack-id", "again")
    cp = jb.destroy("again", check=1, extra_env=dict(fake, JUMPBOX_FAULT="destroy:fail"))
    assert "terraform destroy failed" in cp.stderr
    assert inits(jb, "again") == 2  # another Terraform: init again
    jb.destroy("again", extra_env=fake)
    assert inits(jb, "again") == 3  # the failed teardown forgot its init
    assert jb.stack_dirs() == []
