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


def assert_jump_only(config, host, echo, *extra, target=None):
    """A key for the box forwards and does nothing else: a command prints
    nothing of its own, a shell never opens (no TTY, nothing read from
    stdin runs), a subsystem gets nothing, and ssh -W to a target (the
    echo listener's, unless given; no echo: the caller checks -W itself)
    still goes through."""
    ssh = ["ssh", "-F", str(config), "-o", "BatchMode=yes", *extra]
    marker = "jumpbox-ran-this"
    cmd = subprocess.run(ssh + [host, "echo", marker, ";", "id"], capture_output=True,
                         text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert cmd.returncode == 0 and cmd.stdout == "" and marker not in cmd.stderr, cmd
    shell = subprocess.run(ssh + ["-tt", host], input=f"echo {marker}\nexit 3\n",
                           capture_output=True, text=True, timeout=60)
    assert marker not in shell.stdout + shell.stderr, shell
    # ssh -tt gives up (255) when the TTY it insisted on is refused.
    assert "PTY allocation request failed" in shell.stderr and shell.returncode in (0, 255), shell
    sub = subprocess.run(ssh + ["-s", host, "sftp"], input="\0\0\0\x05\x01\0\0\0\x03",
                         capture_output=True, text=True, timeout=60)
    # Refused where no Subsystem is configured (255), /bin/true where one is.
    assert sub.returncode in (0, 255) and sub.stdout == "", sub
    if echo is not None:
        fwd = forward(config, host, target or f"127.0.0.1:{echo.port}", *extra)
        assert fwd.returncode == 0 and fwd.stdout == b"ping\n", fwd
