// Create a ledger v2 transaction and read the balance back through formance-grpc-gateway, from
// Node with @grpc/grpc-js + @grpc/proto-loader (no code generation: the .proto files are loaded
// at run time).
//
//   npm install @grpc/grpc-js @grpc/proto-loader
//   node create_transaction.mjs [gateway address, default 127.0.0.1:50051] [ledger, default main]
//
// Amounts are strings of digits (any size): the gateway sends them to Formance as bare JSON
// numbers, digit for digit.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const [addr = '127.0.0.1:50051', ledger = 'main'] = process.argv.slice(2);

const definition = protoLoader.loadSync('formance/ledger/v2/service.proto', {
  includeDirs: [
    path.join(ROOT, 'proto'),
    // google/api/annotations.proto (Debian: golang-github-grpc-ecosystem-grpc-gateway-dev).
    '/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis',
    '/usr/include',  // google/protobuf/*.proto
  ],
  keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
});
const { LedgerService } = grpc.loadPackageDefinition(definition).formance.ledger.v2;
const client = new LedgerService(addr, grpc.credentials.createInsecure());

function call(method, request) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + 10_000);
    client[method](request, { deadline }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

const created = await call('CreateTransaction', {
  ledger,
  v2PostTransaction: {
    postings: [{ source: 'world', destination: 'users:001', amount: '340282366920938463463374607431768211457', asset: 'USD/2' }],
    metadata: { origin: 'node-example' },
  },
});
console.log('transaction', created.data.id);
const account = await call('GetAccount', { ledger, address: 'users:001', expand: ['volumes'] });
for (const [asset, v] of Object.entries(account.data.volumes ?? {})) console.log('users:001', asset, 'balance', v.balance);
client.close();
