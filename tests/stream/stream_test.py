#!/usr/bin/python3
"""End-to-end test of the Stream rpcs: the real daemon in front of the paging fake
(paging_fake.py, 3,000 transactions per ledger), called with grpcio.

What it proves (ledger v2 StreamTransactions; every Stream rpc runs the same driver):
- every item once, in the list's order, across 30 pages; later pages send the cursor alone;
- resume from the cursor of any message (mid-page and at a page boundary) with max-items;
- pit pinned at the start: writes during the stream neither add nor repeat items (paging the
  unary list without a pit under the same writes repeats items);
- a slow reader: the recorded upstream requests stay at most one page ahead of what was read;
- cancellation mid-stream: no upstream request afterwards;
- the deadline, an upstream error mid-stream, a looping upstream, malformed input; never cached;
- StreamExportLogs: a 96 MiB export streams with the gateway's peak RSS growing < 24 MiB (the
  unary ExportLogs holds it whole, capped at limits.max_response_bytes); cancel ends the upstream
  request early.

Run by run_stream_test.sh (which builds the descriptor set); standalone:
  stream_test.py --gateway-bin BIN --descriptor-set FILE
Every server binds 127.0.0.1; every wait is bounded.
"""
import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
import sysutil  # noqa: E402

SERVICE = "formance.ledger.v2.LedgerService"
ITEMS = 3000
PAGE = 100
ARGS = None


