#!/usr/bin/python3
"""Hostile-input suite (issue 9): every class of hostile input, through the real daemon, against
a recording upstream (recording_upstream.py). For each case it asserts what reached the upstream,
what the caller got, that the daemon is still alive, and the daemon's peak RSS (VmHWM).

Started by run_hostile_test.sh (which owns the temp dir and kills every pid listed in
$FGW_SYS_PIDFILE on exit). Sections:
  1  header values: Idempotency-Key (field and `idempotency-key` metadata, the latter through a
     raw HTTP/2 client since grpcio refuses such metadata) with e-acute, LF, CRLF, NUL; a request
     smuggled in If-None-Match; then distinct GetAccount calls must get their own accounts back
  2  dot segments in path parameters ("." and ".." refused; "a/b" -> a%2Fb; users:001 kept)
  3  redirects (302/301/307/308 to a second recording server on 127.0.0.2): FAILED_PRECONDITION,
     nothing (no token) reaches the second server, a write is never OK
  4  memory: 15 MB path parameter (once, four at once), oversized header, 200 MB replies with
     Content-Length and chunked; VmHWM < 128 MiB
  4b probes on a daemon of their own: one 200 MB chunk (RESOURCE_EXHAUSTED), 64 MB of reply
     headers, eight 15 MB parameters at once (codes and peak RSS printed as NOTEs)
  5  connections: limits.max_upstream_connections (300 calls, <= 16 sockets) and
     limits.max_calls_in_flight (200 calls, some RESOURCE_EXHAUSTED, <= 50 upstream at once)
  6  a 400 with a 20 KB errorCode: INVALID_ARGUMENT with a bounded message, trailers parse
  7  token endpoint answering garbage / expires_in 0 / a token with CR LF: <= 3 token requests
     for 50 calls, the right code, no CR/LF token upstream
  9  outcome honesty: an unkeyed write whose TLS connection fails after it was written: one attempt
  8  the daemon is alive and answers; VmHWM printed
Behaviour contract: the `limits:` section and the codes above (see tests/hostile/README.md).
Exit 0 pass, 1 fail.
"""

import argparse
import collections
import os
import re
import resource
import secrets
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from urllib.parse import unquote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import recording_upstream as ru  # noqa: E402
import sysutil  # noqa: E402

import grpc  # noqa: E402

try:
    import h2.config  # noqa: E402
    import h2.connection  # noqa: E402
    import h2.events  # noqa: E402
    import h2.exceptions  # noqa: E402
    H2_ERROR = None
except ImportError as e:  # python3-h2 is a Debian package; without it the metadata sub-case is skipped
    H2_ERROR = str(e)

LEDGER = "formance.ledger.v2.LedgerService"
AUTH = "formance.auth.v1.AuthService"
PAYMENTS = "formance.payments.v3.PaymentsService"
MIB = 1024 * 1024
HWM_LIMIT_KB = 128 * 1024
MESSAGE_BOUND = 4096          # "bounded message": a status message longer than this is not bounded
SKIPS = []
CODE_NAMES = {sc.value[0]: sc.name for sc in grpc.StatusCode}

check = sysutil.check


def say(fmt, *a):
    print(fmt % a if a else fmt, flush=True)


