// Applications run as EKS pods with `orgtwin run`, written with the AWS SDK
// for JavaScript v3 and its default credential chain: the Pod Identity agent
// (the container credentials provider), the guide's AWS config file chaining
// into account-b-role (through a credential_process or `credential_source =
// EcsContainer`), a native target role, and IRSA's web identity token.
//
// The guide's setup in the embedded example organization: the payroll pods of
// ProductionCluster get account-a-role and chain into account-b-role in
// payroll-prod, whose trust checks the pod's cluster, namespace and service
// account tags. The traps (the same service account name in OtherNamespace
// and in StagingCluster) get account-a-role too and must be refused at the
// chained hop. Run with `node --test` in tests/clients/js.

import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { DeleteOpenIDConnectProviderCommand, IAMClient } from "@aws-sdk/client-iam";
import { DecodeAuthorizationMessageCommand } from "@aws-sdk/client-sts";

import { ORGTWIN_BIN, REGION, REPO, startTwin } from "../twin.mjs";

const CREDENTIAL_PROCESS_BIN =
  process.env.ORGTWIN_CREDENTIAL_PROCESS_BIN ??
  path.join(path.dirname(ORGTWIN_BIN), "eks-credential-process");
const APP = path.join(REPO, "tests", "clients", "js", "apps", "whoami.mjs");
const RUN_TIMEOUT_MS = 120_000;

const PAYROLL_PROD = "444455556666";
const PAYROLL = "ProductionCluster/PayrollNamespace/PayrollApplication";
const REPORTS = "ProductionCluster/PayrollNamespace/payroll-reports";
const IRSA = "ProductionCluster/PayrollNamespace/payroll-irsa";
const OTHER_NAMESPACE = "ProductionCluster/OtherNamespace/PayrollApplication";
const STAGING = "StagingCluster/PayrollNamespace/PayrollApplication";
const ACCOUNT_B_ROLE = `arn:aws:iam::${PAYROLL_PROD}:role/account-b-role`;
const BUCKET = `payroll-data-${PAYROLL_PROD}`;
const REPORT = `s3://${BUCKET}/reports/2026-11-summary.csv`;
const ROSTER = `s3://${BUCKET}/employees/roster.csv`;
const OIDC_PROVIDER =
  `arn:aws:iam::${PAYROLL_PROD}:oidc-provider/` +
  "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

// The guide's credential_process script, unchanged.
const GUIDE_SCRIPT = `#!/bin/bash
# Content of the eks-credential-processrole.sh
# This will retreive the credential from the pod identities agent,
# and return it to the AWS SDK when referenced in a profile
curl -H "Authorization: $(cat $AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)" $AWS_CONTAINER_CREDENTIALS_FULL_URI | jq -c '{AccessKeyId: .AccessKeyId, SecretAccessKey: .SecretAccessKey, SessionToken: .Token, Expiration: .Expiration, Version: 1}'
`;

const assumedRole = (role) => `arn:aws:sts::${PAYROLL_PROD}:assumed-role/${role}/`;

/** Writes the guide's script and the AWS config files into `dir`. */
function writePodFiles(dir) {
  for (const tool of ["curl", "jq", "bash"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      assert.fail(`\`${tool}\` is required by the guide's script test`);
    }
  }
  assert.ok(
    existsSync(CREDENTIAL_PROCESS_BIN),
    `no eks-credential-process at ${CREDENTIAL_PROCESS_BIN}; ` +
      "run `cargo build -p eks-credential-process` or set ORGTWIN_CREDENTIAL_PROCESS_BIN",
  );
  const script = path.join(dir, "eks-credential-processrole.sh");
  writeFileSync(script, GUIDE_SCRIPT);
  chmodSync(script, 0o755);
  const configs = {};
  const sources = {
    "guide-script": `credential_process = ${script}`,
    helper: `credential_process = ${CREDENTIAL_PROCESS_BIN}`,
  };
  for (const [name, source] of Object.entries(sources)) {
    configs[name] = path.join(dir, `${name}.config`);
    writeFileSync(
      configs[name],
      "# Content of the AWS Config file\n" +
        "[profile account_b_role]\n" +
        "source_profile = account_a_role\n" +
        `role_arn = ${ACCOUNT_B_ROLE}\n\n` +
        "[profile account_a_role]\n" +
        `${source}\n`,
    );
  }
  configs.ecs = path.join(dir, "ecs.config");
  writeFileSync(
    configs.ecs,
    "[profile account_b_role]\n" +
      "credential_source = EcsContainer\n" +
      `role_arn = ${ACCOUNT_B_ROLE}\n`,
  );
  return configs;
}

/** The guide's pod spec: AWS_CONFIG_FILE and AWS_PROFILE. */
const guideEnv = (config) => ({ AWS_CONFIG_FILE: config, AWS_PROFILE: "account_b_role" });

