"""lib/aws/s3 against the versioned-bucket TEST DOUBLE (tests/support/
s3_versioned_double.py, which checks every SigV4 signature with botocore):
purge removes every version and delete marker under exactly its prefix,
conditional puts, per-key delete errors, and server faults."""
import json

from support.s3_servers import versioned  # noqa: F401  (fixture)

B = "versioned"


def fill(d, prefix, keys, versions=3, marker_every=4):
    """keys objects under prefix, each with `versions` versions, and a
    delete marker on top of every marker_every-th one."""
    for i in range(keys):
        k = f"{prefix}obj-{i:04d}"
        for v in range(versions):
            d.put(B, k, b"%d.%d" % (i, v))
        if marker_every and i % marker_every == 0:
            d.put(B, k, b"", marker=True)


def neighbours(d):
    fill(d, "stack-10/", 12)
    fill(d, "stack-1x/", 2)
    d.put(B, "stack-1", b"exact key, no slash")
    d.put(B, "stack-1.bak", b"sorts between")
    d.put(B, "stack-0/a", b"sorts before")
    return sorted(v for v in d.all_versions(B) if not v[0].startswith("stack-1/"))


def purge(v, prefix, *extra, check=0, env=None):
    cp = v.s3_cli(*extra, "purge", B, prefix, check=check, env=env)
    return json.loads(cp.stdout), cp.stderr


def test_purge_removes_every_version_and_marker(versioned):
    d = versioned.double
    fill(d, "stack-1/", 400, versions=3)          # 1,200 versions + 100 markers
    d.put(B, "stack-1/only-a-marker", b"", marker=True)
    keep = neighbours(d)
    assert len(d.all_versions(B, "stack-1/")) == 1301

    stats, _ = purge(versioned, "stack-1/", "--page-size", "250")
    assert stats == {"deleted": 1200, "delete_markers": 101, "pages": 6, "batches": 2,
                     "versioned": True}
    assert d.all_versions(B, "stack-1/") == []
    assert sorted(v for v in d.all_versions(B)) == keep
    # Every request was signed right (the double checked each with botocore).
    assert d.verified == len(d.requests) and all(s == 200 for _, s in d.requests)


def test_purge_with_one_big_page(versioned):
    """Server-sized pages: 1,000 entries a page, one batch each."""
    d = versioned.double
    fill(d, "big/", 1100, versions=1, marker_every=0)
    stats, _ = purge(versioned, "big/")
    assert (stats["deleted"], stats["pages"], stats["batches"]) == (1100, 2, 2)
    assert d.all_versions(B) == []


def test_odd_keys_are_listed_url_encoded_and_purged(versioned):
    d = versioned.double
    odd = ["p/a b+c", "p/100%", "p/tab\there", "p/new\nline", "p/<&>\"'", "p/caf\u00e9",
           "p/x?y=z#w"]
    for k in odd:
        d.put(B, k, b"1")
        d.put(B, k, b"2")
    out = versioned.s3_cli("versions", B, "p/").stdout
    # Keys with newlines split lines; compare what can be compared line-wise.
    listed = {line.split("\t")[0] for line in out.splitlines() if "\t" in line}
    assert {k for k in odd if "\n" not in k and "\t" not in k} <= listed
    stats, _ = purge(versioned, "p/", "--page-size", "3")
    assert stats["deleted"] == 2 * len(odd)
    assert d.all_versions(B) == []


