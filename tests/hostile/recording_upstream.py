#!/usr/bin/python3
"""A recording, scriptable Formance-like HTTP/1.1 upstream for the hostile-input suite.

Standard library only (Debian /usr/bin/python3). Imported by hostile_test.py, or run alone:
  /usr/bin/python3 tests/hostile/recording_upstream.py [--host 127.0.0.1] [--port 0]

- Threaded (one thread per connection), HTTP/1.1 keep-alive, binds 127.0.0.x only.
- Records every request exactly as it arrived: the raw request line, the raw header block and
  each (name, value) pair as bytes, the body (Content-Length or chunked), the connection it came
  on. A request line longer than RECORD_LINE_MAX is stored truncated with its full length (a
  15 MB target is measured, not kept four times over). Anything that does not parse as HTTP/1.1
  (for instance the tail of a smuggled request) is recorded too, with `malformed` set.
- Counts accepted connections, the peak of simultaneously open connections and the peak of
  requests being answered at once (reset_peaks() starts a new measurement).
- Answers according to scripted rules matched on the raw request target (first matching
  prefix wins), else the default mode:
    normal       Formance-like JSON: GetAccount echoes the address (decoded and raw segment),
                 CreateTransaction echoes the postings, GetLedger, DeleteSecret (204),
                 payments v3 capabilities, ledger _info; anything else 404 NOT_FOUND.
                 `delay` (seconds) delays the reply (slow upstream).
    redirect     `status` (302 default) with Location: `location`
    big_cl       200 with Content-Length `size` (200 MB default), streamed from a generator
    big_chunked  200, Transfer-Encoding: chunked, `size` bytes in `chunk` (64 KiB) chunks
    one_chunk    200, chunked, the whole `size` bytes as one chunk (streamed in 64 KiB writes)
    big_headers  200 with `size` bytes of 8 KiB header lines, then a small body
    error_big    400 {"errorCode": <`code_bytes` x "E">, "errorMessage": ...}
    token        an OAuth2 token endpoint; `token_mode`: normal | garbage | expires0 | crlf
  The big bodies are valid JSON decoding to a small GetAccount reply plus an ignored "pad"
  field, so a gateway that buffers the whole body would answer OK (and be caught).
"""

import argparse
import json
import secrets
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import unquote, urlsplit

RECORD_LINE_MAX = 1 << 20       # request lines beyond this are stored truncated (length kept)
READ_LINE_MAX = 64 << 20        # a single line beyond this ends the connection
HEADER_LINES_MAX = 2000
BODY_MAX = 64 << 20             # bodies beyond this are read and dropped (length kept)
SEND_TIME_MAX = 60.0            # a streamed big body gives up after this long
CONN_IDLE_TIMEOUT = 30.0

BIG_SIZE = 200 * 1000 * 1000
CHUNK = 64 * 1024


class Request:
    __slots__ = ("seq", "conn", "t", "peer", "request_line", "line_len", "method", "target",
                 "target_len", "version", "raw_headers", "headers", "body", "body_len", "malformed",
                 "server")

    def header(self, name):
        """The first value of header `name` (case-insensitive) as bytes, or None."""
        n = name.lower().encode() if isinstance(name, str) else name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return None

    def header_names(self):
        return [k.lower() for k, _ in self.headers]

    def path(self):
        return (self.target or b"").split(b"?", 1)[0]

    def short(self, n=160):
        line = self.request_line[:n].decode("latin-1")
        if self.line_len > n:
            line += "...(%d bytes)" % self.line_len
        return "#%d conn %d %r" % (self.seq, self.conn, line)


def _json(status, obj, extra=()):
    return status, [("Content-Type", "application/json")] + list(extra), json.dumps(obj).encode()


REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
           404: "Not Found", 405: "Method Not Allowed", 500: "Internal Server Error"}


