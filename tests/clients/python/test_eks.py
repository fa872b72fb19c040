"""EKS's control plane (clusters, Pod Identity associations) through boto3
and the AWS CLI, unmodified, against a real twin.

The example organization (examples/org) runs ProductionCluster and
StagingCluster in cluster-prod (111122223333) and AnalyticsCluster in
analytics-prod (777788889999), all in us-east-1. ProductionCluster has three
associations: PayrollNamespace/PayrollApplication and
OtherNamespace/PayrollApplication with account-a-role, and
PayrollNamespace/payroll-reports with payroll-reports-pod-role and the target
role payroll-reports-role in payroll-prod (444455556666). Reads use the
module's twin, which no test here changes; tests that change associations
start a twin of their own.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from botocore.exceptions import ClientError

CLUSTER_PROD = "111122223333"
PAYROLL = "444455556666"
ANALYTICS = "777788889999"
ISSUER = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
PROD_ARN = f"arn:aws:eks:us-east-1:{CLUSTER_PROD}:cluster/ProductionCluster"
ACCOUNT_A_ROLE = f"arn:aws:iam::{CLUSTER_PROD}:role/account-a-role"
REPORTS_POD_ROLE = f"arn:aws:iam::{CLUSTER_PROD}:role/payroll-reports-pod-role"
REPORTS_ROLE = f"arn:aws:iam::{PAYROLL}:role/payroll-reports-role"
ASSOCIATION_ID = re.compile(r"^a-[a-z0-9]{17}$")


def error_of(info: pytest.ExceptionInfo) -> tuple[str, int, str]:
    response = info.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )


def trail_entries(twin, wanted, timeout: float = 5.0) -> list[dict]:
    """Denied decisions matching `wanted`, once the trail writer (which
    batches) has stored them, with a bounded wait."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in twin.trail(denied=True) if wanted(e)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def associations(eks, cluster: str = "ProductionCluster", **filters) -> dict[tuple[str, str], dict]:
    listed = eks.list_pod_identity_associations(clusterName=cluster, **filters)["associations"]
    return {(a["namespace"], a["serviceAccount"]): a for a in listed}


# Clusters ------------------------------------------------------------------


def test_describe_cluster_names_the_aws_form_issuer(twin):
    cluster = twin.client("eks", account=CLUSTER_PROD).describe_cluster(name="ProductionCluster")[
        "cluster"
    ]
    assert cluster["name"] == "ProductionCluster"
    assert cluster["arn"] == PROD_ARN
    assert cluster["identity"]["oidc"]["issuer"] == ISSUER
    assert cluster["status"] == "ACTIVE"
    assert cluster["version"] == "1.31"
    assert cluster["platformVersion"].startswith("eks.")
    assert cluster["endpoint"] == f"{twin.endpoint}/_orgtwin/clusters/ProductionCluster"
    assert cluster["createdAt"].year >= 2024