def proc_status(pid, key):
    """A /proc/<pid>/status field in kB (VmHWM, VmRSS), or -1."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def names_field(details, names):
    low = (details or "").lower()
    return any(n.lower() in low for n in names)


def short(s, n=140):
    s = s or ""
    return s if len(s) <= n else s[:n] + "...(%d chars)" % len(s)


# ---- the daemon ---------------------------------------------------------------------------------
class Daemon:
    """The real binary with one YAML config; restarted (and the death reported) when it dies."""

    def __init__(self, args, label, upstream, yaml_extra="", env_extra=None):
        self.args, self.label, self.upstream = args, label, upstream
        self.yaml_extra, self.env_extra = yaml_extra, dict(env_extra or {})
        self.gw = None
        self.apis = {}
        self.deaths = 0
        self.starts = 0
        self.config_note = None
        self.max_hwm_kb = 0     # the largest VmHWM seen across resets and restarts

    def _env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FORMANCE_", "FGW_", "GRPC_"))}
        env.update(self.env_extra)
        return env

    def _write_config(self, extra):
        path = os.path.join(self.args.tmp, "%s.yaml" % self.label)
        with open(path, "w") as f:
            f.write('listen: "127.0.0.1:0"\nupstream:\n  url: "%s"\n' % self.upstream.url)
            f.write(extra)
        return path

    def start(self):
        self.starts += 1
        log = os.path.join(self.args.tmp, "gateway-%s-%d.log" % (self.label, self.starts))
        cfg = self._write_config(self.yaml_extra)
        self.gw = sysutil.Gateway(self.args.binary, ["--config", cfg, "--listen", "127.0.0.1:0"], self._env(), log)
        try:
            self.gw.start()
        except RuntimeError as e:
            if "limits:" not in self.yaml_extra:
                raise
            # The config loader does not know the `limits:` section (yet): the contract says it
            # must. Reported, then run without it so the rest of the section still measures.
            self.config_note = " ".join(str(e).split())
            check(False, "%s: the daemon refused the `limits:` config: %s" % (self.label, short(self.config_note, 400)))
            stripped = self.yaml_extra.split("limits:", 1)[0]
            cfg = self._write_config(stripped)
            log = log.replace(".log", "-nolimits.log")
            self.gw = sysutil.Gateway(self.args.binary, ["--config", cfg, "--listen", "127.0.0.1:0"],
                                      self._env(), log)
            self.gw.start()
            say("   (%s running WITHOUT its limits: section)", self.label)
        self.apis = {}
        return self

    @property
    def pid(self):
        return self.gw.proc.pid

    def api(self, service):
        if service not in self.apis:
            self.apis[service] = sysutil.Api(self.args.descriptor_set, self.gw.target, service)
        return self.apis[service]

    def call(self, service, method, request, metadata=(), timeout=10.0):
        return self.api(service).call(method, request, metadata, timeout)

    def alive(self):
        if self.gw is None or self.gw.proc.poll() is not None:
            return False
        try:
            os.kill(self.gw.proc.pid, 0)
            return True
        except OSError:
            return False

    def hwm_kb(self):
        """VmHWM of the running process (since its start or the last reset_hwm)."""
        return proc_status(self.pid, "VmHWM")

    def peak_kb(self):
        """The largest VmHWM this daemon has shown, across reset_hwm() calls and restarts."""
        self.max_hwm_kb = max(self.max_hwm_kb, self.hwm_kb())
        return self.max_hwm_kb

    def reset_hwm(self):
        """Starts a new peak measurement (echo 5 > /proc/PID/clear_refs); peak_kb() keeps the old
        one. Returns False when the kernel refuses (the figures are then cumulative)."""
        self.peak_kb()
        try:
            with open("/proc/%d/clear_refs" % self.pid, "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def rss_kb(self):
        return proc_status(self.pid, "VmRSS")

    def log_tail(self, n=6):
        try:
            with open(self.gw.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return ""
        return " | ".join(l[:200] for l in lines[-n:])

    def after(self, label):
        """Checks the daemon survived `label`; restarts it when it did not. Returns alive."""
        time.sleep(0.05)
        if self.alive():
            return True
        rc = self.gw.proc.wait()
        how = ("killed by %s" % signal.Signals(-rc).name) if rc < 0 else "exit %d" % rc
        self.deaths += 1
        check(False, "%s: the daemon died after '%s' (%s); log tail: %s" % (self.label, label, how, self.log_tail()))
        for api in self.apis.values():
            api.channel.close()
        self.start()
        say("   (daemon %s restarted, pid %d)", self.label, self.pid)
        return False

    def stop(self):
        for api in self.apis.values():
            api.channel.close()
        hwm = self.peak_kb()
        rc = self.gw.stop()
        return rc, hwm


# ---- requests -----------------------------------------------------------------------------------
def get_account(api, ledger, address):
    return api.msg("formance.ledger.v2.GetAccountRequest", ledger=ledger, address=address)


def create_tx(api, ledger, key=None):
    body = api.msg("formance.ledger.v2.V2PostTransaction",
                   postings=[api.msg("formance.ledger.v2.V2Posting", source="world", destination="users:1",
                                     amount="100", asset="USD/2")])
    kw = {"ledger": ledger, "v2_post_transaction": body}
    if key is not None:
        kw["idempotency_key"] = key
    return api.msg("formance.ledger.v2.CreateTransactionRequest", **kw)


def show(label, r, extra=""):
    say("   %-52s %-19s %s%s", label, r.code, short(r.details, 110), extra)


def expect_refused(d, up, label, service, method, request, code, field_names=None, metadata=(), timeout=10.0,
                   settle=0.2):
    """One call that must be refused with `code` (naming a field when `field_names`), with nothing
    reaching the upstream, and the daemon alive afterwards."""
    n0 = up.count()
    r = d.call(service, method, request, metadata, timeout)
    time.sleep(settle)
    sent = up.since(n0)
    show(label, r, "  [upstream got %d]" % len(sent))
    check(r.code == code, "%s: expected %s, got %s (%s)" % (label, code, r.code, short(r.details, 300)))
    if field_names:
        check(names_field(r.details, field_names), "%s: expected the message to name the field (%s), got %r"
              % (label, " or ".join(field_names), short(r.details, 300)))
    check(not sent, "%s: expected nothing sent upstream, it received %d request(s): %s"
          % (label, len(sent), "; ".join(x.short() for x in sent[:3])))
    d.after(label)
    return r, sent


# ---- a raw HTTP/2 gRPC client (python3-h2) ------------------------------------------------------
def h2_unary(host, port, path, payload, extra_headers, timeout=10.0):
    """One unary gRPC call with headers exactly as given (no client-side validation).
    Returns a dict: code (int or None), message, headers, trailers, reset, closed, error."""
    cfg = h2.config.H2Configuration(client_side=True, header_encoding=None, validate_outbound_headers=False,
                                    normalize_outbound_headers=False, validate_inbound_headers=False)
    conn = h2.connection.H2Connection(config=cfg)
    out = {"headers": [], "trailers": [], "data": b"", "reset": None, "closed": None, "error": None}
    end = time.monotonic() + timeout
    try:
        s = socket.create_connection((host, port), timeout=timeout)
    except OSError as e:
        out["error"] = repr(e)
        out["code"], out["message"] = None, ""
        return out
    try:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        hdrs = [(b":method", b"POST"), (b":scheme", b"http"), (b":path", path.encode()),
                (b":authority", ("%s:%d" % (host, port)).encode()), (b"content-type", b"application/grpc"),
                (b"te", b"trailers"), (b"grpc-timeout", b"%dm" % int(timeout * 1000))] + list(extra_headers)
        conn.send_headers(sid, hdrs)
        conn.send_data(sid, b"\x00" + struct.pack(">I", len(payload)) + payload, end_stream=True)
        s.sendall(conn.data_to_send())
        done = False
        for _ in range(10000):
            if done or time.monotonic() >= end:
                break
            s.settimeout(max(0.05, end - time.monotonic()))
            try:
                data = s.recv(65536)
            except socket.timeout:
                out["error"] = "timeout"
                break
            if not data:
                out["closed"] = "eof"
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    out["headers"] = list(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    out["data"] += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.TrailersReceived):
                    out["trailers"] = list(ev.headers)
                elif isinstance(ev, h2.events.StreamEnded):
                    done = True
                elif isinstance(ev, h2.events.StreamReset):
                    out["reset"] = ev.error_code
                    done = True
                elif isinstance(ev, h2.events.ConnectionTerminated):
                    out["closed"] = "GOAWAY %s" % ev.error_code
                    done = True
            pending = conn.data_to_send()
            if pending:
                s.sendall(pending)
    except (OSError, h2.exceptions.ProtocolError) as e:
        out["error"] = repr(e)
    finally:
        s.close()
    allh = dict(out["headers"])
    allh.update(dict(out["trailers"]))
    st = allh.get(b"grpc-status")
    out["code"] = int(st) if st is not None and st.isdigit() else None
    out["message"] = unquote(allh.get(b"grpc-message", b"").decode("latin-1"))
    return out


# ---- google.rpc.Status, read from its wire format -----------------------------------------------
def _varint(b, i):
    v = shift = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i
        if shift > 63:
            raise ValueError("varint too long")


def parse_fields(b):
    """Protobuf wire fields [(number, wire type, value)]; raises ValueError on malformed input."""
    out, i = [], 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ValueError("truncated field")
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def parse_status_details(blob):
    """grpc-status-details-bin -> (code, message, [type urls])."""
    code, message, urls = None, None, []
    for num, wt, v in parse_fields(blob):
        if num == 1 and wt == 0:
            code = v
        elif num == 2 and wt == 2:
            message = v.decode("utf-8")
        elif num == 3 and wt == 2:
            any_fields = parse_fields(v)
            urls += [x.decode("utf-8") for n, w, x in any_fields if n == 1 and w == 2]
            for n, w, x in any_fields:
                if n == 2 and w == 2:
                    parse_fields(x)  # the detail itself must be well-formed too
    return code, message, urls


# ---- sections -----------------------------------------------------------------------------------
def section1_headers(d, up):
    say("== 1. header values: Idempotency-Key, If-None-Match smuggling, cross-wired replies")
    api = d.api(LEDGER)
    # Control: a well-formed key travels as given.
    n0 = up.count()
    r = d.call(LEDGER, "CreateTransaction", create_tx(api, "hostile", "key-ok-1"))
    sent = up.since(n0)
    show("CreateTransaction idempotency_key=key-ok-1", r)
    check(r.code == "OK", "control CreateTransaction with a valid key: expected OK, got %s (%s)" % (r.code, r.details))
    check(len(sent) == 1 and sent[0].header("Idempotency-Key") == b"key-ok-1",
          "control CreateTransaction: expected one upstream request with Idempotency-Key: key-ok-1, got %s"
          % [(x.short(), x.header("Idempotency-Key")) for x in sent[:3]])
    d.after("control CreateTransaction")

    values = [("e-acute", "key-\u00e9-1"), ("LF", "key\nx"), ("CRLF", "key\r\nX-Injected: yes"), ("NUL", "key\x00x")]
    for name, v in values:
        expect_refused(d, up, "CreateTransaction idempotency_key with %s" % name, LEDGER, "CreateTransaction",
                       create_tx(d.api(LEDGER), "hostile", v), "INVALID_ARGUMENT",
                       ["idempotency_key", "idempotency-key"])

    # The same through the `idempotency-key` metadata.
    try:
        d.api(LEDGER).stub("CreateTransaction").with_call(create_tx(d.api(LEDGER), "hostile"),
                                                         metadata=[("idempotency-key", "key-\u00e9")], timeout=5)
        grpcio_refuses = None
    except ValueError as e:
        grpcio_refuses = str(e)
    except grpc.RpcError as e:
        grpcio_refuses = None
        say("   grpcio sent the invalid metadata; the call ended %s", e.code().name)
    if grpcio_refuses:
        say("   NOTE: grpcio refuses invalid metadata client-side (%s); using a raw HTTP/2 client", short(grpcio_refuses, 80))
    if H2_ERROR is not None:
        msg = "metadata idempotency-key sub-case: python3-h2 is not installed (%s); grpcio refuses such metadata" % H2_ERROR
        SKIPS.append(msg)
        say("   SKIP: " + msg)
    else:
        payload = create_tx(d.api(LEDGER), "hostile").SerializeToString()
        raw_values = [("e-acute", "key-\u00e9-2".encode("utf-8")), ("LF", b"key\nx"), ("CRLF", b"key\r\nX-Injected: yes"),
                      ("NUL", b"key\x00x")]
        for name, v in raw_values:
            label = "CreateTransaction metadata idempotency-key with %s (raw h2)" % name
            n0 = up.count()
            out = h2_unary("127.0.0.1", d.gw.port, "/%s/CreateTransaction" % LEDGER, payload,
                           [(b"idempotency-key", v)], timeout=10)
            time.sleep(0.2)
            sent = up.since(n0)
            code = CODE_NAMES.get(out["code"], out["code"])
            say("   %-52s %-19s %s  [reset=%s closed=%s error=%s; upstream got %d]", label, code,
                short(out["message"], 90), out["reset"], out["closed"], out["error"], len(sent))
            check(code == "INVALID_ARGUMENT", "%s: expected INVALID_ARGUMENT, got grpc-status %s (%r; reset=%s, "
                  "closed=%s, error=%s)" % (label, code, short(out["message"], 200), out["reset"], out["closed"],
                                            out["error"]))
            check(names_field(out["message"], ["idempotency-key", "idempotency_key"]),
                  "%s: expected the message to name idempotency-key, got %r" % (label, short(out["message"], 200)))
            check(not sent, "%s: expected nothing sent upstream, it received %d request(s): %s"
                  % (label, len(sent), "; ".join(x.short() for x in sent[:3])))
            d.after(label)

    # A request smuggled through If-None-Match: the contract's value (the DELETE line lands inside
    # the header block), then one that ends the header block first so the DELETE is a request of
    # its own on the pooled connection (which then stays one reply behind).
    for variant, smuggle in (("inside the headers", "x\r\nDELETE /api/auth/clients/c HTTP/1.1\r\nHost: x\r\n\r\n"),
                             ("a request of its own", "x\r\n\r\nDELETE /api/auth/clients/c HTTP/1.1\r\nHost: x\r\n\r\n")):
        n0 = up.count()
        expect_refused(d, up, "ListConnectorCapabilities if_none_match smuggling (%s)" % variant, PAYMENTS,
                       "ListConnectorCapabilities",
                       d.api(PAYMENTS).msg("formance.payments.v3.ListConnectorCapabilitiesRequest",
                                           if_none_match=smuggle),
                       "INVALID_ARGUMENT", ["if_none_match", "if-none-match"], settle=0.3)
        deletes = [x for x in up.since(n0) if x.method == b"DELETE"]
        check(not deletes, "smuggling (%s): the upstream received a smuggled DELETE: %s"
              % (variant, [x.short() for x in deletes]))

    # Each caller gets its own account: sequential, then concurrent.
    api = d.api(LEDGER)
    wrong = []
    for i in range(20):
        addr = "users:%03d" % i
        r = api.call("GetAccount", get_account(api, "hostile", addr), timeout=10)
        got = r.response.data.address if r.code == "OK" else None
        if got != addr:
            wrong.append((addr, r.code, got))
    futs = []
    for i in range(20, 40):
        addr = "users:%03d" % i
        futs.append((addr, api.stub("GetAccount").future(get_account(api, "hostile", addr), timeout=15)))
    for addr, f in futs:
        try:
            got = f.result().data.address
            code = "OK"
        except grpc.RpcError as e:
            got, code = None, e.code().name
        if got != addr:
            wrong.append((addr, code, got))
    say("   40 GetAccount calls for distinct addresses (20 sequential, 20 concurrent): %d wrong", len(wrong))
    check(not wrong, "after the smuggling attempts, %d of 40 GetAccount calls did not get their own account "
          "(asked, code, got): %s" % (len(wrong), wrong[:5]))
    d.after("GetAccount sequence")


def section2_dots(d, up):
    say("== 2. dot segments in path parameters")
    la, aa = d.api(LEDGER), d.api(AUTH)
    cases = [
        ("GetAccount address='.'", LEDGER, "GetAccount", get_account(la, "hostile", ".")),
        ("GetAccount address='..'", LEDGER, "GetAccount", get_account(la, "hostile", "..")),
        ("GetAccount ledger='..'", LEDGER, "GetAccount", get_account(la, "..", "users:1")),
        ("GetLedger ledger='.'", LEDGER, "GetLedger", la.msg("formance.ledger.v2.GetLedgerRequest", ledger=".")),
        ("GetLedger ledger='..'", LEDGER, "GetLedger", la.msg("formance.ledger.v2.GetLedgerRequest", ledger="..")),
        ("DeleteSecret secret_id='..'", AUTH, "DeleteSecret",
         aa.msg("formance.auth.v1.DeleteSecretRequest", client_id="c", secret_id="..")),
        ("DeleteSecret secret_id='.'", AUTH, "DeleteSecret",
         aa.msg("formance.auth.v1.DeleteSecretRequest", client_id="c", secret_id=".")),
        ("DeleteSecret client_id='..'", AUTH, "DeleteSecret",
         aa.msg("formance.auth.v1.DeleteSecretRequest", client_id="..", secret_id="s")),
    ]
    for label, svc, method, req in cases:
        expect_refused(d, up, label, svc, method, req, "INVALID_ARGUMENT")

    # Values that are not dot segments travel as exactly one segment.
    prefix = b"/api/ledger/v2/hostile/accounts/"
    sent_as = [("a/b", [b"a%2Fb"]), ("users:001", [b"users:001"]), ("...", [b"...", b"%2E%2E%2E"]),
               ("%2E%2E", [b"%252E%252E"]), ("./x", [b".%2Fx", b"%2E%2Fx"])]
    for value, want in sent_as:
        label = "GetAccount address=%r" % value
        n0 = up.count()
        r = la.call("GetAccount", get_account(la, "hostile", value), timeout=10)
        sent = up.since(n0)
        targets = [x.target for x in sent]
        show(label, r, "  [upstream got %s]" % [t.decode("latin-1") for t in targets][:2])
        check(r.code == "OK" and r.response.data.address == value,
              "%s: expected OK echoing the address, got %s (%s) address=%r"
              % (label, r.code, short(r.details), r.response.data.address if r.response else None))
        check(len(sent) == 1 and sent[0].path() in [prefix + w for w in want],
              "%s: expected one upstream request for %s, got %s"
              % (label, " or ".join((prefix + w).decode() for w in want), [t.decode("latin-1") for t in targets][:3]))
        d.after(label)


def section3_redirects(d, up, up2, token):
    say("== 3. redirects (Location: second recording server %s)", up2.url)
    loc = "http://127.0.0.2:%d/x" % up2.port
    for st in (301, 302, 307, 308):
        up.script("/api/ledger/v2/redir%d/" % st, "redirect", status=st, location=loc)
    la = d.api(LEDGER)
    n2 = up2.count()
    cases = [("GetAccount answered 302", "GetAccount", get_account(la, "redir302", "users:1")),
             ("GetAccount answered 301", "GetAccount", get_account(la, "redir301", "users:1")),
             ("CreateTransaction answered 302", "CreateTransaction", create_tx(la, "redir302", "redir-key-1")),
             ("CreateTransaction answered 307", "CreateTransaction", create_tx(la, "redir307", "redir-key-2")),
             ("CreateTransaction answered 308 (no key)", "CreateTransaction", create_tx(la, "redir308"))]
    for label, method, req in cases:
        n0 = up.count()
        r = la.call(method, req, timeout=15)
        sent = up.since(n0)
        time.sleep(0.1)
        show(label, r, "  [first server got %d, second %d]" % (len(sent), up2.count() - n2))
        check(r.code == "FAILED_PRECONDITION", "%s: expected FAILED_PRECONDITION, got %s (%s)"
              % (label, r.code, short(r.details, 200)))
        check(r.code != "OK", "%s: a request answered 3xx was reported OK" % label)
        low = (r.details or "").lower()
        check(re.search(r"redirect|\b3\d\d\b|3xx", low) is not None,
              "%s: expected the message to mention the redirect, got %r" % (label, short(r.details, 200)))
        check(sent and all(x.header("Authorization") == ("Bearer " + token).encode() for x in sent),
              "%s: expected the first server to get the call with the bearer token (so the case is real), got %s"
              % (label, [(x.short(), x.header("Authorization") is not None) for x in sent]))
        d.after(label)
    got2 = up2.since(n2)
    with_auth = [x for x in got2 if x.header("Authorization") is not None]
    say("   second server received %d request(s), %d with Authorization", len(got2), len(with_auth))
    check(not got2, "redirects: expected the second server to receive nothing, it received %d: %s"
          % (len(got2), "; ".join(x.short() for x in got2[:4])))
    check(not with_auth, "redirects: the bearer token left for another origin (%d request(s) with Authorization)"
          % len(with_auth))


def section4_memory(d, up):
    say("== 4. memory: 15 MB path parameter, oversized header, 200 MB replies")
    peaks = []

    def case_peak(label):
        """The daemon's peak RSS during the case just run (VmHWM, reset before each case)."""
        if d.alive():
            hwm = d.hwm_kb()
            d.peak_kb()
            peaks.append((label, hwm))
            say("   peak RSS during '%s': %.1f MiB", label, hwm / 1024)
        d.reset_hwm()

    d.reset_hwm()
    la = d.api(LEDGER)
    big = "/" * 15_000_000
    expect_refused(d, up, "GetAccount address of 15 MB '/'", LEDGER, "GetAccount", get_account(la, "hostile", big),
                   "INVALID_ARGUMENT", timeout=30)
    case_peak("one 15 MB parameter")

    la = d.api(LEDGER)
    n0 = up.count()
    results = [None] * 4

    def one(i):
        results[i] = la.call("GetAccount", get_account(la, "hostile", big), timeout=30)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    time.sleep(0.2)
    sent = up.since(n0)
    codes = collections.Counter(r.code if r else "no answer" for r in results)
    say("   four 15 MB parameters at once: %s  [upstream got %d]", dict(codes), len(sent))
    check(codes.get("INVALID_ARGUMENT") == 4, "four 15 MB parameters at once: expected 4 INVALID_ARGUMENT, got %s"
          % dict(codes))
    check(not sent, "four 15 MB parameters at once: expected nothing sent, upstream received %d (target lengths %s)"
          % (len(sent), [x.target_len for x in sent][:4]))
    d.after("four 15 MB parameters")
    case_peak("four 15 MB parameters at once")

    la = d.api(LEDGER)
    # Around max_request_target_bytes (8192): well under goes, over is refused.
    n0 = up.count()
    r = la.call("GetAccount", get_account(la, "hostile", "a" * 7000), timeout=10)
    sent = up.since(n0)
    show("GetAccount address of 7000 'a' (under 8192)", r)
    check(r.code == "OK" and len(sent) == 1, "a 7000-byte address (target under 8192): expected OK and one upstream "
          "request, got %s (%s), %d request(s)" % (r.code, short(r.details), len(sent)))
    d.after("7000-byte address")
    expect_refused(d, up, "GetAccount address of 9000 'a' (over 8192)", LEDGER, "GetAccount",
                   get_account(d.api(LEDGER), "hostile", "a" * 9000), "INVALID_ARGUMENT")
    # Over max_request_header_bytes (16384), with visible ASCII only.
    expect_refused(d, up, "CreateTransaction idempotency_key of 20000 'k'", LEDGER, "CreateTransaction",
                   create_tx(d.api(LEDGER), "hostile", "k" * 20000), "INVALID_ARGUMENT")
    case_peak("target and header limits")

    up.script("/api/ledger/v2/bigcl/", "big_cl", size=ru.BIG_SIZE)
    up.script("/api/ledger/v2/bigchunk/", "big_chunked", size=ru.BIG_SIZE, chunk=ru.CHUNK)
    for ledger, label in (("bigcl", "200 MB reply with Content-Length"), ("bigchunk", "200 MB chunked reply")):
        la = d.api(LEDGER)
        nb = len(up.big_sends)
        t0 = time.monotonic()
        r = la.call("GetAccount", get_account(la, ledger, "users:1"), timeout=60)
        dt = time.monotonic() - t0
        time.sleep(0.3)
        sends = up.big_sends[nb:]
        show("GetAccount, " + label, r, "  [%.1fs; upstream wrote %s MB before the gateway stopped reading]"
             % (dt, ["%.1f%s" % (s["sent"] / 1e6, " (cut)" if s["aborted"] else "") for s in sends]))
        check(r.code == "RESOURCE_EXHAUSTED", "%s: expected RESOURCE_EXHAUSTED, got %s (%s)"
              % (label, r.code, short(r.details, 200)))
        d.after(label)
        case_peak(label)

    la = d.api(LEDGER)
    r = la.call("GetAccount", get_account(la, "hostile", "users:after-memory"), timeout=10)
    check(r.code == "OK" and r.response.data.address == "users:after-memory",
          "after the memory cases: expected a normal GetAccount to succeed, got %s (%s)" % (r.code, r.details))
    d.after("GetAccount after the memory cases")
    over = [(label, kb) for label, kb in peaks if kb >= HWM_LIMIT_KB]
    peak = d.peak_kb()
    say("   daemon peak RSS over section 4: %.1f MiB (limit 128 MiB), VmRSS now %.1f MiB", peak / 1024,
        d.rss_kb() / 1024)
    check(0 < peak < HWM_LIMIT_KB, "memory: expected the daemon's VmHWM under 128 MiB, it reached %.1f MiB (%s)"
          % (peak / 1024, ", ".join("%s: %.0f MiB" % (l, kb / 1024) for l, kb in over) or "before section 4"))


