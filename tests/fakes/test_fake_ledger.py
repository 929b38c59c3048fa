#!/usr/bin/python3
"""Self-test of tests/fakes/fake_ledger.py and tests/fakes/fault_proxy.py over real HTTP.

Run: /usr/bin/python3 -m unittest -v tests/fakes/test_fake_ledger.py   (stdlib only)
"""

import http.client
import json
import os
import subprocess
import sys
import unittest
import uuid
from urllib.parse import quote

HERE = os.path.dirname(os.path.abspath(__file__))
BIG = 340282366920938463463374607431768211457  # 2^128 + 1


def start(script, *args):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, script), *args], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    if not line.startswith("listening on "):
        p.kill()
        raise RuntimeError("%s did not start: %r %s" % (script, line, p.stderr.read()))
    return p, int(line.split()[-1])


def call(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=dict(headers or {}, **({"Content-Type": "application/json"}
                                                                              if data is not None else {})))
        r = conn.getresponse()
        raw = r.read()
        obj = None
        if raw and (r.getheader("Content-Type") or "").startswith("application/json"):
            obj = json.loads(raw.decode(), parse_int=int)
        return r.status, {k.lower(): v for k, v in r.getheaders()}, obj, raw
    finally:
        conn.close()


def tx_body(src, dst, amount, asset="USD", **extra):
    body = {"postings": [{"source": src, "destination": dst, "amount": amount, "asset": asset}], "metadata": {}}
    body.update(extra)
    return body


class FakeLedgerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = start("fake_ledger.py")

    @classmethod
    def tearDownClass(cls):
        cls.proc.kill()
        cls.proc.wait()
        cls.proc.stdout.close()
        cls.proc.stderr.close()

    def new_ledger(self):
        name = "l" + uuid.uuid4().hex[:12]
        st, _, _, raw = call(self.port, "POST", "/api/ledger/v2/" + name, {})
        self.assertEqual(st, 204, raw)
        return name

    def post_tx(self, ledger, body, key=None, query=""):
        h = {"Idempotency-Key": key} if key else {}
        return call(self.port, "POST", "/api/ledger/v2/%s/transactions%s" % (ledger, query), body, h)

    def test_create_ledger(self):
        name = self.new_ledger()
        st, _, obj, _ = call(self.port, "POST", "/api/ledger/v2/" + name, {})
        self.assertEqual((st, obj["errorCode"]), (400, "LEDGER_ALREADY_EXISTS"))
        self.assertIn("errorMessage", obj)
        st, _, obj, _ = call(self.port, "POST", "/api/ledger/v2/bad%20name", {})
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        st, _, obj, _ = call(self.port, "POST", "/api/ledger/v2/x" + name, b"{not json")
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/" + name)
        self.assertEqual((st, obj["data"]["name"], obj["data"]["bucket"]), (200, name, "_default"))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/_info" % name)
        self.assertEqual((st, obj["data"]["name"]), (200, name))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/_/info")
        self.assertEqual((st, obj["server"]), (200, "ledger"))

    def test_unknown_ledger_and_account(self):
        st, _, obj, _ = self.post_tx("nope" + uuid.uuid4().hex[:6], tx_body("world", "a", 1))
        self.assertEqual((st, obj["errorCode"]), (404, "NOT_FOUND"))
        name = self.new_ledger()
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/accounts/users:404" % name)
        self.assertEqual((st, obj["errorCode"]), (404, "NOT_FOUND"))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/transactions/99" % name)
        self.assertEqual((st, obj["errorCode"]), (404, "NOT_FOUND"))
        st, _, _, raw = call(self.port, "GET", "/api/ledger/v2/%s/nothing/here" % name)
        self.assertEqual((st, raw), (404, b"404 page not found\n"))

    def test_big_amounts_are_exact(self):
        name = self.new_ledger()
        raw = ('{"postings":[{"source":"world","destination":"users:001","amount":%d,"asset":"USD/2"}],'
               '"metadata":{"k":"v"}}' % BIG).encode()
        st, _, obj, body = self.post_tx(name, raw)
        self.assertEqual(st, 200, body)
        self.assertIn(b'"amount":%d' % BIG, body)  # a bare JSON number, every digit
        self.assertEqual(obj["data"]["postings"][0]["amount"], BIG)
        self.assertEqual(obj["data"]["postCommitVolumes"]["world"]["USD/2"]["balance"], -BIG)
        st, _, obj, body = call(self.port, "GET", "/api/ledger/v2/%s/accounts/users:001?expand=volumes" % name)
        self.assertEqual(st, 200)
        self.assertEqual(obj["data"]["volumes"]["USD/2"], {"input": BIG, "output": 0, "balance": BIG})
        self.assertIn(b'"balance":%d' % BIG, body)
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/accounts/users:001" % name)
        self.assertNotIn("volumes", obj["data"])
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/aggregate/balances" % name)
        self.assertEqual(obj, {"data": {"USD/2": 0}})
        q = json.dumps({"$match": {"address": "users:"}})
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/aggregate/balances?query=%s"
                             % (name, quote(q)))
        self.assertEqual(obj, {"data": {"USD/2": BIG}})

    def test_rejects_non_integers_and_bad_postings(self):
        name = self.new_ledger()
        for amount in ("1.5", "1e3", '"12"', "-1", "true"):
            raw = ('{"postings":[{"source":"world","destination":"a","amount":%s,"asset":"USD"}],"metadata":{}}'
                   % amount).encode()
            st, _, obj, _ = self.post_tx(name, raw)
            self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"), amount)
        st, _, obj, _ = self.post_tx(name, {"postings": [], "metadata": {}})
        self.assertEqual((st, obj["errorCode"]), (400, "NO_POSTINGS"))
        st, _, obj, _ = self.post_tx(name, tx_body("world", "bad address!", 1))
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        st, _, obj, _ = self.post_tx(name, tx_body("world", "a", 1, asset="usd"))
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        st, _, obj, _ = call(self.port, "GET", "/_fake/state")
        self.assertEqual(obj["ledgers"][name]["transactions"], 0)

    def test_overdraft(self):
        name = self.new_ledger()
        st, _, obj, _ = self.post_tx(name, tx_body("users:001", "users:002", 1))
        self.assertEqual((st, obj["errorCode"]), (400, "INSUFFICIENT_FUND"))
        self.assertIn("details", obj)
        self.assertEqual(self.post_tx(name, tx_body("world", "users:001", 10))[0], 200)
        self.assertEqual(self.post_tx(name, tx_body("users:001", "users:002", 10))[0], 200)
        st, _, obj, _ = self.post_tx(name, tx_body("users:001", "users:002", 1))
        self.assertEqual((st, obj["errorCode"]), (400, "INSUFFICIENT_FUND"))
        # Postings apply in order: the second one may spend what the first brought.
        body = {"postings": [{"source": "world", "destination": "users:003", "amount": 5, "asset": "USD"},
                             {"source": "users:003", "destination": "users:004", "amount": 5, "asset": "USD"}],
                "metadata": {}}
        self.assertEqual(self.post_tx(name, body)[0], 200)
        self.assertEqual(self.post_tx(name, tx_body("users:002", "users:009", 100), query="?force=true")[0], 200)
        st, _, obj, _ = call(self.port, "GET", "/_fake/state")
        b = obj["ledgers"][name]["balances"]
        self.assertEqual(b["world"]["USD"], -15)
        self.assertEqual(b["users:002"]["USD"], -90)
        self.assertEqual(sum(v["USD"] for v in b.values()), 0)

    def test_idempotency(self):
        name = self.new_ledger()
        body = tx_body("world", "users:001", 7, metadata={"call": "1"})
        st, h, first, _ = self.post_tx(name, body, key="k-1")
        self.assertEqual(st, 200)
        self.assertNotIn("idempotency-hit", h)
        # Same key, same input (different key order and spacing): the stored answer, nothing applied.
        same = json.dumps({"metadata": {"call": "1"}, "postings": body["postings"]}, indent=2).encode()
        st, h, again, _ = self.post_tx(name, same, key="k-1")
        self.assertEqual((st, h.get("idempotency-hit")), (200, "true"))
        self.assertEqual(again, first)
        st, _, obj, _ = self.post_tx(name, tx_body("world", "users:001", 8), key="k-1")
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        # A failed keyed write stores nothing: the same key may succeed later.
        st, _, obj, _ = self.post_tx(name, tx_body("users:002", "users:003", 1), key="k-2")
        self.assertEqual(obj["errorCode"], "INSUFFICIENT_FUND")
        self.assertEqual(self.post_tx(name, tx_body("users:001", "users:002", 1), key="k-2")[0], 200)
        # dryRun applies nothing and stores no key.
        st, _, obj, _ = self.post_tx(name, tx_body("world", "users:005", 1), key="k-3", query="?dryRun=true")
        self.assertEqual(st, 200)
        st, _, obj, _ = call(self.port, "GET", "/_fake/transactions?ledger=" + name)
        self.assertEqual([t["idempotencyKey"] for t in obj["data"]], ["k-1", "k-2"])
        self.assertEqual(self.post_tx(name, tx_body("world", "users:005", 1), key="k-3")[1].get("idempotency-hit"),
                         None)

    def test_reference_conflict(self):
        name = self.new_ledger()
        self.assertEqual(self.post_tx(name, tx_body("world", "a", 1, reference="r1"))[0], 200)
        st, _, obj, _ = self.post_tx(name, tx_body("world", "a", 2, reference="r1"))
        self.assertEqual((st, obj["errorCode"]), (409, "CONFLICT"))

    def test_list_transactions_pages(self):
        name = self.new_ledger()
        for i in range(7):
            self.assertEqual(self.post_tx(name, tx_body("world", "users:%03d" % i, i + 1,
                                                        metadata={"i": str(i)}))[0], 200)
        seen, path = [], "/api/ledger/v2/%s/transactions?pageSize=3" % name
        while True:
            st, _, obj, _ = call(self.port, "GET", path)
            self.assertEqual(st, 200)
            seen += [t["id"] for t in obj["cursor"]["data"]]
            self.assertEqual(obj["cursor"]["pageSize"], 3)
            if not obj["cursor"]["hasMore"]:
                break
            path = "/api/ledger/v2/%s/transactions?cursor=%s" % (name, obj["cursor"]["next"])
        self.assertEqual(seen, [6, 5, 4, 3, 2, 1, 0])
        q = quote(json.dumps({"$match": {"metadata[i]": "4"}}))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/transactions?query=%s" % (name, q))
        self.assertEqual([t["id"] for t in obj["cursor"]["data"]], [4])
        st, h, _, _ = call(self.port, "HEAD", "/api/ledger/v2/%s/transactions" % name)
        self.assertEqual((st, h["count"]), (204, "7"))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/%s/transactions?pageSize=0" % name)
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))

    def test_request_log(self):
        name = self.new_ledger()
        st, _, obj, _ = call(self.port, "GET", "/_fake/requests")
        since = obj["next"]
        raw = b'{"postings":[{"source":"world","destination":"a","amount":%d,"asset":"USD"}],"metadata":{}}' % BIG
        self.post_tx(name, raw, key="log-key", query="?dryRun=false")
        st, _, obj, _ = call(self.port, "GET", "/_fake/requests?since=%d&path_prefix=/api/" % since)
        self.assertEqual(len(obj["requests"]), 1)
        r = obj["requests"][0]
        self.assertEqual((r["method"], r["path"], r["query"], r["body"], r["status"]),
                         ("POST", "/api/ledger/v2/%s/transactions" % name, "dryRun=false", raw.decode(), 200))
        self.assertIn(["Idempotency-Key", "log-key"], r["headers"])


class FaultProxyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fake, cls.fport = start("fake_ledger.py")
        cls.proxy, cls.pport = start("fault_proxy.py", "--upstream", "http://127.0.0.1:%d" % cls.fport,
                                     "--seed", "7")

    @classmethod
    def tearDownClass(cls):
        for p in (cls.proxy, cls.fake):
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()

    def setUp(self):
        call(self.pport, "POST", "/_fault/reset_stats", {})
        call(self.pport, "POST", "/_fault/config", {"rate_503": 0, "rate_429": 0, "rate_reset": 0, "rate_delay": 0,
                                                    "rate_drop": 0, "enabled": True})
        self.ledger = "p" + uuid.uuid4().hex[:10]
        self.assertEqual(call(self.fport, "POST", "/api/ledger/v2/" + self.ledger, {})[0], 204)

    def tx_path(self):
        return "/api/ledger/v2/%s/transactions" % self.ledger

    def count(self):
        return call(self.fport, "GET", "/_fake/state")[2]["ledgers"][self.ledger]["transactions"]

    def test_passes_through(self):
        st, h, obj, _ = call(self.pport, "POST", self.tx_path(), tx_body("world", "a", BIG), {"Idempotency-Key": "x"})
        self.assertEqual((st, obj["data"]["postings"][0]["amount"]), (200, BIG))
        st, h, obj, _ = call(self.pport, "POST", self.tx_path(), tx_body("world", "a", BIG), {"Idempotency-Key": "x"})
        self.assertEqual(h.get("idempotency-hit"), "true")
        self.assertEqual(self.count(), 1)

    def test_scripted_faults(self):
        call(self.pport, "POST", "/_fault/script", {"method": "POST", "path_regex": "/transactions$",
                                                     "actions": ["drop_after", "reset_before", "status_503", "none"]})
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            call(self.pport, "POST", self.tx_path(), tx_body("world", "a", 1))
        self.assertEqual(self.count(), 1)  # applied, answer dropped
        with self.assertRaises((ConnectionError, http.client.HTTPException)):
            call(self.pport, "POST", self.tx_path(), tx_body("world", "a", 2))
        self.assertEqual(self.count(), 1)  # never forwarded
        self.assertEqual(call(self.pport, "POST", self.tx_path(), tx_body("world", "a", 3))[0], 503)
        self.assertEqual(call(self.pport, "POST", self.tx_path(), tx_body("world", "a", 4))[0], 200)
        self.assertEqual(self.count(), 2)
        s = call(self.pport, "GET", "/_fault/stats")[2]
        self.assertEqual((s["faults"]["drop_after"], s["faults"]["reset_before"], s["faults"]["status_503"],
                          s["scripted"]), (1, 1, 1, 4))

    def test_random_faults_are_seeded_and_bounded(self):
        call(self.pport, "POST", "/_fault/config", {"rate_429": 1.0, "max_faults": 5, "retry_after_rate": 1.0})
        codes = [call(self.pport, "GET", "/api/ledger/v2/%s/_info" % self.ledger) for _ in range(8)]
        self.assertEqual([c[0] for c in codes], [429] * 5 + [200] * 3)
        self.assertTrue(all(c[1].get("retry-after") in ("0", "1") for c in codes[:5]))
        # Control and non-matching paths are never faulted.
        call(self.pport, "POST", "/_fault/config", {"max_faults": 0, "rate_429": 0, "rate_503": 1.0})
        self.assertEqual(call(self.pport, "GET", "/_fault/stats")[0], 200)
        self.assertEqual(call(self.pport, "GET", "/_fake/state")[0], 200)
        self.assertEqual(call(self.pport, "POST", "/_fault/config", {"rate_503": 0.9, "rate_drop": 0.2})[0], 400)

    def test_delay(self):
        call(self.pport, "POST", "/_fault/config", {"rate_delay": 1.0, "delay_max_ms": 50})
        st, _, obj, _ = call(self.pport, "GET", "/api/ledger/v2/%s/_info" % self.ledger)
        self.assertEqual(st, 200)
        self.assertEqual(call(self.pport, "GET", "/_fault/stats")[2]["faults"]["delay"], 1)


