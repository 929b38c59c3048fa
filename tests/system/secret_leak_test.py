#!/usr/bin/python3
"""System test: no client secret, access token, Basic credential or Authorization header value
appears in anything formance-grpc-gateway prints (at `trace`, its most verbose level, with gRPC
core's own logs routed in) nor in anything a gRPC client is told (status message, debug string,
initial/trailing metadata including grpc-status-details-bin).

Started by run_secret_leak_test.sh (which owns the temp dir and kills every pid listed in
$FGW_SYS_PIDFILE on exit). A fake Formance runs in this process: tests/fakes/fake_ledger.py's
ledger v2 handler behind an OAuth2 client-credentials token endpoint and bearer checks, with
scripted faults (API 401 once, API 500, token endpoint 401 invalid_client echoing the secret,
token endpoint 500).

Runs:
  A  FORMANCE_CLIENT_ID + FORMANCE_CLIENT_SECRET (env), --log_level=trace
  B  FORMANCE_CLIENT_ID + FORMANCE_CLIENT_SECRET_FILE, --log_level=trace, GRPC_TRACE=api,http;
     the file is rotated mid-run: the fake must then see the new secret, with no restart.
  C  refused configurations: --client_secret=..., YAML auth.client_secret / secret /
     static_token / token: exit non-zero, value never echoed.
Exit 0 pass, 1 fail.
"""

import argparse
import base64
import collections
import os
import re
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, quote

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

import fake_ledger  # noqa: E402
import sysutil  # noqa: E402

SERVICE = "formance.ledger.v2.LedgerService"
TOKEN_PATH = "/api/auth/oauth/token"
NOTES = []
LOG_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT[\d:.]+Z (trace|debug|info|warning|error|critical) ", re.M)


check = sysutil.check


def form_encode(s):
    """WHATWG application/x-www-form-urlencoded, as the gateway writes the token request."""
    return quote(s, safe="*-._").replace("%20", "+")


# ---- the fake Formance: OAuth2 token endpoint + bearer-checked ledger v2 -----------------------
class Auth:
    def __init__(self):
        self.lock = threading.Lock()
        self.client_id = None
        self.accepted = set()          # client secrets accepted now
        self.valid_tokens = set()
        self.issued = []               # (token, secret used, scope)
        self.token_requests = []       # dicts: client_id, secret, scope, grant_type, status
        self.api_requests = []         # dicts: path, authorization, status
        self.token_faults = collections.deque()  # "401", "500", "401_error_is_secret"
        self.api_faults = collections.deque()    # "401", "500"


AUTH = Auth()


