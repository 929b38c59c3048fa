// node_bench.mjs: the Node rows of the benchmark, one JSON line per run (same fields as bench_rest
// and bench_grpc, see bench_common.h).
//   --client sdk   the official @formance/formance-sdk calling the REST server (--url) directly
//   --client grpc  @grpc/grpc-js (+ @grpc/proto-loader on proto/) calling the gateway (--target)
//   --op account | create | page100 | page1000
//   --concurrency N --duration S --warmup S [--label L] [--curve_out FILE] [--watch_pid PID]
// Packages come from $FGW_NODE_MODULES (a node_modules directory), else tests/node_modules, else
// /tmp/npmtools/node_modules.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const candidates = [
  process.env.FGW_NODE_MODULES,
  path.join(root, "tests", "node_modules"),
  "/tmp/npmtools/node_modules",
].filter(Boolean);
const modulesDir = candidates.find((d) =>
  fs.existsSync(path.join(d, "@formance", "formance-sdk")) &&
  fs.existsSync(path.join(d, "@grpc", "grpc-js")));
if (!modulesDir) {
  console.error(`node_bench: no node_modules with @formance/formance-sdk and @grpc/grpc-js in ${candidates.join(", ")}`);
  process.exit(2);
}
const require = createRequire(path.join(modulesDir, "..", "noop.js"));

const client = arg("client", "sdk");
const op = arg("op", "account");
const concurrency = Math.max(1, parseInt(arg("concurrency", "1"), 10));
const durationS = parseFloat(arg("duration", "3"));
const warmupS = parseFloat(arg("warmup", "0.5"));
const label = arg("label", `node-${client}`);
const curveOut = arg("curve_out", "");
const watchPid = parseInt(arg("watch_pid", "0"), 10);
const upstreamPid = parseInt(arg("upstream_pid", "0"), 10);
const BIG = "340282366920938463463374607431768211457"; // 2^128 + 1

// ---- the call under test -------------------------------------------------------------------
async function makeCall() {
  if (client === "sdk") {
    const { SDK } = require("@formance/formance-sdk");
    // No security: the benchmark's upstream does not check tokens (nor does it for the gateway).
    const sdk = new SDK({ serverURL: arg("url", "http://127.0.0.1:8081") });
    const v2 = sdk.ledger.v2;
    switch (op) {
      case "account":
        return () => v2.getAccount({ ledger: "bench", address: "users:001" });
      case "create":
        return () => v2.createTransaction({
          ledger: "bench",
          v2PostTransaction: {
            postings: [{ source: "world", destination: "users:001", amount: BigInt(BIG), asset: "USD/2" }],
            metadata: { order: "order-1" },
            reference: "ref:bench",
          },
        });
      case "page100":
      case "page1000":
        return () => v2.listTransactions({ ledger: "bench", pageSize: op === "page100" ? 100 : 1000 });
    }
  } else {
    const grpc = require("@grpc/grpc-js");
    const loader = require("@grpc/proto-loader");
    const def = loader.loadSync("formance/ledger/v2/service.proto", {
      includeDirs: [
        path.join(root, "proto"),
        "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis",
        "/usr/include",
      ],
      keepCase: false, longs: String, enums: String, defaults: false, oneofs: true,
    });
    const Service = grpc.loadPackageDefinition(def).formance.ledger.v2.LedgerService;
    const stub = new Service(arg("target", "127.0.0.1:50051"), grpc.credentials.createInsecure(),
      { "grpc.max_receive_message_length": 64 << 20 });
    await new Promise((res, rej) => stub.waitForReady(Date.now() + 5000, (e) => (e ? rej(e) : res())));
    const unary = (method, req) => () => new Promise((res, rej) => {
      stub[method](req, { deadline: Date.now() + 10000 }, (err, reply) => (err ? rej(err) : res(reply)));
    });
    switch (op) {
      case "account":
        return unary("GetAccount", { ledger: "bench", address: "users:001" });
      case "create":
        return unary("CreateTransaction", {
          ledger: "bench",
          v2PostTransaction: {
            postings: [{ source: "world", destination: "users:001", amount: BIG, asset: "USD/2" }],
            metadata: { order: "order-1" },
            reference: "ref:bench",
          },
        });
      case "page100":
      case "page1000":
        return unary("ListTransactions", { ledger: "bench", pageSize: op === "page100" ? 100 : 1000 });
    }
  }
  throw new Error(`unknown --client ${client} / --op ${op}`);
}

