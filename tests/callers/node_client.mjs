// One unary call with @grpc/grpc-js, for the callers suite (callers_test.py runs it):
//   node node_client.mjs '{"target": "127.0.0.1:1234", "method": "/pkg.Service/Method",
//     "request_hex": "0a..", "ca": "ca.pem", "cert": "billing.pem", "key": "billing.key",
//     "api_key": "...", "server_name": "localhost"}'
// TLS when "ca" is given (mTLS with "cert" and "key"), plaintext otherwise; "api_key" is sent as
// `authorization: Bearer <key>`. Prints {"code": "<grpc status name>", "details": "..."}.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const grpc = require('@grpc/grpc-js');

const a = JSON.parse(process.argv[2]);
const codeName = (code) =>
  Object.keys(grpc.status).find((k) => grpc.status[k] === code) ?? String(code);

let creds;
if (a.ca) {
  creds = grpc.credentials.createSsl(
    readFileSync(a.ca),
    a.key ? readFileSync(a.key) : null,
    a.cert ? readFileSync(a.cert) : null,
  );
} else {
  creds = grpc.credentials.createInsecure();
}
const options = a.server_name ? { 'grpc.ssl_target_name_override': a.server_name } : {};
const client = new grpc.Client(a.target, creds, options);
const metadata = new grpc.Metadata();
if (a.api_key) metadata.set('authorization', `Bearer ${a.api_key}`);
const deadline = new Date(Date.now() + 10000);
client.makeUnaryRequest(
  a.method,
  (b) => b,
  (b) => b,
  Buffer.from(a.request_hex, 'hex'),
  metadata,
  { deadline },
  (err) => {
    const out = err ? { code: codeName(err.code), details: err.details ?? '' } : { code: 'OK', details: '' };
    process.stdout.write(JSON.stringify(out) + '\n');
    client.close();
  },
);
