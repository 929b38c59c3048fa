#!/usr/bin/python3
"""Callers suite (issue 11): who may call what, through the real daemon, against a recording
upstream (tests/hostile/recording_upstream.py), with certificates made by make_certs.sh.

One gateway listens with TLS (client certificates optional, verified against the test CA) and a
policy file with an API-key file. For each case it asserts the gRPC code, the audit line in the
gateway's log, and what reached the upstream (nothing, for every refused call):
  1  mTLS (SPIFFE URI SAN, DNS SAN, subject) and API keys, from Python grpcio and Node grpc-js:
     allowed methods are OK and reach the upstream once
  2  wrong API key, no credential, unknown certificate identity: UNAUTHENTICATED
  3  a method the caller's roles do not grant, a deny rule, a secret-bearing read under the
     built-in read-only role: PERMISSION_DENIED naming the method
  4  expired certificate, certificate from an unknown CA: the TLS handshake fails
     (UNAVAILABLE), no call exists, nothing upstream
  5  per-caller limits: a token bucket of 2 at 0.5/s -> the third call RESOURCE_EXHAUSTED
  6  reload: the policy file and the API-key file change -> the new policy within seconds; an
     invalid policy file keeps the old policy and logs why
  7  a second gateway requiring client certificates (mTLS): a client without one cannot connect
  8  a unix socket with mode 0660 and the `local` caller
  9  a non-loopback plaintext listener without callers is refused at start
 10  per-caller Formance credentials: a caller with its own OAuth2 client gets its own tokens
     and its own cache entries; the others use the gateway's
Exit 0 pass, 1 fail.
"""

import argparse
import hashlib
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
sys.path.insert(0, os.path.join(HERE, "..", "system"))

import recording_upstream as ru  # noqa: E402
import sysutil  # noqa: E402
from sysutil import check  # noqa: E402

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

LEDGER = "formance.ledger.v2.LedgerService"
WEBHOOKS = "formance.webhooks.v1.WebhooksService"


def say(fmt, *a):
    print(fmt % a if a else fmt, flush=True)


def sha(key):
    return hashlib.sha256(key.encode()).hexdigest()


class _UnixListening:
    """Stands in for sysutil.Gateway.LISTEN_RE: a unix socket has no port to read (0)."""

    class _Match:
        def group(self, _):
            return b"0"

    def search(self, text):
        return self._Match() if b"grpc: listening on unix:" in text else None


class Messages:
    def __init__(self, descriptor_set):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(descriptor_set, "rb") as f:
            fds.ParseFromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)

    def msg(self, name, **kw):
        return self.factory.GetPrototype(self.pool.FindMessageTypeByName(name))(**kw)


