"""The user data, proven by booting it: terraform/aws on the emulated cloud
with every instance a Debian 13 container (the package set of Debian's EC2
image, tests/support/boot_root.py) running real systemd and real cloud-init from that instance's own user data (tests/support/ec2_boot.py).

Boots are dear on a shared 2-core machine, so one test boots two boxes side
by side and checks everything the user data promises on them:

  "timer"     create -> ready (the probe pins the key cloud-init installed)
              -> ssh -F -> what runs on the box, from inside (its sshd
              forwarding only to the --permit-open target, and running
              nothing a client asks for) -> at its
              expiry its own timer asks the clean function (the test's
              Lambda harness) to destroy the stack -> the box powers off.
  "backstop"  the same user data with no clean function reachable and a
              one-minute grace: its poweroff timer halts the box, EC2
              (moto, told by the stand-in) terminates the instance, and
              `cleaner destroy` removes the rest.

Both follow their deadline objects (PREFIX/deadlines/ROLE_ID:INSTANCE_ID.json,
written here as the provisioner writes them, issue 27): "timer"'s is
extended, and its teardown comes at the new time, not the old; "backstop"'s
asks for an hour more than its cap, its own boot + max_ttl_seconds, and
both its timers stop at the cap (the poweroff a grace after).

A third boot, `provisioner run --keepalive`, is test_boot_keepalive.py's: a
file of its own, so another worker boots it beside these two.
"""
import concurrent.futures
import datetime
import fnmatch
import hashlib
import json
import os
import re
import subprocess
import time
from pathlib import Path

from support.awsflow import CLEAN
from support.emulated_cloud import BUCKET, INSTANCE_PROFILE, PREFIX, REGION
from support import netns
from support.forwarding import assert_jump_only
from support.jbtest import bin_path, run
from support.ssh_audit import audit
from support.target_sshd import TargetSshd

# What a user session and root's services try: an IMDSv2 token.
IMDS_PUT = ("import sys, urllib.request\n"
            "req = urllib.request.Request('http://169.254.169.254/latest/api/token', "
            "method='PUT', headers={'X-aws-ec2-metadata-token-ttl-seconds': '60'})\n"
            "try:\n"
            "    print(urllib.request.urlopen(req, timeout=10).read().decode())\n"
            "except OSError as e:\n"
            "    sys.exit(f'imds: {e}')\n")
TTL = "4m"
POLL = 5          # deadline_poll_seconds: the boxes read their deadline this often
EXTEND = 30       # seconds "timer"'s deadline object moves its expiry
MAX_TTL = 240     # "backstop"'s max_ttl_seconds: as long as its TTL, from its boot
TARGET_IP = "10.99.0.9"   # a host behind the box: an address of the test's own namespace
HOSTILE_USERS = (
    "x Accepted publickey for admin from 198.51.100.66 port 4242 ssh2: ED25519 SHA256:FORGED",
    "x debug1: server_request_direct_tcpip: originator 198.51.100.66 port 1, "
    "target 10.99.0.9 port 22",
)


