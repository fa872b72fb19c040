// An application as it would run in a pod: the AWS SDK for JavaScript v3 with
// its default configuration (region, endpoint and credentials from the
// environment and the shared config files; no explicit credentials). It asks
// STS who it is, then reads each `s3://BUCKET/KEY` given as an argument, and
// prints one JSON line:
//
//   {"arn": ..., "s3://b/k": "<object text>" | "error:<error name>"}
//   {"error": {"name": ..., "status": ..., "message": ...}}   (exit 3: no identity)
//
// `orgtwin run --pod ... -- node apps/whoami.mjs ...` starts it. It lives
// under tests/clients/js so that node finds the SDK in node_modules.

import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const out = {};
try {
  const identity = await new STSClient({ maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
  out.arn = identity.Arn;
} catch (error) {
  const status = error.$metadata?.httpStatusCode;
  out.error = { name: error.name, status, message: error.message };
  console.log(JSON.stringify(out));
  process.exit(3);
}

// Path-style addressing: the twin answers virtual-hosted requests only on
// *.localhost names. With the pod's http://127.0.0.1:PORT the SDK would pick
// path style by itself (an IP endpoint); forcePathStyle says so outright.
const s3 = new S3Client({ forcePathStyle: true, maxAttempts: 1 });
for (const object of process.argv.slice(2)) {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(object);
  if (!match) {
    throw new Error(`not an s3://BUCKET/KEY address: ${object}`);
  }
  try {
    const response = await s3.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    out[object] = await response.Body.transformToString();
  } catch (error) {
    out[object] = `error:${error.name}`;
  }
}
console.log(JSON.stringify(out));
