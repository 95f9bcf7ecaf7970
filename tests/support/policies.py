"""The IAM policies as terraform/control-plane renders them: the module is
planned offline (tests/support/tf_offline.py: the real provider from the
plugin mirror, every endpoint an unused loopback port), and each role's
policies, the trust policies and the state bucket's policy are read from the
plan JSON -- never from a hand copy.  Which role a principal is follows the
module's own references (the instance profile's role, the schedule's role)."""
import json
import re
import shutil
from pathlib import Path

from support import tf_offline as tfo

ROOT = Path(__file__).resolve().parents[2]


def plan(tmp, account, region, bucket, prefix, backup_vm_role, allowed_cidrs, extra_vars=()):
    """`terraform plan` of a copy of terraform/control-plane: the plan JSON.
    extra_vars: more -var=NAME=VALUE arguments."""
    tmp = Path(tmp)
    mod = tmp / "control-plane"
    shutil.copytree(ROOT / "terraform" / "control-plane", mod,
                    ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*"))
    (mod / "zz_test_override.tf").write_text(tfo.provider_block(region))
    tfo.init(mod)
    planned, _ = tfo.plan_json(mod, [
        f"-var=region={region}", f"-var=account_id={account}",
        f"-var=state_bucket_name={bucket}", f"-var=state_prefix={prefix}",
        f"-var=allowed_cidrs={json.dumps(allowed_cidrs)}",
        f"-var=image_digest=sha256:{'0' * 64}", f"-var=backup_vm_role_name={backup_vm_role}",
        *extra_vars])
    shutil.rmtree(mod / ".terraform", ignore_errors=True)  # the provider's copy
    return planned


class Rendered:
    """Policies of the planned control plane, by role name."""

    def __init__(self, planned):
        self.plan = planned
        self.after = {}
        for rc in planned["resource_changes"]:
            if rc["mode"] == "managed":
                self.after[rc["address"]] = rc["change"]["after"] or {}
        self.config = {r["address"]: r.get("expressions", {})
                       for r in planned["configuration"]["root_module"].get("resources", [])}

    def of_type(self, rtype):
        return {a: v for a, v in self.after.items() if a.split(".")[0] == rtype}

    def _refs(self, address, attr):
        """The resources an attribute of a resource refers to (config level)."""
        expr = self.config.get(re.sub(r"\[[^]]*\]$", "", address), {})
        for part in attr.split("."):
            if isinstance(expr, list):
                expr = expr[0] if expr else {}
            expr = expr.get(part, {}) if isinstance(expr, dict) else {}
        return expr.get("references", [])

    def _referenced(self, address, attr, rtype):
        for ref in self._refs(address, attr):
            m = re.match(rf"^({re.escape(rtype)}\.[A-Za-z0-9_-]+)", ref)
            if m and m.group(1) in self.after:
                return m.group(1)
        return None

    def role_name_of(self, address, attr):
        """Name of the aws_iam_role an attribute refers to, or its own value."""
        ref = self._referenced(address, attr, "aws_iam_role")
        if ref:
            return self.after[ref]["name"]
        value = self.after[address]
        for part in attr.split("."):
            value = value[0] if isinstance(value, list) else value
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def roles(self):
        """{role name: {"trust": doc, "policies": [{"name", "policy"}]}}"""
        out = {}
        for addr, r in self.of_type("aws_iam_role").items():
            out[r["name"]] = {"trust": json.loads(r["assume_role_policy"]), "policies": []}
        for addr, p in self.of_type("aws_iam_role_policy").items():
            role = self.role_name_of(addr, "role")
            out.setdefault(role, {"trust": None, "policies": []})["policies"].append(
                {"name": addr, "policy": json.loads(p["policy"])})
        for addr, a in self.of_type("aws_iam_role_policy_attachment").items():
            pol = self._referenced(addr, "policy_arn", "aws_iam_policy")
            assert pol, f"{addr}: attaches a policy that is not in the plan ({a.get('policy_arn')})"
            out.setdefault(a["role"], {"trust": None, "policies": []})["policies"].append(
                {"name": pol, "policy": json.loads(self.after[pol]["policy"])})
        return out

    def bucket_policies(self):
        """[(bucket name, policy)] of every aws_s3_bucket_policy."""
        out = []
        for addr, p in self.of_type("aws_s3_bucket_policy").items():
            ref = self._referenced(addr, "bucket", "aws_s3_bucket")
            bucket = self.after[ref]["bucket"] if ref else p["bucket"]
            out.append((bucket, json.loads(p["policy"])))
        return out

    def repository_policies(self):
        """[(repository name, policy)] of every aws_ecr_repository_policy."""
        out = []
        for addr, p in self.of_type("aws_ecr_repository_policy").items():
            ref = self._referenced(addr, "repository", "aws_ecr_repository")
            name = self.after[ref]["name"] if ref else p["repository"]
            out.append((name, json.loads(p["policy"])))
        return out

    def function_names(self):
        return sorted(f["function_name"] for f in self.of_type("aws_lambda_function").values())

    def instance_profile_role(self, profile_name):
        for addr, p in self.of_type("aws_iam_instance_profile").items():
            if p["name"] == profile_name:
                return self.role_name_of(addr, "role")
        return None

    def schedules(self):
        """[(schedule name, target function name, role name, input)]"""
        out = []
        for addr, s in self.of_type("aws_scheduler_schedule").items():
            (target,) = s["target"]
            fn = None
            for ref in self._refs(addr, "target.arn"):
                if ref.startswith("aws_lambda_function.") and ref in self.after:
                    fn = self.after[ref]["function_name"]
            out.append((s["name"], fn, self.role_name_of(addr, "target.role_arn"),
                        target.get("input")))
        return out
