#!/usr/bin/python3
"""A test stand-in for terraform that injects one fault, chosen by
JUMPBOX_FAULT=<command>:<kind>, and runs the real terraform
(JUMPBOX_REAL_TERRAFORM) for everything else.

kinds: fail (exit 1 before running), fail-after (run, then exit 1),
hang (sleep before running), hang-after (run, then sleep), garbage (print
something that is not JSON instead of running), drop-outputs (run, then
take the outputs out of the local backend's state: a state Terraform still
reads, and destroys from, that no longer says where the box is)."""
import json
import os
import sys
import time

real = os.environ["JUMPBOX_REAL_TERRAFORM"]
fault = os.environ.get("JUMPBOX_FAULT", "")
cmd = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
want_cmd, _, kind = fault.partition(":")

if cmd != want_cmd:
    os.execv(real, [real] + sys.argv[1:])
if kind == "fail":
    sys.exit(f"injected fault: terraform {cmd} fails")
if kind == "hang":
    time.sleep(3600)
if kind == "garbage":
    print("this is not JSON {")
    sys.exit(0)
pid = os.fork()
if pid == 0:
    os.execv(real, [real] + sys.argv[1:])
_, status = os.waitpid(pid, 0)
if kind == "hang-after":
    time.sleep(3600)
if kind == "drop-outputs":
    chdir = next(a for a in sys.argv[1:] if a.startswith("-chdir="))[len("-chdir="):]
    with open(os.path.join(chdir, "main.tf.json")) as f:
        path = json.load(f)["terraform"]["backend"]["local"]["path"]
    with open(path) as f:
        state = json.load(f)
    del state["outputs"]
    with open(path, "w") as f:
        json.dump(state, f)
if kind == "fail-after":
    sys.exit(f"injected fault: terraform {cmd} fails after running")
sys.exit(os.waitstatus_to_exitcode(status))
