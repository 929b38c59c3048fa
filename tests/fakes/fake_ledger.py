#!/usr/bin/python3
"""A stateful fake of the Formance ledger v2 REST API, for gateway tests.

Standard library only. Run:  /usr/bin/python3 tests/fakes/fake_ledger.py [--port N]
It binds 127.0.0.1 (port 0 = a free port) and prints "listening on PORT" once it accepts.

Formance paths served (the stack layout, with the /api/ledger prefix the gateway sends):
  GET  /api/ledger/_/info                          V2ConfigInfo (also /api/ledger/v2/_info)
  GET  /api/ledger/v2                              list ledgers (cursor)
  GET  /api/ledger/v2/{ledger}                     {data: V2Ledger}
  POST /api/ledger/v2/{ledger}                     create: 204; 400 VALIDATION; 400 LEDGER_ALREADY_EXISTS
  GET  /api/ledger/v2/{ledger}/_info               {data: V2LedgerInfo}
  POST /api/ledger/v2/{ledger}/transactions        create a transaction (postings only, no Numscript)
  GET  /api/ledger/v2/{ledger}/transactions        cursor page, id descending; pageSize, cursor, reverse,
                                                   query={"$match": {"reference"|"metadata[k]"|"account"|
                                                   "source"|"destination": v}}
  HEAD /api/ledger/v2/{ledger}/transactions        204 with Count
  GET  /api/ledger/v2/{ledger}/transactions/{id}   {data: V2Transaction}
  GET  /api/ledger/v2/{ledger}/accounts            cursor page of accounts (expand=volumes)
  GET  /api/ledger/v2/{ledger}/accounts/{address}  {data: V2Account}; expand=volumes,effectiveVolumes
  GET  /api/ledger/v2/{ledger}/aggregate/balances  {data: {asset: balance}}; query={"$match":{"address": a}}

Behaviour copied from ledger v2.4 (internal/api/v2 controllers, go-libs api helpers):
  * errors are V2ErrorResponse {"errorCode", "errorMessage"} (+ "details" only on INSUFFICIENT_FUND,
    where the real ledger puts a Numscript playground link); statuses: 400 VALIDATION / NO_POSTINGS /
    INSUFFICIENT_FUND / LEDGER_ALREADY_EXISTS, 404 NOT_FOUND (unknown ledger, account, transaction),
    409 CONFLICT (a reference already used). Unknown routes get Go's "404 page not found" text.
  * amounts are JSON numbers of any size: bodies are parsed with Python ints (never floats);
    a fractional or quoted amount is 400 VALIDATION. Responses write bare integers.
  * postings are applied in order; a source other than `world` may not go below zero unless
    ?force=true (400 INSUFFICIENT_FUND). `world` may go negative.
  * Idempotency-Key: the first success is stored with a hash of the parsed input; the same key with
    the same input answers the stored transaction with header `Idempotency-Hit: true` and changes
    nothing; the same key with a different input is 400 VALIDATION. Failed writes store nothing
    (Formance stores the log of a success only), so a failed keyed write may be tried again.
  * dryRun=true computes the answer and stores nothing.

--forward URL: every request the fake does not route (other modules, ledger v1, ledger v2 routes
it does not implement) goes to URL instead of Go's 404 (method, path, query, headers and body as
received; hop-by-hop headers dropped; 502 BAD_GATEWAY JSON when URL does not answer). The
quickstart (deploy/quickstart.sh) puts Prism there, so one gateway upstream serves the stateful
ledger and a mock of everything else.

--ledger NAME (repeatable): ledgers created at start (bucket _default, no metadata).

Wallets v1 (create, get, list, credit, debit) over the ledger `wallets-002`: tests/fakes/fake_wallets.py.

Test-only endpoints (never under /api/):
  GET  /_fake/requests[?since=N&path_prefix=P&method=M]  every request received: seq, method, path,
                                                        query, headers, body (text), status
  GET  /_fake/state                                     per ledger: transactions, balances, keys
  GET  /_fake/transactions?ledger=L                     every stored transaction (+ idempotencyKey)
  POST /_fake/reset                                     forget everything
"""

