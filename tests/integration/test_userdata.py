"""userdata/: the cloud-config rendered by Terraform itself (the same module
terraform/aws uses), then checked with the real tools: cloud-init's schema,
shellcheck, systemd-analyze verify, sshd -t, and the box's own scripts run
with real curl against an IMDSv2 fixture and a SigV4-checking endpoint."""
import datetime
import hashlib
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
from support.ec2_standin import write_files
from support.fixture_servers import fixture_server
from support.imds_server import INSTANCE_ID as IMDS_INSTANCE_ID
from support.signed_recorder import IMDS_SECRET as SIGNED_IMDS_SECRET
from support.signed_recorder import IMDS_TOKEN as SIGNED_IMDS_TOKEN
from support.signed_recorder import SignedRecorder
from support.ssh_audit import audit

# Every top-level key the template may use.  `cloud-init schema` does not
# flag unknown top-level keys, so this list is the check for typos.
ALLOWED_TOP_KEYS = {
    "ssh_deletekeys", "ssh_genkeytypes", "disable_root", "allow_public_ssh_keys",
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
    shutil.rmtree(tmp, ignore_errors=True)  # its keys and .terraform


def files_of(doc):
    return write_files(doc)


def host_key(tmp):
    """A host key for sshd -t: the box makes its own at first boot."""
    p = Path(tmp) / "host_key"
    if not p.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(p)],
                       check=True, capture_output=True)
    return p


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


def test_user_data_fits_ec2s_16_kib_with_a_full_allow_list(tmp_path):
    """EC2 takes 16 KiB of user data (terraform/aws's precondition refuses
    more): the largest box of ordinary inputs, an S3 state (the log
    shipping) and 16 IPv4 --permit-open targets, keeps room to spare."""
    inputs = tfo.box_inputs(tmp_path)
    targets = [f"10.200.{i}.{100 + i}:5432" for i in range(16)]
    text = tfo.render_userdata(tmp_path, inputs, state_url="s3://state-bucket/team-a/",
                               permit_open=targets)
    conf = files_of(yaml.safe_load(text))["/etc/ssh/sshd_config.d/00-jumpbox.conf"]["content"]
    assert f"PermitOpen {' '.join(targets)}" in conf
    assert len(text.encode()) <= 16384 - 2048, len(text.encode())


def test_top_level_keys_are_known(rendered):
    assert rendered["text"].startswith("#cloud-config\n")
    keys = set(rendered["doc"])
    assert keys <= ALLOWED_TOP_KEYS, f"unknown top-level keys: {keys - ALLOWED_TOP_KEYS}"
    assert {"ssh_genkeytypes", "users", "write_files", "runcmd"} <= keys


def test_host_key_user_and_hardening(rendered):
    doc, inputs = rendered["doc"], rendered["inputs"]
    # The box makes its one host key itself; none comes in the user data.
    assert doc["ssh_deletekeys"] is True and doc["ssh_genkeytypes"] == ["ed25519"]
    assert "ssh_keys" not in doc
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


def test_user_data_holds_nothing_secret(rendered):
    """EC2 shows user data to whoever may DescribeInstanceAttribute: no key
    armour of any kind, no token file, whatever the scripts unpack to; the
    box's prefix from box_role_id and the state, handed to its scripts."""
    text = rendered["text"]
    unpacked = text + "".join(f["content"] for f in files_of(rendered["doc"]).values())
    armour = r"-----BEGIN|PRIVATE KEY|^ssh_keys:|_private:"
    assert not re.search(armour, unpacked, re.M), re.search(f".{{0,40}}({armour}).{{0,40}}",
                                                            unpacked, re.M)
    assert "/etc/jumpbox/teardown-token" not in files_of(rendered["doc"])
    assert tfo.TOKEN not in unpacked
    # Nothing but the box's public settings go to its scripts.
    env = ["JUMPBOX_BOX_ROLE_ID=" + tfo.BOX_ROLE_ID, "JUMPBOX_REGION=eu-west-1",
           "JUMPBOX_STATE_BUCKET=jumpbox-state-test", "JUMPBOX_STATE_PREFIX=stacks/"]
    runcmd = rendered["doc"]["runcmd"]
    assert runcmd[0] == ["env", *env, "/usr/local/sbin/jumpbox-publish"]
    # It runs before the timers that present the token are armed.
    assert runcmd.index(["systemctl", "enable", "--now", "jumpbox-teardown.timer",
                         "jumpbox-poweroff.timer", "jumpbox-deadline.timer"]) > 0
    unit = files_of(rendered["doc"])["/etc/systemd/system/jumpbox-audit.service"]["content"]
    assert [f'Environment="{e}"' for e in env] == \
        [ln for ln in unit.splitlines() if ln.startswith("Environment=")]
    f = files_of(rendered["doc"])["/usr/local/sbin/jumpbox-publish"]
    assert (f["permissions"], f["owner"]) == ("0755", "root:root")


@pytest.mark.parametrize("state_url, prefix", [("s3://b-1.x/", ""), ("s3://b-1.x", ""),
                                               ("s3://b-1.x/a/b.c/", "a/b.c/")])
def test_the_state_prefix_as_the_box_takes_it(rendered, tmp_path, state_url, prefix):
    doc = yaml.safe_load(tfo.render_userdata(tmp_path, rendered["inputs"], state_url=state_url))
    assert doc["runcmd"][0][3:5] == ["JUMPBOX_STATE_BUCKET=b-1.x", f"JUMPBOX_STATE_PREFIX={prefix}"]


