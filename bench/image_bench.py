#!/usr/bin/python3
"""The Lambda image (`make image`): size per layer, what a code-only change
pushes, and the cold start in the Lambda-like sandbox
(tests/support/lambda_sandbox.py) against the usual peer design, a Python
3.11 + boto3 + Terraform image, in the same sandbox, same run.

  image_bench.py --layout dist/image/oci [--changed OTHER_LAYOUT --pushed-a N --pushed-b N]
                 [--runs 50] [--variant NAME=FILE ...] [--json FILE]

Sizes come from the OCI layout: compressed = the blob, uncompressed = the
layer's tar stream.  --changed names the layout of the same image built after
a code-only change; --pushed-a/-b are the bytes the registry's storage grew
by when bench/image.sh pushed the first image and then the changed one
(skopeo uploads only the blobs the registry lacks).

Cold start: exec of the entry point inside the sandbox to its first
`GET .../invocation/next` at a stand-in Runtime API (bench/cold_start.py's),
and the peak RSS (VmHWM) of the entry point process itself.  The exec is
timed by bench/exec_stamp.c (static, bound into the sandbox's /tmp), which
notes CLOCK_MONOTONIC and execs the entry point, so the sandbox's own set-up
(user namespace, mounts: tens of ms on a busy machine) is reported apart.  Ours: the
image's entry point with the build function's settings.  Python: Debian 12's
/usr/bin/python3 (3.11) with python3-boto3 and python3-paramiko, running
bench/cold_start_fn.py as /var/task/function.py, in a root laid out like a
Python Lambda image with Terraform: /usr (bound read-only, holds Python and
boto3), /var/task, /opt/bin/terraform and /opt/terraform/plugins (the same
Terraform and provider), /etc/ssl; same read-only root, /tmp tmpfs, uid 993.  The floor: bench/next_floor.c
(static: connect, `GET next`) bound into the image's sandbox as its entry
point, what exec, the sandbox and the stand-in's own latency cost before any
code of ours runs.  --variant NAME=FILE times FILE (another build of the
entry point) the same way, same run, to compare ways of linking it.
A benchmark: nothing asserts on the numbers.
"""
import argparse
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# The tests' support package (tests/support), as pytest.ini gives it to the tests.
sys.path[:0] = [HERE, os.path.join(ROOT, "tests")]
import cold_start as cs  # noqa: E402
from support.lambda_sandbox import (LAMBDA_UID, TMP_BYTES, LambdaImage, entry_pid,  # noqa: E402
                                    image_config, sandboxed_pids)


def layer_sizes(layout):
    manifest, config = image_config(layout, "jumpbox")
    out = []
    for d, hist in zip(manifest["layers"], [h for h in config.get("history", [])
                                             if not h.get("empty_layer")]):
        algo, hexd = d["digest"].split(":")
        n = 0
        with gzip.open(os.path.join(layout, "blobs", algo, hexd)) as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                n += len(b)
        out.append({"digest": d["digest"], "compressed": d["size"], "uncompressed": n,
                    "created_by": hist.get("created_by", "")})
    return out


def python_argv(task, tf, plugins, stamp):
    """A Python 3.11 + boto3 + Terraform layout in the same sandbox."""
    return ["/usr/bin/setpriv", f"--reuid={LAMBDA_UID}", f"--regid={LAMBDA_UID}",
            "--clear-groups", "--inh-caps=-all", "--",
            "/usr/bin/bwrap", "--unshare-user", "--uid", str(LAMBDA_UID), "--gid",
            str(LAMBDA_UID), "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try",
            "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib", "/lib",
            "--symlink", "usr/lib64", "/lib64", "--symlink", "usr/bin", "/bin",
            "--ro-bind", "/etc/ssl", "/etc/ssl", "--ro-bind", task, "/var/task",
            "--ro-bind", tf, "/opt/bin/terraform", "--ro-bind", plugins, "/opt/terraform/plugins",
            "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
            "--ro-bind", stamp, STAMP, "--remount-ro", "/", "--chdir", "/var/task", "--",
            STAMP, "/usr/bin/python3", "/var/task/function.py"]


STAMP = "/tmp/exec-stamp"


def stamped(argv, stamp, binds=()):
    """The sandbox argv with exec-stamp (and binds: (host file, path under
    /tmp) pairs) bound in, exec-stamp put before the entry point."""
    i = argv.index("--")
    i = argv.index("--", i + 1)   # setpriv's, then bwrap's
    extra = [x for host, dest in binds for x in ("--ro-bind", host, dest)]
    return argv[:i] + ["--ro-bind", stamp, STAMP] + extra + argv[i:i + 1] + [STAMP] + argv[i + 1:]


