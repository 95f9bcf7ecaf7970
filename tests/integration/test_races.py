"""Races between the processes that write one stack's lease: two destroys,
a destroy (or sweep) meeting a create, a purge meeting an update.  Every
lease update is conditional (S3's If-Match on the ETag read; in a state
directory, a compare-and-swap under a lock file), so nobody undoes another's
status or re-creates a purged lease, and the loser says what happened.

The races are staged without timing: tests/support/race_terraform.py runs
the rival to completion at one chosen Terraform command, and the versioned
S3 double runs a hook right after one chosen request.  Each runs on both
state stores: a directory and S3 (the versioned double, which implements
If-Match as S3 does; s3rver has no conditional writes)."""
import hashlib
import json
import os
from pathlib import Path

import pytest

from support.localflow import box_processes, copy_module, race_env, race_results
from support.s3_servers import Versioned, run

B = "versioned"


class Store:
    """One stack store, file:// or s3:// (the versioned double), and the
    environment the binaries run with."""

    def __init__(self, kind, tmp):
        self.kind, self.tmp = kind, tmp
        self.work = tmp / "work"
        if kind == "file":
            self.dir = tmp / "state"
            self.state = f"file://{self.dir}"
            self.env = dict(os.environ, JUMPBOX_WORK_DIR=str(self.work),
                            XDG_STATE_HOME=str(tmp / "xdg"))
        else:
            self.v = Versioned(tmp, buckets=(B,))
            self.d = self.v.double
            self.state = f"s3://{B}/jb"
            self.env = self.v.env(JUMPBOX_WORK_DIR=str(self.work))

    def stop(self):
        if self.kind == "s3":
            self.d.stop()

    def run(self, args, extra=None, check=None):
        return run(args, env=dict(self.env, **(extra or {})), check=check, timeout=300)

    def lease(self, sid):
        """The lease as stored now, or None."""
        if self.kind == "file":
            p = self.dir / sid / "lease.json"
            return json.loads(p.read_text()) if p.exists() else None
        versions = self.d.buckets[B].get(f"jb/{sid}/lease.json", [])
        return json.loads(versions[-1].body) if versions and not versions[-1].marker else None

    def put_lease(self, sid, obj):
        """Someone else's write (a test stand-in for another process)."""
        if self.kind == "file":
            (self.dir / sid / "lease.json").write_text(json.dumps(obj))
        else:
            self.d.put(B, f"jb/{sid}/lease.json", json.dumps(obj).encode())

    def left(self, sid):
        """Anything left of the stack in the store: files, or S3 versions."""
        if self.kind == "file":
            d = self.dir / sid
            return sorted(p.name for p in d.iterdir()) if d.exists() else []
        return self.d.all_versions(B, f"jb/{sid}/")


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path, provisioner, cleaner):
    s = Store(request.param, tmp_path)
    yield s
    for pid, _ in box_processes(s.work):
        os.kill(pid, 9)
    s.stop()


def create(store, provisioner, sid, *args, extra=None, check=0):
    cp = store.run([provisioner, "create", "--state", store.state, "--ttl", "10m",
                    "--stack-id", sid, *args], extra=extra, check=check)
    return cp


def audit(store, work=None):
    log = (work or store.work) / "audit.log"
    return [json.loads(l)["event"] for l in log.read_text().splitlines()] if log.exists() else []


def rival_destroy(cleaner, store, sid, tmp_path, **extra_env):
    """`cleaner destroy` of sid from another machine (a work dir of its own)."""
    return ([cleaner, "destroy", "--state", store.state, "--stack-id", sid],
            dict({"JUMPBOX_WORK_DIR": str(tmp_path / "rival-work")}, **extra_env))


def test_two_destroys_the_loser_says_already_gone(store, provisioner, cleaner, tmp_path):
    """Our Terraform meets the rival's state lock (staged: the rival destroys
    the stack to the end first, then our destroy fails as on a held lock).
    Ours finds the lease gone: already_gone, exit 0, no destroy.failed, and
    the purged lease is not written again."""
    create(store, provisioner, "two")
    argv, renv = rival_destroy(cleaner, store, "two", tmp_path)
    cp = store.run([cleaner, "destroy", "--state", store.state, "--stack-id", "two"],
                   extra=race_env(tmp_path, "destroy", "instead", argv, renv))
    rival = race_results(tmp_path)
    assert len(rival) == 1 and rival[0]["exit"] == 0, rival
    assert json.loads(rival[0]["stdout"])["result"] == "destroyed"
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout) == {"stack_id": "two", "result": "already_gone"}
    events = audit(store)
    assert "destroy.already_gone" in events and "destroy.failed" not in events, events
    assert store.lease("two") is None and store.left("two") == []
    assert not box_processes(store.work)


