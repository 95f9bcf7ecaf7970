"""Our SigV4 (tests/tools/sigv4_sign) against botocore's SigV4Auth and
S3SigV4Auth on the same requests, byte for byte.  botocore gets the RAW
query pairs (it encodes them itself) and a URL whose path botocore's own
percent_encode built, so the two encoders are independent."""
import datetime
import hashlib
import itertools
import json
import types
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode

from support.jbtest import bin_path, run

WHEN = 1700000000  # 2023-11-14T22:13:20Z
AKID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def botocore_sign(case):
    creds = Credentials(case.get("access_key", AKID), case.get("secret_key", SECRET),
                        case.get("token"))
    scheme = case.get("scheme", "https")
    url = f"{scheme}://{case['host']}{percent_encode(case['path'], safe='/~')}"
    body = case.get("body", "").encode() if "body_hex" not in case else bytes.fromhex(
        case["body_hex"])
    req = AWSRequest(method=case["method"], url=url, data=body,
                     params=[(k, "" if v is None else v) for k, v in case.get("query", [])],
                     headers=dict(case.get("headers", [])))
    if case.get("payload_hash") == "UNSIGNED-PAYLOAD":
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    cls = S3SigV4Auth if case["service"] == "s3" else SigV4Auth
    signer = cls(creds, case["service"], case["region"])
    seen = []
    real = signer.canonical_request
    signer.canonical_request = lambda r: seen.append(real(r)) or seen[-1]
    fixed = datetime.datetime.utcfromtimestamp(case.get("when", WHEN))
    fake = types.SimpleNamespace(datetime=types.SimpleNamespace(utcnow=lambda: fixed))
    with mock.patch("botocore.auth.datetime", fake):
        signer.add_auth(req)
    return req.headers, seen[0], percent_encode(case["path"], safe="/~")


def our_sign(case):
    c = dict(case)
    c.setdefault("access_key", AKID)
    c.setdefault("secret_key", SECRET)
    c.setdefault("when", WHEN)
    c.pop("scheme", None)
    cp = run([bin_path("tools/sigv4_sign")], input=json.dumps(c), check=0)
    return json.loads(cp.stdout)


PATHS = ["/", "/bucket/key", "/bucket/a b/c+d=e~f", "/bucket/100%/x", "/bucket/ünï/çødé",
         "/b/with//double", "/b/trailing/", "/b/@:$&,;'()*!", "/2015-03-31/functions/fn/invocations",
         "/b/%2F already %41", "/b/tab\there", "/b/日本語/ключ"]
QUERIES = [[], [("list-type", "2"), ("prefix", "a b/c")], [("versions", None)],
           [("k", "v+w=x~y%z/"), ("k", "a"), ("k", "")], [("üñî", "çødé"), ("A", "1"), ("a", "2")],
           [("delete", None), ("x-id", "DeleteObjects")], [("space key", "space value")]]
SERVICES = [("s3", "us-east-1"), ("lambda", "eu-west-1"), ("sts", "ap-southeast-2")]


def cases():
    out = []
    for (svc, region), path, query in itertools.product(SERVICES, PATHS, QUERIES[:3]):
        out.append({"method": "GET", "host": f"{svc}.{region}.amazonaws.com", "path": path,
                    "query": query, "service": svc, "region": region})
    for (svc, region), query in itertools.product(SERVICES, QUERIES):
        out.append({"method": "PUT", "host": "127.0.0.1:9000", "path": "/bucket/o b+j",
                    "query": query, "service": svc, "region": region, "body": "hello body",
                    "headers": [("Content-Type", "application/json"),
                                ("X-Amz-Meta-Note", "  runs   of   spaces  ")],
                    "token": "FQoGZXIvYXdzE//////////wEaDAbc+/=="})
    out += [
        {"method": "POST", "host": "lambda.us-west-2.amazonaws.com",
         "path": "/2015-03-31/functions/my-fn/invocations", "service": "lambda",
         "region": "us-west-2", "body": '{"action":"sweep"}',
         "headers": [("X-Amz-Invocation-Type", "RequestResponse"), ("User-Agent", "ignored/1")]},
        {"method": "PUT", "host": "bucket.s3.amazonaws.com", "path": "/big", "service": "s3",
         "region": "us-east-1", "body_hex": bytes(range(256)).hex() * 4},
        {"method": "PUT", "host": "s3.amazonaws.com", "path": "/b/unsigned", "service": "s3",
         "region": "us-east-1", "body": "x" * 1000, "payload_hash": "UNSIGNED-PAYLOAD"},
        {"method": "DELETE", "host": "s3.eu-central-1.amazonaws.com", "path": "/b/k",
         "query": [("versionId", "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo")],
         "service": "s3", "region": "eu-central-1", "token": "tok",
         "secret_key": "another/secret+key=", "when": 1262304000},
        {"method": "GET", "host": "sts.amazonaws.com", "path": "/", "service": "sts",
         "region": "us-east-1", "query": [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
         "headers": [("X-Dup-Spaces", "a\t b  \t c")]},
    ]
    return out


CASES = cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['service']}-{c['method']}"
                                             for i, c in enumerate(CASES)])
def test_signature_matches_botocore(case):
    headers, canonical, wire = botocore_sign(case)
    ours = our_sign(case)
    assert ours["canonical_request"] == canonical
    assert ours["authorization"] == headers["Authorization"]
    assert ours["x-amz-date"] == headers["X-Amz-Date"]
    assert ours.get("x-amz-security-token") == headers.get("X-Amz-Security-Token")
    if case["service"] == "s3":
        assert ours["x-amz-content-sha256"] == headers["X-Amz-Content-SHA256"]
        assert ours["wire_path"] == wire
    else:
        assert "x-amz-content-sha256" not in ours


def test_a_wrong_secret_changes_the_signature():
    case = dict(CASES[0])
    good = our_sign(case)["authorization"]
    bad = our_sign(dict(case, secret_key=SECRET + "x"))["authorization"]
    assert good != bad
    headers, _, _ = botocore_sign(case)
    assert headers["Authorization"] == good


def test_empty_body_hash_is_the_sha256_of_nothing():
    ours = our_sign({"method": "GET", "host": "s3.amazonaws.com", "path": "/b", "service": "s3",
                     "region": "us-east-1"})
    assert ours["x-amz-content-sha256"] == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("bad,what", [
    ({"path": "no-slash"}, "path"), ({"region": "US EAST"}, "region"),
    ({"headers": [("Authorization", "x")]}, "authorization"),
    ({"headers": [("X-Bad", "line\nbreak")]}, "X-Bad"), ({"method": "get"}, "method"),
])
def test_rejects_bad_input_naming_the_field(bad, what):
    case = {"method": "GET", "host": "h", "path": "/", "service": "s3", "region": "us-east-1",
            "access_key": AKID, "secret_key": SECRET, "when": WHEN}
    case.update(bad)
    cp = run([bin_path("tools/sigv4_sign")], input=json.dumps(case), check=2)
    assert what in cp.stderr
    assert SECRET not in cp.stderr
