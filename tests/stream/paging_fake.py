#!/usr/bin/python3
"""Paging fake: ledger v2 ListTransactions (GET /api/ledger/v2/{ledger}/transactions) over a
large in-memory ledger, with Formance's cursor semantics, recording every request.

- Ledgers are created on first use with --items transactions (ids 0..N-1); item `i` was
  inserted at BASE + i seconds. A page lists transactions newest first (id descending), at
  most pageSize (default 15, max 1000), offset-paginated as the ledger's offset pages are.
- `pit` (RFC 3339) keeps only transactions inserted at or before it, so writes made after it
  neither appear nor shift the pages. Without `pit`, a write moves every later page by one:
  items repeat across pages, as they do against a real ledger.
- `cursor` is base64(JSON {offset, pageSize, pit}): the page's whole query. With `cursor`
  set, any other query parameter is refused (400 VALIDATION, as ledger v1 does), so a client
  must send the cursor alone.
- Ledger names steer faults: `slow-<ms>` delays each page by <ms> ms; `fail-<n>` answers page n
  (1-based, counted per ledger) with 500; `loop` returns the request's own cursor as next.
- Control (JSON): GET /_requests?since=N -> {"requests": [{"path", "query", "t"}...], "count"}
  (every ledger request since index N); POST /_insert {"ledger", "count"} -> {"ids"} appends
  new transactions inserted now (the real clock, as the gateway's pin is); POST /_reset clears
  everything.
- POST /api/ledger/v2/export-<M>/logs/export answers ExportLogs with M MiB of JSON lines,
  chunked (64 KiB chunks), for measuring what an export costs the gateway.
- --pad-bytes B puts a metadata value of B bytes on every item; ledgers named `fat...` get
  4096 bytes (pages of ~0.4 MB at pageSize 100: bigger than HTTP/2's windows, for flow control).

Binds 127.0.0.1 on an ephemeral port and prints "listening on PORT".
"""
import argparse
import base64
import datetime
import json
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BASE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Ledger:
    def __init__(self, items):
        self.inserted = [BASE + datetime.timedelta(seconds=i) for i in range(items)]
        self.pages = 0
        self.later = 0


class State:
    def __init__(self, items, pad):
        self.items, self.pad = items, pad
        self.lock = threading.Lock()
        self.ledgers = {}
        self.requests = []

    def ledger(self, name):
        if name not in self.ledgers:
            self.ledgers[name] = Ledger(self.items)
        return self.ledgers[name]


def transaction(i, inserted, pad):
    metadata = {"n": str(i)}
    if pad:
        metadata["pad"] = "x" * pad
    return {"id": i, "timestamp": rfc3339(inserted), "insertedAt": rfc3339(inserted), "reverted": False,
            "metadata": metadata,
            "postings": [{"source": "world", "destination": "users:%04d" % (i % 10000),
                          "amount": 340282366920938463463374607431768211457 + i, "asset": "USD/2"}]}


def encode_cursor(q):
    return base64.urlsafe_b64encode(json.dumps(q, sort_keys=True).encode()).decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, code, message):
        self.send_json(status, {"errorCode": code, "errorMessage": message})

    def do_POST(self):
        st = self.state
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/_reset":
            with st.lock:
                st.ledgers.clear()
                st.requests.clear()
            return self.send_json(200, {})
        m = re.fullmatch(r"/api/ledger/v2/export-([0-9]+)/logs/export", self.path)
        if m:  # ExportLogs of <MiB> MiB of JSON lines, sent in 64 KiB chunks.
            total = int(m.group(1)) << 20
            line = (json.dumps({"id": 0, "type": "NEW_TRANSACTION", "data": {"pad": "x" * 200}}) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = (line * (65536 // len(line) + 1))[:65536]
            sent = 0
            while sent < total:
                part = chunk[:min(len(chunk), total - sent)]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                sent += len(part)
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/_insert":
            with st.lock:
                led = st.ledger(body["ledger"])
                ids = []
                for _ in range(int(body.get("count", 1))):
                    led.later += 1
                    # The real time: after the pit of any stream that started before.
                    led.inserted.append(datetime.datetime.now(datetime.timezone.utc))
                    ids.append(len(led.inserted) - 1)
            return self.send_json(200, {"ids": ids})
        self.error(404, "NOT_FOUND", "no such route")

    def do_GET(self):
        st = self.state
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        if url.path == "/_requests":
            since = int(query.get("since", ["0"])[0])
            with st.lock:
                out = st.requests[since:]
                count = len(st.requests)
            return self.send_json(200, {"requests": out, "count": count})
        parts = url.path.split("/")
        # /api/ledger/v2/{ledger}/transactions
        if len(parts) != 6 or parts[1:4] != ["api", "ledger", "v2"] or parts[5] != "transactions":
            return self.error(404, "NOT_FOUND", "no such route")
        name = urllib.parse.unquote(parts[4])
        with st.lock:
            st.requests.append({"path": url.path, "query": url.query, "t": time.monotonic()})
            led = st.ledger(name)
            led.pages += 1
            page_number = led.pages
            inserted = list(led.inserted)
        if name.startswith("slow-"):
            time.sleep(int(name[5:]) / 1000.0)
        if name.startswith("fail-") and page_number == int(name[5:]):
            return self.error(500, "INTERNAL", "page %d fails" % page_number)
        if "cursor" in query:
            if len(query) != 1:
                return self.error(400, "VALIDATION", "no other query params can be set with 'cursor'")
            try:
                q = json.loads(base64.urlsafe_b64decode(query["cursor"][0].encode()))
                offset, size, pit = int(q["offset"]), int(q["pageSize"]), q.get("pit")
            except Exception:  # noqa: BLE001 - any malformed cursor is the client's error
                return self.error(400, "VALIDATION", "invalid cursor")
        else:
            offset = 0
            size = int(query.get("pageSize", ["15"])[0])
            pit = query.get("pit", [None])[0]
        if not 1 <= size <= 1000:
            return self.error(400, "VALIDATION", "pageSize must be from 1 to 1000")
        ids = list(range(len(inserted)))
        if pit:
            limit = parse_time(pit)
            ids = [i for i in ids if inserted[i] <= limit]
        ids.reverse()  # Newest first.
        chunk = ids[offset:offset + size]
        has_more = offset + size < len(ids)
        cursor = {"pageSize": size, "hasMore": has_more,
                  "data": [transaction(i, inserted[i], 4096 if name.startswith("fat") else st.pad)
                           for i in chunk]}
        if has_more:
            cursor["next"] = encode_cursor({"offset": offset + size, "pageSize": size, "pit": pit})
            if name == "loop" and "cursor" in query:
                cursor["next"] = query["cursor"][0]
        if offset > 0:
            cursor["previous"] = encode_cursor({"offset": max(0, offset - size), "pageSize": size, "pit": pit})
        self.send_json(200, {"cursor": cursor})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--pad-bytes", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    Handler.state = State(args.items, args.pad_bytes)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
