"""IAM through boto3 and the AWS CLI, unmodified, against a running twin of
the embedded example organization (examples/org).

Roles, users, groups, access keys, managed policies and OIDC providers are
changed through the API and read back; changes are checked to reach the
model (a restart, `orgtwin export`) and to take effect at once in STS and in
every authorization (a new trust policy, a permissions boundary, a deleted
key). The example's SCP `ProtectEksSessionTags` guards the `kubernetes-*`
tags, and the policy simulator answers from the same engine. Tests that
restart get a twin of their own (`twin_factory`); the others share the
module's and use names of their own.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import CLIENT_CONFIG, ORGTWIN_BIN, REGION

MANAGEMENT = "999988887777"
CLUSTER_PROD = "111122223333"
PAYROLL_PROD = "444455556666"
ADMIN_ARN = f"arn:aws:iam::{PAYROLL_PROD}:user/orgtwin-admin"
PLATFORM_ADMIN = f"arn:aws:iam::{PAYROLL_PROD}:role/platform-admin"
DEPLOY_ROLE = f"arn:aws:iam::{PAYROLL_PROD}:role/deploy-role"
DEPLOY_BOUNDARY = f"arn:aws:iam::{PAYROLL_PROD}:policy/DeployBoundary"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
EXAMPLE_ROLES = {"account-b-role", "payroll-irsa-role", "deploy-role", "platform-admin"}
INVALID_TOKEN = "The security token included in the request is invalid."


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def trust(principal: dict, **statement) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **statement}
            ],
        }
    )


def account_trust(account: str) -> str:
    return trust({"AWS": f"arn:aws:iam::{account}:root"})


def allow(*actions: str, resource: str | list[str] = "*") -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        }
    )


def refused(call, *args, **kwargs) -> ClientError:
    """Runs a client call that must fail; returns its error."""
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value


def error_code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def error_message(error: ClientError) -> str:
    return error.response["Error"]["Message"]


def status(error: ClientError) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


def assume(twin, role_arn: str, account: str = PAYROLL_PROD) -> dict:
    """Credentials of a new session of `role_arn`, assumed by `account`'s
    administrator."""
    sts = twin.client("sts", account=account)
    return sts.assume_role(RoleArn=role_arn, RoleSessionName=unique("s"))["Credentials"]


def platform_admin_iam(twin):
    """IAM as the platform team: platform-admin of payroll-prod, assumed from
    the management account, as the example's trust policy allows."""
    return twin.session_client("iam", assume(twin, PLATFORM_ADMIN, account=MANAGEMENT))


def unvalidated_client(twin, account: str):
    """A boto3 IAM client that sends parameters without checking them, to
    see the twin's own request validation."""
    env = twin.env(account=account)
    session = boto3.session.Session(
        region_name=REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )
    config = CLIENT_CONFIG.merge(Config(parameter_validation=False))
    return session.client("iam", endpoint_url=twin.endpoint, config=config)


@pytest.fixture(scope="module")
def iam(twin):
    """payroll-prod's administrator (AdministratorAccess, under the SCPs)."""
    return twin.client("iam", account=PAYROLL_PROD)


# Roles --------------------------------------------------------------------


def test_create_get_list_delete_role(iam):
    name = unique("app")
    document = account_trust(PAYROLL_PROD)
    created = iam.create_role(
        RoleName=name,
        Path="/apps/",
        AssumeRolePolicyDocument=document,
        Description="an application role",
        MaxSessionDuration=7200,
        Tags=[{"Key": "team", "Value": "payroll"}],
    )["Role"]
    assert created["RoleName"] == name
    assert created["Arn"] == f"arn:aws:iam::{PAYROLL_PROD}:role/apps/{name}"
    assert created["Path"] == "/apps/"
    assert created["RoleId"].startswith("AROA") and len(created["RoleId"]) == 21
    assert created["AssumeRolePolicyDocument"] == json.loads(document)
    assert created["MaxSessionDuration"] == 7200
    assert created["Tags"] == [{"Key": "team", "Value": "payroll"}]
    assert created["CreateDate"]

    got = iam.get_role(RoleName=name.upper())["Role"]
    assert got["RoleName"] == name, "names are looked up ignoring case"
    assert got["RoleId"] == created["RoleId"]
    assert got["Description"] == "an application role"

    pages = iam.get_paginator("list_roles").paginate(PaginationConfig={"PageSize": 2})
    listed = [role for page in pages for role in page["Roles"]]
    names = [role["RoleName"] for role in listed]
    assert EXAMPLE_ROLES | {name} <= set(names)
    assert len(names) == len(set(names)), "pages neither repeat nor skip"
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/apps/")["Roles"]] == [name]

    iam.update_role(RoleName=name, Description="renamed", MaxSessionDuration=3600)
    updated = iam.get_role(RoleName=name)["Role"]
    assert (updated["Description"], updated["MaxSessionDuration"]) == ("renamed", 3600)

    iam.delete_role(RoleName=name)
    error = refused(iam.get_role, RoleName=name)
    assert error_code(error) == "NoSuchEntity"
    assert status(error) == 404
    assert error_message(error) == f"The role with name {name} cannot be found."