BAD_INPUTS = {   # module name: (variable, value, the module's words)
    "role_empty": ("box_role_id", "", "box_role_id must be the box role's unique id"),
    "role_lower": ("box_role_id", "AROA1234567890ab", "box_role_id must be the box role's"),
    "role_short": ("box_role_id", "AROA12345678901", "box_role_id must be the box role's"),
    "state_empty": ("state_url", "", "state_url must be s3://BUCKET[/PREFIX]"),
    "state_file": ("state_url", "file:///var/lib/jumpbox", "state_url must be s3://BUCKET"),
    "state_dots": ("state_url", "s3://b-1/a/../x", "state_url must be s3://BUCKET"),
}


def test_module_refuses_a_bad_role_id_or_state(rendered, tmp_path):
    """One plan of a root calling the module once per bad input: each is
    refused by the module's own validation, with its message."""
    base = {k: rendered["inputs"][k] for k in ("stack_id", "public_key", "box_role_id",
                                                "expires_at", "state_url")}
    blocks = []
    for name, (var, value, _) in BAD_INPUTS.items():
        args = dict(base, clean_function_name="jumpbox-clean", region="eu-west-1",
                    **{var: value})
        body = "\n".join(f"  {k} = {tfo.hcl(v)}" for k, v in args.items())
        blocks.append(f'module "{name}" {{\n  source = '
                      f'{tfo.hcl(tfo.rel(tfo.ROOT / "userdata", tmp_path))}\n{body}\n}}\n')
    (tmp_path / "main.tf").write_text("\n".join(blocks))
    tfo.init(tmp_path, with_plugins=False)
    cp = tfo.tf(["plan", "-input=false", "-no-color"], tmp_path, check=False)
    err = " ".join(cp.stderr.split())
    assert cp.returncode != 0
    assert err.count("Invalid value for variable") == len(BAD_INPUTS), cp.stderr
    for name, (var, _, message) in BAD_INPUTS.items():
        assert message in err, (name, cp.stderr)


def test_sshd_dropin_is_valid_and_hardened(rendered, tmp_path):
    sshd = need("sshd")
    conf = files_of(rendered["doc"])["/etc/ssh/sshd_config.d/00-jumpbox.conf"]
    assert conf["permissions"] == "0600"
    hk = host_key(tmp_path)
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
    hk = host_key(tmp_path)
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
    hk = host_key(tmp_path)
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
    doc = yaml.safe_load(tfo.render_userdata(tmp, rendered["inputs"], permit_open=targets))
    conf = files_of(doc)["/etc/ssh/sshd_config.d/00-jumpbox.conf"]["content"]
    assert "PermitOpen nas.example.com:22 10.0.0.5:* [fd00::5]:873\n" in conf
    eff = sshd_effective(rendered, conf, tmp_path)
    assert eff["permitopen"].split() == ["nas.example.com:22", "10.0.0.5:*", "[fd00::5]:873"]
    assert eff["allowtcpforwarding"] == "local"


@pytest.mark.parametrize("bad", [["nas"], ["*:22"], ["nas:0"], ["nas:65536"], ["a b:22"],
                                 ['a"b:22'], ["fd00::5:22"], [f"nas:{p}" for p in range(1, 18)]])
def test_module_refuses_a_bad_permit_open(rendered, tmp_path, bad):
    with pytest.raises(AssertionError, match="permit_open must be at most 16 HOST:PORT"):
        tfo.render_userdata(tmp_path, rendered["inputs"], permit_open=bad)


SCRIPTS = ("jumpbox-teardown", "jumpbox-publish", "jumpbox-audit-ship", "jumpbox-deadline")


def extract(rendered, tmp):
    """write_files entries into tmp: the scripts (out[name]; "script" is the
    teardown's), and the units, pointing at the extracted scripts."""
    out = {}
    files = files_of(rendered["doc"])
    for name in SCRIPTS:
        script = tmp / name
        script.write_text(files[f"/usr/local/sbin/{name}"]["content"])
        script.chmod(0o755)
        out[name] = script
    out["script"] = out["jumpbox-teardown"]
    units = tmp / "units"
    units.mkdir()
    for path, f in files.items():
        if path.startswith("/etc/systemd/system/"):
            u = units / Path(path).name
            text = f["content"]
            for name in SCRIPTS:
                text = text.replace(f"=/usr/local/sbin/{name}\n", f"={out[name]}\n")
            u.write_text(text)
            out[u.name] = u
    return out


def test_embedded_script_passes_shellcheck(rendered, tmp_path):
    files = extract(rendered, tmp_path)
    for script in [files[n] for n in SCRIPTS] + [tfo.ROOT / "userdata" / f"{n}.sh"
                                                 for n in SCRIPTS]:
        cp = subprocess.run([need("shellcheck"), "--shell=bash", str(script)],
                            capture_output=True, text=True)
        assert cp.returncode == 0, cp.stdout


def test_embedded_units_pass_systemd_analyze_verify(rendered, tmp_path):
    files = extract(rendered, tmp_path)
    units = sorted(str(p) for n, p in files.items() if n.startswith("jumpbox-")
                   and n.endswith((".service", ".timer")))
    assert len(units) == 7
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
            "jumpbox-poweroff.timer", "jumpbox-deadline.timer"] in rendered["doc"]["runcmd"]