class Handler(fake_ledger.Handler):
    server_version = "fake-formance-auth"

    def _route(self, parts, raw):
        if parts.path == TOKEN_PATH:
            return self._token(raw)
        if parts.path.startswith("/api/"):
            return self._api(parts, raw)
        return super()._route(parts, raw)

    def _json(self, status, obj):
        return status, {"Content-Type": "application/json"}, fake_ledger.dump_json(obj).encode()

    def _token(self, raw):
        if self.command != "POST":
            return 405, {}, b""
        form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
        one = lambda k: (form.get(k) or [None])[0]  # noqa: E731
        rec = {"client_id": one("client_id"), "secret": one("client_secret"), "scope": one("scope"),
               "grant_type": one("grant_type"), "content_type": self.headers.get("Content-Type"),
               "basic": self.headers.get("Authorization"), "t": time.monotonic()}
        with AUTH.lock:
            AUTH.token_requests.append(rec)
            fault = AUTH.token_faults.popleft() if AUTH.token_faults else None
            ok = (rec["grant_type"] == "client_credentials" and rec["client_id"] == AUTH.client_id
                  and rec["secret"] in AUTH.accepted)
            if fault is None and ok:
                token = "at_%s" % secrets.token_hex(24)
                AUTH.valid_tokens.add(token)
                AUTH.issued.append((token, rec["secret"], rec["scope"]))
                rec["status"] = 200
                return self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        if fault == "500":
            rec["status"] = 500
            return self._json(500, {"error": "server_error",
                                    "error_description": "token store down while checking client_secret=%s"
                                                         % rec["secret"]})
        rec["status"] = 401
        if fault == "401_error_is_secret":
            # A broken IdP that puts the presented secret in the OAuth `error` field itself.
            return self._json(401, {"error": rec["secret"]})
        # invalid_client, echoing everything secret-looking it received (a chatty IdP).
        return self._json(401, {"error": "invalid_client",
                                "error_description": "client %s authentication failed with client_secret=%s"
                                                     % (rec["client_id"], rec["secret"]),
                                "received": raw.decode("utf-8", "replace")})

    def _api(self, parts, raw):
        authz = self.headers.get("Authorization") or ""
        rec = {"path": parts.path, "method": self.command, "authorization": authz}
        with AUTH.lock:
            AUTH.api_requests.append(rec)
            token = authz[len("Bearer "):] if authz.startswith("Bearer ") else None
            if token is None or token not in AUTH.valid_tokens:
                rec["status"] = 401
                return self._json(401, {"errorCode": "AUTHENTICATION", "errorMessage": "invalid or expired token"})
            fault = AUTH.api_faults.popleft() if AUTH.api_faults else None
            if fault == "401":
                AUTH.valid_tokens.discard(token)  # revoked: the gateway must fetch another
                rec["status"] = 401
                return self._json(401, {"errorCode": "AUTHENTICATION", "errorMessage": "token revoked"})
        if fault == "500" or "/boom" in parts.path:
            rec["status"] = 500
            return self._json(500, {"errorCode": "INTERNAL", "errorMessage": "database unreachable (pq: timeout)"})
        status, headers, body = super()._route(parts, raw)
        rec["status"] = status
        return status, headers, body


def start_fake():
    srv = fake_ledger.Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    return srv


# ---- calls -------------------------------------------------------------------------------------
class Recorder:
    """Every gRPC outcome the client saw, for the leak scan and the summary."""

    def __init__(self, api):
        self.api = api
        self.results = []

    def call(self, label, method, request, expect, metadata=(), timeout=10.0):
        r = self.api.call(method, request, metadata, timeout)
        self.results.append((label, r))
        ok = r.code in (expect if isinstance(expect, (tuple, list)) else (expect,))
        print("   %-44s %-18s %s" % (label, r.code, (r.details or "")[:110]), flush=True)
        check(ok, "%s: expected %s, got %s (%s)" % (label, expect, r.code, r.details))
        return r


def get_account(rec, label, ledger, address, expect, **kw):
    api = rec.api
    return rec.call(label, "GetAccount", api.msg("formance.ledger.v2.GetAccountRequest", ledger=ledger,
                                                 address=address), expect, **kw)


def create_tx(rec, label, ledger, expect, amount=100):
    api = rec.api
    body = api.msg("formance.ledger.v2.V2PostTransaction",
                   postings=[api.msg("formance.ledger.v2.V2Posting", source="world", destination="users:1",
                                     amount=str(amount), asset="USD/2")])
    return rec.call(label, "CreateTransaction", api.msg("formance.ledger.v2.CreateTransactionRequest",
                                                        ledger=ledger, v2_post_transaction=body), expect)


def tokens_used_since(n_api):
    with AUTH.lock:
        return [r["authorization"] for r in AUTH.api_requests[n_api:]]


def counts():
    with AUTH.lock:
        return len(AUTH.token_requests), len(AUTH.api_requests), len(AUTH.issued)


def recover(rec, label, ledger, within=4.0):
    """After a failed token request the gateway waits out auth.failure_backoff (1 s by default)
    before it asks the token endpoint again; calls meanwhile get the remembered error at once.
    Polls (bounded) until a call is OK, and checks the backoff sent no token request of its own:
    exactly one new token request, the one that succeeded."""
    t0, _, _ = counts()
    start = time.monotonic()
    r = None
    while time.monotonic() - start < within:
        r = get_account(rec, label, ledger, "users:1", ("OK", "UNAVAILABLE", "UNAUTHENTICATED"))
        if r.code == "OK":
            break
        time.sleep(0.2)
    t1, _, _ = counts()
    check(r is not None and r.code == "OK",
          "%s: still failing %.1fs after the token endpoint recovered" % (label, within))
    check(t1 - t0 == 1, "%s: %d token request(s) while recovering (want 1: none during the backoff)"
          % (label, t1 - t0))
    return r


