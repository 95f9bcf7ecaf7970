"""userdata/: the cloud-config rendered by Terraform itself (the same module
terraform/aws uses), then checked with the real tools: cloud-init's schema,
shellcheck, systemd-analyze verify, sshd -t, and the teardown script run
against a stand-in `aws` that records what it was asked."""
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from support import tf_offline as tfo
from support.ssh_audit import audit

# Every top-level key the template may use.  `cloud-init schema` does not
# flag unknown top-level keys, so this list is the check for typos.
ALLOWED_TOP_KEYS = {
    "ssh_deletekeys", "ssh_keys", "disable_root", "allow_public_ssh_keys",
    "users", "bootcmd", "write_files", "runcmd",
}


def need(tool):
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if not path:
        pytest.fail(f"{tool} is missing: run tests/deps.sh")
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("userdata")
    inputs = tfo.box_inputs(tmp)
    text = tfo.render_userdata(tmp, inputs)
    (tmp / "cloud-config.yaml").write_text(text)
    yield {"tmp": tmp, "inputs": inputs, "text": text, "doc": yaml.safe_load(text),
           "path": tmp / "cloud-config.yaml"}
    shutil.rmtree(tmp, ignore_errors=True)  # its keys, token and .terraform


def files_of(doc):
    return {f["path"]: f for f in doc["write_files"]}


def test_cloud_config_passes_cloud_init_schema(rendered):
    cp = subprocess.run([need("cloud-init"), "schema", "--config-file", str(rendered["path"])],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "Valid cloud-config" in cp.stdout


def test_schema_check_rejects_a_broken_config(rendered, tmp_path):
    # The check above must be able to fail.  (An empty ssh_genkeytypes is
    # also why the template leaves that key out.)
    bad = dict(rendered["doc"], ssh_genkeytypes=[])
    p = tmp_path / "bad.yaml"
    p.write_text("#cloud-config\n" + yaml.safe_dump(bad))
    cp = subprocess.run([need("cloud-init"), "schema", "--config-file", str(p)],
                        capture_output=True, text=True)
    assert cp.returncode != 0


def test_top_level_keys_are_known(rendered):
    assert rendered["text"].startswith("#cloud-config\n")
    keys = set(rendered["doc"])
    assert keys <= ALLOWED_TOP_KEYS, f"unknown top-level keys: {keys - ALLOWED_TOP_KEYS}"
    assert {"ssh_keys", "users", "write_files", "runcmd"} <= keys


def test_host_key_user_and_hardening(rendered):
    doc, inputs = rendered["doc"], rendered["inputs"]
    assert doc["ssh_keys"]["ed25519_private"] == inputs["host_private_key_text"]
    assert doc["ssh_keys"]["ed25519_public"] == inputs["host_public_key"]
    assert doc["ssh_deletekeys"] is True
    # No ssh_pwauth: it makes cloud-init restart sshd after the box answers
    # (tests/aws/test_boot.py); the drop-in refuses passwords instead.
    assert "ssh_pwauth" not in doc and doc["disable_root"] is True
    assert doc["allow_public_ssh_keys"] is False
    (user,) = doc["users"]  # no "default": no ec2-user
    assert user["name"] == "jump"
    assert user["ssh_authorized_keys"] == [inputs["public_key"]]
    assert user["lock_passwd"] is True
    assert "sudo" not in user and "groups" not in user
    assert ["systemctl", "set-property", "user.slice",
            "IPAddressDeny=169.254.169.254/32 fd00:ec2::254/128"] in doc["bootcmd"]


def test_bootcmd_masks_sshd_keygen_only_where_the_template_is(rendered, tmp_path):
    # AL2023's sshd-keygen@ would mint RSA and ECDSA keys beside the pinned
    # one; masking reloads systemd before sshd starts (about 0.5 s of a
    # boot, bench/RESULTS-boot.md), so Debian, which has no such units,
    # must not pay it.  Run the entry with a stand-in systemctl over an
    # empty unit directory, then one holding the template.
    (cmd,) = [c for c in rendered["doc"]["bootcmd"] if "mask" in " ".join(map(str, c))]
    stub = tmp_path / "bin"
    stub.mkdir()
    log = tmp_path / "calls"
    (stub / "systemctl").write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    (stub / "systemctl").chmod(0o755)
    calls = {}
    for present in (False, True):
        log.write_text("")
        setup = ("mount -t tmpfs jbtest /usr/lib/systemd/system && "
                 + (": > /usr/lib/systemd/system/sshd-keygen@.service && " if present else "")
                 + 'exec "$@"')
        cp = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", setup,
                             "sh", *cmd], capture_output=True, text=True,
                            env={"PATH": f"{stub}:/usr/sbin:/usr/bin:/sbin:/bin"})
        assert cp.returncode == 0, cp.stderr
        calls[present] = log.read_text()
    assert calls == {False: "", True: "mask sshd-keygen@rsa.service sshd-keygen@ecdsa.service\n"}


