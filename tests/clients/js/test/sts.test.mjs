// STS through the AWS SDK for JavaScript v3 against a running twin: the
// embedded example organization (examples/org) and the guardrail fixture
// (tests/clients/fixtures/org). Run with `node --test` in tests/clients/js.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";

import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { fromTemporaryCredentials } from "@aws-sdk/credential-providers";

import { FIXTURE_ORG, REGION, startTwin } from "../twin.mjs";

const MANAGEMENT = "999988887777";
const CLUSTER_PROD = "111122223333";
const PAYROLL_PROD = "444455556666";
const PLATFORM_ADMIN_PAYROLL = `arn:aws:iam::${PAYROLL_PROD}:role/platform-admin`;
const ACCOUNT_B_ROLE = `arn:aws:iam::${PAYROLL_PROD}:role/account-b-role`;
const DEPLOY_ROLE = `arn:aws:iam::${PAYROLL_PROD}:role/deploy-role`;
const DEPLOY_EXTERNAL_ID = "payroll-deploy-EXAMPLE";

const APPS_DEV = "100000000001";
const APPS_PROD = "100000000002";
const TAGGING_ROLE = `arn:aws:iam::${APPS_DEV}:role/tagging-role`;
const PAYMENTS_ROLE = `arn:aws:iam::${APPS_PROD}:role/payments-role`;

const TRANSITIVE_CONFLICT =
  "One of the specified transitive tag keys can't be set because it conflicts " +
  "with a transitive tag key from the calling session.";
const CHAINING_LIMIT =
  "The requested DurationSeconds exceeds the 1 hour session limit for roles " +
  "assumed by role chaining.";

const sessionName = () => `js-${randomUUID().slice(0, 12)}`;

function assume(sts, RoleArn, params = {}) {
  return sts.send(new AssumeRoleCommand({ RoleArn, RoleSessionName: sessionName(), ...params }));
}

function whoAmI(sts) {
  return sts.send(new GetCallerIdentityCommand({}));
}

/** Asserts that `promise` fails with the STS error `code`; returns the error. */
async function refused(promise, code, status) {
  const error = await promise.then(
    (value) => assert.fail(`expected ${code}, got ${JSON.stringify(value)}`),
    (e) => e,
  );
  assert.equal(error.name, code, error.message);
  if (status !== undefined) {
    assert.equal(error.$metadata.httpStatusCode, status);
  }
  return error;
}

function deniedMessage(caller, action, resource) {
  return `User: ${caller} is not authorized to perform: ${action} on resource: ${resource}`;
}

describe("the example organization", () => {
  let twin;
  before(async () => {
    twin = await startTwin();
  });
  after(async () => {
    await twin?.stop();
  });

  test("GetCallerIdentity of an administrator and of a modelled user", async () => {
    const admin = await whoAmI(twin.client({ account: PAYROLL_PROD }));
    assert.equal(admin.Account, PAYROLL_PROD);
    assert.equal(admin.Arn, `arn:aws:iam::${PAYROLL_PROD}:user/orgtwin-admin`);
    assert.match(admin.UserId, /^AIDA[A-Z2-7]{16,}$/);

    const user = await whoAmI(twin.client({ user: "ci-deployer" }));
    assert.equal(user.Arn, `arn:aws:iam::${CLUSTER_PROD}:user/ci-deployer`);
    assert.equal(user.Account, CLUSTER_PROD);
  });

  test("cross-account AssumeRole allowed by the trust policy", async () => {
    const name = sessionName();
    const response = await twin
      .client()
      .send(new AssumeRoleCommand({ RoleArn: PLATFORM_ADMIN_PAYROLL, RoleSessionName: name }));
    const arn = `arn:aws:sts::${PAYROLL_PROD}:assumed-role/platform-admin/${name}`;
    assert.equal(response.AssumedRoleUser.Arn, arn);
    assert.match(response.AssumedRoleUser.AssumedRoleId, new RegExp(`^AROA[A-Z2-7]{16,}:${name}$`));
    assert.match(response.Credentials.AccessKeyId, /^ASIA/);
    assert.ok(response.Credentials.Expiration instanceof Date);

    const identity = await whoAmI(twin.sessionClient(response.Credentials));
    assert.equal(identity.Arn, arn);
    assert.equal(identity.Account, PAYROLL_PROD);
  });

  test("cross-account AssumeRole denied by the trust policy", async () => {
    const error = await refused(
      assume(twin.client({ account: CLUSTER_PROD }), ACCOUNT_B_ROLE),
      "AccessDenied",
      403,
    );
    const expected = deniedMessage(
      `arn:aws:iam::${CLUSTER_PROD}:user/orgtwin-admin`,
      "sts:AssumeRole",
      ACCOUNT_B_ROLE,
    );
    assert.ok(error.message.startsWith(expected), error.message);
    assert.match(error.message, / Encoded authorization failure message: \S+$/);
  });

  test("ExternalId: the agreed one is allowed, another is denied", async () => {
    const sts = twin.client({ user: "ci-deployer" });
    const ok = await assume(sts, DEPLOY_ROLE, { ExternalId: DEPLOY_EXTERNAL_ID });
    assert.ok(
      ok.AssumedRoleUser.Arn.startsWith(`arn:aws:sts::${PAYROLL_PROD}:assumed-role/deploy-role/`),
    );
    const error = await refused(
      assume(sts, DEPLOY_ROLE, { ExternalId: "payroll-deploy-WRONG" }),
      "AccessDenied",
      403,
    );
    assert.ok(
      error.message.startsWith(
        deniedMessage(
          `arn:aws:iam::${CLUSTER_PROD}:user/ci-deployer`,
          "sts:AssumeRole",
          DEPLOY_ROLE,
        ),
      ),
      error.message,
    );
  });

  test("fromTemporaryCredentials assumes the role through the twin", async () => {
    const env = twin.env({ user: "ci-deployer" });
    const name = sessionName();
    const sts = new STSClient({
      region: REGION,
      endpoint: twin.endpoint,
      maxAttempts: 1,
      credentials: fromTemporaryCredentials({
        params: { RoleArn: DEPLOY_ROLE, RoleSessionName: name, ExternalId: DEPLOY_EXTERNAL_ID },
        masterCredentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        },
        clientConfig: { region: REGION, endpoint: twin.endpoint, maxAttempts: 1 },
      }),
    });
    const identity = await whoAmI(sts);
    assert.equal(identity.Arn, `arn:aws:sts::${PAYROLL_PROD}:assumed-role/deploy-role/${name}`);
  });

  test("the SDK sends STS calls to AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_STS", async () => {
    const env = twin.env();
    const credentials = {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    };
    for (const variable of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"]) {
      process.env[variable] = twin.endpoint;
      try {
        const sts = new STSClient({ region: REGION, credentials, maxAttempts: 1 });
        assert.equal((await whoAmI(sts)).Account, MANAGEMENT, variable);
      } finally {
        delete process.env[variable];
      }
    }
  });
});

