"""Applications run as pods with `orgtwin run`, their SDKs unmodified: boto3
and the AWS CLI resolve credentials as they would in EKS, through the twin's
Pod Identity agent and EKS Auth, role chaining into the workload account
with the ABAC trust policy, or IRSA's web identity token.

The guide's setup: the payroll pods of ProductionCluster get account-a-role
(Pod Identity) and chain into account-b-role in payroll-prod, whose trust
checks the cluster ARN, namespace and service account tags. The traps (the
same service account name in OtherNamespace, and in StagingCluster) get
account-a-role too, and must be refused at the chained hop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import ORGTWIN_BIN, REPO

CREDENTIAL_PROCESS_BIN = Path(
    os.environ.get(
        "ORGTWIN_CREDENTIAL_PROCESS_BIN", ORGTWIN_BIN.parent / "eks-credential-process"
    )
)
PAYROLL = "ProductionCluster/PayrollNamespace/PayrollApplication"
REPORTS = "ProductionCluster/PayrollNamespace/payroll-reports"
IRSA = "ProductionCluster/PayrollNamespace/payroll-irsa"
OTHER_NAMESPACE = "ProductionCluster/OtherNamespace/PayrollApplication"
STAGING = "StagingCluster/PayrollNamespace/PayrollApplication"
ACCOUNT_B_ROLE = "arn:aws:iam::444455556666:role/account-b-role"
BUCKET = "payroll-data-444455556666"
REPORT_KEY = "reports/2026-11-summary.csv"
ROSTER_KEY = "employees/roster.csv"

# The guide's credential_process script, unchanged.
GUIDE_SCRIPT = """#!/bin/bash
# Content of the eks-credential-processrole.sh
# This will retreive the credential from the pod identities agent,
# and return it to the AWS SDK when referenced in a profile
curl -H "Authorization: $(cat $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)" $AWS_CONTAINER_CREDENTIALS_FULL_URI | jq -c '{AccessKeyId: .AccessKeyId, SecretAccessKey: .SecretAccessKey, SessionToken: .Token, Expiration: .Expiration, Version: 1}'
"""

# What the application does: who am I, and can I read the payroll data.
APP = textwrap.dedent(
    """
    import json, sys
    import boto3
    from botocore.exceptions import ClientError, CredentialRetrievalError, NoCredentialsError
    out = {}
    try:
        out["arn"] = boto3.client("sts").get_caller_identity()["Arn"]
    except (ClientError, CredentialRetrievalError, NoCredentialsError) as e:
        out["error"] = str(e)
        print(json.dumps(out)); sys.exit(3)
    s3 = boto3.client("s3")
    for key in sys.argv[1:]:
        try:
            out[key] = s3.get_object(Bucket="%s", Key=key)["Body"].read().decode()
        except ClientError as e:
            out[key] = "denied:" + e.response["Error"]["Code"]
    print(json.dumps(out))
    """
    % BUCKET
)


def aws_cli() -> str:
    aws = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert aws, "the AWS CLI must be installed in the test virtualenv"
    return aws


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The application, the guide's script and the AWS config files."""
    base = tmp_path_factory.mktemp("pod-files")
    for tool in ("curl", "jq", "bash"):
        assert shutil.which(tool), f"`{tool}` is required by the guide's script test"
    assert CREDENTIAL_PROCESS_BIN.is_file(), (
        f"no eks-credential-process at {CREDENTIAL_PROCESS_BIN}; "
        "run `cargo build -p eks-credential-process`"
    )
    app = base / "app.py"
    app.write_text(APP)
    script = base / "eks-credential-processrole.sh"
    script.write_text(GUIDE_SCRIPT)
    script.chmod(0o755)
    configs = {}
    for name, source in {
        "guide-script": f"credential_process = {script}",
        "helper": f"credential_process = {CREDENTIAL_PROCESS_BIN}",
    }.items():
        config = base / f"{name}.config"
        config.write_text(
            "# Content of the AWS Config file\n"
            "[profile account_b_role]\n"
            "source_profile = account_a_role\n"
            f"role_arn = {ACCOUNT_B_ROLE}\n\n"
            "[profile account_a_role]\n"
            f"{source}\n"
        )
        configs[name] = config
    ecs = base / "ecs.config"
    ecs.write_text(
        "[profile account_b_role]\n"
        "credential_source = EcsContainer\n"
        f"role_arn = {ACCOUNT_B_ROLE}\n"
    )
    configs["ecs"] = ecs
    return {"app": app, "configs": configs, "base": base}


