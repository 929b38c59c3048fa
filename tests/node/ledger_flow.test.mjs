// A real Node gRPC client (@grpc/grpc-js + @grpc/proto-loader, from tests/package.json) driving a
// ledger v2 flow through formance-grpc-gateway against tests/fakes/fake_ledger.py.
//
// Run: (cd tests && npm install) && FGW_BIN=/path/to/formance-grpc-gateway node --test tests/node/
// FGW_BIN defaults to <repo>/build/server/formance-grpc-gateway; without it the test is skipped.
// Everything binds 127.0.0.1 on free ports; both processes are killed when the test ends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..', '..');
const require = createRequire(import.meta.url);
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const GOOGLEAPIS = '/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis';
const REFLECTION_PROTO =
  '/usr/share/gocode/src/google.golang.org/grpc/reflection/grpc_reflection_v1alpha/reflection.proto';
const FGW_BIN = process.env.FGW_BIN || path.join(ROOT, 'build/server/formance-grpc-gateway');
const BIG = '340282366920938463463374607431768211457'; // 2^128 + 1
const LEDGER = 'nodeflow';

const skip = existsSync(FGW_BIN) ? false : `gateway binary not found at ${FGW_BIN} (set FGW_BIN)`;

const procs = [];
let fakePort;
let client;
let reflection;
let tmp;

function startProcess(cmd, args, readyLine) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(p);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`${cmd} not ready: ${out} ${err}`)), 10000);
    p.stderr.on('data', (d) => { err += d; });
    p.stdout.on('data', (d) => {
      out += d;
      const m = readyLine && out.match(readyLine);
      if (m) { clearTimeout(timer); resolve({ proc: p, match: m }); }
    });
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${cmd} exited ${code}: ${out} ${err}`)); });
    if (!readyLine) { clearTimeout(timer); resolve({ proc: p, stderr: () => err }); }
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on('error', reject);
  });
}

async function fake(pathAndQuery, init) {
  const r = await fetch(`http://127.0.0.1:${fakePort}${pathAndQuery}`, init);
  const text = await r.text();
  return { status: r.status, text, json: text ? JSON.parse(text) : null };
}

async function requestsSince(mark) {
  return (await fake(`/_fake/requests?since=${mark}&path_prefix=/api/`)).json.requests;
}

async function mark() {
  return (await fake('/_fake/requests?path_prefix=/none')).json.next;
}

function header(req, name) {
  const h = req.headers.find(([k]) => k.toLowerCase() === name.toLowerCase());
  return h ? h[1] : undefined;
}

function unary(method, request, metadata = new grpc.Metadata()) {
  // grpc-js calls the callback first, then emits 'status' with the trailing metadata.
  return new Promise((resolve) => {
    let result;
    const call = client[method](request, metadata, { deadline: Date.now() + 10000 }, (err, resp) => {
      result = { err, resp };
    });
    call.on('status', (s) => resolve({ ...result, trailers: s.metadata }));
  });
}

// ---- minimal protobuf wire decoding (google.rpc.Status / Any / ErrorInfo) ----
function readVarint(buf, pos) {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    const b = buf[pos++];
    result |= BigInt(b & 0x7f) << shift;
    if (!(b & 0x80)) return [result, pos];
    shift += 7n;
  }
}

// Returns [{field, wire, value}] where value is a BigInt (varint) or a Buffer (length-delimited).
function decodeFields(buf) {
  const out = [];
  let pos = 0;
  while (pos < buf.length) {
    let key;
    [key, pos] = readVarint(buf, pos);
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(buf, pos);
      out.push({ field, wire, value: v });
    } else if (wire === 2) {
      let len;
      [len, pos] = readVarint(buf, pos);
      out.push({ field, wire, value: buf.subarray(pos, pos + Number(len)) });
      pos += Number(len);
    } else if (wire === 1) {
      out.push({ field, wire, value: buf.subarray(pos, pos + 8) }); pos += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: buf.subarray(pos, pos + 4) }); pos += 4;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function decodeStatusDetails(bin) {
  const status = { code: 0, message: '', details: [] };
  for (const f of decodeFields(bin)) {
    if (f.field === 1) status.code = Number(f.value);
    if (f.field === 2) status.message = f.value.toString('utf8');
    if (f.field === 3) {
      const any = { typeUrl: '', value: Buffer.alloc(0) };
      for (const g of decodeFields(f.value)) {
        if (g.field === 1) any.typeUrl = g.value.toString('utf8');
        if (g.field === 2) any.value = g.value;
      }
      status.details.push(any);
    }
  }
  return status;
}

