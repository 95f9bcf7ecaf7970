"""--permit-open on the aws module (emulated cloud): the user data's sshd
drop-in gets PermitOpen, and the box's real sshd, configured from that
drop-in verbatim (ec2_standin.py), forwards ssh -W to the permitted target
only.  An echo listener on 127.0.0.1 of the test's network namespace is the
job's target."""
from support.awsflow import plan_changes
from support.forwarding import Echo, assert_refused, forward


def test_aws_box_forwards_only_to_the_permitted_targets(aws, tmp_path):
    ok, other = Echo(), Echo()
    try:
        out = tmp_path / "out"
        allowed = f"127.0.0.1:{ok.port}"
        res = aws.create("--out", str(out), "--permit-open", allowed,
                         "--permit-open", "[fd00::5]:873")
        sid = res["stack_id"]
        (box,) = aws.standin.boxes.values()
        assert f"\nPermitOpen {allowed} [fd00::5]:873\n" in box.facts["sshd_drop_in"]

        cp = forward(out / "ssh_config", sid, allowed, "-o", "ConnectTimeout=10")
        assert cp.returncode == 0, cp.stderr
        assert cp.stdout == b"ping\n" and ok.accepted == 1
        assert_refused(forward(out / "ssh_config", sid, f"127.0.0.1:{other.port}"), other, 0)
        assert_refused(forward(out / "ssh_config", sid, f"localhost:{ok.port}"), ok, 1)

        # The list is a module input like any other: in the lease, no drift.
        (lease,) = aws.leases()
        assert lease["permit_open"] == [allowed, "[fd00::5]:873"]
        plan = plan_changes(aws, sid, res["instance_id"])
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert aws.destroy(sid) == {"stack_id": sid, "result": "destroyed"}
    finally:
        ok.close()
        other.close()
