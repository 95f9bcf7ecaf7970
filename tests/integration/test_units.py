"""jumpbox-sweep.service and .timer as `make install` writes them: systemd
accepts them, the hardening score is the README's, and the command line
they run sweeps with the settings of the environment file."""
import json
import os
import re
import shlex
import stat
import subprocess

from support.jbtest import ROOT, run
from support.localflow import box_processes

UNITS = ("jumpbox-sweep.service", "jumpbox-sweep.timer")


def directives(path, section):
    """{key: [values]} of one section of a unit file."""
    out, current = {}, None
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
        elif current == section:
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


def test_systemd_analyze_verify_accepts_the_installed_units(installed):
    # Documentation=man:cleaner(1) must resolve: to the installed page.
    env = {"MANPATH": f"{installed.prefix}/share/man:", "PATH": "/usr/bin:/bin"}
    cp = subprocess.run(["systemd-analyze", "verify", *(str(installed.unit(u)) for u in UNITS)],
                        env=env, capture_output=True, text=True, timeout=120)
    assert cp.returncode == 0 and cp.stderr == "", cp.stderr


def test_the_service_runs_the_sweep_unprivileged_from_the_environment_file(installed):
    svc = directives(installed.unit("jumpbox-sweep.service"), "Service")
    # The sweep, then the reap (a failed sweep skips that run's reap: oneshot).
    assert svc["ExecStart"] == [f"{installed.bin}/cleaner sweep --state ${{JUMPBOX_STATE}}",
                                f"{installed.bin}/cleaner reap --state ${{JUMPBOX_STATE}}"]
    assert svc["EnvironmentFile"] == [f"{installed.prefix}/etc/jumpbox/sweep.env"]
    assert svc["DynamicUser"] == ["yes"] and "User" not in svc
    assert svc["Type"] == ["oneshot"]
    env_file = installed.prefix / "etc" / "jumpbox" / "sweep.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    timer = directives(installed.unit("jumpbox-sweep.timer"), "Timer")
    assert timer["OnUnitInactiveSec"] == ["5min"]
    assert directives(installed.unit("jumpbox-sweep.timer"), "Install")["WantedBy"] == [
        "timers.target"]


def unit_command(installed, env_file, tmp_path, which=0):
    """ExecStart= (the first: the sweep; the second: the reap) with the
    environment systemd would give it: the EnvironmentFile= lines, then
    Environment= (%S is /var/lib)."""
    svc = directives(installed.unit("jumpbox-sweep.service"), "Service")
    env = {"PATH": os.environ["PATH"]}
    for line in env_file.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            k, _, v = line.partition("=")
            env[k] = v
    for item in svc["Environment"]:
        for pair in shlex.split(item):
            k, _, v = pair.partition("=")
            env[k] = v.replace("%S", str(tmp_path / "var-lib"))
    argv = [re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), w)
            for w in svc["ExecStart"][which].split()]
    return argv, env


def test_as_shipped_the_sweep_refuses_to_run_until_the_state_is_set(installed, tmp_path):
    for which in (0, 1):  # the sweep, then the reap
        argv, env = unit_command(installed, installed.prefix / "etc" / "jumpbox" / "sweep.env",
                                 tmp_path, which)
        cp = run(argv, env=env, check=2)
        assert "--state" in cp.stderr


def test_configured_the_sweep_destroys_expired_stacks(installed, tmp_path):
    state = tmp_path / "state"
    env_file = tmp_path / "sweep.env"
    env_file.write_text(f"JUMPBOX_STATE=file://{state}\n")
    argv, env = unit_command(installed, env_file, tmp_path)
    # One expired stack, made by the installed provisioner.
    (tmp_path / "var-lib" / "jumpbox").mkdir(parents=True)
    create = [str(installed.bin / "provisioner"), "create", "--state", f"file://{state}",
              "--stack-id", "swept", "--ttl", "10m"]
    try:
        run(create, env=env, check=0)
        lease = state / "swept" / "lease.json"
        obj = json.loads(lease.read_text())
        obj["expires_at"] = "2020-01-01T00:00:00Z"
        lease.write_text(json.dumps(obj))
        res = json.loads(run(argv, env=env, check=0).stdout)
        assert [(s["stack_id"], s["result"]) for s in res["stacks"]] == [("swept", "destroyed")]
        assert not (state / "swept").exists()
    finally:
        run([str(installed.bin / "cleaner"), "destroy", "--state", f"file://{state}",
             "--stack-id", "swept"], env=env)
        for pid, _ in box_processes(env["JUMPBOX_WORK_DIR"]):
            os.kill(pid, 9)
    assert not box_processes(env["JUMPBOX_WORK_DIR"])


def test_the_readme_gives_the_security_score_systemd_analyze_gives(installed):
    cp = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                         str(installed.unit("jumpbox-sweep.service"))],
                        capture_output=True, text=True, timeout=120)
    m = re.search(r"Overall exposure level for jumpbox-sweep\.service: ([\d.]+) (\w+)", cp.stdout)
    assert m, cp.stdout + cp.stderr
    readme = (ROOT / "README.md").read_text()
    want = re.search(r"`systemd-analyze security` exposure ([\d.]+) \((\w+)\)", readme)
    assert want, "README.md does not give the score"
    assert (m.group(1), m.group(2)) == want.groups()
    assert float(m.group(1)) <= 2.0, "the unit lost its hardening"