def lib_path(tmp):
    """The AWS library the scripts source, as cloud-init writes it."""
    p = tmp / "aws.sh"
    if not p.exists():
        p.write_text(files_of(yaml.safe_load(tfo.render_userdata(tmp, tfo.box_inputs(tmp))))
                     ["/usr/local/lib/jumpbox/aws.sh"]["content"])
    return p


def box_env(tmp, imds_port, endpoint, **over):
    """What a box's unit gives its script, with IMDS and the service pointed
    at the fixtures by the variables an SDK honours."""
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "JUMPBOX_AWS_LIB": str(lib_path(tmp)),
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{imds_port}",
           "JUMPBOX_REGION": "eu-west-1", **endpoint}
    env.update(over)
    return {k: v for k, v in env.items() if v is not None}


def run_teardown(rendered, tmp, token, status=None, imds_mode="ok", **over):
    files = extract(rendered, tmp)
    tok = tmp / "token"
    tok.write_text(token)
    tok.chmod(0o600)
    with fixture_server("imds_server.py", "--mode", imds_mode) as port, \
            SignedRecorder("eu-west-1", "lambda", status) as rec:
        env = box_env(tmp, port, {"AWS_ENDPOINT_URL_LAMBDA": rec.url},
                      JUMPBOX_STACK_ID="nightly-7", JUMPBOX_CLEAN_FUNCTION="jumpbox-clean",
                      JUMPBOX_TOKEN_FILE=str(tok), **over)
        cp = subprocess.run([str(files["script"])], env=env, capture_output=True, text=True,
                            timeout=60)
    return cp, rec.requests


def test_aws_library_passes_shellcheck(rendered, tmp_path):
    for lib in (lib_path(tmp_path), tfo.ROOT / "userdata" / "jumpbox-aws.sh"):
        cp = subprocess.run([need("shellcheck"), "--shell=bash", str(lib)],
                            capture_output=True, text=True)
        assert cp.returncode == 0, cp.stdout
    assert files_of(rendered["doc"])["/usr/local/lib/jumpbox/aws.sh"]["permissions"] == "0644"


def test_teardown_script_invokes_clean_with_token_from_file(rendered, tmp_path):
    """Real curl, signing with the role's credentials from IMDSv2, to an
    Invoke endpoint that checks the signature."""
    cp, reqs = run_teardown(rendered, tmp_path, tfo.TOKEN + "\n")
    assert cp.returncode == 0, cp.stderr
    (req,) = reqs
    assert req["signature"] == "ok", req
    assert req["method"] == "POST"
    assert req["path"] == "/2015-03-31/functions/jumpbox-clean/invocations"
    assert req["headers"]["x-amz-invocation-type"] == "Event"
    # "ttl": the box's timer names itself in the stack's audit record.
    assert json.loads(req["body"]) == {"action": "destroy", "stack_id": "nightly-7",
                                       "token": tfo.TOKEN, "reason": "ttl"}
    assert "asked jumpbox-clean to destroy stack nightly-7" in cp.stdout
    assert list(tmp_path.glob("tmp.*")) == []  # its work directory is gone


