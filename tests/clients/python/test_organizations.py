"""AWS Organizations through boto3 and the AWS CLI, unmodified, against a
real twin.

The example organization (examples/org) answers the reads: the root r-a1b2,
the OUs Infrastructure and Workloads, five accounts, the SCPs FullAWSAccess
and ProtectEksSessionTags, the RCPs RCPFullAWSAccess and
WorkloadsDataPerimeter. Changes (policies created, attached, detached) are
undone by the test that made them, so the module's twin stays the example;
tests that change the tree start a twin of their own.

An SCP attached through the API decides the very next request of the
account's principals, and detaching it gives the access back: payroll-prod's
(444455556666) administrator assumes a role created for the test until an
SCP denying sts:AssumeRole is attached to the account (through a restart of
the twin), and calls nothing while a deny-all SCP is attached.
"""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

MANAGEMENT = "999988887777"
CLUSTER_PROD = "111122223333"
PAYROLL = "444455556666"
NETWORK = "555566667777"
ANALYTICS = "777788889999"
ORG_ID = "o-a1b2c3d4e5"
ROOT_ID = "r-a1b2"
ACCOUNTS = {
    MANAGEMENT: "management",
    CLUSTER_PROD: "cluster-prod",
    PAYROLL: "payroll-prod",
    NETWORK: "network",
    ANALYTICS: "analytics-prod",
}
SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
ARN_PREFIX = f"arn:aws:organizations::{MANAGEMENT}"
FULL_AWS_ACCESS_ARN = "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess"
RCP_FULL_AWS_ACCESS_ARN = (
    "arn:aws:organizations::aws:policy/resource_control_policy/p-RCPFullAWSAccess"
)
PAYROLL_PLATFORM_ADMIN = f"arn:aws:iam::{PAYROLL}:role/platform-admin"
MEMBER_REFUSAL = "You don't have permissions to access this resource."

DENY_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "DenyEverything", "Effect": "Deny", "Action": "*", "Resource": "*"}],
}
TRUST_PAYROLL = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PAYROLL}:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}
DENY_ASSUME_ROLE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "NoRoleAssumption", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}
    ],
}


# Helpers ---------------------------------------------------------------------


def refused(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(*args, **kwargs)
    return raised.value


def code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def message(error: ClientError) -> str:
    return error.response["Error"]["Message"]


def org(twin, account: str = MANAGEMENT):
    return twin.client("organizations", account=account)


def ou_ids(client) -> dict[str, str]:
    ous = client.list_organizational_units_for_parent(ParentId=ROOT_ID)["OrganizationalUnits"]
    return {ou["Name"]: ou["Id"] for ou in ous}


def policies_by_name(client, kind: str) -> dict[str, dict]:
    pages = client.get_paginator("list_policies").paginate(Filter=kind)
    return {p["Name"]: p for page in pages for p in page["Policies"]}


def create_policy(client, name: str, document: dict, kind: str = SCP) -> str:
    created = client.create_policy(
        Content=json.dumps(document), Description=f"test {name}", Name=name, Type=kind
    )
    return created["Policy"]["PolicySummary"]["Id"]


def decisions(twin, action: str, caller: str) -> list[dict]:
    return [e for e in twin.trail() if e["action"] == action and e["caller"] == caller]


def decision_of(twin, action: str, caller: str, call) -> dict:
    """Makes `call` (which may be refused), then returns the decision of
    `action` by `caller` that it added to the trail (the trail is written
    in batches, so it is polled briefly)."""
    before = len(decisions(twin, action, caller))
    try:
        call()
    except ClientError:
        pass
    deadline = time.monotonic() + 5
    while True:
        found = decisions(twin, action, caller)
        if len(found) > before:
            return found[before]
        assert time.monotonic() < deadline, f"no new {action} decision of {caller} in the trail"
        time.sleep(0.05)


# The organization as the example declares it -------------------------------


def test_describe_organization(twin):
    organization = org(twin).describe_organization()["Organization"]
    assert organization["Id"] == ORG_ID
    assert organization["Arn"] == f"{ARN_PREFIX}:organization/{ORG_ID}"
    assert organization["FeatureSet"] == "ALL"
    assert organization["MasterAccountId"] == MANAGEMENT
    assert organization["MasterAccountArn"] == f"{ARN_PREFIX}:account/{ORG_ID}/{MANAGEMENT}"
    assert organization["MasterAccountEmail"] == "aws+management@example.com"
    assert {(t["Type"], t["Status"]) for t in organization["AvailablePolicyTypes"]} == {
        (SCP, "ENABLED"),
        (RCP, "ENABLED"),
    }


def test_a_member_account_may_describe_its_organization(twin):
    organization = org(twin, PAYROLL).describe_organization()["Organization"]
    assert organization["Id"] == ORG_ID
    assert organization["MasterAccountId"] == MANAGEMENT


def test_list_roots(twin):
    roots = org(twin).list_roots()["Roots"]
    assert len(roots) == 1
    root = roots[0]
    assert root["Id"] == ROOT_ID
    assert root["Arn"] == f"{ARN_PREFIX}:root/{ORG_ID}/{ROOT_ID}"
    assert root["Name"] == "Root"
    assert {t["Type"] for t in root["PolicyTypes"] if t["Status"] == "ENABLED"} == {SCP, RCP}


def test_list_accounts_pages_through_the_five_accounts(twin):
    pages = list(
        org(twin).get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 2})
    )
    assert [len(p["Accounts"]) for p in pages] == [2, 2, 1]
    accounts = {a["Id"]: a for page in pages for a in page["Accounts"]}
    assert {i: a["Name"] for i, a in accounts.items()} == ACCOUNTS
    payroll = accounts[PAYROLL]
    assert payroll["Arn"] == f"{ARN_PREFIX}:account/{ORG_ID}/{PAYROLL}"
    assert payroll["Email"] == "aws+payroll-prod@example.com"
    assert payroll["Status"] == "ACTIVE"
    assert payroll["JoinedMethod"] == "CREATED"
    assert accounts[MANAGEMENT]["JoinedMethod"] == "INVITED"


