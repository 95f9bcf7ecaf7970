"""From recorded AWS calls to the IAM authorization requests AWS makes for
them.

AWS authorizes one API call as one request per resource type it touches
(Service Authorization Reference): RunInstances, for example, separately for
the image, the instance, its volumes, its network interface, its security
groups and its subnet -- each with its own condition keys -- plus
iam:PassRole for the instance profile's role and ec2:CreateTags (with
ec2:CreateAction) for every resource it tags on creation.  The mapper
replays the calls in order, so the tags of a resource at the time of a call
(aws:ResourceTag/...) are the ones the calls before it gave it; what existed
before the recording (the default VPC and subnets, images, instance
profiles) comes from `Account`.

    reqs, errors = map_calls(calls, account)   # calls: the recorder's records

Each request: {"call": index, "action", "resource", "context", "what"}.
A call the mapper does not know is an error, never skipped: a new AWS call
in the code or the modules must get its mapping (and its permission).
"""
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

# Calls IAM does not authorize (the API references say so).
NO_AUTHORIZATION = {
    "sts:GetCallerIdentity": "no permission is required (STS API reference)",
}

# EC2 reads that take no resource (Service Authorization Reference: "*").
EC2_WILDCARD_READS = {
    "DescribeImages", "DescribeInstanceCreditSpecifications", "DescribeInstanceTypes",
    "DescribeInstances", "DescribeNetworkInterfaces", "DescribeRouteTables",
    "DescribeSecurityGroupRules", "DescribeSecurityGroups", "DescribeSubnets", "DescribeTags",
    "DescribeVolumes", "DescribeVpcs", "DescribeAvailabilityZones", "DescribeAccountAttributes",
}
ID_TYPES = {"i-": "instance", "sg-": "security-group", "sgr-": "security-group-rule",
            "vol-": "volume", "eni-": "network-interface", "subnet-": "subnet", "vpc-": "vpc"}


class Account:
    """What existed before the recorded calls: {id: tags} of VPCs, subnets and
    anything else (subnet -> VPC, -> availability zone), images by id
    ({"owner": alias or account, "public": bool, "root_device_type"}),
    instance profiles by name -> role name, and instances made before the
    recording by id -> their condition keys ({"ec2:InstanceProfile": ...})."""

    def __init__(self, account_id, region, partition="aws"):
        self.id, self.region, self.partition = account_id, region, partition
        self.tags = {}
        self.subnet_vpc, self.subnet_az = {}, {}
        self.images = {}
        self.instance_profiles = {}
        self.instances = {}

    def arn(self, service, rest, account=True, region=True):
        return (f"arn:{self.partition}:{service}:{self.region if region else ''}:"
                f"{self.id if account else ''}:{rest}")

    def ec2(self, rtype, rid):
        if rtype == "image":
            return self.arn("ec2", f"image/{rid}", account=False)
        return self.arn("ec2", f"{rtype}/{rid}")


class Unmapped(Exception):
    pass


def _xml(text):
    root = ET.fromstring(text)
    for el in root.iter():
        el.tag = el.tag.split("}", 1)[-1]
    return root


def _indexed(params, prefix):
    """Values of prefix.1, prefix.2, ... in order."""
    out = []
    pat = re.compile(rf"^{re.escape(prefix)}\.(\d+)$")
    for k, v in params.items():
        m = pat.match(k)
        if m:
            out.append((int(m.group(1)), v))
    return [v for _, v in sorted(out)]


def _tag_specs(params):
    """{resource type: {key: value}} of TagSpecification.N."""
    out = {}
    for k, rtype in params.items():
        m = re.match(r"^TagSpecification\.(\d+)\.ResourceType$", k)
        if not m:
            continue
        n = m.group(1)
        tags = {}
        for j in range(1, 100):
            key = params.get(f"TagSpecification.{n}.Tag.{j}.Key")
            if key is None:
                break
            tags[key] = params.get(f"TagSpecification.{n}.Tag.{j}.Value", "")
        out.setdefault(rtype, {}).update(tags)
    return out