def test_teardown_script_takes_the_region_from_imds_when_the_unit_names_none(rendered, tmp_path):
    with fixture_server("imds_server.py", "--region", "eu-west-1") as port, \
            SignedRecorder("eu-west-1", "lambda") as rec:
        files = extract(rendered, tmp_path)
        tok = tmp_path / "token"
        tok.write_text(tfo.TOKEN)
        env = box_env(tmp_path, port, {"AWS_ENDPOINT_URL_LAMBDA": rec.url},
                      JUMPBOX_REGION=None, JUMPBOX_STACK_ID="nightly-7",
                      JUMPBOX_CLEAN_FUNCTION="jumpbox-clean", JUMPBOX_TOKEN_FILE=str(tok))
        cp = subprocess.run([str(files["script"])], env=env, capture_output=True, text=True,
                            timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert [r["signature"] for r in rec.requests] == ["ok"]


def test_teardown_script_keeps_secrets_out_of_argv(rendered, tmp_path):
    """What curl is run with, seen from outside as `ps` would: neither the
    role's secret key, nor its session token, nor the IMDS token, nor the
    teardown token."""
    spy = tmp_path / "spy"
    spy.mkdir()
    real = shutil.which("curl")
    (spy / "curl").write_text("#!/bin/sh\n"
                              f"printf '%s\\n' \"$@\" >>{tmp_path}/argv\n"
                              f"exec {real} \"$@\"\n")
    (spy / "curl").chmod(0o755)
    cp, reqs = run_teardown(rendered, tmp_path, tfo.TOKEN, PATH=f"{spy}:/usr/bin:/bin")
    assert cp.returncode == 0 and len(reqs) == 1, cp.stderr
    argv = (tmp_path / "argv").read_text()
    assert "--aws-sigv4" in argv
    for secret in (SIGNED_IMDS_SECRET, SIGNED_IMDS_TOKEN, tfo.TOKEN, "imds-fixture"):
        assert secret not in argv


def test_teardown_script_fails_without_imds_credentials(rendered, tmp_path):
    cp, reqs = run_teardown(rendered, tmp_path, tfo.TOKEN, imds_mode="norole")
    assert cp.returncode != 0 and reqs == []   # systemd retries (Restart=on-failure)
    assert "no role" in cp.stderr


def test_teardown_script_fails_when_the_invoke_fails(rendered, tmp_path):
    cp, reqs = run_teardown(rendered, tmp_path, tfo.TOKEN, status=500)
    assert cp.returncode != 0 and len(reqs) == 1  # systemd then retries (Restart=on-failure)
    assert "answered HTTP 500" in cp.stderr


def test_teardown_script_without_token_leaves_it_to_the_backstop(rendered, tmp_path):
    cp, reqs = run_teardown(rendered, tmp_path, "")
    assert cp.returncode == 0 and reqs == []
    assert "backstop" in cp.stderr


def test_teardown_script_refuses_a_token_needing_escapes(rendered, tmp_path):
    cp, reqs = run_teardown(rendered, tmp_path, 'x","action":"sweep')
    assert cp.returncode == 2 and reqs == []


# ---- what the box writes under its own prefix of the state bucket ---------------

# PREFIX boxes/ROLE_ID:INSTANCE_ID/ of rendered_s3's box, as the box sends it.
BOX_PATH = f"/state-bucket/team-a/boxes/{tfo.BOX_ROLE_ID}%3A{IMDS_INSTANCE_ID}/"


@pytest.fixture(scope="module")
def rendered_s3(tmp_path_factory):
    """The user data of a stack whose state is under a prefix of its own."""
    tmp = tmp_path_factory.mktemp("userdata-s3")
    inputs = tfo.box_inputs(tmp)
    text = tfo.render_userdata(tmp, inputs, state_url="s3://state-bucket/team-a/")
    (tmp / "cloud-config.yaml").write_text(text)
    yield {"tmp": tmp, "inputs": inputs, "text": text, "doc": yaml.safe_load(text),
           "path": tmp / "cloud-config.yaml"}
    shutil.rmtree(tmp, ignore_errors=True)


STUB_JOURNAL = r"""#!/usr/bin/python3
# Stand-in for journalctl: records its argv, prints STUB_LINES lines of
# sshd's, the last one a login.
import json, os, sys
with open(os.environ["STUB_ARGV"], "w") as f:
    json.dump(sys.argv[1:], f)
for i in range(int(os.environ.get("STUB_LINES", "0"))):
    print(f"2030-01-02T03:00:00+0000 box sshd[9]: debug1: line {i:07d}")
print("2030-01-02T03:00:01+0000 box sshd-session[10]: Accepted publickey for jump "
      "from 192.0.2.7 port 4000 ssh2: ED25519 SHA256:x")
"""


STATE_ENV = {"JUMPBOX_STATE_BUCKET": "state-bucket", "JUMPBOX_STATE_PREFIX": "team-a/",
             "JUMPBOX_BOX_ROLE_ID": tfo.BOX_ROLE_ID}


def run_ship(script, tmp, rec_status=None, **over):
    """The ship script with a stand-in journalctl, real curl, the IMDS
    fixture and a SigV4-checking S3 endpoint; (completed, requests)."""
    bindir = tmp / "bin"
    if not bindir.exists():
        bindir.mkdir()
        (bindir / "journalctl").write_text(STUB_JOURNAL)
        (bindir / "journalctl").chmod(0o755)
    with fixture_server("imds_server.py") as port, \
            SignedRecorder("eu-west-1", "s3", rec_status) as rec:
        env = box_env(tmp, port, {"AWS_ENDPOINT_URL_S3": rec.url}, **{
            "PATH": f"{bindir}:/usr/bin:/bin", **STATE_ENV,
            "STUB_ARGV": str(tmp / "argv.json"), **over})
        cp = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    return cp, rec.requests


def test_the_box_ships_its_sshd_log_at_shutdown(rendered_s3, rendered, tmp_path):
    files = files_of(rendered_s3["doc"])
    unit = files["/etc/systemd/system/jumpbox-audit.service"]["content"]
    for k, v in STATE_ENV.items():
        assert f'Environment="{k}={v}"' in unit
    assert "ExecStop=/usr/local/sbin/jumpbox-audit-ship" in unit
    assert ["systemctl", "enable", "--now", "jumpbox-audit.service"] in rendered_s3["doc"]["runcmd"]
    script = files["/usr/local/sbin/jumpbox-audit-ship"]
    assert script["permissions"] == "0755"
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

    cp, reqs = run_ship(path, tmp_path)
    assert cp.returncode == 0, cp.stderr
    (req,) = reqs
    assert req["signature"] == "ok", req
    assert req["method"] == "PUT"
    # Never over an existing record (the box role's policy insists on it).
    assert req["headers"]["if-none-match"] == "*"
    # Under the box's own prefix, boxes/${aws:userid}/, where only it may write.
    assert req["path"] == BOX_PATH + "sshd.log"
    assert "Accepted publickey for jump" in req["body"].decode()
    assert (f"shipped to s3://state-bucket/team-a/boxes/{tfo.BOX_ROLE_ID}:{IMDS_INSTANCE_ID}"
            "/sshd.log") in cp.stdout
    assert list(tmp_path.glob("tmp.*")) == []  # its work directory is gone
    # A record of that name already there: S3 answers 412, the box reports it.
    cp, reqs = run_ship(path, tmp_path, rec_status=412)
    assert cp.returncode == 1 and "HTTP 412" in cp.stderr and len(reqs) == 1
    # A prefix that is not one, or no role id: refused before anything.
    for bad in ({"JUMPBOX_STATE_PREFIX": "team-a"}, {"JUMPBOX_STATE_PREFIX": "../"},
                {"JUMPBOX_BOX_ROLE_ID": "aroa1234567890abcd"}):
        cp, reqs = run_ship(path, tmp_path, **bad)
        assert cp.returncode == 2 and reqs == [], (bad, cp.stderr)


def test_the_box_ships_sshds_lines_by_program_cut_to_its_newest(rendered_s3, tmp_path):
    """journalctl selects sshd's lines by executable (a session's processes
    sit in the session's scope, not in sshd.service), every OpenSSH daemon
    program where Debian and Fedora-likes keep it; a log over 1 MiB keeps
    its newest whole lines under a note (the reader's, lib/stack/audit.c)."""
    files = files_of(rendered_s3["doc"])
    path = tmp_path / "jumpbox-audit-ship"
    path.write_text(files["/usr/local/sbin/jumpbox-audit-ship"]["content"])
    path.chmod(0o755)
    line = len("2030-01-02T03:00:00+0000 box sshd[9]: debug1: line 0000000\n")

    cp, reqs = run_ship(path, tmp_path, STUB_LINES="3")
    assert cp.returncode == 0, cp.stderr
    args = json.loads((tmp_path / "argv.json").read_text())
    assert [a for a in args if not a.startswith("_")] == ["--no-pager", "-o", "short-iso"]
    assert sorted(a for a in args if a.startswith("_")) == sorted(
        f"_EXE={p}" for p in ("/usr/sbin/sshd", "/usr/lib/openssh/sshd-session",
                              "/usr/lib/openssh/sshd-auth", "/usr/libexec/openssh/sshd-session",
                              "/usr/libexec/openssh/sshd-auth"))
    lines = reqs[-1]["body"].decode().splitlines()
    assert len(lines) == 4 and lines[0].endswith("line 0000000")

    n = 2 * 1024 * 1024 // line
    cp, reqs = run_ship(path, tmp_path, STUB_LINES=str(n))
    assert cp.returncode == 0, cp.stderr
    data = reqs[-1]["body"]
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


# ---- the box's host key and teardown token, published at first boot ---------------

# Every program the publish script runs, each a spy recording its argv and
# environment: PATH holds only these, so one not listed fails the run.
PUBLISH_TOOLS = ("curl", "od", "tr", "sha256sum", "mktemp", "mkdir", "mv", "stat", "rm", "head")


def run_publish(rendered_s3, tmp, rec_status=None, planted=(), **over):
    """The user data's publish script, as its runcmd entry runs it, with a
    host key cloud-init would have made, real curl, the IMDS fixture and a
    SigV4-checking S3 endpoint; planted: names already under the box's
    prefix.  (completed, requests, token file, spy log)."""
    files = files_of(rendered_s3["doc"])
    script = tmp / "jumpbox-publish"
    if not script.exists():
        script.write_text(files["/usr/local/sbin/jumpbox-publish"]["content"])
        script.chmod(0o755)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "root@box",
                        "-f", str(tmp / "ssh_host_ed25519_key")], check=True)
        spy = tmp / "spy"
        spy.mkdir()
        for tool in PUBLISH_TOOLS:
            (spy / tool).write_text(f"#!/bin/sh\n{{ printf '%s\\n' \"$0\" \"$@\"; /usr/bin/env; }}"
                                    f" >>{tmp}/spy.log\nexec {shutil.which(tool)} \"$@\"\n")
            (spy / tool).chmod(0o755)
    token = tmp / "etc-jumpbox" / "teardown-token"
    (cmd,) = [c for c in rendered_s3["doc"]["runcmd"] if c[-1] == "/usr/local/sbin/jumpbox-publish"]
    assert cmd[0] == "env"
    unit_env = dict(a.split("=", 1) for a in cmd[1:-1])
    with fixture_server("imds_server.py") as port, \
            SignedRecorder("eu-west-1", "s3", rec_status) as rec:
        for name in planted:
            rec.objects[BOX_PATH + name] = b"planted"
        env = box_env(tmp, port, {"AWS_ENDPOINT_URL_S3": rec.url}, **{
            **unit_env, "PATH": str(tmp / "spy"), "JUMPBOX_TOKEN_FILE": str(token),
            "JUMPBOX_HOST_KEY_PUB": str(tmp / "ssh_host_ed25519_key.pub"), **over})
        cp = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
    return cp, rec.requests, token, tmp / "spy.log"