def test_a_next_token_from_elsewhere_is_refused(twin):
    client = org(twin)
    token = client.list_accounts(MaxResults=1)["NextToken"]
    error = refused(client.list_roots, NextToken=token)
    assert code(error) == "InvalidInputException"
    assert error.response["Reason"] == "INVALID_NEXT_TOKEN"


def test_the_tree_of_ous_and_accounts(twin):
    client = org(twin)
    ous = ou_ids(client)
    assert set(ous) == {"Infrastructure", "Workloads"}
    workloads = ous["Workloads"]
    assert workloads.startswith("ou-a1b2-")

    described = client.describe_organizational_unit(OrganizationalUnitId=workloads)
    unit = described["OrganizationalUnit"]
    assert unit["Name"] == "Workloads"
    assert unit["Arn"] == f"{ARN_PREFIX}:ou/{ORG_ID}/{workloads}"

    def account_ids(parent):
        return {a["Id"] for a in client.list_accounts_for_parent(ParentId=parent)["Accounts"]}

    assert account_ids(ROOT_ID) == {MANAGEMENT}
    assert account_ids(ous["Infrastructure"]) == {CLUSTER_PROD, NETWORK}
    assert account_ids(workloads) == {PAYROLL, ANALYTICS}

    children = client.list_children(ParentId=ROOT_ID, ChildType="ORGANIZATIONAL_UNIT")
    assert {c["Id"] for c in children["Children"]} == set(ous.values())
    children = client.list_children(ParentId=workloads, ChildType="ACCOUNT")["Children"]
    assert sorted(children, key=lambda c: c["Id"]) == [
        {"Id": PAYROLL, "Type": "ACCOUNT"},
        {"Id": ANALYTICS, "Type": "ACCOUNT"},
    ]

    assert client.list_parents(ChildId=PAYROLL)["Parents"] == [
        {"Id": workloads, "Type": "ORGANIZATIONAL_UNIT"}
    ]
    assert client.list_parents(ChildId=workloads)["Parents"] == [{"Id": ROOT_ID, "Type": "ROOT"}]

    account = client.describe_account(AccountId=PAYROLL)["Account"]
    assert account["Name"] == "payroll-prod"
    assert account["Paths"] == [f"{ORG_ID}/{ROOT_ID}/{workloads}/{PAYROLL}/"]