def common_calls(rec, ledger, tag):
    """The call mix shared by runs A and B: success, replay after 401, upstream 500, token endpoint
    failures, invalid requests, unknown method."""
    api = rec.api
    rec.call(tag + " GetInfo", "GetInfo", api.msg("formance.ledger.v2.GetInfoRequest"), "OK")
    rec.call(tag + " CreateLedger", "CreateLedger", api.msg(
        "formance.ledger.v2.CreateLedgerRequest", ledger=ledger,
        v2_create_ledger_request=api.msg("formance.ledger.v2.V2CreateLedgerRequest")), "OK")
    create_tx(rec, tag + " CreateTransaction", ledger, "OK")
    get_account(rec, tag + " GetAccount", ledger, "users:1", "OK")

    # Upstream 401 once: the gateway drops the token, fetches another and replays.
    t0, a0, i0 = counts()
    with AUTH.lock:
        AUTH.api_faults.append("401")
    r = get_account(rec, tag + " GetAccount after upstream 401 (replay)", ledger, "users:1", "OK")
    t1, a1, i1 = counts()
    used = tokens_used_since(a0)
    check(t1 - t0 == 1 and i1 - i0 == 1, "%s: 401 replay: %d token request(s), %d issued (want 1, 1)"
          % (tag, t1 - t0, i1 - i0))
    check(len(used) == 2 and used[0] != used[1], "%s: 401 replay: upstream saw %d request(s), tokens differ: %s"
          % (tag, len(used), len(set(used)) == 2))

    # Upstream 500 with a Formance error body (the ledger named "boom" always fails).
    get_account(rec, tag + " GetAccount upstream 500", "boom", "users:1", "INTERNAL",
                metadata=[("x-formance-max-attempts", "1")])
    with AUTH.lock:
        AUTH.api_faults.extend(["500"] * 10)
    get_account(rec, tag + " GetAccount upstream 500 x retries", ledger, "users:1", "INTERNAL")
    with AUTH.lock:
        AUTH.api_faults.clear()
    get_account(rec, tag + " GetAccount unknown ledger (404)", "nosuchledger", "users:1", "NOT_FOUND")

    # Token endpoint failures: revoke the token (API 401) so the gateway must ask for another.
    faults = [("401", "UNAUTHENTICATED"), ("500", ("UNAVAILABLE", "UNAUTHENTICATED"))]
    if os.environ.get("SECRET_LEAK_ERROR_ECHO_PROBE", "1") == "1":
        # An IdP that answers {"error": "<the presented secret>"}: the gateway must not repeat it.
        faults.append(("401_error_is_secret", "UNAUTHENTICATED"))
    for fault, want in faults:
        with AUTH.lock:
            AUTH.api_faults.append("401")
            AUTH.token_faults.append(fault)
        r = get_account(rec, "%s GetAccount, token endpoint %s" % (tag, fault), ledger, "users:1", want)
        if fault == "401_error_is_secret":
            with AUTH.lock:
                presented = AUTH.token_requests[-1]["secret"]
            if presented and presented in (r.details or ""):
                NOTES.append("%s: token endpoint answered 401 {\"error\": <the client secret>}; the gateway "
                             "copied that `error` value into the gRPC message: %r" % (tag, r.details))
        recover(rec, "%s GetAccount after token %s (recovers)" % (tag, fault), ledger)

    # Requests the gateway rejects itself, and a method it does not serve.
    rec.call(tag + " GetAccount undecodable bytes", "GetAccount", b"\xff\xff\xff\xff", "INVALID_ARGUMENT")
    get_account(rec, tag + " GetAccount empty ledger", "", "users:1", "INVALID_ARGUMENT")
    rec.call(tag + " NoSuchMethod", "NoSuchMethod", b"", "UNIMPLEMENTED")
    # No short-deadline call here: a deadline that expires while the upstream request is in flight
    # crashes the gateway (use-after-free of the reactor's Cancellation in CpprestTransport::Send's
    # completion), which would hide what this test is about.
    create_tx(rec, tag + " CreateTransaction bad amount", ledger, "INVALID_ARGUMENT", amount="12.5")


