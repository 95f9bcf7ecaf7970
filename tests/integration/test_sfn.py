"""lib/aws/sfn (Step Functions task callbacks) through tests/tools/sfn_call,
against tests/support/sfn_server.py, a TEST FIXTURE that answers like the
Step Functions API and checks every SigV4 signature with botocore.  The
request bodies are compared with what botocore's own serializer makes of
the same parameters.  --no-sleep makes the driver record each backoff
instead of sleeping it, so nothing here waits."""
import json

import botocore.session
import pytest
from botocore import serialize

from support.jbtest import bin_path
from support.s3_servers import clean_env, run
from support.sfn_server import SfnFixture

TOKEN = "AAAAKgAAAAIAAAAAAAAAAQ+jumpbox/token=="
MODEL = botocore.session.get_session().get_service_model("stepfunctions")


@pytest.fixture
def sfn(tmp_path):
    fx = SfnFixture().start()
    yield fx
    fx.stop()


def call(fx, tmp_path, *args, check=0, env=None):
    e = clean_env(tmp_path, **{"AWS_ENDPOINT_URL_SFN": fx.endpoint,
                               "AWS_ACCESS_KEY_ID": fx.access_key,
                               "AWS_SECRET_ACCESS_KEY": fx.secret_key, **(env or {})})
    cp = run([bin_path("tools/sfn_call"), "--no-sleep", *args], env=e, check=check, timeout=120)
    assert "DoNotLeak" not in cp.stdout + cp.stderr
    return cp if check else json.loads(cp.stdout)


def botocore_request(action, **params):
    """What botocore puts on the wire for action(**params): body and the
    protocol's headers."""
    req = serialize.create_serializer("json").serialize_to_request(
        params, MODEL.operation_model(action))
    return json.loads(req["body"]), {k.lower(): v for k, v in req["headers"].items()}


def assert_like_botocore(sent, action, **params):
    got_action, headers, body = sent
    want_body, want_headers = botocore_request(action, **params)
    assert got_action == action
    # Same members in the same order, same values (whitespace and \u
    # escapes are botocore's json.dumps style, not part of the protocol).
    assert list(json.loads(body).items()) == list(want_body.items())
    for k, v in want_headers.items():
        assert headers[k] == v
    assert headers["host"] == "127.0.0.1:" + headers["host"].split(":")[1]


def test_success_is_sent_as_botocore_sends_it(sfn, tmp_path):
    out = json.dumps({"stack_id": "jb-1", "exit_status": 0, "duration_s": 12.5,
                      "note": "caf\u00e9 \u20ac \U0001F600 \"q\" \\ </x>\n\t"},
                     ensure_ascii=False)
    r = call(sfn, tmp_path, "success", TOKEN, out)
    assert r == {"result": "ok", "error": "", "sleeps_ms": []}
    assert len(sfn.calls) == 1 and sfn.rejected == []
    assert_like_botocore(sfn.calls[0], "SendTaskSuccess", taskToken=TOKEN, output=out)
    assert json.loads(json.loads(sfn.calls[0][2])["output"]) == json.loads(out)


def test_failure_is_sent_as_botocore_sends_it(sfn, tmp_path):
    cause = "rsync: connection unexpectedly closed\n\u00e9chec \u2014 exit 12\n"
    r = call(sfn, tmp_path, "failure", TOKEN, "--error", "jumpbox.CommandFailed",
             "--cause", cause)
    assert r["result"] == "ok"
    assert_like_botocore(sfn.calls[0], "SendTaskFailure", taskToken=TOKEN,
                         error="jumpbox.CommandFailed", cause=cause)


def test_failure_without_error_or_cause(sfn, tmp_path):
    assert call(sfn, tmp_path, "failure", TOKEN)["result"] == "ok"
    assert_like_botocore(sfn.calls[0], "SendTaskFailure", taskToken=TOKEN)
    assert call(sfn, tmp_path, "failure", TOKEN + "2", "--cause", "only")["result"] == "ok"
    assert_like_botocore(sfn.calls[1], "SendTaskFailure", taskToken=TOKEN + "2", cause="only")