def test_missing_entities_get_their_own_errors(twin):
    client = org(twin)
    error = refused(client.describe_account, AccountId="123456789012")
    assert code(error) == "AccountNotFoundException"
    error = refused(client.describe_organizational_unit, OrganizationalUnitId="ou-a1b2-zzzzzzzz")
    assert code(error) == "OrganizationalUnitNotFoundException"
    error = refused(client.list_children, ParentId="ou-a1b2-zzzzzzzz", ChildType="ACCOUNT")
    assert code(error) == "ParentNotFoundException"
    error = refused(client.list_parents, ChildId="123456789012")
    assert code(error) == "ChildNotFoundException"
    error = refused(client.describe_policy, PolicyId="p-doesnotexist")
    assert code(error) == "PolicyNotFoundException"
    error = refused(client.list_policies_for_target, TargetId="123456789012", Filter=SCP)
    assert code(error) == "TargetNotFoundException"
    error = refused(client.list_policies_for_target, TargetId="not-a-target", Filter=SCP)
    assert code(error) == "InvalidInputException"
    assert error.response["Reason"] == "INVALID_PATTERN_TARGET_ID"


def test_scps_and_rcps_and_their_targets(twin):
    client = org(twin)
    ous = ou_ids(client)
    scps = policies_by_name(client, SCP)
    assert set(scps) == {"FullAWSAccess", "ProtectEksSessionTags"}
    full = scps["FullAWSAccess"]
    assert full["Id"] == "p-FullAWSAccess"
    assert full["Arn"] == FULL_AWS_ACCESS_ARN
    assert full["AwsManaged"] is True
    protect = scps["ProtectEksSessionTags"]
    assert protect["AwsManaged"] is False
    assert protect["Arn"] == (
        f"{ARN_PREFIX}:policy/{ORG_ID}/service_control_policy/{protect['Id']}"
    )

    rcps = policies_by_name(client, RCP)
    assert set(rcps) == {"RCPFullAWSAccess", "WorkloadsDataPerimeter"}
    assert rcps["RCPFullAWSAccess"]["Arn"] == RCP_FULL_AWS_ACCESS_ARN
    assert rcps["RCPFullAWSAccess"]["AwsManaged"] is True

    def targets(policy_id):
        pages = client.get_paginator("list_targets_for_policy").paginate(PolicyId=policy_id)
        return {(t["TargetId"], t["Type"], t["Name"]) for p in pages for t in p["Targets"]}

    assert targets(protect["Id"]) == {(ROOT_ID, "ROOT", "Root")}
    perimeter = rcps["WorkloadsDataPerimeter"]["Id"]
    assert targets(perimeter) == {(ous["Workloads"], "ORGANIZATIONAL_UNIT", "Workloads")}
    everywhere = {(ROOT_ID, "ROOT", "Root")}
    everywhere |= {(i, "ORGANIZATIONAL_UNIT", n) for n, i in ous.items()}
    everywhere |= {(i, "ACCOUNT", n) for i, n in ACCOUNTS.items()}
    assert targets("p-FullAWSAccess") == everywhere
    assert targets("p-RCPFullAWSAccess") == everywhere

    def attached(target, kind):
        found = client.list_policies_for_target(TargetId=target, Filter=kind)["Policies"]
        return {p["Name"] for p in found}

    assert attached(ROOT_ID, SCP) == {"FullAWSAccess", "ProtectEksSessionTags"}
    assert attached(PAYROLL, SCP) == {"FullAWSAccess"}
    assert attached(ous["Workloads"], RCP) == {"RCPFullAWSAccess", "WorkloadsDataPerimeter"}
    assert attached(ous["Infrastructure"], RCP) == {"RCPFullAWSAccess"}


def test_describe_policy_gives_the_content_as_a_json_string(twin):
    client = org(twin)
    protect = policies_by_name(client, SCP)["ProtectEksSessionTags"]
    policy = client.describe_policy(PolicyId=protect["Id"])["Policy"]
    assert policy["PolicySummary"] == protect
    content = json.loads(policy["Content"])
    assert [s["Sid"] for s in content["Statement"]] == [
        "DenyTaggingWithEksKeys",
        "DenyTagOnCreateWithEksKeys",
    ]
    full = json.loads(client.describe_policy(PolicyId="p-FullAWSAccess")["Policy"]["Content"])
    assert full["Statement"][0]["Effect"] == "Allow"


# Who may call ---------------------------------------------------------------


