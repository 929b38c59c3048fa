#!/usr/bin/python3
"""A fault-injecting HTTP/1.1 proxy to put between the gateway and a fake upstream.

Standard library only. Run:
  /usr/bin/python3 tests/fakes/fault_proxy.py --upstream http://127.0.0.1:PORT [--port N] [--seed S]
      [--rate-503 R] [--rate-429 R] [--rate-reset R] [--rate-delay R] [--rate-drop R] ...
It binds 127.0.0.1 (port 0 = a free port) and prints "listening on PORT" once it accepts.

A separate process (not built into fake_ledger.py) so that the fake stays a plain Formance fake
that tests can always query directly, bypassing every fault.

For each request whose path matches --path-regex (default ^/api/) one seeded random draw picks at
most one fault (the rates are probabilities and must add up to <= 1):
  status_503    answer 503 without forwarding; starts a burst: the next 0..burst_max-1 matching
                requests get 503 too. Some carry Retry-After (see --retry-after-*).
  status_429    same with 429 (Too Many Requests).
  reset_before  read the whole request, then reset the connection (RST) without forwarding:
                the request is never applied, but the client cannot know that.
  delay         forward, then hold the response for 1..delay_max_ms before answering.
  drop_after    forward (the upstream APPLIES the request), then reset the connection without
                answering: the dangerous case a write without idempotency must never retry.
Faults stop after --max-faults (0 = no limit). Bursts, delays and Retry-After are bounded.

Randomness is seeded (--seed), so the sequence of decisions is reproducible; which request gets
which decision depends on arrival order under concurrency.

Control endpoints (answered by the proxy itself, never forwarded, never faulted):
  GET  /_fault/stats         {"requests", "forwarded", "faults": {kind: n}, "retry_after": n, ...}
  POST /_fault/config        JSON object with any of: rate_503, rate_429, rate_reset, rate_delay,
                             rate_drop, burst_max, delay_max_ms, retry_after_rate, retry_after_max,
                             max_faults, path_regex, enabled (bool)
  POST /_fault/script        {"method": "POST", "path_regex": "^/api/ledger/v2/[^/]+$",
                              "actions": ["drop_after", "none", ...]}: the next matching requests
                             get these actions in order, before (and instead of) random faults.
  POST /_fault/reset_stats   zero the counters and clear scripts
Requests that do not match --path-regex are forwarded untouched.
"""

import argparse
import http.client
import json
import random
import re
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length"}
KINDS = ("status_503", "status_429", "reset_before", "delay", "drop_after")