# ---- the leak scan -----------------------------------------------------------------------------
def needles(client_id, secrets_list, tokens):
    out = {}
    for s in secrets_list:
        out["secret " + s[:8]] = s
        out["secret (form-encoded) " + s[:8]] = form_encode(s)
        out["secret core " + s[:8]] = s.split("_", 1)[-1][:20]
        pair = ("%s:%s" % (client_id, s)).encode()
        out["basic " + s[:8]] = base64.b64encode(pair).decode().rstrip("=")
        out["basic-url " + s[:8]] = base64.urlsafe_b64encode(pair).decode().rstrip("=")
    for t in tokens:
        out["token " + t[:10]] = t
        out["token core " + t[:10]] = t[3:23]
        out["authorization " + t[:10]] = "Bearer " + t
    return {k: v.encode() for k, v in out.items() if v}


def scan(label, blobs, needle_map):
    """blobs: [(origin, bytes)]. Returns the hits."""
    hits = []
    for origin, blob in blobs:
        low = blob.lower()
        for name, n in needle_map.items():
            if n.lower() in low:
                i = low.find(n.lower())
                hits.append((origin, name, blob[max(0, i - 80):i + len(n) + 40]))
    shown = set()
    for origin, name, ctx in hits:
        key = (origin, ctx[:60])
        if key in shown or len(shown) >= 12:
            continue
        shown.add(key)
        names = sorted({n for o, n, c in hits if o == origin})
        print("   LEAK in %s [%s]: ...%s..." % (origin, ", ".join(names), ctx.decode("utf-8", "replace")))
    check(not hits, "%s: %d leak(s) of a secret or token" % (label, len(hits)))
    return hits


def client_blobs(rec):
    out = []
    for label, r in rec.results:
        for b in r.texts():
            out.append(("client: " + label, b))
    return out


# ---- runs --------------------------------------------------------------------------------------
def base_env(extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FORMANCE_", "FGW_", "GRPC_"))}
    env.update(extra)
    return env


def run_env_secret(args, fake_port):
    print("== run A: FORMANCE_CLIENT_SECRET in the environment, --log_level=trace")
    cid = "fgw-client-%s" % secrets.token_hex(4)
    secret = "cs_%s" % secrets.token_hex(20)  # [a-z0-9_] only, like a real Formance client secret
    with AUTH.lock:
        AUTH.client_id, AUTH.accepted = cid, {secret}
    log = os.path.join(args.tmp, "gateway-A.log")
    gw = sysutil.Gateway(args.binary, ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:%d" % fake_port,
                                       "--log_level", "trace"],
                         base_env({"FORMANCE_CLIENT_ID": cid, "FORMANCE_CLIENT_SECRET": secret}), log).start()
    api = sysutil.Api(args.descriptor_set, gw.target, SERVICE)
    rec = Recorder(api)
    common_calls(rec, "leakA%d" % (time.time() % 1e6), "A")
    rc = gw.stop()
    check(rc == 0, "run A: gateway exit code %s after SIGTERM" % rc)
    return cid, [secret], rec, log


