"""Helpers for the Lambda tests: the local harness
(tests/support/lambda_harness.py) and a real botocore Lambda client pointed
at it."""
from botocore.config import Config

from support import botoclient
from support.lambda_harness import LambdaHarness  # noqa: F401


def boto_lambda(h, secret=None):
    """A botocore Lambda client for harness h (secret: sign with a wrong key)."""
    return botoclient.client(
        "lambda", region_name=h.region, endpoint_url=h.endpoint,
        aws_access_key_id=h.access_key, aws_secret_access_key=secret or h.secret_key,
        config=Config(retries={"max_attempts": 1}, read_timeout=600, connect_timeout=5))


def invoke(client, name, payload):
    """(payload bytes, FunctionError or None)."""
    r = client.invoke(FunctionName=name, Payload=payload)
    return r["Payload"].read(), r.get("FunctionError")
