"""The forwarding allow-list (--permit-open) with the real ssh -W: on the
local module (the authorized key's permitopen), and through the build
function, bounded by its JUMPBOX_ALLOWED_TARGETS.  The aws module's
PermitOpen is in tests/aws/test_aws_flow.py (the emulated cloud)."""
import json

import pytest

from support.forwarding import Echo, assert_refused, forward
from support.jbtest import bin_path, run, run_json
from support.lambda_util import LambdaHarness, boto_lambda, invoke
from support.localflow import Env, box_processes
from test_lambda_functions import BUILD, build_env, good_event
from test_lambda_functions import Env as FnEnv


@pytest.fixture
def echoes():
    made = [Echo(), Echo()]
    yield made
    for e in made:
        e.close()


@pytest.fixture
def jb(tmp_path, provisioner, cleaner):
    e = Env(tmp_path, provisioner, cleaner)
    yield e
    e.cleanup()
    assert not box_processes(e.work), "a test left a jump box running"


def test_local_box_forwards_only_to_the_permitted_targets(jb, tmp_path, echoes):
    ok, other = echoes
    out = tmp_path / "out"
    allowed = f"127.0.0.1:{ok.port}"
    jb.create("--stack-id", "permit-1", "--ttl", "10m", "--out", str(out),
              "--permit-open", allowed, "--permit-open", "backup.example.com:22",
              "--permit-open", allowed)
    cfg = out / "ssh_config"

    cp = forward(cfg, "permit-1", allowed)
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout == b"ping\n" and ok.accepted == 1
    # Another port on the same host, and the same port by another name:
    # sshd compares what the client asks for, literally.
    assert_refused(forward(cfg, "permit-1", f"127.0.0.1:{other.port}"), other, 0)
    assert_refused(forward(cfg, "permit-1", f"localhost:{ok.port}"), ok, 1)
    # The lease keeps the list (once, as given), so destroy and later tools see it.
    lease = json.loads((jb.state_dir / "permit-1" / "lease.json").read_text())
    assert lease["vars"]["permit_open"] == [allowed, "backup.example.com:22"]
    assert jb.leases()[0]["permit_open"] == [allowed, "backup.example.com:22"]
    keys = (jb.work / "boxes" / "permit-1" / "authorized_keys").read_text()
    assert keys.startswith('from="127.0.0.1/32",restrict,port-forwarding,command="/bin/true",'
                           f'permitopen="{allowed}",permitopen="backup.example.com:22" ')
    assert '"destroyed"' in jb.destroy("permit-1").stdout


def test_local_box_without_the_option_forwards_anywhere(jb, tmp_path, echoes):
    out = tmp_path / "out"
    jb.create("--stack-id", "permit-2", "--ttl", "10m", "--out", str(out))
    for e in echoes:
        cp = forward(out / "ssh_config", "permit-2", f"127.0.0.1:{e.port}")
        assert cp.returncode == 0 and cp.stdout == b"ping\n", cp.stderr
    lease = json.loads((jb.state_dir / "permit-2" / "lease.json").read_text())
    assert "permit_open" not in lease["vars"] and "permit_open" not in jb.leases()[0]


def test_any_port_of_one_host(jb, tmp_path, echoes):
    out = tmp_path / "out"
    jb.create("--stack-id", "permit-3", "--ttl", "10m", "--out", str(out),
              "--permit-open", "127.0.0.1:*")
    for e in echoes:
        cp = forward(out / "ssh_config", "permit-3", f"127.0.0.1:{e.port}")
        assert cp.returncode == 0 and cp.stdout == b"ping\n", cp.stderr
    assert_refused(forward(out / "ssh_config", "permit-3", f"localhost:{echoes[0].port}"),
                   echoes[0], 1)


# Through the build function: JUMPBOX_ALLOWED_TARGETS bounds the request.

TARGETS = "127.0.0.0/8:*, *.backup.example.com:22, [::1]:22, [::/0]:22"


@pytest.fixture
def fn(tmp_path):
    e = FnEnv(tmp_path)
    h = LambdaHarness(str(tmp_path)).start()
    h.add_function(BUILD, [e.bootstrap("build", "provisioner")],
                   build_env(e, JUMPBOX_ALLOWED_TARGETS=TARGETS), timeout_s=120)
    yield e, h
    h.stop()
    for sid in e.leases():
        run([bin_path("cleaner"), "destroy", "--stack-id", sid, "--state",
             "file://" + str(e.state)], env=e.cli)