function decodeErrorInfo(buf) {
  const info = { reason: '', domain: '', metadata: {} };
  for (const f of decodeFields(buf)) {
    if (f.field === 1) info.reason = f.value.toString('utf8');
    if (f.field === 2) info.domain = f.value.toString('utf8');
    if (f.field === 3) {
      let k = '';
      let v = '';
      for (const g of decodeFields(f.value)) {
        if (g.field === 1) k = g.value.toString('utf8');
        if (g.field === 2) v = g.value.toString('utf8');
      }
      info.metadata[k] = v;
    }
  }
  return info;
}

function errorInfoOf(err) {
  const bins = err.metadata.get('grpc-status-details-bin');
  assert.equal(bins.length, 1, 'grpc-status-details-bin present');
  const status = decodeStatusDetails(bins[0]);
  assert.equal(status.code, err.code, 'Status.code equals the gRPC code');
  const any = status.details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo');
  assert.ok(any, `ErrorInfo among ${status.details.map((d) => d.typeUrl)}`);
  return { status, info: decodeErrorInfo(any.value) };
}

before(async () => {
  if (skip) return;
  tmp = mkdtempSync(path.join(tmpdir(), 'fgw-node-'));
  const f = await startProcess('/usr/bin/python3', [path.join(ROOT, 'tests/fakes/fake_ledger.py')],
    /listening on (\d+)/);
  fakePort = Number(f.match[1]);
  const gwPort = await freePort();
  await startProcess(FGW_BIN, ['--listen', `127.0.0.1:${gwPort}`, '--upstream', `http://127.0.0.1:${fakePort}`,
    '--log_level', 'warn']);

  // oneofs: false keeps proto3 `optional` fields free of the synthetic `_field` keys.
  const opts = { keepCase: false, longs: String, enums: String, defaults: false, oneofs: false,
    includeDirs: [path.join(ROOT, 'proto'), GOOGLEAPIS, '/usr/include'] };
  const def = protoLoader.loadSync('formance/ledger/v2/service.proto', opts);
  const pkg = grpc.loadPackageDefinition(def);
  client = new pkg.formance.ledger.v2.LedgerService(`127.0.0.1:${gwPort}`, grpc.credentials.createInsecure());
  const rdef = protoLoader.loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, defaults: false, oneofs: true });
  const rpkg = grpc.loadPackageDefinition(rdef);
  reflection = new rpkg.grpc.reflection.v1alpha.ServerReflection(`127.0.0.1:${gwPort}`,
    grpc.credentials.createInsecure());
  await new Promise((resolve, reject) => client.waitForReady(Date.now() + 10000, (e) => (e ? reject(e) : resolve())));
});

