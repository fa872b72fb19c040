// Runs a real `orgtwin up` for tests written with the AWS SDK for
// JavaScript v3, unmodified.
//
// `startTwin({ model })` starts a twin on a fresh temporary state directory,
// on 127.0.0.1 with a port the kernel picks (port 0; a restart reuses it), with
// `--test-clock`, and resolves once `/_orgtwin/health` answers 200. `stop()`
// ends the twin's whole process group; a process `exit` hook stops any twin a
// test left running, so no server outlives the test process.
//
// Environment: ORGTWIN_BIN (default: the repository's target/debug/orgtwin).

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { STSClient } from "@aws-sdk/client-sts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "..", "..", "..");
export const ORGTWIN_BIN =
  process.env.ORGTWIN_BIN ?? path.join(REPO, "target", "debug", "orgtwin");
export const FIXTURE_ORG = path.join(REPO, "tests", "clients", "fixtures", "org", "org.yaml");
export const REGION = "us-east-1";
export const MANAGEMENT_ACCOUNT = "999988887777";

const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

const running = new Set();
function killAll() {
  for (const twin of running) {
    twin.killGroup("SIGKILL");
    rmSync(twin.dir, { recursive: true, force: true });
  }
}
process.on("exit", killAll);
// A signal ends the process without "exit": stop the twins, then go as asked.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.kill(process.pid, signal);
  });
}

/** Starts a twin of `model` (the embedded example organization when absent). */
export async function startTwin({ model } = {}) {
  if (!existsSync(ORGTWIN_BIN)) {
    throw new Error(
      `no orgtwin binary at ${ORGTWIN_BIN}; run \`cargo build -p orgtwin\` or set ORGTWIN_BIN`,
    );
  }
  const twin = new Twin(model);
  await twin.start();
  return twin;
}

class Twin {
  constructor(model) {
    this.model = model;
    this.dir = mkdtempSync(path.join(tmpdir(), "orgtwin-js-"));
    this.state = path.join(this.dir, "state");
    this.log = path.join(this.dir, "orgtwin.log");
    this.port = 0;
    this.endpoint = "";
    this.child = null;
  }

  async start() {
    const listen = `127.0.0.1:${this.port}`;
    const args = ["up", "--state", this.state, "--listen", listen, "--test-clock"];
    if (this.model) {
      args.push("--model", this.model);
    }
    const log = openSync(this.log, "a");
    try {
      this.child = spawn(ORGTWIN_BIN, args, {
        stdio: ["ignore", "pipe", log],
        detached: true,
      });
    } finally {
      closeSync(log);
    }
    running.add(this);
    try {
      await this.awaitReady();
    } catch (error) {
      await this.stop({ keepState: true });
      throw error;
    }
  }

  async awaitReady() {
    const child = this.child;
    const deadline = Date.now() + START_TIMEOUT_MS;
    const prefix = "orgtwin serving on ";
    const lines = createInterface({ input: child.stdout });
    this.endpoint = await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`orgtwin did not report ready in time\n${this.logTail()}`)),
        START_TIMEOUT_MS,
      );
      lines.on("line", (line) => {
        if (line.startsWith(prefix)) {
          clearTimeout(timer);
          resolve(line.slice(prefix.length).split(" ")[0]);
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`orgtwin exited with ${code} before serving\n${this.logTail()}`));
      });
    });
    // Keep draining stdout so the pipe never fills.
    child.stdout.resume();
    if (!this.endpoint.startsWith("http://127.0.0.1:")) {
      throw new Error(`orgtwin serves on ${this.endpoint}, not on 127.0.0.1`);
    }
    this.port = Number(new URL(this.endpoint).port);
    for (;;) {
      try {
        const response = await fetch(`${this.endpoint}/_orgtwin/health`);
        if (response.status === 200) {
          return;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(`/_orgtwin/health never answered 200\n${this.logTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  killGroup(signal) {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      return false;
    }
    try {
      process.kill(-this.child.pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Stops the process group: SIGINT (clean shutdown), then SIGKILL. */
  async stop({ keepState = false } = {}) {
    const child = this.child;
    if (child) {
      const exited = new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
        } else {
          child.once("exit", resolve);
        }
      });
      if (this.killGroup("SIGINT")) {
        let timer;
        const late = new Promise((resolve) => {
          timer = setTimeout(resolve, STOP_TIMEOUT_MS, "late");
        });
        if ((await Promise.race([exited, late])) === "late") {
          this.killGroup("SIGKILL");
        }
        clearTimeout(timer);
      }
      await exited;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // the group is gone
      }
    }
    this.child = null;
    running.delete(this);
    if (!keepState) {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Stops the twin and starts it again on the same state and port. */
  async restart() {
    await this.stop({ keepState: true });
    await this.start();
  }

  logTail(lines = 40) {
    try {
      return readFileSync(this.log, "utf8").split("\n").slice(-lines).join("\n");
    } catch {
      return "(no log)";
    }
  }

  /** What `orgtwin env` exports: an account's administrator, or a user. */
  env({ account, user } = {}) {
    const args = ["env", "--state", this.state];
    if (!account && !user) {
      account = MANAGEMENT_ACCOUNT;
    }
    if (account) {
      args.push("--account", account);
    }
    if (user) {
      args.push("--user", user);
    }
    const out = execFileSync(ORGTWIN_BIN, args, { encoding: "utf8" });
    const exported = {};
    for (const line of out.split("\n")) {
      const match = /^export ([A-Z_]+)=(.*)$/.exec(line);
      if (match) {
        exported[match[1]] = match[2];
      }
    }
    return exported;
  }

  /** An STS client with the long-term keys of `env({ account, user })`. */
  client({ account, user } = {}) {
    const env = this.env({ account, user });
    return this.sessionClient({
      AccessKeyId: env.AWS_ACCESS_KEY_ID,
      SecretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    });
  }

  /** An STS client with credentials shaped as STS returns them. */
  sessionClient(creds) {
    return new STSClient({
      region: REGION,
      endpoint: this.endpoint,
      maxAttempts: 1,
      credentials: {
        accessKeyId: creds.AccessKeyId,
        secretAccessKey: creds.SecretAccessKey,
        sessionToken: creds.SessionToken,
      },
    });
  }

  /** Moves the twin's clock (`--test-clock`); returns its new time. */
  async advanceClock(seconds) {
    const response = await fetch(`${this.endpoint}/_orgtwin/clock?advance=${seconds}`, {
      method: "POST",
    });
    if (response.status !== 200) {
      throw new Error(`moving the clock failed: ${response.status} ${await response.text()}`);
    }
    return (await response.json()).now;
  }
}