class FaultState:
    def __init__(self, args):
        self.lock = threading.Lock()
        self.rng = random.Random(args.seed)
        self.cfg = {
            "rate_503": args.rate_503, "rate_429": args.rate_429, "rate_reset": args.rate_reset,
            "rate_delay": args.rate_delay, "rate_drop": args.rate_drop, "burst_max": args.burst_max,
            "delay_max_ms": args.delay_max_ms, "retry_after_rate": args.retry_after_rate,
            "retry_after_max": args.retry_after_max, "max_faults": args.max_faults,
            "path_regex": args.path_regex, "enabled": True,
        }
        self.path_re = re.compile(args.path_regex)
        self.reset_stats()

    def reset_stats(self):
        self.requests = 0
        self.forwarded = 0
        self.faults = {k: 0 for k in KINDS}
        self.scripted = 0
        self.retry_after = 0
        self.upstream_errors = 0
        self.burst = None  # [kind, remaining]
        self.scripts = []  # [method, regex, [actions]]

    def total_faults(self):
        return sum(self.faults.values())

    def configure(self, values):
        for k, v in values.items():
            if k not in self.cfg:
                raise ValueError("unknown setting %r" % k)
            self.cfg[k] = v
        if "path_regex" in values:
            self.path_re = re.compile(self.cfg["path_regex"])
        rates = sum(self.cfg[k] for k in ("rate_503", "rate_429", "rate_reset", "rate_delay", "rate_drop"))
        if rates > 1.0 + 1e-9:
            raise ValueError("rates add up to %s > 1" % rates)

    def decide(self, method, path):
        """Returns (kind or None, params)."""
        with self.lock:
            self.requests += 1
            for s in self.scripts:
                if (not s[0] or s[0] == method) and s[1].search(path) and s[2]:
                    kind = s[2].pop(0)
                    self.scripted += 1
                    kind = None if kind in (None, "none") else kind
                    if kind:
                        self.faults[kind] += 1
                    return kind, self._params(kind)
            c = self.cfg
            if not c["enabled"] or not self.path_re.search(path):
                return None, {}
            if c["max_faults"] and self.total_faults() >= c["max_faults"]:
                return None, {}
            if self.burst is not None:
                kind = self.burst[0]
                self.burst[1] -= 1
                if self.burst[1] <= 0:
                    self.burst = None
                self.faults[kind] += 1
                return kind, self._params(kind)
            x = self.rng.random()
            kind = None
            for k, rate in (("status_503", c["rate_503"]), ("status_429", c["rate_429"]),
                            ("reset_before", c["rate_reset"]), ("delay", c["rate_delay"]),
                            ("drop_after", c["rate_drop"])):
                if x < rate:
                    kind = k
                    break
                x -= rate
            if kind is None:
                return None, {}
            if kind in ("status_503", "status_429") and c["burst_max"] > 1:
                extra = self.rng.randint(0, c["burst_max"] - 1)
                if extra:
                    self.burst = [kind, extra]
            self.faults[kind] += 1
            return kind, self._params(kind)

    def _params(self, kind):
        c = self.cfg
        if kind == "delay":
            return {"delay_s": self.rng.randint(1, max(1, int(c["delay_max_ms"]))) / 1000.0}
        if kind in ("status_503", "status_429") and self.rng.random() < c["retry_after_rate"]:
            self.retry_after += 1
            return {"retry_after": str(self.rng.randint(0, int(c["retry_after_max"])))}
        return {}

    def stats(self):
        with self.lock:
            return {"requests": self.requests, "forwarded": self.forwarded, "faults": dict(self.faults),
                    "faults_total": self.total_faults(), "scripted": self.scripted,
                    "retry_after": self.retry_after, "upstream_errors": self.upstream_errors,
                    "config": dict(self.cfg)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fault-proxy"
    sys_version = ""
    state = None  # FaultState
    upstream = None  # (host, port)
    local = threading.local()

    def log_message(self, fmt, *args):
        pass

    def version_string(self):
        return self.server_version

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                n = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304) and body:
            self.wfile.write(body)

    def _reset(self):
        """Abortive close: RST instead of FIN, no answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass

    def _forward(self, body):
        conn = getattr(self.local, "conn", None)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = "%s:%d" % self.upstream
        if body or self.command in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(body))
        for attempt in (0, 1):  # a stale keep-alive connection to the upstream is reopened once
            if conn is None:
                conn = http.client.HTTPConnection(*self.upstream, timeout=30)
                self.local.conn = conn
            try:
                conn.request(self.command, self.path, body=body if body else None, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP_BY_HOP]
                if resp.will_close:
                    conn.close()
                    self.local.conn = None
                return resp.status, out, data
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = None
                self.local.conn = None
                if attempt == 1:
                    raise

    def _control(self, body):
        path = urlsplit(self.path).path
        st = self.state
        try:
            if path == "/_fault/stats" and self.command == "GET":
                return 200, st.stats()
            if path == "/_fault/config" and self.command == "POST":
                with st.lock:
                    st.configure(json.loads(body or b"{}"))
                return 200, st.stats()["config"]
            if path == "/_fault/script" and self.command == "POST":
                s = json.loads(body)
                for a in s["actions"]:
                    if a not in KINDS and a not in (None, "none"):
                        raise ValueError("unknown action %r" % a)
                with st.lock:
                    st.scripts.append([s.get("method", ""), re.compile(s["path_regex"]), list(s["actions"])])
                return 200, {"ok": True}
            if path == "/_fault/reset_stats" and self.command == "POST":
                with st.lock:
                    st.reset_stats()
                return 200, {"ok": True}
        except (ValueError, KeyError, re.error) as e:
            return 400, {"error": str(e)}
        return 404, {"error": "unknown control endpoint"}

    def _handle(self):
        body = self._read_body()
        if self.path.startswith("/_fault/"):
            status, obj = self._control(body)
            return self._send(status, [("Content-Type", "application/json")], json.dumps(obj).encode())
        kind, params = self.state.decide(self.command, urlsplit(self.path).path)
        if kind in ("status_503", "status_429"):
            status = 503 if kind == "status_503" else 429
            headers = [("Content-Type", "text/plain; charset=utf-8")]
            if "retry_after" in params:
                headers.append(("Retry-After", params["retry_after"]))
            text = b"fault injected: service unavailable\n" if status == 503 else b"fault injected: too many requests\n"
            return self._send(status, headers, text)
        if kind == "reset_before":
            return self._reset()
        try:
            status, headers, data = self._forward(body)
        except (OSError, http.client.HTTPException) as e:
            with self.state.lock:
                self.state.upstream_errors += 1
            return self._send(502, [("Content-Type", "text/plain")], ("fault proxy: upstream error %s\n" % e).encode())
        with self.state.lock:
            self.state.forwarded += 1
        if kind == "drop_after":
            return self._reset()
        if kind == "delay":
            time.sleep(params["delay_s"])
        self._send(status, headers, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, OSError, ValueError):
            pass  # the client went away, or we reset the connection ourselves


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(description="fault-injecting proxy")
    ap.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate-503", type=float, default=0.0)
    ap.add_argument("--rate-429", type=float, default=0.0)
    ap.add_argument("--rate-reset", type=float, default=0.0)
    ap.add_argument("--rate-delay", type=float, default=0.0)
    ap.add_argument("--rate-drop", type=float, default=0.0)
    ap.add_argument("--burst-max", type=int, default=3, help="longest 503/429 burst")
    ap.add_argument("--delay-max-ms", type=int, default=200)
    ap.add_argument("--retry-after-rate", type=float, default=0.3, help="share of 503/429 with Retry-After")
    ap.add_argument("--retry-after-max", type=int, default=1, help="largest Retry-After, seconds")
    ap.add_argument("--max-faults", type=int, default=0, help="stop injecting after this many (0: never)")
    ap.add_argument("--path-regex", default="^/api/")
    args = ap.parse_args(argv)
    u = urlsplit(args.upstream)
    if u.scheme != "http" or not u.hostname:
        ap.error("--upstream must be http://host:port")
    Handler.upstream = (u.hostname, u.port or 80)
    Handler.state = FaultState(args)
    try:
        with Handler.state.lock:
            Handler.state.configure({})
    except ValueError as e:
        ap.error(str(e))
    srv = Server((args.host, args.port), Handler)
    print("listening on %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
