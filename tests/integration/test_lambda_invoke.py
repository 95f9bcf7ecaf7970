"""lib/aws/lambda_invoke against tests/support/lambda_invoke_fixture.py, a TEST
FIXTURE that answers like the Lambda Invoke API and checks every SigV4
signature with botocore."""
import json

from support.s3_servers import lambda_fx  # noqa: F401  (fixture)


def test_request_response_returns_the_payload(lambda_fx):
    payload = {"action": "destroy", "stack": "s-1", "note": "caf\u00e9 & <x>"}
    cp = lambda_fx.invoke("echo", json.dumps(payload))
    assert json.loads(cp.stdout) == payload
    assert "status=200 function_error=\n" in cp.stderr
    assert lambda_fx.fx.invocations == [("echo", "RequestResponse",
                                         json.dumps(payload).encode())]


def test_default_payload_and_qualified_names(lambda_fx):
    lambda_fx.invoke("echo:$LATEST")
    lambda_fx.invoke("arn:aws:lambda:us-east-1:123456789012:function:echo:live", "[1]")
    got = [(n, p) for n, _, p in lambda_fx.fx.invocations]
    assert got == [("echo:$LATEST", b"{}"),
                   ("arn:aws:lambda:us-east-1:123456789012:function:echo:live", b"[1]")]


def test_event_invocation(lambda_fx):
    cp = lambda_fx.invoke("--event", "echo", '{"a":1}')
    assert cp.stdout == "" and "status=202" in cp.stderr
    assert lambda_fx.fx.invocations == [("echo", "Event", b'{"a":1}')]


def test_unhandled_function_error(lambda_fx):
    cp = lambda_fx.invoke("crash", "{}", check=1)
    assert ("lambda_invoke: aws: lambda crash: function error (Unhandled): Runtime.ExitError: "
            "RequestId: 1 Error: Runtime exited with error: exit status 1") in cp.stderr
    assert json.loads(cp.stdout)["errorType"] == "Runtime.ExitError"
    assert "function_error=Unhandled" in cp.stderr


def test_handled_function_error_is_one_line(lambda_fx):
    cp = lambda_fx.invoke("handled", "{}", check=1)
    line = [ln for ln in cp.stderr.splitlines() if ln.startswith("lambda_invoke:")]
    assert line == ["lambda_invoke: aws: lambda handled: function error (Handled): ValueError: "
                    "bad input second line"]


def test_function_error_that_is_not_json(lambda_fx):
    cp = lambda_fx.invoke("garbage-error", "{}", check=1)
    assert ("lambda_invoke: parse: lambda garbage-error: function error (Unhandled) with a "
            "payload that is not a JSON object") in cp.stderr


def test_unknown_function(lambda_fx):
    cp = lambda_fx.invoke("nope", "{}", check=1)
    assert ("lambda_invoke: notfound: lambda Invoke nope: HTTP 404 ResourceNotFoundException: "
            "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
            ) in cp.stderr


def test_bad_names_are_refused_before_any_request(lambda_fx):
    for name in ("", "../echo", "echo/x", "a:b:c", "echo\n"):
        cp = lambda_fx.invoke(name, "{}", check=2)
        assert "lambda_invoke: invalid: lambda function" in cp.stderr
    assert lambda_fx.fx.invocations == [] and lambda_fx.fx.rejected == []


def test_bad_signature_is_refused(lambda_fx):
    cp = lambda_fx.invoke("echo", "{}", env={"AWS_SECRET_ACCESS_KEY": "wrong"}, check=1)
    assert "lambda_invoke: auth: lambda Invoke echo: HTTP 403 InvalidSignatureException" \
        in cp.stderr
    assert lambda_fx.fx.rejected == ["signature mismatch"]
    assert lambda_fx.fx.invocations == []


def test_payload_that_is_not_json_is_refused_by_the_service(lambda_fx):
    cp = lambda_fx.invoke("echo", "not json", check=1)
    assert "HTTP 400 InvalidRequestContentException" in cp.stderr