class Env:
    """The fake and the gateway, started once."""

    def __init__(self, gateway_bin, descriptor_set):
        self.tmp = tempfile.mkdtemp(prefix="fgw-stream.")
        self.fake = subprocess.Popen([sys.executable, os.path.join(HERE, "paging_fake.py"), "--items", str(ITEMS)],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        sysutil.register_pid(self.fake.pid)
        line = self.fake.stdout.readline().decode()
        if not line.startswith("listening on "):
            raise RuntimeError("fake did not start: %r" % line)
        self.fake_port = int(line.split()[2])
        config = os.path.join(self.tmp, "gateway.yaml")
        with open(config, "w") as f:
            f.write("listen: 127.0.0.1:0\n"
                    "upstream:\n  url: http://127.0.0.1:%d\n  request_timeout: 5s\n"
                    "auth:\n  mode: none\n"
                    "retry:\n  max_attempts: 1\n"
                    "cache:\n  rules:\n    - method: \"formance.ledger.v2.*\"\n      ttl: \"60s\"\n"
                    "log:\n  level: info\n" % self.fake_port)
        self.gateway = sysutil.Gateway(gateway_bin, ["--config", config], dict(os.environ),
                                       os.path.join(self.tmp, "gateway.log"))
        try:
            self.gateway.start()
        except Exception:
            self.fake.kill()
            self.fake.wait(10)
            raise
        # BDP probing off: the client's HTTP/2 window stays at its initial 64 KiB, so what the
        # transport may hold ahead of the reader is small and known.
        self.api = sysutil.Api(descriptor_set, self.gateway.target, SERVICE,
                               options=[("grpc.http2.bdp_probe", 0)])

    def close(self):
        self.gateway.stop()
        self.fake.send_signal(signal.SIGTERM)
        self.fake.wait(10)

    # -- fake control
    def fake_json(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.fake_port, path), data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def requests(self, ledger):
        out = self.fake_json("GET", "/_requests")["requests"]
        return [r for r in out if r["path"] == "/api/ledger/v2/%s/transactions" % ledger]

    # -- gRPC
    def stream(self, ledger, metadata=(), timeout=60.0, **fields):
        m = self.api.service.FindMethodByName("StreamTransactions")
        out = self.api.factory.GetPrototype(m.output_type)
        stub = self.api.channel.unary_stream("/%s/StreamTransactions" % SERVICE,
                                             request_serializer=lambda x: x.SerializeToString(),
                                             response_deserializer=out.FromString)
        req = self.api.msg("%s.StreamTransactionsRequest" % SERVICE.rsplit(".", 1)[0], ledger=ledger, **fields)
        return stub(req, metadata=list(metadata), timeout=timeout)

    def list_page(self, ledger, **fields):
        req = self.api.msg("formance.ledger.v2.ListTransactionsRequest", ledger=ledger, **fields)
        r = self.api.call("ListTransactions", req, metadata=[("x-formance-cache", "no-cache")])
        if r.code != "OK":
            raise AssertionError("ListTransactions: %s %s" % (r.code, r.details))
        return r.response


ENV = None


def ids_of(messages):
    return [int(m.item.id) for m in messages]


def trailer(call, key):
    for k, v in call.trailing_metadata() or ():
        if k == key:
            return v
    return None


def hwm_mib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def wait_until(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


class StreamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        global ENV
        ENV = Env(ARGS.gateway_bin, ARGS.descriptor_set)

    @classmethod
    def tearDownClass(cls):
        ENV.close()

    def test_every_item_once_in_order(self):
        call = ENV.stream("all", page_size=PAGE)
        got = list(call)
        self.assertEqual(ids_of(got), list(range(ITEMS - 1, -1, -1)))
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(trailer(call, "formance-pages"), str(ITEMS // PAGE))
        self.assertEqual(trailer(call, "formance-items"), str(ITEMS))
        self.assertEqual(got[-1].cursor, "")  # Complete: nothing follows.
        reqs = ENV.requests("all")
        self.assertEqual(len(reqs), ITEMS // PAGE)
        self.assertIn("pit=", reqs[0]["query"])  # Pinned at the start.
        self.assertIn("pageSize=100", reqs[0]["query"])
        for r in reqs[1:]:
            self.assertTrue(r["query"].startswith("cursor=") and "&" not in r["query"], r["query"])
        # Big numbers survive digit for digit.
        self.assertEqual(got[0].item.postings[0].amount, str(340282366920938463463374607431768211457 + ITEMS - 1))

    def test_resume_from_cursor_mid_page_and_at_boundary(self):
        first = ENV.stream("resume", page_size=PAGE, metadata=[("x-formance-max-items", "150")])
        a = list(first)
        self.assertEqual(first.code(), grpc.StatusCode.OK)
        self.assertEqual(len(a), 150)
        second = ENV.stream("resume", page_size=PAGE, cursor=a[-1].cursor,
                            metadata=[("x-formance-max-items", "50")])
        b = list(second)
        self.assertEqual(len(b), 50)  # Ends exactly at the page boundary.
        third = ENV.stream("resume", cursor=b[-1].cursor)
        c = list(third)
        self.assertEqual(third.code(), grpc.StatusCode.OK)
        self.assertEqual(ids_of(a + b + c), list(range(ITEMS - 1, -1, -1)))
        # A Formance cursor from the unary list is accepted as is.
        page = ENV.list_page("resume", page_size=PAGE)
        d = list(ENV.stream("resume", cursor=page.cursor.next))
        self.assertEqual(ids_of(d), list(range(ITEMS - 1 - PAGE, -1, -1)))

    def test_pit_pinned_under_concurrent_writes(self):
        call = ENV.stream("pit", page_size=PAGE)
        got = []
        for m in call:
            got.append(m)
            if len(got) in (250, 1250, 2250):
                ENV.fake_json("POST", "/_insert", {"ledger": "pit", "count": 300})
        ids = ids_of(got)
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(len(ids), len(set(ids)), "an item was repeated")
        self.assertEqual(ids, list(range(ITEMS - 1, -1, -1)), "an item was skipped or added")
        # The hazard the pin removes: paging the unary list without a pit under the same writes.
        seen, cursor, pages = [], None, 0
        while pages < 100:
            page = ENV.list_page("nopit", **({"cursor": cursor} if cursor else {"page_size": PAGE}))
            seen += [int(t.id) for t in page.cursor.data]
            pages += 1
            if pages in (3, 13, 23):
                ENV.fake_json("POST", "/_insert", {"ledger": "nopit", "count": 300})
            if not page.cursor.has_more:
                break
            cursor = page.cursor.next
        self.assertGreater(len(seen) - len(set(seen)), 0, "expected repeats without a pit")

    def test_slow_reader_at_most_one_page_ahead(self):
        call = ENV.stream("fat-slow", page_size=PAGE)
        read = 0
        for checkpoint in (1, 150, 250, 420):
            while read < checkpoint:
                next(call)
                read += 1
            started = math.ceil(read / PAGE)  # Pages the reader has begun.
            # Give the gateway every chance to run ahead, then check it did not.
            ahead = wait_until(lambda: len(ENV.requests("fat-slow")) > started + 1, 0.6)
            n = len(ENV.requests("fat-slow"))
            self.assertFalse(ahead, "after %d items read, %d pages requested" % (read, n))
            self.assertGreaterEqual(n, started)
        call.cancel()

    def test_cancel_mid_stream_stops_the_pages(self):
        call = ENV.stream("fat-cancel", page_size=PAGE)
        for _ in range(150):
            next(call)
        call.cancel()
        n = len(ENV.requests("fat-cancel"))
        self.assertLessEqual(n, 3)
        more = wait_until(lambda: len(ENV.requests("fat-cancel")) > n, 1.0)
        self.assertFalse(more, "an upstream request after the cancel")

    def test_deadline_ends_the_stream(self):
        call = ENV.stream("slow-150", page_size=PAGE, timeout=1.0)
        got = []
        with self.assertRaises(grpc.RpcError) as e:
            for m in call:
                got.append(m)
        self.assertEqual(e.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertGreaterEqual(len(got), PAGE)
        self.assertLess(len(got), ITEMS)

    def test_upstream_error_mid_stream(self):
        call = ENV.stream("fail-3", page_size=PAGE)
        got = []
        with self.assertRaises(grpc.RpcError) as e:
            for m in call:
                got.append(m)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertEqual(len(got), 2 * PAGE)
        self.assertEqual(trailer(call, "formance-http-status"), "500")
        # The last message's cursor resumes where the error struck.
        rest = list(ENV.stream("fail-3", cursor=got[-1].cursor))
        self.assertEqual(ids_of(got + rest), list(range(ITEMS - 1, -1, -1)))

    def test_looping_upstream_is_cut(self):
        call = ENV.stream("loop", page_size=PAGE)
        got = []
        with self.assertRaises(grpc.RpcError) as e:
            for m in call:
                got.append(m)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INTERNAL)
        self.assertIn("repeats", e.exception.details())
        self.assertEqual(len(got), PAGE)

    def test_malformed_input_sends_nothing(self):
        for metadata, fields in (([], {"cursor": "fgws1.%%%.1."}),
                                 ([("x-formance-max-items", "0")], {}),
                                 ([("x-formance-max-items", "many")], {})):
            call = ENV.stream("bad", metadata=metadata, **fields)
            with self.assertRaises(grpc.RpcError) as e:
                list(call)
            self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(ENV.requests("bad"), [])

    def test_cli_prints_json_lines(self):
        cli = ARGS.cli_bin
        if not cli or not os.path.exists(cli):
            self.skipTest("formance-grpc-cli not built")
        r = subprocess.run([cli, "--addr=" + ENV.gateway.target, "-H", "x-formance-max-items=250", "call",
                            "ledger.v2.StreamTransactions", '{"ledger": "cli", "pageSize": "100"}'],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 250)
        items = [json.loads(line) for line in lines]
        self.assertEqual([int(i["item"]["id"]) for i in items], list(range(ITEMS - 1, ITEMS - 251, -1)))
        self.assertTrue(items[-1]["cursor"].startswith("fgws1."))
        self.assertIn("formance-items: 250", r.stderr)

    def export(self, ledger, timeout=60.0):
        m = ENV.api.service.FindMethodByName("StreamExportLogs")
        out = ENV.api.factory.GetPrototype(m.output_type)
        stub = ENV.api.channel.unary_stream("/%s/StreamExportLogs" % SERVICE,
                                            request_serializer=lambda x: x.SerializeToString(),
                                            response_deserializer=out.FromString)
        return stub(ENV.api.msg("formance.ledger.v2.StreamExportLogsRequest", ledger=ledger), timeout=timeout)

    def test_export_streams_without_holding_the_export(self):
        # 96 MiB: twelve times limits.max_response_bytes (8 MiB), which the unary ExportLogs
        # cannot exceed (and which costs it ~3 bytes of RSS per byte: export_memory.py).
        before = hwm_mib(ENV.gateway.proc.pid)
        call = self.export("export-96")
        total, chunks = 0, 0
        for m in call:
            total += len(m.chunk)
            chunks += 1
        self.assertEqual(call.code(), grpc.StatusCode.OK)
        self.assertEqual(total, 96 << 20)
        self.assertEqual(trailer(call, "formance-bytes"), str(96 << 20))
        grown = hwm_mib(ENV.gateway.proc.pid) - before
        print("\n  96 MiB export in %d chunks: gateway VmHWM %.0f -> %.0f MiB" % (
            chunks, before, before + grown), file=sys.stderr)
        self.assertLess(grown, 24, "gateway peak RSS grew by %.0f MiB for a 96 MiB export" % grown)

    def test_export_cancel_ends_the_upstream_request(self):
        call = self.export("export-512")
        for _ in range(5):
            next(call)
        call.cancel()
        def lines():
            with open(ENV.gateway.log_path) as f:
                return [l for l in f.read().splitlines() if "StreamExportLogs chunks=" in l]
        self.assertTrue(wait_until(lambda: bool(lines()), 5.0))
        line = lines()[-1]
        print("\n  cancelled export: %s" % line.split("stream ", 1)[1], file=sys.stderr)
        self.assertIn("code=CANCELLED", line)
        # Far fewer than the export's 8,192 chunks were read from the upstream.
        chunks = int(line.split("chunks=")[1].split()[0])
        self.assertLess(chunks, 1000, line)

    def test_never_cached(self):
        # ledger v2 reads are cached for 60 s by this gateway's config; streams are not.
        for _ in range(2):
            self.assertEqual(len(list(ENV.stream("cached", page_size=1000))), ITEMS)
        self.assertEqual(len(ENV.requests("cached")), 6)


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--gateway-bin", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--cli-bin", default="")
    ARGS, rest = ap.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
