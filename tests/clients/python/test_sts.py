"""STS through boto3 and the AWS CLI, unmodified, against a running twin.

Two organizations: the embedded example (examples/org; fixture `twin`) for
the guide's roles, and tests/clients/fixtures/org (`fixture_org_twin`) for
the guardrails that each deny one AssumeRole: an SCP, a permissions boundary,
a session policy, and the session tag rules of role chaining. Tests that move
the clock or restart get a twin of their own (`twin_factory`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from datetime import datetime

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import REGION

# The embedded example organization.
MANAGEMENT = "999988887777"
CLUSTER_PROD = "111122223333"
PAYROLL_PROD = "444455556666"
PLATFORM_ADMIN_PAYROLL = f"arn:aws:iam::{PAYROLL_PROD}:role/platform-admin"
ACCOUNT_B_ROLE = f"arn:aws:iam::{PAYROLL_PROD}:role/account-b-role"
DEPLOY_ROLE = f"arn:aws:iam::{PAYROLL_PROD}:role/deploy-role"
DEPLOY_EXTERNAL_ID = "payroll-deploy-EXAMPLE"

# tests/clients/fixtures/org.
APPS_DEV = "100000000001"
APPS_PROD = "100000000002"
QUARANTINED = "100000000003"
TAGGING_ROLE = f"arn:aws:iam::{APPS_DEV}:role/tagging-role"
UNTAGGED_ROLE = f"arn:aws:iam::{APPS_DEV}:role/untagged-role"
PAYMENTS_ROLE = f"arn:aws:iam::{APPS_PROD}:role/payments-role"
OPEN_ROLE = f"arn:aws:iam::{APPS_PROD}:role/open-role"

ENCODED_PREFIX = "Encoded authorization failure message: "
INVALID_TOKEN = "The security token included in the request is invalid."
CHAINING_LIMIT = (
    "The requested DurationSeconds exceeds the 1 hour session limit for roles "
    "assumed by role chaining."
)
TRANSITIVE_CONFLICT = (
    "One of the specified transitive tag keys can't be set because it conflicts "
    "with a transitive tag key from the calling session."
)
TRAIL_TIMEOUT_S = 10.0


def session_name() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def denied_message(caller: str, action: str, resource: str) -> str:
    return f"User: {caller} is not authorized to perform: {action} on resource: {resource}"


def assume(sts, role_arn: str, **kwargs) -> dict:
    kwargs.setdefault("RoleSessionName", session_name())
    return sts.assume_role(RoleArn=role_arn, **kwargs)


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


def request_id(error: ClientError) -> str:
    return error.response["ResponseMetadata"]["RequestId"]


def encoded_message(error: ClientError) -> str:
    message = error_message(error)
    assert ENCODED_PREFIX in message, message
    return message.split(ENCODED_PREFIX, 1)[1].strip()


def trail_entries(twin, request_id: str, denied: bool = False) -> list[dict]:
    """The decisions of one request, polled until the trail writer (which
    batches) has stored them, with a bounded wait."""
    deadline = time.monotonic() + TRAIL_TIMEOUT_S
    while True:
        entries = [e for e in twin.trail(denied=denied) if e["request_id"] == request_id]
        if entries or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def denial_explanation(twin, error: ClientError) -> dict:
    """The engine's explanation of the decision that refused `error`'s
    request, from the decision trail."""
    entries = trail_entries(twin, request_id(error), denied=True)
    assert entries, f"no denial in the trail for request {request_id(error)}"
    return entries[-1]["explanation"]


def twin_now(twin) -> datetime:
    return datetime.fromisoformat(twin.advance_clock(0).replace("Z", "+00:00"))


# GetCallerIdentity --------------------------------------------------------


def test_get_caller_identity_of_the_administrator(twin):
    identity = twin.client("sts", account=PAYROLL_PROD).get_caller_identity()
    assert identity["Account"] == PAYROLL_PROD
    assert identity["Arn"] == f"arn:aws:iam::{PAYROLL_PROD}:user/orgtwin-admin"
    assert re.fullmatch(r"AIDA[A-Z2-7]{16,}", identity["UserId"]), identity["UserId"]


def test_get_caller_identity_of_a_modelled_user(twin):
    env = twin.env(user="ci-deployer")
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAIOSFODNN7EXAMPLE"
    identity = twin.client("sts", user="ci-deployer").get_caller_identity()
    assert identity["Account"] == CLUSTER_PROD
    assert identity["Arn"] == f"arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer"
    assert identity["UserId"].startswith("AIDA")


# Cross-account AssumeRole -------------------------------------------------


def test_cross_account_assume_role_allowed_by_the_trust_policy(twin):
    name = session_name()
    response = twin.client("sts").assume_role(
        RoleArn=PLATFORM_ADMIN_PAYROLL, RoleSessionName=name
    )
    user = response["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{PAYROLL_PROD}:assumed-role/platform-admin/{name}"
    assert re.fullmatch(rf"AROA[A-Z2-7]{{16,}}:{name}", user["AssumedRoleId"])
    creds = response["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["SessionToken"]
    lifetime = (creds["Expiration"] - twin_now(twin)).total_seconds()
    assert 3600 - 60 <= lifetime <= 3600, "default DurationSeconds is one hour"

    identity = twin.session_client("sts", creds).get_caller_identity()
    assert identity["Arn"] == user["Arn"]
    assert identity["UserId"] == user["AssumedRoleId"]
    assert identity["Account"] == PAYROLL_PROD


def test_cross_account_assume_role_denied_by_the_trust_policy(twin):
    sts = twin.client("sts", account=CLUSTER_PROD)
    error = refused(assume, sts, ACCOUNT_B_ROLE)
    assert error_code(error) == "AccessDenied"
    assert status(error) == 403
    assert error_message(error).startswith(
        denied_message(
            f"arn:aws:iam::{CLUSTER_PROD}:user/orgtwin-admin", "sts:AssumeRole", ACCOUNT_B_ROLE
        )
    )
    assert encoded_message(error)
    explanation = denial_explanation(twin, error)
    assert any("trust policy" in m for m in explanation["missing_allow"]), explanation


def test_assume_role_with_the_right_external_id(twin):
    sts = twin.client("sts", user="ci-deployer")
    response = assume(sts, DEPLOY_ROLE, ExternalId=DEPLOY_EXTERNAL_ID)
    assert response["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{PAYROLL_PROD}:assumed-role/deploy-role/"
    )


@pytest.mark.parametrize("external_id", ["payroll-deploy-WRONG", None])
def test_assume_role_with_a_wrong_or_missing_external_id(twin, external_id):
    sts = twin.client("sts", user="ci-deployer")
    kwargs = {} if external_id is None else {"ExternalId": external_id}
    error = refused(assume, sts, DEPLOY_ROLE, **kwargs)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(
            f"arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer", "sts:AssumeRole", DEPLOY_ROLE
        )
    )


def test_first_hop_may_last_up_to_the_roles_max_session_duration(twin):
    sts = twin.client("sts", user="ci-deployer")
    response = assume(sts, DEPLOY_ROLE, ExternalId=DEPLOY_EXTERNAL_ID, DurationSeconds=7200)
    lifetime = (response["Credentials"]["Expiration"] - twin_now(twin)).total_seconds()
    assert 7200 - 60 <= lifetime <= 7200

    error = refused(assume, sts, DEPLOY_ROLE, ExternalId=DEPLOY_EXTERNAL_ID, DurationSeconds=10800)
    assert error_code(error) == "ValidationError"
    assert status(error) == 400
    assert "MaxSessionDuration" in error_message(error)


# Guardrails: SCP, permissions boundary, session policy ---------------------


def test_an_scp_denies_assume_role_for_its_account(fixture_org_twin):
    twin = fixture_org_twin
    allowed = assume(twin.client("sts", user="free-user"), OPEN_ROLE)
    assert allowed["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{APPS_PROD}:assumed-role/open-role/"
    )

    error = refused(assume, twin.client("sts", user="quarantined-user"), OPEN_ROLE)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(
            f"arn:aws:iam::{QUARANTINED}:user/quarantined-user", "sts:AssumeRole", OPEN_ROLE
        )
    )
    explanation = denial_explanation(twin, error)
    denials = [(d["policy"], d["sid"]) for d in explanation["denied_by"]]
    assert any(
        "DenyRoleAssumption" in policy and sid == "NoAssumeRoleFromQuarantine"
        for policy, sid in denials
    ), explanation


def test_a_permissions_boundary_without_assume_role_denies_it(fixture_org_twin):
    twin = fixture_org_twin
    error = refused(assume, twin.client("sts", user="bounded-user"), OPEN_ROLE)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(f"arn:aws:iam::{APPS_DEV}:user/bounded-user", "sts:AssumeRole", OPEN_ROLE)
    )
    explanation = denial_explanation(twin, error)
    assert explanation["denied_by"] == []
    assert any("boundary" in m for m in explanation["missing_allow"]), explanation


def test_a_session_policy_without_assume_role_denies_the_next_hop(fixture_org_twin):
    twin = fixture_org_twin
    sts = twin.client("sts", user="free-user")
    s3_only = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
        }
    )
    limited = assume(sts, TAGGING_ROLE, Policy=s3_only)
    assert "PackedPolicySize" in limited
    unlimited = assume(sts, TAGGING_ROLE)

    hop = twin.session_client("sts", unlimited["Credentials"])
    assert assume(hop, OPEN_ROLE)["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{APPS_PROD}:assumed-role/open-role/"
    )
    limited_hop = twin.session_client("sts", limited["Credentials"])
    error = refused(assume, limited_hop, OPEN_ROLE)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(limited["AssumedRoleUser"]["Arn"], "sts:AssumeRole", OPEN_ROLE)
    )
    explanation = denial_explanation(twin, error)
    assert any("session policy" in m for m in explanation["missing_allow"]), explanation


# Role chaining and session tags -------------------------------------------


def test_transitive_session_tags_pass_an_abac_trust_down_the_chain(fixture_org_twin):
    twin = fixture_org_twin
    sts = twin.client("sts", user="free-user")
    first = assume(
        sts,
        TAGGING_ROLE,
        Tags=[{"Key": "team", "Value": "payments"}, {"Key": "cost-center", "Value": "42"}],
        TransitiveTagKeys=["team"],
    )
    assert "PackedPolicySize" in first
    # The fields that replace it say the same, and the token's own size.
    assert first["SessionTokenUtilization"] == first["PackedPolicySize"]
    assert first["SessionTokenSize"] == len(first["Credentials"]["SessionToken"])
    hop1 = twin.session_client("sts", first["Credentials"])

    second = assume(hop1, PAYMENTS_ROLE)
    assert second["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{APPS_PROD}:assumed-role/payments-role/"
    )
    hop2 = twin.session_client("sts", second["Credentials"])
    assert hop2.get_caller_identity()["Arn"] == second["AssumedRoleUser"]["Arn"]

    # The second session never set `team`: it inherited it, so its own
    # callers still pass payments-role's trust.
    third = assume(hop2, PAYMENTS_ROLE)
    assert third["AssumedRoleUser"]["Arn"].startswith(
        f"arn:aws:sts::{APPS_PROD}:assumed-role/payments-role/"
    )


def test_a_tag_that_is_not_transitive_stops_after_one_hop(fixture_org_twin):
    twin = fixture_org_twin
    sts = twin.client("sts", user="free-user")
    first = assume(sts, TAGGING_ROLE, Tags=[{"Key": "team", "Value": "payments"}])
    hop1 = twin.session_client("sts", first["Credentials"])
    second = assume(hop1, PAYMENTS_ROLE)
    hop2 = twin.session_client("sts", second["Credentials"])
    error = refused(assume, hop2, PAYMENTS_ROLE)
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(second["AssumedRoleUser"]["Arn"], "sts:AssumeRole", PAYMENTS_ROLE)
    )


def test_an_abac_trust_refuses_a_chain_without_the_tag(fixture_org_twin):
    twin = fixture_org_twin
    first = assume(twin.client("sts", user="free-user"), TAGGING_ROLE)
    hop1 = twin.session_client("sts", first["Credentials"])
    error = refused(assume, hop1, PAYMENTS_ROLE)
    assert error_code(error) == "AccessDenied"


def test_an_inherited_transitive_tag_cannot_be_set_again(fixture_org_twin):
    twin = fixture_org_twin
    first = assume(
        twin.client("sts", user="free-user"),
        TAGGING_ROLE,
        Tags=[{"Key": "team", "Value": "payments"}],
        TransitiveTagKeys=["team"],
    )
    hop1 = twin.session_client("sts", first["Credentials"])
    for key in ("team", "TEAM"):
        error = refused(assume, hop1, PAYMENTS_ROLE, Tags=[{"Key": key, "Value": "other"}])
        assert error_code(error) == "InvalidParameterValue"
        assert status(error) == 400
        assert error_message(error) == TRANSITIVE_CONFLICT


def test_session_tags_need_tag_session_in_the_trust_policy(fixture_org_twin):
    twin = fixture_org_twin
    sts = twin.client("sts", user="free-user")
    assume(sts, UNTAGGED_ROLE)
    error = refused(assume, sts, UNTAGGED_ROLE, Tags=[{"Key": "team", "Value": "payments"}])
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(f"arn:aws:iam::{APPS_DEV}:user/free-user", "sts:TagSession", UNTAGGED_ROLE)
    )


def test_a_chained_session_is_limited_to_one_hour(fixture_org_twin):
    twin = fixture_org_twin
    sts = twin.client("sts", user="free-user")
    # The role allows 12 hours, and a first hop gets them.
    assume(sts, OPEN_ROLE, DurationSeconds=7200)
    first = assume(sts, TAGGING_ROLE)
    hop1 = twin.session_client("sts", first["Credentials"])
    error = refused(assume, hop1, OPEN_ROLE, DurationSeconds=7200)
    assert error_code(error) == "ValidationError"
    assert status(error) == 400
    assert error_message(error) == CHAINING_LIMIT
    assert assume(hop1, OPEN_ROLE, DurationSeconds=3600)["Credentials"]["AccessKeyId"]


# DecodeAuthorizationMessage -------------------------------------------------


def test_decode_authorization_message_explains_a_trust_denial(twin):
    denied = refused(assume, twin.client("sts", account=CLUSTER_PROD), ACCOUNT_B_ROLE)
    encoded = encoded_message(denied)
    decoded = twin.client("sts", account=CLUSTER_PROD).decode_authorization_message(
        EncodedMessage=encoded
    )
    message = json.loads(decoded["DecodedMessage"])
    assert message["allowed"] is False
    assert message["explicitDeny"] is False
    assert message["context"]["action"] == "sts:AssumeRole"
    assert message["context"]["resource"] == ACCOUNT_B_ROLE
    assert message["context"]["principal"]["arn"] == (
        f"arn:aws:iam::{CLUSTER_PROD}:user/orgtwin-admin"
    )
    missing = message["explanation"]["missing_allow"]
    assert any("trust policy" in m for m in missing), message


def test_decode_authorization_message_names_the_denying_scp_statement(fixture_org_twin):
    twin = fixture_org_twin
    denied = refused(assume, twin.client("sts", user="quarantined-user"), OPEN_ROLE)
    sts = twin.client("sts", account=QUARANTINED)
    message = json.loads(
        sts.decode_authorization_message(EncodedMessage=encoded_message(denied))["DecodedMessage"]
    )
    assert message["allowed"] is False
    assert message["explicitDeny"] is True
    statements = [(s["policy"], s["sid"]) for s in message["matchedStatements"]["items"]]
    assert any(
        "DenyRoleAssumption" in policy and sid == "NoAssumeRoleFromQuarantine"
        for policy, sid in statements
    ), message


def test_decode_authorization_message_needs_its_own_permission(twin):
    denied = refused(assume, twin.client("sts", account=CLUSTER_PROD), ACCOUNT_B_ROLE)
    sts = twin.client("sts", user="ci-deployer")
    error = refused(sts.decode_authorization_message, EncodedMessage=encoded_message(denied))
    assert error_code(error) == "AccessDenied"
    assert error_message(error).startswith(
        denied_message(
            f"arn:aws:iam::{CLUSTER_PROD}:user/ci-deployer", "sts:DecodeAuthorizationMessage", "*"
        )
    )


# Authentication failures ---------------------------------------------------


def signed_get_caller_identity(endpoint: str, key_id: str, secret: str, token=None):
    """A GetCallerIdentity request signed by botocore's own SigV4 signer."""
    request = AWSRequest(
        method="POST",
        url=f"{endpoint}/",
        data="Action=GetCallerIdentity&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key_id, secret, token), "sts", REGION).add_auth(request)
    return request


def send(request: AWSRequest) -> requests.Response:
    return requests.post(request.url, data=request.body, headers=dict(request.headers), timeout=30)


def xml_field(body: str, field: str) -> str:
    found = re.search(rf"<{field}>(.*?)</{field}>", body, re.S)
    assert found, body
    return found.group(1)


def test_a_tampered_signature_does_not_match(twin):
    env = twin.env(account=MANAGEMENT)
    request = signed_get_caller_identity(
        twin.endpoint, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    )
    untouched = send(request)
    assert untouched.status_code == 200, untouched.text
    assert xml_field(untouched.text, "Account") == MANAGEMENT

    authorization = request.headers["Authorization"]
    head, signature = authorization.rsplit("Signature=", 1)
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    request.headers.replace_header("Authorization", f"{head}Signature={flipped}")
    response = send(request)
    assert response.status_code == 403
    assert xml_field(response.text, "Code") == "SignatureDoesNotMatch"


def test_a_signature_covers_the_body_whatever_the_payload_header_says(twin):
    """Outside S3 the payload hash is the body's own: a signed request
    replayed with another body and the first body's hash in
    `x-amz-content-sha256` does not match."""
    env = twin.env(account=MANAGEMENT)
    request = signed_get_caller_identity(
        twin.endpoint, env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    )
    signed_body = request.body.encode() if isinstance(request.body, str) else request.body
    headers = dict(request.headers)
    headers["x-amz-content-sha256"] = hashlib.sha256(signed_body).hexdigest()
    swapped = requests.post(
        request.url,
        data="Action=GetSessionToken&Version=2011-06-15",
        headers=headers,
        timeout=30,
    )
    assert swapped.status_code == 403, swapped.text
    assert xml_field(swapped.text, "Code") == "SignatureDoesNotMatch"
    # The same header with the body it describes is fine.
    kept = requests.post(request.url, data=signed_body, headers=headers, timeout=30)
    assert kept.status_code == 200, kept.text


def test_a_body_over_one_mebibyte_is_refused_in_the_service_s_format(twin):
    env = twin.env(account=MANAGEMENT)
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    padding = "x" * (1024 * 1024)

    sts = AWSRequest(
        method="POST",
        url=f"{twin.endpoint}/",
        data=f"Action=GetCallerIdentity&Version=2011-06-15&Padding={padding}",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(credentials, "sts", REGION).add_auth(sts)
    refused = send(sts)
    assert refused.status_code == 413, refused.text
    assert xml_field(refused.text, "Code") == "RequestEntityTooLarge"

    # A JSON service answers in JSON, with the code in `__type`.
    organizations = AWSRequest(
        method="POST",
        url=f"{twin.endpoint}/",
        data=json.dumps({"Padding": padding}),
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSOrganizationsV20161128.DescribeOrganization",
        },
    )
    SigV4Auth(credentials, "organizations", REGION).add_auth(organizations)
    refused = send(organizations)
    assert refused.status_code == 413, refused.text
    assert refused.json()["__type"].endswith("RequestEntityTooLarge"), refused.text


def test_a_wrong_secret_does_not_match(twin):
    env = twin.env(account=MANAGEMENT)
    sts = twin.session_client(
        "sts", {"AccessKeyId": env["AWS_ACCESS_KEY_ID"], "SecretAccessKey": "x" * 40}
    )
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "SignatureDoesNotMatch"
    assert status(error) == 403


def test_an_unknown_access_key_is_an_invalid_client_token(twin):
    sts = twin.session_client(
        "sts", {"AccessKeyId": "AKIAZZZZZZZZZZZZZZZZ", "SecretAccessKey": "y" * 40}
    )
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "InvalidClientTokenId"
    assert status(error) == 403
    assert error_message(error) == INVALID_TOKEN


def test_a_session_token_that_does_not_match_is_an_invalid_client_token(twin):
    sts = twin.client("sts")
    one = assume(sts, PLATFORM_ADMIN_PAYROLL)["Credentials"]
    other = assume(sts, PLATFORM_ADMIN_PAYROLL)["Credentials"]
    for token in (other["SessionToken"], None):
        mixed = dict(one, SessionToken=token)
        error = refused(twin.session_client("sts", mixed).get_caller_identity)
        assert error_code(error) == "InvalidClientTokenId"
        assert error_message(error) == INVALID_TOKEN
    assert twin.session_client("sts", one).get_caller_identity()["Account"] == PAYROLL_PROD


def test_an_expired_session_is_an_expired_token(twin_factory):
    twin = twin_factory()
    creds = assume(twin.client("sts"), PLATFORM_ADMIN_PAYROLL, DurationSeconds=900)["Credentials"]
    session = twin.session_client("sts", creds)
    assert session.get_caller_identity()["Account"] == PAYROLL_PROD
    twin.advance_clock(901)
    error = refused(session.get_caller_identity)
    assert error_code(error) == "ExpiredToken"
    assert status(error) == 403


def test_a_request_signed_twenty_minutes_ago_has_expired(twin_factory):
    twin = twin_factory()
    sts = twin.client("sts")
    assert sts.get_caller_identity()["Account"] == MANAGEMENT
    # The client signs with the real time, which is now 20 minutes behind the twin's.
    twin.advance_clock(1200)
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "SignatureDoesNotMatch"
    assert status(error) == 403
    assert error_message(error).startswith("Signature expired: ")
    assert "is now earlier than" in error_message(error)


def test_a_request_signed_twenty_minutes_ahead_is_not_yet_current(twin_factory):
    twin = twin_factory()
    sts = twin.client("sts")
    twin.advance_clock(-1200)
    error = refused(sts.get_caller_identity)
    assert error_code(error) == "SignatureDoesNotMatch"
    assert error_message(error).startswith("Signature not yet current: ")


# State across restarts and the decision trail ------------------------------


def test_sessions_and_the_trail_survive_a_restart(twin_factory):
    twin = twin_factory()
    sts = twin.client("sts")
    allowed = assume(sts, PLATFORM_ADMIN_PAYROLL)
    allowed_id = allowed["ResponseMetadata"]["RequestId"]
    denied = refused(assume, twin.client("sts", account=CLUSTER_PROD), ACCOUNT_B_ROLE)
    assert trail_entries(twin, allowed_id) and trail_entries(twin, request_id(denied))

    session = twin.session_client("sts", allowed["Credentials"])
    port = twin.port
    twin.restart()
    assert twin.port == port
    identity = session.get_caller_identity()
    assert identity["Arn"] == allowed["AssumedRoleUser"]["Arn"]

    trail = twin.trail()
    decisions = {(e["request_id"], e["action"], e["resource"], e["decision"]) for e in trail}
    assert decisions == {
        (allowed_id, "sts:AssumeRole", PLATFORM_ADMIN_PAYROLL, "Allow"),
        (request_id(denied), "sts:AssumeRole", ACCOUNT_B_ROLE, "ImplicitDeny"),
    }
    allow = next(e for e in trail if e["decision"] == "Allow")
    assert allow["caller"] == f"arn:aws:iam::{MANAGEMENT}:user/orgtwin-admin"
    assert any(
        "trust policy" in s["policy"] and s["sid"] == "PlatformTeamFromManagementAccount"
        for s in allow["explanation"]["allowed_by"]
    ), allow

    only_denied = twin.trail(denied=True)
    assert [(e["request_id"], e["decision"]) for e in only_denied] == [
        (request_id(denied), "ImplicitDeny")
    ]


# The AWS CLI ----------------------------------------------------------------


def cli_json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_aws_cli_assume_role_and_get_caller_identity(twin):
    admin = cli_json(twin.cli("sts", "get-caller-identity", "--output", "json"))
    assert admin["Arn"] == f"arn:aws:iam::{MANAGEMENT}:user/orgtwin-admin"

    name = session_name()
    assumed = cli_json(
        twin.cli(
            "sts", "assume-role", "--role-arn", PLATFORM_ADMIN_PAYROLL,
            "--role-session-name", name, "--output", "json",
        )
    )
    creds = assumed["Credentials"]
    session_env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        # awscli v1 (botocore) reads AWS_DEFAULT_REGION, not AWS_REGION.
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": twin.endpoint,
    }
    identity = cli_json(twin.cli("sts", "get-caller-identity", "--output", "json", env=session_env))
    assert identity["Arn"] == f"arn:aws:sts::{PAYROLL_PROD}:assumed-role/platform-admin/{name}"


