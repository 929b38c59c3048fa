#!/usr/bin/python3
"""System test: "Async all the way: a slow upstream does not hold a thread per call; 1,000 calls
in flight at once against an upstream that answers after 1 s all complete in about 1 s."

slow_upstream.py (asyncio, keep-alive, answers GetAccount after exactly 1 s) <- the real
formance-grpc-gateway (auth none, default config: upstream.io_threads 2) <- grpcio client: 1,000
GetAccount calls started from one thread with the future API on one channel.

Measured: wall time from the first start to the last completion, per-call latency, the gateway's
thread count (/proc/PID/status Threads) sampled during the burst, the upstream's peak requests in
flight and connections. Pass: every call OK, elapsed < --max-elapsed (5 s), gateway threads peak
< --max-threads (100). Started by run_slow_upstream_test.sh. Exit 0 pass, 1 fail.
"""

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sysutil  # noqa: E402

import grpc  # noqa: E402

SERVICE = "formance.ledger.v2.LedgerService"


check = sysutil.check


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def start_upstream(args):
    out = open(os.path.join(args.tmp, "upstream.out"), "w+")
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "slow_upstream.py"), "--delay", str(args.delay)],
                         stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    sysutil.register_pid(p.pid)
    for _ in range(200):
        out.seek(0)
        line = out.readline()
        if line.startswith("listening on "):
            return p, out, int(line.split()[2])
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("slow upstream did not start: " + open(out.name).read())


def upstream_stats(p, out):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    out.seek(0)
    for line in out:
        if line.startswith("stats "):
            return json.loads(line[6:])
    return {}


class ThreadSampler(threading.Thread):
    def __init__(self, pid, period=0.02):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.samples.append(sysutil.threads_of(self.pid))
            self.stop.wait(self.period)


def burst(api, n, ledger, deadline):
    """n GetAccount calls started from this thread with .future(); returns per-call records."""
    stub = api.stub("GetAccount")
    reqs = [api.msg("formance.ledger.v2.GetAccountRequest", ledger=ledger, address="users:%04d" % i)
            for i in range(n)]
    done_at = [None] * n
    lock = threading.Lock()
    remaining = [n]
    all_done = threading.Event()

    def on_done(i):
        def cb(_f):
            done_at[i] = time.monotonic()
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    all_done.set()
        return cb

    futures = []
    started_at = []
    t0 = time.monotonic()
    for i in range(n):
        started_at.append(time.monotonic())
        f = stub.future(reqs[i], timeout=deadline)
        f.add_done_callback(on_done(i))
        futures.append(f)
    t_started = time.monotonic()
    all_done.wait(deadline + 5)
    t_end = max((d for d in done_at if d is not None), default=time.monotonic())
    records = []
    for i, f in enumerate(futures):
        try:
            resp = f.result(timeout=0)
            code = "OK"
            check(resp.data.address == "users:%04d" % i, "call %d: answer for %r" % (i, resp.data.address))
        except grpc.RpcError as e:
            code = e.code().name
        except grpc.FutureTimeoutError:
            code = "NOT_DONE"
        records.append((code, (done_at[i] or t_end) - started_at[i]))
    return records, t0, t_started, t_end


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--calls", type=int, default=1000)
    ap.add_argument("--delay", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=1, help="bursts against the same gateway")
    ap.add_argument("--max-elapsed", type=float, default=5.0)
    ap.add_argument("--max-threads", type=int, default=100)
    ap.add_argument("--deadline", type=float, default=30.0)
    args = ap.parse_args()

    nofile = raise_nofile()
    up, up_out, up_port = start_upstream(args)
    cfg = os.path.join(args.tmp, "gateway.yaml")
    with open(cfg, "w") as f:
        # Everything else: the defaults (upstream.io_threads 1). The default bound on upstream
        # connections (256) would queue 1,000 calls in four waves; this test is about holding
        # 1,000 upstream requests in flight at once, so it allows that many connections.
        f.write("auth:\n  mode: none\nlimits:\n  max_upstream_connections: %d\n" % args.calls)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FORMANCE_", "FGW_", "GRPC_"))}
    log = os.path.join(args.tmp, "gateway.log")
    gw = sysutil.Gateway(args.binary, ["--config", cfg, "--listen", "127.0.0.1:0",
                                       "--upstream", "http://127.0.0.1:%d" % up_port], env, log).start()
    idle_threads = sysutil.threads_of(gw.proc.pid)
    print("slow upstream :%d (answers after %.1fs)  gateway :%d pid %d  (%s)  client fd limit %d"
          % (up_port, args.delay, gw.port, gw.proc.pid, args.binary, nofile))

    api = sysutil.Api(args.descriptor_set, gw.target, SERVICE)
    grpc.channel_ready_future(api.channel).result(timeout=10)
    # One warm-up call (channel, route table, upstream connection), not measured.
    r = api.call("GetAccount", api.msg("formance.ledger.v2.GetAccountRequest", ledger="warm", address="users:warm"),
                 timeout=10)
    check(r.code == "OK", "warm-up call: %s %s" % (r.code, r.details))

    for rnd in range(args.rounds):
        sampler = ThreadSampler(gw.proc.pid)
        sampler.start()
        records, t0, t_started, t_end = burst(api, args.calls, "slow%d" % rnd, args.deadline)
        sampler.stop.set()
        sampler.join()
        codes = collections.Counter(c for c, _ in records)
        lat = sorted(l for _, l in records)
        elapsed = t_end - t0
        threads = [t for t in sampler.samples if t > 0]
        print("== round %d: calls %d, OK %d, codes %s" % (rnd + 1, len(records), codes.get("OK", 0), dict(codes)))
        print("   all %d started within %.3fs; elapsed first start -> last completion %.3fs"
              % (len(records), t_started - t0, elapsed))
        print("   latency p50 %.3fs, p90 %.3fs, p99 %.3fs, max %.3fs"
              % (lat[len(lat) // 2], lat[int(len(lat) * 0.9)], lat[int(len(lat) * 0.99)], lat[-1]))
        print("   gateway threads: idle %d, during burst min %d / max %d (%d samples)"
              % (idle_threads, min(threads or [-1]), max(threads or [-1]), len(threads)))
        check(codes.get("OK", 0) == args.calls, "round %d: %d of %d calls OK: %s"
              % (rnd + 1, codes.get("OK", 0), args.calls, dict(codes)))
        check(elapsed < args.max_elapsed, "round %d: %d calls against a %.1fs upstream took %.2fs (bound %.1fs)"
              % (rnd + 1, args.calls, args.delay, elapsed, args.max_elapsed))
        check(threads and max(threads) < args.max_threads, "round %d: gateway thread count peaked at %s (bound %d)"
              % (rnd + 1, max(threads or [-1]), args.max_threads))

    alive = gw.proc.poll() is None
    check(alive, "gateway died: exit %s" % gw.proc.returncode)
    rc = gw.stop()
    check(rc == 0, "gateway exit code %s after SIGTERM" % rc)
    st = upstream_stats(up, up_out)
    print("   upstream: %d requests, %d connections opened, peak %d open, peak %d requests in flight"
          % (st.get("requests", -1), st.get("connections", -1), st.get("peak_open", -1), st.get("peak_in_flight", -1)))
    check(0 < st.get("peak_open", -1) <= args.calls,
          "upstream saw %s connections open at once (limits.max_upstream_connections %d)"
          % (st.get("peak_open"), args.calls))
    return sysutil.report(20)


if __name__ == "__main__":
    sys.exit(main())