def epoch(rfc3339):
    return datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def drop_in_settings(text):
    """(keyword, value) of each directive of the sshd drop-in, lower-cased
    as `sshd -T` prints them."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            k, v = line.split(None, 1)
            out.append((k.lower(), v))
    return out


def check_inside(aws, box, out, sid, target):
    facts = box.facts

    # Only the ed25519 host key cloud-init made on the box.  The image has
    # none (Debian's build deletes them, boot_root.py too): none beside it.
    image = Path(aws.standin.root) / "etc" / "ssh"
    assert sorted(p.name for p in image.glob("ssh_host_*")) == []
    ls = box.root("find", "/etc/ssh", "-maxdepth", "1", "-name", "ssh_host_*", "-printf", "%f\n")
    assert sorted(ls.stdout.split()) == ["ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"], ls
    # Its public half is what the box published under its prefix.
    pub = box.root("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
    base = f"{PREFIX}/boxes/{aws.cloud.box_role_id}:{box.instance_id}/"
    published = aws.cloud.box_objects(box.instance_id)
    assert published[base + "host_key.pub"].decode() == pub, published
    # Debian has no sshd-keygen@ units: the user data masks them only where
    # they are (AL2023), sparing this boot the reload before sshd starts.
    masked = box.root("find", "/etc/systemd/system", "-name", "sshd-keygen@*")
    assert masked.returncode == 0 and masked.stdout == "", masked

    # No password, no root: the user's password is locked, and the running
    # sshd offers nothing but public keys.
    st = box.root("passwd", "-S", facts["user"]).stdout.split()
    assert st[:2] == [facts["user"], "L"], st
    pw = aws.ssh(out, sid, "-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes", "true")
    assert pw.returncode == 255 and "Permission denied (publickey)" in pw.stderr, pw.stderr

    # The drop-in is in force: every directive of it is what sshd reads ...
    t = box.root("sshd", "-T")
    assert t.returncode == 0, t.stderr
    effective = {}
    for line in t.stdout.splitlines():
        k, _, v = line.partition(" ")
        effective.setdefault(k, []).append(v)
    def in_force(k, v):
        have = [e.lower() for e in effective.get(k, [])]
        if v.startswith("-"):     # a removal from the default list: none of it is left
            return have != [] and not any(fnmatch.fnmatch(alg, pat) for e in have
                                          for alg in e.split(",") for pat in v[1:].split(","))
        return v.lower() in have

    wrong = [(k, v, effective.get(k)) for k, v in drop_in_settings(facts["sshd_drop_in"])
             if not in_force(k, v)]
    assert wrong == [], wrong
    assert effective["permitrootlogin"] == ["no"]
    assert effective["passwordauthentication"] == ["no"]
    # ... and what the running sshd does: ProxyJump (ssh -W) goes through
    # to the one target --permit-open named (PermitOpen of the drop-in),
    # not to any other, and remote forwarding does not (Debian's own
    # default would allow it).
    assert ("permitopen", f"127.0.0.1:22 {target.host}:{target.port}") in \
        drop_in_settings(facts["sshd_drop_in"])
    jump = aws.ssh(out, sid, "-W", "127.0.0.1:22")
    assert jump.stdout.startswith("SSH-2.0-OpenSSH"), jump.stderr
    # A backup job's way: ssh -J through the box to a host behind it (in the
    # test's namespace, reached through the box's gateway), which runs it.
    kh = out.parent / "target_known_hosts"
    kh.write_text(target.known_hosts_line())
    job = subprocess.run(
        ["ssh", "-F", str(out / "ssh_config"), "-J", sid, "-o", "ConnectTimeout=10",
         "-i", str(out.parent / "target_key"), "-o", f"UserKnownHostsFile={kh}",
         "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", str(target.port),
         f"{target.user}@{target.host}", "echo jumped to $(hostname)"],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert job.returncode == 0 and job.stdout.startswith("jumped to "), job.stderr
    other = aws.ssh(out, sid, "-W", "localhost:22")
    assert other.returncode != 0 and "administratively prohibited" in other.stderr, other
    fwd = aws.ssh(out, sid, "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:9",
                  "true")
    assert fwd.returncode != 0 and "forwarding failed" in fwd.stderr, fwd.stderr
    # A client with no key whose user name reads like sshd's own lines (the
    # shipped record must not take it for a login or a forward).
    for name in HOSTILE_USERS:
        bad = aws.ssh(out, sid, "-o", "BatchMode=yes", "-l", name, "true")
        assert bad.returncode == 255 and "Permission denied" in bad.stderr, bad.stderr

    # The token: root's alone.
    mode = box.root("stat", "-c", "%U:%G %a", "/etc/jumpbox/teardown-token").stdout.split()
    assert mode == ["root:root", "600"], mode
    # Made on the box; only its hash left it.
    token = box.root("cat", "/etc/jumpbox/teardown-token").stdout
    assert re.fullmatch(r"[0-9a-f]{64}", token), token
    assert published[base + "teardown-token.sha256"] == \
        hashlib.sha256(token.encode()).hexdigest().encode()

    # A jump box only: with the box's own key, no command, shell or
    # subsystem runs (ForceCommand, PermitTTY no), so nothing the user could
    # run reads the token or reaches past the allow-list.
    assert_jump_only(out / "ssh_config", sid, None, "-o", "ConnectTimeout=10")
    report, bad = audit(box.ip, 22)
    assert bad == [], report

    # IMDS: root's services reach it, a user session does not.
    deny = box.root("systemctl", "show", "-P", "IPAddressDeny", "user.slice").stdout
    assert "169.254.169.254/32" in deny, deny
    svc = box.service("python3", "-c", IMDS_PUT)
    assert svc.returncode == 0 and len(svc.stdout.strip()) > 20, svc
    # IMDSv2 only (the module's http_tokens = required): no token, no answer.
    v1 = box.service("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                     "http://169.254.169.254/latest/meta-data/instance-id")
    assert v1.stdout == "401", v1
    # The box's own AWS library, as its teardown and log shipping use it:
    # the role's credentials are an STS session of the instance profile's
    # role named after the instance, as EC2's are.
    session = box.service("bash", "-c", 'set -e; . /usr/local/lib/jumpbox/aws.sh\n'
                          'd=$(mktemp -d); jb_aws_session "$d"; echo "$jb_region"; '
                          'stat -c %a "$d/auth.conf"; rm -rf "$d"')
    assert session.returncode == 0 and session.stdout.split() == [REGION, "600"], session
    creds = aws.standin.imds.by_ip[box.ip].creds
    who = aws.cloud.client_as(creds["AccessKeyId"], creds["SecretAccessKey"],
                              creds["Token"], "sts").get_caller_identity()
    assert who["Arn"].endswith(f":assumed-role/{INSTANCE_PROFILE}/{box.instance_id}"), who
    assert who["UserId"].endswith(":" + box.instance_id), who
    # The user runs nothing on the box, but its forwarded connections come
    # from its sshd session, in user.slice: nothing there reaches IMDS.  (The
    # deadline poller, a root service that does, is held meanwhile.)
    box.root("systemctl", "stop", "jumpbox-deadline.timer")
    aws.wait_for("the deadline poller's last run", lambda: box.root(
        "systemctl", "is-active", "jumpbox-deadline.service").stdout.strip() != "activating")
    def seen_from_box():
        return [x for x in aws.standin.imds.seen if x[0] == box.ip]

    seen = seen_from_box()
    assert (box.ip, "PUT", "/latest/api/token") in seen, seen
    user = box.root("systemd-run", "--wait", "--pipe", "--quiet", "--collect",
                    "--service-type=exec", "--slice=user.slice", "--uid=" + facts["user"], "--",
                    "python3", "-c", IMDS_PUT)
    assert user.returncode != 0 and "imds:" in user.stderr, user
    assert seen_from_box() == seen     # nothing more reached it
    assert box.root("systemctl", "start", "jumpbox-deadline.timer").returncode == 0
    held = subprocess.Popen(["ssh", "-F", str(out / "ssh_config"), "-o", "ConnectTimeout=10",
                             "-W", "127.0.0.1:22", sid], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert held.stdout.readline().startswith(b"SSH-2.0-"), "the forward did not open"
        cg = box.root("sh", "-c", 'for p in $(pgrep -u "$1"); do cat /proc/$p/cgroup; done',
                      "-", facts["user"])
        assert "/user.slice/" in cg.stdout, cg   # the forwarding session is in user.slice
    finally:
        held.stdin.close()
        held.wait(timeout=60)



def next_elapse(box, unit):
    nxt = box.root("systemctl", "show", "-P", "NextElapseUSecRealtime", unit).stdout.strip()
    return datetime.datetime.strptime(nxt, "%a %Y-%m-%d %H:%M:%S UTC").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def timers(box):
    """When the teardown and the poweroff timers elapse next."""
    return (next_elapse(box, "jumpbox-teardown.timer"), next_elapse(box, "jumpbox-poweroff.timer"))


def booted_at(box):
    """When the box's PID 1 started: its start after this kernel's boot (the
    box's own reckoning of its cap, jumpbox-deadline.sh, done here from
    outside)."""
    with open(f"/proc/{box.pid1()}/stat") as f:
        start = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/stat") as f:
        (btime,) = [int(l.split()[1]) for l in f if l.startswith("btime ")]
    return btime + start // os.sysconf("SC_CLK_TCK")


def purge(aws, keys):
    """The deadline objects the test wrote, every version (the bucket is
    versioned)."""
    s3 = aws.cloud.client("s3")
    for key in keys:
        listed = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
        for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
            s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])


def write_deadline(aws, box, expires_at):
    """The box's deadline object, as the provisioner writes it."""
    key = f"{PREFIX}/deadlines/{aws.cloud.box_role_id}:{box.instance_id}.json"
    body = json.dumps({"stack_id": box.stack_id, "expires_at": stamp(expires_at)},
                      separators=(",", ":"))
    aws.cloud.client("s3").put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    return key