def wait_gone(pids, wait_s=10):
    """The pids still alive after up to wait_s (a zombie counts as gone)."""
    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for p in pids:
            try:
                with open(f"/proc/{p}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        left.append(p)
            except (FileNotFoundError, ProcessLookupError):
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.001)


def cold(argv, env, log):
    """One cold start: (seconds from exec, VmHWM KiB, RssAnon KiB, seconds of
    sandbox set-up before the exec)."""
    run = cs.Api.run = cs.Run()
    with open(log, "wb") as out:
        t0 = time.monotonic_ns()
        # A process group of its own: the sandbox's init and entry point are
        # in it (tests/support/lambda_sandbox.py), and outlive the outer bwrap.
        p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                             start_new_session=True)
    try:
        if not run.arrived.wait(60):
            raise SystemExit(f"image_bench: no `next` in 60 s (see {log})")
        pid = entry_pid(p.pid)
        hwm, anon = cs.vm_kib(pid, "VmHWM"), cs.vm_kib(pid, "RssAnon")
    finally:
        inside = sandboxed_pids(p.pid)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        # Killing the outer bwrap alone would leave the entry point running
        # into the next runs; and without waiting here, the next run (of
        # whichever peer comes next) would start while up to 46 MB of the
        # Python peer are still being torn down.
        left = wait_gone(inside)
        if left:
            raise SystemExit(f"image_bench: sandboxed pids {left} outlived their run")
        run.release.set()
        cs.Api.run = None
    if run.init_error is not None:
        raise SystemExit(f"image_bench: init error: {run.init_error}")
    with open(log, "rb") as f:
        stamps = [int(ln.split()[1]) for ln in f.read().decode(errors="replace").splitlines()
                  if ln.startswith("exec-stamp ")]
    if not stamps:
        raise SystemExit(f"image_bench: no exec-stamp line in {log}")
    return (run.t_next - stamps[0]) / 1e9, hwm, anon, (stamps[0] - t0) / 1e9


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layout", required=True)
    ap.add_argument("--changed")
    ap.add_argument("--pushed-a", type=int)
    ap.add_argument("--pushed-b", type=int)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--plugins", default=os.environ.get("JUMPBOX_TF_PLUGIN_DIR"))
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=FILE",
                    help="also time FILE, a build of the entry point, bound into the same "
                         "sandbox at /tmp/NAME and run in its place (same run, alternating)")
    ap.add_argument("--json")
    a = ap.parse_args()
    variants = [v.split("=", 1) for v in a.variant]

    res = {"layers": layer_sizes(a.layout)}
    if a.changed:
        before = {d["digest"] for d in res["layers"]}
        res["changed_layers"] = [d for d in layer_sizes(a.changed) if d["digest"] not in before]
        res["pushed_first"], res["pushed_change"] = a.pushed_a, a.pushed_b

    from http.server import ThreadingHTTPServer
    import threading
    srv = ThreadingHTTPServer(("127.0.0.1", 0), cs.Api)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="jumpbox-image-bench.")
    os.chmod(tmp, 0o711)
    img = LambdaImage(a.layout, "jumpbox", parent=tmp)
    try:
        task = os.path.join(tmp, "task")
        os.mkdir(task)
        shutil.copy(os.path.join(HERE, "cold_start_fn.py"), os.path.join(task, "function.py"))
        os.chmod(task, 0o755)
        stamp = os.path.join(tmp, "exec-stamp")
        floor = os.path.join(tmp, "next-floor")
        for out, src in ((stamp, "exec_stamp.c"), (floor, "next_floor.c")):
            subprocess.run(["cc", "-static", "-O2", "-o", out, os.path.join(HERE, src)],
                           check=True)
        tf = os.path.join(img.rootfs, "opt/bin/terraform")
        plugins = os.path.join(img.rootfs, "opt/terraform/plugins")
        fn = {"JUMPBOX_MODULE": "aws", "JUMPBOX_STATE": "s3://jumpbox-bench-state/stacks",
              "JUMPBOX_ALLOWED_CIDRS": "10.0.0.0/8"}
        env = img.lambda_env("jumpbox-build", fn, memory_mb=1024)
        env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:%d" % srv.server_address[1]
        env["AWS_LAMBDA_FUNCTION_NAME"] = "jumpbox-build"
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = "us-east-1"
        penv = {k: v for k, v in env.items() if not k.startswith(("JUMPBOX_", "TF_"))}
        peers = {"ours": (stamped(img.argv(), stamp), env),
                 "python": (python_argv(task, tf, plugins, stamp), penv),
                 "floor": (stamped(img.argv(entry_point=["/tmp/next-floor"]), stamp,
                                   [(floor, "/tmp/next-floor")]), env)}
        for name, path in variants:
            peers["variant " + name] = (stamped(img.argv(entry_point=["/tmp/" + name]), stamp,
                                                [(os.path.abspath(path), "/tmp/" + name)]), env)
        got = {k: {"s": [], "kib": [], "anon": [], "setup": []} for k in peers}
        for i in range(a.warmup + a.runs):
            for k in (list(peers) if i % 2 == 0 else list(reversed(peers))):
                s, kib, anon, setup = cold(*peers[k], os.path.join(tmp, k + ".log"))
                if i >= a.warmup:
                    got[k]["s"].append(s)
                    got[k]["kib"].append(kib)
                    got[k]["anon"].append(anon)
                    got[k]["setup"].append(setup)
    finally:
        srv.shutdown()
        srv.server_close()
        img.remove()
        shutil.rmtree(tmp, ignore_errors=True)
    res["cold"] = {k: {"time_s": cs.stats(v["s"]), "rss_kib": cs.stats(v["kib"]),
                       "anon_kib": cs.stats(v["anon"]), "setup_s": cs.stats(v["setup"])}
                   for k, v in got.items()}
    o, p = res["cold"]["ours"], res["cold"]["python"]
    res["speedup_median"] = p["time_s"]["median"] / o["time_s"]["median"]
    res["memory_ratio_peak"] = p["rss_kib"]["max"] / o["rss_kib"]["max"]
    res["runs"], res["python"] = a.runs, subprocess.run(
        ["/usr/bin/python3", "-c", "import platform, boto3; print(platform.python_version(), "
         "boto3.__version__)"], capture_output=True, text=True).stdout.split()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)

    mb = lambda n: "%.1f" % (n / 1e6)  # noqa: E731
    w = sys.stdout.write
    w("| layer | compressed MB | uncompressed MB | holds |\n|---|---:|---:|---|\n")
    for i, d in enumerate(res["layers"], 1):
        w(f"| {i} | {mb(d['compressed'])} | {mb(d['uncompressed'])} | {d['created_by']} |\n")
    w(f"| **all** | **{mb(sum(d['compressed'] for d in res['layers']))}** | "
      f"**{mb(sum(d['uncompressed'] for d in res['layers']))}** | |\n\n")
    if a.changed:
        ch = res["changed_layers"]
        w("A code-only change (one string in provisioner/main.c, built again): "
          f"{len(ch)} new layer(s), {sum(d['compressed'] for d in ch) / 1e6:.2f} MB compressed; "
          f"pushing the first image grew the registry by {a.pushed_a / 1e6:.1f} MB, pushing the "
          f"changed one after it by **{a.pushed_b / 1e6:.2f} MB** (new layer, config, "
          "manifest).\n\n")
    ms = lambda x: "%.1f" % (x * 1000)  # noqa: E731
    mib = lambda x: "%.1f" % (x / 1024)  # noqa: E731
    w("| entry point in the sandbox | median ms | p90 ms | min ms | max ms | peak RSS MiB "
      "(median / max) | of it anonymous MiB (median) | sandbox set-up before exec, median ms |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|\n")
    rows = [("ours", "ours: /var/task/bin/provisioner from the image"),
            ("python", "Python %s + boto3 %s + paramiko, 1 key" % tuple(res["python"])),
            ("floor", "floor: bench/next_floor.c (static, connect + GET next)")]
    rows += [("variant " + n, f"variant {n}: {os.path.basename(f)}") for n, f in variants]
    for k, name in rows:
        t, r = res["cold"][k]["time_s"], res["cold"][k]["rss_kib"]
        w(f"| {name} | {ms(t['median'])} | {ms(t['p90'])} | {ms(t['min'])} | {ms(t['max'])} "
          f"| {mib(r['median'])} / {mib(r['max'])} | {mib(res['cold'][k]['anon_kib']['median'])} "
          f"| {ms(res['cold'][k]['setup_s']['median'])} |\n")
    sp, mem = res["speedup_median"], res["memory_ratio_peak"]
    w(f"| **Python / ours** | **{sp:.1f}x** | | | | **{mem:.1f}x** (max) | | |\n")
    for k, name in rows[2:]:
        c = res["cold"][k]
        w(f"| Python / {name.split(':')[0]} | {p['time_s']['median'] / c['time_s']['median']:.1f}x "
          f"| | | | {p['rss_kib']['max'] / c['rss_kib']['max']:.1f}x (max) | | |\n")
    w("\nTargets: cold start at least 100x faster (median): **%s** (%.1fx); peak memory at most "
      "a twelfth of Python's: **%s** (ours is %.1f%%); code layer under 10 MB: **%s**.\n"
      % ("holds" if sp >= 100 else "does NOT hold", sp, "holds" if mem >= 12 else
         "does NOT hold", 100 / mem,
         "holds" if res["layers"][-1]["compressed"] < 10e6 and
         res["layers"][-1]["uncompressed"] < 10e6 else "does NOT hold"))


if __name__ == "__main__":
    main()