import argparse
import base64
import datetime
import decimal
import hashlib
import json
import re
import sys
import threading
import http.client
import os
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LEDGER_NAME_RE = re.compile(r"^[0-9a-zA-Z_-]{1,63}$")
ADDRESS_RE = re.compile(r"^[a-zA-Z0-9_-]+(:[a-zA-Z0-9_-]+)*$")
ASSET_RE = re.compile(r"^[A-Z][A-Z0-9]{0,16}(_[A-Z]{1,16})?(/\d{1,6})?$")
WORLD = "world"
FORWARD = None  # (host, port) of --forward, or None
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer",
              "upgrade", "content-length", "host"}
VERSION = "v2.4.12-fake"


class ApiError(Exception):
    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def now_rfc3339():
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % t.microsecond


def parse_json(text):
    """Parses JSON keeping every integer exact; fractions become Decimal (then rejected where an
    integer is required). Never a float."""
    return json.loads(text, parse_int=int, parse_float=decimal.Decimal, parse_constant=_reject_constant)


def _reject_constant(name):
    raise ValueError("invalid JSON value " + name)


def dump_json(value):
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(o):
    if isinstance(o, decimal.Decimal):
        return str(o)  # only reachable from echoed input; never produced for amounts
    raise TypeError(type(o).__name__)


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class Account:
    def __init__(self, address, when):
        self.address = address
        self.metadata = {}
        self.volumes = {}  # asset -> [input, output]
        self.insertion_date = when
        self.first_usage = when
        self.updated_at = when

    def balance(self, asset):
        v = self.volumes.get(asset)
        return 0 if v is None else v[0] - v[1]

    def volumes_json(self):
        return {a: {"input": i, "output": o, "balance": i - o} for a, (i, o) in sorted(self.volumes.items())}

    def to_json(self, expand):
        out = {"address": self.address, "metadata": dict(self.metadata),
               "insertionDate": self.insertion_date, "updatedAt": self.updated_at,
               "firstUsage": self.first_usage}
        if "volumes" in expand:
            out["volumes"] = self.volumes_json()
        if "effectiveVolumes" in expand:
            out["effectiveVolumes"] = self.volumes_json()
        return out


class Ledger:
    def __init__(self, name, bucket, metadata, features, ledger_id):
        self.name = name
        self.bucket = bucket or "_default"
        self.metadata = metadata or {}
        self.features = features or {}
        self.added_at = now_rfc3339()
        self.id = ledger_id
        self.transactions = []  # index == id
        self.accounts = {}
        self.idempotency = {}  # key -> (hash, transaction dict)
        self.references = {}  # reference -> id

    def to_json(self):
        return {"name": self.name, "addedAt": self.added_at, "bucket": self.bucket,
                "metadata": dict(self.metadata), "features": dict(self.features), "id": self.id}


DEFAULT_FEATURES = {"ACCOUNT_METADATA_HISTORY": "SYNC", "HASH_LOGS": "SYNC", "INDEX_ADDRESS_SEGMENTS": "ON",
                    "INDEX_TRANSACTION_ACCOUNTS": "ON", "MOVES_HISTORY": "ON",
                    "MOVES_HISTORY_POST_COMMIT_EFFECTIVE_VOLUMES": "SYNC", "TRANSACTION_METADATA_HISTORY": "SYNC"}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.ledgers = {}
        self.requests = []
        self.next_ledger_id = 1


STATE = State()


def validation(message):
    return ApiError(400, "VALIDATION", message)


def bool_param(q, name):
    vals = q.get(name)
    if not vals:
        return False
    v = vals[-1].lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0", ""):
        return False
    raise validation("invalid '%s' query param" % name)


