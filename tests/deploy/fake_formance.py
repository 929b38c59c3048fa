#!/usr/bin/python3
"""A small fake Formance stack for the deploy tests: an OAuth2 token endpoint and a few ledger v2
reads in the shapes of the OpenAPI spec (tests/bench/make_fixtures.py builds the bodies).

Standard library only. Run:  fake_formance.py --host 127.0.0.1 --port 0
It prints "listening on PORT" once it accepts.

  POST /api/auth/oauth/token                  client_credentials form; answers a bearer token and
                                              records which client secret it was given
  GET  /api/ledger/v2                         an empty ledger page (needs a token it issued, or any
                                              bearer when --any-token)
  GET  /api/ledger/v2/{ledger}/transactions   a page of pageSize transactions (1..1000, default 15)
  GET  /api/ledger/v2/{ledger}/accounts/{a}   an account with big-integer volumes
  GET  /_fake/tokens                          JSON list of the client secrets token requests
                                              carried, in order (a test double: these are test
                                              values)
"""

import argparse
import json
import os
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import make_fixtures  # noqa: E402

_PAGES = {}
_PAGES_LOCK = threading.Lock()


def page_body(size):
    with _PAGES_LOCK:
        if size not in _PAGES:
            _PAGES[size] = json.dumps(make_fixtures.page(size), separators=(",", ":")).encode()
        return _PAGES[size]


class State:
    def __init__(self, any_token):
        self.lock = threading.Lock()
        self.secrets = []
        self.tokens = set()
        self.any_token = any_token


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None

    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self.state.lock:
            return self.state.any_token or auth[len("Bearer "):] in self.state.tokens

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1 << 20)).decode("utf-8", "replace")
        if self.path.split("?")[0] != "/api/auth/oauth/token":
            return self.reply(404, {"errorCode": "NOT_FOUND", "errorMessage": "no route"})
        form = urllib.parse.parse_qs(body)
        secret = form.get("client_secret", [""])[0]
        with self.state.lock:
            self.state.secrets.append(secret)
            token = "tok-%d" % len(self.state.secrets)
            self.state.tokens.add(token)
        return self.reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if url.path == "/_fake/tokens":
            with self.state.lock:
                return self.reply(200, list(self.state.secrets))
        if parts[:3] != ["api", "ledger", "v2"]:
            return self.reply(404, b"404 page not found", "text/plain")
        if not self.authorized():
            return self.reply(401, {"errorCode": "UNAUTHORIZED", "errorMessage": "bad token"})
        if len(parts) == 3:
            return self.reply(200, {"cursor": {"pageSize": 15, "hasMore": False, "data": []}})
        if len(parts) == 5 and parts[4] == "transactions":
            query = urllib.parse.parse_qs(url.query)
            try:
                size = max(1, min(1000, int(query.get("pageSize", ["15"])[0])))
            except ValueError:
                size = 15
            return self.reply(200, page_body(size))
        if len(parts) == 6 and parts[4] == "accounts":
            return self.reply(200, make_fixtures.account())
        return self.reply(404, {"errorCode": "NOT_FOUND", "errorMessage": "no such resource"})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--any-token", action="store_true")
    args = ap.parse_args()
    Handler.state = State(args.any_token)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print("listening on %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
