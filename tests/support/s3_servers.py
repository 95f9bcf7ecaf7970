"""Servers the S3 and Lambda tests run against, as pytest fixtures.

  s3rver        a real local S3 server (npm s3rver, ./node_modules), no
                versioning, SigV4 signatures not checked (only the key id)
  versioned     tests/support/s3_versioned_double.py: a TEST DOUBLE of a
                versioned bucket that checks every signature with botocore
  lambda_fx     tests/support/lambda_invoke_fixture.py: a TEST FIXTURE
                answering like Lambda Invoke

Import the fixtures into a test module: `from support.s3_servers import s3rver, ...`.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.jbtest import ROOT, bin_path
from support.lambda_invoke_fixture import LambdaInvokeFixture
from support.s3_versioned_double import VersionedS3Double

AWS_CLI = "/usr/bin/aws"  # Debian's; the aws on PATH may be another Python's
S3RVER_KEY = "S3RVER"     # s3rver's built-in account: key id and secret


def run(args, env, check=None, input=None, binary=False, timeout=600):
    """Like conftest.run, but env is the WHOLE environment (see clean_env);
    binary=True for bytes in and out."""
    env = dict(env)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    cp = subprocess.run(args, env=env, capture_output=True, text=not binary, timeout=timeout,
                        input=input)
    if check is not None:
        assert cp.returncode == check, (
            f"{args[:3]} exited {cp.returncode}, wanted {check}\n"
            f"stdout: {cp.stdout!r}\nstderr: {cp.stderr!r}")
    return cp


def clean_env(home, **extra):
    """An environment with no AWS settings but the ones given: nothing from
    the developer's ~/.aws or shell leaks into a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(Path(home) / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(Path(home) / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    })
    env.update(extra)
    return env


class S3rver:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.proc = None
        self.endpoint = None

    def start(self):
        js = ROOT / "node_modules" / "s3rver" / "bin" / "s3rver.js"
        if not js.exists():
            pytest.fail(f"{js} is missing: run `bash tests/deps.sh` (npm ci)")
        data = self.tmp / "s3rver-data"
        data.mkdir()
        env = dict(os.environ)
        # s3rver 3 signs continuation tokens with a legacy cipher; without
        # this, paginated listings fail on OpenSSL 3.
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        self.log = open(self.tmp / "s3rver.log", "w")
        self.proc = subprocess.Popen(
            ["node", str(js), "-d", str(data), "-a", "127.0.0.1", "-p", "0", "-s",
             "--no-vhost-buckets", "--configure-bucket", "state"],
            stdout=subprocess.PIPE, stderr=self.log, text=True, env=env)
        # It prints "S3rver listening on 127.0.0.1:PORT" once it accepts.
        for line in self.proc.stdout:
            if line.startswith("S3rver listening on "):
                self.endpoint = "http://" + line.split()[-1]
                break
        if self.endpoint is None:
            self.stop()
            pytest.fail("s3rver did not start: " + (self.tmp / "s3rver.log").read_text())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()

    def env(self, **extra):
        return clean_env(self.tmp, AWS_ENDPOINT_URL_S3=self.endpoint,
                         AWS_ACCESS_KEY_ID=S3RVER_KEY, AWS_SECRET_ACCESS_KEY=S3RVER_KEY, **extra)

    def s3_cli(self, *args, check=0, input=None, env=None, binary=False):
        return run([bin_path("tools/s3_cli"), *args], env={**self.env(), **(env or {})},
                   check=check, input=input, binary=binary)

    def aws(self, *args, check=True, input=None):
        """The real aws CLI against this server."""
        if not Path(AWS_CLI).exists():
            pytest.fail(f"{AWS_CLI} is missing: run `bash tests/deps.sh` (Debian awscli)")
        cp = subprocess.run([AWS_CLI, "--endpoint-url", self.endpoint, *args],
                            env=self.env(), capture_output=True, input=input, timeout=600)
        if check:
            assert cp.returncode == 0, f"aws {args}: {cp.stderr.decode(errors='replace')}"
        return cp


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory):
    srv = S3rver(tmp_path_factory.mktemp("s3rver")).start()
    yield srv
    srv.stop()
    shutil.rmtree(srv.tmp, ignore_errors=True)


class Versioned:
    """The versioned double plus helpers to run our driver against it."""

    def __init__(self, tmp, **kw):
        self.tmp = tmp
        self.double = VersionedS3Double(**kw).start()

    def env(self, **extra):
        d = self.double
        return clean_env(self.tmp, AWS_ENDPOINT_URL_S3=d.endpoint,
                         AWS_ACCESS_KEY_ID=d.access_key, AWS_SECRET_ACCESS_KEY=d.secret_key,
                         **extra)

    def s3_cli(self, *args, check=0, env=None, input=None, binary=False):
        return run([bin_path("tools/s3_cli"), *args], env={**self.env(), **(env or {})},
                   check=check, input=input, binary=binary)


@pytest.fixture
def versioned(tmp_path):
    v = Versioned(tmp_path, buckets=("versioned",))
    yield v
    v.double.stop()


class LambdaFx:
    def __init__(self, tmp):
        self.tmp = tmp
        self.fx = LambdaInvokeFixture().start()

    def env(self, **extra):
        f = self.fx
        return clean_env(self.tmp, AWS_ENDPOINT_URL_LAMBDA=f.endpoint,
                         AWS_ACCESS_KEY_ID=f.access_key, AWS_SECRET_ACCESS_KEY=f.secret_key,
                         **extra)

    def invoke(self, *args, check=0, env=None):
        return run([bin_path("tools/lambda_invoke"), *args],
                   env={**self.env(), **(env or {})}, check=check)


@pytest.fixture
def lambda_fx(tmp_path):
    f = LambdaFx(tmp_path)
    yield f
    f.fx.stop()


def have_aws_cli():
    return shutil.which(AWS_CLI) is not None