def test_aws_cli_reports_access_denied(twin):
    result = twin.cli(
        "sts", "assume-role", "--role-arn", ACCOUNT_B_ROLE, "--role-session-name", "cli-denied",
        env=twin.env(account=CLUSTER_PROD),
    )
    assert result.returncode == 255, result  # awscli v1: 255 for a service error
    assert "An error occurred (AccessDenied) when calling the AssumeRole operation" in result.stderr
    assert denied_message(
        f"arn:aws:iam::{CLUSTER_PROD}:user/orgtwin-admin", "sts:AssumeRole", ACCOUNT_B_ROLE
    ) in result.stderr


def test_aws_cli_honours_the_sts_endpoint_variable(twin):
    env = twin.env()
    del env["AWS_ENDPOINT_URL"]
    env["AWS_ENDPOINT_URL_STS"] = twin.endpoint
    identity = cli_json(twin.cli("sts", "get-caller-identity", "--output", "json", env=env))
    assert identity["Account"] == MANAGEMENT


def test_aws_cli_profile_with_role_arn_assumes_the_role(twin, tmp_path):
    """The CLI's own assume-role credential provider (a profile with
    `role_arn` and `source_profile`) sends its AssumeRole to the twin too."""
    admin = twin.env(user="ci-deployer")
    (tmp_path / "credentials").write_text(
        "[ci]\n"
        f"aws_access_key_id = {admin['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {admin['AWS_SECRET_ACCESS_KEY']}\n"
    )
    (tmp_path / "config").write_text(
        "[profile deploy]\n"
        f"role_arn = {DEPLOY_ROLE}\n"
        "source_profile = ci\n"
        f"external_id = {DEPLOY_EXTERNAL_ID}\n"
        "role_session_name = cli-profile\n"
        f"region = {REGION}\n"
    )
    env = {
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_PROFILE": "deploy",
        "AWS_ENDPOINT_URL": twin.endpoint,
    }
    identity = cli_json(twin.cli("sts", "get-caller-identity", "--output", "json", env=env))
    assert identity["Arn"] == f"arn:aws:sts::{PAYROLL_PROD}:assumed-role/deploy-role/cli-profile"