class WalletsTest(unittest.TestCase):
    """Wallets v1 over the ledger wallets-002 (fake_wallets.py)."""

    @classmethod
    def setUpClass(cls):
        cls.proc, cls.port = start("fake_ledger.py")

    @classmethod
    def tearDownClass(cls):
        cls.proc.kill()
        cls.proc.wait()

    def create(self, name, key=None):
        st, _, obj, _ = call(self.port, "POST", "/api/wallets/wallets", {"name": name, "metadata": {"k": "v"}},
                             {"Idempotency-Key": key} if key else None)
        self.assertEqual(st, 201, obj)
        return obj["data"]

    def test_credit_debit_exact_and_in_the_ledger(self):
        w = self.create("big")
        self.assertEqual((w["ledger"], w["balances"]), ("wallets-002", {"main": {"assets": {}}}))
        credit = {"amount": {"asset": "USD/2", "amount": BIG}}
        self.assertEqual(call(self.port, "POST", "/api/wallets/wallets/%s/credit" % w["id"], credit,
                              {"Idempotency-Key": "c1"})[0], 204)
        # A replay of the same key credits nothing more.
        self.assertEqual(call(self.port, "POST", "/api/wallets/wallets/%s/credit" % w["id"], credit,
                              {"Idempotency-Key": "c1"})[0], 204)
        st, _, obj, raw = call(self.port, "GET", "/api/wallets/wallets/%s" % w["id"])
        self.assertEqual(obj["data"]["balances"]["main"]["assets"], {"USD/2": BIG})
        self.assertIn(b'"USD/2":%d' % BIG, raw)  # a bare integer, digit for digit
        debit = {"amount": {"asset": "USD/2", "amount": 1}, "metadata": {}}
        self.assertEqual(call(self.port, "POST", "/api/wallets/wallets/%s/debit" % w["id"], debit)[0], 204)
        account = "wallets:%s:main" % w["id"].replace("-", "")
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/wallets-002/accounts/%s?expand=volumes" % account)
        self.assertEqual(obj["data"]["volumes"]["USD/2"]["balance"], BIG - 1)

    def test_errors_like_the_wallets_service(self):
        w = self.create("poor")
        st, _, obj, _ = call(self.port, "POST", "/api/wallets/wallets/%s/debit" % w["id"],
                             {"amount": {"asset": "USD/2", "amount": 5}, "metadata": {}})
        self.assertEqual((st, obj["errorCode"]), (400, "INSUFFICIENT_FUND"))
        st, _, obj, _ = call(self.port, "POST", "/api/wallets/wallets/%s/credit" % w["id"],
                             {"amount": {"asset": "USD/2", "amount": -1}})
        self.assertEqual((st, obj["errorCode"]), (400, "VALIDATION"))
        st, _, obj, raw = call(self.port, "GET", "/api/wallets/wallets/%s" % uuid.uuid4())
        self.assertEqual((st, raw), (404, b""))

    def test_create_with_a_key_is_idempotent_and_listed(self):
        a, b = self.create("same", key="w1"), self.create("same", key="w1")
        self.assertEqual(a["id"], b["id"])
        st, _, obj, _ = call(self.port, "GET", "/api/wallets/wallets?name=same&pageSize=5")
        self.assertEqual([w["id"] for w in obj["cursor"]["data"]], [a["id"]])
        self.assertEqual(obj["cursor"]["pageSize"], 5)