def test_teardown_token_file_is_root_only(rendered):
    f = files_of(rendered["doc"])["/etc/jumpbox/teardown-token"]
    assert f["permissions"] == "0600" and f["owner"] == "root:root"
    assert f["content"] == tfo.TOKEN


def test_sshd_dropin_is_valid_and_hardened(rendered, tmp_path):
    sshd = need("sshd")
    conf = files_of(rendered["doc"])["/etc/ssh/sshd_config.d/00-jumpbox.conf"]
    assert conf["permissions"] == "0600"
    hk = tmp_path / "host_key"
    hk.write_text(rendered["inputs"]["host_private_key_text"])
    hk.chmod(0o600)
    p = tmp_path / "sshd_config"
    p.write_text(conf["content"].replace("/etc/ssh/ssh_host_ed25519_key", str(hk)))
    if not os.path.isdir("/run/sshd"):
        try:
            os.makedirs("/run/sshd", mode=0o755)  # sshd -t insists on its privsep dir
        except PermissionError:
            pytest.skip("sshd -t needs /run/sshd, which is missing and cannot be made")
    cp = subprocess.run([sshd, "-t", "-f", str(p)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    cp = subprocess.run([sshd, "-T", "-f", str(p), "-C", "user=jump,host=h,addr=203.0.113.7"],
                        capture_output=True, text=True, check=True)
    eff = dict(ln.split(" ", 1) for ln in cp.stdout.splitlines() if " " in ln)
    want = {
        "port": "22", "passwordauthentication": "no", "kbdinteractiveauthentication": "no",
        "permitrootlogin": "no", "allowagentforwarding": "no", "x11forwarding": "no",
        "allowtcpforwarding": "local", "permittunnel": "no", "allowstreamlocalforwarding": "no",
        "gatewayports": "no", "logingracetime": "20", "loglevel": "DEBUG",
        "hostkeyalgorithms": "ssh-ed25519", "authenticationmethods": "publickey",
        "allowusers": "jump", "permituserenvironment": "no",
        # A jump box forwards and does nothing else: no command, shell,
        # subsystem or TTY.
        "forcecommand": "/bin/true", "permittty": "no", "compression": "no",
        "ciphers": "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
                   "aes256-ctr,aes128-ctr",
        "macs": "hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
                "hmac-sha2-512,hmac-sha2-256",
    }
    assert {k: eff.get(k) for k in want} == want
    assert "ecdh" not in eff["kexalgorithms"] and "diffie-hellman" not in eff["kexalgorithms"]


def test_sshd_dropin_as_rendered_passes_ssh_audit(rendered, tmp_path):
    """The drop-in as the box reads it, served by the real sshd on loopback:
    ssh-audit finds no [fail] and no weak MAC, cipher, key exchange or
    compression (support/ssh_audit.py lists the notes accepted, and why)."""
    sshd = need("sshd")
    conf = files_of(rendered["doc"])["/etc/ssh/sshd_config.d/00-jumpbox.conf"]["content"]
    hk = tmp_path / "host_key"
    hk.write_text(rendered["inputs"]["host_private_key_text"])
    hk.chmod(0o600)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    p = tmp_path / "sshd_config"
    p.write_text(conf.replace("/etc/ssh/ssh_host_ed25519_key", str(hk))
                 .replace("Port 22\n", f"Port {port}\nListenAddress 127.0.0.1\nPidFile none\n"))
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    proc = subprocess.Popen([sshd, "-D", "-e", "-f", str(p)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    proc.stderr.read().decode() if proc.poll() is not None else "sshd slow"
                time.sleep(0.1)
        report, bad = audit("127.0.0.1", port)
        assert bad == [], report
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def sshd_effective(rendered, conf_text, tmp_path):
    """sshd -t and -T of a drop-in, as the box's sshd reads it."""
    sshd = need("sshd")
    hk = tmp_path / "host_key"
    hk.write_text(rendered["inputs"]["host_private_key_text"])
    hk.chmod(0o600)
    p = tmp_path / "sshd_config"
    p.write_text(conf_text.replace("/etc/ssh/ssh_host_ed25519_key", str(hk)))
    if not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755)
    cp = subprocess.run([sshd, "-t", "-f", str(p)], capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    cp = subprocess.run([sshd, "-T", "-f", str(p), "-C", "user=jump,host=h,addr=203.0.113.7"],
                        capture_output=True, text=True, check=True)
    return dict(ln.split(" ", 1) for ln in cp.stdout.splitlines() if " " in ln)


def test_without_permit_open_the_dropin_forwards_anywhere(rendered, tmp_path):
    conf = files_of(rendered["doc"])["/etc/ssh/sshd_config.d/00-jumpbox.conf"]["content"]
    assert "PermitOpen" not in conf
    assert sshd_effective(rendered, conf, tmp_path)["permitopen"] == "any"


def test_permit_open_becomes_the_dropins_permitopen(rendered, tmp_path):
    targets = ["nas.example.com:22", "10.0.0.5:*", "[fd00::5]:873"]
    tmp = tmp_path / "tf"
    tmp.mkdir()
    for name in ("host_private_key", "teardown_token"):
        shutil.copy(rendered["tmp"] / name, tmp / name)
    doc = yaml.safe_load(tfo.render_userdata(tmp, rendered["inputs"], permit_open=targets))
    conf = files_of(doc)["/etc/ssh/sshd_config.d/00-jumpbox.conf"]["content"]
    assert "PermitOpen nas.example.com:22 10.0.0.5:* [fd00::5]:873\n" in conf
    eff = sshd_effective(rendered, conf, tmp_path)
    assert eff["permitopen"].split() == ["nas.example.com:22", "10.0.0.5:*", "[fd00::5]:873"]
    assert eff["allowtcpforwarding"] == "local"


@pytest.mark.parametrize("bad", [["nas"], ["*:22"], ["nas:0"], ["nas:65536"], ["a b:22"],
                                 ['a"b:22'], ["fd00::5:22"], [f"nas:{p}" for p in range(1, 18)]])
def test_module_refuses_a_bad_permit_open(rendered, tmp_path, bad):
    for name in ("host_private_key", "teardown_token"):
        shutil.copy(rendered["tmp"] / name, tmp_path / name)
    with pytest.raises(AssertionError, match="permit_open must be at most 16 HOST:PORT"):
        tfo.render_userdata(tmp_path, rendered["inputs"], permit_open=bad)


def extract(rendered, tmp):
    """write_files entries into tmp; units point at the extracted script."""
    out = {}
    files = files_of(rendered["doc"])
    script = tmp / "jumpbox-teardown"
    script.write_text(files["/usr/local/sbin/jumpbox-teardown"]["content"])
    script.chmod(0o755)
    out["script"] = script
    units = tmp / "units"
    units.mkdir()
    for path, f in files.items():
        if path.startswith("/etc/systemd/system/"):
            u = units / Path(path).name
            u.write_text(f["content"].replace("ExecStart=/usr/local/sbin/jumpbox-teardown",
                                              f"ExecStart={script}"))
            out[u.name] = u
    return out


def test_embedded_script_passes_shellcheck(rendered, tmp_path):
    files = extract(rendered, tmp_path)
    for script in (files["script"], tfo.ROOT / "userdata" / "jumpbox-teardown.sh"):
        cp = subprocess.run([need("shellcheck"), "--shell=bash", str(script)],
                            capture_output=True, text=True)
        assert cp.returncode == 0, cp.stdout


def test_embedded_units_pass_systemd_analyze_verify(rendered, tmp_path):
    files = extract(rendered, tmp_path)
    units = sorted(str(p) for n, p in files.items() if n.startswith("jumpbox-"))
    assert len(units) == 4
    cp = subprocess.run([need("systemd-analyze"), "verify", *units],
                        capture_output=True, text=True)
    assert cp.returncode == 0 and cp.stderr.strip() == "", cp.stderr
    # ...and verify is strict enough to catch a bad calendar.
    timer = files["jumpbox-teardown.timer"]
    timer.write_text(timer.read_text().replace("OnCalendar=2030-01-02", "OnCalendar=2030-13-02"))
    cp = subprocess.run([need("systemd-analyze"), "verify", *units],
                        capture_output=True, text=True)
    assert cp.returncode != 0


def test_ttl_is_armed_twice(rendered):
    files = files_of(rendered["doc"])
    teardown = files["/etc/systemd/system/jumpbox-teardown.timer"]["content"]
    poweroff = files["/etc/systemd/system/jumpbox-poweroff.timer"]["content"]
    assert "OnCalendar=2030-01-02 03:04:05 UTC\n" in teardown
    assert "OnCalendar=2030-01-02 03:14:05 UTC\n" in poweroff  # 10 minutes of grace
    service = files["/etc/systemd/system/jumpbox-teardown.service"]["content"]
    assert 'Environment="JUMPBOX_STACK_ID=nightly-7"' in service
    assert 'Environment="JUMPBOX_CLEAN_FUNCTION=jumpbox-clean"' in service
    assert 'Environment="JUMPBOX_REGION=eu-west-1"' in service
    assert tfo.TOKEN not in service
    assert "ExecStart=/usr/bin/systemctl --no-block poweroff" in \
        files["/etc/systemd/system/jumpbox-poweroff.service"]["content"]
    assert ["systemctl", "enable", "--now", "jumpbox-teardown.timer",
            "jumpbox-poweroff.timer"] in rendered["doc"]["runcmd"]


STUB_AWS = r"""#!/usr/bin/python3
# Stand-in for the AWS CLI: records argv and the payload file it was given.
import json, os, sys
args = sys.argv[1:]
payload = None
if "--payload" in args:
    ref = args[args.index("--payload") + 1]
    assert ref.startswith("fileb://"), ref
    p = ref[len("fileb://"):]
    payload = open(p).read()
    mode = os.stat(p).st_mode & 0o777
else:
    mode = None
with open(os.environ["STUB_RECORD"], "w") as f:
    json.dump({"argv": args, "payload": payload, "mode": mode}, f)
open(args[-1], "w").write("")
print(json.dumps({"StatusCode": 202}))
sys.exit(int(os.environ.get("STUB_EXIT", "0")))
"""


def run_teardown(rendered, tmp, token, stub_exit=0):
    files = extract(rendered, tmp)
    bindir = tmp / "bin"
    bindir.mkdir()
    aws = bindir / "aws"
    aws.write_text(STUB_AWS)
    aws.chmod(0o755)
    tok = tmp / "token"
    tok.write_text(token)
    tok.chmod(0o600)
    record = tmp / "record.json"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "JUMPBOX_STACK_ID": "nightly-7",
           "JUMPBOX_CLEAN_FUNCTION": "jumpbox-clean", "JUMPBOX_REGION": "eu-west-1",
           "JUMPBOX_TOKEN_FILE": str(tok), "STUB_RECORD": str(record),
           "STUB_EXIT": str(stub_exit), "TMPDIR": str(tmp)}
    cp = subprocess.run([str(files["script"])], env=env, capture_output=True, text=True)
    rec = json.loads(record.read_text()) if record.exists() else None
    return cp, rec


def test_teardown_script_invokes_clean_with_token_from_file(rendered, tmp_path):
    cp, rec = run_teardown(rendered, tmp_path, tfo.TOKEN + "\n")
    assert cp.returncode == 0, cp.stderr
    # "ttl": the box's timer names itself in the stack's audit record.
    assert json.loads(rec["payload"]) == {"action": "destroy", "stack_id": "nightly-7",
                                          "token": tfo.TOKEN, "reason": "ttl"}
    assert rec["mode"] == stat.S_IRUSR | stat.S_IWUSR
    argv = rec["argv"]
    assert argv[:2] == ["lambda", "invoke"]
    assert argv[argv.index("--function-name") + 1] == "jumpbox-clean"
    assert argv[argv.index("--region") + 1] == "eu-west-1"
    assert argv[argv.index("--invocation-type") + 1] == "Event"
    assert not any(tfo.TOKEN in a for a in argv)
    assert list(tmp_path.glob("tmp.*")) == []  # its work directory is gone


def test_teardown_script_fails_when_the_invoke_fails(rendered, tmp_path):
    cp, _ = run_teardown(rendered, tmp_path, tfo.TOKEN, stub_exit=255)
    assert cp.returncode != 0  # systemd then retries (Restart=on-failure)


def test_teardown_script_without_token_leaves_it_to_the_backstop(rendered, tmp_path):
    cp, rec = run_teardown(rendered, tmp_path, "")
    assert cp.returncode == 0 and rec is None
    assert "backstop" in cp.stderr


def test_teardown_script_refuses_a_token_needing_escapes(rendered, tmp_path):
    cp, rec = run_teardown(rendered, tmp_path, 'x","action":"sweep')
    assert cp.returncode == 2 and rec is None


# ---- the sshd log shipped to the stack's audit records (lib/stack/audit.h) -------

@pytest.fixture(scope="module")
def rendered_s3(tmp_path_factory):
    """The user data of a stack whose state is in S3: it ships its sshd log."""
    tmp = tmp_path_factory.mktemp("userdata-s3")
    inputs = tfo.box_inputs(tmp)
    text = tfo.render_userdata(tmp, inputs, state_url="s3://state-bucket/team-a/")
    (tmp / "cloud-config.yaml").write_text(text)
    yield {"tmp": tmp, "inputs": inputs, "text": text, "doc": yaml.safe_load(text),
           "path": tmp / "cloud-config.yaml"}
    shutil.rmtree(tmp, ignore_errors=True)


STUB_SHIP = r"""#!/usr/bin/python3
# Stand-ins for the AWS CLI and journalctl: record argv and the body.
import json, os, sys
name = os.path.basename(sys.argv[0])
if name == "journalctl":
    print("2030-01-02T03:00:00+0000 box sshd[9]: Accepted publickey for jump from 192.0.2.7 "
          "port 4000 ssh2: ED25519 SHA256:x")
    sys.exit(0)
args = sys.argv[1:]
body = open(args[args.index("--body") + 1]).read()
with open(os.environ["STUB_RECORD"], "w") as f:
    json.dump({"argv": args, "body": body}, f)
print("{}")
sys.exit(int(os.environ.get("STUB_EXIT", "0")))
"""


def test_the_box_ships_its_sshd_log_at_shutdown(rendered_s3, rendered, tmp_path):
    files = files_of(rendered_s3["doc"])
    unit = files["/etc/systemd/system/jumpbox-audit.service"]["content"]
    assert 'Environment="JUMPBOX_AUDIT_BUCKET=state-bucket"' in unit
    assert 'Environment="JUMPBOX_AUDIT_KEY_PREFIX=team-a/audit/nightly-7/"' in unit
    assert "ExecStop=/usr/local/sbin/jumpbox-audit-ship" in unit
    assert ["systemctl", "enable", "--now", "jumpbox-audit.service"] in rendered_s3["doc"]["runcmd"]
    script = files["/usr/local/sbin/jumpbox-audit-ship"]
    assert script["permissions"] == "0755"
    # A state that is not in S3 (file://, the default): nothing to ship to.
    assert "/etc/systemd/system/jumpbox-audit.service" not in files_of(rendered["doc"])
    cp = subprocess.run([need("cloud-init"), "schema", "--config-file", str(rendered_s3["path"])],
                        capture_output=True, text=True)
    assert cp.returncode == 0, cp.stdout + cp.stderr

    path = tmp_path / "jumpbox-audit-ship"
    path.write_text(script["content"])
    path.chmod(0o755)
    cp = subprocess.run([need("shellcheck"), "--shell=bash", str(path)], capture_output=True,
                        text=True)
    assert cp.returncode == 0, cp.stdout
    (tmp_path / "units").mkdir()
    u = tmp_path / "units" / "jumpbox-audit.service"
    u.write_text(unit.replace("ExecStop=/usr/local/sbin/jumpbox-audit-ship", f"ExecStop={path}"))
    cp = subprocess.run([need("systemd-analyze"), "verify", str(u)], capture_output=True,
                        text=True)
    assert cp.returncode == 0 and cp.stderr.strip() == "", cp.stderr

    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("aws", "journalctl"):
        (bindir / name).write_text(STUB_SHIP)
        (bindir / name).chmod(0o755)
    record = tmp_path / "record.json"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "JUMPBOX_AUDIT_BUCKET": "state-bucket",
           "JUMPBOX_AUDIT_KEY_PREFIX": "team-a/audit/nightly-7/", "JUMPBOX_REGION": "eu-west-1",
           "STUB_RECORD": str(record), "TMPDIR": str(tmp_path)}
    cp = subprocess.run([str(path)], env=env, capture_output=True, text=True)
    assert cp.returncode == 0, cp.stderr
    rec = json.loads(record.read_text())
    argv = rec["argv"]
    assert argv[:2] == ["s3api", "put-object"]
    assert argv[argv.index("--bucket") + 1] == "state-bucket"
    # The name lib/stack/audit.c lists: PREFIX/audit/STACK/<stamp>-<event>-<hex>.log
    assert re.fullmatch(r"team-a/audit/nightly-7/\d{8}T\d{6}\.\d{6}Z-box\.sshd_log-[0-9a-f]{8}\.log",
                        argv[argv.index("--key") + 1]), argv
    assert "Accepted publickey for jump" in rec["body"]
    assert list(tmp_path.glob("tmp.*")) == []  # its work directory is gone
    # A prefix that is not an audit prefix is refused before anything.
    record.unlink()
    cp = subprocess.run([str(path)], env=dict(env, JUMPBOX_AUDIT_KEY_PREFIX="team-a/other/"),
                        capture_output=True, text=True)
    assert cp.returncode == 2 and not record.exists()


STUB_JOURNAL = r"""#!/usr/bin/python3
# Stand-ins for journalctl (records its argv, prints STUB_LINES lines of
# sshd's, the last one a login) and the AWS CLI (keeps the body it puts).
import json, os, sys
if os.path.basename(sys.argv[0]) == "journalctl":
    with open(os.environ["STUB_ARGV"], "w") as f:
        json.dump(sys.argv[1:], f)
    for i in range(int(os.environ["STUB_LINES"])):
        print(f"2030-01-02T03:00:00+0000 box sshd[9]: debug1: line {i:07d}")
    print("2030-01-02T03:00:01+0000 box sshd-session[10]: Accepted publickey for jump "
          "from 192.0.2.7 port 4000 ssh2: ED25519 SHA256:x")
    sys.exit(0)
args = sys.argv[1:]
with open(os.environ["STUB_BODY"], "wb") as f:
    f.write(open(args[args.index("--body") + 1], "rb").read())
print("{}")
"""


def test_the_box_ships_sshds_lines_by_program_cut_to_its_newest(rendered_s3, tmp_path):
    """journalctl selects sshd's lines by executable (a session's processes
    sit in the session's scope, not in sshd.service), every OpenSSH daemon
    program where Debian and Fedora-likes keep it; a log over 1 MiB keeps
    its newest whole lines under a note (the reader's, lib/stack/audit.c)."""
    files = files_of(rendered_s3["doc"])
    path = tmp_path / "jumpbox-audit-ship"
    path.write_text(files["/usr/local/sbin/jumpbox-audit-ship"]["content"])
    path.chmod(0o755)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("aws", "journalctl"):
        (bindir / name).write_text(STUB_JOURNAL)
        (bindir / name).chmod(0o755)
    argv, body = tmp_path / "argv.json", tmp_path / "body.log"
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "JUMPBOX_AUDIT_BUCKET": "state-bucket",
           "JUMPBOX_AUDIT_KEY_PREFIX": "team-a/audit/nightly-7/", "JUMPBOX_REGION": "eu-west-1",
           "STUB_ARGV": str(argv), "STUB_BODY": str(body), "TMPDIR": str(tmp_path)}
    line = len("2030-01-02T03:00:00+0000 box sshd[9]: debug1: line 0000000\n")

    cp = subprocess.run([str(path)], env=dict(env, STUB_LINES="3"), capture_output=True,
                        text=True)
    assert cp.returncode == 0, cp.stderr
    args = json.loads(argv.read_text())
    assert [a for a in args if not a.startswith("_")] == ["--no-pager", "-o", "short-iso"]
    assert sorted(a for a in args if a.startswith("_")) == sorted(
        f"_EXE={p}" for p in ("/usr/sbin/sshd", "/usr/lib/openssh/sshd-session",
                              "/usr/lib/openssh/sshd-auth", "/usr/libexec/openssh/sshd-session",
                              "/usr/libexec/openssh/sshd-auth"))
    lines = body.read_text().splitlines()
    assert len(lines) == 4 and lines[0].endswith("line 0000000")

    n = 2 * 1024 * 1024 // line
    cp = subprocess.run([str(path)], env=dict(env, STUB_LINES=str(n)), capture_output=True,
                        text=True)
    assert cp.returncode == 0, cp.stderr
    data = body.read_bytes()
    assert len(data) <= 1024 * 1024
    lines = data.decode().splitlines()
    m = re.fullmatch(r"jumpbox: sshd log cut to its newest lines, (\d+) earlier bytes dropped",
                     lines[0])
    assert m, lines[0]
    # Whole lines from the cut on, the newest last; the note counts what went.
    first = int(re.fullmatch(r"2030-01-02T03:00:00\+0000 box sshd\[9\]: debug1: line (\d{7})",
                             lines[1]).group(1))
    assert int(m.group(1)) == first * line
    assert len(data) > 1024 * 1024 - 200
    assert lines[-1].endswith("Accepted publickey for jump from 192.0.2.7 port 4000 ssh2: "
                              "ED25519 SHA256:x")
    assert [int(l[-7:]) for l in lines[1:-1]] == list(range(first, n))