def test_a_booted_box_keeps_every_promise_of_its_user_data(aws_boot, tmp_path):
    aws = aws_boot
    aws.start_harness()
    aws.standin.no_lambda.add("backstop")
    out = tmp_path / "out"
    key = tmp_path / "target_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    netns.add_address(TARGET_IP)
    target = TargetSshd(tmp_path / "target", (tmp_path / "target_key.pub").read_text(),
                        host=TARGET_IP)
    try:
        # Side by side, so the two boots and the waits for expiry overlap.  The
        # TTL leaves room for two creates and the checks on a loaded machine.
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            # Its cap, max_ttl_seconds, from the provisioner's JUMPBOX_MAX_TTL.
            b = pool.submit(aws.create, "--stack-id", "backstop", ttl=TTL,
                            env={"JUMPBOX_MAX_TTL": f"{MAX_TTL}s"},
                            module_vars={"poweroff_grace_minutes": 1,
                                         "deadline_poll_seconds": POLL})
            t = pool.submit(aws.create, "--stack-id", "timer", "--out", str(out),
                            "--requester", "backup-vm@dc1", "--permit-open", "127.0.0.1:22",
                            "--permit-open", f"{TARGET_IP}:{target.port}", ttl=TTL,
                            module_vars={"deadline_poll_seconds": POLL})
            b.result()
            res = t.result()
        keys = []
        booted_box_checks(aws, out, res, target, keys)
    finally:
        target.close()
        netns.remove_address(TARGET_IP)
        purge(aws, keys)