def test_create_rollback_after_a_concurrent_destroy(store, provisioner, cleaner, tmp_path):
    """A create fails after apply; while it rolls back, another destroy
    finishes the stack first (its Terraform held the lock).  The create
    says nothing is left, not "lease kept for the sweeper" over a lease that
    no longer exists, and writes none."""
    mods = copy_module(tmp_path, lambda name, t: t.replace(
        "value = var.ssh_port", 'value = "not-a-port"') if name == "outputs.tf" else t)
    argv, renv = rival_destroy(cleaner, store, "roll", tmp_path)
    extra = dict(race_env(tmp_path, "destroy", "instead", argv, renv),
                 JUMPBOX_MODULE_DIR=mods)
    cp = create(store, provisioner, "roll", extra=extra, check=1)
    assert race_results(tmp_path)[0]["exit"] == 0
    line = cp.stderr.strip().splitlines()[-1]
    assert "terraform output port" in line, cp.stderr
    assert "another process destroyed stack roll meanwhile: nothing is left" in line, line
    assert "kept for the sweeper" not in cp.stderr
    assert store.lease("roll") is None and store.left("roll") == []
    assert not box_processes(store.work)


def test_a_create_does_not_undo_a_destroy_that_took_its_lease(store, provisioner, cleaner,
                                                               tmp_path):
    """While the create applies, a destroy claims the stack and fails (its
    Terraform is broken here), leaving the lease failed and expired for the
    sweeper.  The create's "ready" update must not overwrite that: it loses,
    says so, and rolls its box back."""
    broken = tmp_path / "no-terraform"
    broken.write_text("#!/bin/sh\necho 'broken terraform (test stand-in)' >&2\nexit 1\n")
    broken.chmod(0o755)
    argv, renv = rival_destroy(cleaner, store, "took", tmp_path, JUMPBOX_TERRAFORM=str(broken))
    cp = create(store, provisioner, "took", "--out", str(tmp_path / "out"),
                extra=race_env(tmp_path, "apply", "after", argv, renv), check=1)
    rival = race_results(tmp_path)
    assert rival[0]["exit"] == 1 and "terraform init failed" in rival[0]["stderr"], rival
    assert "another process changed the lease of took while the box was being made" in \
        cp.stderr, cp.stderr
    assert "rollback: destroying what was made" in cp.stderr
    assert cp.stdout == "" and not (tmp_path / "out" / "id_ed25519").exists()
    assert not box_processes(store.work)
    assert store.lease("took") is None and store.left("took") == []


def test_sweep_leaves_a_lease_that_is_no_longer_due(tmp_path, provisioner, cleaner):
    """The sweep lists two expired leases; by the time it reads the second,
    that stack's lease is live again (staged: written during the first
    destroy).  The sweep judges the lease as it reads it and leaves it."""
    store = Store("file", tmp_path)
    try:
        for sid in ("s-a", "s-b"):
            create(store, provisioner, sid)
            lease = store.lease(sid)
            lease["expires_at"] = "2020-01-01T00:00:00Z"
            store.put_lease(sid, lease)
        # The rival: whichever lease the first destroy has not claimed is
        # renewed (status ready, expiring in an hour).
        renew = ("import json, sys\n"
                 "for p in sys.argv[1:]:\n"
                 "    l = json.load(open(p))\n"
                 "    if l['status'] != 'destroying':\n"
                 "        l['expires_at'] = '2099-01-01T00:00:00Z'\n"
                 "        json.dump(l, open(p, 'w'))\n")
        argv = ["/usr/bin/python3", "-c", renew] + [
            str(store.dir / sid / "lease.json") for sid in ("s-a", "s-b")]
        cp = store.run([cleaner, "sweep", "--state", store.state, "--parallel", "1"],
                       extra=race_env(tmp_path, "destroy", "before", argv), check=0)
        res = {s["stack_id"]: s["result"] for s in json.loads(cp.stdout)["stacks"]}
        assert sorted(res.values()) == ["destroyed", "not_due"], cp.stdout
        kept = next(sid for sid, r in res.items() if r == "not_due")
        assert store.lease(kept)["expires_at"] == "2099-01-01T00:00:00Z"
        assert len(box_processes(store.work)) == 2  # its sshd and timer
        store.run([cleaner, "destroy", "--state", store.state, "--stack-id", kept], check=0)
        assert not box_processes(store.work)
    finally:
        for pid, _ in box_processes(store.work):
            os.kill(pid, 9)