@pytest.mark.parametrize(
    "operation, kwargs",
    [
        ("list_roots", {}),
        ("list_accounts", {}),
        ("describe_account", {"AccountId": PAYROLL}),
        ("list_children", {"ParentId": ROOT_ID, "ChildType": "ACCOUNT"}),
        ("list_policies", {"Filter": SCP}),
        ("describe_policy", {"PolicyId": "p-FullAWSAccess"}),
        ("list_policies_for_target", {"TargetId": PAYROLL, "Filter": SCP}),
        (
            "create_policy",
            {
                "Content": json.dumps(DENY_ALL),
                "Description": "",
                "Name": "FromAMember",
                "Type": SCP,
            },
        ),
        ("attach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": PAYROLL}),
        ("detach_policy", {"PolicyId": "p-FullAWSAccess", "TargetId": PAYROLL}),
    ],
)
def test_a_member_account_is_refused_management_calls(twin, operation, kwargs):
    error = refused(getattr(org(twin, PAYROLL), operation), **kwargs)
    assert code(error) == "AccessDeniedException"
    assert message(error) == MEMBER_REFUSAL
    assert set(policies_by_name(org(twin), SCP)) == {"FullAWSAccess", "ProtectEksSessionTags"}


def test_every_call_is_authorized_by_the_engine(twin):
    admin = f"arn:aws:iam::{MANAGEMENT}:user/orgtwin-admin"
    client = org(twin)
    decision = decision_of(twin, "organizations:ListAccounts", admin, client.list_accounts)
    assert decision["decision"] == "Allow"
    assert decision["resource"] == "*"
    decision = decision_of(
        twin,
        "organizations:DescribePolicy",
        admin,
        lambda: client.describe_policy(PolicyId="p-FullAWSAccess"),
    )
    assert decision["resource"] == FULL_AWS_ACCESS_ARN
    decision = decision_of(
        twin,
        "organizations:DescribeAccount",
        f"arn:aws:iam::{PAYROLL}:user/orgtwin-admin",
        lambda: org(twin, PAYROLL).describe_account(AccountId=PAYROLL),
    )
    assert decision["decision"] == "Allow"  # the engine allows; AWS's member rule refuses
    assert decision["resource"] == f"{ARN_PREFIX}:account/{ORG_ID}/{PAYROLL}"


# Policies: create, attach, take effect, survive a restart, detach, delete --


def test_an_scp_denying_assume_role_to_payroll_prod_takes_effect_until_detached(twin):
    management = org(twin)
    payroll_admin = f"arn:aws:iam::{PAYROLL}:user/orgtwin-admin"
    payroll_iam = twin.client("iam", account=PAYROLL)
    role_arn = payroll_iam.create_role(
        RoleName="scp-cycle-role", AssumeRolePolicyDocument=json.dumps(TRUST_PAYROLL)
    )["Role"]["Arn"]
    assumed = ":assumed-role/scp-cycle-role/scp-cycle"

    def assume():
        sts = twin.client("sts", account=PAYROLL)
        return sts.assume_role(RoleArn=role_arn, RoleSessionName="scp-cycle")

    def assume_decision():
        return decision_of(twin, "sts:AssumeRole", payroll_admin, assume)

    try:
        assert assume()["AssumedRoleUser"]["Arn"].endswith(assumed)
        policy_id = create_policy(management, "NoRoleAssumption", DENY_ASSUME_ROLE)
        management.attach_policy(PolicyId=policy_id, TargetId=PAYROLL)

        assert code(refused(assume)) == "AccessDenied"
        decision = assume_decision()
        assert decision["decision"] == "ExplicitDeny"
        assert [d["policy"] for d in decision["explanation"]["denied_by"]] == [
            f"SCP NoRoleAssumption at account {PAYROLL}"
        ]
        # Only sts:AssumeRole is denied, and only to payroll-prod's principals.
        assert payroll_iam.get_role(RoleName="scp-cycle-role")["Role"]["Arn"] == role_arn
        twin.client("sts").assume_role(RoleArn=PAYROLL_PLATFORM_ADMIN, RoleSessionName="mgmt")

        error = refused(management.delete_policy, PolicyId=policy_id)
        assert code(error) == "PolicyInUseException"

        twin.restart()
        management = org(twin)
        targets = management.list_targets_for_policy(PolicyId=policy_id)["Targets"]
        assert [(t["TargetId"], t["Type"]) for t in targets] == [(PAYROLL, "ACCOUNT")]
        assert assume_decision()["decision"] == "ExplicitDeny"

        management.detach_policy(PolicyId=policy_id, TargetId=PAYROLL)
        assert assume()["AssumedRoleUser"]["Arn"].endswith(assumed)
        management.delete_policy(PolicyId=policy_id)
        assert "NoRoleAssumption" not in policies_by_name(management, SCP)
        error = refused(management.describe_policy, PolicyId=policy_id)
        assert code(error) == "PolicyNotFoundException"
    finally:
        twin.client("iam", account=PAYROLL).delete_role(RoleName="scp-cycle-role")


