#!/usr/bin/python3
"""A slow Formance ledger v2 upstream: asyncio, HTTP/1.1 keep-alive, one coroutine per connection
(no thread per request). Every GET /api/ledger/v2/{ledger}/accounts/{address} is answered with a
valid V2Account after exactly --delay seconds (asyncio.sleep); anything else is 404.

  /usr/bin/python3 tests/system/slow_upstream.py [--port 0] [--delay 1.0]
Prints "listening on PORT", then on SIGTERM/SIGINT a line "stats {json}" (requests, connections,
peak requests in flight, peak open connections) and exits.
"""

import argparse
import asyncio
import json
import resource
import signal
import sys
from urllib.parse import unquote, urlsplit

STATS = {"requests": 0, "connections": 0, "open": 0, "peak_open": 0, "in_flight": 0, "peak_in_flight": 0,
         "not_found": 0}


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def response(status, reason, body):
    return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % (status, reason, len(body))) + body


async def serve(reader, writer, delay):
    STATS["connections"] += 1
    STATS["open"] += 1
    STATS["peak_open"] = max(STATS["peak_open"], STATS["open"])
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length") or 0)
            if n:
                await reader.readexactly(n)
            STATS["requests"] += 1
            path = urlsplit(target).path
            segs = path.split("/")
            # ['', 'api', 'ledger', 'v2', ledger, 'accounts', address]
            if method == "GET" and len(segs) == 7 and segs[1:4] == ["api", "ledger", "v2"] and segs[5] == "accounts":
                STATS["in_flight"] += 1
                STATS["peak_in_flight"] = max(STATS["peak_in_flight"], STATS["in_flight"])
                try:
                    await asyncio.sleep(delay)
                finally:
                    STATS["in_flight"] -= 1
                body = json.dumps({"data": {"address": unquote(segs[6]), "metadata": {"ledger": unquote(segs[4])}}})
                writer.write(response(200, b"OK", body.encode()))
            else:
                STATS["not_found"] += 1
                writer.write(response(404, b"Not Found", b'{"errorCode":"NOT_FOUND","errorMessage":"no route"}'))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    except ConnectionError:
        pass
    finally:
        STATS["open"] -= 1
        writer.close()


async def main_async(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    server = await asyncio.start_server(lambda r, w: serve(r, w, args.delay), "127.0.0.1", args.port,
                                        backlog=4096, limit=1 << 20)
    print("listening on %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop.wait()
    print("stats " + json.dumps(STATS), flush=True)
    server.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--delay", type=float, default=1.0)
    args = ap.parse_args()
    raise_nofile()
    asyncio.run(main_async(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