def test_the_box_publishes_its_token_hash_then_its_host_key(rendered_s3, tmp_path):
    cp, reqs, token, spy = run_publish(rendered_s3, tmp_path)
    assert cp.returncode == 0, cp.stderr
    # The token: 32 random bytes as 64 lowercase hex digits, root's alone.
    tok = token.read_text()
    assert re.fullmatch(r"[0-9a-f]{64}", tok), tok
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert [p.name for p in token.parent.iterdir()] == ["teardown-token"]
    # Its hash, then the key, each under the box's own prefix, each only if
    # nothing is there (S3 then answers 412), signed with the role's
    # credentials, x-amz-content-sha256 the body's.
    assert [(r["method"], r["path"]) for r in reqs] == \
        [("PUT", BOX_PATH + "teardown-token.sha256"), ("PUT", BOX_PATH + "host_key.pub")]
    for r in reqs:
        assert r["signature"] == "ok", r
        assert r["headers"]["if-none-match"] == "*"
        assert r["headers"]["x-amz-content-sha256"] == hashlib.sha256(r["body"]).hexdigest()
    assert reqs[0]["body"] == hashlib.sha256(tok.encode()).hexdigest().encode()
    assert reqs[1]["body"] == (tmp_path / "ssh_host_ed25519_key.pub").read_bytes()
    assert reqs[1]["body"].startswith(b"ssh-ed25519 AAAA") and reqs[1]["body"].count(b"\n") == 1
    assert (f"put s3://state-bucket/team-a/boxes/{tfo.BOX_ROLE_ID}:{IMDS_INSTANCE_ID}"
            "/host_key.pub") in cp.stdout
    # The token never went through argv or the environment of anything run.
    log = spy.read_text()
    assert "/curl\n" in log and "/od\n" in log
    assert tok not in log and tok not in cp.stdout + cp.stderr
    assert SIGNED_IMDS_SECRET not in log
    assert list(tmp_path.glob("tmp.*")) == []  # its work directory is gone
    # Run again (a new token): what it put is there, S3 answers 412, the
    # script says so loudly and fails.
    cp, reqs, token, _ = run_publish(rendered_s3, tmp_path, planted=(
        "teardown-token.sha256", "host_key.pub"))
    assert cp.returncode == 1 and len(reqs) == 1, cp.stderr
    assert "ALARM" in cp.stderr and "teardown-token.sha256 was there before" in cp.stderr