def section4_probes(args, token):
    """Replies the brief's contract leaves open, on a daemon of their own (so the main daemon's
    peak stays the contract's figure): one 200 MB chunk, and 64 MB of response headers. cpprestsdk
    buffers a whole chunk and a whole header block before the gateway can count them
    (server/upstream/cpprest_transport.h). Checked: the daemon survives, and a body over
    max_response_bytes is RESOURCE_EXHAUSTED (as any body); the header block's code and both peak
    RSS figures are printed as NOTEs (issue 9 asks < 128 MiB "whatever the upstream sends")."""
    say("== 4b. probes beyond the contract: one 200 MB chunk, 64 MB of response headers, eight 15 MB parameters")
    up = ru.Upstream("127.0.0.1", 0, "probe").start()
    up.script("/api/ledger/v2/onechunk/", "one_chunk", size=ru.BIG_SIZE)
    up.script("/api/ledger/v2/bighead/", "big_headers", size=64 * MIB)
    d = Daemon(args, "probe", up, "auth:\n  mode: static_token\n", {"FORMANCE_TOKEN": token}).start()
    for ledger, label, want in (("onechunk", "200 MB reply as one chunk", "RESOURCE_EXHAUSTED"),
                                ("bighead", "64 MB of response headers", None)):
        d.reset_hwm()
        la = d.api(LEDGER)
        nb = len(up.big_sends)
        t0 = time.monotonic()
        r = la.call("GetAccount", get_account(la, ledger, "users:1"), timeout=40)
        dt = time.monotonic() - t0
        time.sleep(0.3)
        sends = up.big_sends[nb:]
        hwm = d.hwm_kb() if d.alive() else -1
        show("GetAccount, " + label, r, "  [%.1fs; upstream wrote %s MB]"
             % (dt, ["%.1f%s" % (x["sent"] / 1e6, " (cut)" if x["aborted"] else "") for x in sends]))
        say("   NOTE: peak RSS during '%s': %.1f MiB (issue 9: < 128 MiB whatever the upstream sends; "
            "not in this suite's contract)", label, hwm / 1024)
        if want:
            check(r.code == want, "%s: expected %s (a body over max_response_bytes), got %s (%s)"
                  % (label, want, r.code, short(r.details, 200)))
        else:
            say("   NOTE: '%s' answered %s (no limit of the contract covers response headers)", label, r.code)
        d.after(label)
    # Eight 15 MB request messages at once (the contract says four stay under 128 MiB): how much
    # one caller can make the daemon hold with messages under grpc.max_message_bytes.
    d.reset_hwm()
    la = d.api(LEDGER)
    big = "/" * 15_000_000
    results = [None] * 8

    def one(i):
        results[i] = la.call("GetAccount", get_account(la, "hostile", big), timeout=30)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(40)
    codes = collections.Counter(r.code if r else "no answer" for r in results)
    hwm = d.hwm_kb() if d.alive() else -1
    say("   NOTE: eight 15 MB parameters at once: %s, peak RSS %.1f MiB (not in this suite's contract; "
        "grpc.max_message_bytes x calls in flight bounds it)", dict(codes), hwm / 1024)
    d.after("eight 15 MB parameters")
    r = d.call(LEDGER, "GetAccount", get_account(d.api(LEDGER), "hostile", "users:after-probes"))
    check(r.code == "OK", "after the probes: a normal GetAccount failed: %s (%s)" % (r.code, r.details))
    return d, up


