#!/usr/bin/python3
"""A recording HTTP proxy between the gateway and Prism.

  recording_proxy.py --listen 127.0.0.1:PORT --upstream http://127.0.0.1:PRISM --log FILE

Every request is appended to FILE as one JSON line (method, path with query, headers, body as
text, then the upstream status and sl-violations) before the response goes back, so the
contract test sees exactly what the gateway sent: it checks big integers digit for digit and
quotes the request in failure reports.
"""

import argparse
import http.client
import http.server
import json
import sys
import threading
import urllib.parse

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


def make_handler(upstream, log, lock):
    up = urllib.parse.urlsplit(upstream)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if not length and self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                body = self.read_chunked()
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=30)
            try:
                conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT", "PATCH") else None,
                             headers=headers)
                resp = conn.getresponse()
                rbody = resp.read()
                status, rheaders = resp.status, resp.getheaders()
            except Exception as e:  # noqa: BLE001
                status, rheaders, rbody = 502, [("Content-Type", "text/plain")], ("proxy: %s" % e).encode()
            finally:
                conn.close()
            record = {
                "method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                "body": body.decode("utf-8", "replace"), "status": status,
                "violations": next((v for k, v in rheaders if k.lower() == "sl-violations"), None),
            }
            with lock:
                log.write(json.dumps(record) + "\n")
                log.flush()
            self.send_response(status)
            for k, v in rheaders:
                if k.lower() not in HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(rbody)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(rbody)

        def read_chunked(self):
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = handle_any

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    log = open(args.log, "a", encoding="utf-8")
    server = http.server.ThreadingHTTPServer((host, int(port)), make_handler(args.upstream, log, threading.Lock()))
    server.daemon_threads = True
    print("recording proxy on %s -> %s" % (args.listen, args.upstream), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
