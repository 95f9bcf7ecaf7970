"""The fault proxy fixture itself: what it forwards arrives unchanged (the
signature-checking versioned double and s3rver accept it), and its rules
fault exactly the requests they name, as often as they say."""
import os
import subprocess
import urllib.error
import urllib.request

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from support import botoclient
from support.s3_servers import AWS_CLI, VersionedS3Double, s3rver  # noqa: F401  (fixture)
from support.s3fault import FaultProxy


@pytest.fixture
def double_proxy(tmp_path):
    double = VersionedS3Double(buckets=("versioned",)).start()
    proxy = FaultProxy(double.endpoint, tmp_path).start()
    client = botoclient.client(
        "s3", endpoint_url=proxy.endpoint, region_name="us-east-1",
        aws_access_key_id=double.access_key, aws_secret_access_key=double.secret_key,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
    yield proxy, client, double
    proxy.stop()
    double.stop()


def code(exc):
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"][
        "HTTPStatusCode"]


def test_forwards_signed_requests_unchanged(double_proxy):
    proxy, s3, _ = double_proxy
    body = os.urandom(100_000)
    s3.put_object(Bucket="versioned", Key="p/a b+c.bin", Body=body)
    assert s3.get_object(Bucket="versioned", Key="p/a b+c.bin")["Body"].read() == body
    keys = s3.list_objects_v2(Bucket="versioned", Prefix="p/")["Contents"]
    assert [k["Key"] for k in keys] == ["p/a b+c.bin"]
    # The double recomputed every signature from the bytes it got.
    assert [(e["method"], e["key"], e["action"], e["status"]) for e in proxy.log()] == [
        ("PUT", "p/a b+c.bin", "forward", 200), ("GET", "p/a b+c.bin", "forward", 200),
        ("GET", "", "forward", 200)]


def test_rules_fault_what_they_name_as_often_as_they_say(double_proxy):
    proxy, s3, _ = double_proxy
    proxy.rules([{"method": "PUT", "key": r"^a/", "action": "503", "times": 2},
                 {"method": "GET", "key": r"^b/", "action": "500", "skip": 1}])
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            s3.put_object(Bucket="versioned", Key="a/1", Body=b"x")
        assert code(e) == ("SlowDown", 503)
    s3.put_object(Bucket="versioned", Key="a/1", Body=b"x")  # used up: passes
    s3.put_object(Bucket="versioned", Key="b/1", Body=b"y")  # another key: passes
    assert s3.get_object(Bucket="versioned", Key="b/1")["Body"].read() == b"y"  # skipped
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket="versioned", Key="b/1")
        assert code(e) == ("InternalError", 500)
    counters = proxy.counters()
    assert [(r["seen"], r["fired"]) for r in counters] == [(2, 2), (3, 2)]


def test_drop_and_drop_after(double_proxy):
    proxy, s3, _ = double_proxy
    proxy.rules([{"method": "PUT", "key": "^gone$", "action": "drop"},
                 {"method": "PUT", "key": "^kept$", "action": "drop-after"}])
    for key in ("gone", "kept"):
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            s3.put_object(Bucket="versioned", Key=key, Body=b"z")
    proxy.healthy()
    # drop: S3 never saw it; drop-after: S3 stored it, the answer was lost.
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="versioned", Key="gone")
    assert code(e)[1] == 404
    assert s3.get_object(Bucket="versioned", Key="kept")["Body"].read() == b"z"
    assert [(e["key"], e["action"], e["status"]) for e in proxy.log()][:2] == [
        ("gone", "drop", None), ("kept", "drop-after", 200)]


def test_bad_rules_are_refused(double_proxy):
    proxy, _, _ = double_proxy
    for bad in ([{"action": "explode"}], [{"action": "503", "times": -1}],
                [{"action": "503", "key": "("}], {"action": "503"}):
        with pytest.raises(urllib.error.HTTPError) as e:
            proxy.rules(bad) if isinstance(bad, list) else proxy._call(
                "POST", "/_fixture/rules", bad)
        assert e.value.code == 400


def test_aws_cli_multipart_through_the_proxy(s3rver, tmp_path):  # noqa: F811
    """Expect: 100-continue, multipart upload and ranged downloads pass."""
    proxy = FaultProxy(s3rver.endpoint, tmp_path).start()
    try:
        src, back = tmp_path / "big", tmp_path / "back"
        src.write_bytes(os.urandom(9 << 20))  # over the CLI's 8 MiB multipart threshold
        env = s3rver.env()
        for args in (["s3", "cp", str(src), "s3://state/proxy/big"],
                     ["s3", "cp", "s3://state/proxy/big", str(back)]):
            cp = subprocess.run([AWS_CLI, "--endpoint-url", proxy.endpoint, *args], env=env,
                                capture_output=True, text=True, timeout=120)
            assert cp.returncode == 0, cp.stderr
        assert back.read_bytes() == src.read_bytes()
        assert any("uploadId" in e["query"] for e in proxy.log())
        s3rver.aws("s3", "rm", "s3://state/proxy/big")
    finally:
        proxy.stop()