def test_request_through_the_function_forwards_only_there(fn, tmp_path, echoes):
    env, h = fn
    ok, other = echoes
    out = tmp_path / "out"
    # An IPv4-mapped address reaches the IPv4 host it names, so the function
    # bounds it as that host: inside 127.0.0.0/8:*, not [::/0]:22.
    mapped = f"[::ffff:127.0.0.1]:{ok.port}"
    res = run_json([bin_path("provisioner"), "request", "--function", BUILD, "--ttl", "10m",
                    "--allow-cidr", "127.0.0.1/32", "--out", str(out),
                    "--permit-open", f"127.0.0.1:{ok.port}",
                    "--permit-open", "db.backup.example.com:22",
                    "--permit-open", mapped], env=h.client_env())
    sid = res["stack_id"]
    event = json.loads(h.functions[BUILD].history[-1]["event"])
    assert event["permit_open"] == [f"127.0.0.1:{ok.port}", "db.backup.example.com:22", mapped]
    lease = json.loads((env.state / sid / "lease.json").read_text())
    assert lease["vars"]["permit_open"] == event["permit_open"]
    cp = forward(out / "ssh_config", sid, f"127.0.0.1:{ok.port}")
    assert cp.returncode == 0 and cp.stdout == b"ping\n", cp.stderr
    cp = forward(out / "ssh_config", sid, mapped)
    assert cp.returncode == 0 and cp.stdout == b"ping\n" and ok.accepted == 2, cp.stderr
    assert_refused(forward(out / "ssh_config", sid, f"127.0.0.1:{other.port}"), other, 0)


def test_request_outside_the_functions_targets_is_bad_input(fn, tmp_path):
    env, h = fn
    cp = run([bin_path("provisioner"), "request", "--function", BUILD, "--allow-cidr",
              "127.0.0.1/32", "--out", str(tmp_path / "o"), "--permit-open", "127.0.0.1:22",
              "--permit-open", "backup.example.com:22"], env=h.client_env(), check=2)
    assert ("permit_open[1]: backup.example.com:22 is not inside JUMPBOX_ALLOWED_TARGETS"
            in cp.stderr)
    assert env.leases() == []


BAD_PERMIT = [
    (None, "permit_open: required (this function forwards only to JUMPBOX_ALLOWED_TARGETS)"),
    ([], "permit_open: required"),
    ("127.0.0.1:22", "permit_open: not a list of HOST:PORT strings"),
    ([22], "permit_open[0]: not a string"),
    (["127.0.0.1:22", "nas"], "permit_open[1]: not HOST:PORT"),
    (["127.0.0.1:0"], "permit_open[0]: port must be 1..65535 or *"),
    (["*:22"], "permit_open[0]: host must be a DNS name"),
    (["::1:22"], "permit_open[0]: an IPv6 address needs brackets"),
    (["10.0.0.1:22"], "permit_open[0]: 10.0.0.1:22 is not inside JUMPBOX_ALLOWED_TARGETS"),
    # IPv6 that reaches IPv4: a mapped address is bounded as the IPv4 host
    # it names (outside 127.0.0.0/8, so not inside [::/0]:22 either) ...
    (["[::ffff:10.0.0.1]:22"], "permit_open[0]: [::ffff:10.0.0.1]:22 is not inside"),
    # ... and what a translator or tunnel carries to IPv4 is refused.
    (["[64:ff9b::a00:1]:22"], "permit_open[0]: host is a NAT64 address (64:ff9b::/96)"),
    (["[2002:a00:1::1]:22"], "permit_open[0]: host is a 6to4 address"),
    (["a.backup.example.com:*"], "permit_open[0]: a.backup.example.com:* is not inside"),
    (["backup.example.com:22"], "permit_open[0]: backup.example.com:22 is not inside"),
    ([f"127.0.0.1:{p}" for p in range(1, 18)], "permit_open[16]: more than 16 targets"),
]


@pytest.mark.parametrize("permit,msg", BAD_PERMIT, ids=[m for _, m in BAD_PERMIT])
def test_build_refuses_bad_permit_open(fn, permit, msg):
    env, h = fn
    ev = good_event()
    if permit is not None:
        ev["permit_open"] = permit
    body, ferr = invoke(boto_lambda(h), BUILD, json.dumps(ev).encode())
    assert ferr == "Unhandled"
    doc = json.loads(body)
    assert doc["errorType"] == "jumpbox.InvalidRequest", doc
    assert doc["errorMessage"].startswith(msg), doc
    assert env.leases() == []


def test_bad_allowed_targets_is_an_init_error(tmp_path):
    env = FnEnv(tmp_path)
    h = LambdaHarness(str(tmp_path)).start()
    try:
        h.add_function("b", [env.bootstrap("b", "provisioner")],
                       build_env(env, JUMPBOX_ALLOWED_TARGETS="10.0.0.0/8"), timeout_s=30)
        body, ferr = invoke(boto_lambda(h), "b", json.dumps(good_event()).encode())
        doc = json.loads(body)
        assert ferr == "Unhandled" and doc["errorType"] == "jumpbox.ConfigError"
        assert doc["errorMessage"].startswith("JUMPBOX_ALLOWED_TARGETS: 10.0.0.0/8: not HOST:PORT")
    finally:
        h.stop()
    assert env.leases() == []
