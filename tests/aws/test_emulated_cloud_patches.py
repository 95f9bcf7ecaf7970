"""The emulated cloud's patches (tests/support/moto_cloud.py) do what they say:
each answers as AWS does where moto 5.2 does not, and no further."""
import botocore.exceptions
import pytest


def groups(cloud):
    ec2 = cloud.client("ec2")
    default = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    other = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]
    return ec2, {vpc["VpcId"]: ec2.create_security_group(
        GroupName=f"patch-{vpc['VpcId']}", Description="patch test",
        VpcId=vpc["VpcId"])["GroupId"] for vpc in (default, other)}, default["VpcId"]


ALL_OUT = [{"IpProtocol": "-1", "FromPort": 0, "ToPort": 0,
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]


def test_a_revoke_of_an_absent_rule_is_no_error_in_the_default_vpc_only(cloud):
    cloud.reset()
    ec2, by_vpc, default_vpc = groups(cloud)
    for vpc, gid in by_vpc.items():
        # The rule every new group starts with goes, in either VPC.
        assert ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=ALL_OUT)["Return"]
        (group,) = ec2.describe_security_groups(GroupIds=[gid])["SecurityGroups"]
        assert group["IpPermissionsEgress"] == []
        # Again, now that it is gone: answered true in the default VPC ...
        if vpc == default_vpc:
            assert ec2.revoke_security_group_egress(GroupId=gid, IpPermissions=ALL_OUT)["Return"]
            assert ec2.revoke_security_group_ingress(GroupId=gid, IpPermissions=ALL_OUT)["Return"]
            continue
        # ... and InvalidPermission.NotFound in any other.
        for revoke in (ec2.revoke_security_group_egress, ec2.revoke_security_group_ingress):
            with pytest.raises(botocore.exceptions.ClientError) as e:
                revoke(GroupId=gid, IpPermissions=ALL_OUT)
            assert e.value.response["Error"]["Code"] == "InvalidPermission.NotFound"
    # A rule named by an id it does not have is an error in every VPC.
    with pytest.raises(botocore.exceptions.ClientError):
        ec2.revoke_security_group_egress(GroupId=by_vpc[default_vpc],
                                         SecurityGroupRuleIds=["sgr-0123456789abcdef0"])
