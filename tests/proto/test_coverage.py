"""Coverage of the committed protos against the spec: every operation is exactly one annotated rpc,
and every cursor-paginated list has exactly one Stream rpc beside it (proto/generator/streams.py).

Builds a descriptor set with protoc and reads the google.api.http and gateway options with
python3-protobuf (the option modules are compiled with protoc --python_out into a temp dir).
Needs the spec: FORMANCE_SPEC, default ../shared/formance/stack.openapi.yaml from the repo root.
"""
import csv
import glob
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(REPO, "proto")
GOOGLEAPIS = os.environ.get("GOOGLEAPIS_DIR",
                            "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis")
SPEC = os.environ.get("FORMANCE_SPEC") or os.path.normpath(
    os.path.join(REPO, "..", "shared", "formance", "stack.openapi.yaml"))
GENERATOR = os.path.join(PROTO, "generator", "generate_protos.py")
METHODS = ("get", "put", "post", "delete", "patch", "head")


def proto_files():
    return sorted(os.path.relpath(p, PROTO) for p in glob.glob(os.path.join(PROTO, "formance", "**", "*.proto"),
                                                                recursive=True))


def protoc_args():
    return ["protoc", "-I", PROTO, "-I", GOOGLEAPIS, "-I", "/usr/include"]


@unittest.skipUnless(shutil.which("protoc"), "protoc not installed")
class CompileTest(unittest.TestCase):
    def test_protoc_compiles_every_file(self):
        r = subprocess.run(protoc_args() + ["--descriptor_set_out=/dev/null"] + proto_files(),
                           cwd=PROTO, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "protoc warnings: " + r.stderr)