after(() => {
  client?.close();
  reflection?.close();
  for (const p of procs) p.kill('SIGKILL');
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('ledger v2 flow through the gateway', { skip }, async (t) => {
  await t.test('CreateLedger sends POST /api/ledger/v2/{ledger} and maps 204 to OK', async () => {
    const m = await mark();
    const { err, resp } = await unary('createLedger', { ledger: LEDGER, v2CreateLedgerRequest: {} });
    assert.equal(err, null, err?.details);
    assert.deepEqual(resp, {});
    const reqs = await requestsSince(m);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].method, 'POST');
    assert.equal(reqs[0].path, `/api/ledger/v2/${LEDGER}`);
    assert.equal(reqs[0].query, '');
    assert.deepEqual(JSON.parse(reqs[0].body || '{}'), {});
    assert.equal(reqs[0].status, 204);
  });

  await t.test('CreateLedger again: LEDGER_ALREADY_EXISTS as INVALID_ARGUMENT with ErrorInfo', async () => {
    const { err } = await unary('createLedger', { ledger: LEDGER, v2CreateLedgerRequest: {} });
    assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
    const { info } = errorInfoOf(err);
    assert.equal(info.reason, 'LEDGER_ALREADY_EXISTS');
    assert.equal(info.domain, 'ledger');
  });

  let txId;
  await t.test('CreateTransaction of 2^128+1 reaches Formance as a bare JSON number', async () => {
    const m = await mark();
    const { err, resp, trailers } = await unary('createTransaction', {
      ledger: LEDGER,
      v2PostTransaction: {
        postings: [{ source: 'world', destination: 'users:001', amount: BIG, asset: 'COIN' }],
        metadata: { origin: 'node' },
        reference: 'node-ref-1',
      },
    });
    assert.equal(err, null, err?.details);
    const tx = resp.data;
    assert.equal(tx.postings.length, 1);
    assert.equal(tx.postings[0].amount, BIG);
    assert.equal(tx.reference, 'node-ref-1');
    assert.deepEqual(tx.metadata, { origin: 'node' });
    assert.deepEqual(tx.postCommitVolumes['users:001'].entries.COIN, { input: BIG, output: '0', balance: BIG });
    assert.deepEqual(tx.postCommitVolumes.world.entries.COIN, { input: '0', output: BIG, balance: `-${BIG}` });
    txId = tx.id;
    assert.equal(typeof txId, 'string');

    const reqs = await requestsSince(m);
    assert.equal(reqs.length, 1);
    const r = reqs[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.path, `/api/ledger/v2/${LEDGER}/transactions`);
    assert.equal(r.query, '');
    assert.match(header(r, 'Content-Type') ?? '', /^application\/json/);
    // The amount is a bare JSON number with every digit: never a string, never a double.
    assert.match(r.body, new RegExp(`"amount"\\s*:\\s*${BIG}\\s*[,}]`));
    const body = JSON.parse(r.body.replace(new RegExp(BIG, 'g'), '"BIG"'));
    assert.deepEqual(body, {
      postings: [{ source: 'world', destination: 'users:001', amount: 'BIG', asset: 'COIN' }],
      metadata: { origin: 'node' },
      reference: 'node-ref-1',
    });
    // The gateway attaches an Idempotency-Key to an operation that accepts one, and says which.
    const key = header(r, 'Idempotency-Key');
    assert.ok(key, 'Idempotency-Key sent upstream');
    assert.equal(trailers.get('formance-idempotency-key')[0], key);
    assert.equal(trailers.get('formance-attempts')[0], '1');
  });

  await t.test('GetAccount with expand=volumes returns the exact balance', async () => {
    const m = await mark();
    const { err, resp } = await unary('getAccount', { ledger: LEDGER, address: 'users:001', expand: ['volumes'] });
    assert.equal(err, null, err?.details);
    assert.equal(resp.data.address, 'users:001');
    assert.deepEqual(resp.data.volumes.COIN, { input: BIG, output: '0', balance: BIG });
    const reqs = await requestsSince(m);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].method, 'GET');
    assert.equal(reqs[0].path, `/api/ledger/v2/${LEDGER}/accounts/users:001`);
    assert.equal(reqs[0].query, 'expand=volumes');
    assert.equal(reqs[0].body, '');
  });

  await t.test('ListTransactions returns the cursor page', async () => {
    const m = await mark();
    const { err, resp } = await unary('listTransactions', { ledger: LEDGER, pageSize: 10 });
    assert.equal(err, null, err?.details);
    assert.equal(resp.cursor.hasMore ?? false, false); // proto3: false is the absent default
    assert.equal(resp.cursor.pageSize, '10');
    assert.equal(resp.cursor.data.length, 1);
    assert.equal(resp.cursor.data[0].id, txId);
    assert.equal(resp.cursor.data[0].postings[0].amount, BIG);
    const reqs = await requestsSince(m);
    assert.equal(reqs.length, 1);
    assert.equal(reqs[0].method, 'GET');
    assert.equal(reqs[0].path, `/api/ledger/v2/${LEDGER}/transactions`);
    assert.equal(reqs[0].query, 'pageSize=10');
  });

  await t.test('the caller\'s Idempotency-Key is used and a replay is an Idempotency-Hit', async () => {
    const m = await mark();
    const md = new grpc.Metadata();
    md.set('idempotency-key', 'node-key-1');
    const req = { ledger: LEDGER, v2PostTransaction: {
      postings: [{ source: 'world', destination: 'users:002', amount: '5', asset: 'COIN' }], metadata: {} } };
    const first = await unary('createTransaction', req, md);
    assert.equal(first.err, null, first.err?.details);
    const second = await unary('createTransaction', { ...req, idempotencyKey: 'node-key-1' });
    assert.equal(second.err, null, second.err?.details);
    assert.equal(second.resp.idempotencyHit, 'true');
    assert.equal(second.resp.data.id, first.resp.data.id);
    const reqs = await requestsSince(m);
    assert.deepEqual(reqs.map((r) => header(r, 'Idempotency-Key')), ['node-key-1', 'node-key-1']);
    const state = (await fake('/_fake/state')).json.ledgers[LEDGER];
    assert.equal(state.transactions, 2);
  });

  await t.test('INSUFFICIENT_FUND is INVALID_ARGUMENT with google.rpc.ErrorInfo', async () => {
    const m = await mark();
    const { err } = await unary('createTransaction', { ledger: LEDGER, v2PostTransaction: {
      postings: [{ source: 'users:003', destination: 'users:001', amount: '1', asset: 'COIN' }], metadata: {} } });
    assert.ok(err);
    assert.equal(err.code, 3);
    const { status, info } = errorInfoOf(err);
    assert.equal(info.reason, 'INSUFFICIENT_FUND');
    assert.equal(info.domain, 'ledger');
    assert.match(status.message + err.details, /insufficient funds/);
    assert.equal(err.metadata.get('formance-http-status')[0], '400');
    const reqs = await requestsSince(m);
    assert.equal(reqs.length, 1, 'a 400 is not retried');
    assert.equal((await fake('/_fake/state')).json.ledgers[LEDGER].transactions, 2);
  });

  await t.test('unknown account is NOT_FOUND with ErrorInfo NOT_FOUND', async () => {
    const { err } = await unary('getAccount', { ledger: LEDGER, address: 'users:404' });
    assert.equal(err?.code, grpc.status.NOT_FOUND);
    assert.equal(errorInfoOf(err).info.reason, 'NOT_FOUND');
  });

  await t.test('GetBalancesAggregated sums to zero, exactly', async () => {
    const { err, resp } = await unary('getBalancesAggregated', { ledger: LEDGER });
    assert.equal(err, null, err?.details);
    assert.deepEqual(resp.data, { COIN: '0' });
  });
});

test('server reflection v1alpha lists the Formance services', { skip }, async () => {
  const responses = await new Promise((resolve, reject) => {
    const out = [];
    const call = reflection.ServerReflectionInfo();
    call.on('data', (d) => {
      out.push(d);
      if (out.length === 2) call.end();
    });
    call.on('error', reject);
    call.on('end', () => resolve(out));
    call.write({ list_services: '' });
    call.write({ file_containing_symbol: 'formance.ledger.v2.LedgerService' });
  });
  const names = responses[0].list_services_response.service.map((s) => s.name);
  assert.ok(names.includes('formance.ledger.v2.LedgerService'), names.join(','));
  for (const n of ['formance.ledger.v1', 'formance.payments.v3', 'formance.wallets.v1']) {
    assert.ok(names.some((s) => s.startsWith(n + '.')), `${n}.* in ${names.join(',')}`);
  }
  const files = responses[1].file_descriptor_response?.file_descriptor_proto ?? [];
  assert.ok(files.length >= 1, 'file_containing_symbol answered');
  assert.ok(files.some((b) => Buffer.from(b).includes('formance/ledger/v2/service.proto')));
});