def test_a_deny_all_scp_denies_every_call_of_the_account_until_detached(twin):
    management = org(twin)
    payroll_org = org(twin, PAYROLL)
    payroll_iam = twin.client("iam", account=PAYROLL)
    assert payroll_org.describe_organization()["Organization"]["Id"] == ORG_ID
    assert "platform-admin" in {r["RoleName"] for r in payroll_iam.list_roles()["Roles"]}

    policy_id = create_policy(management, "DenyAll", DENY_ALL)
    management.attach_policy(PolicyId=policy_id, TargetId=PAYROLL)
    try:
        error = refused(payroll_org.describe_organization)
        assert code(error) == "AccessDeniedException"
        assert "with an explicit deny in a service control policy" in message(error)
        assert code(refused(payroll_iam.list_roles)) == "AccessDenied"
        # The management account is never restricted by SCPs, and another
        # member account is not under this one.
        assert management.describe_organization()["Organization"]["Id"] == ORG_ID
        assert org(twin, ANALYTICS).describe_organization()["Organization"]["Id"] == ORG_ID
    finally:
        management.detach_policy(PolicyId=policy_id, TargetId=PAYROLL)
        management.delete_policy(PolicyId=policy_id)
    assert payroll_org.describe_organization()["Organization"]["Id"] == ORG_ID
    assert "platform-admin" in {r["RoleName"] for r in payroll_iam.list_roles()["Roles"]}


def test_create_update_and_describe_a_policy(twin):
    client = org(twin)
    policy_id = create_policy(client, "NoLeavingTheOrganization", DENY_ASSUME_ROLE)
    try:
        summary = client.describe_policy(PolicyId=policy_id)["Policy"]["PolicySummary"]
        assert summary["Arn"] == f"{ARN_PREFIX}:policy/{ORG_ID}/service_control_policy/{policy_id}"
        assert summary["AwsManaged"] is False
        leave = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}
            ],
        }
        updated = client.update_policy(
            PolicyId=policy_id,
            Name="DenyLeaveOrganization",
            Description="Members stay",
            Content=json.dumps(leave),
        )["Policy"]
        assert updated["PolicySummary"]["Name"] == "DenyLeaveOrganization"
        assert updated["PolicySummary"]["Description"] == "Members stay"
        described = client.describe_policy(PolicyId=policy_id)["Policy"]
        assert json.loads(described["Content"]) == leave
        assert described["PolicySummary"]["Name"] == "DenyLeaveOrganization"

        error = refused(
            client.create_policy,
            Content=json.dumps(leave),
            Description="",
            Name="DenyLeaveOrganization",
            Type=SCP,
        )
        assert code(error) == "DuplicatePolicyException"
    finally:
        client.delete_policy(PolicyId=policy_id)


def test_an_rcp_is_validated_as_an_rcp(twin):
    client = org(twin)
    error = refused(create_policy, client, "NotAnRcp", DENY_ASSUME_ROLE, RCP)
    assert code(error) == "MalformedPolicyDocumentException"
    rcp = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:DeleteBucket",
                "Resource": "*",
            }
        ],
    }
    policy_id = create_policy(client, "NoBucketDeletion", rcp, RCP)
    try:
        arn = client.describe_policy(PolicyId=policy_id)["Policy"]["PolicySummary"]["Arn"]
        assert arn == f"{ARN_PREFIX}:policy/{ORG_ID}/resource_control_policy/{policy_id}"
    finally:
        client.delete_policy(PolicyId=policy_id)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": "*",
                    }
                ],
            }
        ),
    ],
    ids=["not-json", "no-action", "principal-in-an-scp"],
)
def test_malformed_content_is_refused(twin, content):
    error = refused(
        org(twin).create_policy, Content=content, Description="", Name="Malformed", Type=SCP
    )
    assert code(error) == "MalformedPolicyDocumentException"
    assert "Malformed" not in policies_by_name(org(twin), SCP)


def test_content_over_5120_characters_is_a_constraint_violation(twin):
    actions = [f"ec2:DescribeSomethingNumber{i:04d}" for i in range(200)]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": actions, "Resource": "*"}],
    }
    assert len(json.dumps(document, separators=(",", ":"))) > 5120
    error = refused(create_policy, org(twin), "TooLarge", document)
    assert code(error) == "ConstraintViolationException"
    assert error.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"