class Suite:
    def __init__(self, args):
        self.args = args
        self.tmp = args.tmp
        self.certs = os.path.join(self.tmp, "certs")
        self.m = Messages(args.descriptor_set)
        self.up = ru.Upstream().start()
        self.keys = {name: "fgwk_" + secrets.token_hex(20) for name in ("reporter", "writer", "limited", "newbie")}
        self.policy_path = os.path.join(self.tmp, "policy.yaml")
        self.keys_path = os.path.join(self.tmp, "api-keys")
        self.gw = None
        self.log_path = None

    # ---- configuration ------------------------------------------------------------------
    def policy_yaml(self, billing_roles="[ledger-reader]"):
        return """\
api_keys_file: %(keys)s
roles:
  ledger-reader:
    - %(ledger)s/Get*
    - %(ledger)s/List*
callers:
  billing:
    certificates: [spiffe://fgw.test/billing]
    roles: %(billing_roles)s
  reports:
    certificates: [reports.fgw.test]
    roles: [read-only]
  subject:
    certificates: ["O=Example,CN=subject-only", "CN=subject-only,O=Example"]
    roles: [ledger-reader]
  reporter:
    roles: [read-only]
  writer:
    api_keys_sha256: [%(writer)s]
    roles: [all]
  limited:
    roles: [ledger-reader]
    rate: {per_second: 0.5, burst: 2}
  newbie:
    roles: [ledger-reader]
deny:
  - callers: [writer]
    methods: [%(ledger)s/DeleteAccountMetadata]
""" % {"keys": self.keys_path, "ledger": LEDGER, "billing_roles": billing_roles,
       "writer": sha(self.keys["writer"])}

    def write_keys(self, names):
        with open(self.keys_path + ".new", "w") as f:
            f.write("# caller sha256\n")
            for n in names:
                f.write("%s %s\n" % (n, sha(self.keys[n])))
        os.replace(self.keys_path + ".new", self.keys_path)

    def write_policy(self, text):
        with open(self.policy_path + ".new", "w") as f:
            f.write(text)
        os.replace(self.policy_path + ".new", self.policy_path)

    def config(self, name, listen, tls_extra, policy=True, extra=""):
        c = self.certs
        path = os.path.join(self.tmp, name + ".yaml")
        with open(path, "w") as f:
            f.write('listen: "%s"\nupstream:\n  url: "%s"\n' % (listen, self.up.url))
            if tls_extra is not None:
                f.write("grpc:\n  tls:\n    cert_file: %s/server.pem\n    key_file: %s/server.key\n"
                        "    client_ca_file: %s/ca.pem\n    refresh_interval: 1s\n%s" % (c, c, c, tls_extra))
            if policy:
                f.write("policy:\n  file: %s\n" % self.policy_path)
            f.write(extra)
        return path

    def env(self):
        return {k: v for k, v in os.environ.items() if not k.startswith(("FORMANCE_", "FGW_", "GRPC_"))}

    # ---- clients ------------------------------------------------------------------------
    def channel(self, port, cert=None, tls=True):
        target = "127.0.0.1:%d" % port
        if not tls:
            return grpc.insecure_channel(target)
        c = self.certs
        key = chain = None
        if cert:
            key = open("%s/%s.key" % (c, cert), "rb").read()
            chain = open("%s/%s.pem" % (c, cert), "rb").read()
        creds = grpc.ssl_channel_credentials(open(c + "/ca.pem", "rb").read(), key, chain)
        return grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "localhost")])

    def call(self, ch, service, method, request, metadata=()):
        stub = ch.unary_unary("/%s/%s" % (service, method), request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=lambda b: b)
        try:
            stub(request, metadata=list(metadata), timeout=10)
            return "OK", ""
        except grpc.RpcError as e:
            return e.code().name, e.details() or ""

    def node(self, port, method, request, cert=None, api_key=None):
        a = {"target": "127.0.0.1:%d" % port, "method": method, "request_hex": request.SerializeToString().hex(),
             "ca": os.path.join(self.certs, "ca.pem"), "server_name": "localhost"}
        if cert:
            a["cert"] = "%s/%s.pem" % (self.certs, cert)
            a["key"] = "%s/%s.key" % (self.certs, cert)
        if api_key:
            a["api_key"] = api_key
        p = subprocess.run(["node", os.path.join(HERE, "node_client.mjs"), json.dumps(a)],
                           capture_output=True, timeout=30, text=True)
        try:
            out = json.loads(p.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return "NODE_FAILED", (p.stdout + p.stderr)[-500:]
        return out["code"], out.get("details", "")

    def get_account(self, address="users:1"):
        return self.m.msg("formance.ledger.v2.GetAccountRequest", ledger="main", address=address)

    def create_tx(self):
        body = self.m.msg("formance.ledger.v2.V2PostTransaction",
                          postings=[self.m.msg("formance.ledger.v2.V2Posting", source="world",
                                               destination="users:1", amount="100", asset="USD/2")])
        return self.m.msg("formance.ledger.v2.CreateTransactionRequest", ledger="main", v2_post_transaction=body)

    # ---- assertions ---------------------------------------------------------------------
    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, start, timeout=5.0):
        end = time.monotonic() + timeout
        while True:
            m = re.search(pattern, self.log_text()[start:])
            if m or time.monotonic() > end:
                return m
            time.sleep(0.05)

    def expect(self, label, fn, code, upstream_delta, audit=None, details=None):
        """Runs fn() -> (code, details); checks the code, the upstream requests it caused and,
        for a refusal, the one audit line (regex) it wrote."""
        n0, log0 = self.up.count(), len(self.log_text())
        got, det = fn()
        time.sleep(0.05)
        delta = self.up.count() - n0
        say("  %-62s %-18s upstream+%d  %s", label, got, delta, det[:90])
        check(got == code, "%s: expected %s, got %s (%s)" % (label, code, got, det))
        check(delta == upstream_delta, "%s: expected %d upstream request(s), got %d" % (label, upstream_delta, delta))
        if details is not None:
            check(details in det, "%s: details %r do not contain %r" % (label, det, details))
        if audit is not None:
            line = self.wait_log(r"audit: refused [^\n]*", log0)
            check(line is not None and re.search(audit, line.group(0)) is not None,
                  "%s: expected an audit line matching %r, got %r" % (label, audit, line and line.group(0)))
            if line:
                for key in self.keys.values():
                    check(key not in line.group(0), "%s: the audit line holds an API key" % label)
        return got

    # ---- the suite ----------------------------------------------------------------------
    def start_main(self):
        self.write_keys(["reporter", "limited"])
        self.write_policy(self.policy_yaml())
        cfg = self.config("main", "127.0.0.1:0", "    client_certificates: optional\n")
        self.log_path = os.path.join(self.tmp, "gateway-main.log")
        self.gw = sysutil.Gateway(self.args.binary, ["--config", cfg], self.env(), self.log_path).start()
        say("gateway on port %d", self.gw.port)
        check("TLS, client certificates" in self.log_text(), "the start log names the TLS listener")

    def section1(self):
        say("1. allowed callers (Python grpcio, Node grpc-js; mTLS and API keys)")
        p = self.gw.port
        ga = self.get_account()
        self.expect("py mTLS spiffe billing GetAccount", lambda: self.call(self.channel(p, "billing"), LEDGER,
                    "GetAccount", ga), "OK", 1)
        self.expect("py mTLS dns reports GetAccount", lambda: self.call(self.channel(p, "reports"), LEDGER,
                    "GetAccount", ga), "OK", 1)
        self.expect("py mTLS subject-only GetAccount", lambda: self.call(self.channel(p, "subject"), LEDGER,
                    "GetAccount", ga), "OK", 1)
        self.expect("py API key (file) reporter GetAccount", lambda: self.call(self.channel(p), LEDGER, "GetAccount",
                    ga, [("authorization", "Bearer " + self.keys["reporter"])]), "OK", 1)
        self.expect("py API key (inline) writer CreateTransaction x-api-key", lambda: self.call(
            self.channel(p), LEDGER, "CreateTransaction", self.create_tx(), [("x-api-key", self.keys["writer"])]),
            "OK", 1)
        r = self.up.since(self.up.count() - 1)[0]
        check(r.header("authorization") is None or self.keys["writer"].encode() not in r.header("authorization"),
              "the caller's API key reached the upstream")
        check(all(self.keys["writer"].encode() not in v for _, v in r.headers), "the API key reached the upstream")
        self.expect("node mTLS billing GetAccount", lambda: self.node(p, "/%s/GetAccount" % LEDGER, ga, cert="billing"),
                    "OK", 1)
        self.expect("node API key reporter GetAccount", lambda: self.node(
            p, "/%s/GetAccount" % LEDGER, ga, api_key=self.keys["reporter"]), "OK", 1)

    def section2(self):
        say("2. missing or wrong credentials: UNAUTHENTICATED")
        p = self.gw.port
        ga = self.get_account()
        wrong = "fgwk_" + secrets.token_hex(20)
        self.expect("py wrong API key", lambda: self.call(self.channel(p), LEDGER, "GetAccount", ga,
                    [("authorization", "Bearer " + wrong)]), "UNAUTHENTICATED", 0,
                    audit=r"caller=api-key:unrecognised .*method=/%s/GetAccount code=UNAUTHENTICATED" % LEDGER)
        check(wrong not in self.log_text(), "the wrong key appears in the gateway log")
        self.expect("node wrong API key", lambda: self.node(p, "/%s/GetAccount" % LEDGER, ga, api_key=wrong),
                    "UNAUTHENTICATED", 0, audit=r"caller=api-key:unrecognised")
        self.expect("py no credential (TLS, no client cert)", lambda: self.call(self.channel(p), LEDGER,
                    "GetAccount", ga), "UNAUTHENTICATED", 0, audit=r"caller=anonymous .*code=UNAUTHENTICATED")
        self.expect("node no credential", lambda: self.node(p, "/%s/GetAccount" % LEDGER, ga),
                    "UNAUTHENTICATED", 0, audit=r"caller=anonymous")
        self.expect("py key of a caller not in the key file (newbie)", lambda: self.call(
            self.channel(p), LEDGER, "GetAccount", ga, [("x-api-key", self.keys["newbie"])]), "UNAUTHENTICATED", 0,
            audit=r"caller=api-key:unrecognised")

    def section3(self):
        say("3. known callers without the right: PERMISSION_DENIED naming the method")
        p = self.gw.port
        self.expect("py billing CreateTransaction (role has Get*/List*)", lambda: self.call(
            self.channel(p, "billing"), LEDGER, "CreateTransaction", self.create_tx()), "PERMISSION_DENIED", 0,
            details="%s/CreateTransaction" % LEDGER,
            audit=r"caller=cert:spiffe://fgw.test/billing .*method=/%s/CreateTransaction code=PERMISSION_DENIED"
            % LEDGER)
        self.expect("node billing CreateTransaction", lambda: self.node(
            p, "/%s/CreateTransaction" % LEDGER, self.create_tx(), cert="billing"), "PERMISSION_DENIED", 0,
            details="%s/CreateTransaction" % LEDGER, audit=r"caller=cert:spiffe://fgw.test/billing")
        self.expect("py reporter (read-only) CreateTransaction", lambda: self.call(
            self.channel(p), LEDGER, "CreateTransaction", self.create_tx(),
            [("authorization", "Bearer " + self.keys["reporter"])]), "PERMISSION_DENIED", 0,
            audit=r"caller=api-key:reporter .*code=PERMISSION_DENIED")
        self.expect("py reporter (read-only) webhooks GetManyConfigs (secrets)", lambda: self.call(
            self.channel(p), WEBHOOKS, "GetManyConfigs", self.m.msg("formance.webhooks.v1.GetManyConfigsRequest"),
            [("authorization", "Bearer " + self.keys["reporter"])]), "PERMISSION_DENIED", 0,
            details="%s/GetManyConfigs" % WEBHOOKS, audit=r"caller=api-key:reporter .*GetManyConfigs")
        self.expect("py writer (all) DeleteAccountMetadata (deny rule)", lambda: self.call(
            self.channel(p), LEDGER, "DeleteAccountMetadata",
            self.m.msg("formance.ledger.v2.DeleteAccountMetadataRequest", ledger="main", address="a", key="k"),
            [("x-api-key", self.keys["writer"])]), "PERMISSION_DENIED", 0, audit=r"caller=api-key:writer")

    def section4(self):
        say("4. expired and unknown-CA certificates: refused in the TLS handshake")
        p = self.gw.port
        ga = self.get_account()
        for cert in ("expired", "stranger"):
            log0 = len(self.log_text())
            self.expect("py %s certificate" % cert, lambda: self.call(self.channel(p, cert), LEDGER, "GetAccount",
                        ga), "UNAVAILABLE", 0)
            self.expect("node %s certificate" % cert, lambda: self.node(p, "/%s/GetAccount" % LEDGER, ga, cert=cert),
                        "UNAVAILABLE", 0)
            m = self.wait_log(r"[Hh]andshake failed[^\n]*", log0)
            check(m is not None, "%s certificate: gRPC logs no handshake failure" % cert)
            if m:
                say("    gateway log: %s", m.group(0)[:160])

    def section5(self):
        say("5. per-caller limits: token bucket 2 at 0.5/s")
        p = self.gw.port
        ga = self.get_account()
        md = [("x-api-key", self.keys["limited"])]
        ch = self.channel(p)
        self.expect("limited call 1", lambda: self.call(ch, LEDGER, "GetAccount", ga, md), "OK", 1)
        self.expect("limited call 2", lambda: self.call(ch, LEDGER, "GetAccount", ga, md), "OK", 1)
        self.expect("limited call 3", lambda: self.call(ch, LEDGER, "GetAccount", ga, md), "RESOURCE_EXHAUSTED", 0,
                    details="limited", audit=r"caller=api-key:limited .*code=RESOURCE_EXHAUSTED")
        self.expect("reporter is not limited by limited's bucket", lambda: self.call(
            ch, LEDGER, "GetAccount", ga, [("x-api-key", self.keys["reporter"])]), "OK", 1)

    def wait_code(self, fn, code, timeout=6.0):
        end = time.monotonic() + timeout
        got = None
        while time.monotonic() < end:
            got, _ = fn()
            if got == code:
                return got
            time.sleep(0.2)
        return got

    def section6(self):
        say("6. reload when the files change")
        p = self.gw.port
        ch = self.channel(p, "billing")
        self.write_policy(self.policy_yaml(billing_roles="[ledger-reader, all]"))
        t0 = time.monotonic()
        got = self.wait_code(lambda: self.call(ch, LEDGER, "CreateTransaction", self.create_tx()), "OK")
        check(got == "OK", "policy file change: billing CreateTransaction expected OK within 6 s, got %s" % got)
        say("  policy file change seen after %.1f s", time.monotonic() - t0)
        check(re.search(r"policy: reloaded", self.log_text()) is not None, "no 'policy: reloaded' log line")
        self.write_keys(["reporter", "limited", "newbie"])
        got = self.wait_code(lambda: self.call(self.channel(p), LEDGER, "GetAccount", self.get_account(),
                                               [("x-api-key", self.keys["newbie"])]), "OK")
        check(got == "OK", "API-key file change: newbie expected OK within 6 s, got %s" % got)
        log0 = len(self.log_text())
        self.write_policy(self.policy_yaml() + "  - callers: [nobody]\n    methods: [formance.nothing.*]\n")
        m = self.wait_log(r"policy: the new policy does not load, keeping the one in force: [^\n]*", log0)
        check(m is not None and "formance.nothing.*" in m.group(0) and "nobody" in m.group(0),
              "invalid policy: expected a warning naming the glob and the caller, got %r" % (m and m.group(0)))
        self.expect("after the invalid file, billing keeps the last good policy", lambda: self.call(
            ch, LEDGER, "CreateTransaction", self.create_tx()), "OK", 1)
        self.write_policy(self.policy_yaml())
        got = self.wait_code(lambda: self.call(ch, LEDGER, "CreateTransaction", self.create_tx()),
                             "PERMISSION_DENIED")
        check(got == "PERMISSION_DENIED", "policy restored: expected PERMISSION_DENIED, got %s" % got)

    def section7(self):
        say("7. client certificates required (mTLS only)")
        cfg = self.config("mtls", "127.0.0.1:0", "    client_certificates: require\n")
        log = os.path.join(self.tmp, "gateway-mtls.log")
        gw = sysutil.Gateway(self.args.binary, ["--config", cfg], self.env(), log).start()
        ga = self.get_account()
        n0 = self.up.count()
        got, det = self.call(self.channel(gw.port), LEDGER, "GetAccount", ga,
                             [("x-api-key", self.keys["reporter"])])
        check(got == "UNAVAILABLE", "require: a client without a certificate: expected UNAVAILABLE, got %s" % got)
        got2, _ = self.call(self.channel(gw.port, "billing"), LEDGER, "GetAccount", ga)
        check(got2 == "OK", "require: billing with its certificate: expected OK, got %s" % got2)
        check(self.up.count() - n0 == 1, "require: expected 1 upstream request, got %d" % (self.up.count() - n0))
        say("  no certificate: %s; billing: %s", got, got2)
        gw.stop()

    def section8(self):
        say("8. unix socket, mode 0660, the local caller")
        sock = os.path.join(self.tmp, "fgw.sock")
        cfg = os.path.join(self.tmp, "unix.yaml")
        with open(cfg, "w") as f:
            f.write('listen: "unix:%s"\nupstream:\n  url: "%s"\ngrpc:\n  unix_socket_mode: "0660"\n'
                    'policy:\n  callers:\n    ops:\n      local: true\n      roles: [read-only]\n' % (sock, self.up.url))
        log = os.path.join(self.tmp, "gateway-unix.log")
        gw = sysutil.Gateway(self.args.binary, ["--config", cfg], self.env(), log)
        gw.LISTEN_RE = _UnixListening()
        try:
            gw.start()
        except RuntimeError as e:
            check(False, "unix gateway: %s" % e)
            return
        mode = stat.S_IMODE(os.stat(sock).st_mode)
        check(mode == 0o660, "socket mode: expected 0660, got %o" % mode)
        ch = grpc.insecure_channel("unix:" + sock)
        n0 = self.up.count()
        got, det = self.call(ch, LEDGER, "GetAccount", self.get_account())
        check(got == "OK", "local caller GetAccount: expected OK, got %s %s" % (got, det))
        got2, det2 = self.call(ch, LEDGER, "CreateTransaction", self.create_tx())
        check(got2 == "PERMISSION_DENIED", "local caller CreateTransaction: expected PERMISSION_DENIED, got %s" % got2)
        check(self.up.count() - n0 == 1, "unix: expected 1 upstream request, got %d" % (self.up.count() - n0))
        check(re.search(r"audit: refused caller=local ", open(log).read()) is not None, "unix: no audit line")
        say("  mode %o; GetAccount %s; CreateTransaction %s", mode, got, got2)
        gw.stop()

    def section9(self):
        say("9. plaintext on a non-loopback address without callers: refused at start")
        cfg = os.path.join(self.tmp, "open.yaml")
        with open(cfg, "w") as f:
            f.write('listen: "0.0.0.0:0"\nupstream:\n  url: "%s"\n' % self.up.url)
        rc, out = sysutil.run_once(self.args.binary, ["--config", cfg], self.env())
        text = out.decode("utf-8", "replace")
        check(rc not in (0, None), "open listener: expected a failed start, got rc=%s" % rc)
        check("grpc.allow_insecure_remote" in text, "open listener: the message does not name the override key")
        say("  rc=%s: %s", rc, " ".join(text.split())[-200:])

    def section10(self):
        say("10. per-caller Formance credentials")
        self.up.script("/api/auth/oauth/token", "token")
        secrets_dir = os.path.join(self.tmp, "secrets")
        os.makedirs(secrets_dir, exist_ok=True)
        for name in ("gateway", "teamx"):
            with open(os.path.join(secrets_dir, name), "w") as f:
                f.write("secret-of-%s-%s\n" % (name, secrets.token_hex(8)))
        cfg = self.config("creds", "127.0.0.1:0", "    client_certificates: optional\n", policy=False, extra="""\
auth:
  client_id: gateway
  client_secret_file: %(d)s/gateway
cache:
  rules:
    - {method: "%(ledger)s/GetAccount", ttl: 60s}
policy:
  callers:
    billing:
      certificates: [spiffe://fgw.test/billing]
      roles: [all]
    teamx:
      api_keys_sha256: [%(h)s]
      roles: [read-only]
      formance_client: {client_id: teamx, client_secret_file: %(d)s/teamx}
""" % {"d": secrets_dir, "ledger": LEDGER, "h": sha(self.keys["writer"])})
        log = os.path.join(self.tmp, "gateway-creds.log")
        gw = sysutil.Gateway(self.args.binary, ["--config", cfg], self.env(), log).start()
        ga = self.get_account("users:cached")
        is_read = lambda r: r.path() != b"/api/auth/oauth/token"  # noqa: E731

        def calls(channel, md, label):
            """Three identical reads; the upstream reads each caused."""
            out = []
            for i in range(3):
                n = self.up.count()
                code, det = self.call(channel, LEDGER, "GetAccount", ga, md)
                check(code == "OK", "%s call %d: expected OK, got %s %s" % (label, i + 1, code, det))
                out.append([r for r in self.up.since(n) if is_read(r)])
            return out

        n0 = self.up.count()
        billing = calls(self.channel(gw.port, "billing"), [], "billing")
        teamx = calls(self.channel(gw.port), [("x-api-key", self.keys["writer"])], "teamx")
        tokens = [r for r in self.up.since(n0) if not is_read(r)]
        ids = [re.search(rb"client_id=([^&]*)", r.body or b"").group(1).decode() for r in tokens]
        check(sorted(ids) == ["gateway", "teamx"], "token requests: expected one per client, got %s" % ids)
        issued = dict(zip(ids, self.up.tokens_issued[-len(ids):]))
        for label, reads, client in (("billing", billing, "gateway"), ("teamx", teamx, "teamx")):
            want = "Bearer " + issued.get(client, "?")
            flat = [r for rs in reads for r in rs]
            check(all((r.header("authorization") or b"").decode() == want for r in flat),
                  "%s: every upstream read must carry the %s client's token" % (label, client))
            # A cache entry of another Formance identity is never served: the first call goes up.
            check(len(reads[0]) == 1, "%s: first call expected 1 upstream read, got %d" % (label, len(reads[0])))
            check(len(reads[2]) == 0, "%s: third call expected a cache hit, got %d reads" % (label, len(reads[2])))
        text = open(log).read()
        check("secret-of-" not in text, "a client secret appears in the gateway log")
        say("  token requests for %s; upstream reads per call: billing %s, teamx %s", ids,
            [len(r) for r in billing], [len(r) for r in teamx])
        gw.stop()

    def run(self):
        self.start_main()
        for section in (self.section1, self.section2, self.section3, self.section4, self.section5, self.section6,
                        self.section7, self.section8, self.section9, self.section10):
            section()
        alive = self.gw.proc.poll() is None
        check(alive, "the gateway died")
        self.gw.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("--descriptor-set", required=True)
    ap.add_argument("--tmp", required=True)
    args = ap.parse_args()
    Suite(args).run()
    return sysutil.report()


if __name__ == "__main__":
    sys.exit(main())
