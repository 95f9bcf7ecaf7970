"""A host behind the jump box -- a test fixture: a real sshd on 127.0.0.1
(or another address of the test's own network namespace) that runs
commands (as the box must not), for the tests that reach a host through the
box with ssh -J, as a backup job does."""
import os
import socket
import subprocess
import time


class TargetSshd:
    """sshd -D on a free loopback port, its own host key, one authorized key
    (the box's user key: what a job would use for both hops), for the user
    running the tests."""

    def __init__(self, work, authorized_key, host="127.0.0.1"):
        self.dir = work
        self.dir.mkdir(mode=0o700)
        hk = self.dir / "host_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(hk)],
                       check=True)
        self.host_public_key = (self.dir / "host_key.pub").read_text().split()
        (self.dir / "authorized_keys").write_text(authorized_key.strip() + "\n")
        self.host = host
        with socket.socket() as s:
            s.bind((host, 0))
            self.port = s.getsockname()[1]
        self.user = subprocess.run(["id", "-un"], capture_output=True, text=True,
                                   check=True).stdout.strip()
        cfg = self.dir / "sshd_config"
        cfg.write_text(f"ListenAddress {host}:{self.port}\nHostKey {hk}\nPidFile none\n"
                       f"AuthorizedKeysFile {self.dir}/authorized_keys\nAllowUsers {self.user}\n"
                       "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
                       "UsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n")
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(self.dir / "sshd.log", "w"))
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection((host, self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("target sshd did not start: " +
                                       (self.dir / "sshd.log").read_text())
                time.sleep(0.1)

    def known_hosts_line(self):
        return f"[{self.host}]:{self.port} {' '.join(self.host_public_key[:2])}\n"

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)