def int_param(q, name, default, lo, hi):
    vals = q.get(name)
    if not vals:
        return default
    try:
        v = int(vals[-1])
    except ValueError:
        raise validation("invalid '%s' query param" % name)
    if v < lo or v > hi:
        raise validation("invalid '%s' query param: must be between %d and %d" % (name, lo, hi))
    return v


def json_query_param(q):
    vals = q.get("query")
    if not vals or vals[-1] == "":
        return {}
    try:
        v = parse_json(vals[-1])
    except ValueError as e:
        raise validation("invalid 'query' query param: %s" % e)
    if not isinstance(v, dict):
        raise validation("invalid 'query' query param: expected an object")
    return v


def match_clause(query):
    """Returns {field: value} from {"$match": {...}} or {"$and": [{"$match":...}, ...]}."""
    out = {}
    if not query:
        return out
    for op, arg in query.items():
        if op == "$match" and isinstance(arg, dict):
            out.update(arg)
        elif op == "$and" and isinstance(arg, list):
            for sub in arg:
                out.update(match_clause(sub))
        else:
            raise validation("unsupported query operator %r in this fake" % op)
    return out


def address_matches(pattern, address):
    """Formance address filters: exact, or segment patterns where an empty segment is a wildcard
    ("users:" matches users:001), trailing "..." matches any remaining segments."""
    if pattern == address:
        return True
    p = pattern.split(":")
    a = address.split(":")
    if p and p[-1] == "...":
        p = p[:-1]
        if len(a) < len(p):
            return False
        a = a[:len(p)]
    elif len(p) != len(a):
        return False
    return all(ps == "" or ps == as_ for ps, as_ in zip(p, a))


def encode_cursor(d):
    return base64.urlsafe_b64encode(dump_json(d).encode()).decode()


def decode_cursor(s):
    try:
        d = json.loads(base64.urlsafe_b64decode(s.encode() + b"=" * (-len(s) % 4)).decode())
        if not isinstance(d, dict) or not is_int(d.get("offset")) or not is_int(d.get("pageSize")):
            raise ValueError("shape")
        return d
    except (ValueError, UnicodeDecodeError):
        raise validation("invalid 'cursor' query param")


def page(items, q, extra_params):
    """A Formance cursor page over an already sorted list. The cursor carries offset, pageSize and
    the original filter parameters, so a cursor request needs no other parameter."""
    if q.get("cursor") and q["cursor"][-1]:
        c = decode_cursor(q["cursor"][-1])
        offset, size = c["offset"], c["pageSize"]
    else:
        offset, size = 0, int_param(q, "pageSize", 15, 1, 1000)
    data = items[offset:offset + size]
    cur = {"pageSize": size, "hasMore": offset + size < len(items), "data": data}
    if offset > 0:
        cur["previous"] = encode_cursor(dict(extra_params, offset=max(0, offset - size), pageSize=size))
    if offset + size < len(items):
        cur["next"] = encode_cursor(dict(extra_params, offset=offset + size, pageSize=size))
    return cur


def params_from_cursor(q):
    if q.get("cursor") and q["cursor"][-1]:
        c = decode_cursor(q["cursor"][-1])
        return {k: v for k, v in c.items() if k not in ("offset", "pageSize")}
    return None


