"""Fixtures that run a real `orgtwin up` for tests written with boto3 and the
AWS CLI, unmodified.

Each twin gets a fresh state directory, listens on 127.0.0.1 (port 0 on the
first start, so the kernel picks a free port; a restart reuses it), runs with
`--test-clock`, and is stopped (its whole process group) when its fixture ends,
whether the tests passed or not.

Fixtures:

- `twin` (module scope): a twin of the embedded example organization
  (examples/org). Each test module gets its own, so modules do not see each
  other's changes.
- `fixture_org_twin` (module scope): a twin of tests/clients/fixtures/org,
  the small organization built for the guardrail cases (SCP, boundary, session
  policy, session tag chains).
- `twin_factory` (function scope): `twin_factory(model=None)` starts another
  twin for one test, for tests that move its clock or otherwise leave it in a
  state no other test should see.

A `Twin` offers:

- `.endpoint`, `.state`, `.port`
- `.env(account=None, user=None) -> dict`: what `orgtwin env` exports, for an
  account's administrator (`orgtwin-admin`, AdministratorAccess; the
  management account when neither is given) or a modelled user.
- `.client(service, account=None, user=None)`: a boto3 client with those keys.
- `.session_client(service, creds)`: a boto3 client with temporary keys, given
  as STS returns them (`AccessKeyId`, `SecretAccessKey`, `SessionToken`).
- `.advance_clock(seconds) -> str`: moves the twin's clock, returns its time.
- `.restart()`: stops and starts again on the same state and port.
- `.cli(*args, env=None) -> CompletedProcess`: runs the venv's `aws`
  (environment: `env`, or the management administrator's `.env()`; nothing
  from the developer's own AWS configuration).
- `.trail(denied=False) -> list[dict]`: `orgtwin trail --state DIR`.

Environment: `ORGTWIN_BIN` (default: the repository's target/debug/orgtwin).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

REPO = Path(__file__).resolve().parents[3]
ORGTWIN_BIN = Path(os.environ.get("ORGTWIN_BIN", REPO / "target" / "debug" / "orgtwin"))
FIXTURES = REPO / "tests" / "clients" / "fixtures"
FIXTURE_ORG = FIXTURES / "org" / "org.yaml"
MANAGEMENT_ACCOUNT = "999988887777"
REGION = "us-east-1"

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
TRAIL_SETTLE_S = 5.0

# Keep the developer's AWS configuration out of every client the tests make:
# no profile, no config or credentials file, no instance metadata lookups.
_AWS_HOME = Path(tempfile.mkdtemp(prefix="orgtwin-aws-home-"))
for _name in [n for n in os.environ if n.startswith("AWS_")]:
    del os.environ[_name]
_ISOLATED_AWS_ENV = {
    "AWS_CONFIG_FILE": str(_AWS_HOME / "config"),
    "AWS_SHARED_CREDENTIALS_FILE": str(_AWS_HOME / "credentials"),
    "AWS_EC2_METADATA_DISABLED": "true",
}
os.environ.update(_ISOLATED_AWS_ENV)
atexit.register(shutil.rmtree, _AWS_HOME, True)

# No retries: a test sees exactly the one answer the twin gave.
CLIENT_CONFIG = Config(
    region_name=REGION,
    retries={"total_max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
)

_RUNNING: set[Twin] = set()


@atexit.register
def _stop_leftovers() -> None:
    for twin in list(_RUNNING):
        twin.stop()


def _stop_on_sigterm(signum, frame) -> None:
    # SIGTERM would end pytest without finalizers or atexit: stop the twins
    # first, then die of the signal as asked.
    _stop_leftovers()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)


class TwinStartError(RuntimeError):
    pass


class Twin:
    """One `orgtwin up` process and its state directory."""

    def __init__(self, state: Path, model: Path | None = None) -> None:
        if not ORGTWIN_BIN.is_file():
            raise TwinStartError(
                f"no orgtwin binary at {ORGTWIN_BIN}; run `cargo build -p orgtwin` "
                "or set ORGTWIN_BIN"
            )
        self.state = Path(state)
        self.state.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.port = 0
        self.endpoint = ""
        self.log = self.state.parent / f"{self.state.name}.log"
        self._process: subprocess.Popen[str] | None = None

    # Process control -------------------------------------------------------

    def start(self) -> Twin:
        command = [
            str(ORGTWIN_BIN),
            "up",
            "--state",
            str(self.state),
            "--listen",
            f"127.0.0.1:{self.port}",
            "--test-clock",
        ]
        if self.model is not None:
            command += ["--model", str(self.model)]
        log = open(self.log, "a", encoding="utf-8")
        try:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        finally:
            log.close()
        _RUNNING.add(self)
        try:
            self._await_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _await_ready(self) -> None:
        process = self._process
        assert process is not None and process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()

        def drain(stream) -> None:
            # Keeps reading so the pipe never fills, whatever the twin prints.
            for line in stream:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=drain, args=(process.stdout,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        prefix = "orgtwin serving on "
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TwinStartError(f"orgtwin did not report ready in time\n{self.log_tail()}")
            try:
                line = lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise TwinStartError(
                    f"orgtwin exited with {process.wait()} before serving\n{self.log_tail()}"
                )
            if line.startswith(prefix):
                self.endpoint = line[len(prefix) :].split()[0]
                self.port = int(self.endpoint.rsplit(":", 1)[1])
                break
        if not self.endpoint.startswith("http://127.0.0.1:"):
            raise TwinStartError(f"orgtwin serves on {self.endpoint}, not on 127.0.0.1")
        while True:
            try:
                response = requests.get(f"{self.endpoint}/_orgtwin/health", timeout=2)
                if response.status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if process.poll() is not None:
                raise TwinStartError(f"orgtwin exited with {process.returncode}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TwinStartError(f"/_orgtwin/health never answered 200\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stops the twin's process group: SIGINT (the twin shuts down
        cleanly), then SIGKILL if it has not exited in time."""
        process = self._process
        self._process = None
        _RUNNING.discard(self)
        if process is None:
            return
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
                break
            except subprocess.TimeoutExpired:
                continue
        # The group may still hold children even after the leader exited.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def restart(self) -> Twin:
        """Stops the twin and starts it again on the same state and port."""
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    # Credentials and clients ----------------------------------------------

    def orgtwin(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Runs another `orgtwin` command against this twin's state."""
        return subprocess.run(
            [str(ORGTWIN_BIN), *args, "--state", str(self.state)],
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
        )

    def env(self, account: str | None = None, user: str | None = None) -> dict[str, str]:
        """The variables `orgtwin env` exports for the account's administrator
        (the management account's when neither is given) or a modelled user."""
        args = ["env"]
        if account is None and user is None:
            account = MANAGEMENT_ACCOUNT
        if account is not None:
            args += ["--account", account]
        if user is not None:
            args += ["--user", user]
        out = self.orgtwin(*args).stdout
        exported = {}
        for line in out.splitlines():
            if line.startswith("export "):
                name, _, value = line[len("export ") :].partition("=")
                exported[name] = value
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
            assert name in exported, f"`orgtwin env` did not export {name}:\n{out}"
        return exported

    def client(self, service: str, account: str | None = None, user: str | None = None):
        """A boto3 client for `service` with the administrator's (or a
        modelled user's) long-term keys."""
        env = self.env(account=account, user=user)
        return self._client(
            service,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def session_client(self, service: str, creds: dict):
        """A boto3 client with temporary credentials as STS returns them
        (`AccessKeyId`, `SecretAccessKey`, `SessionToken`)."""
        return self._client(
            service,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds.get("SessionToken"),
        )

    def _client(self, service: str, **keys):
        session = boto3.session.Session(region_name=REGION, **keys)
        return session.client(service, endpoint_url=self.endpoint, config=CLIENT_CONFIG)

    # The twin's own endpoints and commands --------------------------------

    def advance_clock(self, seconds: int) -> str:
        """Moves the twin's clock by `seconds` (negative moves it back);
        returns the twin's new time (RFC 3339)."""
        response = requests.post(
            f"{self.endpoint}/_orgtwin/clock", params={"advance": str(seconds)}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()["now"]

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Runs the venv's `aws` with `env` (default: the management
        administrator's `.env()`); never raises on a non-zero exit."""
        aws = shutil.which("aws", path=str(Path(sys.executable).parent))
        if aws is None:
            raise FileNotFoundError(
                f"no `aws` next to {sys.executable}; install tests/clients/python/requirements.txt"
            )
        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        base.update(_ISOLATED_AWS_ENV)
        base["AWS_PAGER"] = ""
        base["AWS_MAX_ATTEMPTS"] = "1"
        base.update(self.env() if env is None else env)
        # A HOME of its own: the CLI caches assumed-role credentials under
        # ~/.aws/cli/cache, which must neither leak between twins nor touch
        # the developer's.
        with tempfile.TemporaryDirectory(prefix="orgtwin-cli-home-") as home:
            if env is None or "HOME" not in env:
                base["HOME"] = home
            return subprocess.run(
                [aws, *args], capture_output=True, text=True, env=base, timeout=timeout
            )

    def trail(self, denied: bool = False) -> list[dict]:
        """The decision trail, one dict per decision, once it has settled.

        The twin writes the trail in batches within about 20 ms of each
        decision (docs/twin.md), so the trail is read until two reads, 100 ms
        apart, agree (for at most TRAIL_SETTLE_S seconds)."""
        args = ["trail"] + (["--denied"] if denied else [])
        deadline = time.monotonic() + TRAIL_SETTLE_S
        last = None
        while True:
            out = self.orgtwin(*args).stdout
            if out == last or time.monotonic() > deadline:
                return [json.loads(line) for line in out.splitlines() if line.strip()]
            last = out
            time.sleep(0.1)


def _start(tmp_path_factory: pytest.TempPathFactory, model: Path | None) -> Twin:
    base = tmp_path_factory.mktemp("twin")
    return Twin(base / "state", model=model).start()


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    """A twin of the embedded example organization, for one test module."""
    running = _start(tmp_path_factory, None)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def fixture_org_twin(tmp_path_factory):
    """A twin of tests/clients/fixtures/org, for one test module."""
    running = _start(tmp_path_factory, FIXTURE_ORG)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def twin_factory(tmp_path_factory):
    """Starts twins for one test: `twin_factory(model=None)`."""
    started: list[Twin] = []

    def start(model: Path | None = None) -> Twin:
        running = _start(tmp_path_factory, model)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()


def pytest_collection_modifyitems(session, config, items):
    """Tests marked `background(start=FUNCTION)` wait on something slow (a
    pod whose tokens must be refreshed, say): FUNCTION starts it as soon as
    the tests are collected, and the test itself runs after every other one,
    so that the wait overlaps the rest of the suite."""
    background = [item for item in items if item.get_closest_marker("background")]
    for item in background:
        items.remove(item)
        items.append(item)
    for item in background:
        item.get_closest_marker("background").kwargs["start"]()