def test_heartbeat_is_sent_as_botocore_sends_it(sfn, tmp_path):
    for _ in range(2):
        assert call(sfn, tmp_path, "heartbeat", TOKEN)["result"] == "ok"
    assert len(sfn.calls) == 2
    for c in sfn.calls:
        assert_like_botocore(c, "SendTaskHeartbeat", taskToken=TOKEN)


@pytest.mark.parametrize("which,code", [("expired", "TaskTimedOut"),
                                        ("finished", "TaskDoesNotExist"),
                                        ("malformed", "InvalidToken")])
def test_refused_token_ends_reporting_with_a_clear_error(sfn, tmp_path, which, code):
    token = "not-a-real-token" if which == "malformed" else TOKEN
    if which != "malformed":
        getattr(sfn, which).add(TOKEN)
    for args in (("heartbeat", token), ("success", token, "{}"),
                 ("failure", token, "--error", "E")):
        cp = call(sfn, tmp_path, *args, check=1)
        r = json.loads(cp.stdout)
        assert r["result"] == "notfound"
        assert f"refused the task token ({code}: " in r["error"]
        assert "no longer waiting" in r["error"]
        assert token not in cp.stdout + cp.stderr  # a capability: never in error text
        assert r["sleeps_ms"] == []  # refused once, not retried
    assert len(sfn.calls) == 3


def test_second_report_of_a_finished_task_is_refused(sfn, tmp_path):
    assert call(sfn, tmp_path, "success", TOKEN, '{"a":1}')["result"] == "ok"
    r = json.loads(call(sfn, tmp_path, "failure", TOKEN, "--error", "late", check=1).stdout)
    assert (r["result"], "TaskDoesNotExist" in r["error"]) == ("notfound", True)


@pytest.mark.parametrize("answer", ["ThrottlingException", "ThrottlingException:suffix", "500"])
def test_throttling_and_5xx_are_retried(sfn, tmp_path, answer):
    sfn.script = [answer, answer]
    r = call(sfn, tmp_path, "heartbeat", TOKEN)
    assert r["result"] == "ok"
    assert len(sfn.calls) == 3 and len(r["sleeps_ms"]) == 2
    assert 0 <= r["sleeps_ms"][0] <= 1000 and 0 <= r["sleeps_ms"][1] <= 2000
    # Every attempt carries the whole request, signed afresh.
    assert len({c[2] for c in sfn.calls}) == 1


def test_throttling_gives_up_after_the_standard_attempts(sfn, tmp_path):
    sfn.script = ["ThrottlingException"] * 5
    r = json.loads(call(sfn, tmp_path, "heartbeat", TOKEN, check=1).stdout)
    assert r["result"] == "aws"
    assert "HTTP 400 ThrottlingException: Rate exceeded (after 3 attempts)" in r["error"]
    assert len(sfn.calls) == 3


def test_scripted_refusal_mid_job(sfn, tmp_path):
    """The heartbeat loop's view: fine, fine, then the state machine gave up."""
    assert call(sfn, tmp_path, "heartbeat", TOKEN)["result"] == "ok"
    sfn.script = ["TaskTimedOut"]
    r = json.loads(call(sfn, tmp_path, "heartbeat", TOKEN, check=1).stdout)
    assert r["result"] == "notfound" and "TaskTimedOut" in r["error"]


def test_cause_is_cut_to_its_last_32768_bytes_on_a_utf8_boundary(sfn, tmp_path):
    # 3-byte characters, aligned so byte len-32768 falls inside one: the cut
    # moves forward to the next character and keeps the tail.
    cause = "HEAD-" + "\u20ac" * 12000 + "-the-end."
    raw = cause.encode()
    assert len(raw) > 32768 and (raw[len(raw) - 32768] & 0xC0) == 0x80
    (tmp_path / "cause").write_bytes(raw)
    err = "E" * 251 + "\u00e9\u00e9\u00e9"  # 256 bytes would end inside the third é
    r = call(sfn, tmp_path, "failure", TOKEN, "--error", err, "--cause", f"@{tmp_path}/cause")
    assert r["result"] == "ok"
    sent = json.loads(sfn.calls[0][2])
    got = sent["cause"].encode()
    assert len(got) <= 32768 and raw.endswith(got) and got.endswith(b"-the-end.")
    assert len(got) > 32768 - 4
    assert sent["error"] == "E" * 251 + "\u00e9\u00e9"
    assert_like_botocore(sfn.calls[0], "SendTaskFailure", taskToken=TOKEN, error=sent["error"],
                         cause=sent["cause"])