def booted_box_checks(aws, out, res, target, keys):
    timer = aws.standin.box_for("timer")
    backstop = aws.standin.box_for("backstop")
    assert res["host"] == timer.ip and res["user"] == "jump"
    # Both timers are set for the lease's expiry (and the grace after it) ...
    expires = {x["stack_id"]: epoch(x["expires_at"]) for x in aws.leases()}
    assert timers(timer) == (expires["timer"], expires["timer"] + 600)
    assert timers(backstop) == (expires["backstop"], expires["backstop"] + 60)
    # ... until a deadline object says otherwise: "timer" is extended,
    # "backstop" asks for an hour past its cap (its boot + MAX_TTL, which is
    # no earlier than its expiry: it booted after its lease was made).
    keys.append(write_deadline(aws, timer, expires["timer"] + EXTEND))
    keys.append(write_deadline(aws, backstop, expires["backstop"] + 3600))
    cap = booted_at(backstop) + MAX_TTL
    assert cap >= expires["backstop"]
    # The probe and ssh insisted on the key cloud-init made on the box.
    pub = timer.root("cat", "/etc/ssh/ssh_host_ed25519_key.pub").stdout
    assert pub.split()[:2] == res["host_public_key"].split()[:2]
    # Ready means ready: the first login comes at once, and sshd is never
    # restarted under it once it answers (cloud-init edits sshd_config and
    # restarts sshd only when told ssh_pwauth).
    ssh = aws.ssh(out, "timer", "true")
    assert ssh.returncode == 0, ssh.stderr
    for box in (timer, backstop):
        ok = box.root("cloud-init", "status", "--wait", "--long", timeout=300)
        assert ok.returncode == 0 and "status: done" in ok.stdout, ok.stdout + ok.stderr
        sshd = box.journal("-u", "ssh.service")
        assert sshd.count("Started ssh.service") + sshd.count("Started OpenBSD") == 1, sshd
        assert "Stopping" not in sshd, sshd

    check_inside(aws, timer, out, "timer", target)
    assert time.time() < min(expires.values()), "the boxes came up after their expiry"
    # Each box read its object and re-armed, and said so.
    aws.wait_for("the timer box to re-arm", lambda: timers(timer) == (
        expires["timer"] + EXTEND, expires["timer"] + EXTEND + 600), timeout=60)
    aws.wait_for("the backstop box to hold its cap", lambda: timers(backstop) == (
        cap, cap + 60), timeout=60)
    log = timer.journal("-u", "jumpbox-deadline.service")
    assert f"teardown at {stamp(expires['timer'] + EXTEND)} (was {stamp(expires['timer'])})" \
        in log, log
    assert "is beyond the cap" in backstop.journal("-u", "jumpbox-deadline.service")

    # The timer: at its new expiry the box asks the clean function, which
    # destroys it.
    aws.wait_for("the box's teardown to reach the clean function",
                 lambda: aws.harness.functions[CLEAN].history, timeout=600)
    assert time.time() >= expires["timer"] + EXTEND
    aws.wait_for("the clean function's destroy",
                 lambda: aws.cloud.leftovers("timer") == [], timeout=600)
    (inv,) = aws.harness.functions[CLEAN].history
    assert inv["outcome"] == "response", inv
    event = json.loads(inv["event"])
    assert (event["action"], event["stack_id"], event["reason"]) == ("destroy", "timer", "ttl")
    aws.wait_for("the timer box to power off", lambda: timer.ended, timeout=300)
    assert timer.ended == "powered off by the cloud"
    log = timer.journal("-u", "jumpbox-teardown.service")
    assert "asked jumpbox-clean to destroy stack timer" in log, log
    # At its shutdown the box shipped sshd's journal to the stack's audit
    # records: the forward through it and the one refused (lines of the
    # session's processes, which sit in the session's scope, not in the ssh
    # unit), the login, and nothing the hostile user names forged.
    cp = run([bin_path("provisioner"), "audit", "--state", aws.state, "--stack-id", "timer"],
             env=aws.cli, check=0)
    (shipped,) = [json.loads(l) for l in cp.stdout.splitlines()
                  if json.loads(l)["event"] == "box.sshd_log"]
    assert {"from": "127.0.0.1", "target_host": "127.0.0.1", "target_port": 22,
            "allowed": True} in shipped["forwards"], shipped
    assert {"target_host": "localhost", "target_port": 22, "allowed": False} in [
        {k: f[k] for k in ("target_host", "target_port", "allowed")}
        for f in shipped["forwards"]], shipped["forwards"]
    assert {"target_host": TARGET_IP, "target_port": target.port, "allowed": True} in [
        {k: f[k] for k in ("target_host", "target_port", "allowed")}
        for f in shipped["forwards"]], shipped["forwards"]
    assert all(f["target_host"] in ("127.0.0.1", "localhost", TARGET_IP)
               for f in shipped["forwards"])
    assert shipped["logins"] and {l["user"] for l in shipped["logins"]} == {"jump"}, shipped
    assert any(HOSTILE_USERS[0][:60] in l for l in shipped["lines"]), shipped["lines"]
    assert shipped["truncated"] is False

    # The backstop: no clean function answers, the box powers itself off a
    # minute after its cap, and the instance terminates (its shutdown
    # behaviour), as on EC2.
    aws.wait_for("the backstop box to power itself off", lambda: backstop.ended, timeout=600)
    assert backstop.ended == "powered itself off: terminated", backstop.ended
    assert time.time() >= cap + 60
    ((state, tags),) = [v for v in aws.cloud.instances(include_terminated=True).values()
                        if v[1]["jumpbox:stack"] == "backstop"]
    assert state == "terminated"
    log = backstop.journal("-u", "jumpbox-teardown.service", "-u", "jumpbox-poweroff.service")
    assert "answered HTTP 000" in log, log     # nothing listens where it was sent
    assert "Starting jumpbox-poweroff.service" in log, log
    assert [x["stack_id"] for x in aws.leases()] == ["backstop"]
    assert aws.destroy("backstop") == {"stack_id": "backstop", "result": "destroyed"}
    purge(aws, keys)
    assert aws.cloud.leftovers() == [] and aws.leases() == []
    assert aws.standin.boxes == {} and aws.standin.errors == []


