"""AN INSTANCE METADATA SERVICE STAND-IN for the booted instances of
ec2_boot.py -- a test fixture, not EC2's IMDS.

It listens on 169.254.169.254:80 inside the test's own network namespace
(never the real network) and answers each booted instance, told apart by
its source address, as EC2 documents IMDSv2:

  PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds (1-21600)
      -> a token for that instance, valid for the TTL; a PUT carrying
      X-Forwarded-For is refused (403), as EC2 does
  GET /latest/meta-data/... with X-aws-ec2-metadata-token
      instance-id, placement/region, placement/availability-zone,
      iam/info, iam/security-credentials/ (the role's name) and
      iam/security-credentials/ROLE (the credentials JSON)
  with no (or a foreign, or an expired) token: 401 when the instance's
  MetadataOptions say HttpTokens=required (terraform/aws sets it), IMDSv1
  answers only when they say optional; nothing when HttpEndpoint=disabled.

The credentials are the emulated cloud's own: STS AssumeRole of the role in
the instance's profile with the instance id as session name, as EC2 does,
so the caller identity is assumed-role/ROLE/INSTANCE-ID and aws:userid is
ROLEID:INSTANCEID.  Each issue is reported to on_credentials (the Lambda
harness learns the key, as IAM would).
"""
import datetime
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IMDS_IP = "169.254.169.254"
CREDENTIALS_S = 3600
REFRESH_S = 300    # hands out fresh ones this long before the old expire


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Instance:
    """What IMDS knows of one instance (from DescribeInstances)."""

    def __init__(self, desc, region):
        self.id = desc["InstanceId"]
        self.region = region
        self.az = desc.get("Placement", {}).get("AvailabilityZone", region + "a")
        opts = desc.get("MetadataOptions", {})
        self.tokens_required = opts.get("HttpTokens", "optional") == "required"
        self.endpoint_enabled = opts.get("HttpEndpoint", "enabled") == "enabled"
        self.profile_arn = desc.get("IamInstanceProfile", {}).get("Arn")
        self.role = None          # (name, arn, id), looked up on first use
        self.creds = None


class InstanceMetadata:
    """bind: (IMDS_IP, 80) for booted instances, told apart by address; or
    a loopback address for one instance added as "*" (ec2_standin.py's
    boxes, whose scripts run beside the test)."""

    def __init__(self, cloud, region, bind=(IMDS_IP, 80)):
        self.cloud, self.region, self.bind = cloud, region, bind
        self.by_ip = {}
        self.tokens = {}          # token -> (ip, expiry)
        self.seen = []            # (client ip, method, path), for the tests
        self.issued = []          # (instance id, access key id)
        self.on_credentials = None
        self._lock = threading.Lock()
        self.server = None

    def add(self, ip, desc):
        with self._lock:
            self.by_ip[ip] = Instance(desc, self.region)

    def start(self):
        owner = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_PUT(self):
                owner._put(self)

            def do_GET(self):
                owner._get(self)

        self.server = ThreadingHTTPServer(self.bind, H)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self):
        return "http://%s:%d" % self.server.server_address

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    # ---- the API ---------------------------------------------------------------
    @staticmethod
    def _send(h, status, body="", ctype="text/plain", headers=None):
        data = body.encode()
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _instance(self, h):
        ip = h.client_address[0]
        with self._lock:
            self.seen.append((ip, h.command, h.path))
            return ip, self.by_ip.get(ip) or self.by_ip.get("*")

    def _put(self, h):
        ip, inst = self._instance(h)
        if inst is None or not inst.endpoint_enabled:
            h.close_connection = True
            return
        if h.path != "/latest/api/token":
            return self._send(h, 404)
        if h.headers.get("X-Forwarded-For"):
            return self._send(h, 403)
        ttl = h.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self._send(h, 400)
        token = secrets.token_urlsafe(40)
        with self._lock:
            self.tokens[token] = (ip, time.monotonic() + int(ttl))
        self._send(h, 200, token, headers={"X-aws-ec2-metadata-token-ttl-seconds": ttl})

    def _get(self, h):
        ip, inst = self._instance(h)
        if inst is None or not inst.endpoint_enabled:
            h.close_connection = True
            return
        token = h.headers.get("X-aws-ec2-metadata-token")
        with self._lock:
            owner, until = self.tokens.get(token, (None, 0))
        if token is not None and (owner != ip or time.monotonic() > until):
            return self._send(h, 401)
        if token is None and inst.tokens_required:
            return self._send(h, 401)
        base = "/latest/meta-data/"
        if not h.path.startswith(base):
            return self._send(h, 404)
        path = h.path[len(base):]
        if path == "instance-id":
            return self._send(h, 200, inst.id)
        if path == "placement/region":
            return self._send(h, 200, inst.region)
        if path == "placement/availability-zone":
            return self._send(h, 200, inst.az)
        if not path.startswith("iam/") or not self._profile(inst):
            return self._send(h, 404)
        name, _arn, _id = self._role(inst)
        if path == "iam/info":
            return self._send(h, 200, json.dumps({
                "Code": "Success", "LastUpdated": _iso(time.time()),
                "InstanceProfileArn": inst.profile_arn, "InstanceProfileId": "AIPAFIXTURE"}))
        if path == "iam/security-credentials/":
            return self._send(h, 200, name)
        if path == "iam/security-credentials/" + name:
            return self._send(h, 200, json.dumps(self._credentials(inst)))
        self._send(h, 404)

    # ---- the role's credentials ----------------------------------------------------
    def _profile(self, inst):
        """The instance's profile as EC2 has it now: the description an
        instance was first seen with may predate the association (moto makes
        it just after the instance), and one can be associated later."""
        if inst.profile_arn is None:
            (r,) = self.cloud.client("ec2").describe_instances(
                InstanceIds=[inst.id])["Reservations"]
            inst.profile_arn = r["Instances"][0].get("IamInstanceProfile", {}).get("Arn")
        return inst.profile_arn

    def _role(self, inst):
        if inst.role is None:
            iam = self.cloud.client("iam")
            profile = iam.get_instance_profile(
                InstanceProfileName=inst.profile_arn.rsplit("/", 1)[1])["InstanceProfile"]
            (role,) = profile["Roles"]
            inst.role = (role["RoleName"], role["Arn"], role["RoleId"])
        return inst.role

    def _credentials(self, inst):
        with self._lock:
            c = inst.creds
            if c is None or c["expires"] - time.time() < REFRESH_S:
                _name, arn, _id = self._role(inst)
                got = self.cloud.client("sts").assume_role(
                    RoleArn=arn, RoleSessionName=inst.id,
                    DurationSeconds=CREDENTIALS_S)["Credentials"]
                c = inst.creds = {
                    "Code": "Success", "LastUpdated": _iso(time.time()), "Type": "AWS-HMAC",
                    "AccessKeyId": got["AccessKeyId"], "SecretAccessKey": got["SecretAccessKey"],
                    "Token": got["SessionToken"],
                    "Expiration": got["Expiration"].strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "expires": got["Expiration"].timestamp()}
                self.issued.append((inst.id, c["AccessKeyId"]))
                if self.on_credentials:
                    self.on_credentials(c["AccessKeyId"], c["SecretAccessKey"], c["Token"])
            return {k: v for k, v in c.items() if k != "expires"}