def test_conditional_put(versioned):
    d = versioned.double
    versioned.s3_cli("--if-none-match", "put", B, "lease/s1.json", input='{"a":1}')
    cp = versioned.s3_cli("--if-none-match", "put", B, "lease/s1.json", input='{"a":2}',
                          check=1)
    assert ("s3_cli: exists: PutObject s3://versioned/lease/s1.json: already exists "
            "(If-None-Match)") in cp.stderr
    assert versioned.s3_cli("get", B, "lease/s1.json").stdout == '{"a":1}'
    # A plain put overwrites; after a delete (a marker) the conditional one works.
    versioned.s3_cli("put", B, "lease/s1.json", input='{"a":3}')
    versioned.s3_cli("delete", B, "lease/s1.json")
    cp = versioned.s3_cli("get", B, "lease/s1.json", check=1)
    assert "notfound" in cp.stderr and "NoSuchKey" in cp.stderr
    versioned.s3_cli("--if-none-match", "put", B, "lease/s1.json", input='{"a":4}')
    assert versioned.s3_cli("get", B, "lease/s1.json").stdout == '{"a":4}'
    assert [v[2] for v in d.all_versions(B, "lease/")] == [False, False, True, False]


def etag_of(cp):
    return next(l[6:] for l in cp.stderr.splitlines() if l.startswith("etag: "))


def test_conditional_update_with_if_match(versioned):
    """S3's If-Match on PutObject: only the version whose ETag was read is
    replaced; a changed object is 412 (conflict), a deleted one 404, and
    409 ConditionalRequestConflict is a conflict too."""
    d = versioned.double
    e1 = etag_of(versioned.s3_cli("--if-none-match", "put", B, "l/s1.json", input="v1"))
    assert e1 == '"%s"' % __import__("hashlib").md5(b"v1").hexdigest()
    assert etag_of(versioned.s3_cli("get", B, "l/s1.json")) == e1
    e2 = etag_of(versioned.s3_cli("--if-match", e1, "put", B, "l/s1.json", input="v2"))
    assert e2 != e1
    # Someone else's write came in between: ours, still on e1, loses.
    cp = versioned.s3_cli("--if-match", e1, "put", B, "l/s1.json", input="v3", check=1)
    assert ("s3_cli: conflict: PutObject s3://versioned/l/s1.json: changed since it was read "
            "(If-Match)") in cp.stderr
    assert versioned.s3_cli("get", B, "l/s1.json").stdout == "v2"
    d.fail_next("PutObject", "status", status=409, code="ConditionalRequestConflict")
    cp = versioned.s3_cli("--if-match", e2, "put", B, "l/s1.json", input="v3", check=1)
    assert "s3_cli: conflict: " in cp.stderr and "409 ConditionalRequestConflict" in cp.stderr
    # Gone (a delete marker on top): If-Match finds nothing, never re-creates it.
    versioned.s3_cli("delete", B, "l/s1.json")
    cp = versioned.s3_cli("--if-match", e2, "put", B, "l/s1.json", input="v4", check=1)
    assert "s3_cli: notfound: " in cp.stderr and "NoSuchKey" in cp.stderr
    assert [v[2] for v in d.all_versions(B, "l/")] == [False, False, True]


def test_bad_signature_is_refused(versioned):
    d = versioned.double
    d.put(B, "s/a", b"1")
    cp = versioned.s3_cli("purge", B, "s/", env={"AWS_SECRET_ACCESS_KEY": "wrong"}, check=1)
    assert "auth" in cp.stderr and "HTTP 403 SignatureDoesNotMatch" in cp.stderr
    assert d.all_versions(B) != [] and d.verified == 0


def test_per_key_delete_errors_are_reported(versioned):
    d = versioned.double
    fill(d, "stack-2/", 10, versions=2, marker_every=0)
    d.deny_delete = {"stack-2/obj-0003"}
    stats, err = purge(versioned, "stack-2/", check=1)
    assert stats["deleted"] == 18
    assert ("purge s3://versioned/stack-2/: 2 keys not deleted; first: "
            "s3://versioned/stack-2/obj-0003 version v") in err
    assert ": AccessDenied: Access Denied" in err
    assert [v[0] for v in d.all_versions(B)] == ["stack-2/obj-0003"] * 2
    cp = versioned.s3_cli("delete-many", B, "stack-2/obj-0003", "stack-2/gone", check=1)
    assert cp.stdout == "error\tstack-2/obj-0003\tAccessDenied\tAccess Denied\n"


