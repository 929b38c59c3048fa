#!/usr/bin/python3
"""Operations suite (issue 12), started by run_ops_test.sh. The real gateway, API on 127.0.0.1,
admin listeners on 127.0.0.2, against tests/hostile/recording_upstream.py on 127.0.0.1.

Sections (--only picks some):
  metrics  known calls (OK, NOT_FOUND, a cached read, a retried 503, a client-credentials token),
           then /metrics parsed as a Prometheus scraper reads the text format: counter values,
           histogram consistency, label sets exactly go-grpc-prometheus', no raw path or request
           value in any label; probes: /healthz, /readyz (ready once a token was obtained),
           grpc.health.v1 "" and "readiness" on the admin gRPC listener, nothing of the admin
           listener on 127.0.0.1
  trace    a caller's traceparent reaches the upstream with its trace id and a new span id, one
           per attempt (4 attempts of a retried call: 4 span ids), tracestate kept; an invalid
           traceparent and none at all give a new valid trace; the call's JSON log line carries
           the trace id
  logs     every line of the gateway's log is one JSON object (time, level, msg); call lines
           carry method, operation_id, grpc_code, http_status, attempts, latency_ms, trace_id;
           no secret, token or request value in the log
  drain    200 calls in flight against a 3 s upstream, then SIGTERM: at once /readyz 503 and
           health NOT_SERVING on both listeners, a new call during grpc.drain_delay is served,
           after it a new connection gets UNAVAILABLE, every one of the 200 completes OK, exit 0
  reload   a changed config file is applied (log.level), an invalid one is kept out (logged,
           still serving), SIGHUP applies new cache rules (a second identical read is a hit)
Exit 0 pass, 1 fail.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import recording_upstream as ru  # noqa: E402
import sysutil  # noqa: E402
from sysutil import check  # noqa: E402

import grpc  # noqa: E402

SERVICE = "formance.ledger.v2.LedgerService"
SECRET = "ops-secret-" + secrets.token_hex(8)
ADMIN_IP = "127.0.0.2"
SERVING, NOT_SERVING = b"\x08\x01", b"\x08\x02"


# ---- Prometheus text format, as a scraper reads it --------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+-?\d+)?$" % NAME)
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def unescape(v):
    return v.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")


def parse_labels(text):
    labels, pos = {}, 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise ValueError("bad label set: %r" % text)
        if m.group(1) in labels:
            raise ValueError("duplicate label %s" % m.group(1))
        labels[m.group(1)] = unescape(m.group(2))
        pos = m.end()
    return labels


def parse_prometheus(text):
    """[(name, labels, value)] and {family: type}; raises on anything a scraper would refuse."""
    samples, types = [], {}
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            if fam in types:
                raise ValueError("family %s typed twice" % fam)
            types[fam] = typ
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise ValueError("bad sample line: %r" % line)
        name, labels, value = m.group(1), parse_labels(m.group(2) or ""), float(m.group(3))
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                fam = name[: -len(suffix)]
        if fam not in types:
            raise ValueError("sample %s has no # TYPE" % name)
        samples.append((name, labels, value))
    return samples, types


def value(samples, name, **labels):
    """The value of the sample with exactly these labels, or None."""
    for n, l, v in samples:
        if n == name and l == labels:
            return v
    return None


# ---- helpers ------------------------------------------------------------------------------------

def admin_get(port, path, method="GET"):
    conn = http.client.HTTPConnection(ADMIN_IP, port, timeout=5)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), dict(r.getheaders())
    finally:
        conn.close()


def health(target, service=""):
    req = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
    with grpc.insecure_channel(target) as ch:
        call = ch.unary_unary("/grpc.health.v1.Health/Check", request_serializer=lambda x: x,
                              response_deserializer=lambda b: b)
        try:
            return call(req, timeout=5)
        except grpc.RpcError as e:
            return e.code().name


def eventually(fn, timeout=10.0, period=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r = fn()
        if r:
            return r
        time.sleep(period)
    return fn()


def admin_ports(log_path, timeout=10.0):
    def find():
        text = open(log_path, "rb").read().decode("utf-8", "replace")
        http_m = re.search(r"admin: http listening on [0-9.]+:(\d+)", text)
        grpc_m = re.search(r"admin: grpc health listening on [0-9.]+:(\d+)", text)
        if http_m and grpc_m:
            return int(http_m.group(1)), int(grpc_m.group(1))
        return None
    return eventually(find, timeout)


def log_lines(path):
    return open(path, "rb").read().decode("utf-8", "replace").splitlines()


def json_lines(path):
    out = []
    for line in log_lines(path):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"unparsed": line})
    return out


def write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # Atomic, as a ConfigMap update is.


def parse_traceparent(v):
    m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})", v or "")
    return m.groups() if m else None


class Env:
    def __init__(self, args):
        self.args = args
        self.api_cache = {}

    def api(self, target):
        if target not in self.api_cache:
            self.api_cache[target] = sysutil.Api(self.args.descriptor_set, target, SERVICE)
        return self.api_cache[target]

    def gateway(self, name, config_text, extra=(), env=None):
        cfg = os.path.join(self.args.tmp, name + ".yaml")
        write(cfg, config_text)
        e = dict(os.environ)
        e.update(env or {})
        gw = sysutil.Gateway(self.args.binary, ["--config", cfg] + list(extra), e,
                             os.path.join(self.args.tmp, name + ".log"))
        gw.start()
        gw.cfg = cfg
        gw.http_port, gw.grpc_port = admin_ports(gw.log_path) or (None, None)
        gw.admin_grpc = "%s:%d" % (ADMIN_IP, gw.grpc_port or 0)
        return gw


def get_account(api, ledger, address, metadata=(), timeout=10.0):
    return api.call("GetAccount", api.msg(SERVICE.rsplit(".", 1)[0] + ".GetAccountRequest",
                                          ledger=ledger, address=address), metadata, timeout)


# ---- sections -----------------------------------------------------------------------------------

def base_config(upstream, more=""):
    return ("listen: 127.0.0.1:0\n"
            "admin:\n  listen: %s:0\n  grpc_listen: %s:0\n"
            "upstream:\n  url: %s\n"
            "log:\n  format: json\n"
            "%s") % (ADMIN_IP, ADMIN_IP, upstream.url, more)


def section_metrics_trace_logs(env, only):
    up = ru.Upstream("127.0.0.1").start()
    up.script(b"/api/auth/oauth/token", "token")
    up.script(b"/api/ledger/v2/flaky/", "error_big", status=503, code_bytes=8)
    gw = env.gateway("main", base_config(up, (
        "auth:\n  client_id: ops-client\n"
        "cache:\n  rules:\n    - method: formance.ledger.v2.LedgerService/GetLedger\n      ttl: 60s\n"
        "retry:\n  initial_backoff: 10ms\n  max_backoff: 20ms\n")),
        env={"FORMANCE_CLIENT_SECRET": SECRET})
    try:
        if not check(gw.http_port and gw.grpc_port, "admin listeners logged their ports"):
            return
        api = env.api(gw.target)
        pkg = SERVICE.rsplit(".", 1)[0]

        # Probes before any call: /readyz asks for a token, then says ready.
        st, body, _ = admin_get(gw.http_port, "/healthz")
        check(st == 200 and body == "ok\n", "/healthz: %s %r" % (st, body))
        ready = eventually(lambda: admin_get(gw.http_port, "/readyz")[0] == 200, 10)
        check(ready, "/readyz turns 200 once a token was obtained: %s" % (admin_get(gw.http_port, "/readyz"),))
        check(eventually(lambda: health(gw.admin_grpc, "readiness") == SERVING, 5),
              "admin grpc readiness SERVING: %r" % (health(gw.admin_grpc, "readiness"),))
        check(health(gw.admin_grpc, "") == SERVING, "admin grpc \"\" SERVING")
        check(health(gw.target, "") == SERVING, "API listener health SERVING")
        check(health("127.0.0.1:%d" % gw.grpc_port, "") == "UNAVAILABLE",
              "admin gRPC port is not open on 127.0.0.1")
        st, _, _ = admin_get(gw.http_port, "/metrics", "POST")
        check(st == 405, "POST /metrics is 405, got %s" % st)

        if "metrics" in only:
            ok = [get_account(api, "main", "users:001") for _ in range(5)]
            check(all(r.code == "OK" for r in ok), "5 GetAccount OK: %s" % [r.code for r in ok])
            for _ in range(2):
                r = api.call("GetTransaction", api.msg(pkg + ".GetTransactionRequest", ledger="main", id="1"))
                check(r.code == "NOT_FOUND", "GetTransaction NOT_FOUND, got %s %s" % (r.code, r.details))
            cached = [api.call("GetLedger", api.msg(pkg + ".GetLedgerRequest", ledger="cached")) for _ in range(3)]
            check([r.code for r in cached] == ["OK"] * 3, "GetLedger x3 OK")
            check(sum(1 for r in cached if ("formance-cache", "hit") in r.trailing) == 2, "two cache hits")
            flaky = get_account(api, "flaky", "a")
            check(flaky.code == "UNAVAILABLE", "503 x4 -> UNAVAILABLE, got %s" % flaky.code)

            st, text, headers = admin_get(gw.http_port, "/metrics")
            check(st == 200 and headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
                  "/metrics 200 text/plain; version=0.0.4: %s %s" % (st, headers.get("Content-Type")))
            try:
                samples, types = parse_prometheus(text)
            except ValueError as e:
                check(False, "/metrics does not parse: %s" % e)
                return
            g = dict(grpc_type="unary", grpc_service=SERVICE)
            expect = [
                ("grpc_server_started_total", dict(g, grpc_method="GetAccount"), 6),
                ("grpc_server_handled_total", dict(g, grpc_method="GetAccount", grpc_code="OK"), 5),
                ("grpc_server_handled_total", dict(g, grpc_method="GetAccount", grpc_code="Unavailable"), 1),
                ("grpc_server_handled_total", dict(g, grpc_method="GetTransaction", grpc_code="NotFound"), 2),
                ("grpc_server_handled_total", dict(g, grpc_method="GetLedger", grpc_code="OK"), 3),
                ("grpc_server_handling_seconds_count", dict(g, grpc_method="GetAccount"), 6),
                ("grpc_server_handling_seconds_bucket", dict(g, grpc_method="GetAccount", le="+Inf"), 6),
                ("fgw_upstream_requests_total", dict(operation_id="v2GetAccount", status_class="2xx"), 5),
                ("fgw_upstream_requests_total", dict(operation_id="v2GetAccount", status_class="5xx"), 4),
                ("fgw_upstream_requests_total", dict(operation_id="v2GetTransaction", status_class="4xx"), 2),
                ("fgw_upstream_requests_total", dict(operation_id="v2GetLedger", status_class="2xx"), 1),
                ("fgw_upstream_request_duration_seconds_count", dict(operation_id="v2GetAccount"), 9),
                ("fgw_upstream_retries_total", dict(reason="http_503"), 3),
                ("fgw_upstream_retries_total", dict(reason="unavailable"), 0),
                ("fgw_upstream_retry_budget_exhausted_total", {}, 0),
                ("fgw_cache_lookups_total", dict(result="hit"), 2),
                ("fgw_cache_lookups_total", dict(result="miss"), 1),
                ("fgw_cache_lookups_total", dict(result="coalesced"), 0),
                ("fgw_calls_in_flight", {}, 0),
                ("fgw_token_request_failures_total", {}, 0),
            ]
            for name, labels, want in expect:
                got = value(samples, name, **labels)
                check(got == want, "%s%s = %s, want %s" % (name, labels, got, want))
            tokens = value(samples, "fgw_token_requests_total")
            check(tokens is not None and 1 <= tokens <= 3, "fgw_token_requests_total %s in 1..3" % tokens)
            check(value(samples, "fgw_upstream_connections_open") is not None, "fgw_upstream_connections_open")
            check(types.get("grpc_server_handling_seconds") == "histogram", "handling_seconds is a histogram")
            check(types.get("grpc_server_handled_total") == "counter", "handled_total is a counter")
            # Buckets are cumulative and end in the count.
            buckets = sorted(((float(l["le"]), v) for n, l, v in samples
                              if n == "grpc_server_handling_seconds_bucket" and l.get("grpc_method") == "GetAccount"))
            check(all(a[1] <= b[1] for a, b in zip(buckets, buckets[1:])), "buckets cumulative: %s" % buckets)
            # Label sets: exactly go-grpc-prometheus'; nothing from a request.
            want_keys = {
                "grpc_server_started_total": {"grpc_type", "grpc_service", "grpc_method"},
                "grpc_server_handled_total": {"grpc_type", "grpc_service", "grpc_method", "grpc_code"},
                "grpc_server_handling_seconds_bucket": {"grpc_type", "grpc_service", "grpc_method", "le"},
                "grpc_server_handling_seconds_sum": {"grpc_type", "grpc_service", "grpc_method"},
                "grpc_server_handling_seconds_count": {"grpc_type", "grpc_service", "grpc_method"},
                "fgw_upstream_requests_total": {"operation_id", "status_class"},
            }
            for n, l, _ in samples:
                if n in want_keys:
                    check(set(l) == want_keys[n], "%s labels %s" % (n, sorted(l)))
                for v in l.values():
                    check("/" not in v and "users" not in v and "flaky" not in v and "cached" not in v,
                          "no path or request value in a label: %s=%r" % (n, v))
            check("/api/" not in text and "users:001" not in text, "no raw path in /metrics")

        if "trace" in only:
            section_trace(api, up, gw)
        if "logs" in only:
            section_logs(gw, up)
    finally:
        gw.stop()
        up.stop()


def section_trace(api, up, gw):
    trace_id, span = secrets.token_hex(16), secrets.token_hex(8)
    tp = "00-%s-%s-01" % (trace_id, span)
    n = up.count()
    r = get_account(api, "trace", "t1", metadata=[("traceparent", tp), ("tracestate", "congo=t61rcWkgMzE")])
    check(r.code == "OK", "traced call OK: %s" % r.code)
    reqs = [q for q in up.since(n) if q.path() == b"/api/ledger/v2/trace/accounts/t1"]
    check(len(reqs) == 1, "one upstream request for the traced call, got %d" % len(reqs))
    if reqs:
        got = parse_traceparent((reqs[0].header("traceparent") or b"").decode())
        check(got is not None, "upstream got a valid traceparent: %r" % reqs[0].header("traceparent"))
        if got:
            check(got[0] == trace_id, "same trace id upstream: %s vs %s" % (got[0], trace_id))
            check(got[1] != span, "a new span id upstream (not the caller's)")
            check(got[2] == "01", "flags kept")
        check(reqs[0].header("tracestate") == b"congo=t61rcWkgMzE", "tracestate passed on")
    # One span per attempt.
    trace2 = secrets.token_hex(16)
    n = up.count()
    r = get_account(api, "flaky", "b", metadata=[("traceparent", "00-%s-%s-01" % (trace2, secrets.token_hex(8)))])
    attempts = [parse_traceparent((q.header("traceparent") or b"").decode()) for q in up.since(n)
                if q.path().startswith(b"/api/ledger/v2/flaky/")]
    check(len(attempts) == 4 and all(a and a[0] == trace2 for a in attempts),
          "4 attempts carry the caller's trace id: %s" % attempts)
    check(len({a[1] for a in attempts if a}) == 4, "4 distinct span ids, one per attempt")
    # Invalid and absent: a new valid trace.
    for label, md in (("invalid", [("traceparent", "00-" + "A" * 32 + "-" + "b" * 16 + "-01"),
                                   ("tracestate", "congo=x")]), ("absent", [])):
        n = up.count()
        r = get_account(api, "trace", label, metadata=md)
        check(r.code == "OK", "%s traceparent: call OK (%s)" % (label, r.code))
        reqs = [q for q in up.since(n) if q.path() == ("/api/ledger/v2/trace/accounts/" + label).encode()]
        got = parse_traceparent((reqs[0].header("traceparent") or b"").decode()) if reqs else None
        check(got is not None and got[0] != "a" * 32, "%s traceparent: a new valid trace upstream: %s" % (label, got))
        if reqs:
            check(reqs[0].header("tracestate") is None, "%s traceparent: no tracestate upstream" % label)
        if got:
            lines = [l for l in json_lines(gw.log_path) if l.get("trace_id") == got[0]]
            check(len(lines) == 1 and lines[0].get("operation_id") == "v2GetAccount",
                  "%s: the call's log line has the new trace id: %s" % (label, lines))
    lines = [l for l in json_lines(gw.log_path) if l.get("trace_id") == trace_id]
    check(len(lines) == 1, "the traced call's log line carries its trace id: %s" % lines)
    if lines:
        l = lines[0]
        check(l.get("grpc_code") == "OK" and l.get("http_status") == 200 and l.get("attempts") == 1,
              "traced call's line: %s" % l)


def section_logs(gw, up):
    lines = json_lines(gw.log_path)
    check(len(lines) > 10, "the gateway logged (%d lines)" % len(lines))
    bad = [l for l in lines if "unparsed" in l or not {"time", "level", "msg"} <= set(l)]
    check(not bad, "every log line is a JSON object with time, level, msg: %s" % bad[:3])
    calls = [l for l in lines if l.get("msg") == "call"]
    check(len(calls) >= 10, "call lines: %d" % len(calls))
    fields = {"method", "operation_id", "grpc_code", "http_status", "attempts", "latency_ms", "trace_id"}
    check(all(fields <= set(l) for l in calls), "call lines carry %s" % sorted(fields))
    check(all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", l.get("time", "")) for l in lines),
          "times are RFC 3339 UTC")
    text = open(gw.log_path, "rb").read()
    check(SECRET.encode() not in text, "the client secret is not in the log")
    for token in up.tokens_issued:
        check(token.encode() not in text, "an access token is not in the log")
    check(b"users:001" not in text and b"congo=" not in text, "no request value or header value in the log")


def section_drain(env):
    up = ru.Upstream("127.0.0.1").start()
    up.script(b"/api/ledger/v2/slow/", "normal", delay=3.0)
    gw = env.gateway("drain", base_config(up, (
        "grpc:\n  drain_delay: 1s\n  shutdown_grace: 20s\n"
        "limits:\n  max_upstream_connections: 512\n")))
    try:
        api = env.api(gw.target)
        stub = api.stub("GetAccount")
        pkg = SERVICE.rsplit(".", 1)[0]
        n0 = up.count()
        futures = [stub.future(api.msg(pkg + ".GetAccountRequest", ledger="slow", address="u%d" % i), timeout=30)
                   for i in range(200)]
        arrived = eventually(lambda: sum(1 for q in up.since(n0) if q.path().startswith(b"/api/ledger/v2/slow/")) >= 200, 10)
        check(arrived, "200 calls reached the slow upstream")
        t0 = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)
        check(eventually(lambda: admin_get(gw.http_port, "/readyz")[0] == 503, 1.0),
              "/readyz 503 at once after SIGTERM")
        check(health(gw.admin_grpc, "") == NOT_SERVING, "admin grpc \"\" NOT_SERVING during the drain")
        check(health(gw.admin_grpc, "readiness") == NOT_SERVING, "admin grpc readiness NOT_SERVING")
        check(health(gw.target, "") == NOT_SERVING, "API listener health NOT_SERVING during the drain")
        check(admin_get(gw.http_port, "/healthz")[0] == 200, "/healthz still 200 (live) during the drain")
        during = get_account(api, "fast", "x", timeout=5)
        check(during.code == "OK" and time.monotonic() - t0 < 1.0,
              "a new call during drain_delay is served: %s after %.2fs" % (during.code, time.monotonic() - t0))
        # After the delay the listener is closed: a new connection gets UNAVAILABLE while the
        # 200 are still in flight.
        time.sleep(max(0.0, 1.5 - (time.monotonic() - t0)))
        fresh = sysutil.Api(env.args.descriptor_set, gw.target, SERVICE)
        late = get_account(fresh, "fast", "y", timeout=2)
        check(late.code == "UNAVAILABLE", "a new call after the listener closed: %s" % late.code)
        check(sum(1 for f in futures if f.done()) < 200, "the 200 were still in flight then")
        codes = []
        for f in futures:
            try:
                f.result(timeout=25)
                codes.append("OK")
            except grpc.RpcError as e:
                codes.append(e.code().name)
        ok = codes.count("OK")
        check(ok == 200, "all 200 in-flight calls completed OK during the drain: %d OK, others %s" % (
            ok, sorted(set(c for c in codes if c != "OK"))))
        rc = gw.proc.wait(timeout=25)
        check(rc == 0, "exit code 0 after the drain, got %s" % rc)
        elapsed = time.monotonic() - t0
        check(elapsed < 10, "drain finished in %.1fs (delay 1 s + 3 s upstream)" % elapsed)
        print("NOTE: drain: 200 calls OK, exited after %.2f s" % elapsed)
    finally:
        gw.stop()
        up.stop()


def section_reload(env):
    up = ru.Upstream("127.0.0.1").start()
    text = base_config(up, "cache:\n  rules:\n    - method: formance.ledger.v2.LedgerService/GetLedger\n      ttl: 60s\n")
    gw = env.gateway("reload", text)
    try:
        api = env.api(gw.target)
        log = lambda: open(gw.log_path, "rb").read().decode("utf-8", "replace")  # noqa: E731
        # A changed file: log.level info -> debug (checked every 2 s).
        write(gw.cfg, text.replace("format: json\n", "format: json\n  level: debug\n"))
        check(eventually(lambda: "reload: log.level info -> debug" in log(), 8),
              "a changed config file is applied (log.level)")
        # An invalid file: kept out, logged, still serving.
        write(gw.cfg, text + "retry:\n  max_attempts: 0\n")
        check(eventually(lambda: "reload: keeping the running config" in log() and
                         "retry.max_attempts" in log(), 8), "an invalid config file is refused and logged")
        r = get_account(api, "main", "a")
        check(r.code == "OK", "still serving after an invalid reload: %s" % r.code)
        # SIGHUP: new cache rules (GetAccount cached too).
        write(gw.cfg, base_config(up, (
            "cache:\n  rules:\n"
            "    - method: formance.ledger.v2.LedgerService/GetLedger\n      ttl: 60s\n"
            "    - method: formance.ledger.v2.LedgerService/GetAccount\n      ttl: 60s\n")))
        gw.proc.send_signal(signal.SIGHUP)

        def applied_after_sighup():
            lines = [l.get("msg", "") for l in json_lines(gw.log_path)]
            if "received SIGHUP, reloading the config" not in lines:
                return False
            return "reload: applied" in lines[lines.index("received SIGHUP, reloading the config"):]
        check(eventually(applied_after_sighup, 5), "SIGHUP reloads and applies")
        a = get_account(api, "main", "cached-after-reload")
        b = get_account(api, "main", "cached-after-reload")
        check(a.code == "OK" and ("formance-cache", "hit") in b.trailing,
              "GetAccount cached after the reload: %s %s" % (a.code, b.trailing))
        check(health(gw.target, "") == SERVING, "serving after reloads")
    finally:
        gw.stop()
        up.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--descriptor-set", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--only", default="")
    args = p.parse_args()
    only = set(filter(None, args.only.split(","))) or {"metrics", "trace", "logs", "drain", "reload"}
    env = Env(args)
    t = time.monotonic()
    if only & {"metrics", "trace", "logs"}:
        section_metrics_trace_logs(env, only)
        print("sections metrics/trace/logs: %.1f s" % (time.monotonic() - t), flush=True)
    if "drain" in only:
        t = time.monotonic()
        section_drain(env)
        print("section drain: %.1f s" % (time.monotonic() - t), flush=True)
    if "reload" in only:
        t = time.monotonic()
        section_reload(env)
        print("section reload: %.1f s" % (time.monotonic() - t), flush=True)
    return sysutil.report()


if __name__ == "__main__":
    sys.exit(main())
