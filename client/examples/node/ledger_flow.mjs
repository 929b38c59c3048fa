// The gateway from Node with @grpc/grpc-js + @grpc/proto-loader (the .proto files are loaded at
// run time; `bash client/stubs/generate.sh node DIR` writes TypeScript types for them):
//
//   NODE_PATH=tests/node_modules node client/examples/node/ledger_flow.mjs 127.0.0.1:50051 demo
//
// Creates the ledger (an existing one is fine), posts 2^128+1 USD/2 from world to
// users:node:001 with an Idempotency-Key and replays it, reads the balance back digit for digit,
// then provokes INSUFFICIENT_FUND and reads its google.rpc.ErrorInfo (decoded with protobufjs
// from third_party/googleapis/google/rpc). Exit status 0 when every check holds.
// Amounts are strings of digits (any size).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const INCLUDES = [path.join(ROOT, 'proto'), path.join(ROOT, 'third_party/googleapis'), '/usr/include'];
const BIG = '340282366920938463463374607431768211457'; // 2^128 + 1
const [addr = '127.0.0.1:50051', ledger = 'main'] = process.argv.slice(2);

const definition = protoLoader.loadSync('formance/ledger/v2/service.proto', {
  includeDirs: INCLUDES, keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
});
const { LedgerService } = grpc.loadPackageDefinition(definition).formance.ledger.v2;
const client = new LedgerService(addr, grpc.credentials.createInsecure());

// google.rpc.Status / ErrorInfo, for grpc-status-details-bin.
const rpc = new protobuf.Root();
rpc.resolvePath = (_origin, target) =>
  INCLUDES.map((d) => path.join(d, target)).find((p) => existsSync(p)) || target;
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const RpcStatus = rpc.lookupType('google.rpc.Status');
const ErrorInfo = rpc.lookupType('google.rpc.ErrorInfo');
const CODE_NAMES = Object.fromEntries(Object.entries(grpc.status).map(([k, v]) => [v, k]));

function errorInfo(err) {
  const [bin] = err.metadata?.get('grpc-status-details-bin') || [];
  if (!bin) return null;
  // protobufjs keeps Any's field names as declared (type_url).
  const any = RpcStatus.decode(bin).details.find((d) => d.type_url === 'type.googleapis.com/google.rpc.ErrorInfo');
  return any ? ErrorInfo.decode(any.value) : null;
}

function call(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + 10000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

let ok = true;
function check(what, got, want) {
  const pass = got === want;
  ok &&= pass;
  console.log(pass ? `ok   ${what}: ${got}` : `FAIL ${what}: ${got}, want ${want}`);
}

try {
  try {
    await call('CreateLedger', { ledger, v2CreateLedgerRequest: {} });
    console.log('ok   created ledger', ledger);
  } catch (err) {
    if (errorInfo(err)?.reason !== 'LEDGER_ALREADY_EXISTS') throw err;
    console.log(`ok   ledger ${ledger} exists already`);
  }
  const request = {
    ledger,
    idempotencyKey: `node-${ledger}-1`,
    v2PostTransaction: { postings: [{ source: 'world', destination: 'users:node:001', amount: BIG, asset: 'USD/2' }] },
  };
  const first = await call('CreateTransaction', request);
  check('posted amount', first.data.postings[0].amount, BIG);
  const replay = await call('CreateTransaction', request);
  check('replay Idempotency-Hit', replay.idempotencyHit, 'true');
  check('replay transaction id', replay.data.id, first.data.id);

  const account = await call('GetAccount', { ledger, address: 'users:node:001', expand: ['volumes'] });
  check('balance users:node:001 USD/2', account.data.volumes['USD/2'].balance, BIG);

  try {
    await call('CreateTransaction', {
      ledger,
      v2PostTransaction: { postings: [{ source: 'users:node:empty', destination: 'users:node:001', amount: '1', asset: 'USD/2' }] },
    });
    check('overdraft fails', 'succeeded', 'an error');
  } catch (err) {
    const info = errorInfo(err);
    check('overdraft code', CODE_NAMES[err.code], 'INVALID_ARGUMENT');
    check('ErrorInfo.reason', info?.reason, 'INSUFFICIENT_FUND');
    check('ErrorInfo.domain', info?.domain, 'ledger');
  }
} catch (err) {
  console.log('FAIL', CODE_NAMES[err.code] || '', err.details || err.message);
  ok = false;
} finally {
  client.close();
}
console.log(`node: ${ok ? 'PASS' : 'FAIL'}`);
process.exit(ok ? 0 : 1);