def test_attachment_errors(twin):
    client = org(twin)
    policy_id = create_policy(client, "AttachmentErrors", DENY_ASSUME_ROLE)
    try:
        error = refused(client.detach_policy, PolicyId=policy_id, TargetId=PAYROLL)
        assert code(error) == "PolicyNotAttachedException"
        client.attach_policy(PolicyId=policy_id, TargetId=PAYROLL)
        error = refused(client.attach_policy, PolicyId=policy_id, TargetId=PAYROLL)
        assert code(error) == "DuplicatePolicyAttachmentException"
        error = refused(client.attach_policy, PolicyId=policy_id, TargetId="123456789012")
        assert code(error) == "TargetNotFoundException"
        error = refused(client.attach_policy, PolicyId="p-doesnotexist", TargetId=PAYROLL)
        assert code(error) == "PolicyNotFoundException"
        client.detach_policy(PolicyId=policy_id, TargetId=PAYROLL)
    finally:
        client.delete_policy(PolicyId=policy_id)


def test_aws_managed_policies_cannot_be_changed_or_left_missing(twin):
    client = org(twin)
    error = refused(client.update_policy, PolicyId="p-FullAWSAccess", Name="Mine")
    assert code(error) == "InvalidInputException"
    assert error.response["Reason"] == "IMMUTABLE_POLICY"
    error = refused(client.delete_policy, PolicyId="p-FullAWSAccess")
    assert error.response["Reason"] == "IMMUTABLE_POLICY"
    error = refused(client.detach_policy, PolicyId="p-RCPFullAWSAccess", TargetId=PAYROLL)
    assert error.response["Reason"] == "NON_DETACHABLE_POLICY"
    # FullAWSAccess is payroll-prod's only SCP: every target keeps one.
    error = refused(client.detach_policy, PolicyId="p-FullAWSAccess", TargetId=PAYROLL)
    assert code(error) == "ConstraintViolationException"
    assert error.response["Reason"] == "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED"


def test_create_an_ou_and_move_an_account_into_it(twin_factory):
    twin = twin_factory()
    client = org(twin)
    workloads = ou_ids(client)["Workloads"]
    created = client.create_organizational_unit(ParentId=workloads, Name="Sandbox")
    sandbox = created["OrganizationalUnit"]
    assert sandbox["Name"] == "Sandbox"
    assert sandbox["Id"].startswith("ou-a1b2-")
    assert sandbox["Arn"] == f"{ARN_PREFIX}:ou/{ORG_ID}/{sandbox['Id']}"
    error = refused(client.create_organizational_unit, ParentId=workloads, Name="Sandbox")
    assert code(error) == "DuplicateOrganizationalUnitException"

    client.move_account(
        AccountId=ANALYTICS, SourceParentId=workloads, DestinationParentId=sandbox["Id"]
    )
    error = refused(
        client.move_account,
        AccountId=ANALYTICS,
        SourceParentId=sandbox["Id"],
        DestinationParentId=sandbox["Id"],
    )
    assert code(error) == "DuplicateAccountException"

    twin.restart()
    client = org(twin)
    assert client.list_parents(ChildId=ANALYTICS)["Parents"] == [
        {"Id": sandbox["Id"], "Type": "ORGANIZATIONAL_UNIT"}
    ]
    account = client.describe_account(AccountId=ANALYTICS)["Account"]
    assert account["Paths"] == [f"{ORG_ID}/{ROOT_ID}/{workloads}/{sandbox['Id']}/{ANALYTICS}/"]
    # The perimeter RCP of Workloads still covers the account, one level down.
    attached = client.list_policies_for_target(TargetId=workloads, Filter=RCP)["Policies"]
    assert "WorkloadsDataPerimeter" in {p["Name"] for p in attached}


# The AWS CLI ----------------------------------------------------------------


def test_aws_cli_describes_the_organization_and_lists_policies(twin):
    described = twin.cli("organizations", "describe-organization")
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["Organization"]["Id"] == ORG_ID
    listed = twin.cli(
        "organizations", "list-policies", "--filter", SCP, "--query", "Policies[].Name"
    )
    assert listed.returncode == 0, listed.stderr
    assert set(json.loads(listed.stdout)) == {"FullAWSAccess", "ProtectEksSessionTags"}


def test_aws_cli_reports_a_member_refusal(twin):
    listed = twin.cli("organizations", "list-accounts", env=twin.env(account=PAYROLL))
    assert listed.returncode != 0
    assert "AccessDeniedException" in listed.stderr
    assert MEMBER_REFUSAL in listed.stderr
