"""Test fixture (not AWS): an HTTP endpoint on 127.0.0.1 standing in for the
Lambda Invoke API and S3's PutObject as the box's own scripts call them
(userdata/jumpbox-aws.sh, with curl): it checks each request's SigV4 with
botocore's signer against the key IMDS handed out (tests/support/
imds_server.py) and that the session token was sent and signed, records it,
and answers with the status a test set (202 for an Invoke, 200 for a PUT,
412 when the object is there and If-None-Match: * asked; a GetObject the
object a test put in `objects`, or 404)."""
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from support.sigv4_check import check

# What tests/support/imds_server.py hands out (its access key ids count up).
IMDS_SECRET = "imdsFixtureSecret/DoNotLeak+0000000000000"
IMDS_TOKEN = "IQoJb3JpZ2luX2VjEIMDSfixtureTOKEN=="
AKID_RE = re.compile(r"Credential=(ASIAIMDSFIXTURE\d{5})/")


NO_KEY = b"<Error><Code>NoSuchKey</Code></Error>"
ERRORS = {403: b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
          500: b"<Error><Code>InternalError</Code></Error>"}


class SignedRecorder:
    def __init__(self, region, service, status=None):
        self.region, self.service = region, service
        self.status = status
        self.requests = []
        self.objects = {}
        rec = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                m = AKID_RE.search(self.headers.get("Authorization", ""))
                why = "not signed with the IMDS fixture's key" if not m else check(
                    self.command, self.path, self.headers, body, m.group(1), IMDS_SECRET,
                    rec.region, rec.service, must_sign=("x-amz-security-token",))
                if why is None and self.headers.get("x-amz-security-token") != IMDS_TOKEN:
                    why = "x-amz-security-token is not the role session's"
                rec.requests.append({"method": self.command, "path": self.path,
                                     "headers": {k.lower(): v for k, v in self.headers.items()},
                                     "body": body, "signature": why or "ok"})
                if why:
                    return self._send(403, why.encode())
                status = rec.status or (202 if rec.service == "lambda" else 200)
                if self.command == "GET":
                    found = rec.objects.get(self.path)
                    if found is None or rec.status:
                        # S3's answer for a key that is not there: 404, or 403
                        # AccessDenied to a caller that may not list the bucket.
                        return self._send(rec.status or 404, ERRORS.get(rec.status, NO_KEY))
                    return self._send(200, found)
                if rec.service == "s3" and self.command == "PUT":
                    if self.path in rec.objects and self.headers.get("If-None-Match") == "*":
                        status = 412
                    elif status == 200:
                        rec.objects[self.path] = body
                self._send(status, b"")

            do_GET = do_POST = do_PUT = _any

            def _send(self, status, body):
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