const runningPods = new Set();
process.on("exit", () => {
  for (const child of runningPods) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

/**
 * `orgtwin run --pod POD ... -- COMMAND` against `twin`; resolves to the exit
 * code and output. The run and its command are killed after RUN_TIMEOUT_MS.
 */
function runPod(twin, pod, command, { env = {} } = {}) {
  const args = ["run", "--pod", pod, "--state", twin.state, "--endpoint", twin.endpoint];
  for (const [name, value] of Object.entries(env)) {
    args.push("--env", `${name}=${value}`);
  }
  args.push("--", ...command);
  return new Promise((resolve, reject) => {
    const child = spawn(ORGTWIN_BIN, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    runningPods.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
      reject(new Error(`orgtwin run --pod ${pod} did not finish in time\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.once("error", (error) => {
      clearTimeout(timer);
      runningPods.delete(child);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      runningPods.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the application in `pod`; returns its JSON line. */
async function appResult(twin, pod, objects = [], { env } = {}) {
  const done = await runPod(twin, pod, [process.execPath, APP, ...objects], { env });
  const lines = done.stdout.trim().split("\n");
  assert.ok(done.stdout.trim(), `no output (exit ${done.code})\n${done.stderr}`);
  const result = JSON.parse(lines[lines.length - 1]);
  assert.equal(done.code, result.error ? 3 : 0, `${JSON.stringify(result)}\n${done.stderr}`);
  return result;
}

function assertIdentity(result, role) {
  assert.equal(result.error, undefined, JSON.stringify(result));
  assert.ok(result.arn.startsWith(assumedRole(role)), JSON.stringify(result));
}

describe("pods of the example organization", () => {
  let twin;
  let dir;
  let configs;
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "orgtwin-js-pods-"));
    configs = writePodFiles(dir);
    twin = await startTwin();
  });
  after(async () => {
    await twin?.stop();
    if (dir) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the guide's chain with its curl-and-jq script reaches account-b-role", async () => {
    const result = await appResult(twin, PAYROLL, [REPORT], {
      env: guideEnv(configs["guide-script"]),
    });
    assertIdentity(result, "account-b-role");
    assert.ok(result[REPORT].startsWith("department,"), result[REPORT]);
  });

  test("the guide's chain with eks-credential-process reaches account-b-role", async () => {
    const result = await appResult(twin, PAYROLL, [REPORT], { env: guideEnv(configs.helper) });
    assertIdentity(result, "account-b-role");
    assert.ok(result[REPORT].startsWith("department,"), result[REPORT]);
  });

  test("credential_source = EcsContainer chains from the Pod Identity agent", async () => {
    const result = await appResult(twin, PAYROLL, [REPORT], { env: guideEnv(configs.ecs) });
    assertIdentity(result, "account-b-role");
    assert.ok(result[REPORT].startsWith("department,"), result[REPORT]);
  });

  test("without a profile the pod is account-a-role, from the agent", async () => {
    const result = await appResult(twin, PAYROLL);
    assert.equal(result.error, undefined, JSON.stringify(result));
    assert.match(
      result.arn,
      /^arn:aws:sts::111122223333:assumed-role\/account-a-role\/eks-ProductionCluster-/,
    );
  });

  test("the native target role is the pod's default identity", async () => {
    const result = await appResult(twin, REPORTS, [REPORT, ROSTER]);
    assertIdentity(result, "payroll-reports-role");
    const session = `${assumedRole("payroll-reports-role")}eks-ProductionCluster-`;
    assert.ok(result.arn.startsWith(session), result.arn);
    assert.ok(result[REPORT].startsWith("department,"), result[REPORT]);
    assert.equal(result[ROSTER], "error:AccessDenied");
  });

  test("cross-account IRSA: the web identity token reaches STS of the twin", async () => {
    const result = await appResult(twin, IRSA, [REPORT]);
    assertIdentity(result, "payroll-irsa-role");
    assert.ok(result[REPORT].startsWith("department,"), result[REPORT]);
  });

  for (const pod of [OTHER_NAMESPACE, STAGING]) {
    test(`the trap ${pod} is refused at the chained hop`, async () => {
      const result = await appResult(twin, pod, [], { env: guideEnv(configs.helper) });
      assert.ok(result.error, JSON.stringify(result));
      assert.equal(result.error.name, "AccessDenied", result.error.message);
      assert.equal(result.error.status, 403);
      assert.ok(
        result.error.message.includes(`sts:AssumeRole on resource: ${ACCOUNT_B_ROLE}`),
        result.error.message,
      );
      const encoded = /Encoded authorization failure message: (\S+)/.exec(result.error.message);
      assert.ok(encoded, result.error.message);
      const decoded = await twin
        .client({ account: PAYROLL_PROD })
        .send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded[1] }));
      assert.ok(
        decoded.DecodedMessage.includes("account-b-role trust policy"),
        decoded.DecodedMessage,
      );
    });
  }
});

describe("IRSA without the OIDC provider in the workload account", () => {
  let twin;
  before(async () => {
    twin = await startTwin();
  });
  after(async () => {
    await twin?.stop();
  });

  // STS answers the code InvalidIdentityToken; the SDK names the error after
  // the modelled exception whose query error code that is.
  test("the web identity call fails with InvalidIdentityToken", async () => {
    const env = twin.env({ account: PAYROLL_PROD });
    const iam = new IAMClient({
      region: REGION,
      endpoint: twin.endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      },
    });
    await iam.send(
      new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: OIDC_PROVIDER }),
    );
    const result = await appResult(twin, IRSA);
    assert.ok(result.error, JSON.stringify(result));
    assert.equal(result.error.name, "InvalidIdentityTokenException", result.error.message);
    assert.match(result.error.message, /^No OpenIDConnect provider found in your account for /);
    // STS's model gives InvalidIdentityToken the status 400.
    assert.equal(result.error.status, 400);
  });
});
