"""EC2 (DescribeVpcs, DescribeSubnets) and AWS RAM through boto3 and the AWS
CLI, unmodified, against a real twin.

The example organization (examples/org) shares cluster-prod's (111122223333)
three subnets with payroll-prod (444455556666), and the network account's
(555566667777) two cluster subnets with analytics-prod (777788889999); the
network's inspection subnet is shared with nobody; 210987654321 is an
account outside the organization. Reads use the module's twin, which no test
here changes; every test that changes shares starts a twin of its own.
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

MANAGEMENT = "999988887777"
CLUSTER_PROD = "111122223333"
PAYROLL = "444455556666"
NETWORK = "555566667777"
ANALYTICS = "777788889999"
EXTERNAL = "210987654321"
ORG_ARN = f"arn:aws:organizations::{MANAGEMENT}:organization/o-a1b2c3d4e5"

CLUSTER_SUBNETS = {
    "subnet-0a1b2c3d4e5f60011": ("10.10.0.0/19", "us-east-1a"),
    "subnet-0a1b2c3d4e5f60012": ("10.10.32.0/19", "us-east-1b"),
    "subnet-0a1b2c3d4e5f60013": ("10.10.64.0/19", "us-east-1c"),
}
CLUSTER_VPC = "vpc-0a1b2c3d4e5f60001"
ANALYTICS_SUBNETS = {"subnet-0b2c3d4e5f6a70011", "subnet-0b2c3d4e5f6a70012"}
INSPECTION_SUBNET = "subnet-0b2c3d4e5f6a70021"
NETWORK_VPC = "vpc-0b2c3d4e5f6a70001"


def subnet_arn(account: str, subnet: str) -> str:
    return f"arn:aws:ec2:us-east-1:{account}:subnet/{subnet}"


def error_of(info: pytest.ExceptionInfo) -> tuple[str, int, str]:
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def subnet_ids(ec2, **kwargs) -> set[str]:
    return {s["SubnetId"] for s in ec2.describe_subnets(**kwargs)["Subnets"]}


# EC2 visibility ------------------------------------------------------------


def test_payroll_sees_the_cluster_subnets_with_their_owner(twin):
    subnets = twin.client("ec2", account=PAYROLL).describe_subnets()["Subnets"]
    assert {s["SubnetId"] for s in subnets} == set(CLUSTER_SUBNETS)
    for subnet in subnets:
        cidr, zone = CLUSTER_SUBNETS[subnet["SubnetId"]]
        assert subnet["OwnerId"] == CLUSTER_PROD
        assert subnet["VpcId"] == CLUSTER_VPC
        assert subnet["CidrBlock"] == cidr
        assert subnet["AvailabilityZone"] == zone
        assert subnet["State"] == "available"
        # A /19 has 8,192 addresses; AWS reserves five in every subnet.
        assert subnet["AvailableIpAddressCount"] == 8187
        assert subnet["DefaultForAz"] is False
        assert subnet["MapPublicIpOnLaunch"] is False
        assert subnet["SubnetArn"] == subnet_arn(CLUSTER_PROD, subnet["SubnetId"])
        assert {"Key": "Name", "Value": f"production-cluster-{zone[-1]}"} in subnet["Tags"]


def test_payroll_sees_the_cluster_subnets_through_the_cli(twin):
    done = twin.cli("ec2", "describe-subnets", "--output", "json", env=twin.env(account=PAYROLL))
    assert done.returncode == 0, done.stderr
    subnets = json.loads(done.stdout)["Subnets"]
    assert sorted(s["SubnetId"] for s in subnets) == sorted(CLUSTER_SUBNETS)
    assert {s["OwnerId"] for s in subnets} == {CLUSTER_PROD}


def test_payroll_sees_the_vpc_of_the_shared_subnets(twin):
    vpcs = twin.client("ec2", account=PAYROLL).describe_vpcs()["Vpcs"]
    assert [(v["VpcId"], v["OwnerId"]) for v in vpcs] == [(CLUSTER_VPC, CLUSTER_PROD)]
    vpc = vpcs[0]
    assert vpc["CidrBlock"] == "10.10.0.0/16"
    assert vpc["IsDefault"] is False
    assert vpc["State"] == "available"
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlock"] == "10.10.0.0/16"
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"] == "associated"


def test_analytics_sees_the_two_network_subnets_not_the_inspection_subnet(twin):
    ec2 = twin.client("ec2", account=ANALYTICS)
    subnets = ec2.describe_subnets()["Subnets"]
    assert {s["SubnetId"] for s in subnets} == ANALYTICS_SUBNETS
    assert {s["OwnerId"] for s in subnets} == {NETWORK}
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets(SubnetIds=[INSPECTION_SUBNET])
    code, status, message = error_of(info)
    assert (code, status) == ("InvalidSubnetID.NotFound", 400)
    assert INSPECTION_SUBNET in message


def test_the_owner_sees_all_its_subnets(twin):
    assert subnet_ids(twin.client("ec2", account=NETWORK)) == ANALYTICS_SUBNETS | {
        INSPECTION_SUBNET
    }


@pytest.mark.parametrize("account", [MANAGEMENT, EXTERNAL])
def test_accounts_nothing_is_shared_with_see_nothing(twin, account):
    ec2 = twin.client("ec2", account=account)
    assert ec2.describe_subnets()["Subnets"] == []
    assert ec2.describe_vpcs()["Vpcs"] == []
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets(SubnetIds=["subnet-0a1b2c3d4e5f60011"])
    assert error_of(info)[:2] == ("InvalidSubnetID.NotFound", 400)
    with pytest.raises(ClientError) as info:
        ec2.describe_vpcs(VpcIds=[CLUSTER_VPC])
    assert error_of(info)[:2] == ("InvalidVpcID.NotFound", 400)


def test_another_region_shows_nothing(twin):
    session_env = twin.env(account=PAYROLL)
    done = twin.cli(
        "ec2", "describe-subnets", "--region", "eu-west-1", "--output", "json", env=session_env
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Subnets"] == []


def test_filters(twin):
    ec2 = twin.client("ec2", account=NETWORK)

    def only(name, *values):
        return subnet_ids(ec2, Filters=[{"Name": name, "Values": list(values)}])

    assert only("availability-zone", "us-east-1a") == {
        "subnet-0b2c3d4e5f6a70011",
        INSPECTION_SUBNET,
    }
    assert only("availabilityZone", "us-east-1b") == {"subnet-0b2c3d4e5f6a70012"}
    assert only("cidr-block", "10.20.128.0/24") == {INSPECTION_SUBNET}
    assert only("cidrBlock", "10.20.0.0/19", "10.20.32.0/19") == ANALYTICS_SUBNETS
    assert only("tag:Name", "analytics-cluster-*") == ANALYTICS_SUBNETS
    assert only("tag:Name", "nothing-*") == set()
    assert only("tag-key", "Name") == ANALYTICS_SUBNETS | {INSPECTION_SUBNET}
    assert only("owner-id", NETWORK) == ANALYTICS_SUBNETS | {INSPECTION_SUBNET}
    assert only("owner-id", CLUSTER_PROD) == set()
    assert only("vpc-id", NETWORK_VPC) == ANALYTICS_SUBNETS | {INSPECTION_SUBNET}
    assert only("subnet-id", INSPECTION_SUBNET) == {INSPECTION_SUBNET}
    # Filters are ANDed; the ids asked for and the filters too.
    both = ec2.describe_subnets(
        Filters=[
            {"Name": "availability-zone", "Values": ["us-east-1a"]},
            {"Name": "tag:Name", "Values": ["analytics-*"]},
        ]
    )["Subnets"]
    assert [s["SubnetId"] for s in both] == ["subnet-0b2c3d4e5f6a70011"]
    assert (
        subnet_ids(
            ec2,
            SubnetIds=[INSPECTION_SUBNET],
            Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}],
        )
        == set()
    )
    payroll = twin.client("ec2", account=PAYROLL)
    vpcs = payroll.describe_vpcs(Filters=[{"Name": "owner-id", "Values": [CLUSTER_PROD]}])["Vpcs"]
    assert [v["VpcId"] for v in vpcs] == [CLUSTER_VPC]
    vpcs = payroll.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["other"]}])["Vpcs"]
    assert vpcs == []
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert error_of(info)[:2] == ("InvalidParameterValue", 400)


def test_malformed_ids_and_pages(twin):
    ec2 = twin.client("ec2", account=NETWORK)
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets(SubnetIds=["not-a-subnet"])
    assert error_of(info)[:2] == ("InvalidSubnetID.Malformed", 400)
    pages = list(ec2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5}))
    assert sum(len(p["Subnets"]) for p in pages) == 3


def test_describe_is_authorized(twin):
    # ci-deployer (cluster-prod) may only assume the deploy role.
    ec2 = twin.client("ec2", user="ci-deployer")
    with pytest.raises(ClientError) as info:
        ec2.describe_subnets()
    code, status, message = error_of(info)
    assert (code, status) == ("UnauthorizedOperation", 403)
    assert "ec2:DescribeSubnets" in message
    # DryRun answers whether the call would be allowed.
    with pytest.raises(ClientError) as info:
        twin.client("ec2", account=PAYROLL).describe_vpcs(DryRun=True)
    assert error_of(info)[:2] == ("DryRunOperation", 412)


# RAM reads -------------------------------------------------------------------


def test_shares_as_the_owner_and_the_receiver_see_them(twin):
    cluster = twin.client("ram", account=CLUSTER_PROD)
    own = cluster.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert [(s["name"], s["owningAccountId"], s["status"]) for s in own] == [
        ("production-cluster-subnets", CLUSTER_PROD, "ACTIVE")
    ]
    assert own[0]["allowExternalPrincipals"] is False
    arn = own[0]["resourceShareArn"]
    assert arn.startswith(f"arn:aws:ram:us-east-1:{CLUSTER_PROD}:resource-share/")
    payroll = twin.client("ram", account=PAYROLL)
    received = payroll.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [s["resourceShareArn"] for s in received] == [arn]
    assert payroll.get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    resources = payroll.list_resources(resourceOwner="OTHER-ACCOUNTS", resourceType="ec2:Subnet")
    assert {r["arn"] for r in resources["resources"]} == {
        subnet_arn(CLUSTER_PROD, s) for s in CLUSTER_SUBNETS
    }
    assert {r["resourceShareArn"] for r in resources["resources"]} == {arn}
    principals = cluster.get_resource_share_associations(associationType="PRINCIPAL")
    assert [
        (a["associatedEntity"], a["status"], a["external"])
        for a in principals["resourceShareAssociations"]
    ] == [(PAYROLL, "ASSOCIATED", False)]
    none = twin.client("ram", account=ANALYTICS).list_resources(
        resourceOwner="OTHER-ACCOUNTS", resourceType="ec2:Subnet"
    )
    assert {r["arn"] for r in none["resources"]} == {
        subnet_arn(NETWORK, s) for s in ANALYTICS_SUBNETS
    }


# RAM changes -----------------------------------------------------------------


def test_a_new_share_makes_a_subnet_visible_and_disassociation_hides_it(twin_factory):
    twin = twin_factory()
    ram = twin.client("ram", account=NETWORK)
    payroll_ec2 = twin.client("ec2", account=PAYROLL)
    inspection = subnet_arn(NETWORK, INSPECTION_SUBNET)
    assert INSPECTION_SUBNET not in subnet_ids(payroll_ec2)
    share = ram.create_resource_share(
        name="inspection-for-payroll",
        resourceArns=[inspection],
        principals=[PAYROLL],
        tags=[{"key": "team", "value": "network"}],
        clientToken="token-1",
    )
    assert share["clientToken"] == "token-1"
    arn = share["resourceShare"]["resourceShareArn"]
    assert share["resourceShare"]["allowExternalPrincipals"] is True
    assert share["resourceShare"]["tags"] == [{"key": "team", "value": "network"}]
    seen = payroll_ec2.describe_subnets(SubnetIds=[INSPECTION_SUBNET])["Subnets"]
    assert [(s["SubnetId"], s["OwnerId"]) for s in seen] == [(INSPECTION_SUBNET, NETWORK)]
    assert NETWORK_VPC in {v["VpcId"] for v in payroll_ec2.describe_vpcs()["Vpcs"]}
    resources = ram.get_resource_share_associations(
        associationType="RESOURCE", resourceShareArns=[arn]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in resources] == [(inspection, "ASSOCIATED")]
    # A non-owner cannot change or delete the share.
    for account in (PAYROLL, MANAGEMENT):
        with pytest.raises(ClientError) as info:
            twin.client("ram", account=account).delete_resource_share(resourceShareArn=arn)
        assert error_of(info)[:2] == ("AccessDeniedException", 403)
    # Renamed, the share keeps its ARN; it survives a restart, in the model.
    renamed = ram.update_resource_share(resourceShareArn=arn, name="inspection-renamed")
    assert renamed["resourceShare"]["resourceShareArn"] == arn
    assert renamed["resourceShare"]["name"] == "inspection-renamed"
    with pytest.raises(ClientError) as info:
        ram.update_resource_share(resourceShareArn=arn, name="analytics-cluster-subnets")
    assert error_of(info)[:2] == ("InvalidParameterException", 400)
    twin.restart()
    assert INSPECTION_SUBNET in subnet_ids(twin.client("ec2", account=PAYROLL))
    ram = twin.client("ram", account=NETWORK)
    found = ram.get_resource_shares(resourceOwner="SELF", name="inspection-renamed")
    assert [s["resourceShareArn"] for s in found["resourceShares"]] == [arn]
    export = twin.state.parent / "export"
    assert twin.orgtwin("export", "--output", str(export)).returncode == 0
    network_file = (export / "accounts" / f"{NETWORK}.yaml").read_text()
    assert f"arn: {arn}" in network_file and "inspection-renamed" in network_file
    gone = ram.disassociate_resource_share(resourceShareArn=arn, resourceArns=[inspection])
    assert [a["associatedEntity"] for a in gone["resourceShareAssociations"]] == [inspection]
    payroll_ec2 = twin.client("ec2", account=PAYROLL)
    assert INSPECTION_SUBNET not in subnet_ids(payroll_ec2)
    with pytest.raises(ClientError) as info:
        payroll_ec2.describe_subnets(SubnetIds=[INSPECTION_SUBNET])
    assert error_of(info)[:2] == ("InvalidSubnetID.NotFound", 400)
    # Associated again, then the share deleted by its owner.
    ram.associate_resource_share(resourceShareArn=arn, resourceArns=[inspection])
    assert INSPECTION_SUBNET in subnet_ids(payroll_ec2)
    assert ram.delete_resource_share(resourceShareArn=arn)["returnValue"] is True
    assert INSPECTION_SUBNET not in subnet_ids(payroll_ec2)
    names = [s["name"] for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]]
    assert names == ["analytics-cluster-subnets"]


def test_an_account_shares_only_its_own_subnets(twin_factory):
    twin = twin_factory()
    ram = twin.client("ram", account=NETWORK)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(
            name="not-mine",
            resourceArns=[subnet_arn(CLUSTER_PROD, "subnet-0a1b2c3d4e5f60011")],
            principals=[ANALYTICS],
        )
    assert error_of(info)[:2] == ("UnknownResourceException", 400)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(name="bad", resourceArns=["subnet-0b2c3d4e5f6a70021"])
    assert error_of(info)[:2] == ("MalformedArnException", 400)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(name="analytics-cluster-subnets")
    assert error_of(info)[:2] == ("InvalidParameterException", 400)
    names = [s["name"] for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]]
    assert names == ["analytics-cluster-subnets"]


def test_external_principals_are_refused_as_ram_refuses_them(twin_factory):
    twin = twin_factory()
    ram = twin.client("ram", account=NETWORK)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(
            name="closed", principals=[EXTERNAL], allowExternalPrincipals=False
        )
    assert error_of(info)[:2] == ("OperationNotPermittedException", 400)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(
            name="subnets-outside",
            resourceArns=[subnet_arn(NETWORK, INSPECTION_SUBNET)],
            principals=[EXTERNAL],
            allowExternalPrincipals=True,
        )
    code, status, message = error_of(info)
    assert (code, status) == ("OperationNotPermittedException", 400)
    assert "can only be shared within your AWS organization" in message
    # Nothing was created, and no invitation sent.
    names = [s["name"] for s in ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]]
    assert names == ["analytics-cluster-subnets"]
    outside = twin.client("ram", account=EXTERNAL)
    assert outside.get_resource_share_invitations()["resourceShareInvitations"] == []
    # An existing in-organization share cannot take the outside account
    # either: it does not allow external principals.
    existing = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"][0]
    with pytest.raises(ClientError) as info:
        ram.associate_resource_share(
            resourceShareArn=existing["resourceShareArn"], principals=[EXTERNAL]
        )
    assert error_of(info)[:2] == ("OperationNotPermittedException", 400)


def test_an_outside_account_accepts_an_invitation(twin_factory):
    twin = twin_factory()
    ram = twin.client("ram", account=NETWORK)
    share = ram.create_resource_share(name="partner", principals=[EXTERNAL])["resourceShare"]
    arn = share["resourceShareArn"]
    principals = ram.get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[arn]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"], a["external"]) for a in principals] == [
        (EXTERNAL, "ASSOCIATING", True)
    ]
    # Subnets cannot join a share with an outside principal, even invited.
    with pytest.raises(ClientError) as info:
        ram.associate_resource_share(
            resourceShareArn=arn, resourceArns=[subnet_arn(NETWORK, INSPECTION_SUBNET)]
        )
    assert error_of(info)[:2] == ("OperationNotPermittedException", 400)
    # The pending invitation is state: it survives a restart.
    twin.restart()
    outside = twin.client("ram", account=EXTERNAL)
    invitations = outside.get_resource_share_invitations()["resourceShareInvitations"]
    assert [
        (i["resourceShareArn"], i["senderAccountId"], i["receiverAccountId"], i["status"])
        for i in invitations
    ] == [(arn, NETWORK, EXTERNAL, "PENDING")]
    assert outside.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    # Another account cannot answer it.
    invitation = invitations[0]["resourceShareInvitationArn"]
    with pytest.raises(ClientError) as info:
        twin.client("ram", account=PAYROLL).accept_resource_share_invitation(
            resourceShareInvitationArn=invitation
        )
    assert error_of(info)[:2] == ("ResourceShareInvitationArnNotFoundException", 400)
    accepted = outside.accept_resource_share_invitation(resourceShareInvitationArn=invitation)
    assert accepted["resourceShareInvitation"]["status"] == "ACCEPTED"
    with pytest.raises(ClientError) as info:
        outside.accept_resource_share_invitation(resourceShareInvitationArn=invitation)
    assert error_of(info)[:2] == ("ResourceShareInvitationAlreadyAcceptedException", 400)
    received = outside.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]
    assert [(s["resourceShareArn"], s["owningAccountId"]) for s in received] == [(arn, NETWORK)]
    principals = twin.client("ram", account=NETWORK).get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[arn]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"], a["external"]) for a in principals] == [
        (EXTERNAL, "ASSOCIATED", True)
    ]
    # Accepted, the account is a principal of the share in the model: it
    # stays after a restart, and allowExternalPrincipals cannot be turned off.
    twin.restart()
    outside = twin.client("ram", account=EXTERNAL)
    assert len(outside.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"]) == 1
    with pytest.raises(ClientError) as info:
        twin.client("ram", account=NETWORK).update_resource_share(
            resourceShareArn=arn, allowExternalPrincipals=False
        )
    assert error_of(info)[:2] == ("OperationNotPermittedException", 400)


def test_an_outside_account_rejects_an_invitation(twin_factory):
    twin = twin_factory()
    ram = twin.client("ram", account=CLUSTER_PROD)
    arn = ram.create_resource_share(name="partner", principals=[EXTERNAL])["resourceShare"][
        "resourceShareArn"
    ]
    outside = twin.client("ram", account=EXTERNAL)
    invitation = outside.get_resource_share_invitations(resourceShareArns=[arn])[
        "resourceShareInvitations"
    ][0]["resourceShareInvitationArn"]
    rejected = outside.reject_resource_share_invitation(resourceShareInvitationArn=invitation)
    assert rejected["resourceShareInvitation"]["status"] == "REJECTED"
    with pytest.raises(ClientError) as info:
        outside.accept_resource_share_invitation(resourceShareInvitationArn=invitation)
    assert error_of(info)[:2] == ("ResourceShareInvitationAlreadyRejectedException", 400)
    assert outside.get_resource_shares(resourceOwner="OTHER-ACCOUNTS")["resourceShares"] == []
    # Deleting the share takes its invitations with it.
    ram.delete_resource_share(resourceShareArn=arn)
    assert outside.get_resource_share_invitations()["resourceShareInvitations"] == []


def test_sharing_with_the_organization_and_its_switch(twin_factory):
    twin = twin_factory()
    with pytest.raises(ClientError) as info:
        twin.client("ram", account=NETWORK).enable_sharing_with_aws_organization()
    assert error_of(info)[:2] == ("OperationNotPermittedException", 400)
    management = twin.client("ram", account=MANAGEMENT)
    assert management.enable_sharing_with_aws_organization()["returnValue"] is True
    ram = twin.client("ram", account=NETWORK)
    ram.create_resource_share(
        name="everyone",
        resourceArns=[subnet_arn(NETWORK, INSPECTION_SUBNET)],
        principals=[ORG_ARN],
    )
    assert INSPECTION_SUBNET in subnet_ids(twin.client("ec2", account=MANAGEMENT))
    assert INSPECTION_SUBNET in subnet_ids(twin.client("ec2", account=CLUSTER_PROD))
    assert subnet_ids(twin.client("ec2", account=EXTERNAL)) == set()


def test_ram_calls_are_authorized(twin_factory):
    twin = twin_factory()
    # ci-deployer (cluster-prod) may only assume the deploy role.
    with pytest.raises(ClientError) as info:
        twin.client("ram", user="ci-deployer").get_resource_shares(resourceOwner="SELF")
    code, status, message = error_of(info)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "ram:GetResourceShares" in message
    # A session of the network's platform-admin whose session policy lets it
    # create only shares that stay inside the organization.
    sts = twin.client("sts")
    inside_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "ram:CreateResourceShare",
                "Resource": "*",
                "Condition": {"Bool": {"ram:AllowsExternalPrincipals": "false"}},
            }
        ],
    }
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{NETWORK}:role/platform-admin",
        RoleSessionName="ram-test",
        Policy=json.dumps(inside_only),
    )["Credentials"]
    ram = twin.session_client("ram", creds)
    with pytest.raises(ClientError) as info:
        ram.create_resource_share(name="open", principals=[ANALYTICS])
    assert error_of(info)[:2] == ("AccessDeniedException", 403)
    created = ram.create_resource_share(
        name="closed", principals=[ANALYTICS], allowExternalPrincipals=False
    )
    assert created["resourceShare"]["name"] == "closed"
    with pytest.raises(ClientError) as info:
        ram.get_resource_shares(resourceOwner="SELF")
    assert error_of(info)[:2] == ("AccessDeniedException", 403)
    denied = [d for d in twin.trail(denied=True) if d["action"].startswith("ram:")]
    assert {d["action"] for d in denied} >= {"ram:GetResourceShares", "ram:CreateResourceShare"}


def test_concurrent_associations_to_one_share_are_all_kept(twin_factory):
    from concurrent.futures import ThreadPoolExecutor

    twin = twin_factory()
    inspection = subnet_arn(NETWORK, INSPECTION_SUBNET)
    owner = twin.env(account=NETWORK)
    clients = [
        twin.session_client(
            "ram",
            {"AccessKeyId": owner["AWS_ACCESS_KEY_ID"], "SecretAccessKey": owner["AWS_SECRET_ACCESS_KEY"]},
        )
        for _ in range(4)
    ]
    receivers = [MANAGEMENT, CLUSTER_PROD, PAYROLL, ANALYTICS]
    for round_ in range(3):
        arn = clients[0].create_resource_share(
            name=f"inspection-{round_}", resourceArns=[inspection]
        )["resourceShare"]["resourceShareArn"]
        with ThreadPoolExecutor(max_workers=len(receivers)) as pool:
            list(
                pool.map(
                    lambda pair: pair[0].associate_resource_share(
                        resourceShareArn=arn, principals=[pair[1]]
                    ),
                    zip(clients, receivers),
                )
            )
        found = clients[0].get_resource_share_associations(
            associationType="PRINCIPAL", resourceShareArns=[arn]
        )["resourceShareAssociations"]
        assert sorted(a["associatedEntity"] for a in found) == sorted(receivers)