@unittest.skipUnless(os.path.exists(SPEC), "spec not found at %s: set FORMANCE_SPEC to run coverage tests" % SPEC)
@unittest.skipUnless(shutil.which("protoc"), "protoc not installed")
class CoverageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import yaml
        from google.protobuf import descriptor_pb2
        cls.tmp = tempfile.mkdtemp()
        # python modules for the options (google.api.http, formance.gateway.v1.*)
        subprocess.run(protoc_args() + ["--python_out=" + cls.tmp, "google/api/http.proto",
                                        "google/api/annotations.proto", "formance/gateway/v1/options.proto"],
                       cwd=PROTO, check=True)
        sys.path.insert(0, cls.tmp)
        cls.annotations = importlib.import_module("google.api.annotations_pb2")
        cls.options = importlib.import_module("formance.gateway.v1.options_pb2")
        out = os.path.join(cls.tmp, "fds.pb")
        subprocess.run(protoc_args() + ["--descriptor_set_out=" + out] + proto_files(), cwd=PROTO, check=True)
        with open(out, "rb") as f:
            cls.fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        with open(SPEC, encoding="utf-8") as f:
            cls.spec = yaml.safe_load(f)
        tsv = os.path.join(os.path.dirname(SPEC), "operations.tsv")
        cls.tsv = {}
        if os.path.exists(tsv):
            with open(tsv, encoding="utf-8") as f:
                cls.tsv = {(r["http_method"].lower(), r["path"]): r for r in csv.DictReader(f, delimiter="\t")}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def all_methods(self):
        for fd in self.fds.file:
            msgs = {m.name: m for m in fd.message_type}
            for svc in fd.service:
                for m in svc.method:
                    yield fd, svc, msgs, m

    def streams(self):
        return [dict(pkg=fd.package, svc=svc.name, rpc=m, rules=m.options.Extensions[self.options.method],
                     req=msgs[m.input_type.rsplit(".", 1)[1]], resp=msgs[m.output_type.rsplit(".", 1)[1]])
                for fd, svc, msgs, m in self.all_methods() if m.server_streaming]

    def rpcs(self):
        out = []
        for fd in self.fds.file:
            msgs = {m.name: m for m in fd.message_type}
            for svc in fd.service:
                for m in svc.method:
                    if m.server_streaming:
                        continue  # Stream rpcs: test_streams_beside_every_cursor_list.
                    http = m.options.Extensions[self.annotations.http]
                    kind = http.WhichOneof("pattern")
                    if kind == "custom":
                        verb, path = http.custom.kind.lower(), http.custom.path
                    else:
                        verb, path = kind, getattr(http, kind)
                    out.append(dict(pkg=fd.package, svc=svc.name, rpc=m, verb=verb, path=path, http=http,
                                    rules=m.options.Extensions[self.options.method],
                                    req=msgs[m.input_type.rsplit(".", 1)[1]],
                                    resp=msgs[m.output_type.rsplit(".", 1)[1]]))
        return out

    def spec_ops(self):
        for path, item in self.spec["paths"].items():
            for verb, op in item.items():
                if verb in METHODS:
                    yield path, verb, item, op

    def test_every_operation_is_exactly_one_rpc(self):
        rpcs = self.rpcs()
        self.assertEqual(len(rpcs), 276)
        index = {}
        for r in rpcs:
            key = (r["verb"], re.sub(r"\{[^}]+\}", "{}", r["path"]))
            index.setdefault(key, []).append(r)
        ops = list(self.spec_ops())
        self.assertEqual(len(ops), 276)
        for path, verb, item, op in ops:
            found = index.get((verb, re.sub(r"\{[^}]+\}", "{}", path)), [])
            self.assertEqual(len(found), 1, "%s %s -> %d rpcs" % (verb, path, len(found)))
            r = found[0]
            self.assertEqual(r["rules"].operation_id, op["operationId"])
            # path identical except placeholders, which name request fields
            params = {}
            for p in item.get("parameters", []) + op.get("parameters", []):
                if "$ref" in p:
                    node = self.spec
                    for part in p["$ref"][2:].split("/"):
                        node = node[part]
                    p = node
                params[(p["name"], p["in"])] = p
            names = {f.name for f in r["req"].field}
            spec_vars = re.findall(r"\{([^}]+)\}", path)
            rpc_vars = re.findall(r"\{([^}]+)\}", r["path"])
            self.assertEqual(len(spec_vars), len(rpc_vars))
            for v in rpc_vars:
                self.assertIn(v, names, "%s: {%s}" % (path, v))
            self.assertEqual(re.split(r"\{[^}]+\}", path), re.split(r"\{[^}]+\}", r["path"]))
            if r["http"].body:
                self.assertIn(r["http"].body, names)
            self.assertEqual(bool(r["http"].body), "requestBody" in op, path)
            if r["http"].response_body:
                self.assertIn(r["http"].response_body, {f.name for f in r["resp"].field})
            self.assertEqual(r["rpc"].options.deprecated, bool(op.get("deprecated")), path)
            self.assertEqual(list(r["rules"].success_status),
                             [int(c) for c in op["responses"] if str(c).startswith("2")])
            row = self.tsv.get((verb, path))
            if self.tsv:
                self.assertEqual(r["rules"].sdk_method, row["sdk_function"] if row else "", path)
                if row and row["module"] != "gateway":
                    self.assertEqual(r["pkg"], "formance.%s.%s" % (row["module"], row["api_version"]), path)
            sec = op.get("security")
            if not sec or all(not s for s in sec):
                self.assertTrue(r["rules"].no_security, path)
                self.assertEqual(list(r["rules"].oauth2_scopes), [])
            else:
                self.assertFalse(r["rules"].no_security, path)
                self.assertTrue(r["rules"].oauth2_scopes, path)

    def test_streams_beside_every_cursor_list(self):
        rpcs = {(r["pkg"], r["rpc"].name): r for r in self.rpcs()}
        # The lists whose 2xx page is {cursor: {data: [...], next}} and whose request takes a cursor.
        lists = set()
        for (pkg, name), r in rpcs.items():
            fields = {f.name: f for f in r["req"].field}
            resp = {f.name: f for f in r["resp"].field}
            if "cursor" in fields and "cursor" in resp and r["verb"] == "get" and not r["http"].response_body:
                lists.add((pkg, name))
        streams = [s for s in self.streams() if not s["rules"].stream.raw_body]
        self.assertEqual(len(streams), 50)
        self.assertEqual(len(lists), 50)
        covered = set()
        for s in streams:
            name = s["rpc"].name
            self.assertTrue(name.startswith("Stream"), name)
            self.assertFalse(s["rpc"].client_streaming, name)
            self.assertFalse(s["rpc"].options.HasExtension(self.annotations.http), name)
            rules = s["rules"].stream
            key = (s["pkg"], rules.list_rpc)
            self.assertIn(key, lists, name)
            self.assertNotIn(key, covered, "two streams for %s" % (key,))
            covered.add(key)
            lst = rpcs[key]
            self.assertEqual(s["rpc"].options.deprecated, lst["rpc"].options.deprecated, name)
            # Same request, field for field: the bytes of one parse as the other.
            # (Map entries are nested types of their message: compared by their own name.)
            strip = lambda m: [(f.name, f.number, f.type, f.label, f.json_name,  # noqa: E731
                                f.type_name.replace("." + m.name + ".", ".<msg>.")) for f in m.field]
            self.assertEqual(strip(s["req"]), strip(lst["req"]), name)
            entries = lambda m: [[(f.name, f.number, f.type, f.type_name) for f in e.field]  # noqa: E731
                                 for e in m.nested_type]
            self.assertEqual(entries(s["req"]), entries(lst["req"]), name)
            self.assertEqual([(f.name, f.number) for f in s["resp"].field], [("item", 1), ("cursor", 2)], name)
            self.assertEqual((rules.items_field, rules.next_cursor_field, rules.cursor_field),
                             ("cursor.data", "cursor.next", "cursor"), name)
            has_pit = any(f.name == "pit" for f in lst["req"].field)
            self.assertEqual(rules.pit_field, "pit" if has_pit else "", name)
        self.assertEqual(covered, lists)
        pinned = sorted((s["pkg"], s["rpc"].name) for s in self.streams() if s["rules"].stream.pit_field)
        self.assertEqual(pinned, [("formance.ledger.v2", "StreamAccounts"), ("formance.ledger.v2", "StreamLogs"),
                                  ("formance.ledger.v2", "StreamTransactions")])

    def test_export_logs_streams_its_body(self):
        raw = [s for s in self.streams() if s["rules"].stream.raw_body]
        self.assertEqual([(s["pkg"], s["rpc"].name, s["rules"].stream.list_rpc) for s in raw],
                         [("formance.ledger.v2", "StreamExportLogs", "ExportLogs")])
        s = raw[0]
        self.assertFalse(s["rpc"].options.HasExtension(self.annotations.http))
        self.assertEqual([(f.name, f.number, f.type) for f in s["resp"].field], [("chunk", 1, 12)])  # bytes
        export = {r["rpc"].name: r for r in self.rpcs() if r["pkg"] == "formance.ledger.v2"}["ExportLogs"]
        self.assertEqual([(f.name, f.number) for f in s["req"].field], [(f.name, f.number) for f in export["req"].field])

    def test_one_service_per_package(self):
        pkgs = {}
        for fd in self.fds.file:
            if fd.service:
                self.assertEqual(len(fd.service), 1)
                pkgs[fd.package] = fd.service[0].name
        self.assertEqual(sorted(pkgs), sorted([
            "formance.auth.v1", "formance.ledger.v1", "formance.ledger.v2", "formance.orchestration.v1",
            "formance.orchestration.v2", "formance.payments.v1", "formance.payments.v3",
            "formance.reconciliation.v1", "formance.search.v1", "formance.stack.v1", "formance.wallets.v1",
            "formance.webhooks.v1"]))
        for p, s in pkgs.items():
            self.assertTrue(s.endswith("Service"))

    def test_special_operations(self):
        by_op = {r["rules"].operation_id: r for r in self.rpcs()}
        self.assertEqual(by_op["v2ImportLogs"]["rules"].request_content_type, "application/octet-stream")
        for o in ("v2ExportLogs", "getOIDCWellKnowns"):
            self.assertEqual(by_op[o]["rules"].accept, "*/*")
            self.assertEqual(by_op[o]["http"].response_body, "content")
        bulk = by_op["v2CreateBulk"]["rules"].declared_responses
        self.assertEqual([(d.status, d.message_type) for d in bulk], [(400, "formance.ledger.v2.V2BulkResponse")])
        self.assertTrue(by_op["getVersions"]["rules"].no_security)
        self.assertEqual(by_op["getMetrics"]["http"].response_body, "result")

    def test_generator_check_passes(self):
        r = subprocess.run([sys.executable, GENERATOR, SPEC, "--check"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
