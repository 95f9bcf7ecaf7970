"""lib/aws/s3 against s3rver (a real local S3 server), checked with the real aws
CLI: what we write, `aws s3` reads back, and the other way round; purging
a prefix of thousands of objects leaves its neighbours alone."""
import json

from support.s3_servers import s3rver  # noqa: F401  (fixture)

# Bytes that trip naive code: NUL, CR/LF, high bytes, XML/URL specials.
PAYLOAD = b"line1\r\nline2\n\x00\xff\xfe<&>\"' %2F+ \xc3\xa9" * 50
ODD_KEYS = ["interop/plain.txt", "interop/with space+plus.txt", "interop/amp&lt;<gt>\"q'.txt",
            "interop/percent%2Fslash.txt", "interop/caf\u00e9/\u6771\u4eac.txt",
            "interop/a=b?c#d.txt", "interop/tilde~star*(x).txt"]


def aws_keys(srv, prefix):
    out = srv.aws("s3api", "list-objects-v2", "--bucket", "state", "--prefix", prefix,
                  "--output", "json").stdout
    return sorted(o["Key"] for o in json.loads(out or b"{}").get("Contents", []))


def test_what_we_put_the_aws_cli_reads(s3rver, tmp_path):
    for key in ODD_KEYS:
        s3rver.s3_cli("put", "state", key, input=PAYLOAD + key.encode(), binary=True)
    assert aws_keys(s3rver, "interop/") == sorted(ODD_KEYS)
    for key in ODD_KEYS:
        dest = tmp_path / "back"
        s3rver.aws("s3", "cp", f"s3://state/{key}", str(dest), "--only-show-errors")
        assert dest.read_bytes() == PAYLOAD + key.encode(), key


def test_what_the_aws_cli_puts_we_read_and_list(s3rver, tmp_path):
    src = tmp_path / "src.bin"
    keys = [k.replace("interop/", "theirs/") for k in ODD_KEYS]
    for key in keys:
        src.write_bytes(PAYLOAD + b"theirs" + key.encode())
        s3rver.aws("s3", "cp", str(src), f"s3://state/{key}", "--only-show-errors")
    for key in keys:
        got = s3rver.s3_cli("get", "state", key, binary=True).stdout
        assert got == PAYLOAD + b"theirs" + key.encode(), key
    listed = s3rver.s3_cli("list", "state", "theirs/").stdout.splitlines()
    assert sorted(listed) == sorted(keys) == aws_keys(s3rver, "theirs/")


def test_empty_object_round_trips(s3rver):
    s3rver.s3_cli("put", "state", "interop/empty", input=b"", binary=True)
    assert s3rver.s3_cli("get", "state", "interop/empty", binary=True).stdout == b""
    cp = s3rver.aws("s3api", "head-object", "--bucket", "state", "--key", "interop/empty")
    assert json.loads(cp.stdout)["ContentLength"] == 0


def test_purge_of_thousands_keeps_neighbouring_prefixes(s3rver, tmp_path):
    """2,500 objects under stack-1/ (3 pages of 1,000) go; stack-10/, the key
    "stack-1" itself and "stack-1.bak" stay, byte for byte."""
    tree = tmp_path / "tree"
    for d, n in (("stack-1", 2500), ("stack-10", 40), ("stack-1x", 3)):
        (tree / d / "sub").mkdir(parents=True)
        for i in range(n):
            (tree / d / ("sub" if i % 2 else "") / f"obj-{i:05d}").write_bytes(b"%d" % i)
    s3rver.aws("s3", "cp", "--recursive", str(tree), "s3://state/", "--only-show-errors")
    for key in ("stack-1", "stack-1.bak"):
        s3rver.s3_cli("put", "state", key, input=b"neighbour", binary=True)
    assert len(aws_keys(s3rver, "stack-1/")) == 2500
    # Each neighbour is listed on its own: s3rver walks its directory tree in
    # an order of its own, so one listing of "stack-" across >1000 keys can
    # skip keys at page boundaries (an s3rver quirk, not S3 behaviour).
    def neighbours():
        return (aws_keys(s3rver, "stack-10/"), aws_keys(s3rver, "stack-1x/"),
                aws_keys(s3rver, "stack-1."))
    before = neighbours()
    assert [len(x) for x in before] == [40, 3, 1]

    cp = s3rver.s3_cli("purge", "state", "stack-1/")
    stats = json.loads(cp.stdout)
    assert stats == {"deleted": 2500, "delete_markers": 0, "pages": 3, "batches": 3,
                     "versioned": False}
    assert aws_keys(s3rver, "stack-1/") == []
    assert neighbours() == before
    for key in ("stack-1", "stack-1.bak"):
        assert s3rver.s3_cli("get", "state", key, binary=True).stdout == b"neighbour"
    # Purging what is already empty is fine and does nothing.
    again = json.loads(s3rver.s3_cli("purge", "state", "stack-1/").stdout)
    assert again["deleted"] == 0 and again["batches"] == 0


def test_purge_with_small_pages(s3rver):
    """Many continuation tokens: page size 7 over 50 keys."""
    for i in range(50):
        s3rver.s3_cli("put", "state", f"small/k{i:03d}", input=b"x", binary=True)
    s3rver.s3_cli("put", "state", "smaller/keep", input=b"x", binary=True)
    listed = s3rver.s3_cli("--page-size", "7", "list", "state", "small/").stdout.split()
    assert listed == [f"small/k{i:03d}" for i in range(50)]
    stats = json.loads(s3rver.s3_cli("--page-size", "7", "purge", "state", "small/").stdout)
    assert stats["deleted"] == 50 and stats["pages"] == 8
    assert aws_keys(s3rver, "small") == ["smaller/keep"]


def test_purge_needs_a_prefix_ending_in_slash(s3rver):
    s3rver.s3_cli("put", "state", "guard/keep", input=b"x", binary=True)
    for bad in ("guard", "", "/guard/"):
        cp = s3rver.s3_cli("purge", "state", bad, check=2)
        assert "purge: prefix must be non-empty, not start with '/', end with '/'" in cp.stderr
    assert aws_keys(s3rver, "guard/") == ["guard/keep"]


def test_bucket_that_does_not_exist(s3rver):
    for args in (("list", "no-such-bucket"), ("get", "no-such-bucket", "k"),
                 ("purge", "no-such-bucket", "p/")):
        cp = s3rver.s3_cli(*args, check=1)
        assert "s3_cli: notfound:" in cp.stderr
        assert "HTTP 404 NoSuchBucket" in cp.stderr


def test_missing_key_and_bad_names(s3rver):
    cp = s3rver.s3_cli("get", "state", "interop/never-written", check=1)
    assert "notfound: GetObject s3://state/interop/never-written: HTTP 404 NoSuchKey" in cp.stderr
    cp = s3rver.s3_cli("get", "Bad_Bucket", "k", check=2)
    assert "upper case" in cp.stderr or "a-z, 0-9" in cp.stderr


def test_unknown_access_key_is_refused(s3rver):
    cp = s3rver.s3_cli("list", "state", env={"AWS_ACCESS_KEY_ID": "AKIDNOTS3RVER"}, check=1)
    assert "s3_cli: auth:" in cp.stderr and "InvalidAccessKeyId" in cp.stderr


def test_state_url_parser_driver(s3rver):
    cp = s3rver.s3_cli("parse-url", "s3://state/jumpbox/prod")
    assert json.loads(cp.stdout) == {"bucket": "state", "prefix": "jumpbox/prod/"}
    cp = s3rver.s3_cli("parse-url", "s3://state/../etc", check=2)
    assert "\"..\" segment" in cp.stderr