def section6_error_body(d, up):
    say("== 6. a 400 whose errorCode is 20 KB")
    up.script("/api/ledger/v2/err20k/", "error_big", status=400, code_bytes=20 * 1024)
    la = d.api(LEDGER)
    r = la.call("GetAccount", get_account(la, "err20k", "users:1"), timeout=10)
    show("GetAccount answered 400 (20 KB errorCode)", r)
    check(r.code == "INVALID_ARGUMENT", "20 KB errorCode: expected INVALID_ARGUMENT, got %s (%s)"
          % (r.code, short(r.details, 200)))
    n = len((r.details or "").encode("utf-8"))
    say("   message %d bytes; trailing metadata: %s", n,
        [(k, len(v)) for k, v in r.trailing])
    check(n <= MESSAGE_BOUND, "20 KB errorCode: expected a status message of at most %d bytes, got %d"
          % (MESSAGE_BOUND, n))
    trailing = dict(r.trailing)
    check(trailing.get("formance-http-status") == "400",
          "20 KB errorCode: expected the trailers to parse and carry formance-http-status: 400, got %s"
          % sorted(trailing)[:8])
    blob = trailing.get("grpc-status-details-bin")
    if blob is not None:
        try:
            code, message, urls = parse_status_details(blob)
            say("   grpc-status-details-bin: %d bytes, code %s, details %s", len(blob), code, urls)
            check(code == grpc.StatusCode.INVALID_ARGUMENT.value[0],
                  "20 KB errorCode: grpc-status-details-bin carries code %s, expected 3" % code)
        except (ValueError, UnicodeDecodeError) as e:
            check(False, "20 KB errorCode: grpc-status-details-bin does not parse: %s" % e)
    d.after("20 KB errorCode")