def test_role_names_are_unique_ignoring_case(iam):
    name = unique("dup")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    error = refused(
        iam.create_role,
        RoleName=name.upper(),
        AssumeRolePolicyDocument=account_trust(PAYROLL_PROD),
    )
    assert error_code(error) == "EntityAlreadyExists"
    assert status(error) == 409
    assert error_message(error) == f"Role with name {name} already exists."


def test_trust_policy_with_a_resource_is_malformed(iam):
    document = trust({"AWS": f"arn:aws:iam::{PAYROLL_PROD}:root"}, Resource="*")
    error = refused(iam.create_role, RoleName=unique("bad"), AssumeRolePolicyDocument=document)
    assert error_code(error) == "MalformedPolicyDocument"
    assert status(error) == 400
    assert error_message(error) == "Has prohibited field Resource."

    name = unique("good")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    error = refused(iam.update_assume_role_policy, RoleName=name, PolicyDocument=document)
    assert error_message(error) == "Has prohibited field Resource."
    error = refused(iam.update_assume_role_policy, RoleName=name, PolicyDocument="{not json")
    assert error_code(error) == "MalformedPolicyDocument"


def test_policy_size_quotas(iam):
    external_ids = [f"external-id-{i:05d}-EXAMPLE" for i in range(100)]
    big_trust = trust(
        {"AWS": f"arn:aws:iam::{PAYROLL_PROD}:root"},
        Condition={"StringEquals": {"sts:ExternalId": external_ids}},
    )
    error = refused(iam.create_role, RoleName=unique("big"), AssumeRolePolicyDocument=big_trust)
    assert error_code(error) == "LimitExceeded"
    assert status(error) == 409
    assert error_message(error) == "Cannot exceed quota for ACLSizePerRole: 2048"

    name = unique("inline")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    buckets = [f"arn:aws:s3:::payroll-bucket-{i:04d}/*" for i in range(160)]
    document = allow("s3:GetObject", resource=buckets)
    iam.put_role_policy(RoleName=name, PolicyName="First", PolicyDocument=document)
    error = refused(iam.put_role_policy, RoleName=name, PolicyName="Second", PolicyDocument=document)
    assert error_code(error) == "LimitExceeded"
    assert error_message(error) == f"Maximum policy size of 10240 bytes exceeded for role {name}"
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["First"]


def test_request_validation_answers_as_aws(twin):
    raw = unvalidated_client(twin, PAYROLL_PROD)
    error = refused(
        raw.create_role,
        RoleName="has space",
        AssumeRolePolicyDocument=account_trust(PAYROLL_PROD),
        MaxSessionDuration=60,
    )
    assert error_code(error) == "ValidationError"
    assert error_message(error) == (
        "2 validation errors detected: Value 'has space' at 'roleName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+; "
        "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have "
        "value greater than or equal to 3600"
    )