// ---- /proc sampling (as bench_common.h) ---------------------------------------------------
const HZ = 100; // USER_HZ on Linux.
function cpuNs(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * (1e9 / HZ); // utime(14), stime(15)
  } catch { return -1; }
}
function hwmKib(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : -1;
  } catch { return -1; }
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank), hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] * (1 - (rank - lo)) + sorted[hi] * (rank - lo);
}

const call = await makeCall();
const nowNs = () => Number(process.hrtime.bigint());
const begin = nowNs() + warmupS * 1e9;
const end = begin + durationS * 1e9;
const lat = [];
let errors = 0, firstError = "";
let cpuBegin = -1, selfBegin = 0, cpuEnd = -1, selfEnd = 0, upBegin = -1, upEnd = -1;
const selfCpu = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1e3; };
setTimeout(() => {
  cpuBegin = watchPid ? cpuNs(watchPid) : -1; upBegin = upstreamPid ? cpuNs(upstreamPid) : -1; selfBegin = selfCpu();
}, warmupS * 1e3);

async function loop() {
  for (;;) {
    const start = nowNs();
    if (start >= end) return;
    let ok = true;
    try { await call(); } catch (e) { ok = false; if (!firstError) firstError = String(e && e.message || e); }
    const finish = nowNs();
    if (start >= begin && finish <= end) {
      if (ok) lat.push(finish - start); else errors++;
    }
  }
}
const sampleEnd = new Promise((res) => setTimeout(() => {
  cpuEnd = watchPid ? cpuNs(watchPid) : -1; upEnd = upstreamPid ? cpuNs(upstreamPid) : -1; selfEnd = selfCpu(); res();
}, (warmupS + durationS) * 1e3));
await Promise.all([...Array(concurrency)].map(loop));
await sampleEnd;

lat.sort((a, b) => a - b);
const n = lat.length;
const mean = n ? lat.reduce((a, b) => a + b, 0) / n : 0;
const out = {
  label, concurrency, calls: n, errors, seconds: durationS, throughput: n / durationS,
  mean_us: mean / 1e3, p50_us: percentile(lat, 50) / 1e3, p99_us: percentile(lat, 99) / 1e3,
  p999_us: percentile(lat, 99.9) / 1e3, max_us: n ? lat[n - 1] / 1e3 : 0,
  client_cpu_us_per_call: n ? (selfEnd - selfBegin) / n / 1e3 : 0,
};
if (watchPid) {
  out.server_cpu_us_per_call = cpuBegin >= 0 && cpuEnd >= 0 && n ? (cpuEnd - cpuBegin) / n / 1e3 : -1;
  out.server_peak_rss_kib = hwmKib(watchPid);
}
if (upstreamPid) out.upstream_cpu_us_per_call = upBegin >= 0 && upEnd >= 0 && n ? (upEnd - upBegin) / n / 1e3 : -1;
if (firstError) out.first_error = firstError;
for (const k of Object.keys(out)) if (typeof out[k] === "number" && !Number.isInteger(out[k])) out[k] = Math.round(out[k] * 10) / 10;
console.log(JSON.stringify(out));
if (curveOut && n) {
  const lines = [`# percentile latency_us (${label}, c=${concurrency})`];
  for (let x = 0; x <= 5.0001; x += 0.05) {
    const p = 100 * (1 - Math.pow(10, -x));
    if (x > 0 && (1 - p / 100) * n < 1) break;
    lines.push(`${p} ${percentile(lat, p) / 1e3}`);
  }
  lines.push(`100 ${lat[n - 1] / 1e3}`);
  fs.writeFileSync(curveOut, lines.join("\n") + "\n");
}
process.exit(0);