def test_a_host_key_planted_before_the_box_makes_its_publish_fail(rendered_s3, tmp_path):
    cp, reqs, _, _ = run_publish(rendered_s3, tmp_path, planted=("host_key.pub",))
    assert cp.returncode == 1, cp.stderr
    assert [r["path"].rsplit("/", 1)[1] for r in reqs] == ["teardown-token.sha256",
                                                           "host_key.pub"]
    assert "ALARM" in cp.stderr and "host_key.pub was there before this box" in cp.stderr
    assert "HTTP 412" in cp.stderr
    # Any other failure of a put is a failure too.
    cp, reqs, _, _ = run_publish(rendered_s3, tmp_path, rec_status=403)
    assert cp.returncode == 1 and len(reqs) == 1 and "HTTP 403" in cp.stderr, cp.stderr


def test_publish_refuses_bad_settings_before_making_anything(rendered_s3, tmp_path):
    for bad in ({"JUMPBOX_BOX_ROLE_ID": "AROA-NOT-AN-ID-000"}, {"JUMPBOX_STATE_PREFIX": "a"},
                {"JUMPBOX_STATE_BUCKET": "No_Bucket"}):
        cp, reqs, token, _ = run_publish(rendered_s3, tmp_path, **bad)
        assert cp.returncode == 2 and reqs == [], (bad, cp.stderr)
        assert not token.parent.exists()
    # No host key yet (cloud-init made none): nothing is put, no token made.
    cp, reqs, token, _ = run_publish(rendered_s3, tmp_path,
                                     JUMPBOX_HOST_KEY_PUB=str(tmp_path / "none.pub"))
    assert cp.returncode == 1 and reqs == [] and not token.parent.exists(), cp.stderr


# ---- the box follows its deadline object (jumpbox-deadline, issue 27) ---------------

# PREFIX deadlines/ROLE_ID:INSTANCE_ID.json of rendered_s3's box, as it asks for it.
DEADLINE_PATH = f"/state-bucket/team-a/deadlines/{tfo.BOX_ROLE_ID}%3A{IMDS_INSTANCE_ID}.json"


