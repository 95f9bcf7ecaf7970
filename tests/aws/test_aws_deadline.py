"""The box follows its deadline object (issue 27) on the emulated cloud: one
stack made by `provisioner create` with the aws module, its instance played
by the stand-in (tests/support/ec2_standin.py), which runs the user data's
own jumpbox-deadline every deadline_poll_seconds as systemd would and
reschedules its teardown from what the poller arms.  The test writes the
deadline object itself, PREFIX/deadlines/ROLE_ID:INSTANCE_ID.json, as the
provisioner does: an extension, one beyond the box's cap, a lapsed
keep-alive.  No boot (tests/aws/test_boot.py boots one)."""
import datetime
import json
import time

from support.emulated_cloud import BUCKET, PREFIX

POLL = 5          # deadline_poll_seconds: its minimum
MAX_TTL = 1200    # max_ttl_seconds: the box's own cap, boot + 20 minutes


def epoch(rfc3339):
    return int(datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def purge(s3, key):
    """Every version of the object (the bucket is versioned)."""
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=key)
    for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket=BUCKET, Key=v["Key"], VersionId=v["VersionId"])


def test_the_stand_in_box_follows_its_deadline_object(aws):
    aws.start_harness()
    # The box's cap, max_ttl_seconds, is what the provisioner's JUMPBOX_MAX_TTL says.
    res = aws.create("--stack-id", "follow", ttl="10m", env={"JUMPBOX_MAX_TTL": f"{MAX_TTL}s"},
                     module_vars={"deadline_poll_seconds": POLL})
    box = aws.standin.box_for("follow")
    exp = epoch(aws.leases()[0]["expires_at"])
    assert box.facts["poll_seconds"] == POLL
    assert box.teardown_at == exp
    s3 = aws.cloud.client("s3")
    key = f"{PREFIX}/deadlines/{aws.cloud.box_role_id}:{res['instance_id']}.json"

    def write(expires_at, alive_until=None):
        obj = {"stack_id": "follow", "expires_at": stamp(expires_at)}
        if alive_until:
            obj["alive_until"] = stamp(alive_until)
        s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(obj, separators=(",", ":")))

    try:
        # An extension: the teardown follows, the backstop its grace after.
        write(exp + 300)
        aws.wait_for("the timers to follow", lambda: (box.teardown_at, box.poweroff_at) ==
                     (exp + 300, exp + 300 + 600), timeout=60)
        # One beyond the box's own cap: held at boot + max_ttl_seconds.
        cap = box.booted_at + MAX_TTL
        write(box.booted_at + 7200)
        aws.wait_for("the cap to hold", lambda: (box.teardown_at, box.poweroff_at) ==
                     (cap, cap + 600), timeout=60)
        assert box.teardown_runs == []
        # The keep-alive lapsed (the heartbeats stopped): the teardown runs
        # at once, and the clean function destroys the stack, saying why.
        write(exp + 300, alive_until=int(time.time()) - 60)
        aws.wait_for("the teardown", lambda: box.teardown_runs, timeout=60)
        aws.wait_for("the destroy", lambda: aws.cloud.leftovers("follow") == [], timeout=300)
        (run,) = box.teardown_runs
        assert run.returncode == 0 and "asked jumpbox-clean to destroy stack follow" in run.stdout
        assert box.teardown_at is None     # nothing more to fire
        assert [(r["reason"], r["by"]["via"]) for r in aws.destroy_records("follow")] == \
            [("keepalive", "clean-function")]
        assert all(r.returncode == 0 for r in box.deadline_runs), box.deadline_runs
    finally:
        purge(s3, key)
