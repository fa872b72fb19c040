"""`orgtwin run` keeps a pod's projected tokens fresh for as long as its
command runs, as the kubelet does: a new token once 80% of the lifetime has
passed, written over the old one before it expires.

The shortest lifetime a service account may ask for is 600 seconds
(`eks.amazonaws.com/token-expiration`), so the pod waits up to ten minutes.
It is started when the session starts and checked after every other test
(the `background` marker, conftest.py), so that the wait overlaps the rest of
the suite instead of adding to it.
"""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from conftest import ORGTWIN_BIN, REPO

IRSA = "ProductionCluster/PayrollNamespace/payroll-irsa"
LIFETIME_S = 600
# The pod waits until its first token expires at the latest; this bounds the
# whole run, with room for a slow start.
RUN_TIMEOUT_S = LIFETIME_S + 240

# Inside the pod: keep the first token, wait for the file to change (at most
# until that token expires), then let boto3 resolve web identity credentials
# from whatever the file holds now.
POD = textwrap.dedent(
    """
    import base64, json, os, time
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    path = os.environ["AWS_WEB_IDENTITY_TOKEN_FILE"]

    def claims(token):
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    with open(path) as f:
        first = f.read()
    expires = claims(first)["exp"]
    current = first
    while current == first and time.time() < expires:
        time.sleep(5)
        with open(path) as f:
            current = f.read()
    out = {
        "first": claims(first),
        "second": claims(current),
        "changed": current != first,
        "mode": oct(os.stat(path).st_mode & 0o777),
    }
    try:
        out["arn"] = boto3.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError) as e:
        out["error"] = str(e)
    print(json.dumps(out))
    """
)


class RefreshingPod:
    """The example organization with payroll-irsa's tokens at 600 s, and a
    pod of it started by `orgtwin run --model`."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="orgtwin-token-refresh-"))
        atexit.register(shutil.rmtree, self.base, True)
        model = self.base / "org"
        shutil.copytree(REPO / "examples" / "org", model)
        accounts = model / "kubernetes" / "production-cluster-serviceaccounts.yaml"
        text = accounts.read_text()
        annotation = 'eks.amazonaws.com/token-expiration: "86400"'
        assert text.count(annotation) == 1, f"{accounts} no longer has {annotation}"
        accounts.write_text(
            text.replace(annotation, f'eks.amazonaws.com/token-expiration: "{LIFETIME_S}"')
        )
        script = self.base / "pod.py"
        script.write_text(POD)
        self.process = subprocess.Popen(
            [
                str(ORGTWIN_BIN),
                "run",
                "--model",
                str(model / "org.yaml"),
                "--pod",
                IRSA,
                "--",
                sys.executable,
                str(script),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        atexit.register(self.stop)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def result(self) -> tuple[int, dict, str]:
        try:
            stdout, stderr = self.process.communicate(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the pod did not finish within {RUN_TIMEOUT_S} s")
        lines = stdout.strip().splitlines()
        assert lines, f"no output (exit {self.process.returncode})\n{stderr}"
        return self.process.returncode, json.loads(lines[-1]), stderr


_POD: RefreshingPod | None = None


def start_pod() -> None:
    global _POD
    _POD = RefreshingPod()


@pytest.mark.background(start=start_pod)
def test_projected_tokens_are_refreshed_before_they_expire():
    assert _POD is not None, "the background marker did not start the pod"
    code, result, stderr = _POD.result()
    assert code == 0, stderr
    first, second = result["first"], result["second"]
    assert first["exp"] - first["iat"] == LIFETIME_S, first
    assert result["changed"], f"the token file still holds the first token: {result}"
    # A new token, issued after 80% of the first one's lifetime and before
    # it expired, for the same service account and with the same lifetime.
    assert first["iat"] + LIFETIME_S * 8 // 10 <= second["iat"] < first["exp"], result
    assert second["exp"] - second["iat"] == LIFETIME_S, second
    assert second["sub"] == first["sub"] == "system:serviceaccount:PayrollNamespace:payroll-irsa"
    assert result["mode"] == "0o600", result
    # The SDK's web identity provider reads the file again: the new token is
    # accepted by STS.
    assert result.get("arn", "").startswith(
        "arn:aws:sts::444455556666:assumed-role/payroll-irsa-role/"
    ), result