def _request_tags(tags):
    ctx = {f"aws:RequestTag/{k}": v for k, v in tags.items()}
    if tags:
        ctx["aws:TagKeys"] = sorted(tags)
    return ctx


def _resource_tags(tags, ec2=True):
    ctx = {f"aws:ResourceTag/{k}": v for k, v in tags.items()}
    if ec2:
        ctx.update({f"ec2:ResourceTag/{k}": v for k, v in tags.items()})
    return ctx


class Mapper:
    def __init__(self, account):
        self.acct = account
        self.tags = {k: dict(v) for k, v in account.tags.items()}
        self.sg_vpc = {}
        # id -> facts for condition keys of later calls
        self.instances = {k: dict(v) for k, v in account.instances.items()}

    # ---- helpers -------------------------------------------------------------
    def _tags_of(self, rid):
        if rid not in self.tags:
            raise Unmapped(f"{rid} was not made by a recorded call and is not a known "
                           "resource of the account: its tags are unknown")
        return self.tags[rid]

    def _req(self, action, resource, context, what):
        return {"action": action, "resource": resource, "context": context, "what": what}

    def _ec2(self, action, rtype, rid, context, what):
        ctx = {"ec2:Region": self.acct.region}
        ctx.update(context)
        return self._req(f"ec2:{action}", self.acct.ec2(rtype, rid), ctx, what)

    def _sg(self, action, gid, what):
        ctx = _resource_tags(self._tags_of(gid))
        ctx["ec2:SecurityGroupID"] = gid
        if gid in self.sg_vpc:
            ctx["ec2:Vpc"] = self.acct.ec2("vpc", self.sg_vpc[gid])
        return self._ec2(action, "security-group", gid, ctx, what)

    def _instance_ctx(self, iid):
        ctx = _resource_tags(self._tags_of(iid))
        ctx["ec2:InstanceID"] = iid
        for k, v in self.instances.get(iid, {}).items():
            ctx[k] = v
        return ctx

    def _create_tags(self, rtype, rid, tags, create_action):
        ctx = _request_tags(tags)
        ctx["ec2:CreateAction"] = create_action
        return self._ec2("CreateTags", rtype, rid, ctx,
                         f"tags {rtype} {rid} as part of {create_action}")

    # ---- EC2 -----------------------------------------------------------------
    def ec2(self, call):
        a, p = call["action"], call["params"]
        if a in EC2_WILDCARD_READS:
            return [self._req(f"ec2:{a}", "*", {"ec2:Region": self.acct.region}, "read")]
        handler = getattr(self, f"ec2_{a}", None)
        if handler is None:
            raise Unmapped(f"no IAM mapping for ec2:{a} (tests/support/iam_requests.py)")
        return handler(p, call)

    def ec2_DescribeInstanceAttribute(self, p, call):
        iid = p["InstanceId"]
        return [self._ec2("DescribeInstanceAttribute", "instance", iid, self._instance_ctx(iid),
                          f"reads {p.get('Attribute')} of {iid}")]

    def ec2_DescribeVpcAttribute(self, p, call):
        vpc = p["VpcId"]
        ctx = _resource_tags(self._tags_of(vpc))
        ctx["ec2:VpcID"] = vpc
        return [self._ec2("DescribeVpcAttribute", "vpc", vpc, ctx, f"reads {p.get('Attribute')}")]

    def ec2_CreateSecurityGroup(self, p, call):
        gid = _xml(call["response"]).findtext("groupId")
        tags = _tag_specs(p).get("security-group", {})
        vpc = p.get("VpcId")
        if vpc is None:
            raise Unmapped("CreateSecurityGroup without VpcId (the default VPC's group)")
        self.tags[gid], self.sg_vpc[gid] = dict(tags), vpc
        ctx = _request_tags(tags)
        ctx["ec2:SecurityGroupID"] = gid
        vctx = _resource_tags(self._tags_of(vpc))
        vctx["ec2:VpcID"] = vpc
        out = [self._ec2("CreateSecurityGroup", "security-group", gid, ctx, "the new group"),
               self._ec2("CreateSecurityGroup", "vpc", vpc, vctx, "the group's VPC")]
        if tags:
            out.append(self._create_tags("security-group", gid, tags, "CreateSecurityGroup"))
        return out

    def _authorize(self, p, call, action):
        gid = p["GroupId"]
        out = [self._sg(action, gid, "the group")]
        tags = _tag_specs(p).get("security-group-rule")
        if tags:
            for item in _xml(call["response"]).iter("securityGroupRuleId"):
                rid = item.text
                self.tags[rid] = dict(tags)
                out.append(self._ec2(action, "security-group-rule", rid, _request_tags(tags),
                                     "the new rule"))
                out.append(self._create_tags("security-group-rule", rid, tags, action))
        return out

    def ec2_AuthorizeSecurityGroupIngress(self, p, call):
        return self._authorize(p, call, "AuthorizeSecurityGroupIngress")

    def ec2_AuthorizeSecurityGroupEgress(self, p, call):
        return self._authorize(p, call, "AuthorizeSecurityGroupEgress")

    def ec2_RevokeSecurityGroupIngress(self, p, call):
        return [self._sg("RevokeSecurityGroupIngress", p["GroupId"], "the group")]

    def ec2_RevokeSecurityGroupEgress(self, p, call):
        return [self._sg("RevokeSecurityGroupEgress", p["GroupId"], "the group")]

    def ec2_DeleteSecurityGroup(self, p, call):
        if "GroupId" not in p:
            raise Unmapped("DeleteSecurityGroup by name")
        return [self._sg("DeleteSecurityGroup", p["GroupId"], "the group")]

    def ec2_TerminateInstances(self, p, call):
        return [self._ec2("TerminateInstances", "instance", iid, self._instance_ctx(iid),
                          "the instance") for iid in _indexed(p, "InstanceId")]

    def ec2_ModifyInstanceAttribute(self, p, call):
        iid = p["InstanceId"]
        attrs = sorted({k.split(".")[0] for k in p} - {"Action", "Version", "InstanceId"})
        out = [self._ec2("ModifyInstanceAttribute", "instance", iid, self._instance_ctx(iid),
                         f"sets {', '.join(attrs)}")]
        for gid in _indexed(p, "GroupId"):
            out.append(self._sg("ModifyInstanceAttribute", gid, "a group given to the instance"))
        return out

    def _tag_change(self, p, action, add):
        out = []
        tags = {}
        for j in range(1, 100):
            key = p.get(f"Tag.{j}.Key")
            if key is None:
                break
            tags[key] = p.get(f"Tag.{j}.Value", "")
        for rid in _indexed(p, "ResourceId"):
            rtype = next((t for pre, t in ID_TYPES.items() if rid.startswith(pre)), None)
            if rtype is None:
                raise Unmapped(f"{action} on {rid}: unknown resource type")
            ctx = _resource_tags(self._tags_of(rid))
            ctx.update(_request_tags(tags) if add else {"aws:TagKeys": sorted(tags)})
            out.append(self._ec2(action, rtype, rid, ctx, f"{rtype} {rid}"))
            if add:
                self.tags[rid].update(tags)
            else:
                for k in tags:
                    self.tags[rid].pop(k, None)
        return out

    def ec2_CreateTags(self, p, call):
        return self._tag_change(p, "CreateTags", True)

    def ec2_DeleteTags(self, p, call):
        return self._tag_change(p, "DeleteTags", False)

    def ec2_RunInstances(self, p, call):
        acct = self.acct
        specs = _tag_specs(p)
        resp = _xml(call["response"])
        out = []
        image = p["ImageId"]
        facts = acct.images.get(image)
        if facts is None:
            raise Unmapped(f"RunInstances from {image}: the image's owner is unknown")
        out.append(self._ec2("RunInstances", "image", image, dict(
            _resource_tags(facts.get("tags", {})), **{
                "ec2:ImageID": image, "ec2:Owner": facts["owner"], "ec2:ImageType": "machine",
                "ec2:Public": "true" if facts["public"] else "false",
                "ec2:RootDeviceType": facts["root_device_type"]}), "the image"))

        nic = "NetworkInterface.1."
        subnet = p.get("SubnetId") or p.get(nic + "SubnetId")
        groups = _indexed(p, "SecurityGroupId") or _indexed(p, nic + "SecurityGroupId")
        if _indexed(p, "SecurityGroup"):
            raise Unmapped("RunInstances with security groups by name")
        if subnet is None:
            raise Unmapped("RunInstances without a subnet (the default subnet is implied)")
        vpc = acct.subnet_vpc[subnet]
        out.append(self._ec2("RunInstances", "subnet", subnet, dict(
            _resource_tags(self._tags_of(subnet)), **{
                "ec2:SubnetID": subnet, "ec2:Vpc": acct.ec2("vpc", vpc),
                "ec2:AvailabilityZone": acct.subnet_az[subnet]}), "the subnet"))
        for gid in groups:
            out.append(self._sg("RunInstances", gid, "a security group of the instance"))

        profile = p.get("IamInstanceProfile.Name") or (
            p.get("IamInstanceProfile.Arn", "").rsplit("/", 1)[-1] or None)
        inst_ctx = _request_tags(specs.get("instance", {}))
        inst_ctx["ec2:InstanceType"] = p.get("InstanceType", "m1.small")
        for key, param in (("ec2:MetadataHttpTokens", "MetadataOptions.HttpTokens"),
                           ("ec2:MetadataHttpPutResponseHopLimit",
                            "MetadataOptions.HttpPutResponseHopLimit"),
                           ("ec2:MetadataHttpEndpoint", "MetadataOptions.HttpEndpoint"),
                           ("ec2:InstanceMetadataTags", "MetadataOptions.InstanceMetadataTags"),
                           ("ec2:EbsOptimized", "EbsOptimized")):
            if param in p:
                inst_ctx[key] = p[param]
        inst_ctx["ec2:Tenancy"] = p.get("Placement.Tenancy", "default")
        inst_ctx["ec2:RootDeviceType"] = facts["root_device_type"]
        if profile:
            inst_ctx["ec2:InstanceProfile"] = acct.arn("iam", f"instance-profile/{profile}",
                                                       region=False)

        mappings = {}
        for j in range(1, 100):
            dev = p.get(f"BlockDeviceMapping.{j}.DeviceName")
            if dev is None:
                break
            mappings[dev] = {k.split(".", 2)[2]: v for k, v in p.items()
                             if k.startswith(f"BlockDeviceMapping.{j}.")}
        for item in resp.find("instancesSet").findall("item"):
            iid = item.findtext("instanceId")
            az = item.findtext("placement/availabilityZone") or acct.subnet_az[subnet]
            iarn = acct.ec2("instance", iid)
            ctx = dict(inst_ctx, **{"ec2:InstanceID": iid, "ec2:AvailabilityZone": az})
            out.append(self._ec2("RunInstances", "instance", iid, ctx, "the instance"))
            self.tags[iid] = dict(specs.get("instance", {}))
            self.instances[iid] = {k: v for k, v in ctx.items()
                                   if k.startswith("ec2:") and k not in (
                                       "ec2:Region", "ec2:InstanceID")}
            for bdm in item.iter("blockDeviceMapping"):
                for vol in bdm.findall("item"):
                    vid, dev = vol.findtext("ebs/volumeId"), vol.findtext("deviceName")
                    m = mappings.get(dev, {})
                    vctx = _request_tags(specs.get("volume", {}))
                    vctx["ec2:Encrypted"] = m.get("Ebs.Encrypted", "false")
                    vctx["ec2:AvailabilityZone"] = az
                    vctx["ec2:VolumeID"] = vid
                    for key, param in (("ec2:VolumeType", "Ebs.VolumeType"),
                                       ("ec2:VolumeSize", "Ebs.VolumeSize"),
                                       ("ec2:VolumeIops", "Ebs.Iops"),
                                       ("ec2:VolumeThroughput", "Ebs.Throughput")):
                        if param in m:
                            vctx[key] = m[param]
                    out.append(self._ec2("RunInstances", "volume", vid, vctx, f"volume {dev}"))
                    self.tags[vid] = dict(specs.get("volume", {}))
                    if specs.get("volume"):
                        out.append(self._create_tags("volume", vid, specs["volume"],
                                                     "RunInstances"))
            for eni in item.find("networkInterfaceSet").findall("item"):
                eid = eni.findtext("networkInterfaceId")
                ectx = _request_tags(specs.get("network-interface", {}))
                ectx.update({"ec2:Subnet": acct.ec2("subnet", subnet),
                             "ec2:Vpc": acct.ec2("vpc", vpc), "ec2:AvailabilityZone": az,
                             "ec2:NetworkInterfaceID": eid})
                if nic + "AssociatePublicIpAddress" in p:
                    ectx["ec2:AssociatePublicIpAddress"] = p[nic + "AssociatePublicIpAddress"]
                out.append(self._ec2("RunInstances", "network-interface", eid, ectx,
                                     "the network interface"))
                self.tags[eid] = dict(specs.get("network-interface", {}))
                if specs.get("network-interface"):
                    out.append(self._create_tags("network-interface", eid,
                                                 specs["network-interface"], "RunInstances"))
            if specs.get("instance"):
                out.append(self._create_tags("instance", iid, specs["instance"], "RunInstances"))
            if profile:
                role = acct.instance_profiles.get(profile)
                if role is None:
                    raise Unmapped(f"RunInstances with instance profile {profile}: "
                                   "its role is unknown")
                out.append(self._req("iam:PassRole", acct.arn("iam", f"role/{role}",
                                                              region=False),
                                     {"iam:PassedToService": "ec2.amazonaws.com",
                                      "iam:AssociatedResourceArn": iarn},
                                     f"passes {role} (instance profile {profile})"))
        return out

    # ---- S3 (path-style requests) ----------------------------------------------
    def s3(self, call):
        method, p, h = call["method"], call["params"], call.get("headers", {})
        parts = call["path"].lstrip("/").split("/", 1)
        bucket, key = parts[0], unquote(parts[1]) if len(parts) > 1 and parts[1] else None
        barn = f"arn:{self.acct.partition}:s3:::{bucket}"
        ctx = {}
        if key is None:
            for k in ("prefix", "delimiter", "max-keys"):
                if k in p:
                    ctx[f"s3:{k}"] = p[k]
            if method in ("GET", "HEAD") and "versions" in p:
                return [self._req("s3:ListBucketVersions", barn, ctx, "lists versions")]
            if method == "HEAD" or (method == "GET" and (
                    set(p) <= {"list-type", "prefix", "delimiter", "max-keys", "encoding-type",
                               "continuation-token", "start-after", "fetch-owner", "marker"})):
                return [self._req("s3:ListBucket", barn, ctx, "lists keys")]
            if method == "POST" and "delete" in p:
                out = []
                body = _xml(call["body"])
                for obj in body.findall("Object"):
                    k, vid = obj.findtext("Key"), obj.findtext("VersionId")
                    oarn = f"{barn}/{k}"
                    if vid:
                        out.append(self._req("s3:DeleteObjectVersion", oarn,
                                             {"s3:versionid": vid}, "DeleteObjects, a version"))
                    else:
                        out.append(self._req("s3:DeleteObject", oarn, {}, "DeleteObjects"))
                return out
            raise Unmapped(f"no IAM mapping for S3 {method} /{bucket} {sorted(p)}")
        oarn = f"{barn}/{key}"
        vid = p.get("versionId")
        if set(p) - {"x-id", "versionId"}:
            raise Unmapped(f"no IAM mapping for S3 {method} on an object with {sorted(p)}")
        if method in ("GET", "HEAD"):
            if vid:
                return [self._req("s3:GetObjectVersion", oarn, {"s3:versionid": vid}, "reads")]
            return [self._req("s3:GetObject", oarn, {}, "reads")]
        if method == "PUT":
            if "x-amz-copy-source" in h:
                raise Unmapped("S3 CopyObject")
            for hk, ck in (("x-amz-server-side-encryption", "s3:x-amz-server-side-encryption"),
                           ("if-none-match", "s3:if-none-match"), ("if-match", "s3:if-match"),
                           ("x-amz-acl", "s3:x-amz-acl"),
                           ("x-amz-storage-class", "s3:x-amz-storage-class")):
                if hk in h:
                    ctx[ck] = h[hk]
            return [self._req("s3:PutObject", oarn, ctx, "writes")]
        if method == "DELETE":
            if vid:
                return [self._req("s3:DeleteObjectVersion", oarn, {"s3:versionid": vid},
                                  "deletes a version")]
            return [self._req("s3:DeleteObject", oarn, {}, "deletes")]
        raise Unmapped(f"no IAM mapping for S3 {method} on an object")

    # ---- SSM -----------------------------------------------------------------
    def ssm(self, call):
        a, p = call["action"], call["params"]
        names = [p["Name"]] if a == "GetParameter" else p.get("Names", []) \
            if a == "GetParameters" else None
        if names is None:
            raise Unmapped(f"no IAM mapping for ssm:{a}")
        # AWS names a public parameter with an empty account field; the
        # simulator's ARN format needs one, so it is evaluated under the caller's.
        return [self._req(f"ssm:{a}", self.acct.arn("ssm", f"parameter/{n.lstrip('/')}"), {},
                          f"reads {n}") for n in names]

    # ---- Lambda (the harness's record) ------------------------------------------
    def invoke(self, inv):
        name = inv["function"]
        qual = re.search(r"[?&]Qualifier=([^&]+)", inv["path"])
        if not name.startswith("arn:"):
            name = self.acct.arn("lambda", f"function:{name}")
        if qual:
            name += ":" + unquote(qual.group(1))
        return [self._req("lambda:InvokeFunction", name, {},
                          f"invokes {inv['function']} ({inv['invocation_type']})")]

    # ---- one call ----------------------------------------------------------------
    def map(self, call):
        service, action = call["service"], call["action"]
        if f"{service}:{action}" in NO_AUTHORIZATION:
            return []
        if service == "ec2":
            return self.ec2(call)
        if service == "s3":
            return self.s3(call)
        if service == "ssm":
            return self.ssm(call)
        raise Unmapped(f"no IAM mapping for {service}:{action}")


def map_calls(calls, account, observe=()):
    """(requests, errors) for a chronological list of calls: recorder records,
    or {"invoke": harness record}.  Each request names its call's index.
    Calls whose index is in observe only teach the mapper what they made
    (someone else's resources): no requests, no errors."""
    m = Mapper(account)
    reqs, errors = [], []
    for i, call in enumerate(calls):
        try:
            got = m.invoke(call["invoke"]) if "invoke" in call else m.map(call)
        except (Unmapped, KeyError, ET.ParseError) as e:
            if i not in observe:
                errors.append((i, f"{type(e).__name__}: {e}"))
            continue
        if i in observe:
            continue
        for r in got:
            r["call"] = i
            reqs.append(r)
    return reqs, errors