def test_delete_role_with_policies_is_a_conflict(iam):
    name = unique("busy")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    iam.put_role_policy(
        RoleName=name, PolicyName="ReadObjects", PolicyDocument=allow("s3:GetObject")
    )
    iam.attach_role_policy(RoleName=name, PolicyArn=READ_ONLY_ACCESS)
    iam.attach_role_policy(RoleName=name, PolicyArn=READ_ONLY_ACCESS)

    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["ReadObjects"]
    document = iam.get_role_policy(RoleName=name, PolicyName="readobjects")["PolicyDocument"]
    assert document == json.loads(allow("s3:GetObject"))
    attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    assert attached == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": READ_ONLY_ACCESS}]

    error = refused(iam.delete_role, RoleName=name)
    assert error_code(error) == "DeleteConflict"
    assert status(error) == 409
    assert error_message(error) == "Cannot delete entity, must detach all policies first."
    iam.detach_role_policy(RoleName=name, PolicyArn=READ_ONLY_ACCESS)
    error = refused(iam.detach_role_policy, RoleName=name, PolicyArn=READ_ONLY_ACCESS)
    assert error_code(error) == "NoSuchEntity"
    error = refused(iam.delete_role, RoleName=name)
    assert error_message(error) == "Cannot delete entity, must delete policies first."
    iam.delete_role_policy(RoleName=name, PolicyName="ReadObjects")
    iam.delete_role(RoleName=name)


def test_attaching_unknown_policies(iam):
    name = unique("attach")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    other_account = f"arn:aws:iam::{CLUSTER_PROD}:policy/AssumeDeployRole"
    error = refused(iam.attach_role_policy, RoleName=name, PolicyArn=other_account)
    assert error_code(error) == "NoSuchEntity"
    assert error_message(error) == f"Policy {other_account} does not exist or is not attachable."
    error = refused(iam.attach_role_policy, RoleName=unique("none"), PolicyArn=READ_ONLY_ACCESS)
    assert error_code(error) == "NoSuchEntity"


def test_a_change_survives_a_restart_and_reaches_the_export(twin_factory, tmp_path):
    twin = twin_factory()
    iam = twin.client("iam", account=PAYROLL_PROD)
    name = unique("kept")
    created = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=account_trust(PAYROLL_PROD),
        Tags=[{"Key": "team", "Value": "payroll"}],
    )["Role"]
    iam.put_role_policy(RoleName=name, PolicyName="Read", PolicyDocument=allow("s3:GetObject"))

    twin.restart()
    iam = twin.client("iam", account=PAYROLL_PROD)
    again = iam.get_role(RoleName=name)["Role"]
    assert again["RoleId"] == created["RoleId"]
    assert again["CreateDate"] == created["CreateDate"]
    assert again["Tags"] == [{"Key": "team", "Value": "payroll"}]
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["Read"]

    out = tmp_path / "export"
    twin.orgtwin("export", "-o", str(out))
    account_file = (out / "accounts" / f"{PAYROLL_PROD}.yaml").read_text()
    assert f"- name: {name}" in account_file
    assert created["RoleId"] in account_file
    role_dir = out / "accounts" / PAYROLL_PROD / "roles" / name
    exported_trust = json.loads((role_dir / "trust.json").read_text())
    assert exported_trust == json.loads(account_trust(PAYROLL_PROD))
    inline = role_dir / "inline" / "Read.json"
    assert json.loads(inline.read_text()) == json.loads(allow("s3:GetObject"))
    checked = subprocess.run(
        [str(ORGTWIN_BIN), "check", str(out / "org.yaml")], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_cli_manages_roles(twin):
    env = twin.env(account=PAYROLL_PROD)
    name = unique("cli")
    created = twin.cli(
        "iam",
        "create-role",
        "--role-name",
        name,
        "--assume-role-policy-document",
        account_trust(PAYROLL_PROD),
        env=env,
    )
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["Role"]["RoleName"] == name
    listed = twin.cli("iam", "list-roles", "--query", "Roles[].RoleName", env=env)
    assert listed.returncode == 0, listed.stderr
    assert name in json.loads(listed.stdout)
    missing = twin.cli("iam", "get-role", "--role-name", unique("none"), env=env)
    assert missing.returncode != 0
    assert "NoSuchEntity" in missing.stderr


# Tags and the SCP that protects the EKS session tags ----------------------


def test_kubernetes_tags_only_for_platform_admin(twin, iam):
    name = unique("tagged")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    arn = f"arn:aws:iam::{PAYROLL_PROD}:role/{name}"
    tag = [{"Key": "kubernetes-namespace", "Value": "PayrollNamespace"}]

    error = refused(iam.tag_role, RoleName=name, Tags=tag)
    assert error_code(error) == "AccessDenied"
    assert status(error) == 403
    assert error_message(error).startswith(
        f"User: {ADMIN_ARN} is not authorized to perform: iam:TagRole on resource: {arn} "
        "with an explicit deny in a service control policy"
    )
    error = refused(
        iam.create_role,
        RoleName=unique("tagged"),
        AssumeRolePolicyDocument=account_trust(PAYROLL_PROD),
        Tags=[{"Key": "eks-cluster-name", "Value": "ProductionCluster"}],
    )
    assert error_code(error) == "AccessDenied"

    iam.tag_role(RoleName=name, Tags=[{"Key": "owner", "Value": "payroll"}])
    platform = platform_admin_iam(twin)
    platform.tag_role(RoleName=name, Tags=tag)
    tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=name)["Tags"]}
    assert tags == {"owner": "payroll", "kubernetes-namespace": "PayrollNamespace"}

    error = refused(iam.untag_role, RoleName=name, TagKeys=["kubernetes-namespace"])
    assert error_code(error) == "AccessDenied"
    iam.untag_role(RoleName=name, TagKeys=["owner"])
    platform.untag_role(RoleName=name, TagKeys=["kubernetes-namespace"])
    assert iam.list_role_tags(RoleName=name)["Tags"] == []


