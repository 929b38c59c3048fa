#!/usr/bin/python3
"""Fault test of the gateway's retries: thousands of ledger v2 CreateTransaction calls through
formance-grpc-gateway -> fault_proxy.py -> fake_ledger.py, then the ledger's state is checked
against what every caller was told. Started by run_fault_test.sh, which owns the processes.

Client: Debian python3-grpcio + python3-protobuf; message classes come from a descriptor set
(protoc --include_imports) and generic channel.unary_unary stubs.

The invariant under test: no transaction is ever applied twice, and every call that returned OK
is in the ledger exactly once.

How a final gRPC code is read (decided here, see README in this directory):
  OK                   applied exactly once; the response's transaction must be the stored one.
  INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, ALREADY_EXISTS, ABORTED,
  PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED
                       "not applied": the ledger itself answered with a definitive rejection for
                       this idempotency key (a key whose write had landed would have answered
                       the stored transaction instead). Must be absent from the ledger.
  UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, UNKNOWN, CANCELLED
                       "outcome unknown": an earlier attempt may have been applied and its answer
                       dropped. Resolved by calling again with the same key (the caller's own key,
                       or the key the gateway generated, from trailing metadata
                       formance-idempotency-key) with faults off: that call must be OK, and the
                       transaction must then exist exactly once.
"""

import argparse
import collections
import concurrent.futures
import http.client
import json
import os
import random
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
import sysutil  # noqa: E402  (the generic gRPC client shared with the system tests)

SERVICE = "formance.ledger.v2.LedgerService"
NOT_APPLIED = {"INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION", "ALREADY_EXISTS", "ABORTED",
               "PERMISSION_DENIED", "UNAUTHENTICATED", "UNIMPLEMENTED"}
AMOUNT_BASE = 10 ** 30  # every call moves AMOUNT_BASE + call id: unique, traceable, beyond 2^64


check = sysutil.check


# ---- plumbing --------------------------------------------------------------------------------
class Api(sysutil.Api):
    """The shared generic client (tests/system/sysutil.py), answering with the
    (code name, response or None, trailing metadata dict, error details) tuple this test reads."""

    def __init__(self, descriptor_set, target):
        super().__init__(descriptor_set, target, SERVICE)

    def call(self, method, request, metadata=(), timeout=10.0):
        r = super().call(method, request, metadata, timeout)
        return r.code, r.response, dict(r.trailing), r.details