def commit_transaction(led, postings, metadata, reference, ts, force, key, input_hash, dry_run=False):
    """Applies a parsed transaction to `led` like the ledger does; -> (transaction JSON, idempotency hit).
    Raises ApiError (INSUFFICIENT_FUND, CONFLICT, VALIDATION for a reused key with another input)."""
    with STATE.lock:
        if key and not dry_run and key in led.idempotency:
            stored_hash, tx = led.idempotency[key]
            if stored_hash != input_hash:
                raise validation("invalid idempotency hash when using IK '%s' for action 'NEW_TRANSACTION', "
                                 "expected: '%s' and got: '%s'" % (key, stored_hash, input_hash))
            return Handler._public_tx(tx), True
        if reference and reference in led.references:
            raise ApiError(409, "CONFLICT", "transaction with reference %s already exists" % reference)
        # Apply posting by posting on a scratch copy of the touched volumes.
        scratch = {}

        def vol(addr, asset):
            k = (addr, asset)
            if k not in scratch:
                acc = led.accounts.get(addr)
                scratch[k] = list(acc.volumes.get(asset, [0, 0])) if acc else [0, 0]
            return scratch[k]

        pre = {}
        for p in postings:
            for addr in (p["source"], p["destination"]):
                pre.setdefault(addr, {}).setdefault(p["asset"], list(vol(addr, p["asset"])))
        for p in postings:
            src = vol(p["source"], p["asset"])
            if p["source"] != WORLD and not force and src[0] - src[1] < p["amount"]:
                raise ApiError(
                    400, "INSUFFICIENT_FUND",
                    "running numscript: script execution failed: account(s) @%s had/have insufficient funds"
                    % p["source"],
                    details="https://play.numscript.org/?payload=" + base64.urlsafe_b64encode(
                        dump_json({"error": "account had insufficient funds"}).encode()).decode())
            src[1] += p["amount"]
            vol(p["destination"], p["asset"])[0] += p["amount"]
        when = now_rfc3339()
        tx = {
            "id": len(led.transactions),
            "postings": postings,
            "metadata": metadata,
            "timestamp": ts or when,
            "insertedAt": when,
            "updatedAt": when,
            "reverted": False,
            "preCommitVolumes": {a: {s: {"input": v[0], "output": v[1], "balance": v[0] - v[1]}
                                     for s, v in assets.items()} for a, assets in pre.items()},
            "postCommitVolumes": {},
        }
        for (addr, asset), v in scratch.items():
            tx["postCommitVolumes"].setdefault(addr, {})[asset] = {
                "input": v[0], "output": v[1], "balance": v[0] - v[1]}
        tx["preCommitEffectiveVolumes"] = tx["preCommitVolumes"]
        tx["postCommitEffectiveVolumes"] = tx["postCommitVolumes"]
        if reference:
            tx["reference"] = reference
        if dry_run:
            return tx, False
        for (addr, asset), v in scratch.items():
            acc = led.accounts.get(addr)
            if acc is None:
                acc = led.accounts[addr] = Account(addr, when)
            acc.volumes[asset] = v
            acc.updated_at = when
        stored = dict(tx)
        stored["_idempotencyKey"] = key
        led.transactions.append(stored)
        if reference:
            led.references[reference] = tx["id"]
        if key:
            led.idempotency[key] = (input_hash, stored)
    return tx, False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-formance-ledger/" + VERSION
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def version_string(self):
        return self.server_version

    # ---- plumbing -------------------------------------------------------------------------
    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline()
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def _handle(self):
        raw = self._read_body()
        parts = urlsplit(self.path)
        entry = {"method": self.command, "path": parts.path, "query": parts.query,
                 "headers": [[k, v] for k, v in self.headers.items()],
                 "body": raw.decode("utf-8", "replace")}
        fake = parts.path.startswith("/_fake/")
        if not fake:
            with STATE.lock:
                entry["seq"] = len(STATE.requests)
                STATE.requests.append(entry)
        status, headers, body = 500, {}, b""
        try:
            if fake:
                status, headers, body = self._fake_endpoint(parts, raw)
            else:
                self._current = (parts, raw)
                status, headers, body = self._route(parts, raw)
        except ApiError as e:
            err = {"errorCode": e.code, "errorMessage": e.message}
            if e.details is not None:
                err["details"] = e.details
            status, headers, body = e.status, {"Content-Type": "application/json"}, dump_json(err).encode()
        except Exception as e:  # a bug in the fake: answer like Formance's INTERNAL
            status, headers = 500, {"Content-Type": "application/json"}
            body = dump_json({"errorCode": "INTERNAL", "errorMessage": "fake: %r" % e}).encode()
        entry["status"] = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if status not in (204, 304) and not (100 <= status < 200):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle

    @staticmethod
    def _ok(value, status=200, headers=None):
        h = {"Content-Type": "application/json"}
        if headers:
            h.update(headers)
        return status, h, dump_json(value).encode()

    def _body_json(self, raw, allow_empty=False):
        if not raw.strip():
            if allow_empty:
                return {}
            raise validation("EOF")
        try:
            v = parse_json(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise validation(str(e))
        if not isinstance(v, dict):
            raise validation("json: cannot unmarshal %s into Go value of type object" % type(v).__name__)
        return v

    # ---- routing -------------------------------------------------------------------------
    def _route(self, parts, raw):
        path = parts.path
        q = parse_qs(parts.query, keep_blank_values=True)
        m = self.command
        if path in ("/api/ledger/_/info", "/api/ledger/v2/_info") and m == "GET":
            return self._ok({"server": "ledger", "version": VERSION, "experimentalFeatures": []})
        if path == "/api/ledger/v2" or path == "/api/ledger/v2/":
            if m != "GET":
                return self._not_allowed()
            with STATE.lock:
                ledgers = [l.to_json() for l in sorted(STATE.ledgers.values(), key=lambda l: l.id)]
            return self._ok({"cursor": page(ledgers, q, {})})
        if path == fake_wallets.WALLETS_PREFIX or path.startswith(fake_wallets.WALLETS_PREFIX + "/"):
            body = self._body_json(raw, allow_empty=True) if m == "POST" else {}
            answer = WALLETS.route(m, path, q, body, self.headers.get("Idempotency-Key") or "")
            if answer is not None:
                status, value = answer
                if value is None:
                    return status, {"Content-Type": "application/json"}, b""
                return self._ok(value, status)
            return self._not_found_route()
        if not path.startswith("/api/ledger/v2/"):
            return self._not_found_route()
        segs = [unquote(s) for s in path[len("/api/ledger/v2/"):].split("/")]
        name = segs[0]
        rest = segs[1:]
        if not rest:
            if m == "POST":
                return self._create_ledger(name, raw)
            if m == "GET":
                return self._ok({"data": self._ledger(name).to_json()})
            return self._not_allowed()
        if rest == ["_info"] and m == "GET":
            led = self._ledger(name)
            return self._ok({"data": {"name": led.name, "storage": {"migrations": [
                {"version": "11", "name": "migrations:011", "date": led.added_at, "state": "DONE"}]}}})
        if rest == ["transactions"]:
            if m == "POST":
                return self._create_transaction(name, q, raw)
            if m == "GET":
                return self._list_transactions(name, q)
            if m == "HEAD":
                led = self._ledger(name)
                with STATE.lock:
                    n = len(self._filter_transactions(led, match_clause(json_query_param(q))))
                return 204, {"Count": str(n)}, b""
            return self._not_allowed()
        if len(rest) == 2 and rest[0] == "transactions" and m == "GET":
            led = self._ledger(name)
            try:
                tid = int(rest[1])
            except ValueError:
                raise validation("invalid transaction id %r" % rest[1])
            with STATE.lock:
                if tid < 0 or tid >= len(led.transactions) or led.transactions[tid] is None:
                    raise ApiError(404, "NOT_FOUND", "transaction %d not found" % tid)
                tx = led.transactions[tid]
            return self._ok({"data": self._public_tx(tx)})
        if rest == ["accounts"] and m == "GET":
            return self._list_accounts(name, q)
        if len(rest) == 2 and rest[0] == "accounts" and m == "GET":
            return self._get_account(name, rest[1], q)
        if rest == ["aggregate", "balances"] and m == "GET":
            return self._aggregate_balances(name, q)
        return self._not_found_route()

    def _not_found_route(self):
        current = getattr(self, "_current", None)
        if FORWARD and current:
            return self._forward(*current)
        return 404, {"Content-Type": "text/plain; charset=utf-8"}, b"404 page not found\n"

    def _forward(self, parts, raw):
        """The request, as received, to --forward; its answer as (status, headers, body)."""
        target = parts.path + ("?" + parts.query if parts.query else "")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        conn = http.client.HTTPConnection(FORWARD[0], FORWARD[1], timeout=30)
        try:
            conn.request(self.command, target, body=raw if raw or self.command in ("POST", "PUT", "PATCH")
                         else None, headers=headers)
            r = conn.getresponse()
            body = r.read()
            out = {k: v for k, v in r.getheaders() if k.lower() not in HOP_BY_HOP}
            return r.status, out, body
        except (OSError, http.client.HTTPException) as e:
            return 502, {"Content-Type": "application/json"}, dump_json(
                {"errorCode": "BAD_GATEWAY", "errorMessage": "fake: --forward %s:%d: %s" % (
                    FORWARD[0], FORWARD[1], e)}).encode()
        finally:
            conn.close()

    @staticmethod
    def _not_allowed():
        return 405, {"Content-Type": "text/plain; charset=utf-8"}, b""

    @staticmethod
    def _ledger(name):
        with STATE.lock:
            led = STATE.ledgers.get(name)
        if led is None:
            raise ApiError(404, "NOT_FOUND", "ledger %s not found" % name)
        return led

    # ---- ledgers -------------------------------------------------------------------------
    def _create_ledger(self, name, raw):
        body = self._body_json(raw, allow_empty=True)
        if not LEDGER_NAME_RE.match(name) or name.startswith("_"):
            raise validation("invalid ledger name '%s'" % name)
        bucket = body.get("bucket", "")
        if bucket and (not isinstance(bucket, str) or not LEDGER_NAME_RE.match(bucket)):
            raise validation("invalid bucket name '%s'" % bucket)
        metadata = body.get("metadata") or {}
        features = body.get("features") or {}
        for label, mp in (("metadata", metadata), ("features", features)):
            if not isinstance(mp, dict) or not all(isinstance(v, str) for v in mp.values()):
                raise validation("invalid %s: expected a map of strings" % label)
        for k in features:
            if k not in DEFAULT_FEATURES:
                raise validation("unknown feature %s" % k)
        with STATE.lock:
            if name in STATE.ledgers:
                raise ApiError(400, "LEDGER_ALREADY_EXISTS", "ledger already exists")
            f = dict(DEFAULT_FEATURES)
            f.update(features)
            STATE.ledgers[name] = Ledger(name, bucket, metadata, f, STATE.next_ledger_id)
            STATE.next_ledger_id += 1
        return 204, {}, b""

    # ---- transactions --------------------------------------------------------------------
    def _parse_post_transaction(self, body):
        postings = body.get("postings")
        script = body.get("script")
        if script:
            raise validation("this fake does not interpret Numscript; send postings")
        if postings is None:
            postings = []
        if not isinstance(postings, list):
            raise validation("invalid postings: expected an array")
        clean = []
        for i, p in enumerate(postings):
            if not isinstance(p, dict):
                raise validation("postings[%d]: expected an object" % i)
            amount = p.get("amount")
            if not is_int(amount):
                raise validation("postings[%d]: invalid amount %s: expected an integer" % (i, dump_json(amount)))
            if amount < 0:
                raise validation("posting %d: negative amount" % i)
            asset, src, dst = p.get("asset"), p.get("source"), p.get("destination")
            if not isinstance(asset, str) or not ASSET_RE.match(asset):
                raise validation("posting %d: invalid asset %s" % (i, dump_json(asset)))
            for role, addr in (("source", src), ("destination", dst)):
                if not isinstance(addr, str) or not ADDRESS_RE.match(addr):
                    raise validation("posting %d: invalid %s address %s" % (i, role, dump_json(addr)))
            clean.append({"source": src, "destination": dst, "amount": amount, "asset": asset})
        if not clean:
            raise ApiError(400, "NO_POSTINGS", "you need to pass either a posting array or a numscript script")
        metadata = body.get("metadata")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise validation("invalid metadata: expected a map of strings")
        reference = body.get("reference", "")
        if not isinstance(reference, str):
            raise validation("invalid reference: expected a string")
        ts = body.get("timestamp")
        if ts is not None:
            if not isinstance(ts, str):
                raise validation("invalid timestamp")
            try:
                datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
            except ValueError:
                raise validation("invalid timestamp %s" % ts)
        return clean, metadata, reference, ts

    def _create_transaction(self, name, q, raw):
        led = self._ledger(name)
        body = self._body_json(raw)
        dry_run = bool_param(q, "dryRun")
        force = bool_param(q, "force") or body.get("force") is True
        postings, metadata, reference, ts = self._parse_post_transaction(body)
        key = self.headers.get("Idempotency-Key") or ""
        input_hash = hashlib.sha256(canonical({"postings": postings, "metadata": metadata, "reference": reference,
                                               "timestamp": ts, "accountMetadata": body.get("accountMetadata"),
                                               "force": force}).encode()).hexdigest()
        tx, hit = commit_transaction(led, postings, metadata, reference, ts, force, key, input_hash, dry_run)
        return self._ok({"data": tx}, headers={"Idempotency-Hit": "true"} if hit else None)

    @staticmethod
    def _public_tx(tx):
        return {k: v for k, v in tx.items() if not k.startswith("_")}

    @staticmethod
    def _filter_transactions(led, match):
        out = []
        for tx in led.transactions:
            ok = True
            for k, v in match.items():
                if k == "reference":
                    ok = tx.get("reference") == v
                elif k.startswith("metadata[") and k.endswith("]"):
                    ok = tx["metadata"].get(k[9:-1]) == v
                elif k in ("account", "source", "destination"):
                    roles = ("source", "destination") if k == "account" else (k,)
                    ok = any(address_matches(v, p[r]) for p in tx["postings"] for r in roles)
                elif k == "id":
                    ok = tx["id"] == v
                else:
                    raise validation("unsupported filter %r in this fake" % k)
                if not ok:
                    break
            if ok:
                out.append(tx)
        return out

    def _list_transactions(self, name, q):
        led = self._ledger(name)
        carried = params_from_cursor(q)
        if carried is None:
            carried = {"query": json_query_param(q), "reverse": bool_param(q, "reverse")}
        with STATE.lock:
            txs = self._filter_transactions(led, match_clause(carried.get("query") or {}))
            txs = [self._public_tx(t) for t in txs]
        if not carried.get("reverse"):
            txs.reverse()  # id descending, as the ledger lists them
        return self._ok({"cursor": page(txs, q, carried)})

    # ---- accounts ------------------------------------------------------------------------
    @staticmethod
    def _expand(q):
        out = set()
        for v in q.get("expand", []):
            out.update(x.strip() for x in v.split(",") if x.strip())
        return out

    def _get_account(self, name, address, q):
        led = self._ledger(name)
        if not ADDRESS_RE.match(address):
            raise validation("invalid address '%s'" % address)
        expand = self._expand(q)
        with STATE.lock:
            acc = led.accounts.get(address)
            if acc is None:
                raise ApiError(404, "NOT_FOUND", "account %s not found" % address)
            data = acc.to_json(expand)
        return self._ok({"data": data})

    def _list_accounts(self, name, q):
        led = self._ledger(name)
        carried = params_from_cursor(q)
        if carried is None:
            carried = {"query": json_query_param(q), "expand": sorted(self._expand(q))}
        match = match_clause(carried.get("query") or {})
        with STATE.lock:
            accs = []
            for addr in sorted(led.accounts):
                if "address" in match and not address_matches(match["address"], addr):
                    continue
                accs.append(led.accounts[addr].to_json(set(carried.get("expand") or [])))
        return self._ok({"cursor": page(accs, q, carried)})

    def _aggregate_balances(self, name, q):
        led = self._ledger(name)
        match = match_clause(json_query_param(q))
        for k in match:
            if k != "address":
                raise validation("unsupported filter %r in this fake" % k)
        totals = {}
        with STATE.lock:
            for addr, acc in led.accounts.items():
                if "address" in match and not address_matches(match["address"], addr):
                    continue
                for asset, (i, o) in acc.volumes.items():
                    totals[asset] = totals.get(asset, 0) + i - o
        return self._ok({"data": dict(sorted(totals.items()))})

    # ---- test-only endpoints -------------------------------------------------------------
    def _fake_endpoint(self, parts, raw):
        q = parse_qs(parts.query, keep_blank_values=True)
        p = parts.path
        if p == "/_fake/requests" and self.command == "GET":
            since = int(q.get("since", ["0"])[-1])
            prefix = q.get("path_prefix", [""])[-1]
            method = q.get("method", [""])[-1]
            with STATE.lock:
                reqs = [dict(r) for r in STATE.requests[since:]
                        if r["path"].startswith(prefix) and (not method or r["method"] == method)]
                nxt = len(STATE.requests)
            return self._ok({"requests": reqs, "next": nxt})
        if p == "/_fake/state" and self.command == "GET":
            out = {}
            with STATE.lock:
                for name, led in STATE.ledgers.items():
                    balances = {a: {s: i - o for s, (i, o) in acc.volumes.items()}
                                for a, acc in sorted(led.accounts.items())}
                    out[name] = {"transactions": len(led.transactions), "accounts": len(led.accounts),
                                 "idempotencyKeys": len(led.idempotency), "balances": balances}
                n = len(STATE.requests)
            return self._ok({"ledgers": out, "requests": n})
        if p == "/_fake/transactions" and self.command == "GET":
            name = q.get("ledger", [""])[-1]
            with STATE.lock:
                led = STATE.ledgers.get(name)
                if led is None:
                    raise ApiError(404, "NOT_FOUND", "ledger %s not found" % name)
                data = []
                for tx in led.transactions:
                    t = self._public_tx(tx)
                    t["idempotencyKey"] = tx["_idempotencyKey"]
                    data.append(t)
            return self._ok({"data": data})
        if p == "/_fake/reset" and self.command == "POST":
            with STATE.lock:
                STATE.reset()
            return 204, {}, b""
        return self._not_found_route()


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fake_wallets  # noqa: E402

WALLETS = fake_wallets.Wallets(types.SimpleNamespace(
    STATE=STATE, ApiError=ApiError, Ledger=Ledger, DEFAULT_FEATURES=DEFAULT_FEATURES,
    commit_transaction=commit_transaction, canonical=canonical, is_int=is_int, now_rfc3339=now_rfc3339,
    ADDRESS_RE=ADDRESS_RE, ASSET_RE=ASSET_RE, int_param=int_param))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--forward", default=None, help="http://HOST:PORT for routes the fake does not serve")
    ap.add_argument("--ledger", action="append", default=[], help="a ledger to create at start")
    args = ap.parse_args(argv)
    global FORWARD
    if args.forward:
        u = urlsplit(args.forward)
        if u.scheme != "http" or not u.hostname:
            ap.error("--forward wants http://HOST:PORT")
        FORWARD = (u.hostname, u.port or 80)
    srv = Server((args.host, args.port), Handler)
    for name in args.ledger:
        if not LEDGER_NAME_RE.match(name):
            ap.error("bad ledger name: %s" % name)
        with STATE.lock:
            if name not in STATE.ledgers:
                STATE.ledgers[name] = Ledger(name, "", {}, dict(DEFAULT_FEATURES), STATE.next_ledger_id)
                STATE.next_ledger_id += 1
    print("listening on %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
