"""Runs tests/support/evaluate.mjs (@cloud-copilot/iam-simulate, installed into
./node_modules by tests/deps.sh from package-lock.json) over a batch of IAM
requests, and turns its answers into lines a person can act on."""
import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "evaluate.mjs"


def evaluate(account, principals, resource_policies, requests):
    """{"results": {id: result}, "sar": {action: ...}} (see evaluate.mjs)."""
    node = shutil.which("node") or shutil.which("nodejs")
    assert node, "node is not on PATH (tests/deps.sh installs nodejs and npm)"
    assert (ROOT / "node_modules/@cloud-copilot/iam-simulate/package.json").exists(), \
        "@cloud-copilot/iam-simulate is missing from ./node_modules: run tests/deps.sh"
    doc = {"account": account, "principals": principals,
           "resourcePolicies": resource_policies, "requests": requests}
    cp = subprocess.run([node, str(SCRIPT)], input=json.dumps(doc), capture_output=True,
                        text=True, timeout=900, cwd=ROOT,
                        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                             "HOME": os.environ.get("HOME", "/"), "NODE_OPTIONS": ""})
    assert cp.returncode == 0, f"evaluate.mjs failed ({cp.returncode}): {cp.stderr[-3000:]}"
    out = json.loads(cp.stdout)
    return {"results": {r["id"]: r for r in out["results"]}, "sar": out["sar"]}


def deciding(res):
    """The statements that decided a result, as "policy:Sid" (or what denied it)."""
    if res.get("error"):
        return f"error: {res['error']}"
    if res["result"] == "Allowed":
        return ", ".join(f"{g['policy'] or g['policyType']}:{g['sid']}" for g in res["allowedBy"])
    explicit = [d for d in res["deniedBy"] if d["denialType"] == "Explicit"]
    if explicit:
        return "explicit deny " + ", ".join(
            f"{d['policy'] or d['policyType']}:{d['sid']}" for d in explicit)
    return "no statement allows it"


def why_denied(res, action):
    """What is missing, and which statements should have matched and why not."""
    if res.get("error"):
        return f"  the simulator refused the request: {res['error']}"
    lines = []
    explicit = [d for d in res["deniedBy"] if d["denialType"] == "Explicit"]
    for d in explicit:
        lines.append(f"  explicitly denied by {d['policyType']} policy "
                     f"{d['policy'] or ''}:{d['sid']}")
    near = [n for n in res.get("near", []) if n["effect"] == "Allow"]
    if not near and not explicit:
        lines.append(f"  missing permission: no statement of the principal's policies "
                     f"names {action}")
    for n in near:
        lines.append(f"  should have matched: {n['statement']}, but " + "; ".join(n["why"]))
    return "\n".join(lines)