def test_cause_that_is_not_utf8_still_makes_valid_json(sfn, tmp_path):
    (tmp_path / "cause").write_bytes(b"binary \xff\xfe garbage \xc3( end \xe2\x82")
    r = call(sfn, tmp_path, "failure", TOKEN, "--cause", f"@{tmp_path}/cause")
    assert r["result"] == "ok"
    assert json.loads(sfn.calls[0][2])["cause"] == "binary ?? garbage ?( end ??"


def test_output_over_the_limit_is_refused_before_sending(sfn, tmp_path):
    limit = 256 * 1024
    (tmp_path / "big").write_text(json.dumps("x" * (limit - 2)))  # exactly the limit
    assert call(sfn, tmp_path, "success", TOKEN, f"@{tmp_path}/big")["result"] == "ok"
    (tmp_path / "big").write_text(json.dumps("x" * (limit - 1)))
    r = json.loads(call(sfn, tmp_path, "success", TOKEN + "x", f"@{tmp_path}/big",
                        check=2).stdout)
    assert r["result"] == "invalid" and "262145 bytes, more than the 262144 allowed" in r["error"]
    for bad in ("", "{", "{} {}", "not json"):
        r = json.loads(call(sfn, tmp_path, "success", TOKEN, bad, check=2).stdout)
        assert "not JSON" in r["error"]
    assert len(sfn.calls) == 1


def test_bad_tokens_are_refused_before_sending(sfn, tmp_path):
    for tok in (TOKEN + "\n", "a b", "A" * 2049):
        r = json.loads(call(sfn, tmp_path, "heartbeat", tok, check=2).stdout)
        assert "--task-token" in r["error"]
    assert call(sfn, tmp_path, "heartbeat", "AAAA" + "A" * 2044)["result"] == "ok"
    assert len(sfn.calls) == 1


def test_bad_signature_is_refused(sfn, tmp_path):
    cp = call(sfn, tmp_path, "heartbeat", TOKEN, env={"AWS_SECRET_ACCESS_KEY": "wrong"}, check=1)
    r = json.loads(cp.stdout)
    assert r["result"] == "auth" and "HTTP 403 InvalidSignatureException" in r["error"]
    assert sfn.rejected == ["SignatureDoesNotMatch"] and sfn.calls == []


def test_endpoint_falls_back_to_aws_endpoint_url(sfn, tmp_path):
    e = clean_env(tmp_path, AWS_ENDPOINT_URL=sfn.endpoint + "/",
                  AWS_ACCESS_KEY_ID=sfn.access_key, AWS_SECRET_ACCESS_KEY=sfn.secret_key,
                  AWS_ENDPOINT_URL_STATES="http://127.0.0.1:1")  # not botocore's name: unused
    cp = run([bin_path("tools/sfn_call"), "heartbeat", TOKEN], env=e, check=0)
    assert json.loads(cp.stdout)["result"] == "ok" and len(sfn.calls) == 1


def test_no_answer_is_an_error_not_a_hang(tmp_path):
    fx = SfnFixture().start()
    endpoint = fx.endpoint
    fx.stop()  # the port is free again: nobody listens there now
    e = clean_env(tmp_path, AWS_ENDPOINT_URL_SFN=endpoint,
                  AWS_ACCESS_KEY_ID="AKIDSTATES", AWS_SECRET_ACCESS_KEY="s")
    cp = run([bin_path("tools/sfn_call"), "--no-sleep", "heartbeat", TOKEN], env=e, check=1,
             timeout=120)
    r = json.loads(cp.stdout)
    assert r["result"] == "http" and "no answer after 3 attempts" in r["error"]