describe("the guardrail fixture organization", () => {
  let twin;
  before(async () => {
    twin = await startTwin({ model: FIXTURE_ORG });
  });
  after(async () => {
    await twin?.stop();
  });

  test("transitive session tags pass an ABAC trust down the chain", async () => {
    const first = await assume(twin.client({ user: "free-user" }), TAGGING_ROLE, {
      Tags: [{ Key: "team", Value: "payments" }],
      TransitiveTagKeys: ["team"],
    });
    const hop1 = twin.sessionClient(first.Credentials);
    const second = await assume(hop1, PAYMENTS_ROLE);
    const payments = `arn:aws:sts::${APPS_PROD}:assumed-role/payments-role/`;
    assert.ok(second.AssumedRoleUser.Arn.startsWith(payments), second.AssumedRoleUser.Arn);
    // The inherited tag still satisfies the trust one hop further.
    const hop2 = twin.sessionClient(second.Credentials);
    const third = await assume(hop2, PAYMENTS_ROLE);
    assert.equal((await whoAmI(twin.sessionClient(third.Credentials))).Account, APPS_PROD);

    const conflict = await refused(
      assume(hop1, PAYMENTS_ROLE, { Tags: [{ Key: "team", Value: "other" }] }),
      "InvalidParameterValue",
      400,
    );
    assert.equal(conflict.message, TRANSITIVE_CONFLICT);

    const tooLong = await refused(
      assume(hop1, PAYMENTS_ROLE, { DurationSeconds: 7200 }),
      "ValidationError",
      400,
    );
    assert.equal(tooLong.message, CHAINING_LIMIT);
  });

  test("a tag that is not transitive stops after one hop", async () => {
    const first = await assume(twin.client({ user: "free-user" }), TAGGING_ROLE, {
      Tags: [{ Key: "team", Value: "payments" }],
    });
    const second = await assume(twin.sessionClient(first.Credentials), PAYMENTS_ROLE);
    const error = await refused(
      assume(twin.sessionClient(second.Credentials), PAYMENTS_ROLE),
      "AccessDenied",
      403,
    );
    assert.ok(
      error.message.startsWith(
        deniedMessage(second.AssumedRoleUser.Arn, "sts:AssumeRole", PAYMENTS_ROLE),
      ),
      error.message,
    );
  });
});

describe("the test clock", () => {
  let twin;
  before(async () => {
    twin = await startTwin();
  });
  after(async () => {
    await twin?.stop();
  });

  test("a session past its expiration is an ExpiredToken", async () => {
    const response = await assume(twin.client(), PLATFORM_ADMIN_PAYROLL, { DurationSeconds: 900 });
    const session = twin.sessionClient(response.Credentials);
    assert.equal((await whoAmI(session)).Account, PAYROLL_PROD);
    await twin.advanceClock(901);
    await refused(whoAmI(session), "ExpiredToken", 403);
  });
});

describe("restarts", () => {
  let twin;
  before(async () => {
    twin = await startTwin();
  });
  after(async () => {
    await twin?.stop();
  });

  test("session credentials work after the twin restarts", async () => {
    const response = await assume(twin.client(), PLATFORM_ADMIN_PAYROLL);
    const port = twin.port;
    await twin.restart();
    assert.equal(twin.port, port);
    const identity = await whoAmI(twin.sessionClient(response.Credentials));
    assert.equal(identity.Arn, response.AssumedRoleUser.Arn);
  });
});