def run_pod(
    twin, pod: str, *command: str, env: dict[str, str] | None = None, extra_env=None
) -> subprocess.CompletedProcess[str]:
    args = [
        str(ORGTWIN_BIN),
        "run",
        "--pod",
        pod,
        "--state",
        str(twin.state),
        "--endpoint",
        twin.endpoint,
    ]
    for key, value in (env or {}).items():
        args += ["--env", f"{key}={value}"]
    caller_env = dict(os.environ)
    caller_env.update(extra_env or {})
    return subprocess.run(
        [*args, "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
        env=caller_env,
    )


def app_result(twin, pod: str, files, *keys: str, env=None) -> dict:
    done = run_pod(twin, pod, sys.executable, str(files["app"]), *keys, env=env)
    assert done.stdout.strip(), f"no output (exit {done.returncode})\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def guide_env(files, config: str) -> dict[str, str]:
    # The guide's pod spec: AWS_CONFIG_FILE and AWS_PROFILE.
    return {"AWS_CONFIG_FILE": str(files["configs"][config]), "AWS_PROFILE": "account_b_role"}


@pytest.mark.parametrize("config", ["guide-script", "helper", "ecs"])
def test_the_guide_s_chain_reaches_account_b_role_and_the_bucket(twin, files, config):
    result = app_result(twin, PAYROLL, files, REPORT_KEY, env=guide_env(files, config))
    assert "error" not in result, result
    assert result["arn"].startswith("arn:aws:sts::444455556666:assumed-role/account-b-role/")
    assert result[REPORT_KEY].startswith("department,")


@pytest.mark.parametrize("config", ["guide-script", "helper", "ecs"])
def test_the_aws_cli_in_the_pod_resolves_the_same_chain(twin, files, config):
    done = run_pod(
        twin,
        PAYROLL,
        aws_cli(),
        "sts",
        "get-caller-identity",
        "--output",
        "json",
        env={**guide_env(files, config), "AWS_PAGER": ""},
    )
    assert done.returncode == 0, done.stderr
    identity = json.loads(done.stdout)
    assert identity["Account"] == "444455556666"
    assert ":assumed-role/account-b-role/" in identity["Arn"]
    listed = run_pod(
        twin,
        PAYROLL,
        aws_cli(),
        "s3",
        "cp",
        f"s3://{BUCKET}/{REPORT_KEY}",
        "-",
        env={**guide_env(files, config), "AWS_PAGER": ""},
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("department,")


def test_without_a_profile_the_pod_is_account_a_role_with_its_six_tags(twin, files):
    script = textwrap.dedent(
        """
        import json, boto3
        sts = boto3.client("sts")
        print(json.dumps(sts.get_caller_identity()))
        """
    )
    done = run_pod(twin, PAYROLL, sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert ":assumed-role/account-a-role/eks-ProductionCluster-" in done.stdout
    # The session's tags are in the trail's decisions of the chained hop.
    result = app_result(twin, PAYROLL, files, env=guide_env(files, "helper"))
    assert result["arn"].startswith("arn:aws:sts::444455556666:assumed-role/account-b-role/")


def test_the_native_target_role_is_the_pod_s_default_identity(twin, files):
    result = app_result(twin, REPORTS, files, REPORT_KEY, ROSTER_KEY)
    assert result["arn"].startswith(
        "arn:aws:sts::444455556666:assumed-role/payroll-reports-role/eks-ProductionCluster-"
    ), result
    assert result[REPORT_KEY].startswith("department,")
    assert result[ROSTER_KEY] == "denied:AccessDenied"


def test_cross_account_irsa(twin, files):
    result = app_result(twin, IRSA, files, REPORT_KEY)
    assert result["arn"].startswith(
        "arn:aws:sts::444455556666:assumed-role/payroll-irsa-role/"
    ), result
    assert result[REPORT_KEY].startswith("department,")


def test_irsa_without_the_provider_in_the_workload_account(twin_factory, files):
    twin = twin_factory()
    iam = twin.client("iam", account="444455556666")
    arn = (
        "arn:aws:iam::444455556666:oidc-provider/"
        "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    )
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    result = app_result(twin, IRSA, files)
    assert "InvalidIdentityToken" in result.get("error", ""), result
    assert "No OpenIDConnect provider found in your account" in result["error"], result


@pytest.mark.parametrize("pod", [OTHER_NAMESPACE, STAGING])
def test_the_traps_are_refused_at_the_chained_hop(twin, files, pod):
    result = app_result(twin, pod, files, env=guide_env(files, "helper"))
    error = result.get("error", "")
    assert "AccessDenied" in error and ACCOUNT_B_ROLE in error, result
    encoded = error.split("Encoded authorization failure message: ")[1].split()[0]
    decoded = twin.client("sts", account="444455556666").decode_authorization_message(
        EncodedMessage=encoded
    )["DecodedMessage"]
    assert "account-b-role trust policy" in decoded, decoded


CHAIN_LIMITS = textwrap.dedent(
    """
    import json, boto3
    from botocore.exceptions import ClientError
    sts = boto3.client("sts")
    out = {}
    for name, extra in {
        "long": {"DurationSeconds": 7200},
        "retag": {"Tags": [{"Key": "kubernetes-namespace", "Value": "PayrollNamespace"}]},
    }.items():
        try:
            sts.assume_role(RoleArn="%s", RoleSessionName="payroll", **extra)
            out[name] = "allowed"
        except ClientError as e:
            out[name] = e.response["Error"]["Code"] + ": " + e.response["Error"]["Message"]
    print(json.dumps(out))
    """
    % ACCOUNT_B_ROLE
)


def test_a_chained_hop_is_capped_at_an_hour_and_cannot_reset_a_transitive_tag(twin):
    done = run_pod(twin, PAYROLL, sys.executable, "-c", CHAIN_LIMITS)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["long"].startswith("ValidationError"), out
    assert "1 hour session limit" in out["long"], out
    assert out["retag"].startswith("InvalidParameterValue"), out
    assert "transitive tag key from the calling session" in out["retag"], out


def test_a_target_trust_without_tag_session_fails_as_aws_fails(twin_factory, files):
    twin = twin_factory()
    iam = twin.client("iam", account="444455556666")
    trust = json.loads(
        json.dumps(iam.get_role(RoleName="payroll-reports-role")["Role"]["AssumeRolePolicyDocument"])
    )
    trust["Statement"][0]["Action"] = "sts:AssumeRole"
    iam.update_assume_role_policy(RoleName="payroll-reports-role", PolicyDocument=json.dumps(trust))
    result = app_result(twin, REPORTS, files)
    error = result.get("error", "")
    assert "sts:TagSession" in error and "payroll-reports-role" in error, result


ENVIRONMENT = "import json, os; print(json.dumps(dict(os.environ)))"


def test_the_pod_spec_s_agent_variables_win_and_nothing_leaks_in(twin, tmp_path):
    done = run_pod(
        twin,
        PAYROLL,
        sys.executable,
        "-c",
        ENVIRONMENT,
        env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/mine"},
        extra_env={"AWS_ACCESS_KEY_ID": "AKIALEAKEDFROMSHELL1", "AWS_PROFILE": "leak"},
    )
    assert done.returncode == 0, done.stderr
    env = json.loads(done.stdout)
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://127.0.0.1:9/mine"
    assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" not in env
    assert "AWS_ACCESS_KEY_ID" not in env and "AWS_PROFILE" not in env
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == twin.endpoint


TOKEN_FILES = textwrap.dedent(
    """
    import json, os, stat
    out = {}
    for name in ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        path = os.environ.get(name)
        if path:
            data = open(path, "rb").read()
            out[name] = {
                "mode": oct(stat.S_IMODE(os.stat(path).st_mode)),
                "newline": data.endswith(b"\\n"),
                "parts": len(data.split(b".")),
            }
    out["role"] = os.environ.get("AWS_ROLE_ARN")
    print(json.dumps(out))
    """
)


@pytest.mark.parametrize(
    "pod, variable",
    [(PAYROLL, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), (IRSA, "AWS_WEB_IDENTITY_TOKEN_FILE")],
)
def test_projected_tokens_are_private_and_have_no_trailing_newline(twin, pod, variable):
    done = run_pod(twin, pod, sys.executable, "-c", TOKEN_FILES)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out[variable] == {"mode": "0o600", "newline": False, "parts": 3}, out
    # Pod Identity wins over IRSA: the Pod Identity pod has no IRSA role.
    if pod == PAYROLL:
        assert out["role"] is None and "AWS_WEB_IDENTITY_TOKEN_FILE" not in out


def test_the_command_s_exit_code_is_returned_and_bad_pods_are_refused(twin):
    done = run_pod(twin, PAYROLL, "sh", "-c", "exit 7")
    assert done.returncode == 7
    missing = run_pod(twin, "ProductionCluster/PayrollNamespace/nobody", "true")
    assert missing.returncode == 2
    assert "no service account `nobody`" in missing.stderr


def test_orgtwin_run_with_a_model_starts_its_own_twin(files):
    done = subprocess.run(
        [
            str(ORGTWIN_BIN),
            "run",
            "--model",
            str(REPO / "examples" / "org" / "org.yaml"),
            "--pod",
            REPORTS,
            "--",
            sys.executable,
            str(files["app"]),
            REPORT_KEY,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert ":assumed-role/payroll-reports-role/" in result["arn"]
    assert result[REPORT_KEY].startswith("department,")


def test_orgtwin_env_pod_prints_the_same_environment(twin, tmp_path):
    done = twin.orgtwin("env", "--pod", IRSA, "--token-dir", str(tmp_path / "tokens"))
    lines = done.stdout.splitlines()
    exported = dict(
        line[len("export ") :].split("=", 1) for line in lines if line.startswith("export ")
    )
    assert exported["AWS_ROLE_ARN"] == "arn:aws:iam::444455556666:role/payroll-irsa-role"
    token = Path(exported["AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert token.read_bytes().count(b".") == 2
    # The exported environment works for an SDK outside `orgtwin run`.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(exported)
    who = subprocess.run(
        [sys.executable, "-c", "import boto3; print(boto3.client('sts').get_caller_identity()['Arn'])"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert who.returncode == 0, who.stderr
    assert ":assumed-role/payroll-irsa-role/" in who.stdout


def test_orgtwin_env_pod_in_a_shell_drops_the_shell_s_aws_settings(twin, tmp_path):
    """`eval "$(orgtwin env --pod ...)"` in a shell that has its own keys,
    profile, shared files and an STS endpoint elsewhere: the SDK sees only
    the pod's settings."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAJUNKJUNKJUNKJUNK\n"
        "aws_secret_access_key = " + "j" * 40 + "\n"
    )
    shell_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    shell_env.update(
        HOME=str(home),
        AWS_ACCESS_KEY_ID="AKIASHELLSHELLSHELL1",
        AWS_SECRET_ACCESS_KEY="s" * 40,
        AWS_PROFILE="default",
        AWS_SHARED_CREDENTIALS_FILE=str(home / ".aws" / "credentials"),
        AWS_ENDPOINT_URL_STS="http://127.0.0.1:9",
        ORGTWIN_ENDPOINT=twin.endpoint,
    )
    script = (
        'eval "$("$ORGTWIN" env --pod "$POD" --token-dir "$TOKENS" --state "$STATE")" || exit 3\n'
        'exec "$PYTHON" -c "import boto3; print(boto3.client(\'sts\').get_caller_identity()[\'Arn\'])"\n'
    )
    shell_env.update(
        ORGTWIN=str(ORGTWIN_BIN),
        STATE=str(twin.state),
        POD=IRSA,
        TOKENS=str(tmp_path / "tokens"),
        PYTHON=sys.executable,
    )
    who = subprocess.run(
        ["sh", "-c", script], capture_output=True, text=True, env=shell_env, timeout=120
    )
    assert who.returncode == 0, who.stderr
    assert ":assumed-role/payroll-irsa-role/" in who.stdout, who.stdout

    # A name a shell cannot export is refused before anything is printed.
    bad = twin.orgtwin("env", "--pod", IRSA, "--env", "X;touch x=1", check=False)
    assert bad.returncode == 2 and bad.stdout == ""
    assert "is not a variable name" in bad.stderr


def test_the_issuer_documents_are_served(twin):
    import requests

    base = f"{twin.endpoint}/_orgtwin/oidc/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    discovery = requests.get(f"{base}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == (
        "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    )
    keys = requests.get(discovery["jwks_uri"], timeout=10).json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"


def test_eks_auth_through_boto3(twin, tmp_path):
    """EKS Auth's own API, as the agent calls it: the cluster account's
    administrator exchanges a pod's token for the association's role; the
    Pod Identity role itself, which may only chain, is refused with EKS
    Auth's `AccessDeniedException`."""
    from botocore.exceptions import ClientError

    done = twin.orgtwin("env", "--pod", PAYROLL, "--token-dir", str(tmp_path / "tokens"))
    exported = dict(
        line[len("export ") :].split("=", 1)
        for line in done.stdout.splitlines()
        if line.startswith("export ")
    )
    token = Path(exported["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]).read_text()
    eks_auth = twin.client("eks-auth", account="111122223333")
    answer = eks_auth.assume_role_for_pod_identity(clusterName="ProductionCluster", token=token)
    assert answer["subject"] == {
        "namespace": "PayrollNamespace",
        "serviceAccount": "PayrollApplication",
    }
    assert answer["assumedRoleUser"]["arn"].startswith(
        "arn:aws:sts::111122223333:assumed-role/account-a-role/"
    )
    pod_role = twin.session_client(
        "eks-auth",
        {
            "AccessKeyId": answer["credentials"]["accessKeyId"],
            "SecretAccessKey": answer["credentials"]["secretAccessKey"],
            "SessionToken": answer["credentials"]["sessionToken"],
        },
    )
    with pytest.raises(ClientError) as denied:
        pod_role.assume_role_for_pod_identity(clusterName="ProductionCluster", token=token)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "eks-auth:AssumeRoleForPodIdentity" in denied.value.response["Error"]["Message"]