def run_file_secret(args, fake_port):
    print("== run B: FORMANCE_CLIENT_SECRET_FILE rotated mid-run, --log_level=trace, GRPC_TRACE=api,http")
    cid = "fgw-client-%s" % secrets.token_hex(4)
    s1 = "cs_%s" % secrets.token_hex(20)
    s2 = "rs_%s~+/=" % secrets.token_hex(20)  # characters the form encoding must escape
    path = os.path.join(args.tmp, "client_secret")
    with open(path, "w") as f:
        f.write(s1 + "\n")
    with AUTH.lock:
        AUTH.client_id, AUTH.accepted = cid, {s1}
    log = os.path.join(args.tmp, "gateway-B.log")
    gw = sysutil.Gateway(args.binary, ["--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:%d" % fake_port,
                                       "--log_level", "trace"],
                         base_env({"FORMANCE_CLIENT_ID": cid, "FORMANCE_CLIENT_SECRET_FILE": path,
                                   "FORMANCE_CLIENT_SECRET": "", "GRPC_TRACE": "api,http"}), log).start()
    pid = gw.proc.pid
    api = sysutil.Api(args.descriptor_set, gw.target, SERVICE)
    rec = Recorder(api)
    ledger = "leakB%d" % (time.time() % 1e6)
    common_calls(rec, ledger, "B")

    # Rotation: the IdP now accepts only the new secret; the file gets it (atomic rename, as a
    # Kubernetes secret mount does); within the 1 s re-check the gateway must use it.
    with AUTH.lock:
        AUTH.accepted = {s2}
        n_tok = len(AUTH.token_requests)
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(s2 + "\n")
    os.rename(tmp, path)
    t_rot = time.monotonic()
    got_new = False
    for i in range(40):
        r = get_account(rec, "B GetAccount after rotation #%d" % i, ledger, "users:1",
                        ("OK", "UNAUTHENTICATED", "UNAVAILABLE"))
        with AUTH.lock:
            seen = [t for t in AUTH.token_requests[n_tok:] if t["secret"] == s2 and t["status"] == 200]
        if r.code == "OK" and seen:
            got_new = True
            print("   rotation picked up after %.2fs, %d call(s)" % (time.monotonic() - t_rot, i + 1))
            break
        time.sleep(0.25)
    check(got_new, "run B: after rotating the secret file the fake never saw the new secret")
    # Only the new secret from here on.
    create_tx(rec, "B CreateTransaction after rotation", ledger, "OK")
    with AUTH.lock:
        after = [t["secret"] for t in AUTH.token_requests[n_tok:] if t["status"] == 200]
    check(after and all(s == s2 for s in after), "run B: token requests after rotation used %s"
          % ["new" if s == s2 else "OLD" for s in after])
    check(gw.proc.poll() is None and gw.proc.pid == pid, "run B: gateway restarted during rotation")
    rc = gw.stop()
    check(rc == 0, "run B: gateway exit code %s after SIGTERM" % rc)
    return cid, [s1, s2], rec, log