def run_load(api, n, timeout, ledger="slow"):
    """n GetAccount calls started at once (future API, one channel): (codes Counter, elapsed, wrong)."""
    t0 = time.monotonic()
    futs = [("users:%04d" % i, api.stub("GetAccount").future(get_account(api, ledger, "users:%04d" % i),
                                                            timeout=timeout)) for i in range(n)]
    codes, wrong = collections.Counter(), 0
    for addr, f in futs:
        try:
            resp = f.result(timeout=timeout + 10)
            codes["OK"] += 1
            wrong += resp.data.address != addr
        except grpc.RpcError as e:
            codes[e.code().name] += 1
        except grpc.FutureTimeoutError:
            codes["client timeout"] += 1
    return codes, time.monotonic() - t0, wrong


def section5_connections(args, token):
    say("== 5. connections: limits.max_upstream_connections and limits.max_calls_in_flight")
    env = {"FORMANCE_TOKEN": token}
    out = []
    # 5a: 300 calls, a 300 ms upstream, at most 16 sockets.
    up = ru.Upstream("127.0.0.1", 0, "slow-a").start()
    up.set_default("normal", delay=0.3)
    d = Daemon(args, "conn-pool", up, "auth:\n  mode: static_token\nlimits:\n  max_upstream_connections: 16\n",
               env).start()
    api = d.api(LEDGER)
    up.reset_peaks()
    codes, dt, wrong = run_load(api, 300, 30.0)
    st = up.stats()
    say("   300 calls, upstream 300 ms, max_upstream_connections 16: %s in %.1fs; upstream connections accepted %d, "
        "peak open %d, peak requests at once %d; daemon VmHWM %.1f MiB", dict(codes), dt, st["conns_accepted"],
        st["conns_peak"], st["inflight_peak"], d.hwm_kb() / 1024)
    check(codes.get("OK") == 300, "max_upstream_connections 16: expected all 300 calls OK, got %s" % dict(codes))
    check(wrong == 0, "max_upstream_connections 16: %d call(s) got another caller's account" % wrong)
    check(st["conns_peak"] <= 16, "max_upstream_connections 16: expected at most 16 simultaneously open upstream "
          "connections, the upstream saw %d (accepted %d)" % (st["conns_peak"], st["conns_accepted"]))
    d.after("300 calls")
    out.append(d)
    up_a = up

    # 5b: 200 calls, max 50 in flight.
    up = ru.Upstream("127.0.0.1", 0, "slow-b").start()
    up.set_default("normal", delay=1.0)
    d = Daemon(args, "in-flight", up, "auth:\n  mode: static_token\nlimits:\n  max_calls_in_flight: 50\n",
               env).start()
    api = d.api(LEDGER)
    up.reset_peaks()
    codes, dt, wrong = run_load(api, 200, 30.0)
    st = up.stats()
    say("   200 calls, upstream 1 s, max_calls_in_flight 50: %s in %.1fs; upstream requests %d, peak at once %d, "
        "connections accepted %d; daemon VmHWM %.1f MiB", dict(codes), dt, st["requests"], st["inflight_peak"],
        st["conns_accepted"], d.hwm_kb() / 1024)
    others = {k: v for k, v in codes.items() if k not in ("OK", "RESOURCE_EXHAUSTED")}
    check(codes.get("RESOURCE_EXHAUSTED", 0) > 0 and codes.get("OK", 0) > 0 and not others,
          "max_calls_in_flight 50: expected some RESOURCE_EXHAUSTED and the rest OK, got %s" % dict(codes))
    check(st["inflight_peak"] <= 50, "max_calls_in_flight 50: expected at most 50 requests at once upstream, "
          "the upstream saw %d" % st["inflight_peak"])
    check(st["requests"] == codes.get("OK", 0), "max_calls_in_flight 50: expected one upstream request per OK call "
          "(refused calls send nothing): %d requests for %d OK" % (st["requests"], codes.get("OK", 0)))
    check(wrong == 0, "max_calls_in_flight 50: %d call(s) got another caller's account" % wrong)
    d.after("200 calls")
    out.append(d)
    return out, [up_a, up]


