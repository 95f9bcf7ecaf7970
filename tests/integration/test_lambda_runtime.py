"""lib/lambda/runtime against the local Lambda harness: a real Runtime API loop
(tests/tools/runtime_probe) behind a SigV4-checking Invoke API, driven by
botocore's own Lambda client."""
import json
import os

import botocore.exceptions
import pytest

from support.jbtest import bin_path
from support.lambda_util import LambdaHarness, boto_lambda, invoke

TIMEOUT_S = 6


@pytest.fixture
def harness(tmp_path):
    h = LambdaHarness(str(tmp_path)).start()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"}
    h.add_function("probe", [bin_path("tools/runtime_probe")], env, timeout_s=TIMEOUT_S)
    h.add_function("probe-init-fails", [bin_path("tools/runtime_probe")],
                   dict(env, PROBE_INIT_FAIL="1"), timeout_s=TIMEOUT_S)
    yield h
    h.stop()


def test_event_headers_and_trace_reach_the_handler(harness):
    c = boto_lambda(harness)
    body, ferr = invoke(c, "probe", b'{"do":"echo","x":[1,2]}')
    assert ferr is None, body
    got = json.loads(body)
    rec = harness.functions["probe"].history[-1]
    assert got["request_id"] == rec["request_id"]
    assert got["event"] == {"do": "echo", "x": [1, 2]}
    assert got["trace_id"] == rec["trace_id"]
    assert got["function_arn"].endswith(":function:probe")
    assert got["deadline_ms"] > 0


def test_handler_error_goes_to_the_error_endpoint(harness):
    c = boto_lambda(harness)
    body, ferr = invoke(c, "probe", b'{"do":"fail"}')
    assert ferr == "Unhandled"
    doc = json.loads(body)
    assert doc == {"errorMessage": "asked to fail", "errorType": "Probe.Failed",
                   "stackTrace": []}
    rec = harness.functions["probe"].history[-1]
    assert rec["outcome"] == "error" and rec["error_type"] == "Probe.Failed"


@pytest.mark.parametrize("what,etype", [("crash", "Runtime.HandlerCrashed"),
                                        ("exit", "Runtime.HandlerExited"),
                                        ("sleep", "Runtime.DeadlineExceeded"),
                                        ("big", "Runtime.ResponseTooLarge")])
def test_bad_handler_is_reported_and_runtime_keeps_serving(harness, what, etype):
    c = boto_lambda(harness)
    first, _ = invoke(c, "probe", b'{"do":"echo"}')
    body, ferr = invoke(c, "probe", json.dumps({"do": what}).encode())
    assert ferr == "Unhandled"
    assert json.loads(body)["errorType"] == etype
    # Reported by the runtime itself through the error endpoint, not a
    # harness timeout or a dead process.
    assert harness.functions["probe"].history[-1]["outcome"] == "error"
    after, ferr = invoke(c, "probe", b'{"do":"echo"}')
    assert ferr is None
    assert json.loads(after)["runtime_pid"] == json.loads(first)["runtime_pid"]


def test_init_error_is_reported(harness):
    body, ferr = invoke(boto_lambda(harness), "probe-init-fails", b"{}")
    assert ferr == "Unhandled"
    assert json.loads(body) == {"errorMessage": "asked to fail at init",
                                "errorType": "Probe.InitFailed", "stackTrace": []}
    err = harness.functions["probe-init-fails"].init_errors[0]
    assert err["content_type"] == "application/vnd.aws.lambda.error+json"
    assert err["error_type"] == "Probe.InitFailed"


def test_harness_refuses_a_bad_signature_and_an_unknown_function(harness):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        invoke(boto_lambda(harness, secret="wrong"), "probe", b"{}")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert harness.rejected and harness.rejected[-1][1] == "SignatureDoesNotMatch"
    assert harness.functions["probe"].history == []
    with pytest.raises(botocore.exceptions.ClientError) as e:
        invoke(boto_lambda(harness), "nosuch", b"{}")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