def http_json(port, method, path, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        raw = r.read()
        return r.status, (json.loads(raw, parse_int=int) if raw else None)
    finally:
        conn.close()


def fake_requests(port, since, path_prefix, method=""):
    st, obj = http_json(port, "GET", "/_fake/requests?since=%d&path_prefix=%s&method=%s" % (since, path_prefix, method))
    return obj["requests"], obj["next"]


def fake_mark(port):
    return http_json(port, "GET", "/_fake/requests?path_prefix=/nothing")[1]["next"]


def header(req, name):
    for k, v in req["headers"]:
        if k.lower() == name.lower():
            return v
    return None


# ---- the load --------------------------------------------------------------------------------
class CallRecord:
    __slots__ = ("i", "single", "mode", "key", "amount", "dest", "source", "expect", "code", "details", "attempts",
                 "gw_key", "tx_id", "hit", "resolved", "resolve_code", "latency")


def make_call(api, ledger, i, rng_choice, deadline):
    r = CallRecord()
    r.i = i
    r.mode = ("generated", "generated", "caller-field", "caller-metadata")[i % 4]
    r.key = None if r.mode == "generated" else "caller-%d-%s" % (i, rng_choice)
    r.amount = AMOUNT_BASE + i
    r.dest = "users:%03d" % (i % 40)
    # About 1 call in 25 is rejected by the ledger (an empty source): a definitive "not applied".
    r.expect = "rejected" if i % 25 == 13 else "applied"
    r.source = "empty:%d" % i if r.expect == "rejected" else "world"
    body = api.msg("formance.ledger.v2.V2PostTransaction",
                   postings=[api.msg("formance.ledger.v2.V2Posting", source=r.source, destination=r.dest,
                                     amount=str(r.amount), asset="COIN")],
                   metadata={"call": str(i)})
    req = api.msg("formance.ledger.v2.CreateTransactionRequest", ledger=ledger, v2_post_transaction=body)
    md = []
    # One call in 10 allows a single attempt, so some calls end with an unknown outcome
    # (UNAVAILABLE, RESOURCE_EXHAUSTED) and the replay-with-the-same-key path is exercised.
    r.single = i % 10 == 7
    if r.single:
        md.append(("x-formance-max-attempts", "1"))
    if r.mode == "caller-field":
        req.idempotency_key = r.key
    elif r.mode == "caller-metadata":
        md.append(("idempotency-key", r.key))
    t0 = time.monotonic()
    r.code, resp, trailers, r.details = api.call("CreateTransaction", req, md, timeout=deadline)
    r.latency = time.monotonic() - t0
    r.attempts = int(trailers.get("formance-attempts", "0") or 0)
    r.gw_key = trailers.get("formance-idempotency-key")
    r.tx_id = int(resp.data.id) if resp is not None and resp.data.id != "" else None
    r.hit = resp.idempotency_hit if resp is not None and resp.HasField("idempotency_hit") else None
    if resp is not None:
        p = resp.data.postings
        check(len(p) == 1 and p[0].amount == str(r.amount) and dict(resp.data.metadata) == {"call": str(i)},
              "call %d: OK response does not echo its posting/metadata: %s" % (i, resp.data))
    r.resolved = None
    r.resolve_code = None
    return r


def replay(api, ledger, r, deadline):
    """Same call again with the same key, faults off. Returns the code."""
    key = r.key or r.gw_key
    if not key:
        return "NO_KEY"
    body = api.msg("formance.ledger.v2.V2PostTransaction",
                   postings=[api.msg("formance.ledger.v2.V2Posting", source=r.source, destination=r.dest,
                                     amount=str(r.amount), asset="COIN")],
                   metadata={"call": str(r.i)})
    req = api.msg("formance.ledger.v2.CreateTransactionRequest", ledger=ledger, v2_post_transaction=body,
                  idempotency_key=key)
    code, resp, _, details = api.call("CreateTransaction", req, timeout=deadline)
    if code == "OK":
        r.tx_id = int(resp.data.id)
        r.hit = resp.idempotency_hit if resp.HasField("idempotency_hit") else None
    return code


def run_load(args, api, ledger):
    results = []
    lock = threading.Lock()
    salt = "%08x" % random.Random(args.seed).getrandbits(32)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        futs = [pool.submit(make_call, api, ledger, i, salt, args.deadline) for i in range(args.calls)]
        for f in concurrent.futures.as_completed(futs):
            with lock:
                results.append(f.result())
    return sorted(results, key=lambda r: r.i), time.monotonic() - t0


# ---- scenarios -------------------------------------------------------------------------------
def scenario_load(args, api):
    ledger = "fault%d" % int(time.time() * 1000 % 1e9)
    st, _ = http_json(args.fake_port, "POST", "/api/ledger/v2/" + ledger, {})  # set-up bypasses faults
    assert st == 204, st
    mark = fake_mark(args.fake_port)
    http_json(args.proxy_port, "POST", "/_fault/reset_stats", {})
    http_json(args.proxy_port, "POST", "/_fault/config",
              {"rate_503": args.rate_503, "rate_429": args.rate_429, "rate_reset": args.rate_reset,
               "rate_delay": args.rate_delay, "rate_drop": args.rate_drop, "enabled": True})
    results, elapsed = run_load(args, api, ledger)
    _, pstats = http_json(args.proxy_port, "GET", "/_fault/stats")
    http_json(args.proxy_port, "POST", "/_fault/config", {"enabled": False})

    by_code = collections.Counter(r.code for r in results)
    unknown = [r for r in results if r.code != "OK" and r.code not in NOT_APPLIED]
    for r in unknown:
        r.resolve_code = replay(api, ledger, r, args.deadline)
    resolved_by_code = collections.Counter(r.resolve_code for r in unknown)

    _, txs = http_json(args.fake_port, "GET", "/_fake/transactions?ledger=" + ledger)
    txs = txs["data"]
    per_call = collections.defaultdict(list)
    strays = 0
    for t in txs:
        c = t["metadata"].get("call")
        if c is None:
            strays += 1
        else:
            per_call[int(c)].append(t)
    duplicates = sum(len(v) - 1 for v in per_call.values() if len(v) > 1)
    check(duplicates == 0, "%d duplicate transactions: %s" % (
        duplicates, sorted(k for k, v in per_call.items() if len(v) > 1)[:20]))
    check(strays == 0, "%d transactions that no call made" % strays)

    applied_calls = set()
    for r in results:
        n = len(per_call.get(r.i, []))
        if r.code == "OK":
            check(n == 1, "call %d returned OK but is in the ledger %d times" % (r.i, n))
            if n == 1:
                check(per_call[r.i][0]["id"] == r.tx_id, "call %d: OK with id %s but stored id %s" % (
                    r.i, r.tx_id, per_call[r.i][0]["id"]))
            check(r.expect == "applied", "call %d from an empty account returned OK" % r.i)
            applied_calls.add(r.i)
        elif r.code in NOT_APPLIED:
            check(n == 0, "call %d ended %s (not applied) but is in the ledger %d times" % (r.i, r.code, n))
            check(r.expect == "rejected", "call %d: unexpected %s: %s" % (r.i, r.code, r.details))
        else:
            if r.expect == "applied":
                check(r.resolve_code == "OK", "call %d ended %s; replay with its key gave %s" % (
                    r.i, r.code, r.resolve_code))
                check(n == 1, "call %d ended %s, replayed: in the ledger %d times" % (r.i, r.code, n))
                if n == 1:
                    applied_calls.add(r.i)
            else:
                check(n == 0 and r.resolve_code in NOT_APPLIED, "rejected call %d ended %s, replay %s, in ledger %d"
                      % (r.i, r.code, r.resolve_code, n))
        # The gateway must send an Idempotency-Key on every attempt: the caller's own when given.
        if r.key is not None and r.gw_key is not None:
            check(r.gw_key == r.key, "call %d: caller key %s but gateway reports %s" % (r.i, r.key, r.gw_key))

    # Every attempt that reached the ledger carried a key, one key per call, the caller's if any.
    reqs, _ = fake_requests(args.fake_port, mark, "/api/ledger/v2/%s/transactions" % ledger, "POST")
    keys_per_call = collections.defaultdict(set)
    keyless = 0
    for q in reqs:
        body = json.loads(q["body"], parse_int=int)
        c = int(body["metadata"]["call"])
        k = header(q, "Idempotency-Key")
        if not k:
            keyless += 1
        keys_per_call[c].add(k)
        check(b'"amount":%d' % (AMOUNT_BASE + c) in q["body"].replace(" ", "").encode(),
              "call %d: amount not sent as a bare JSON number: %s" % (c, q["body"][:200]))
    check(keyless == 0, "%d upstream attempts without an Idempotency-Key" % keyless)
    multi = {c: ks for c, ks in keys_per_call.items() if len(ks) > 1}
    check(not multi, "calls whose attempts used different keys: %s" % list(multi.items())[:5])
    for r in results:
        ks = keys_per_call.get(r.i)
        if r.key and ks:
            check(ks == {r.key}, "call %d: caller key %s, upstream saw %s" % (r.i, r.key, ks))

    # Balances: each account holds exactly the sum of its applied calls; everything sums to 0.
    _, state = http_json(args.fake_port, "GET", "/_fake/state")
    balances = state["ledgers"][ledger]["balances"]
    expected = collections.Counter()
    for r in results:
        if r.i in applied_calls:
            expected[r.dest] += r.amount
            expected["world"] -= r.amount
    got = {a: b.get("COIN", 0) for a, b in balances.items() if b.get("COIN", 0) != 0}
    check(got == {a: v for a, v in expected.items() if v != 0},
          "balances differ from applied calls: %s" % {a: (got.get(a), expected.get(a))
                                                      for a in set(got) | set(expected) if got.get(a) != expected.get(a)})
    total = sum(b.get("COIN", 0) for b in balances.values())
    check(total == 0, "balances sum to %d, not 0" % total)
    # The same, read through the gateway (faults off): aggregated balances and one account.
    code, resp, _, det = api.call("GetBalancesAggregated",
                                  api.msg("formance.ledger.v2.GetBalancesAggregatedRequest", ledger=ledger))
    if check(code == "OK", "GetBalancesAggregated through the gateway: %s %s" % (code, det)):
        check(dict(resp.data) == {"COIN": "0"}, "GetBalancesAggregated: %s" % dict(resp.data))
    code, resp, _, det = api.call("GetAccount", api.msg("formance.ledger.v2.GetAccountRequest", ledger=ledger,
                                                        address="users:001", expand=["volumes"]))
    if check(code == "OK", "GetAccount users:001 through the gateway: %s %s" % (code, det)):
        v = resp.data.volumes["COIN"]
        check(v.balance == str(expected["users:001"]) and v.input == str(expected["users:001"]),
              "GetAccount users:001 volumes %s, expected balance %d" % (v, expected["users:001"]))

    attempts = [r.attempts for r in results]
    hits = sum(1 for r in results if r.hit == "true")
    print("== fault load: %d calls, %d in flight, %.1fs (%.0f calls/s), seed %d" % (
        len(results), args.concurrency, elapsed, len(results) / elapsed, args.seed))
    print("   callers: %s; single-attempt (x-formance-max-attempts: 1): %d" % (
        dict(collections.Counter(r.mode for r in results)), sum(1 for r in results if r.single)))
    print("   final codes: %s" % dict(sorted(by_code.items())))
    print("   expected rejections (empty source): %d" % sum(1 for r in results if r.expect == "rejected"))
    print("   outcome unknown, replayed with same key: %d -> %s" % (len(unknown), dict(resolved_by_code)))
    print("   transactions in ledger: %d; applied calls: %d; duplicates: %d; strays: %d" % (
        len(txs), len(applied_calls), duplicates, strays))
    print("   attempts (formance-attempts): total %d, max %d, histogram %s" % (
        sum(attempts), max(attempts or [0]), dict(sorted(collections.Counter(attempts).items()))))
    print("   OK answers with Idempotency-Hit: true: %d" % hits)
    print("   upstream POSTs that reached the ledger: %d (keyless %d)" % (len(reqs), keyless))
    print("   proxy: requests %d, forwarded %d, faults %s (total %d, Retry-After on %d)" % (
        pstats["requests"], pstats["forwarded"], pstats["faults"], pstats["faults_total"], pstats["retry_after"]))
    lat = sorted(r.latency for r in results)
    print("   latency p50 %.1f ms, p99 %.1f ms, max %.1f ms" % (
        lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000, lat[-1] * 1000))
    check(sum(attempts) > len(results), "no call was retried: were faults injected?")
    single_multi = [r.i for r in results if r.single and r.attempts > 1]
    check(not single_multi, "calls with x-formance-max-attempts: 1 made more attempts: %s" % single_multi[:10])
    # Every request the proxy saw during the load is one CreateTransaction attempt. cpprestsdk
    # resends a request once by itself when a reused keep-alive connection dies before the status
    # line (our reset_before / drop_after faults); the gateway cannot see or count those. They are
    # safe only because every write here carries an Idempotency-Key (writes without one go on a
    # fresh connection, where the library never resends: see scenario_not_retried). So: each
    # hidden resend must be explained by a connection fault, and no keyless POST may exist.
    hidden = pstats["requests"] - sum(attempts)
    conn_faults = pstats["faults"].get("reset_before", 0) + pstats["faults"].get("drop_after", 0)
    print("   transparent resends by the HTTP library (seen by the proxy, not in formance-attempts): "
          "%d, connection faults injected: %d" % (hidden, conn_faults))
    check(0 <= hidden <= conn_faults,
          "%d uncounted upstream attempts but only %d connection faults" % (hidden, conn_faults))
    check(keyless == 0, "%d keyless POSTs reached the ledger" % keyless)


def scenario_not_retried(args, api):
    """A write without idempotency support (ledger v2 CreateLedger has no Idempotency-Key) whose
    response is dropped after it was applied must not be retried."""
    print("== non-idempotent write, response dropped after apply (CreateLedger)")
    http_json(args.proxy_port, "POST", "/_fault/config", {"enabled": False})
    for action, applied, warm in (("drop_after", True, False), ("reset_before", False, False),
                                  ("drop_after", True, True), ("reset_before", False, True)):
        name = "nr%s%s%d" % (action.split("_")[0], "warm" if warm else "cold", int(time.time() * 1000 % 1e9))
        path = "/api/ledger/v2/" + name
        if warm:
            # Leave an idle keep-alive connection in the gateway's upstream pool, so the write
            # goes out on a reused connection (an HTTP client may resend on those by itself).
            for _ in range(3):
                code, _, _, details = api.call("GetInfo", api.msg("formance.ledger.v2.GetInfoRequest"))
                check(code == "OK", "GetInfo warm-up: %s %s" % (code, details))
        http_json(args.proxy_port, "POST", "/_fault/reset_stats", {})
        http_json(args.proxy_port, "POST", "/_fault/script",
                  {"method": "POST", "path_regex": "^%s$" % path, "actions": [action]})  # one fault, then pass through
        mark = fake_mark(args.fake_port)
        req = api.msg("formance.ledger.v2.CreateLedgerRequest", ledger=name,
                      v2_create_ledger_request=api.msg("formance.ledger.v2.V2CreateLedgerRequest"))
        code, _, trailers, details = api.call("CreateLedger", req, metadata=[("x-formance-max-attempts", "5")])
        reqs, _ = fake_requests(args.fake_port, mark, path, "POST")
        _, ps = http_json(args.proxy_port, "GET", "/_fault/stats")
        print("   %s on a %s connection: code %s (%s), formance-attempts %s, proxy saw %d, ledger saw %d" % (
            action, "reused" if warm else "new", code, details[:100], trailers.get("formance-attempts"), ps["requests"], len(reqs)))
        check(code == "UNAVAILABLE", "CreateLedger with %s: expected UNAVAILABLE, got %s" % (action, code))
        check(ps["requests"] == 1, "CreateLedger with %s was sent %d times (retried!)" % (action, ps["requests"]))
        check(len(reqs) == (1 if applied else 0), "CreateLedger with %s: ledger saw %d requests" % (action, len(reqs)))
        check(trailers.get("formance-attempts") in (None, "1"), "CreateLedger %s: formance-attempts %s" % (
            action, trailers.get("formance-attempts")))
        st, _ = http_json(args.fake_port, "GET", "/api/ledger/v2/" + name)
        check(st == (200 if applied else 404), "ledger %s exists=%s after %s" % (name, st == 200, action))
    http_json(args.proxy_port, "POST", "/_fault/reset_stats", {})

    print("== keyed write, response dropped twice after apply (CreateTransaction)")
    name = "kd%d" % int(time.time() * 1000 % 1e9)
    http_json(args.fake_port, "POST", "/api/ledger/v2/" + name, {})
    path = "/api/ledger/v2/%s/transactions" % name
    http_json(args.proxy_port, "POST", "/_fault/script",
              {"method": "POST", "path_regex": "^%s$" % path, "actions": ["drop_after", "drop_after"]})
    mark = fake_mark(args.fake_port)
    body = api.msg("formance.ledger.v2.V2PostTransaction",
                   postings=[api.msg("formance.ledger.v2.V2Posting", source="world", destination="users:1",
                                     amount=str(2 ** 100), asset="COIN")])
    code, resp, trailers, details = api.call(
        "CreateTransaction", api.msg("formance.ledger.v2.CreateTransactionRequest", ledger=name,
                                     v2_post_transaction=body))
    reqs, _ = fake_requests(args.fake_port, mark, path, "POST")
    keys = [header(q, "Idempotency-Key") for q in reqs]
    _, txs = http_json(args.fake_port, "GET", "/_fake/transactions?ledger=" + name)
    print("   code %s, formance-attempts %s, Idempotency-Hit %s, ledger saw %d POSTs with keys %s, %d transaction(s)" % (
        code, trailers.get("formance-attempts"), resp.idempotency_hit if resp is not None else None, len(reqs),
        sorted(set(keys)), len(txs["data"])))
    check(code == "OK", "keyed CreateTransaction after 2 drops: %s %s" % (code, details))
    check(len(reqs) == 3 and len(set(keys)) == 1 and keys[0], "attempts %d, keys %s" % (len(reqs), keys))
    check(len(txs["data"]) == 1, "%d transactions after 2 dropped answers" % len(txs["data"]))
    # cpprestsdk resends by itself when a reused keep-alive connection dies before the status
    # line, on the next connection its pool hands out, which may be reused too (so 0, 1 or 2 of
    # the 3 POSTs are its own): safe here (same key) but not counted by formance-attempts. So
    # the gateway reports 1 to 3 attempts for the 3 POSTs, never more attempts than were sent.
    attempts = int(trailers.get("formance-attempts") or 0)
    check(1 <= attempts <= len(reqs),
          "formance-attempts %s for %d POSTs" % (trailers.get("formance-attempts"), len(reqs)))
    check(trailers.get("formance-idempotency-key") == keys[0] if keys else False,
          "formance-idempotency-key %s vs upstream %s" % (trailers.get("formance-idempotency-key"), keys))
    if resp is not None:
        check(resp.idempotency_hit == "true", "third attempt should be an Idempotency-Hit, got %r" % resp.idempotency_hit)

    print("== non-idempotent write answered 503 (CreateLedger; informational)")
    name = "n503%d" % int(time.time() * 1000 % 1e9)
    path = "/api/ledger/v2/" + name
    http_json(args.proxy_port, "POST", "/_fault/reset_stats", {})
    http_json(args.proxy_port, "POST", "/_fault/script", {"method": "POST", "path_regex": "^%s$" % path,
                                                           "actions": ["status_503"]})
    req = api.msg("formance.ledger.v2.CreateLedgerRequest", ledger=name,
                  v2_create_ledger_request=api.msg("formance.ledger.v2.V2CreateLedgerRequest"))
    code, _, trailers, details = api.call("CreateLedger", req)
    _, ps = http_json(args.proxy_port, "GET", "/_fault/stats")
    print("   code %s, formance-attempts %s, proxy saw %d request(s)" % (code, trailers.get("formance-attempts"),
                                                                          ps["requests"]))
    http_json(args.proxy_port, "POST", "/_fault/reset_stats", {})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway", required=True, help="127.0.0.1:PORT")
    ap.add_argument("--fake-port", type=int, required=True)
    ap.add_argument("--proxy-port", type=int, required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--deadline", type=float, default=15.0, help="per call, seconds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate-503", type=float, default=0.05)
    ap.add_argument("--rate-429", type=float, default=0.03)
    ap.add_argument("--rate-reset", type=float, default=0.04)
    ap.add_argument("--rate-delay", type=float, default=0.05)
    ap.add_argument("--rate-drop", type=float, default=0.05)
    ap.add_argument("--only", choices=["load", "not-retried"], default=None)
    args = ap.parse_args()

    api = Api(args.descriptor_set, args.gateway)
    grpc.channel_ready_future(api.channel).result(timeout=10)
    if args.only in (None, "not-retried"):
        scenario_not_retried(args, api)
    if args.only in (None, "load"):
        scenario_load(args, api)
    return sysutil.report(50)


if __name__ == "__main__":
    sys.exit(main())