def section7_token(args):
    say("== 7. token endpoint: garbage, expires_in 0, a token with CR LF (client_credentials)")
    up = ru.Upstream("127.0.0.1", 0, "token").start()
    daemons = []
    expect = {"garbage": "UNAVAILABLE", "expires0": "OK", "crlf": "UNAVAILABLE"}
    for mode in ("garbage", "expires0", "crlf"):
        tok_path = "/tok/%s" % mode
        up.script(tok_path, "token", token_mode=mode)
        n0 = up.count()
        d = Daemon(args, "token-%s" % mode, up,
                   'auth:\n  mode: client_credentials\n  token_url: "%s%s"\n' % (up.url, tok_path),
                   {"FORMANCE_CLIENT_ID": "hostile-client", "FORMANCE_CLIENT_SECRET": "cs_" + secrets.token_hex(16)}
                   ).start()
        api = d.api(LEDGER)
        codes, msgs = collections.Counter(), collections.Counter()
        t_end = time.monotonic() + 45
        done = 0
        for i in range(50):
            if time.monotonic() > t_end:
                break
            r = api.call("GetAccount", get_account(api, "hostile", "users:1"), timeout=3)
            codes[r.code] += 1
            if r.code != "OK":
                msgs[short(r.details, 120)] += 1
            done += 1
        time.sleep(0.2)
        reqs = up.since(n0)
        tok = [x for x in reqs if x.path().startswith(b"/tok/")]
        apis = [x for x in reqs if not x.path().startswith(b"/tok/")]
        authz = collections.Counter((x.header("Authorization") or b"(none)").decode("latin-1") for x in apis)
        injected = [x for x in apis if b"x-injected" in x.header_names() or b"\r" in (x.header("Authorization") or b"")
                    or (x.header("Authorization") or b"").startswith(b"Bearer tok")]
        say("   token endpoint %-8s: %d calls -> %s; token requests %d; API requests %d (Authorization %s); "
            "messages %s", mode, done, dict(codes), len(tok), len(apis), dict(authz), dict(msgs))
        check(done == 50, "token %s: only %d of 50 calls completed within 45 s" % (mode, done))
        check(len(tok) <= 3, "token %s: expected at most 3 token requests for 50 calls (backoff / lifetime floor), "
              "the endpoint got %d" % (mode, len(tok)))
        want = expect[mode]
        check(codes.get(want) == done, "token %s: expected every call %s, got %s" % (mode, want, dict(codes)))
        if want == "UNAVAILABLE":
            check(all("token" in m.lower() for m in msgs), "token %s: expected messages that say the token failed, "
                  "got %s" % (mode, list(msgs)[:3]))
            check(not apis, "token %s: expected no API request without a usable token, the upstream got %d (%s)"
                  % (mode, len(apis), dict(authz)))
        else:
            check(apis and all(x.header("Authorization") == b"Bearer t" for x in apis),
                  "token %s: expected every API request to carry the token (Bearer t), got %s" % (mode, dict(authz)))
        check(not injected, "token %s: %d API request(s) carried a CR/LF token (header split upstream): %s"
              % (mode, len(injected), [x.raw_headers[:200] for x in injected[:2]]))
        d.after("token endpoint %s" % mode)
        daemons.append(d)
    return daemons, up


