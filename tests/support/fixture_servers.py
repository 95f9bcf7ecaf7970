"""Starts the HTTP test fixtures in tests/support/ (each prints "PORT n")
and stops them again; and a clean AWS environment for the drivers."""
import contextlib
import os
import subprocess
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent
PY = "/usr/bin/python3"  # Debian's, with botocore


@contextlib.contextmanager
def fixture_server(script, *args, env=None):
    """Yields the port of tests/support/SCRIPT started with args (as a module
    of the support package: the servers import its fixture_http)."""
    full_env = dict(os.environ, PYTHONPATH=str(FIXTURES.parent))
    full_env.update(env or {})
    module = "support." + script.removesuffix(".py")
    proc = subprocess.Popen([PY, "-m", module, *map(str, args)], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            proc.kill()
            raise RuntimeError(f"{script} did not start: {line!r} {proc.stderr.read()}")
        yield int(line.split()[1])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def clean_aws_env(monkeypatch, home):
    """No AWS_* from the outside, HOME in a temporary directory, and IMDS off
    unless a test points it at its fixture: nothing may reach 169.254.x."""
    for k in list(os.environ):
        if k.startswith("AWS_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
