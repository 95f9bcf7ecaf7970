"""tests/support/sigv4_verify_server.py recomputes each request's SigV4 with
botocore: a request our client signed passes, one signed with another
secret, or carrying another session token, gets 403."""
import hashlib
import json

import pytest

from support.jbtest import bin_path, run
from support.fixture_servers import clean_aws_env, fixture_server

AKID = "AKIAVERIFYTEST0000"
SECRET = "verifySecret/Do+Not=Leak"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    clean_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)


@pytest.fixture
def verifier():
    with fixture_server("sigv4_verify_server.py", "--access-key", AKID,
                        env={"FIXTURE_SECRET_ACCESS_KEY": SECRET}) as port:
        yield f"http://127.0.0.1:{port}"


def call(endpoint, service, method, path, *args, env=None):
    cp = run([bin_path("tools/aws_call"), "--service", service, "--region", "eu-west-1",
              "--method", method, "--path", path, "--endpoint", endpoint, "--no-sleep", *args],
             env=env, check=0)
    return json.loads(cp.stdout)


@pytest.mark.parametrize("service,method,path,args", [
    ("s3", "GET", "/bucket", ["--query", "list-type=2", "--query", "prefix=a b/+c=d~%"]),
    ("s3", "PUT", "/bucket/dir/ké y+1=2~%.json",
     ["--body", '{"x": 1}', "--header", "Content-Type:application/json"]),
    ("s3", "POST", "/bucket", ["--query", "delete", "--body", "<Delete/>"]),
    ("s3", "DELETE", "/bucket/k", ["--query", "versionId=a/b+c=="]),
    ("lambda", "POST", "/2015-03-31/functions/jb-build/invocations",
     ["--body", '{"action": "create"}', "--header", "X-Amz-Invocation-Type:RequestResponse"]),
    ("sts", "GET", "/", ["--query", "Action=GetCallerIdentity", "--query", "Version=2011-06-15"]),
])
def test_our_signatures_pass(verifier, service, method, path, args):
    r = call(verifier, service, method, path, *args)
    assert r["status"] == 200, r
    echo = json.loads(r["body"])
    assert (echo["service"], echo["region"], echo["method"]) == (service, "eu-west-1", method)
    body = args[args.index("--body") + 1].encode() if "--body" in args else b""
    assert echo["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_wrong_secret_gets_403(verifier):
    r = call(verifier, "s3", "GET", "/bucket/key", env={"AWS_SECRET_ACCESS_KEY": "wrong/secret"})
    assert (r["status"], r["aws_code"], r["attempts"]) == (403, "SignatureDoesNotMatch", 1)


def test_unknown_key_gets_403(verifier):
    r = call(verifier, "lambda", "POST", "/x", env={"AWS_ACCESS_KEY_ID": "AKIAOTHER000000000"})
    assert (r["status"], r["aws_code"]) == (403, "InvalidAccessKeyId")


def test_session_token_is_signed_and_checked():
    with fixture_server("sigv4_verify_server.py", "--access-key", AKID, "--token", "tok/en+1==",
                        env={"FIXTURE_SECRET_ACCESS_KEY": SECRET}) as port:
        ep = f"http://127.0.0.1:{port}"
        assert call(ep, "s3", "GET", "/b", env={"AWS_SESSION_TOKEN": "tok/en+1=="})["status"] \
            == 200
        r = call(ep, "s3", "GET", "/b", env={"AWS_SESSION_TOKEN": "other"})
        assert (r["status"], r["aws_code"]) == (403, "InvalidToken")
