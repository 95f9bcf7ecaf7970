"""Retries, backoff and endpoints of lib/net/http through tests/tools/aws_call,
against tests/support/flaky_server.py.  --no-sleep makes the driver record
each backoff instead of sleeping it, so nothing here waits."""
import json

import pytest

from support.jbtest import bin_path, run
from support.fixture_servers import clean_aws_env, fixture_server


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    clean_aws_env(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHTTPTEST000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "httpTestSecret/DoNotLeak")
    return tmp_path


def call(*args, endpoint=None, check=0, env=None, service="s3"):
    argv = [bin_path("tools/aws_call"), "--service", service, "--region", "us-east-1",
            "--method", "PUT", "--path", "/bucket/key", "--body", "payload", "--no-sleep", *args]
    if endpoint:
        argv += ["--endpoint", endpoint]
    cp = run(argv, check=check, env=env, timeout=120)
    assert "DoNotLeak" not in cp.stdout + cp.stderr
    return cp if check else json.loads(cp.stdout)


def served(port):
    return json.loads(run(["curl", "-s", f"http://127.0.0.1:{port}/_fixture/log"]).stdout)


@pytest.mark.parametrize("mode", ["slowdown", "throttle", "toomany", "drop"])
def test_retries_then_succeeds(mode):
    with fixture_server("flaky_server.py", "--mode", mode, "--fail-times", "2") as port:
        r = call(endpoint=f"http://127.0.0.1:{port}")
        assert (r["status"], r["attempts"]) == (200, 3)
        log = served(port)
        assert len(log) == 3
        # Every attempt is signed afresh and carries the whole body.
        assert all(e["headers"]["authorization"].startswith("AWS4-HMAC-SHA256 ") for e in log)
        assert all(e["body_len"] == len("payload") for e in log)
        # Full jitter: attempt n waits a draw in [0, 1 s * 2^(n-1)].
        assert len(r["sleeps_ms"]) == 2
        assert 0 <= r["sleeps_ms"][0] <= 1000 and 0 <= r["sleeps_ms"][1] <= 2000


def test_gives_up_after_three_attempts_by_default():
    with fixture_server("flaky_server.py", "--mode", "slowdown", "--fail-times", "100") as port:
        r = call(endpoint=f"http://127.0.0.1:{port}")
        assert (r["status"], r["attempts"], r["aws_code"]) == (503, 3, "SlowDown")
        assert "HTTP 503 SlowDown" in r["error"]
        assert len(served(port)) == 3


def test_aws_max_attempts_is_honoured(monkeypatch):
    with fixture_server("flaky_server.py", "--mode", "slowdown", "--fail-times", "4") as port:
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
        r = call(endpoint=f"http://127.0.0.1:{port}")
        assert (r["status"], r["attempts"]) == (200, 5)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
        r = call(endpoint=f"http://127.0.0.1:{port}")
        assert (r["status"], r["attempts"]) == (200, 1)
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "many")
        assert "AWS_MAX_ATTEMPTS" in call(endpoint=f"http://127.0.0.1:{port}", check=1).stderr


@pytest.mark.parametrize("mode,status,code", [("badrequest", 400, "InvalidArgument"),
                                              ("forbidden", 403, "AccessDenied")])
def test_other_4xx_are_never_retried(mode, status, code):
    with fixture_server("flaky_server.py", "--mode", mode) as port:
        r = call(endpoint=f"http://127.0.0.1:{port}")
        assert (r["status"], r["attempts"], r["aws_code"]) == (status, 1, code)
        assert r["sleeps_ms"] == []
        assert len(served(port)) == 1


def test_dropped_connections_end_in_a_clear_error():
    with fixture_server("flaky_server.py", "--mode", "drop", "--fail-times", "100") as port:
        cp = call(endpoint=f"http://127.0.0.1:{port}", check=1)
        assert "no answer after 3 attempts" in cp.stderr
        assert len(served(port)) == 3


def test_connection_refused_is_retried_and_reported():
    with fixture_server("flaky_server.py", "--mode", "badrequest") as port:
        pass  # the port is free again: nobody listens there now
    cp = call(endpoint=f"http://127.0.0.1:{port}", check=1)
    assert "no answer after 3 attempts" in cp.stderr
    assert json.loads(cp.stdout)["sleeps_ms"] != []


def test_endpoint_from_environment(monkeypatch):
    with fixture_server("flaky_server.py", "--mode", "badrequest") as general, \
            fixture_server("flaky_server.py", "--mode", "forbidden") as s3only:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{general}/")
        assert call()["status"] == 400
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{s3only}")
        assert call()["status"] == 403
        assert call(service="lambda")["status"] == 400  # AWS_ENDPOINT_URL_LAMBDA unset


def test_endpoint_with_a_path_is_rejected():
    cp = call(endpoint="http://127.0.0.1:1/prefix", check=1)
    assert "must not carry a path" in cp.stderr


def test_tls_is_verified_and_aws_ca_bundle_honoured(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
         "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)], check=0)
    with fixture_server("flaky_server.py", "--mode", "badrequest", "--tls-cert", cert,
                        "--tls-key", key) as port:
        cp = call(endpoint=f"https://127.0.0.1:{port}", check=1)
        assert "certificate" in cp.stderr.lower()
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        assert call(endpoint=f"https://127.0.0.1:{port}")["status"] == 400