def test_purge_meeting_an_update_leaves_nothing(tmp_path, provisioner, cleaner):
    """An update that lands in S3 between the purge's listing and its
    deletes (staged: a new lease version written right after the first
    listing) must not survive the purge: it would be a lease for a stack
    that no longer exists.  The purge goes on until a listing is empty."""
    store = Store("s3", tmp_path)
    try:
        create(store, provisioner, "pm")

        def late_update(d, bucket, q):
            if q.get("prefix") != "jb/pm/":
                return False
            versions = d.buckets[bucket]["jb/pm/lease.json"]
            d._put(bucket, "jb/pm/lease.json", versions[-1].body.replace(
                b'"destroying"', b'"failed"'), False)
        store.d.after("ListObjectVersions", late_update)
        cp = store.run([cleaner, "destroy", "--state", store.state, "--stack-id", "pm"],
                       check=0)
        assert json.loads(cp.stdout)["result"] == "destroyed"
        assert store.d.hooks == [], "the staged update did not happen"
        assert store.d.count("ListObjectVersions") >= 3  # until a listing was empty
        assert store.left("pm") == []
        assert not box_processes(store.work)
    finally:
        for pid, _ in box_processes(store.work):
            os.kill(pid, 9)
        store.stop()


KILL_PARENT = "import os, signal; os.kill(int(os.environ['JUMPBOX_RACE_PARENT']), signal.SIGKILL)"


def the_box(work):
    """The box's processes (localbox and its sshd), not the terraform
    stand-in that killed its parent and may still be on its way out."""
    return [p for p in box_processes(work) if "race_terraform.py" not in p[1]]


def test_a_killed_create_is_swept_after_its_deadline_not_its_expiry(tmp_path, provisioner,
                                                                    cleaner):
    """A create killed right after its apply leaves a running box and a lease
    saying creating, expiring in an hour.  The lease carries the creator's
    deadline (all its timeouts, rollback included); once that has passed the
    sweeper takes the stack, without waiting for the expiry."""
    store = Store("file", tmp_path)
    try:
        extra = dict(race_env(tmp_path, "apply", "after",
                              ["/usr/bin/python3", "-c", KILL_PARENT]),
                     JUMPBOX_TF_TIMEOUT="20s")
        cp = store.run([provisioner, "create", "--state", store.state, "--ttl", "1h",
                        "--stack-id", "killed", "--ready-timeout", "10s"], extra=extra)
        assert cp.returncode == -9, cp.stderr
        lease = store.lease("killed")
        assert lease["status"] == "creating" and len(the_box(store.work)) == 2
        created = lease["created_at"]
        # 4 Terraform stages of at most 20 s (apply; the rollback's init, push,
        # destroy), 10 s of SSH probe, 60 s of slack.
        from datetime import datetime
        secs = (datetime.fromisoformat(lease["deadline"].replace("Z", "+00:00")) -
                datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()
        assert 150 <= secs <= 155, lease
        # Before the deadline: the creator may still be at work.
        res = json.loads(store.run([cleaner, "sweep", "--state", store.state], check=0).stdout)
        assert res["stacks"] == [] and len(the_box(store.work)) == 2
        # After it (the clock moved on: staged by moving the deadline back).
        lease["deadline"] = "2020-01-01T00:00:00Z"
        store.put_lease("killed", lease)
        res = json.loads(store.run([cleaner, "sweep", "--state", store.state], check=0).stdout)
        assert res["stacks"] == [{"stack_id": "killed", "result": "destroyed"}]
        assert not box_processes(store.work) and store.left("killed") == []
    finally:
        for pid, _ in box_processes(store.work):
            os.kill(pid, 9)