def test_user_tags_are_protected_too(twin, iam):
    name = unique("user")
    iam.create_user(UserName=name)
    error = refused(
        iam.tag_user, UserName=name, Tags=[{"Key": "kubernetes-namespace", "Value": "x"}]
    )
    assert error_code(error) == "AccessDenied"
    platform_admin_iam(twin).tag_user(
        UserName=name, Tags=[{"Key": "kubernetes-namespace", "Value": "x"}]
    )
    assert iam.list_user_tags(UserName=name)["Tags"] == [
        {"Key": "kubernetes-namespace", "Value": "x"}
    ]


# Permissions boundaries and trust policies take effect at once -------------


def test_a_boundary_limits_the_sessions_of_the_role(twin, iam):
    policy = iam.create_policy(
        PolicyName=unique("ReadRoles"),
        PolicyDocument=allow("iam:GetRole", "iam:ListRoles", "sts:GetCallerIdentity"),
    )["Policy"]
    name = unique("bounded")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(PAYROLL_PROD))
    iam.attach_role_policy(RoleName=name, PolicyArn=ADMINISTRATOR_ACCESS)
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=policy["Arn"])
    role = iam.get_role(RoleName=name)["Role"]
    assert role["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": policy["Arn"],
    }
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["PermissionsBoundaryUsageCount"] == 1

    session = twin.session_client("iam", assume(twin, role["Arn"]))
    assert session.get_role(RoleName=name)["Role"]["Arn"] == role["Arn"]
    error = refused(session.list_users)
    assert error_code(error) == "AccessDenied"
    assert "because no permissions boundary allows the action" in error_message(error)

    error = refused(iam.delete_policy, PolicyArn=policy["Arn"])
    assert error_code(error) == "DeleteConflict"
    iam.delete_role_permissions_boundary(RoleName=name)
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]
    session.list_users()
    iam.delete_policy(PolicyArn=policy["Arn"])


def test_update_assume_role_policy_changes_who_may_assume(twin, iam):
    name = unique("trusting")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=account_trust(CLUSTER_PROD))[
        "Role"
    ]["Arn"]
    error = refused(assume, twin, arn)
    assert error_code(error) == "AccessDenied"

    iam.update_assume_role_policy(RoleName=name, PolicyDocument=account_trust(PAYROLL_PROD))
    assert iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"] == json.loads(
        account_trust(PAYROLL_PROD)
    )
    creds = assume(twin, arn)
    identity = twin.session_client("sts", creds).get_caller_identity()
    assert identity["Arn"].startswith(f"arn:aws:sts::{PAYROLL_PROD}:assumed-role/{name}/")


# Users, groups and access keys --------------------------------------------


def test_access_key_lifecycle(twin, iam):
    name = unique("ci")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["UserName"] == name
    assert key["Status"] == "Active"
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40

    sts = twin.session_client("sts", key)
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{PAYROLL_PROD}:user/{name}"
    assert identity["Account"] == PAYROLL_PROD
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [(k["AccessKeyId"], k["Status"]) for k in listed] == [(key["AccessKeyId"], "Active")]

    error = refused(iam.delete_user, UserName=name)
    assert error_code(error) == "DeleteConflict"
    assert error_message(error) == "Cannot delete entity, must delete access keys first."

    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    sts.get_caller_identity()

    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "InvalidClientTokenId"
    assert error_message(error) == INVALID_TOKEN
    assert iam.list_access_keys(UserName=name)["AccessKeyMetadata"] == []
    iam.delete_user(UserName=name)