def big_body_pieces(total, piece=CHUNK):
    """`total` bytes of valid JSON (a small GetAccount reply + a huge ignored "pad" string), in
    contiguous pieces of `piece` bytes (the last one shorter). Never more than one piece in memory."""
    prefix = b'{"data":{"address":"big","metadata":{}},"pad":"'
    suffix = b'"}'
    pad = total - len(prefix) - len(suffix)
    block = b"a" * piece
    first = prefix + block[:piece - len(prefix)]
    yield first
    pad_left = pad - (piece - len(prefix))
    while pad_left > piece:
        yield block
        pad_left -= piece
    last = block[:pad_left] + suffix
    yield last[:piece]
    if len(last) > piece:
        yield last[piece:]


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, host="127.0.0.1", port=0, name="upstream"):
        if not host.startswith("127."):
            raise ValueError("binds 127.0.0.x only")
        super().__init__((host, port), _Handler)
        self.name = name
        self.lock = threading.Lock()
        self.requests = []
        self.rules = []                 # (prefix bytes, mode dict)
        self.default = {"mode": "normal"}
        self.conns_accepted = 0
        self.conns_open = 0
        self.conns_peak = 0
        self.inflight = 0
        self.inflight_peak = 0
        self.tx_seq = 0
        self.tokens_issued = []
        self.big_sends = []             # dicts: mode, size, sent, aborted, seconds
        self.thread = None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1},
                                       name=self.name, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()

    @property
    def host(self):
        return self.server_address[0]

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    # ---- scripting ----------------------------------------------------------------------
    def script(self, prefix, mode, **params):
        """Requests whose raw target starts with `prefix` get `mode` (first match wins)."""
        if isinstance(prefix, str):
            prefix = prefix.encode()
        d = dict(params)
        d["mode"] = mode
        with self.lock:
            self.rules.append((prefix, d))

    def set_default(self, mode="normal", **params):
        d = dict(params)
        d["mode"] = mode
        with self.lock:
            self.default = d

    def mode_for(self, req):
        with self.lock:
            for prefix, d in self.rules:
                if (req.target or b"").startswith(prefix):
                    return d
            return self.default

    # ---- measurement --------------------------------------------------------------------
    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def reset_peaks(self):
        with self.lock:
            self.conns_peak = self.conns_open
            self.inflight_peak = self.inflight

    def stats(self):
        with self.lock:
            return {"requests": len(self.requests), "conns_accepted": self.conns_accepted,
                    "conns_open": self.conns_open, "conns_peak": self.conns_peak,
                    "inflight_peak": self.inflight_peak}

    def _record(self, req):
        with self.lock:
            req.seq = len(self.requests)
            self.requests.append(req)