def test_the_stand_in_ends_an_instance_as_its_shutdown_behaviour_says(cloud, tmp_path):
    # No boot: the stand-in's answer to a box that powered itself off, for
    # both behaviours EC2 knows (terraform/aws always asks for terminate).
    from support.ec2_boot import BootStandIn
    cloud.reset()
    ec2 = cloud.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    standin = BootStandIn(cloud, tmp_path / "instances", root=tmp_path)
    ids = {}
    for how in ("terminate", "stop"):
        r = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                              InstanceInitiatedShutdownBehavior=how,
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [
                                  {"Key": "jumpbox:stack", "Value": how}]}])
        ids[how] = r["Instances"][0]["InstanceId"]

    class Off:   # a container that ended by itself, cleanly
        asked_off, exit_code, ended = None, 0, None

    for how, iid in ids.items():
        box = Off()
        box.instance_id = iid
        standin._ended(ec2, box, still_running=True)
        assert box.ended == {"terminate": "powered itself off: terminated",
                             "stop": "powered itself off: stopped"}[how]
    states = {i["InstanceId"]: i["State"]["Name"]
              for r in ec2.describe_instances(InstanceIds=list(ids.values()))["Reservations"]
              for i in r["Instances"]}
    assert states == {ids["terminate"]: "terminated", ids["stop"]: "stopped"}
    assert standin.errors == []
    ec2.terminate_instances(InstanceIds=[ids["stop"]])
