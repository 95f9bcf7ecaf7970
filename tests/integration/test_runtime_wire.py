"""lib/lambda/http1 on the wire: tests/tools/runtime_probe against a raw-socket
stand-in for the Lambda Runtime API (a test fixture, not AWS) that answers
`next` with framings http.server never produces: a chunked event, header
names in odd case with padding, an event over 6 MB, a malformed status
line.  Each scripted `next` answer is used once; after the script the
stand-in answers 503 and the probe's loop ends with that error."""
import json
import os
import socket
import subprocess
import threading

from support.jbtest import bin_path

RT = "/2018-06-01/runtime"


class RawApi:
    def __init__(self, script):
        self.script = list(script)
        self.posts = []
        self.gets = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.done = False
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def addr(self):
        return "127.0.0.1:%d" % self.sock.getsockname()[1]

    def _serve(self):
        while not self.done:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            lines = head.decode().split("\r\n")
            method, path, _ = lines[0].split(" ")
            hdrs = {k.strip().lower(): v.strip()
                    for k, v in (ln.split(":", 1) for ln in lines[1:])}
            want = int(hdrs.get("content-length", "0"))
            while len(body) < want:
                chunk = c.recv(65536)
                if not chunk:
                    break
                body += chunk
            if method == "GET":
                self.gets += 1
                out = self.script.pop(0) if self.script else (
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            else:
                self.posts.append({"path": path, "headers": hdrs, "body": body})
                out = b'HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{"status":"OK"}'
            c.sendall(out)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.done = True
        self.sock.close()


def next_head(rid, extra=b""):
    return (b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id:  " + rid.encode() +
            b"  \r\nLAMBDA-RUNTIME-DEADLINE-MS: 99999999999999\r\n"
            b"Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:1:function:p\r\n" +
            extra)


def run_probe(api):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_RUNTIME_API": api.addr,
           "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0"}
    try:
        return subprocess.run([bin_path("tools/runtime_probe")], env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        api.close()


def test_chunked_event_and_loose_headers():
    event = json.dumps({"do": "echo", "pad": "y" * 5000}).encode()
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(event[i:i + 700]), event[i:i + 700])
                      for i in range(0, len(event), 700))
    api = RawApi([next_head("req-1", b"Transfer-Encoding: chunked\r\n\r\n") + chunks +
                  b"0\r\nX-Trailer: t\r\n\r\n"])
    p = run_probe(api)
    assert "GET next: HTTP 503" in p.stderr, p.stderr
    assert len(api.posts) == 1, api.posts
    post = api.posts[0]
    assert post["path"] == RT + "/invocation/req-1/response"
    assert post["headers"]["content-type"] == "application/json"
    got = json.loads(post["body"])
    assert got["request_id"] == "req-1"
    assert got["event"] == json.loads(event)
    assert got["function_arn"].endswith(":function:p")


def test_event_over_6mb_is_refused_and_the_loop_goes_on():
    big = next_head("req-big", b"Content-Length: %d\r\n\r\n" % (7 * 1024 * 1024)) + b"x" * 1000
    ok = next_head("req-2", b"Content-Length: 11\r\n\r\n") + b'{"do":"x"} '
    api = RawApi([big, ok])
    p = run_probe(api)
    assert "GET next: HTTP 503" in p.stderr, p.stderr
    paths = [x["path"] for x in api.posts]
    assert paths == [RT + "/invocation/req-big/error", RT + "/invocation/req-2/response"], paths
    err = api.posts[0]
    assert err["headers"]["lambda-runtime-function-error-type"] == "Runtime.EventTooLarge"
    assert err["headers"]["content-type"] == "application/vnd.aws.lambda.error+json"
    assert json.loads(err["body"])["errorType"] == "Runtime.EventTooLarge"


def test_body_shorter_than_its_length_and_bad_status_line_end_the_loop():
    api = RawApi([next_head("req-3", b"Content-Length: 100\r\n\r\n") + b'{"do":"echo"}'])
    p = run_probe(api)
    assert "GET next: the connection closed 87 bytes before the body's end" in p.stderr, \
        p.stderr
    assert api.posts == []
    api = RawApi([b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n"])
    p = run_probe(api)
    assert "GET next: malformed status line 'HTTP/1.1 2000 OK'" in p.stderr, p.stderr
    api = RawApi([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"])
    p = run_probe(api)
    assert "GET next: unsupported Transfer-Encoding 'gzip'" in p.stderr, p.stderr
