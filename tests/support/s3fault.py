"""Runs tests/support/s3_fault_proxy.py (a TEST FIXTURE, not S3) in front of
s3rver and talks to its control endpoints."""
import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from support.jbtest import ROOT

PROXY = ROOT / "tests" / "support" / "s3_fault_proxy.py"


class FaultProxy:
    def __init__(self, upstream, tmp):
        self.upstream = upstream
        self.tmp = Path(tmp)
        self.proc = None
        self.endpoint = None

    def start(self, rules=()):
        self.errlog = open(self.tmp / "fault-proxy.err", "w")
        args = ["/usr/bin/python3", str(PROXY), "--upstream", self.upstream,
                "--log", str(self.tmp / "fault-proxy.jsonl")]
        for r in rules:
            args += ["--rule", json.dumps(r)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.errlog, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            self.stop()
            pytest.fail("fault proxy did not start: " +
                        (self.tmp / "fault-proxy.err").read_text())
        self.endpoint = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def _call(self, method, path, body=None):
        req = urllib.request.Request(self.endpoint + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=30) as r:
            text = r.read()
        return json.loads(text) if text else None

    def rules(self, rules):
        """Replaces the rules (counters start again at 0)."""
        return self._call("POST", "/_fixture/rules", list(rules))

    def healthy(self):
        return self.rules([])

    def counters(self):
        return self._call("GET", "/_fixture/rules")

    def log(self):
        return self._call("GET", "/_fixture/log")

    def faults(self):
        return [e for e in self.log() if e["action"] != "forward"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
        self.errlog.close()
