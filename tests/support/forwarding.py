"""ssh -W through a box to an echo listener: what the forwarding tests
(--permit-open, local and aws module, and run) send and check."""
import socket
import subprocess
import threading


class Echo:
    """A TCP echo listener on 127.0.0.1 that counts the connections it got,
    so a refused forward is shown to have reached nothing."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                while True:
                    data = conn.recv(4096)
                    if not data:
                        break
                    conn.sendall(data)

    def close(self):
        self.sock.close()


def forward(config, host, target, *extra):
    """ssh -W target through the box; what came back, and ssh's result."""
    return subprocess.run(["ssh", "-F", str(config), "-o", "BatchMode=yes", *extra, "-W",
                           target, host], input=b"ping\n", capture_output=True, timeout=60)


def assert_refused(cp, echo, before):
    assert cp.returncode != 0 and cp.stdout == b""
    assert b"administratively prohibited" in cp.stderr, cp.stderr
    assert echo.accepted == before
