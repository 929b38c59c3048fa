#!/usr/bin/python3
"""deploy/quickstart.sh, as a new user runs it (install skipped: CI has installed and built).

It must: relink nothing that is up to date, serve ledger v2 (ledger `main` up front) and wallets
from the stateful fake and the other modules from Prism, print "listening" only once health answers, name
its logs, and make the README's first calls show 2^128+1 digit for digit and an idempotent
replay. Free ports on 127.0.0.1; the quickstart is stopped with SIGTERM and must take its
children down.

    FGW_BUILD_DIR=build /usr/bin/python3 tests/clients/quickstart_test.py -v
"""
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("FGW_BUILD_DIR", "build"))
CLI = os.path.join(BUILD, "client", "formance-grpc-cli")
SPEC = os.environ.get("FORMANCE_SPEC", os.path.join(ROOT, "..", "shared", "formance", "stack.openapi.yaml"))
BIG = str(2 ** 128 + 1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(os.path.exists(SPEC), "Formance spec not found (FORMANCE_SPEC)")
class QuickstartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.logs = tempfile.mkdtemp(prefix="fgw-qs-")
        cls.addr = "127.0.0.1:%d" % free_port()
        cls.prism_port = free_port()
        env = dict(os.environ, QUICKSTART_SKIP_INSTALL="1", FGW_LISTEN=cls.addr, PRISM_PORT=str(cls.prism_port),
                   FGW_LOG_DIR=cls.logs, FGW_BUILD_DIR=os.path.relpath(BUILD, ROOT))
        cls.out_path = os.path.join(cls.logs, "quickstart.out")
        out = open(cls.out_path, "w")
        cls.proc = subprocess.Popen(["bash", os.path.join(ROOT, "deploy/quickstart.sh")], stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        out.close()
        deadline = time.monotonic() + 240
        cls.health_at_listening = None
        while time.monotonic() < deadline and cls.proc.poll() is None:
            with open(cls.out_path) as f:
                listening = "gateway listening on" in f.read()
            if listening:
                cls.health_at_listening = subprocess.run([CLI, "--addr=" + cls.addr, "--timeout=2s", "health"],
                                                         capture_output=True, text=True, timeout=10).returncode
                break
            time.sleep(0.2)
        with open(cls.out_path) as f:
            cls.output = f.read()

    @classmethod
    def tearDownClass(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(cls.proc.pid, signal.SIGKILL)
                cls.proc.wait(timeout=10)

    def cli(self, *args):
        return subprocess.run([CLI, "--addr=" + self.addr] + list(args), capture_output=True, text=True, timeout=30)

    def test_1_listening_only_once_serving_and_logs_named(self):
        self.assertIn("gateway listening on %s" % self.addr, self.output)
        self.assertEqual(self.health_at_listening, 0, self.output)
        for name in ("gateway.log", "fake-ledger.log", "prism.log"):
            path = os.path.join(self.logs, name)
            self.assertIn(path, self.output)
            self.assertTrue(os.path.exists(path), path)

    def test_2_up_to_date_binaries_are_not_relinked(self):
        self.assertNotRegex(self.output, r"Linking CXX executable")

    def test_3_readme_first_calls(self):
        body = json.dumps({"ledger": "main", "idempotencyKey": "first-1", "v2PostTransaction": {"postings": [
            {"source": "world", "destination": "users:001", "amount": BIG, "asset": "USD/2"}]}})
        first = self.cli("-d", body, "formance.ledger.v2.LedgerService/CreateTransaction")
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn('"amount": "%s"' % BIG, first.stdout)
        self.assertNotIn("idempotencyHit", first.stdout)
        replay = self.cli("-d", body, "formance.ledger.v2.LedgerService/CreateTransaction")
        self.assertIn('"idempotencyHit": "true"', replay.stdout)
        self.assertEqual(re.findall(r'"id": "(\d+)"', replay.stdout), re.findall(r'"id": "(\d+)"', first.stdout))
        account = self.cli("-d", '{"ledger": "main", "address": "users:001", "expand": ["volumes"]}',
                           "formance.ledger.v2.LedgerService/GetAccount")
        self.assertIn('"balance": "%s"' % BIG, account.stdout)
        ledgers = self.cli("-d", '{"pageSize": "2"}', "ledger.v2.ListLedgers")
        self.assertEqual(re.findall(r'"name": "([^"]+)"', ledgers.stdout), ["main"])

    def test_4_wallets_from_the_fake_other_modules_from_prism(self):
        created = self.cli("-d", '{"createWalletRequest": {"name": "first-hour", "metadata": {}}}',
                           "wallets.v1.CreateWallet")
        self.assertEqual(created.returncode, 0, created.stderr)
        wallet_id = json.loads(created.stdout)["data"]["id"]
        credit = self.cli("-d", json.dumps({"id": wallet_id, "creditWalletRequest": {
            "amount": {"asset": "USD/2", "amount": BIG}}}), "wallets.v1.CreditWallet")
        self.assertEqual(credit.returncode, 0, credit.stderr)
        got = self.cli("-d", json.dumps({"id": wallet_id}), "wallets.v1.GetWallet")
        self.assertEqual(json.loads(got.stdout)["data"]["balances"]["main"]["assets"], {"USD/2": BIG})
        r = self.cli("-d", "{}", "formance.payments.v3.PaymentsService/ListAccounts")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("formance-http-status: 200", r.stderr)
        with open(os.path.join(self.logs, "fake-ledger.log")) as f:
            self.assertRegex(f.read(), r"^listening on \d+")

    def test_5_sigterm_stops_everything(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=20)
        host, port = self.addr.split(":")
        for p in (int(port), self.prism_port):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with socket.socket() as s:
                    if s.connect_ex((host, p)) != 0:
                        break
                time.sleep(0.2)
            else:
                self.fail("port %d still open after the quickstart stopped" % p)


if __name__ == "__main__":
    unittest.main()
