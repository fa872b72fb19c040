"""S3 through boto3 and the AWS CLI, unmodified, against a running twin of
the embedded example organization.

The payroll bucket (payroll-data-444455556666) belongs to payroll-prod. Its
own account's roles read it through their identity policies alone; another
account's principal needs its identity policy *and* the bucket policy; the
data perimeter RCP on the Workloads OU stops everyone outside the
organization. Tests that change buckets or policies get a twin of their own.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid

import time

import boto3
import pytest
import requests
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import CLIENT_CONFIG

MANAGEMENT = "999988887777"
CLUSTER_PROD = "111122223333"
PAYROLL_PROD = "444455556666"
ANALYTICS_PROD = "777788889999"
PARTNER = "210987654321"  # outside the organization
PAYROLL_BUCKET = "payroll-data-444455556666"
REPORT_KEY = "reports/2026-11-summary.csv"
ROSTER_KEY = "employees/roster.csv"


def refused(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    return caught.value


def code(error: ClientError) -> str:
    return error.response["Error"]["Code"]


def status(error: ClientError) -> int:
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


def trail_denials(twin, wanted, timeout: float = 10.0) -> list[dict]:
    """Denials in the trail that `wanted` accepts, polled until the trail
    writer (which batches) has stored them, with a bounded wait."""
    deadline = time.monotonic() + timeout
    while True:
        found = [e for e in twin.trail(denied=True) if wanted(e)]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def role_session(twin, account: str, role: str, source_account: str = MANAGEMENT) -> dict:
    """Credentials of `role` in `account`, assumed by `source_account`'s
    administrator."""
    response = twin.client("sts", account=source_account).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role}",
        RoleSessionName=f"t-{uuid.uuid4().hex[:10]}",
    )
    return response["Credentials"]


def put_bucket_policy_as_platform_admin(twin, statements: list[dict]) -> None:
    """Adds statements to the payroll bucket's policy, as the only role the
    policy lets change it."""
    s3 = twin.session_client("s3", role_session(twin, PAYROLL_PROD, "platform-admin"))
    policy = json.loads(s3.get_bucket_policy(Bucket=PAYROLL_BUCKET)["Policy"])
    policy["Statement"].extend(statements)
    s3.put_bucket_policy(Bucket=PAYROLL_BUCKET, Policy=json.dumps(policy))


def create_role_without_s3(twin, account: str, name: str) -> str:
    """A role of `account` that its own administrator may assume and whose
    identity policies allow nothing."""
    iam = twin.client("iam", account=account)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


# Reading the payroll bucket -------------------------------------------------


def test_the_payroll_bucket_starts_with_its_seed_objects(twin):
    s3 = twin.client("s3", account=PAYROLL_PROD)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=PAYROLL_BUCKET)["Contents"]]
    assert keys == [ROSTER_KEY, REPORT_KEY]
    body = s3.get_object(Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)
    assert body["ContentType"] == "text/csv"
    assert body["Body"].read().decode().startswith("department,employees,gross_total\n")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == [PAYROLL_BUCKET], "ListBuckets shows the caller's own account's buckets"


def test_the_workload_accounts_own_role_reads_with_its_identity_policy_alone(twin):
    creds = role_session(twin, PAYROLL_PROD, "platform-admin")
    s3 = twin.session_client("s3", creds)
    data = s3.get_object(Bucket=PAYROLL_BUCKET, Key=ROSTER_KEY)["Body"].read()
    assert data.startswith(b"employee_id,department\n")
    # The bucket policy names no role of payroll-prod for reading: within the
    # owner's account the identity side is enough.
    policy = json.loads(s3.get_bucket_policy(Bucket=PAYROLL_BUCKET)["Policy"])
    assert all(
        "444455556666:role/platform-admin" not in json.dumps(s.get("Principal", ""))
        for s in policy["Statement"]
    )


def test_aws_cli_lists_and_copies_from_the_payroll_bucket(twin, tmp_path):
    env = twin.env(account=PAYROLL_PROD)
    listing = twin.cli("s3", "ls", f"s3://{PAYROLL_BUCKET}", "--recursive", env=env)
    assert listing.returncode == 0, listing.stderr
    assert REPORT_KEY in listing.stdout and ROSTER_KEY in listing.stdout
    target = tmp_path / "report.csv"
    copied = twin.cli("s3", "cp", f"s3://{PAYROLL_BUCKET}/{REPORT_KEY}", str(target), env=env)
    assert copied.returncode == 0, copied.stderr
    assert target.read_text().startswith("department,")
    denied = twin.cli(
        "s3", "cp", f"s3://{PAYROLL_BUCKET}/{REPORT_KEY}", str(target), env=twin.env(account=CLUSTER_PROD)
    )
    assert denied.returncode != 0
    assert "403" in denied.stderr or "AccessDenied" in denied.stderr, denied.stderr


def test_cross_account_reads_need_the_bucket_policy_and_the_identity_policy(twin_factory):
    twin = twin_factory()
    # cluster-prod's role with no identity policy, and analytics-prod's
    # administrator (AdministratorAccess), are both named by the bucket policy.
    no_s3_role = create_role_without_s3(twin, CLUSTER_PROD, "no-s3-role")
    put_bucket_policy_as_platform_admin(
        twin,
        [
            {
                "Sid": "ClusterRoleMayReadReports",
                "Effect": "Allow",
                "Principal": {"AWS": no_s3_role},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{PAYROLL_BUCKET}/reports/*",
            },
            {
                "Sid": "AnalyticsAdministratorMayReadReports",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ANALYTICS_PROD}:user/orgtwin-admin"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{PAYROLL_BUCKET}/reports/*",
            },
        ],
    )

    # Allowed by both sides.
    analytics = twin.client("s3", account=ANALYTICS_PROD)
    assert analytics.get_object(Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)["ContentLength"] > 0
    # The identity side allows everything, but the bucket policy not this key.
    error = refused(analytics.get_object, Bucket=PAYROLL_BUCKET, Key=ROSTER_KEY)
    assert code(error) == "AccessDenied" and status(error) == 403

    # Allowed by the bucket policy, but its identity policies allow nothing.
    creds = twin.client("sts", account=CLUSTER_PROD).assume_role(
        RoleArn=no_s3_role, RoleSessionName="reader"
    )["Credentials"]
    cluster = twin.session_client("s3", creds)
    error = refused(cluster.get_object, Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)
    assert code(error) == "AccessDenied"
    assert "because no identity-based policy allows" in error.response["Error"]["Message"]
    denials = trail_denials(twin, lambda e: e["action"] == "s3:GetObject" and "no-s3-role" in e["caller"])
    assert denials, "the denial is in the trail"
    missing = denials[-1]["explanation"]["missing_allow"]
    assert any("identity" in m for m in missing), missing


def test_the_data_perimeter_rcp_stops_callers_outside_the_organization(twin_factory):
    twin = twin_factory()
    put_bucket_policy_as_platform_admin(
        twin,
        [
            {
                "Sid": "PartnerMayReadReports",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{PAYROLL_BUCKET}/reports/*",
            }
        ],
    )
    partner = twin.client("s3", account=PARTNER)
    error = refused(partner.get_object, Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)
    assert code(error) == "AccessDenied"
    assert "explicit deny in a resource control policy" in error.response["Error"]["Message"]
    # The same grant to an account of the organization works: the RCP is
    # what stops the partner, not the bucket policy.
    put_bucket_policy_as_platform_admin(
        twin,
        [
            {
                "Sid": "ClusterAccountMayReadReports",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{CLUSTER_PROD}:root"},
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{PAYROLL_BUCKET}/reports/*",
            }
        ],
    )
    cluster = twin.client("s3", account=CLUSTER_PROD)
    assert cluster.get_object(Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)["ContentLength"] > 0


def test_only_platform_admin_may_change_the_bucket_policy(twin):
    admin_user = twin.client("s3", account=PAYROLL_PROD)
    error = refused(admin_user.delete_bucket_policy, Bucket=PAYROLL_BUCKET)
    assert code(error) == "AccessDenied"
    assert "explicit deny in a resource-based policy" in error.response["Error"]["Message"]
    error = refused(
        admin_user.put_bucket_policy, Bucket=PAYROLL_BUCKET, Policy='{"Version": "2012-10-17"'
    )
    assert code(error) == "AccessDenied", "authorization comes before the body is read"


def test_a_bucket_policy_must_be_valid_and_about_its_bucket(twin):
    s3 = twin.session_client("s3", role_session(twin, PAYROLL_PROD, "platform-admin"))
    error = refused(s3.put_bucket_policy, Bucket=PAYROLL_BUCKET, Policy='{"Version": "2012-10-17"')
    assert code(error) == "MalformedPolicy"
    foreign = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{CLUSTER_PROD}:root"},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::some-other-bucket/*",
            }
        ],
    }
    error = refused(s3.put_bucket_policy, Bucket=PAYROLL_BUCKET, Policy=json.dumps(foreign))
    assert code(error) == "MalformedPolicy"
    assert "invalid resource" in error.response["Error"]["Message"]


def test_missing_keys_and_buckets(twin):
    owner = twin.client("s3", account=PAYROLL_PROD)
    error = refused(owner.get_object, Bucket=PAYROLL_BUCKET, Key="reports/none.csv")
    assert (code(error), status(error)) == ("NoSuchKey", 404)
    error = refused(owner.head_object, Bucket=PAYROLL_BUCKET, Key="reports/none.csv")
    assert status(error) == 404
    error = refused(owner.list_objects_v2, Bucket="no-such-bucket-anywhere")
    assert (code(error), status(error)) == ("NoSuchBucket", 404)
    # A caller that may not list the bucket learns nothing about its keys.
    outsider = twin.client("s3", account=CLUSTER_PROD)
    error = refused(outsider.get_object, Bucket=PAYROLL_BUCKET, Key="reports/none.csv")
    assert code(error) == "AccessDenied"


# Objects ----------------------------------------------------------------------


def test_listing_with_prefix_delimiter_and_pages(twin_factory):
    twin = twin_factory()
    s3 = twin.client("s3", account=PAYROLL_PROD)
    keys = [f"exports/2026/{month:02d}/part-{n}.csv" for month in (1, 2, 3) for n in range(4)]
    keys += ["exports/readme.txt", "exports/ümlaut key+plus.txt"]
    for key in keys:
        s3.put_object(Bucket=PAYROLL_BUCKET, Key=key, Body=key.encode())
    paginator = s3.get_paginator("list_objects_v2")
    pages = list(paginator.paginate(Bucket=PAYROLL_BUCKET, Prefix="exports/", PaginationConfig={"PageSize": 5}))
    assert len(pages) == 3
    listed = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert listed == sorted(keys, key=lambda k: k.encode())
    top = s3.list_objects_v2(Bucket=PAYROLL_BUCKET, Prefix="exports/", Delimiter="/")
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["exports/2026/"]
    assert [o["Key"] for o in top["Contents"]] == ["exports/readme.txt", "exports/ümlaut key+plus.txt"]
    months = s3.list_objects_v2(Bucket=PAYROLL_BUCKET, Prefix="exports/2026/", Delimiter="/", MaxKeys=2)
    assert [p["Prefix"] for p in months["CommonPrefixes"]] == ["exports/2026/01/", "exports/2026/02/"]
    assert months["IsTruncated"]
    rest = s3.list_objects_v2(
        Bucket=PAYROLL_BUCKET,
        Prefix="exports/2026/",
        Delimiter="/",
        ContinuationToken=months["NextContinuationToken"],
    )
    assert [p["Prefix"] for p in rest["CommonPrefixes"]] == ["exports/2026/03/"]
    after = s3.list_objects_v2(Bucket=PAYROLL_BUCKET, Prefix="exports/2026/03/", StartAfter="exports/2026/03/part-1.csv")
    assert [o["Key"] for o in after["Contents"]] == ["exports/2026/03/part-2.csv", "exports/2026/03/part-3.csv"]
    v1 = s3.list_objects(Bucket=PAYROLL_BUCKET, Prefix="exports/2026/01/", MaxKeys=2)
    assert len(v1["Contents"]) == 2 and v1["IsTruncated"]
    deleted = s3.delete_objects(
        Bucket=PAYROLL_BUCKET, Delete={"Objects": [{"Key": k} for k in keys]}
    )
    assert len(deleted["Deleted"]) == len(keys)
    assert "Contents" not in s3.list_objects_v2(Bucket=PAYROLL_BUCKET, Prefix="exports/")


def test_a_large_object_round_trips_intact(twin_factory, tmp_path):
    twin = twin_factory()
    s3 = twin.client("s3", account=PAYROLL_PROD)
    data = os.urandom(21 * 1024 * 1024 + 12345)
    source = tmp_path / "large.bin"
    source.write_bytes(data)
    # boto3's transfer manager: a multipart upload of 8 MiB parts.
    s3.upload_file(str(source), PAYROLL_BUCKET, "large/multipart.bin")
    head = s3.head_object(Bucket=PAYROLL_BUCKET, Key="large/multipart.bin")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-3")
    target = tmp_path / "back.bin"
    s3.download_file(PAYROLL_BUCKET, "large/multipart.bin", str(target))
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(data).digest()
    # One PUT, and ranges of it.
    s3.put_object(Bucket=PAYROLL_BUCKET, Key="large/single.bin", Body=data[: 6 * 1024 * 1024])
    part = s3.get_object(Bucket=PAYROLL_BUCKET, Key="large/single.bin", Range="bytes=1000-1999")
    assert part["ContentRange"] == f"bytes 1000-1999/{6 * 1024 * 1024}"
    assert part["Body"].read() == data[1000:2000]
    tail = s3.get_object(Bucket=PAYROLL_BUCKET, Key="large/single.bin", Range="bytes=-10")
    assert tail["Body"].read() == data[6 * 1024 * 1024 - 10 : 6 * 1024 * 1024]
    # The AWS CLI: its own multipart upload and download.
    cli_target = tmp_path / "cli.bin"
    env = twin.env(account=PAYROLL_PROD)
    up = twin.cli("s3", "cp", str(source), f"s3://{PAYROLL_BUCKET}/large/cli.bin", env=env)
    assert up.returncode == 0, up.stderr
    down = twin.cli("s3", "cp", f"s3://{PAYROLL_BUCKET}/large/cli.bin", str(cli_target), env=env)
    assert down.returncode == 0, down.stderr
    assert cli_target.read_bytes() == data


def test_checksums_are_verified(twin):
    s3 = twin.client("s3", account=PAYROLL_PROD)
    put = s3.put_object(Bucket=PAYROLL_BUCKET, Key="sums/a.txt", Body=b"hello world", ChecksumAlgorithm="CRC32")
    assert put["ChecksumCRC32"] == "DUoRhQ=="
    got = s3.get_object(Bucket=PAYROLL_BUCKET, Key="sums/a.txt", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == "DUoRhQ==" and got["Body"].read() == b"hello world"
    error = refused(s3.put_object, Bucket=PAYROLL_BUCKET, Key="sums/b.txt", Body=b"hello", ContentMD5="AAAAAAAAAAAAAAAAAAAAAA==")
    assert code(error) == "BadDigest"
    error = refused(s3.put_object, Bucket=PAYROLL_BUCKET, Key="sums/c.txt", Body=b"hello", ChecksumCRC32="AAAAAA==")
    assert code(error) == "BadDigest"
    error = refused(s3.head_object, Bucket=PAYROLL_BUCKET, Key="sums/b.txt")
    assert status(error) == 404, "a refused upload stores nothing"


def test_conditional_and_presigned_reads(twin):
    s3 = twin.client("s3", account=PAYROLL_PROD)
    etag = s3.head_object(Bucket=PAYROLL_BUCKET, Key=REPORT_KEY)["ETag"]
    error = refused(s3.get_object, Bucket=PAYROLL_BUCKET, Key=REPORT_KEY, IfMatch='"0000"')
    assert status(error) == 412
    error = refused(s3.get_object, Bucket=PAYROLL_BUCKET, Key=REPORT_KEY, IfNoneMatch=etag)
    assert status(error) == 304
    env = twin.env(account=PAYROLL_PROD)
    v4 = boto3.client(
        "s3",
        endpoint_url=twin.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        config=CLIENT_CONFIG.merge(Config(signature_version="s3v4")),
    )
    url = v4.generate_presigned_url("get_object", Params={"Bucket": PAYROLL_BUCKET, "Key": REPORT_KEY}, ExpiresIn=60)
    assert "X-Amz-Signature=" in url
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.text.startswith("department,")
    tampered = url.replace("reports", "employees")
    assert requests.get(tampered, timeout=10).status_code == 403
    # Signature version 2, botocore's default for presigned URLs here, is
    # refused as S3 refuses it for new buckets.
    v2_url = s3.generate_presigned_url("get_object", Params={"Bucket": PAYROLL_BUCKET, "Key": REPORT_KEY}, ExpiresIn=60)
    assert "AWSAccessKeyId=" in v2_url
    answer = requests.get(v2_url, timeout=10)
    assert answer.status_code == 400 and "AWS4-HMAC-SHA256" in answer.text


def test_signatures_and_keys_are_checked(twin):
    env = twin.env(account=PAYROLL_PROD)
    wrong_secret = twin.session_client(
        "s3",
        {"AccessKeyId": env["AWS_ACCESS_KEY_ID"], "SecretAccessKey": "x" * 40, "SessionToken": None},
    )
    assert code(refused(wrong_secret.list_buckets)) == "SignatureDoesNotMatch"
    unknown = twin.session_client(
        "s3", {"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "SecretAccessKey": "x" * 40, "SessionToken": None}
    )
    assert code(refused(unknown.list_buckets)) == "InvalidAccessKeyId"
    anonymous = requests.get(f"{twin.endpoint}/{PAYROLL_BUCKET}/{REPORT_KEY}", timeout=10)
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text


def signed_s3(env: dict, method: str, url: str, body: bytes, hash_header: bool = True) -> AWSRequest:
    """A request signed by botocore's S3 signer (which signs the payload
    through `x-amz-content-sha256`), or by its plain SigV4 signer, which
    sends no such header."""
    request = AWSRequest(method=method, url=url, data=body)
    credentials = Credentials(
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN")
    )
    signer = S3SigV4Auth if hash_header else SigV4Auth
    signer(credentials, "s3", env["AWS_REGION"]).add_auth(request)
    return request


def tagging(team: str) -> bytes:
    return (
        "<Tagging><TagSet><Tag><Key>team</Key>"
        f"<Value>{team}</Value></Tag></TagSet></Tagging>"
    ).encode()


def test_a_body_must_be_the_one_its_payload_hash_names(twin_factory):
    twin = twin_factory()
    env = twin.env(account=PAYROLL_PROD)
    url = f"{twin.endpoint}/{PAYROLL_BUCKET}?tagging"
    s3 = twin.client("s3", account=PAYROLL_PROD)
    before = s3.get_bucket_tagging(Bucket=PAYROLL_BUCKET)["TagSet"]

    # Signed for one tag set, sent with another: S3 compares the body with
    # the signed `x-amz-content-sha256`.
    request = signed_s3(env, "PUT", url, tagging("payroll"))
    swapped = requests.put(url, data=tagging("intruder"), headers=dict(request.headers), timeout=30)
    assert swapped.status_code == 400, swapped.text
    assert "<Code>XAmzContentSHA256Mismatch</Code>" in swapped.text
    assert s3.get_bucket_tagging(Bucket=PAYROLL_BUCKET)["TagSet"] == before

    # A header-signed request without the payload hash is refused outright.
    bare = signed_s3(env, "PUT", url, tagging("payroll"), hash_header=False)
    assert "x-amz-content-sha256" not in {k.lower() for k in bare.headers.keys()}
    refused_bare = requests.put(url, data=bare.body, headers=dict(bare.headers), timeout=30)
    assert refused_bare.status_code == 400, refused_bare.text
    assert "x-amz-content-sha256" in refused_bare.text

    # The body that was signed goes through.
    sent = requests.put(url, data=request.body, headers=dict(request.headers), timeout=30)
    assert sent.status_code == 204, sent.text
    assert s3.get_bucket_tagging(Bucket=PAYROLL_BUCKET)["TagSet"] == [
        {"Key": "team", "Value": "payroll"}
    ]


# Buckets ---------------------------------------------------------------------


def test_bucket_lifecycle_tags_and_names(twin_factory):
    twin = twin_factory()
    analytics = twin.client("s3", account=ANALYTICS_PROD)
    error = refused(analytics.create_bucket, Bucket=PAYROLL_BUCKET)
    assert code(error) == "BucketAlreadyExists"
    error = refused(analytics.create_bucket, Bucket="Not_A_Valid_Name")
    assert code(error) == "InvalidBucketName"
    analytics.create_bucket(Bucket="analytics-scratch-777788889999")
    error = refused(analytics.create_bucket, Bucket="analytics-scratch-777788889999")
    assert code(error) == "BucketAlreadyOwnedByYou"
    analytics.put_bucket_tagging(
        Bucket="analytics-scratch-777788889999",
        Tagging={"TagSet": [{"Key": "team", "Value": "analytics"}]},
    )
    tags = analytics.get_bucket_tagging(Bucket="analytics-scratch-777788889999")["TagSet"]
    assert tags == [{"Key": "team", "Value": "analytics"}]
    analytics.put_object(Bucket="analytics-scratch-777788889999", Key="a.txt", Body=b"a")
    error = refused(analytics.delete_bucket, Bucket="analytics-scratch-777788889999")
    assert code(error) == "BucketNotEmpty"
    analytics.delete_object(Bucket="analytics-scratch-777788889999", Key="a.txt")
    analytics.delete_bucket(Bucket="analytics-scratch-777788889999")
    error = refused(analytics.head_bucket, Bucket="analytics-scratch-777788889999")
    assert status(error) == 404
    # The bucket went back to the model, and out of it again.
    exported = twin.orgtwin("export", "-o", str(twin.state / "export"))
    assert exported.returncode == 0
    account_file = (twin.state / "export" / "accounts" / f"{ANALYTICS_PROD}.yaml").read_text()
    assert "analytics-scratch" not in account_file
    assert "analytics-data-777788889999" in account_file


def test_a_restart_keeps_buckets_objects_and_policies(twin_factory):
    twin = twin_factory()
    s3 = twin.client("s3", account=ANALYTICS_PROD)
    s3.create_bucket(Bucket="analytics-kept-777788889999")
    s3.put_object(Bucket="analytics-kept-777788889999", Key="k/v.txt", Body=b"kept", ContentType="text/plain")
    s3.put_bucket_policy(
        Bucket="analytics-kept-777788889999",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{PAYROLL_PROD}:root"},
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::analytics-kept-777788889999/*",
                    }
                ],
            }
        ),
    )
    twin.restart()
    s3 = twin.client("s3", account=ANALYTICS_PROD)
    got = s3.get_object(Bucket="analytics-kept-777788889999", Key="k/v.txt")
    assert got["Body"].read() == b"kept" and got["ContentType"] == "text/plain"
    policy = json.loads(s3.get_bucket_policy(Bucket="analytics-kept-777788889999")["Policy"])
    assert policy["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{PAYROLL_PROD}:root"
    payroll = twin.client("s3", account=PAYROLL_PROD)
    assert payroll.get_object(Bucket="analytics-kept-777788889999", Key="k/v.txt")["Body"].read() == b"kept"


def test_virtual_hosted_style_addressing(twin):
    """What a client configured with `http://localhost:PORT` and virtual
    addressing sends: the bucket in the Host header. Signed by botocore's
    own SigV4 signer; sent to 127.0.0.1 because `*.localhost` names need not
    resolve on this machine."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    env = twin.env(account=PAYROLL_PROD)
    host = f"{PAYROLL_BUCKET}.localhost:{twin.port}"
    request = AWSRequest(method="GET", url=f"http://{host}/{REPORT_KEY}")
    S3SigV4Auth(
        Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), "s3", "us-east-1"
    ).add_auth(request)
    headers = dict(request.headers)
    headers["Host"] = host
    answer = requests.get(f"http://127.0.0.1:{twin.port}/{REPORT_KEY}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.text.startswith("department,")