class ForwardTest(unittest.TestCase):
    """--forward: what the fake does not route goes to another fake (standing in for Prism)."""

    @classmethod
    def setUpClass(cls):
        cls.upstream, cls.uport = start("fake_ledger.py", "--ledger", "there")
        cls.proc, cls.port = start("fake_ledger.py", "--forward", "http://127.0.0.1:%d" % cls.uport,
                                   "--ledger", "main")

    @classmethod
    def tearDownClass(cls):
        for p in (cls.proc, cls.upstream):
            p.kill()
            p.wait()

    def test_served_routes_stay_local_and_main_exists(self):
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/main")
        self.assertEqual((st, obj["data"]["name"]), (200, "main"))
        st, _, obj, _ = call(self.port, "GET", "/api/ledger/v2/there")
        self.assertEqual((st, obj["errorCode"]), (404, "NOT_FOUND"))  # a ledger error is not forwarded

    def test_unrouted_requests_are_forwarded_as_received(self):
        mark = call(self.uport, "GET", "/_fake/requests?path_prefix=/none")[2]["next"]
        st, _, _, raw = call(self.port, "POST", "/api/payments/v3/accounts?x=1", {"name": "w"},
                             {"Authorization": "Bearer t", "Idempotency-Key": "k"})
        self.assertEqual(st, 404)  # the upstream fake's own "404 page not found"
        self.assertEqual(raw, b"404 page not found\n")
        seen = call(self.uport, "GET", "/_fake/requests?since=%d&path_prefix=/api/" % mark)[2]["requests"]
        self.assertEqual(len(seen), 1)
        self.assertEqual((seen[0]["method"], seen[0]["path"], seen[0]["query"]),
                         ("POST", "/api/payments/v3/accounts", "x=1"))
        headers = {k.lower(): v for k, v in seen[0]["headers"]}
        self.assertEqual((headers["authorization"], headers["idempotency-key"]), ("Bearer t", "k"))
        self.assertEqual(json.loads(seen[0]["body"]), {"name": "w"})

    def test_unanswering_forward_target_is_502(self):
        p, port = start("fake_ledger.py", "--forward", "http://127.0.0.1:1")
        try:
            st, _, obj, _ = call(port, "GET", "/api/payments/v3/accounts")
            self.assertEqual((st, obj["errorCode"]), (502, "BAD_GATEWAY"))
        finally:
            p.kill()
            p.wait()


if __name__ == "__main__":
    unittest.main()