def test_a_user_is_named_with_its_path(twin, iam):
    name = unique("deployer")
    iam.create_user(UserName=name, Path="/ci/deployers/")
    key = iam.create_access_key(UserName=name)["AccessKey"]
    arn = f"arn:aws:iam::{PAYROLL_PROD}:user/ci/deployers/{name}"

    assert twin.session_client("sts", key).get_caller_identity()["Arn"] == arn
    # No policy: the denial names the caller by the same ARN.
    error = refused(twin.session_client("iam", key).list_roles)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(f"User: {arn} is not authorized"), error_message(error)
    session = twin.session_client("sts", key).get_session_token()["Credentials"]
    assert twin.session_client("sts", session).get_caller_identity()["Arn"] == arn

    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_a_user_holds_at_most_two_keys(iam):
    name = unique("keys")
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    error = refused(iam.create_access_key, UserName=name)
    assert error_code(error) == "LimitExceeded"
    assert error_message(error) == "Cannot exceed quota for AccessKeysPerUser: 2"


def test_users_and_groups(twin, iam):
    user = unique("dev")
    group = unique("developers")
    created = iam.create_user(UserName=user, Path="/people/")["User"]
    assert created["Arn"] == f"arn:aws:iam::{PAYROLL_PROD}:user/people/{user}"
    assert created["UserId"].startswith("AIDA")
    assert iam.get_user(UserName=user)["User"]["UserId"] == created["UserId"]
    me = iam.get_user()["User"]
    assert (me["UserName"], me["Arn"]) == ("orgtwin-admin", ADMIN_ARN)
    error = refused(iam.create_user, UserName="orgtwin-admin")
    assert error_code(error) == "EntityAlreadyExists"

    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName="Read", PolicyDocument=allow("s3:GetObject"))
    iam.add_user_to_group(GroupName=group, UserName=user)
    members = iam.get_group(GroupName=group)["Users"]
    assert [m["UserName"] for m in members] == [user]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"]] == [group]
    assert group in [g["GroupName"] for g in iam.list_groups()["Groups"]]

    error = refused(iam.delete_group, GroupName=group)
    assert error_code(error) == "DeleteConflict"
    error = refused(iam.delete_user, UserName=user)
    assert error_code(error) == "DeleteConflict"
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.delete_group_policy(GroupName=group, PolicyName="Read")
    iam.delete_group(GroupName=group)
    iam.delete_user(UserName=user)
    assert user not in [u["UserName"] for u in iam.list_users()["Users"]]


def test_user_policies_and_boundary(iam):
    name = unique("bounded-user")
    iam.create_user(UserName=name, PermissionsBoundary=DEPLOY_BOUNDARY)
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == (
        DEPLOY_BOUNDARY
    )
    iam.put_user_policy(UserName=name, PolicyName="Read", PolicyDocument=allow("s3:GetObject"))
    iam.attach_user_policy(UserName=name, PolicyArn=READ_ONLY_ACCESS)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["Read"]
    assert iam.list_attached_user_policies(UserName=name)["AttachedPolicies"][0]["PolicyArn"] == (
        READ_ONLY_ACCESS
    )
    iam.delete_user_permissions_boundary(UserName=name)
    assert "PermissionsBoundary" not in iam.get_user(UserName=name)["User"]


# Managed policies and OIDC providers ---------------------------------------