def run_refused(args, fake_port):
    print("== run C: secrets on the command line / in YAML are refused without being echoed")
    outs = []
    value = "cli_%s" % secrets.token_hex(20)
    rc, out = sysutil.run_once(args.binary, ["--client_secret=" + value, "--listen", "127.0.0.1:0",
                                             "--upstream", "http://127.0.0.1:%d" % fake_port],
                               base_env({"FORMANCE_CLIENT_ID": "x"}))
    print("   --client_secret=...: exit %s: %s" % (rc, out.decode("utf-8", "replace").strip()[:160]))
    check(rc not in (0, None), "--client_secret accepted (exit %s)" % rc)
    check(value.encode() not in out and value[4:24].encode() not in out, "--client_secret value echoed")
    outs.append(("--client_secret", out, value))
    for key in ("client_secret", "secret", "static_token", "token"):
        value = "yml_%s" % secrets.token_hex(20)
        cfg = os.path.join(args.tmp, "refused-%s.yaml" % key)
        with open(cfg, "w") as f:
            f.write("listen: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:%d\nauth:\n  client_id: x\n"
                    "  %s: %s\n" % (fake_port, key, value))
        rc, out = sysutil.run_once(args.binary, ["--config", cfg], base_env({}))
        print("   YAML auth.%s: exit %s: %s" % (key, rc, out.decode("utf-8", "replace").strip()[:160]))
        check(rc not in (0, None), "YAML auth.%s accepted (exit %s)" % (key, rc))
        check(value.encode() not in out and value[4:24].encode() not in out, "YAML auth.%s value echoed" % key)
        outs.append(("yaml auth.%s" % key, out, value))
    return outs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--tmp", required=True)
    args = ap.parse_args()

    fake = start_fake()
    fake_port = fake.server_address[1]
    print("fake Formance (token endpoint + ledger v2) on 127.0.0.1:%d; gateway %s" % (fake_port, args.binary))

    cid_a, sec_a, rec_a, log_a = run_env_secret(args, fake_port)
    cid_b, sec_b, rec_b, log_b = run_file_secret(args, fake_port)
    refused = run_refused(args, fake_port)

    with AUTH.lock:
        issued = [t for t, _, _ in AUTH.issued]
        tok_reqs = list(AUTH.token_requests)
        api_reqs = list(AUTH.api_requests)

    print("== the secrets were really used")
    for cid, secs, run in ((cid_a, sec_a, "A"), (cid_b, sec_b, "B")):
        for s in secs:
            n = sum(1 for t in tok_reqs if t["client_id"] == cid and t["secret"] == s)
            ok = sum(1 for t in tok_reqs if t["client_id"] == cid and t["secret"] == s and t["status"] == 200)
            print("   run %s: secret %s...: %d token request(s), %d answered 200" % (run, s[:6], n, ok))
            check(ok >= 1, "run %s: the fake never accepted secret %s..." % (run, s[:6]))
    bad_form = [t for t in tok_reqs if t["grant_type"] != "client_credentials"
                or not (t["content_type"] or "").startswith("application/x-www-form-urlencoded") or t["basic"]]
    check(not bad_form, "%d token request(s) not form-encoded client_credentials (or with Basic auth)" % len(bad_form))
    used = collections.Counter(r["authorization"][7:] for r in api_reqs if r["authorization"].startswith("Bearer "))
    used_issued = [t for t in issued if used.get(t)]
    print("   tokens issued %d, of which presented upstream %d; upstream API requests %d (%d with a valid bearer)"
          % (len(issued), len(used_issued), len(api_reqs), sum(1 for r in api_reqs if r.get("status") != 401)))
    check(len(used_issued) >= 8, "only %d issued tokens were presented upstream" % len(used_issued))
    statuses = collections.Counter(t["status"] for t in tok_reqs)
    print("   token endpoint answers: %s" % dict(statuses))

    print("== leak scan")
    all_secrets = sec_a + sec_b
    nmap = needles(cid_a, sec_a, issued)
    nmap.update(needles(cid_b, sec_b, []))
    log_blobs = []
    lines = nbytes = 0
    for name in (log_a, log_b):
        data = open(name, "rb").read()
        lines += data.count(b"\n")
        nbytes += len(data)
        log_blobs.append((os.path.basename(name), data))
    for label, out, value in refused:
        lines += out.count(b"\n")
        nbytes += len(out)
        log_blobs.append((label, out))
    client = client_blobs(rec_a) + client_blobs(rec_b)
    errors = [r for _, r in rec_a.results + rec_b.results if r.code != "OK"]
    md_entries = sum(len(r.initial) + len(r.trailing) for _, r in rec_a.results + rec_b.results)
    scan("gateway output", log_blobs, nmap)
    scan("client-visible", client, nmap)
    levels = collections.Counter()
    for _, data in log_blobs[:2]:
        for m in LOG_LINE.finditer(data):
            levels[m.group(1).decode()] += 1
    grpc_core = sum(data.count(b"grpc-core:") for _, data in log_blobs[:2])
    print("   needles: %d (%d secrets, %d tokens, Basic/base64, form-encoded, Bearer forms)"
          % (len(nmap), len(all_secrets), len(issued)))
    print("   gateway output searched: %d lines, %d bytes (runs A+B + %d refused starts); by level %s; "
          "grpc-core lines %d" % (lines, nbytes, len(refused), dict(levels), grpc_core))
    print("   client side searched: %d calls, %d error statuses (message + debug string), %d metadata entries"
          % (len(rec_a.results) + len(rec_b.results), len(errors), md_entries))
    print("   metrics: the gateway exposes none (no metrics endpoint in server/), nothing to scrape")
    check(levels.get("debug", 0) > 0, "no debug lines: was --log_level=trace applied?")
    check(grpc_core > 0, "no grpc-core lines at trace: gRPC core logs are not routed")
    for n in NOTES:
        print("NOTE: " + n)
    return sysutil.report(40)


if __name__ == "__main__":
    sys.exit(main())
