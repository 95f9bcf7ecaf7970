"""The instance stand-in's boxes publish as a booted box does (issue 24):
the user data's own jumpbox-publish, with the instance role's credentials
from the IMDS stand-in, puts the box's token hash and its own host key under
PREFIX/boxes/ROLE_ID:INSTANCE_ID/ in the emulated cloud's S3 (moto), each
once.  No Terraform, no provisioner: one instance launched with
RunInstances, carrying user data rendered by userdata/."""
import hashlib
import re

from support import tf_offline as tfo
from support.ec2_standin import InstanceStandIn
from support.emulated_cloud import BUCKET, INSTANCE_PROFILE, PREFIX, STATE_URL


def launch(cloud, tmp, stack):
    tmp.mkdir()
    inputs = dict(tfo.box_inputs(tmp), stack_id=stack, box_role_id=cloud.box_role_id,
                  state_url=STATE_URL)
    text = tfo.render_userdata(tmp, inputs)
    ec2 = cloud.client("ec2")
    ami = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    (inst,) = ec2.run_instances(
        ImageId=ami, MinCount=1, MaxCount=1, UserData=text,
        IamInstanceProfile={"Name": INSTANCE_PROFILE},
        MetadataOptions={"HttpTokens": "required", "HttpEndpoint": "enabled"},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "jumpbox:stack", "Value": stack}]}])["Instances"]
    return inst["InstanceId"]


def wait(standin, iid):
    import time
    deadline = time.monotonic() + 120
    while not (iid in standin.boxes and standin.boxes[iid].publish_runs):
        assert time.monotonic() < deadline and not standin.errors, standin.errors
        time.sleep(0.2)
    return standin.boxes[iid]


def test_a_box_publishes_its_own_key_and_token_hash_once(cloud, tmp_path):
    cloud.reset()
    standin = InstanceStandIn(cloud, tmp_path / "instances")
    standin.timers = False
    planted = {}

    def plant(box):   # as a principal the bucket policy should stop
        if box.facts["teardown_env"]["JUMPBOX_STACK_ID"] == "planted":
            key = f"{PREFIX}/boxes/{cloud.box_role_id}:{box.instance_id}/host_key.pub"
            cloud.client("s3").put_object(Bucket=BUCKET, Key=key, Body=b"ssh-ed25519 AAAAplanted\n")
            planted[box.instance_id] = key

    standin.before_publish = plant
    standin.start()
    try:
        iid = launch(cloud, tmp_path / "a", "fair")
        box = wait(standin, iid)
        (run,) = box.publish_runs
        assert run.returncode == 0, run.stderr
        objs = cloud.box_objects(iid)
        base = f"{PREFIX}/boxes/{cloud.box_role_id}:{iid}/"
        assert sorted(objs) == [base + "host_key.pub", base + "teardown-token.sha256"]
        assert re.fullmatch(r"AROA[A-Z0-9]{12,124}", cloud.box_role_id)
        # The key the box's sshd serves, and the hash of the token its timer
        # will present.
        assert objs[base + "host_key.pub"].decode().strip() == box.host_public_key
        token = box.token_file.read_text()
        assert objs[base + "teardown-token.sha256"] == hashlib.sha256(token.encode()).hexdigest().encode()
        assert box.token_file.stat().st_mode & 0o777 == 0o600
        # Nothing of it counts as a stack's leftover.
        assert cloud.leftovers() == [f"instance {iid} (running)"]

        # A key planted before the box wrote: moto answers its put 412
        # (If-None-Match: *), the box says so and fails; the planted key stays.
        iid2 = launch(cloud, tmp_path / "b", "planted")
        (run,) = wait(standin, iid2).publish_runs
        assert run.returncode == 1 and "ALARM" in run.stderr, run.stderr
        objs = cloud.box_objects(iid2)
        assert objs[planted[iid2]] == b"ssh-ed25519 AAAAplanted\n"
        assert len(objs) == 2   # its token hash went first
        assert standin.errors == []
    finally:
        standin.stop()
        ec2 = cloud.client("ec2")
        ids = [i for i in cloud.instances()]
        if ids:
            ec2.terminate_instances(InstanceIds=ids)