def section9_outcome_honesty(args, token):
    """Issue 9: a write is treated as "never sent" only when the transport proves it, never from
    the text of an error. An unkeyed write (auth DeleteSecret: DELETE, no Idempotency-Key) whose
    request was fully written over TLS, then failed with an OpenSSL error, must reach the
    upstream exactly once (no retry) and never be reported OK."""
    say("== 9. outcome honesty: an unkeyed write that failed mid-TLS after it was written")
    cert, key = os.path.join(args.tmp, "tls-cert.pem"), os.path.join(args.tmp, "tls-key.pem")
    try:
        p = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        ok = p.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as e:
        ok, p = False, e
    if not ok:
        msg = "outcome honesty: could not make a test certificate with openssl (%s)" % short(str(p), 200)
        SKIPS.append(msg)
        say("   SKIP: " + msg)
        return None, None
    up = ru.TlsBreakingUpstream(cert, key)
    # upstream.url is written by Daemon; the TLS server is the upstream and trusts nothing else.
    fake = type("U", (), {"url": up.url})()
    d = Daemon(args, "tls", fake, '  ca_file: "%s"\nauth:\n  mode: static_token\n' % cert,
               {"FORMANCE_TOKEN": token}).start()
    aa = d.api(AUTH)
    r = aa.call("DeleteSecret", aa.msg("formance.auth.v1.DeleteSecretRequest", client_id="c", secret_id="s1"),
                timeout=15)
    time.sleep(0.5)
    with up.lock:
        n, conns, hs = len(up.requests), up.conns, up.handshakes
        lines = [x[0] for x in up.requests]
    trailing = dict(r.trailing)
    show("DeleteSecret, TLS broken after the request", r, "  [upstream: %d request(s) %s, %d connection(s), "
         "%d handshake(s); formance-attempts %s]" % (n, lines[:2], conns, hs, trailing.get("formance-attempts")))
    check(n == 1, "outcome honesty: an unkeyed DeleteSecret fully written before a TLS error reached the upstream "
          "%d time(s), expected exactly 1 (no retry of a write that may have been applied)" % n)
    check(r.code != "OK", "outcome honesty: a write that failed mid-TLS was reported OK")
    d.after("DeleteSecret mid-TLS failure")
    return d, up


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--only", default="", help="comma-separated section numbers (debugging)")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    want = lambda n: only is None or str(n) in only  # noqa: E731
    raise_nofile()
    t_start = time.monotonic()

    up = ru.Upstream("127.0.0.1", 0, "upstream").start()
    up2 = ru.Upstream("127.0.0.2", 0, "second").start()
    token = "st_" + secrets.token_hex(20)
    say("recording upstream %s, second server %s; gateway %s", up.url, up2.url, args.binary)
    main_d = Daemon(args, "main", up, "auth:\n  mode: static_token\n", {"FORMANCE_TOKEN": token}).start()
    say("daemon main: pid %d on %s (default limits), VmHWM at start %.1f MiB", main_d.pid, main_d.gw.target,
        main_d.hwm_kb() / 1024)
    r = main_d.call(LEDGER, "GetAccount", get_account(main_d.api(LEDGER), "hostile", "users:start"))
    check(r.code == "OK", "start: a normal GetAccount failed: %s (%s)" % (r.code, r.details))

    sections = [(1, lambda: section1_headers(main_d, up)), (2, lambda: section2_dots(main_d, up)),
                (3, lambda: section3_redirects(main_d, up, up2, token)), (4, lambda: section4_memory(main_d, up)),
                (6, lambda: section6_error_body(main_d, up))]
    others = []
    for n, fn in sections[:4]:
        if want(n):
            t0 = time.monotonic()
            fn()
            say("   (section %d: %.1fs, main daemon peak VmHWM so far %.1f MiB)", n, time.monotonic() - t0,
                main_d.peak_kb() / 1024)
    if want(4):
        t0 = time.monotonic()
        pd, _ = section4_probes(args, token)
        others.append(pd)
        say("   (section 4b: %.1fs)", time.monotonic() - t0)
    if want(5):
        t0 = time.monotonic()
        ds, ups = section5_connections(args, token)
        others += ds
        say("   (section 5: %.1fs)", time.monotonic() - t0)
    if want(6):
        t0 = time.monotonic()
        sections[4][1]()
        say("   (section 6: %.1fs)", time.monotonic() - t0)
    if want(7):
        t0 = time.monotonic()
        ds, _ = section7_token(args)
        others += ds
        say("   (section 7: %.1fs)", time.monotonic() - t0)

    if want(9):
        t0 = time.monotonic()
        td, _ = section9_outcome_honesty(args, token)
        if td is not None:
            others.append(td)
        say("   (section 9: %.1fs)", time.monotonic() - t0)

    say("== 8. after everything")
    alive = main_d.alive()
    check(alive, "end: the main daemon (pid %d) is not alive" % main_d.pid)
    if alive:
        r = main_d.call(LEDGER, "GetAccount", get_account(main_d.api(LEDGER), "hostile", "users:end"))
        check(r.code == "OK" and r.response.data.address == "users:end",
              "end: a normal GetAccount on the main daemon: expected OK, got %s (%s)" % (r.code, r.details))
    hwm = main_d.peak_kb()
    say("   main daemon pid %d: alive %s, peak VmHWM %.1f MiB, VmRSS %.1f MiB, started %d time(s) (died %d)",
        main_d.pid, alive, hwm / 1024, main_d.rss_kb() / 1024, main_d.starts, main_d.deaths)
    check(main_d.deaths == 0, "the main daemon died %d time(s) during the suite" % main_d.deaths)
    if want(4):
        check(0 < hwm < HWM_LIMIT_KB, "end: expected the main daemon's VmHWM under 128 MiB, it reached %.1f MiB"
              % (hwm / 1024))
    for d in others:
        ok = d.alive()
        check(ok, "end: daemon %s (pid %d) is not alive" % (d.label, d.pid))
        rc, dhwm = d.stop()
        say("   daemon %-16s alive %s, VmHWM %.1f MiB, died %d time(s), exit after SIGTERM %s", d.label, ok,
            dhwm / 1024, d.deaths, rc)
    st, st2 = up.stats(), up2.stats()
    say("   upstream: %d requests, %d connections accepted, peak open %d; second server: %d requests",
        st["requests"], st["conns_accepted"], st["conns_peak"], st2["requests"])
    rc, _ = main_d.stop()
    say("   main daemon exit after SIGTERM: %s", rc)
    for s in SKIPS:
        say("SKIP: " + s)
    say("run time %.1fs", time.monotonic() - t_start)
    return sysutil.report(60)


if __name__ == "__main__":
    sys.exit(main())
