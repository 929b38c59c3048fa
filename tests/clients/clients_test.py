#!/usr/bin/python3
"""Four languages and the CLI, end to end, against formance-grpc-gateway in front of the stateful
fake ledger (tests/fakes/fake_ledger.py).

Each language generates its stubs with client/stubs/generate.sh (protoc and Debian's plugins,
offline) and runs its client/examples program: create a ledger, post 2^128+1 with an
Idempotency-Key and replay it, read the balance back digit for digit, read INSUFFICIENT_FUND's
google.rpc.ErrorInfo. The CLI tests drive formance-grpc-cli (reflection v1, -d/-H, code names,
health) against the same gateway, and with no gateway at all.

    FGW_BUILD_DIR=build /usr/bin/python3 tests/clients/clients_test.py [-v] [ClientsTest.test_go]

Everything binds 127.0.0.1 on free ports; each step has a timeout; the processes are killed at
the end. A language whose tool chain is missing is a failure, not a skip (deploy/install_deps.sh
installs them all).
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("FGW_BUILD_DIR", "build"))
GATEWAY = os.environ.get("FGW_BIN", os.path.join(BUILD, "server", "formance-grpc-gateway"))
CLI = os.path.join(BUILD, "client", "formance-grpc-cli")
BIG = str(2 ** 128 + 1)
LEDGER_PROTOS = ["formance/gateway/v1/options.proto", "formance/ledger/v2/models.proto",
                 "formance/ledger/v2/service.proto"]
STEP_TIMEOUT = 240  # seconds, per build or run step (javac of ledger v2 takes ~20 s here)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, timeout=STEP_TIMEOUT, env=None, stdin=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, input=stdin,
                          cwd=ROOT)


class ClientsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fgw-clients-")
        cls.procs = []
        fake = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "tests/fakes/fake_ledger.py"),
                                 "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        cls.procs.append(fake)
        line = fake.stdout.readline()
        m = re.search(r"listening on (\d+)", line)
        assert m, "fake ledger did not start: %r" % line
        port = free_port()
        cls.addr = "127.0.0.1:%d" % port
        cls.gateway_log = os.path.join(cls.tmp, "gateway.log")
        log = open(cls.gateway_log, "w")
        cls.procs.append(subprocess.Popen(
            [GATEWAY, "--listen", cls.addr, "--upstream", "http://127.0.0.1:%s" % m.group(1),
             "--log_level", "warn"], stdout=log, stderr=subprocess.STDOUT))
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if run([CLI, "--addr=" + cls.addr, "--timeout=1s", "health"], timeout=10).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("gateway not SERVING within 20 s: " + open(cls.gateway_log).read())

    @classmethod
    def tearDownClass(cls):
        for p in cls.procs:
            p.kill()
            p.wait(timeout=10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def generate(self, lang, out, protos=()):
        r = run(["bash", os.path.join(ROOT, "client/stubs/generate.sh"), lang, out] + list(protos))
        self.assertEqual(r.returncode, 0, r.stderr)

    def assert_flow(self, r, lang):
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 0, out)
        self.assertIn("%s: PASS" % lang, out)
        self.assertIn("balance users:%s:001 USD/2: %s" % ("py" if lang == "python" else lang, BIG), out)
        self.assertIn("ErrorInfo.reason: INSUFFICIENT_FUND", out)

    # ---- languages ----

    def test_python(self):
        out = os.path.join(self.tmp, "py")
        self.generate("python", out)
        self.assertTrue(os.path.exists(os.path.join(out, "formance/ledger/v2/service_pb2_grpc.py")))
        env = dict(os.environ, PYTHONPATH=out)
        for ledger in ("pyflow", "pyflow"):  # the second run replays: same key, balance unchanged
            self.assert_flow(run(["/usr/bin/python3", "client/examples/python/ledger_flow.py", self.addr,
                                  ledger], env=env), "python")

    def test_node(self):
        out = os.path.join(self.tmp, "ts")
        self.generate("node", out, ["formance/ledger/v2/service.proto"])
        self.assertTrue(os.path.exists(os.path.join(out, "service.ts")))
        env = dict(os.environ, NODE_PATH=os.path.join(ROOT, "tests/node_modules"))
        self.assert_flow(run(["node", "client/examples/node/ledger_flow.mjs", self.addr, "nodeflow"], env=env),
                         "node")

    def test_go(self):
        gopath = os.path.join(self.tmp, "gopath")
        self.generate("go", os.path.join(gopath, "src"), LEDGER_PROTOS)
        cache = os.path.join(BUILD, "go-cache")
        os.makedirs(cache, exist_ok=True)
        env = dict(os.environ, GO111MODULE="off", GOFLAGS="", GOCACHE=cache,
                   GOPATH=":".join([gopath, os.path.join(ROOT, "third_party/go"), "/usr/share/gocode"]))
        binary = os.path.join(self.tmp, "ledger_flow_go")
        r = run(["go", "build", "-o", binary, "client/examples/go/ledger_flow.go"], env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_flow(run([binary, self.addr, "goflow"]), "go")

    def test_java(self):
        # client/examples/java/run.sh: generate (ledger v2), javac against Debian's jars, run.
        env = dict(os.environ, FGW_JAVA_DIR=os.path.join(self.tmp, "java"))
        r = run(["bash", "client/examples/java/run.sh", self.addr, "javaflow"], env=env)
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "java/src/com/formance/ledger/v2/LedgerServiceGrpc.java")))
        self.assert_flow(r, "java")

    # ---- formance-grpc-cli ----

    def cli(self, *args, stdin=None):
        return run([CLI, "--addr=" + self.addr] + list(args), timeout=30, stdin=stdin)

    def test_cli_list_from_reflection(self):
        r = self.cli("list")
        self.assertEqual(r.returncode, 0, r.stderr)
        names = r.stdout.split()
        for name in ("formance.ledger.v2.LedgerService", "grpc.health.v1.Health",
                     "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"):
            self.assertIn(name, names)
        r = self.cli("list", "formance.ledger.v2.LedgerService")
        self.assertIn("formance.ledger.v2.LedgerService.CreateTransaction", r.stdout.split())

    def test_cli_describe(self):
        r = self.cli("describe", "formance.ledger.v2.V2Posting")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("string amount = 1", r.stdout)
        r = self.cli("describe", "ledger.v2.GetLedger")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("rpc GetLedger", r.stdout)

    def test_cli_call_forms_amount_and_replay(self):
        r = self.cli("-d", '{"ledger": "cli", "v2CreateLedgerRequest": {}}',
                     "formance.ledger.v2.LedgerService/CreateLedger")
        self.assertEqual(r.returncode, 0, r.stderr)
        body = '{"ledger": "cli", "idempotencyKey": "cli-1", "v2PostTransaction": {"postings": [' \
               '{"source": "world", "destination": "users:cli", "amount": "%s", "asset": "USD/2"}]}}' % BIG
        first = self.cli("-H", "x-request-note: first", "-d", "@",
                         "formance.ledger.v2.LedgerService.CreateTransaction", stdin=body)
        self.assertEqual(first.returncode, 0, first.stderr)
        self.assertIn('"amount": "%s"' % BIG, first.stdout)
        replay = self.cli("call", "ledger.v2.CreateTransaction", body)
        self.assertEqual(replay.returncode, 0, replay.stderr)
        self.assertIn('"idempotencyHit": "true"', replay.stdout)
        r = self.cli("-d", '{"ledger": "cli", "address": "users:cli", "expand": ["volumes"]}',
                     "ledger.v2.GetAccount")
        self.assertIn('"balance": "%s"' % BIG, r.stdout)

    def test_cli_error_prints_code_name_and_error_info(self):
        r = self.cli("-d", '{"ledger": "nope"}', "formance.ledger.v2.LedgerService/GetLedger")
        self.assertEqual(r.returncode, 1)
        self.assertIn("ERROR NOT_FOUND:", r.stderr)
        self.assertIn("reason: NOT_FOUND", r.stderr)
        self.assertIn("domain: ledger", r.stderr)
        self.assertNotIn("ERROR 5", r.stderr)

    def test_cli_health(self):
        r = self.cli("health")
        self.assertEqual((r.returncode, r.stdout), (0, "SERVING\n"), r.stderr)
        r = self.cli("health", "formance.ledger.v2.LedgerService")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("health", "no.Such")
        self.assertEqual(r.returncode, 1)
        self.assertIn("NOT_FOUND", r.stderr)
        r = self.cli("call", "grpc.health.v1.Health/Check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"status": "SERVING"', r.stdout)

    def test_cli_without_a_gateway(self):
        addr = "--addr=127.0.0.1:%d" % free_port()
        for cmd in (["list"], ["describe", "formance.ledger.v2.LedgerService"], ["ledger.v2.ListLedgers"]):
            r = run([CLI, addr, "--timeout=3s"] + cmd, timeout=30)
            self.assertEqual(r.returncode, 1, cmd)
            self.assertIn("no gateway answers at", r.stderr, cmd)
        r = run([CLI, addr, "--timeout=3s", "health"], timeout=30)
        self.assertEqual(r.returncode, 1)
        self.assertIn("UNAVAILABLE", r.stderr)

    def test_cli_usage(self):
        r = run([CLI, "--bogus"], timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage:", r.stderr)


if __name__ == "__main__":
    unittest.main()