def test_list_clusters_gives_the_accounts_clusters(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    assert eks.list_clusters()["clusters"] == ["ProductionCluster", "StagingCluster"]
    first = eks.list_clusters(maxResults=1)
    assert first["clusters"] == ["ProductionCluster"]
    second = eks.list_clusters(maxResults=1, nextToken=first["nextToken"])
    assert second["clusters"] == ["StagingCluster"]
    assert "nextToken" not in second
    analytics = twin.client("eks", account=ANALYTICS).list_clusters()
    assert analytics["clusters"] == ["AnalyticsCluster"]
    assert twin.client("eks", account=PAYROLL).list_clusters()["clusters"] == []


def test_clusters_through_the_cli(twin):
    env = twin.env(account=CLUSTER_PROD)
    done = twin.cli("eks", "list-clusters", "--output", "json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["clusters"] == ["ProductionCluster", "StagingCluster"]
    done = twin.cli(
        "eks",
        "describe-cluster",
        "--name",
        "ProductionCluster",
        "--query",
        "cluster.identity.oidc.issuer",
        "--output",
        "text",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ISSUER


def test_another_account_cannot_see_the_cluster(twin):
    eks = twin.client("eks", account=ANALYTICS)
    with pytest.raises(ClientError) as info:
        eks.describe_cluster(name="ProductionCluster")
    code, status, message = error_of(info)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "No cluster found for name: ProductionCluster."
    with pytest.raises(ClientError) as info:
        eks.list_pod_identity_associations(clusterName="ProductionCluster")
    assert error_of(info)[:2] == ("ResourceNotFoundException", 404)


def test_a_principal_without_eks_permissions_is_denied(twin):
    eks = twin.client("eks", user="ci-deployer")
    with pytest.raises(ClientError) as info:
        eks.describe_cluster(name="ProductionCluster")
    code, status, message = error_of(info)
    assert (code, status) == ("AccessDeniedException", 403)
    assert (
        f"User: arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer is not authorized to perform: "
        f"eks:DescribeCluster on resource: {PROD_ARN}"
    ) in message
    with pytest.raises(ClientError) as info:
        eks.list_clusters()
    assert error_of(info)[:2] == ("AccessDeniedException", 403)
    denied = trail_entries(twin, lambda d: d["action"] == "eks:ListClusters")
    assert denied and denied[-1]["resource"] == "*"


# Associations: reads --------------------------------------------------------


def test_list_associations_with_filters(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    everything = associations(eks)
    assert set(everything) == {
        ("PayrollNamespace", "PayrollApplication"),
        ("PayrollNamespace", "payroll-reports"),
        ("OtherNamespace", "PayrollApplication"),
    }
    for summary in everything.values():
        assert summary["clusterName"] == "ProductionCluster"
        assert ASSOCIATION_ID.match(summary["associationId"])
        assert summary["associationArn"] == (
            f"arn:aws:eks:us-east-1:{CLUSTER_PROD}:podidentityassociation/"
            f"ProductionCluster/{summary['associationId']}"
        )
        assert "roleArn" not in summary
    assert set(associations(eks, namespace="PayrollNamespace")) == {
        ("PayrollNamespace", "PayrollApplication"),
        ("PayrollNamespace", "payroll-reports"),
    }
    assert set(associations(eks, serviceAccount="PayrollApplication")) == {
        ("PayrollNamespace", "PayrollApplication"),
        ("OtherNamespace", "PayrollApplication"),
    }
    assert associations(eks, namespace="OtherNamespace", serviceAccount="payroll-reports") == {}
    staging = associations(eks, cluster="StagingCluster")
    assert set(staging) == {("PayrollNamespace", "PayrollApplication")}
    # Same namespace and service account names, another cluster: another id.
    key = ("PayrollNamespace", "PayrollApplication")
    assert staging[key]["associationId"] != everything[key]["associationId"]


def test_list_associations_in_pages(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    paginator = eks.get_paginator("list_pod_identity_associations")
    pages = list(
        paginator.paginate(clusterName="ProductionCluster", PaginationConfig={"PageSize": 1})
    )
    assert [len(p["associations"]) for p in pages] == [1, 1, 1]
    ids = [p["associations"][0]["associationId"] for p in pages]
    assert len(set(ids)) == 3


def test_describe_association_with_a_target_role(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    summary = associations(eks)[("PayrollNamespace", "payroll-reports")]
    association = eks.describe_pod_identity_association(
        clusterName="ProductionCluster", associationId=summary["associationId"]
    )["association"]
    assert association["roleArn"] == REPORTS_POD_ROLE
    assert association["targetRoleArn"] == REPORTS_ROLE
    assert association["associationArn"] == summary["associationArn"]
    assert association["disableSessionTags"] is False
    assert re.match(r"^[0-9a-f-]{36}$", association["externalId"]), association["externalId"]
    plain = associations(eks)[("PayrollNamespace", "PayrollApplication")]
    plain = eks.describe_pod_identity_association(
        clusterName="ProductionCluster", associationId=plain["associationId"]
    )["association"]
    assert plain["roleArn"] == ACCOUNT_A_ROLE
    assert "externalId" not in plain and "targetRoleArn" not in plain


def test_describe_association_through_the_cli(twin):
    env = twin.env(account=CLUSTER_PROD)
    done = twin.cli(
        "eks",
        "list-pod-identity-associations",
        "--cluster-name",
        "ProductionCluster",
        "--namespace",
        "OtherNamespace",
        "--output",
        "json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    [summary] = json.loads(done.stdout)["associations"]
    done = twin.cli(
        "eks",
        "describe-pod-identity-association",
        "--cluster-name",
        "ProductionCluster",
        "--association-id",
        summary["associationId"],
        "--output",
        "json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    association = json.loads(done.stdout)["association"]
    assert association["serviceAccount"] == "PayrollApplication"
    assert association["roleArn"] == ACCOUNT_A_ROLE


def test_an_unknown_association_is_not_found(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    with pytest.raises(ClientError) as info:
        eks.describe_pod_identity_association(
            clusterName="ProductionCluster", associationId="a-0000000000000000a"
        )
    code, status, message = error_of(info)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == "No Pod Identity Association found for id: a-0000000000000000a."


# Associations: changes -------------------------------------------------------


@pytest.fixture
def own_twin(twin_factory):
    return twin_factory()


def test_create_update_delete_round_trip(own_twin):
    eks = own_twin.client("eks", account=CLUSTER_PROD)
    created = eks.create_pod_identity_association(
        clusterName="ProductionCluster",
        namespace="PayrollNamespace",
        serviceAccount="payroll-batch",
        roleArn=ACCOUNT_A_ROLE,
        tags={"team": "payroll"},
    )["association"]
    association_id = created["associationId"]
    assert ASSOCIATION_ID.match(association_id)
    assert created["roleArn"] == ACCOUNT_A_ROLE
    assert created["tags"] == {"team": "payroll"}
    assert created["createdAt"] == created["modifiedAt"]
    assert ("PayrollNamespace", "payroll-batch") in associations(eks)

    updated = eks.update_pod_identity_association(
        clusterName="ProductionCluster",
        associationId=association_id,
        roleArn=REPORTS_POD_ROLE,
        targetRoleArn=REPORTS_ROLE,
        disableSessionTags=True,
        policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        ),
    )["association"]
    assert updated["roleArn"] == REPORTS_POD_ROLE
    assert updated["targetRoleArn"] == REPORTS_ROLE
    assert updated["disableSessionTags"] is True
    assert json.loads(updated["policy"])["Statement"][0]["Action"] == "s3:GetObject"
    assert updated["externalId"]
    assert updated["createdAt"] == created["createdAt"]

    deleted = eks.delete_pod_identity_association(
        clusterName="ProductionCluster", associationId=association_id
    )["association"]
    assert deleted["associationId"] == association_id
    assert ("PayrollNamespace", "payroll-batch") not in associations(eks)
    with pytest.raises(ClientError) as info:
        eks.describe_pod_identity_association(
            clusterName="ProductionCluster", associationId=association_id
        )
    assert error_of(info)[:2] == ("ResourceNotFoundException", 404)


def test_create_through_the_cli(own_twin):
    env = own_twin.env(account=CLUSTER_PROD)
    done = own_twin.cli(
        "eks",
        "create-pod-identity-association",
        "--cluster-name",
        "StagingCluster",
        "--namespace",
        "reports",
        "--service-account",
        "reporter",
        "--role-arn",
        ACCOUNT_A_ROLE,
        "--output",
        "json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    association = json.loads(done.stdout)["association"]
    assert association["clusterName"] == "StagingCluster"
    done = own_twin.cli(
        "eks",
        "delete-pod-identity-association",
        "--cluster-name",
        "StagingCluster",
        "--association-id",
        association["associationId"],
        env=env,
    )
    assert done.returncode == 0, done.stderr


def test_a_second_association_for_a_service_account_is_in_use(twin):
    eks = twin.client("eks", account=CLUSTER_PROD)
    existing = associations(eks)[("PayrollNamespace", "PayrollApplication")]
    with pytest.raises(ClientError) as info:
        eks.create_pod_identity_association(
            clusterName="ProductionCluster",
            namespace="PayrollNamespace",
            serviceAccount="PayrollApplication",
            roleArn=ACCOUNT_A_ROLE,
        )
    code, status, message = error_of(info)
    assert (code, status) == ("ResourceInUseException", 409)
    assert message == f"Association already exists: {existing['associationArn']}"


@pytest.mark.parametrize(
    "role_arn, extra",
    [
        (f"arn:aws:iam::{PAYROLL}:role/account-b-role", {}),
        ("arn:aws:iam::111122223333:user/ci-deployer", {}),
        (f"arn:aws:iam::{CLUSTER_PROD}:role/no-such-role", {}),
        (ACCOUNT_A_ROLE, {"policy": '{"Version":"2012-10-17","Statement":[]}'}),
    ],
    ids=["role-in-another-account", "not-a-role", "unknown-role", "policy-with-session-tags"],
)
def test_invalid_associations_are_refused(twin, role_arn, extra):
    eks = twin.client("eks", account=CLUSTER_PROD)
    with pytest.raises(ClientError) as info:
        eks.create_pod_identity_association(
            clusterName="ProductionCluster",
            namespace="PayrollNamespace",
            serviceAccount="refused",
            roleArn=role_arn,
            **extra,
        )
    assert error_of(info)[:2] == ("InvalidParameterException", 400)
    assert ("PayrollNamespace", "refused") not in associations(eks)


def test_creating_needs_pass_role(own_twin):
    # A user allowed every EKS action but not iam:PassRole.
    iam = own_twin.client("iam", account=CLUSTER_PROD)
    iam.create_user(UserName="eks-operator")
    iam.put_user_policy(
        UserName="eks-operator",
        PolicyName="EksOnly",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "eks:*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName="eks-operator")["AccessKey"]
    eks = own_twin.session_client("eks", key)
    assert "ProductionCluster" in eks.list_clusters()["clusters"]
    with pytest.raises(ClientError) as info:
        eks.create_pod_identity_association(
            clusterName="ProductionCluster",
            namespace="PayrollNamespace",
            serviceAccount="operated",
            roleArn=ACCOUNT_A_ROLE,
        )
    code, status, message = error_of(info)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"iam:PassRole on resource: {ACCOUNT_A_ROLE}" in message
    # Allowed to pass roles to EKS Pod Identity only, it may.
    iam.put_user_policy(
        UserName="eks-operator",
        PolicyName="PassToPodIdentity",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:PassRole",
                        "Resource": ACCOUNT_A_ROLE,
                        "Condition": {
                            "StringEquals": {"iam:PassedToService": "pods.eks.amazonaws.com"}
                        },
                    }
                ],
            }
        ),
    )
    created = eks.create_pod_identity_association(
        clusterName="ProductionCluster",
        namespace="PayrollNamespace",
        serviceAccount="operated",
        roleArn=ACCOUNT_A_ROLE,
    )["association"]
    assert created["serviceAccount"] == "operated"


def test_a_restart_keeps_a_created_association(own_twin):
    eks = own_twin.client("eks", account=CLUSTER_PROD)
    created = eks.create_pod_identity_association(
        clusterName="ProductionCluster",
        namespace="KeptNamespace",
        serviceAccount="kept",
        roleArn=ACCOUNT_A_ROLE,
        targetRoleArn=REPORTS_ROLE,
    )["association"]
    own_twin.restart()
    eks = own_twin.client("eks", account=CLUSTER_PROD)
    kept = eks.describe_pod_identity_association(
        clusterName="ProductionCluster", associationId=created["associationId"]
    )["association"]
    assert kept["associationArn"] == created["associationArn"]
    assert kept["targetRoleArn"] == REPORTS_ROLE
    assert kept["externalId"] == created["externalId"]
    assert kept["createdAt"] == created["createdAt"]
    assert ("KeptNamespace", "kept") in associations(eks, namespace="KeptNamespace")