def ep(rfc3339):
    return int(datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def deadline(expires_at, alive_until=None, stack_id="nightly-7"):
    """The object as the provisioner writes it: one JSON line, these keys."""
    obj = {"stack_id": stack_id, "expires_at": expires_at}
    if alive_until:
        obj["alive_until"] = alive_until
    return json.dumps(obj, separators=(",", ":"))


class DeadlineBox:
    """The user data's jumpbox-deadline run as its unit runs it (its
    environment), run after run over one run directory, as on the box; real
    curl to the IMDS fixture and a SigV4-checking S3 endpoint; systemctl a
    spy; the drop-ins in a directory of the test's."""

    def __init__(self, rendered_s3, tmp, boot="2030-01-01T12:00:00Z"):
        files = files_of(rendered_s3["doc"])
        f = files["/usr/local/sbin/jumpbox-deadline"]
        assert (f["permissions"], f["owner"]) == ("0755", "root:root")
        self.tmp, self.script = tmp, tmp / "jumpbox-deadline"
        self.script.write_text(f["content"])
        self.script.chmod(0o755)
        unit = files["/etc/systemd/system/jumpbox-deadline.service"]["content"]
        self.env = dict(re.findall(r'^Environment="([A-Z_]+)=([^"]*)"$', unit, re.M))
        self.run_dir, self.units = tmp / "run", tmp / "units"
        self.log = tmp / "systemctl.log"
        (tmp / "systemctl").write_text(f'#!/bin/sh\necho "$*" >>{self.log}\n')
        (tmp / "systemctl").chmod(0o755)
        self.boot = boot

    def __call__(self, obj=None, status=None, **over):
        """(completed, requests, systemctl calls) of one run."""
        self.log.write_text("")
        with fixture_server("imds_server.py") as port, \
                SignedRecorder("eu-west-1", "s3", status) as rec:
            if obj is not None:
                rec.objects[DEADLINE_PATH] = obj.encode()
            env = box_env(self.tmp, port, {"AWS_ENDPOINT_URL_S3": rec.url}, **{
                **self.env, "JUMPBOX_RUN_DIR": str(self.run_dir),
                "JUMPBOX_UNIT_DIR": str(self.units),
                "JUMPBOX_SYSTEMCTL": str(self.tmp / "systemctl"),
                "JUMPBOX_BOOT_TIME": self.boot and str(ep(self.boot)), **over})
            cp = subprocess.run([str(self.script)], env=env, capture_output=True, text=True,
                                timeout=60)
        return cp, rec.requests, self.log.read_text().splitlines()

    def armed(self, timer):
        """When a drop-in makes the timer elapse (RFC 3339), or None."""
        p = self.units / f"{timer}.d" / "jumpbox-deadline.conf"
        if not p.exists():
            return None
        text = p.read_text()
        m = re.fullmatch(r"\[Timer\]\nOnCalendar=\nOnCalendar=(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC\n",
                         text)
        assert m, text
        return f"{m[1]}T{m[2]}Z"

    def reason(self):
        return (self.run_dir / "teardown-reason").read_text()


RELOAD_BOTH = ["daemon-reload", "restart jumpbox-teardown.timer jumpbox-poweroff.timer"]


def test_the_deadline_units_and_their_settings(rendered, rendered_s3):
    files = files_of(rendered_s3["doc"])
    unit = files["/etc/systemd/system/jumpbox-deadline.service"]["content"]
    env = dict(re.findall(r'^Environment="([A-Z_]+)=([^"]*)"$', unit, re.M))
    assert env == {**STATE_ENV, "JUMPBOX_REGION": "eu-west-1", "JUMPBOX_STACK_ID": "nightly-7",
                   "JUMPBOX_EXPIRES_AT": "2030-01-02T03:04:05Z",
                   "JUMPBOX_MAX_TTL_SECONDS": "86400", "JUMPBOX_POWEROFF_GRACE_SECONDS": "600"}
    assert "Type=oneshot\n" in unit and "ExecStart=/usr/local/sbin/jumpbox-deadline\n" in unit
    timer = files["/etc/systemd/system/jumpbox-deadline.timer"]["content"]
    for line in ("OnActiveSec=15", "OnUnitActiveSec=15", "AccuracySec=1s",
                 "Unit=jumpbox-deadline.service"):
        assert line + "\n" in timer
    # The module's inputs, and their bounds.
    tmp = rendered_s3["tmp"] / "poll"
    tmp.mkdir()
    doc = yaml.safe_load(tfo.render_userdata(tmp, rendered["inputs"], deadline_poll_seconds=5,
                                             max_ttl_seconds=600, poweroff_grace_minutes=1))
    files = files_of(doc)
    assert "OnUnitActiveSec=5\n" in files["/etc/systemd/system/jumpbox-deadline.timer"]["content"]
    unit = files["/etc/systemd/system/jumpbox-deadline.service"]["content"]
    assert 'Environment="JUMPBOX_MAX_TTL_SECONDS=600"\n' in unit
    assert 'Environment="JUMPBOX_POWEROFF_GRACE_SECONDS=60"\n' in unit
    for var, bad, words in (("deadline_poll_seconds", 4, "deadline_poll_seconds must be"),
                            ("deadline_poll_seconds", 301, "deadline_poll_seconds must be"),
                            ("max_ttl_seconds", 9, "max_ttl_seconds must be"),
                            ("max_ttl_seconds", 86401, "max_ttl_seconds must be")):
        with pytest.raises(AssertionError, match=words):
            tfo.render_userdata(tmp, rendered["inputs"], **{var: bad})


def test_the_box_follows_its_deadline_object(rendered_s3, tmp_path):
    box = DeadlineBox(rendered_s3, tmp_path)
    # None yet (the provisioner writes it after Terraform): the user data's
    # times stay armed, and nothing is asked of systemd.
    cp, reqs, calls = box()
    assert cp.returncode == 0, cp.stderr
    (req,) = reqs
    assert (req["method"], req["path"], req["signature"]) == ("GET", DEADLINE_PATH, "ok"), req
    assert calls == [] and box.armed("jumpbox-teardown.timer") is None
    assert box.reason() == "ttl\n" and "no deadline object" in cp.stderr
    # An extension: both timers follow, the backstop its grace later.
    cp, _, calls = box(deadline("2030-01-02T05:00:00Z"))
    assert cp.returncode == 0 and calls == RELOAD_BOTH, cp.stderr
    assert box.armed("jumpbox-teardown.timer") == "2030-01-02T05:00:00Z"
    assert box.armed("jumpbox-poweroff.timer") == "2030-01-02T05:10:00Z"
    assert "teardown at 2030-01-02T05:00:00Z (was 2030-01-02T03:04:05Z)" in cp.stderr
    # The same again: nothing to do.
    cp, _, calls = box(deadline("2030-01-02T05:00:00Z"))
    assert cp.returncode == 0 and calls == [], cp.stderr
    # A keep-alive nearer than the cap: the teardown follows it (its reason
    # said), the backstop stays with expires_at.
    cp, _, calls = box(deadline("2030-01-02T05:00:00Z", "2030-01-02T04:00:20Z"))
    assert cp.returncode == 0 and calls == ["daemon-reload", "restart jumpbox-teardown.timer"]
    assert box.armed("jumpbox-teardown.timer") == "2030-01-02T04:00:20Z"
    assert box.armed("jumpbox-poweroff.timer") == "2030-01-02T05:10:00Z"
    assert box.reason() == "keepalive\n"
    # Gone (a destroy deleted it: 404, or on AWS 403 AccessDenied to a role
    # that may not list the bucket) or unreadable: what is armed stays.
    for status in (None, 403, 500):
        cp, _, calls = box(status=status)
        assert (cp.returncode, calls) == (1 if status == 500 else 0, []), cp.stderr
        assert box.armed("jumpbox-teardown.timer") == "2030-01-02T04:00:20Z"
        assert box.reason() == "keepalive\n"
    # Beyond the box's own cap (boot + max_ttl_seconds): held there.
    cp, _, calls = box(deadline("2030-01-05T00:00:00Z"))
    assert cp.returncode == 0 and calls == RELOAD_BOTH, cp.stderr
    assert box.armed("jumpbox-teardown.timer") == "2030-01-02T12:00:00Z"   # boot + 24 h
    assert box.armed("jumpbox-poweroff.timer") == "2030-01-02T12:10:00Z"
    assert box.reason() == "ttl\n" and "beyond the cap" in cp.stderr
    # The keep-alive lapsed: the teardown starts now, once, saying why.
    cp, _, calls = box(deadline("2030-01-02T05:00:00Z", "2020-01-01T00:00:00Z"))
    assert cp.returncode == 0, cp.stderr
    assert calls == RELOAD_BOTH + ["start --no-block jumpbox-teardown.service"]
    assert box.reason() == "keepalive\n"
    cp, _, calls = box(deadline("2030-01-02T05:00:00Z", "2020-01-01T00:00:00Z"))
    assert cp.returncode == 0 and calls == [], cp.stderr


@pytest.mark.parametrize("body", [
    deadline("2030-01-02T05:00:00Z", stack_id="other"),
    deadline("2030-02-30T05:00:00Z"),
    deadline("2030-01-02T05:00:00Z", "2030-01-02 04:00:00Z"),
    deadline("2030-01-02T05:00:00Z")[:-1] + ',"expires_at":"2030-01-09T00:00:00Z"}',
    deadline("2030-01-02T05:00:00Z")[:-1] + ',"alive_until":"2030-01-02T04:00:00Z","x":"y"}',
    deadline("2030-01-02T05:00:00Z") + " " * 1024,
    "", "{}", "<Error/>",
])
def test_a_bad_deadline_object_changes_nothing(rendered_s3, tmp_path, body):
    box = DeadlineBox(rendered_s3, tmp_path)
    cp, _, calls = box(body)
    assert cp.returncode == 1 and calls == [], cp.stderr
    assert "what is armed stays" in cp.stderr
    assert box.armed("jumpbox-teardown.timer") is None and box.reason() == "ttl\n"


def test_a_box_past_its_cap_tears_down_and_powers_off(rendered_s3, tmp_path):
    """Booted long ago (here: PID 1 of this machine, as /proc says, with a
    ten-second maximum): the cap has passed, deadline object or none, so
    both the teardown and the poweroff are started at once."""
    box = DeadlineBox(rendered_s3, tmp_path, boot=None)
    cp, _, calls = box(JUMPBOX_MAX_TTL_SECONDS="10")
    assert cp.returncode == 0, cp.stderr
    assert calls == RELOAD_BOTH + ["start --no-block jumpbox-teardown.service",
                                   "start --no-block jumpbox-poweroff.service"]
    # When PID 1 started, by procps's reckoning.
    ps = subprocess.run(["ps", "-o", "lstart=", "-p", "1"], capture_output=True, text=True,
                        check=True, env={"LC_ALL": "C", "TZ": "UTC"}).stdout.strip()
    booted = datetime.datetime.strptime(ps, "%a %b %d %H:%M:%S %Y").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    assert abs(ep(box.armed("jumpbox-teardown.timer")) - (booted + 10)) <= 1
    assert ep(box.armed("jumpbox-poweroff.timer")) == ep(box.armed("jumpbox-teardown.timer")) + 600


def test_the_deadline_script_refuses_bad_settings(rendered_s3, tmp_path):
    box = DeadlineBox(rendered_s3, tmp_path)
    for bad in ({"JUMPBOX_STACK_ID": "Nightly"}, {"JUMPBOX_EXPIRES_AT": "2030-01-02"},
                {"JUMPBOX_MAX_TTL_SECONDS": "1d"}, {"JUMPBOX_STATE_PREFIX": "a"}):
        cp, reqs, calls = box(**bad)
        assert (cp.returncode, reqs, calls) == (2, [], []), (bad, cp.stderr)


def test_teardown_sends_the_reason_the_deadline_script_left(rendered, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for left, sent in (("keepalive\n", "keepalive"), ("ttl\n", "ttl"), ('x","y\n', "ttl")):
        (run_dir / "teardown-reason").write_text(left)
        tmp = tmp_path / left.strip()[:3]
        tmp.mkdir()
        cp, reqs = run_teardown(rendered, tmp, tfo.TOKEN, JUMPBOX_RUN_DIR=str(run_dir))
        assert cp.returncode == 0, cp.stderr
        assert json.loads(reqs[0]["body"])["reason"] == sent