def test_managed_policy_versions(iam):
    name = unique("Deploy")
    policy = iam.create_policy(
        PolicyName=name, Path="/team/", PolicyDocument=allow("s3:GetObject"), Description="d"
    )["Policy"]
    arn = f"arn:aws:iam::{PAYROLL_PROD}:policy/team/{name}"
    assert policy["Arn"] == arn
    assert policy["DefaultVersionId"] == "v1"
    assert policy["PolicyId"].startswith("ANPA")
    error = refused(iam.create_policy, PolicyName=name, PolicyDocument=allow("s3:GetObject"))
    assert error_code(error) == "EntityAlreadyExists"

    local = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert arn in local and DEPLOY_BOUNDARY in local
    aws = [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert ADMINISTRATOR_ACCESS in aws and arn not in aws
    assert iam.get_policy(PolicyArn=READ_ONLY_ACCESS)["Policy"]["PolicyName"] == "ReadOnlyAccess"

    version = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=allow("s3:PutObject"), SetAsDefault=True
    )["PolicyVersion"]
    assert version["VersionId"] == "v2" and version["IsDefaultVersion"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    got = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert got["Document"] == json.loads(allow("s3:PutObject"))
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v2"]
    error = refused(iam.delete_policy_version, PolicyArn=arn, VersionId="v2")
    assert error_code(error) == "DeleteConflict"
    error = refused(
        iam.create_policy,
        PolicyName=unique("Broken"),
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}),
    )
    assert error_code(error) == "MalformedPolicyDocument"
    iam.delete_policy(PolicyArn=arn)
    assert error_code(refused(iam.get_policy, PolicyArn=arn)) == "NoSuchEntity"


def test_oidc_providers(iam):
    issuer = f"oidc.eks.us-east-1.amazonaws.com/id/{uuid.uuid4().hex.upper()}"
    arn = iam.create_open_id_connect_provider(
        Url=f"https://{issuer}",
        ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{PAYROLL_PROD}:oidc-provider/{issuer}"
    listed = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    assert arn in listed
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="other")
    provider = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert provider["Url"] == issuer
    assert provider["ClientIDList"] == ["sts.amazonaws.com", "other"]
    error = refused(iam.create_open_id_connect_provider, Url=f"https://{issuer}")
    assert error_code(error) == "EntityAlreadyExists"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    error = refused(iam.get_open_id_connect_provider, OpenIDConnectProviderArn=arn)
    assert error_code(error) == "NoSuchEntity"


# Account authorization details ---------------------------------------------


def test_account_authorization_details(iam):
    details = iam.get_account_authorization_details()
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    assert EXAMPLE_ROLES <= set(roles)
    deploy = roles["deploy-role"]
    assert deploy["Arn"] == DEPLOY_ROLE
    assert deploy["PermissionsBoundary"]["PermissionsBoundaryArn"] == DEPLOY_BOUNDARY
    s3_full_access = "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    assert deploy["AttachedManagedPolicies"] == [
        {"PolicyName": "AmazonS3FullAccess", "PolicyArn": s3_full_access}
    ]
    statement = deploy["AssumeRolePolicyDocument"]["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer"}
    account_b = roles["account-b-role"]
    assert [p["PolicyName"] for p in account_b["RolePolicyList"]] == ["ReadPayrollData"]
    assert account_b["RolePolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == (
        "s3:ListBucket"
    )
    assert account_b["Tags"] == [{"Key": "workload", "Value": "payroll"}]
    assert "RoleLastUsed" not in account_b

    policies = {p["Arn"]: p for p in details["Policies"]}
    boundary = policies[DEPLOY_BOUNDARY]
    assert boundary["PermissionsBoundaryUsageCount"] == 1
    [version] = boundary["PolicyVersionList"]
    assert version["IsDefaultVersion"] and version["VersionId"] == "v1"
    assert version["Document"]["Statement"][0]["Sid"] == "PayrollArtifactsOnly"
    assert ADMINISTRATOR_ACCESS in policies, "AWS managed policies in use are listed"

    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and only_roles["Policies"] == []
    assert {r["RoleName"] for r in only_roles["RoleDetailList"]} == set(roles)

    pages = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=["Role"], PaginationConfig={"PageSize": 2}
    )
    paged = [r["RoleName"] for page in pages for r in page["RoleDetailList"]]
    assert sorted(paged) == sorted(roles)


# The policy simulator ------------------------------------------------------