class _Handler(socketserver.StreamRequestHandler):
    timeout = CONN_IDLE_TIMEOUT

    def handle(self):
        srv = self.server
        with srv.lock:
            srv.conns_accepted += 1
            conn_id = srv.conns_accepted
            srv.conns_open += 1
            srv.conns_peak = max(srv.conns_peak, srv.conns_open)
        try:
            for _ in range(100000):  # requests per connection, bounded
                req = self._read_request(conn_id)
                if req is None:
                    break
                srv._record(req)
                if req.malformed:
                    self._send(400, [("Content-Type", "text/plain"), ("Connection", "close")], b"malformed\n")
                    break
                with srv.lock:
                    srv.inflight += 1
                    srv.inflight_peak = max(srv.inflight_peak, srv.inflight)
                try:
                    keep = self._answer(req)
                finally:
                    with srv.lock:
                        srv.inflight -= 1
                if not keep or (req.header("connection") or b"").lower() == b"close":
                    break
        except (OSError, ValueError):
            pass
        finally:
            with srv.lock:
                srv.conns_open -= 1

    # ---- reading ------------------------------------------------------------------------
    def _readline(self):
        line = self.rfile.readline(READ_LINE_MAX)
        if len(line) >= READ_LINE_MAX and not line.endswith(b"\n"):
            raise ValueError("line too long")
        return line

    def _read_request(self, conn_id):
        line = self._readline()
        blanks = 0
        while line in (b"\r\n", b"\n") and blanks < 4:  # RFC 9112: ignore a stray CRLF before a request
            blanks += 1
            line = self._readline()
        if not line:
            return None
        req = Request()
        req.conn, req.t, req.peer, req.server = conn_id, time.monotonic(), self.client_address, self.server.name
        req.line_len = len(line)
        req.request_line = line if len(line) <= RECORD_LINE_MAX else line[:RECORD_LINE_MAX]
        req.headers, req.body, req.body_len, req.malformed = [], b"", 0, False
        parts = line.rstrip(b"\r\n").split(b" ")
        if len(parts) == 3 and parts[2].startswith(b"HTTP/1.") and parts[0].isalpha():
            req.method, req.version = parts[0], parts[2]
            req.target_len = len(parts[1])
            req.target = parts[1] if len(parts[1]) <= RECORD_LINE_MAX else parts[1][:RECORD_LINE_MAX]
        else:
            req.method, req.target, req.target_len, req.version = None, None, 0, None
            req.malformed = True
        raw = []
        for _ in range(HEADER_LINES_MAX):
            h = self._readline()
            if h in (b"\r\n", b"\n", b""):
                break
            raw.append(h)
            if b":" in h:
                k, v = h.split(b":", 1)
                req.headers.append((k, v.strip(b" \t\r\n")))
            else:
                req.malformed = True
        req.raw_headers = b"".join(raw)
        if req.malformed:
            return req
        te = (req.header("transfer-encoding") or b"").lower()
        if b"chunked" in te:
            req.body, req.body_len = self._read_chunked()
        else:
            try:
                n = int(req.header("content-length") or b"0")
            except ValueError:
                req.malformed = True
                return req
            req.body, req.body_len = self._read_n(n), n
        return req

    def _read_n(self, n):
        out, left = [], n
        kept = 0
        while left > 0:
            b = self.rfile.read(min(left, 1 << 20))
            if not b:
                raise ValueError("short body")
            left -= len(b)
            if kept < BODY_MAX:
                out.append(b)
                kept += len(b)
        return b"".join(out)

    def _read_chunked(self):
        out, total = [], 0
        for _ in range(1 << 20):
            size = int(self._readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                for _ in range(HEADER_LINES_MAX):  # trailers
                    if self._readline() in (b"\r\n", b"\n", b""):
                        break
                break
            b = self._read_n(size)
            total += size
            if sum(len(x) for x in out) < BODY_MAX:
                out.append(b)
            self._readline()
        return b"".join(out), total

    # ---- answering ----------------------------------------------------------------------
    def _send(self, status, headers, body):
        head = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        names = {k.lower() for k, _ in headers}
        for k, v in headers:
            head.append("%s: %s" % (k, v))
        if "content-length" not in names and "transfer-encoding" not in names:
            head.append("Content-Length: %d" % len(body))
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def _answer(self, req):
        d = self.server.mode_for(req)
        mode = d["mode"]
        if mode == "normal":
            delay = d.get("delay", 0)
            if delay:
                time.sleep(delay)
            status, headers, body = self._formance(req)
            self._send(status, headers, body)
            return True
        if mode == "redirect":
            body = b'{"moved":true}'
            self._send(d.get("status", 302), [("Location", d["location"]), ("Content-Type", "application/json")], body)
            return True
        if mode in ("big_cl", "big_chunked", "one_chunk", "big_headers"):
            return self._big(mode, d.get("size", BIG_SIZE), d.get("chunk", CHUNK))
        if mode == "error_big":
            n = d.get("code_bytes", 20 * 1024)
            status, headers, body = _json(d.get("status", 400), {
                "errorCode": "E" * n, "errorMessage": d.get("message", "validation failed: amount")})
            self._send(status, headers, body)
            return True
        if mode == "token":
            status, headers, body = self._token(req, d.get("token_mode", "normal"))
            self._send(status, headers, body)
            return True
        raise ValueError("unknown mode " + mode)

    def _big(self, mode, size, chunk):
        rec = {"mode": mode, "size": size, "sent": 0, "aborted": False, "seconds": 0.0}
        t0 = time.monotonic()
        try:
            if mode == "big_cl":
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % size)
                for piece in big_body_pieces(size, chunk):
                    self.wfile.write(piece)
                    rec["sent"] += len(piece)
                    if time.monotonic() - t0 > SEND_TIME_MAX:
                        rec["aborted"] = True
                        return False
            elif mode == "one_chunk":
                # The whole body as ONE chunk of `size` bytes (its size line first), streamed.
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 b"%x\r\n" % size)
                for piece in big_body_pieces(size, chunk):
                    self.wfile.write(piece)
                    rec["sent"] += len(piece)
                    if time.monotonic() - t0 > SEND_TIME_MAX:
                        rec["aborted"] = True
                        return False
                self.wfile.write(b"\r\n0\r\n\r\n")
            elif mode == "big_headers":
                # `size` bytes of response header lines (8 KiB each), then a small valid body.
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                line = b"X-Pad: " + b"p" * (8192 - 9) + b"\r\n"
                for _ in range(max(1, size // len(line))):
                    self.wfile.write(line)
                    rec["sent"] += len(line)
                    if time.monotonic() - t0 > SEND_TIME_MAX:
                        rec["aborted"] = True
                        return False
                body = b'{"data":{"address":"big","metadata":{}}}'
                self.wfile.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            else:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                for piece in big_body_pieces(size, chunk):
                    self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
                    rec["sent"] += len(piece)
                    if time.monotonic() - t0 > SEND_TIME_MAX:
                        rec["aborted"] = True
                        return False
                self.wfile.write(b"0\r\n\r\n")
            return True
        except OSError:
            rec["aborted"] = True
            return False
        finally:
            rec["seconds"] = time.monotonic() - t0
            with self.server.lock:
                self.server.big_sends.append(rec)

    def _token(self, req, token_mode):
        if req.method != b"POST":
            return _json(405, {"error": "invalid_request"})
        if token_mode == "garbage":
            return 200, [("Content-Type", "application/json")], b"<html>\x00\xff not json {{{"
        if token_mode == "expires0":
            return _json(200, {"access_token": "t", "token_type": "Bearer", "expires_in": 0})
        if token_mode == "crlf":
            return _json(200, {"access_token": "tok\r\nX-Injected: yes", "token_type": "Bearer",
                               "expires_in": 3600})
        token = "at_" + secrets.token_hex(16)
        with self.server.lock:
            self.server.tokens_issued.append(token)
        return _json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def _formance(self, req):
        path = req.path().decode("latin-1")
        segs = path.split("/")  # raw (still percent-encoded) segments
        m = req.method
        # /api/ledger/v2/{ledger}/accounts/{address}
        if m == b"GET" and len(segs) == 7 and segs[1:4] == ["api", "ledger", "v2"] and segs[5] == "accounts":
            return _json(200, {"data": {"address": unquote(segs[6]),
                                        "metadata": {"raw_segment": segs[6], "ledger": unquote(segs[4])}}})
        # /api/ledger/v2/{ledger}/transactions
        if m == b"POST" and len(segs) == 6 and segs[1:4] == ["api", "ledger", "v2"] and segs[5] == "transactions":
            try:
                postings = json.loads(req.body or b"{}").get("postings") or []
            except ValueError:
                postings = []
            with self.server.lock:
                self.server.tx_seq += 1
                txid = self.server.tx_seq
            return _json(200, {"data": {"id": txid, "timestamp": "2024-01-01T00:00:00Z", "postings": postings,
                                        "metadata": {}, "reverted": False}})
        # /api/ledger/v2/{ledger}
        if m == b"GET" and len(segs) == 5 and segs[1:4] == ["api", "ledger", "v2"] and segs[4] not in ("", "_info"):
            return _json(200, {"data": {"name": unquote(segs[4]), "addedAt": "2024-01-01T00:00:00Z",
                                        "bucket": "_default", "metadata": {}}})
        # /api/auth/clients/{c}/secrets/{s}
        if m == b"DELETE" and len(segs) == 7 and segs[1:4] == ["api", "auth", "clients"] and segs[5] == "secrets":
            return 204, [], b""
        if m == b"GET" and path == "/api/payments/v3/connectors/capabilities":
            return _json(200, {"data": {}}, [("ETag", '"caps-1"')])
        if m == b"GET" and path in ("/api/ledger/_/info", "/api/ledger/v2/_info"):
            return _json(200, {"server": "recording-upstream", "version": "v2.4.0"})
        return _json(404, {"errorCode": "NOT_FOUND", "errorMessage": "no route for %s %s" % (
            (m or b"?").decode("latin-1"), path[:200])})


class TlsBreakingUpstream:
    """An HTTPS upstream that completes the TLS handshake, reads one whole request (recorded),
    then writes a bogus TLS record on the raw socket and closes: the client's TLS layer fails with
    an OpenSSL error ("... (SSL routines)") AFTER every byte of the request was written. A client
    that guesses "never sent" from the word "SSL" retries, and a write lands twice.
    Counts TCP connections, completed handshakes and requests."""

    def __init__(self, certfile, keyfile, host="127.0.0.1"):
        if not host.startswith("127."):
            raise ValueError("binds 127.0.0.x only")
        import ssl
        self.ssl = ssl
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.lock = threading.Lock()
        self.requests = []          # (request line, raw headers, body)
        self.conns = 0
        self.handshakes = 0
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True, name="tls-breaker").start()

    @property
    def port(self):
        return self.sock.getsockname()[1]

    @property
    def url(self):
        return "https://%s:%d" % (self.sock.getsockname()[0], self.port)

    def count(self):
        with self.lock:
            return len(self.requests)

    def stop(self):
        self.stopping = True
        self.sock.close()

    def _accept(self):
        for _ in range(100000):
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns += 1
            threading.Thread(target=self._conn, args=(c,), daemon=True).start()

    def _conn(self, c):
        ssl = self.ssl
        c.settimeout(10)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.ctx.wrap_bio(inc, out, server_side=True)

        def flush():
            data = out.read()
            if data:
                c.sendall(data)

        def feed():
            d = c.recv(65536)
            if not d:
                raise EOFError
            inc.write(d)

        try:
            for _ in range(1000):
                try:
                    obj.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    flush()
                    feed()
            flush()
            with self.lock:
                self.handshakes += 1
            buf = b""
            for _ in range(100000):
                if b"\r\n\r\n" in buf:
                    break
                try:
                    buf += obj.read(65536)
                except ssl.SSLWantReadError:
                    flush()
                    feed()
            head, body = buf.split(b"\r\n\r\n", 1)
            n = 0
            for line in head.split(b"\r\n")[1:]:
                if line.lower().startswith(b"content-length:"):
                    n = int(line.split(b":", 1)[1])
            for _ in range(100000):
                if len(body) >= n:
                    break
                try:
                    body += obj.read(65536)
                except ssl.SSLWantReadError:
                    feed()
            with self.lock:
                self.requests.append((head.split(b"\r\n", 1)[0], head, body))
            # A TLS application-data record that cannot decrypt, then close.
            c.sendall(b"\x17\x03\x03\x00\x20" + secrets.token_bytes(32))
            time.sleep(0.3)
        except (OSError, EOFError, ValueError, ssl.SSLError):
            pass
        finally:
            c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = Upstream(args.host, args.port).start()
    print("listening on %s" % srv.url, flush=True)
    try:
        while True:
            time.sleep(5)
            print("stats %s" % json.dumps(srv.stats()), flush=True)
    except KeyboardInterrupt:
        pass
    srv.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