def test_malformed_query_string_and_unknown_action(twin):
    body = "Action=GetCallerIdentity&Version=2011-06-15&Extra=%zz"
    response = requests.post(
        twin.endpoint,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "<Code>MalformedQueryString</Code>" in response.text
    assert "%zz" in response.text

    sts = twin.client("sts", account="999988887777")
    unknown = AWSRequest(
        method="POST",
        url=twin.endpoint,
        data="Action=NoSuchAction&Version=2011-06-15",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(sts._request_signer._credentials, "sts", REGION).add_auth(unknown)
    prepared = unknown.prepare()
    answer = requests.post(prepared.url, data=prepared.body, headers=dict(prepared.headers), timeout=10)
    assert answer.status_code == 400
    assert "<Code>InvalidAction</Code>" in answer.text
    assert "Could not find operation NoSuchAction for version 2011-06-15" in answer.text


def test_get_session_token_keeps_the_users_identity(twin):
    sts = twin.client("sts", user="ci-deployer")
    own = sts.get_caller_identity()
    creds = sts.get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    session = twin.session_client("sts", creds)
    identity = session.get_caller_identity()
    assert (identity["Arn"], identity["UserId"]) == (own["Arn"], own["UserId"])
    error = refused(session.get_session_token)
    assert error_code(error) == "AccessDenied"


def test_get_access_key_info_names_the_key_s_account_for_a_caller_allowed_to_ask(twin):
    sts = twin.client("sts")
    payroll_admin = twin.env(account=PAYROLL_PROD)["AWS_ACCESS_KEY_ID"]
    assert sts.get_access_key_info(AccessKeyId=payroll_admin)["Account"] == PAYROLL_PROD
    session = assume(sts, PLATFORM_ADMIN_PAYROLL)["Credentials"]
    assert sts.get_access_key_info(AccessKeyId=session["AccessKeyId"])["Account"] == PAYROLL_PROD

    # A session whose session policy allows only GetCallerIdentity may not.
    narrowed = assume(
        sts,
        PLATFORM_ADMIN_PAYROLL,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
                ],
            }
        ),
    )["Credentials"]
    narrow_sts = twin.session_client("sts", narrowed)
    error = refused(narrow_sts.get_access_key_info, AccessKeyId=payroll_admin)
    assert error_code(error) == "AccessDenied"
    assert "sts:GetAccessKeyInfo" in error_message(error)