def test_simulate_principal_policy_with_a_boundary(iam):
    results = iam.simulate_principal_policy(
        PolicySourceArn=DEPLOY_ROLE,
        ActionNames=["s3:PutObject"],
        ResourceArns=[
            "arn:aws:s3:::payroll-artifacts-444455556666/build.zip",
            "arn:aws:s3:::payroll-data-444455556666/salaries.csv",
        ],
    )["EvaluationResults"]
    allowed, denied = results
    assert allowed["EvalDecision"] == "allowed"
    sources = {s["SourcePolicyId"]: s["SourcePolicyType"] for s in allowed["MatchedStatements"]}
    assert sources["arn:aws:iam::aws:policy/AmazonS3FullAccess"] == "aws-managed"
    assert allowed["MatchedStatements"][0]["StartPosition"]["Line"] >= 1
    assert allowed["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    assert denied["EvalDecision"] == "implicitDeny"
    assert denied["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}


def test_simulate_principal_policy_reads_the_trust_policy(twin):
    iam = twin.client("iam", account=CLUSTER_PROD)
    ci_deployer = f"arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer"
    external_id = [
        {
            "ContextKeyName": "sts:ExternalId",
            "ContextKeyValues": ["payroll-deploy-EXAMPLE"],
            "ContextKeyType": "string",
        }
    ]
    [result] = iam.simulate_principal_policy(
        PolicySourceArn=ci_deployer,
        ActionNames=["sts:AssumeRole"],
        ResourceArns=[DEPLOY_ROLE],
        ContextEntries=external_id,
    )["EvaluationResults"]
    assert result["EvalDecision"] == "allowed"
    matched = {s["SourcePolicyId"]: s["SourcePolicyType"] for s in result["MatchedStatements"]}
    assert matched["deploy-role trust"] == "resource"
    assert matched[f"arn:aws:iam::{CLUSTER_PROD}:policy/AssumeDeployRole"] == "user-managed"

    [without] = iam.simulate_principal_policy(
        PolicySourceArn=ci_deployer, ActionNames=["sts:AssumeRole"], ResourceArns=[DEPLOY_ROLE]
    )["EvaluationResults"]
    assert without["EvalDecision"] == "implicitDeny", "the trust policy wants the external id"
    [other_role] = iam.simulate_principal_policy(
        PolicySourceArn=ci_deployer,
        ActionNames=["sts:AssumeRole"],
        ResourceArns=[f"arn:aws:iam::{PAYROLL_PROD}:role/account-b-role"],
        ContextEntries=external_id,
    )["EvaluationResults"]
    assert other_role["EvalDecision"] == "implicitDeny"


def test_simulate_custom_policy(iam):
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            ],
        }
    )
    actions = ["s3:GetObject", "s3:DeleteObject", "ec2:RunInstances"]
    results = iam.simulate_custom_policy(PolicyInputList=[document], ActionNames=actions)[
        "EvaluationResults"
    ]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {
        "s3:GetObject": "allowed",
        "s3:DeleteObject": "explicitDeny",
        "ec2:RunInstances": "implicitDeny",
    }
    [deny] = [r for r in results if r["EvalDecision"] == "explicitDeny"][0]["MatchedStatements"]
    assert deny["SourcePolicyId"] == "PolicyInputList.1"
    column = document.index('{"Effect": "Deny"') + 1
    assert deny["StartPosition"] == {"Line": 1, "Column": column}


def test_simulation_pages_through_every_action_on_every_resource(iam):
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["arn:aws:s3:::a/x", "arn:aws:s3:::b/y"]
    seen = []
    kwargs = {"PolicyInputList": [document], "ActionNames": actions, "ResourceArns": resources}
    pages = 0
    while True:
        page = iam.simulate_custom_policy(MaxItems=4, **kwargs)
        pages += 1
        seen += [
            (r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"])
            for r in page["EvaluationResults"]
        ]
        if not page.get("IsTruncated"):
            break
        kwargs["Marker"] = page["Marker"]
    assert pages == 2
    assert seen == [
        (action, resource, "allowed" if action == "s3:GetObject" else "implicitDeny")
        for action in actions
        for resource in resources
    ]


def test_simulation_denies_as_the_scp_does(iam):
    [result] = iam.simulate_principal_policy(
        PolicySourceArn=ADMIN_ARN,
        ActionNames=["iam:TagRole"],
        ResourceArns=[DEPLOY_ROLE],
        ContextEntries=[
            {
                "ContextKeyName": "aws:TagKeys",
                "ContextKeyValues": ["kubernetes-namespace"],
                "ContextKeyType": "stringList",
            }
        ],
    )["EvaluationResults"]
    assert result["EvalDecision"] == "explicitDeny"
    assert result["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": False}

