#!/usr/bin/python3
"""The usual Python way of writing the build function, as far as its cold
start goes: a custom-runtime bootstrap that imports boto3 and paramiko (for
the SSH readiness probe), makes one Ed25519 key pair, and then asks the
Runtime API for its first event.  bench/cold_start.py times it beside ours.
Debian's python3-boto3 and python3-paramiko (bench/deps.sh)."""
import http.client
import os

import boto3  # noqa: F401  (imported as the function's module would)
import paramiko  # noqa: F401
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

key = Ed25519PrivateKey.generate()
private_openssh = key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.OpenSSH,
                                    serialization.NoEncryption())
public_openssh = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                               serialization.PublicFormat.OpenSSH)

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
conn = http.client.HTTPConnection(api)
while True:
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    resp = conn.getresponse()
    resp.read()