def test_listing_outside_the_prefix_deletes_nothing(versioned):
    """A (buggy) server that ignores the prefix: we refuse the page."""
    d = versioned.double
    fill(d, "stack-1/", 3)
    neighbours(d)
    everything = d.all_versions(B)
    d.ignore_prefix = True
    _, err = purge(versioned, "stack-1/", check=1)
    assert ("the listing returned s3://versioned/stack-0/a, outside the prefix; nothing was "
            "deleted") in err
    assert d.all_versions(B) == everything and d.count("DeleteObjects") == 0


def test_malformed_xml(versioned):
    d = versioned.double
    fill(d, "m/", 3)
    d.fail_next("ListObjectVersions", "malformed")
    _, err = purge(versioned, "m/", check=1)
    assert "s3_cli: parse: S3 response XML: line 1: mismatched tag" in err
    assert d.count("DeleteObjects") == 0


def test_truncated_document(versioned):
    d = versioned.double
    fill(d, "t/", 3)
    d.fail_next("ListObjectVersions", "truncated")
    _, err = purge(versioned, "t/", check=1)
    assert "s3_cli: parse: S3 response XML" in err
    d.fail_next("DeleteObjects", "truncated")
    _, err = purge(versioned, "t/", check=1)
    assert "s3_cli: parse: S3 response XML" in err


def test_short_body_is_retried(versioned):
    """The connection closes before Content-Length bytes: a transport error,
    retried; once is survivable, every time is not."""
    d = versioned.double
    fill(d, "s/", 3)
    d.fail_next("ListObjectVersions", "short", count=1)
    stats, _ = purge(versioned, "s/")
    assert stats["deleted"] == 9 and d.count("ListObjectVersions") == 2
    fill(d, "s/", 3)
    d.fail_next("ListObjectVersions", "short", count=100)
    _, err = purge(versioned, "s/", check=1, env={"AWS_MAX_ATTEMPTS": "2"})
    assert "s3_cli: http: ListObjectVersions s3://versioned/s/" in err
    assert d.count("ListObjectVersions") == 2 + 2


def test_503_storm_is_bounded(versioned):
    d = versioned.double
    fill(d, "x/", 2)
    d.fail_next("ListObjectVersions", "status", count=1000, status=503, code="SlowDown")
    _, err = purge(versioned, "x/", check=1, env={"AWS_MAX_ATTEMPTS": "3"})
    assert "HTTP 503 SlowDown" in err
    assert d.count("ListObjectVersions") == 3, d.requests
    assert len(d.all_versions(B)) == 7


def test_503_then_recovery(versioned):
    d = versioned.double
    fill(d, "y/", 2)
    d.fail_next("DeleteObjects", "status", count=2, status=503, code="SlowDown")
    stats, _ = purge(versioned, "y/", env={"AWS_MAX_ATTEMPTS": "3"})
    assert stats["deleted"] == 6 and stats["delete_markers"] == 1
    assert d.all_versions(B) == [] and d.count("DeleteObjects") == 3


def test_bucket_that_does_not_exist(versioned):
    cp = versioned.s3_cli("purge", "no-such-bucket", "p/", check=1)
    assert "s3_cli: notfound: ListObjectVersions s3://no-such-bucket/p/: HTTP 404 NoSuchBucket" \
        in cp.stderr


def test_purge_of_a_stack_leaves_its_audit_records(versioned):
    """A destroy purges PREFIX/STACK/; the stack's durable audit records
    under PREFIX/audit/STACK/ (lib/stack/audit.h) keep every version."""
    d = versioned.double
    fill(d, "jb/stack-1/", 5)
    fill(d, "jb/audit/stack-1/", 4, versions=1, marker_every=0)
    fill(d, "jb/audit/stack-10/", 2, versions=1, marker_every=0)
    audit = sorted(d.all_versions(B, "jb/audit/"))
    purge(versioned, "jb/stack-1/")
    assert d.all_versions(B, "jb/stack-1/") == []
    assert sorted(d.all_versions(B)) == audit
