"""The analyzer and the twin agree.

For every service account of the example, `orgtwin paths` lists what the
analyzer finds reachable, hop by hop. Each path is then walked for real: the
application runs as that pod (`orgtwin run`), its unmodified boto3 takes
the pod's own credentials, assumes each role of the path in turn, and
performs the last action. Every access the analyzer finds must succeed.
Then the pairs the analyzer finds unreachable (every other role of the
model, and every bucket action it did not list) are tried with every
session the pod could get: the twin must deny each of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ORGTWIN_BIN, REPO

MODEL = REPO / "examples" / "org" / "org.yaml"
WORKLOADS = [
    "ProductionCluster/PayrollNamespace/PayrollApplication",
    "ProductionCluster/PayrollNamespace/payroll-reports",
    "ProductionCluster/PayrollNamespace/payroll-irsa",
    "ProductionCluster/OtherNamespace/PayrollApplication",
    "StagingCluster/PayrollNamespace/PayrollApplication",
    "AnalyticsCluster/analytics/analytics-jobs",
]
ROLES = [
    "arn:aws:iam::111122223333:role/account-a-role",
    "arn:aws:iam::111122223333:role/payroll-reports-pod-role",
    "arn:aws:iam::111122223333:role/platform-admin",
    "arn:aws:iam::444455556666:role/account-b-role",
    "arn:aws:iam::444455556666:role/payroll-reports-role",
    "arn:aws:iam::444455556666:role/payroll-irsa-role",
    "arn:aws:iam::444455556666:role/deploy-role",
    "arn:aws:iam::444455556666:role/platform-admin",
    "arn:aws:iam::777788889999:role/analytics-pod-role",
]
S3_ACTIONS = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]

# Runs inside the pod: walks the plan with the pod's own credentials.
WALKER = textwrap.dedent(
    """
    import json, sys
    import boto3
    from botocore.exceptions import ClientError

    plan = json.loads(open(sys.argv[1]).read())
    base = boto3.Session()
    sessions = {}

    def whoami(session):
        arn = session.client("sts").get_caller_identity()["Arn"]
        # arn:aws:sts::ACCT:assumed-role/NAME/SESSION -> the role's ARN
        account = arn.split(":")[4]
        name = arn.split("/")[1]
        return f"arn:aws:iam::{account}:role/{name}"

    sessions[whoami(base)] = base

    def assume(session, arn):
        creds = session.client("sts").assume_role(RoleArn=arn, RoleSessionName="agreement")["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def act(session, action, resource):
        s3 = session.client("s3")
        rest = resource[len("arn:aws:s3:::"):]
        bucket, _, key = rest.partition("/")
        if key == "*":
            key = "agreement-probe.txt"
        if action == "s3:ListBucket":
            s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
        elif action == "s3:GetObject":
            try:
                s3.get_object(Bucket=bucket, Key=key)
            except ClientError as e:
                # Allowed to read, nothing there: S3 says NoSuchKey only to
                # those who may read (or list) the bucket.
                if e.response["Error"]["Code"] != "NoSuchKey":
                    raise
        elif action == "s3:PutObject":
            s3.put_object(Bucket=bucket, Key=key, Body=b"agreement")
        elif action == "s3:DeleteObject":
            s3.delete_object(Bucket=bucket, Key=key)

    out = {"allowed": [], "denied": []}
    for step in plan["allowed"]:
        session = base
        try:
            for arn in step["roles"]:
                session = assume(session, arn)
                sessions[arn] = session
            if step.get("action"):
                act(session, step["action"], step["resource"])
            out["allowed"].append(None)
        except ClientError as e:
            out["allowed"].append(e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"])
    for step in plan["denied"]:
        let_in = []
        for held, session in sessions.items():
            try:
                if step["action"] == "sts:AssumeRole":
                    assume(session, step["resource"])
                else:
                    act(session, step["action"], step["resource"])
                let_in.append(held)
            except ClientError as e:
                code = e.response["Error"]["Code"]
                if code not in ("AccessDenied",):
                    let_in.append(held + " failed with " + code)
        out["denied"].append(let_in)
    print(json.dumps(out))
    """
)


def analyzer_paths(workload: str) -> list[dict]:
    done = subprocess.run(
        [str(ORGTWIN_BIN), "paths", "--model", str(MODEL), "--from", workload, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["accesses"]


def s3_resources() -> list[tuple[str, str]]:
    """Every bucket action `paths` looks at, on the example's buckets."""
    out = []
    buckets = {
        "payroll-data-444455556666": ["reports/2026-11-summary.csv", "employees/roster.csv"],
        "analytics-data-777788889999": [],
    }
    for bucket, keys in buckets.items():
        arn = f"arn:aws:s3:::{bucket}"
        out.append(("s3:ListBucket", arn))
        for action in S3_ACTIONS[1:]:
            for key in keys + ["*"]:
                out.append((action, f"{arn}/{key}"))
    return out


def plan_for(accesses: list[dict]) -> dict:
    allowed = []
    reached_roles = set()
    granted = set()
    for access in accesses:
        hops = access["path"]
        roles = [h["target"] for h in hops if h["action"] == "sts:AssumeRole"]
        last = hops[-1]
        if last["action"].startswith("s3:"):
            # Deletes last, so that a put is not undone before a read.
            allowed.append({"roles": roles, "action": last["action"], "resource": last["target"]})
            granted.add((last["action"], last["target"]))
        else:
            allowed.append({"roles": roles})
            reached_roles.add(last["target"])
    allowed.sort(key=lambda s: s.get("action") == "s3:DeleteObject")
    denied = [
        {"action": "sts:AssumeRole", "resource": arn} for arn in ROLES if arn not in reached_roles
    ]
    denied += [
        {"action": action, "resource": resource}
        for action, resource in s3_resources()
        if (action, resource) not in granted
    ]
    return {"allowed": allowed, "denied": denied}


@pytest.mark.parametrize("workload", WORKLOADS)
def test_the_twin_allows_what_the_analyzer_finds_and_denies_the_rest(twin_factory, tmp_path, workload):
    twin = twin_factory()
    accesses = analyzer_paths(workload)
    plan = plan_for(accesses)
    assert plan["denied"], "every workload of the example has something it cannot reach"
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    walker = tmp_path / "walker.py"
    walker.write_text(WALKER)
    done = subprocess.run(
        [
            str(ORGTWIN_BIN),
            "run",
            "--pod",
            workload,
            "--state",
            str(twin.state),
            "--endpoint",
            twin.endpoint,
            "--",
            sys.executable,
            str(walker),
            str(plan_file),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    failures = [
        (step, error) for step, error in zip(plan["allowed"], result["allowed"]) if error is not None
    ]
    assert not failures, f"the analyzer found these, the twin refused them: {failures}"
    leaks = [
        (step, who) for step, who in zip(plan["denied"], result["denied"]) if who
    ]
    assert not leaks, f"the analyzer found these unreachable, the twin allowed them: {leaks}"
