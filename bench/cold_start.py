#!/usr/bin/python3
"""Lambda cold start: exec of a custom-runtime `bootstrap` to its first
`GET /2018-06-01/runtime/invocation/next`, ours (TASK_ROOT/bootstrap: e.g.
the provisioner copied as bootstrap into a directory) against
bench/cold_start_fn.py (boto3 + paramiko + one Ed25519 key), without a
sandbox.  bench/image_bench.py reuses its Runtime API stand-in (Api, Run),
vm_kib and stats for the same measure in the Lambda-like sandbox, which is
what `make bench` reports.

A stand-in for the Runtime API (http.server on 127.0.0.1, a free port)
notes when the first `next` arrives and holds that request unanswered; the
driver reads the process's peak RSS (VmHWM in /proc/PID/status) and
SIGKILLs it.  Runs alternate between the two,
after WARMUP discarded runs each (page cache), and print one Markdown
section; --json writes the numbers.  A benchmark: nothing asserts on them.

    cold_start.py --runs 50 --task-root DIR [--json FILE]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT = "/2018-06-01/runtime/invocation/next"


class Run:
    def __init__(self):
        self.arrived = threading.Event()  # first `next`, or an init error
        self.release = threading.Event()  # the held request may end
        self.t_next = None
        self.init_error = None


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    run = None  # the Run in progress, set by the driver

    def log_message(self, *args):
        pass

    def do_GET(self):
        t = time.monotonic_ns()
        run = Api.run
        if self.path != NEXT or run is None:
            self.send_error(404)
            return
        if run.t_next is None:
            run.t_next = t
            run.arrived.set()
        # Held, as the real API holds `next` until an event comes; the
        # process is killed meanwhile and the connection just ends.
        run.release.wait(60)
        self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode(errors="replace")
        run = Api.run
        if run is not None and self.path.endswith("/init/error"):
            run.init_error = body
            run.arrived.set()
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def one(argv, cwd, env, log):
    """exec -> first `next`: (seconds, peak RSS KiB, anonymous RSS KiB)."""
    run = Api.run = Run()
    with open(log, "ab") as out:
        t0 = time.monotonic_ns()
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=out)
    try:
        if not run.arrived.wait(60):
            raise SystemExit(f"cold_start: {argv[0]} made no `next` request in 60 s (see {log})")
        hwm, anon = vm_kib(p.pid, "VmHWM"), vm_kib(p.pid, "RssAnon")
    finally:
        p.kill()
        p.wait()
        run.release.set()
        Api.run = None
    if run.init_error is not None:
        raise SystemExit(f"cold_start: {argv[0]} reported an init error: {run.init_error}")
    return (run.t_next - t0) / 1e9, hwm, anon


def vm_kib(pid, field):
    """VmHWM: peak RSS of the exec'd image so far (not wait4's ru_maxrss:
    Linux carries that over exec from the forked copy of this driver).
    RssAnon: its private memory now, without mapped files (library code)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"cold_start: no {field} for pid {pid}")


def stats(v):
    s = sorted(v)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    p90 = s[min(n - 1, -(-9 * n // 10) - 1)]  # nearest rank
    return {"mean": sum(s) / n, "median": med, "p90": p90, "min": s[0], "max": s[-1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--task-root", required=True, help="a directory holding bootstrap")
    ap.add_argument("--json")
    a = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="jumpbox-cold.")
    try:
        # What Lambda gives every function, plus the build function's own
        # settings (docs/lambda.md); the Python function ignores those.
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:%d" % srv.server_address[1],
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "AKIDCOLDSTARTBENCH00",
            "AWS_SECRET_ACCESS_KEY": "cold-start-bench-not-a-secret",
            "AWS_SESSION_TOKEN": "cold-start-bench",
            "AWS_LAMBDA_FUNCTION_NAME": "jumpbox-build",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "HOME": tmp,
            "JUMPBOX_MODULE": "aws",
            "JUMPBOX_STATE": "s3://jumpbox-bench-state/jumpbox",
            "JUMPBOX_ALLOWED_CIDRS": "10.0.0.0/8",
            "JUMPBOX_WORK_DIR": os.path.join(tmp, "work"),
        }
        peers = {
            "ours": ([os.path.join(a.task_root, "bootstrap")],
                     dict(env, LAMBDA_TASK_ROOT=a.task_root), a.task_root),
            "python": ([os.path.join(HERE, "cold_start_fn.py")],
                       dict(env, LAMBDA_TASK_ROOT=HERE), HERE),
        }
        res = {k: {"s": [], "kib": [], "anon": []} for k in peers}
        for i in range(a.warmup + a.runs):
            order = ("ours", "python") if i % 2 == 0 else ("python", "ours")
            for k in order:
                argv, e, cwd = peers[k]
                s, kib, anon = one(argv, cwd, e, os.path.join(tmp, k + ".log"))
                if i >= a.warmup:
                    res[k]["s"].append(s)
                    res[k]["kib"].append(kib)
                    res[k]["anon"].append(anon)
    finally:
        srv.shutdown()
        srv.server_close()
        shutil.rmtree(tmp, ignore_errors=True)

    out = {k: {"time_s": stats(v["s"]), "rss_kib": stats(v["kib"]), "anon_kib": stats(v["anon"])}
           for k, v in res.items()}
    o, p = out["ours"], out["python"]
    speed = p["time_s"]["median"] / o["time_s"]["median"]
    mem = p["rss_kib"]["max"] / o["rss_kib"]["max"]
    out.update(runs=a.runs, warmup=a.warmup, speedup_median=speed, memory_ratio_peak=mem,
               speedup_p90=p["time_s"]["p90"] / o["time_s"]["p90"])
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)

    ms = lambda x: "%.2f" % (x * 1000)  # noqa: E731
    mb = lambda x: "%.1f" % (x / 1024)  # noqa: E731
    w = sys.stdout.write
    w("| bootstrap | median ms | p90 ms | mean ms | min ms | max ms | peak RSS MiB (median / max) "
      "| of it anonymous MiB (median) |\n")
    w("|---|---:|---:|---:|---:|---:|---:|---:|\n")
    for k, name in (("ours", "ours: TASK_ROOT/bootstrap"),
                    ("python", "Python: boto3 + paramiko + 1 key")):
        t, r = out[k]["time_s"], out[k]["rss_kib"]
        w(f"| {name} | {ms(t['median'])} | {ms(t['p90'])} | {ms(t['mean'])} | {ms(t['min'])} "
          f"| {ms(t['max'])} | {mb(r['median'])} / {mb(r['max'])} "
          f"| {mb(out[k]['anon_kib']['median'])} |\n")
    w(f"| **Python / ours** | **{speed:.1f}x** | {out['speedup_p90']:.1f}x | "
      f"{p['time_s']['mean'] / o['time_s']['mean']:.1f}x | | | **{mem:.1f}x** (max) | "
      f"{p['anon_kib']['median'] / o['anon_kib']['median']:.1f}x |\n\n")
    w("Target \"at least 20x faster\" (median): **%s** (%.1fx).  Target \"under a tenth of its "
      "peak memory\" (max vs max): **%s** (ours is %.1f%% of it).\n"
      % ("holds" if speed >= 20 else "does NOT hold", speed,
         "holds" if mem > 10 else "does NOT hold", 100 / mem))


if __name__ == "__main__":
    main()
