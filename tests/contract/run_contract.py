#!/usr/bin/python3
"""Contract test: every Formance operation through the gateway, against Prism serving the spec.

For each rpc of each generated service, the sample REST request of its operation
(sample_requests.py) is mapped onto the rpc's request message with the same rules the gateway
encodes by (wire names, path/query/header/body locations, bigint strings, enum wire values,
unions, bare maps, Struct), sent to the gateway, and the result recorded: OK, or the gRPC status
with the trailing `formance-http-status`. Prism answers 422 with `sl-violations` when the
request the gateway sent breaks the spec, so an OK proves the encoding and the decoding of that
operation's response.

Run with Debian's /usr/bin/python3 (python3-grpcio, python3-protobuf):
  run_contract.py --gateway 127.0.0.1:PORT [--prism http://127.0.0.1:PORT] [--only opId,...]
  run_contract.py --direct http://127.0.0.1:PORT      # samples straight to Prism (no gateway)
  run_contract.py --map-only                          # build every request message, report gaps
run_contract.sh starts Prism and the gateway and calls the first form.
"""

import argparse
import glob
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import sample_requests  # noqa: E402
import rest_client  # noqa: E402

REPO_ROOT = sample_requests.REPO_ROOT
GOOGLEAPIS = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"

# Operations whose spec cannot be satisfied by the request the SDK (and so the gateway) sends.
KNOWN_SPEC_DEFECTS = {
    "v2ImportLogs": "the spec declares an object schema {file: binary} for an application/octet-stream "
                    "body; Prism rejects the raw bytes the SDK sends",
}


class MappingError(Exception):
    pass


# ------------------------------------------------------------------------------------------ protos
class Protos:
    """The generated protos, compiled by protoc and loaded into the default descriptor pool so
    that the gateway's custom options can be read as extensions."""

    def __init__(self, workdir):
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        proto_root = os.path.join(REPO_ROOT, "proto")
        files = sorted(glob.glob(os.path.join(proto_root, "formance", "**", "*.proto"), recursive=True))
        rel = [os.path.relpath(f, proto_root) for f in files]
        includes = ["-I", proto_root, "-I", GOOGLEAPIS, "-I", "/usr/include"]
        ds_path = os.path.join(workdir, "formance.pb")
        subprocess.run(["protoc"] + includes + ["--include_imports", "--descriptor_set_out=" + ds_path] + rel,
                       check=True, cwd=proto_root)
        pydir = os.path.join(workdir, "py")
        os.makedirs(pydir, exist_ok=True)
        subprocess.run(["protoc"] + includes + ["--python_out=" + pydir, "formance/gateway/v1/options.proto",
                                                 "google/api/http.proto", "google/api/annotations.proto"],
                       check=True, cwd=proto_root)
        sys.path.insert(0, pydir)
        import google  # namespace package: make google.api importable from pydir
        if hasattr(google, "__path__") and os.path.join(pydir, "google") not in list(google.__path__):
            google.__path__.append(os.path.join(pydir, "google"))
        self.opts = importlib.import_module("formance.gateway.v1.options_pb2")
        self.annotations = importlib.import_module("google.api.annotations_pb2")

        self.pool = descriptor_pool.Default()
        fds = descriptor_pb2.FileDescriptorSet()
        with open(ds_path, "rb") as f:
            fds.ParseFromString(f.read())
        for fd in fds.file:
            try:
                self.pool.FindFileByName(fd.name)
                continue  # already there (descriptor.proto, struct.proto, options, google.api)
            except KeyError:
                pass
            self.pool.Add(fd)
        self.factory = message_factory.MessageFactory(self.pool)
        self.services = []
        for fd in fds.file:
            if fd.name.startswith("formance/") and fd.service:
                for sd in fd.service:
                    self.services.append(self.pool.FindServiceByName(fd.package + "." + sd.name))

    def cls(self, desc):
        return self.factory.GetPrototype(desc)

    # option accessors
    def field_rules(self, fd):
        o = fd.GetOptions()
        return o.Extensions[self.opts.field] if o.HasExtension(self.opts.field) else None

    def message_rules(self, md):
        o = md.GetOptions()
        return o.Extensions[self.opts.message] if o.HasExtension(self.opts.message) else None

    def method_rules(self, m):
        return m.GetOptions().Extensions[self.opts.method]

    def http_rule(self, m):
        return m.GetOptions().Extensions[self.annotations.http]

    def wire_name(self, fd):
        r = self.field_rules(fd)
        return r.wire_name if r is not None and r.wire_name else fd.json_name

    def enum_wire_value(self, ev):
        o = ev.GetOptions()
        return o.Extensions[self.opts.wire_value] if o.HasExtension(self.opts.wire_value) else None


def http_verb_path(rule):
    for verb in ("get", "put", "post", "delete", "patch"):
        if getattr(rule, verb):
            return verb.upper(), getattr(rule, verb)
    if rule.HasField("custom"):
        return rule.custom.kind.upper(), rule.custom.path
    return None, None


def template_fields(path):
    out, i = [], 0
    while True:
        a = path.find("{", i)
        if a < 0:
            return out
        b = path.find("}", a)
        out.append(path[a + 1:b].split("=")[0])
        i = b + 1


# ------------------------------------------------------------------------------ JSON -> message
class Mapper:
    """Fills protobuf messages from JSON values by the gateway's rules."""

    STRUCT_TYPES = ("google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue")

    def __init__(self, protos):
        self.p = protos

    def fill(self, msg, value, where):
        md = msg.DESCRIPTOR
        if md.full_name in self.STRUCT_TYPES:
            self.fill_struct(msg, value, where)
            return
        rules = self.p.message_rules(md)
        if rules is not None and rules.union:
            self.fill_union(msg, value, rules, where)
            return
        if not isinstance(value, dict):
            raise MappingError("%s: %s expects a JSON object, sample has %s" % (where, md.full_name, type(value).__name__))
        by_wire = {self.p.wire_name(f): f for f in md.fields}
        bare = rules.bare_map_field if rules is not None else ""
        null_field = rules.null_fields_field if rules is not None else ""
        for key, v in value.items():
            fd = by_wire.get(key)
            if fd is None or fd.name in (bare, null_field):
                if bare:
                    self.set_map_entry(msg, md.fields_by_name[bare], key, v, where + "." + key)
                    continue
                raise MappingError("%s: %s has no field for JSON property %r" % (where, md.full_name, key))
            if v is None:
                if not null_field:
                    raise MappingError("%s.%s: null but %s has no null_fields" % (where, key, md.full_name))
                getattr(msg, null_field).append(key)
                continue
            self.set_field(msg, fd, v, where + "." + key)

    def fill_struct(self, msg, value, where):
        from google.protobuf import json_format
        # Free-form JSON: the json_format parser understands Struct/Value/ListValue directly.
        json_format.Parse(json.dumps(value), msg)

    def fill_union(self, msg, value, rules, where):
        md = msg.DESCRIPTOR
        members = md.oneofs[0].fields if md.oneofs else list(md.fields)
        chosen = None
        if rules.discriminator:
            if not isinstance(value, dict) or rules.discriminator not in value:
                raise MappingError("%s: union %s needs %r" % (where, md.full_name, rules.discriminator))
            for fd in members:
                r = self.p.field_rules(fd)
                if r is not None and r.discriminator_value == value[rules.discriminator]:
                    chosen = fd
                    break
            if chosen is None:
                raise MappingError("%s: union %s has no member for %s=%r" % (
                    where, md.full_name, rules.discriminator, value[rules.discriminator]))
        else:
            for fd in members:
                if self.member_accepts(fd, value):
                    chosen = fd
                    break
            if chosen is None:
                raise MappingError("%s: no member of union %s accepts the sample" % (where, md.full_name))
        self.set_field(msg, chosen, value, where + "<" + chosen.name + ">")

    def member_accepts(self, fd, value):
        from google.protobuf.descriptor import FieldDescriptor as F
        if fd.type == F.TYPE_MESSAGE:
            if fd.message_type.full_name in self.STRUCT_TYPES:
                return True
            if not isinstance(value, dict):
                return False
            test = self.p.cls(fd.message_type)()
            try:
                self.fill(test, value, "probe")
            except MappingError:
                return False
            for f in fd.message_type.fields:
                r = self.p.field_rules(f)
                if r is not None and r.required and self.p.wire_name(f) not in value:
                    return False
            return True
        r = self.p.field_rules(fd)
        if r is not None and r.bigint:
            return isinstance(value, int) and not isinstance(value, bool)
        if fd.type == F.TYPE_STRING:
            return isinstance(value, str)
        if fd.type == F.TYPE_BOOL:
            return isinstance(value, bool)
        if fd.type == F.TYPE_ENUM:
            return isinstance(value, str)
        if fd.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        return isinstance(value, int) and not isinstance(value, bool)

    def scalar(self, fd, v, where):
        from google.protobuf.descriptor import FieldDescriptor as F
        r = self.p.field_rules(fd)
        if r is not None and r.bigint:
            if isinstance(v, bool) or not isinstance(v, int):
                raise MappingError("%s: bigint field expects an integer, sample has %r" % (where, v))
            return str(v)
        if fd.type == F.TYPE_ENUM:
            for ev in fd.enum_type.values:
                if self.p.enum_wire_value(ev) == v:
                    return ev.number
            raise MappingError("%s: enum %s has no wire value %r" % (where, fd.enum_type.full_name, v))
        if fd.type == F.TYPE_STRING:
            if not isinstance(v, str):
                raise MappingError("%s: string field, sample has %r" % (where, v))
            return v
        if fd.type == F.TYPE_BYTES:
            return v if isinstance(v, bytes) else str(v).encode()
        if fd.type == F.TYPE_BOOL:
            return bool(v)
        if fd.type in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
            return float(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise MappingError("%s: integer field, sample has %r" % (where, v))
        return v

    def set_map_entry(self, msg, fd, key, v, where):
        from google.protobuf.descriptor import FieldDescriptor as F
        val_fd = fd.message_type.fields_by_name["value"]
        container = getattr(msg, fd.name)
        if val_fd.type == F.TYPE_MESSAGE:
            self.fill(container[key], v, where)
        else:
            # Map values carry the map field's rules (bigint applies to the values).
            container[key] = self.scalar_with(fd, val_fd, v, where)

    def scalar_with(self, rules_fd, type_fd, v, where):
        r = self.p.field_rules(rules_fd)
        if r is not None and r.bigint:
            if isinstance(v, bool) or not isinstance(v, int):
                raise MappingError("%s: bigint value expects an integer, sample has %r" % (where, v))
            return str(v)
        return self.scalar(type_fd, v, where)

    def set_field(self, msg, fd, v, where):
        from google.protobuf.descriptor import FieldDescriptor as F
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            if not isinstance(v, dict):
                raise MappingError("%s: map field, sample has %r" % (where, v))
            for k, item in v.items():
                self.set_map_entry(msg, fd, k, item, where + "." + k)
            return
        if fd.label == F.LABEL_REPEATED:
            if not isinstance(v, list):
                raise MappingError("%s: repeated field, sample has %r" % (where, v))
            container = getattr(msg, fd.name)
            for i, item in enumerate(v):
                if fd.type == F.TYPE_MESSAGE:
                    self.fill(container.add(), item, "%s[%d]" % (where, i))
                else:
                    container.append(self.scalar(fd, item, "%s[%d]" % (where, i)))
            return
        if fd.type == F.TYPE_MESSAGE:
            sub = getattr(msg, fd.name)
            sub.SetInParent()
            self.fill(sub, v, where)
            return
        setattr(msg, fd.name, self.scalar(fd, v, where))


# ------------------------------------------------------------------------------ message -> REST
class Encoder:
    """The reverse of Mapper: writes a request message as the REST request the gateway should
    send. `--roundtrip` sends that to Prism, which proves the request messages themselves are
    right, so that a failure through the gateway is the gateway's."""

    def __init__(self, protos):
        self.p = protos

    def value(self, fd, v, rules_fd=None):
        from google.protobuf.descriptor import FieldDescriptor as F
        r = self.p.field_rules(rules_fd or fd)
        if fd.type == F.TYPE_MESSAGE:
            return self.message(v)
        if r is not None and r.bigint:
            return int(v)
        if fd.type == F.TYPE_ENUM:
            return self.p.enum_wire_value(fd.enum_type.values_by_number[v])
        if fd.type == F.TYPE_BYTES:
            return v.decode()
        return v

    def present(self, msg, fd):
        from google.protobuf.descriptor import FieldDescriptor as F
        if fd.label == F.LABEL_REPEATED:
            return len(getattr(msg, fd.name)) > 0
        if fd.has_presence:
            return msg.HasField(fd.name)
        return getattr(msg, fd.name) != fd.default_value

    def field_json(self, msg, fd):
        from google.protobuf.descriptor import FieldDescriptor as F
        v = getattr(msg, fd.name)
        if fd.message_type is not None and fd.message_type.GetOptions().map_entry:
            vfd = fd.message_type.fields_by_name["value"]
            return {k: self.value(vfd, v[k], rules_fd=fd) for k in v}
        if fd.label == F.LABEL_REPEATED:
            return [self.value(fd, x) for x in v]
        return self.value(fd, v)

    def message(self, msg):
        from google.protobuf import json_format
        md = msg.DESCRIPTOR
        if md.full_name in Mapper.STRUCT_TYPES:
            return json.loads(json_format.MessageToJson(msg))
        rules = self.p.message_rules(md)
        if rules is not None and rules.union:
            which = msg.WhichOneof(md.oneofs[0].name)
            return self.field_json(msg, md.fields_by_name[which]) if which else None
        out = {}
        bare = rules.bare_map_field if rules is not None else ""
        nulls = rules.null_fields_field if rules is not None else ""
        for fd in md.fields:
            if fd.name in (bare, nulls):
                continue
            r = self.p.field_rules(fd)
            if self.present(msg, fd) or (r is not None and r.required):
                out[self.p.wire_name(fd)] = self.field_json(msg, fd)
        if nulls:
            for name in getattr(msg, nulls):
                out[name] = None
        if bare:
            out.update(self.field_json(msg, md.fields_by_name[bare]))
        return out

    def request(self, rpc, msg):
        """A sample-shaped REST request (see sample_requests.py) for rest_client.send."""
        md = msg.DESCRIPTOR
        FL = self.p.opts
        path_fields = set(template_fields(rpc.path))
        req = {"method": rpc.verb, "path": rpc.path, "path_params": {}, "query": {}, "headers": {},
               "body": None, "content_type": None,
               "security": [] if rpc.rules.no_security else [{"Authorization": list(rpc.rules.oauth2_scopes)}]}
        for fd in md.fields:
            r = self.p.field_rules(fd)
            loc = r.location if r is not None else 0
            wire = self.p.wire_name(fd)
            if fd.name == rpc.http.body or loc == FL.FIELD_LOCATION_BODY:
                v = getattr(msg, fd.name)
                if isinstance(v, bytes):
                    req["body"] = v
                    req["content_type"] = rpc.rules.request_content_type or "application/octet-stream"
                else:
                    req["body"] = self.field_json(msg, fd)
                    req["content_type"] = "application/json"
                continue
            if fd.name in path_fields:
                req["path"] = req["path"].replace("{%s}" % fd.name, "{%s}" % wire)
                req["path_params"][wire] = self.field_json(msg, fd)
                continue
            if not self.present(msg, fd):
                continue
            if loc == FL.FIELD_LOCATION_HEADER:
                req["headers"][wire] = self.field_json(msg, fd)
                continue
            style = r.query_style if r is not None else 0
            v = self.field_json(msg, fd)
            req["query"][wire] = {"value": v, "style": {
                FL.QUERY_STYLE_JSON: "json", FL.QUERY_STYLE_DEEP_OBJECT: "deepObject",
                FL.QUERY_STYLE_COMMA: "comma"}.get(style, "repeat" if isinstance(v, list) else "form")}
        return req


# --------------------------------------------------------------------------- requests per rpc
class Rpc:
    def __init__(self, protos, service, method):
        self.p = protos
        self.service = service
        self.method = method
        self.rules = protos.method_rules(method)
        self.http = protos.http_rule(method)
        self.verb, self.path = http_verb_path(self.http)
        self.full = "/%s/%s" % (service.full_name, method.name)
        self.op_id = self.rules.operation_id

    def build(self, sample, mapper):
        """Returns (request message, list of sample items that have no field)."""
        md = self.method.input_type
        msg = self.p.cls(md)()
        path_fields = set(template_fields(self.path))
        body_field = self.http.body
        FL = self.p.opts
        unmapped = []
        used_query, used_headers, used_path = set(), set(), set()
        for fd in md.fields:
            r = self.p.field_rules(fd)
            loc = r.location if r is not None else 0
            wire = self.p.wire_name(fd)
            if fd.name == body_field or loc == FL.FIELD_LOCATION_BODY:
                if sample["body"] is None:
                    continue
                if isinstance(sample["body"], bytes):
                    setattr(msg, fd.name, sample["body"])
                else:
                    mapper.set_field(msg, fd, sample["body"], "body")
                continue
            if fd.name in path_fields or loc == FL.FIELD_LOCATION_PATH:
                key = wire if wire in sample["path_params"] else fd.name
                if key not in sample["path_params"]:
                    key = next((k for k in sample["path_params"] if snake(k) == fd.name), None)
                if key is None:
                    raise MappingError("path field %s has no sample parameter" % fd.name)
                used_path.add(key)
                mapper.set_field(msg, fd, sample["path_params"][key], "path." + key)
                continue
            if loc == FL.FIELD_LOCATION_HEADER:
                hkey = next((k for k in sample["headers"] if k.lower() == wire.lower()), None)
                if hkey is not None:
                    used_headers.add(hkey)
                    mapper.set_field(msg, fd, sample["headers"][hkey], "header." + hkey)
                continue
            if wire in sample["query"]:
                used_query.add(wire)
                mapper.set_field(msg, fd, sample["query"][wire]["value"], "query." + wire)
        for k in sample["path_params"]:
            if k not in used_path:
                unmapped.append("path param " + k)
        for k in sample["query"]:
            if k not in used_query:
                unmapped.append("query param " + k)
        for k in sample["headers"]:
            if k not in used_headers:
                unmapped.append("header " + k)
        if sample["body"] is not None and not body_field:
            unmapped.append("request body")
        return msg, unmapped


def snake(name):
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i and (not name[i - 1].isupper()):
            out += "_"
        out += c.lower()
    return out


def all_rpcs(protos):
    out = []
    for s in protos.services:
        for m in s.methods:
            if m.GetOptions().Extensions[protos.opts.method].HasField("stream"):
                continue  # Stream rpcs page through a list that is covered itself.
            out.append(Rpc(protos, s, m))
    return out


def big_ints(value, out=None):
    """Every integer beyond 2^53 in a JSON value (those a double would round)."""
    out = [] if out is None else out
    if isinstance(value, bool):
        return out
    if isinstance(value, int) and abs(value) > 2 ** 53:
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            big_ints(v, out)
    elif isinstance(value, list):
        for v in value:
            big_ints(v, out)
    return out


class Recorder:
    """Reads what the gateway sent upstream from recording_proxy.py's log."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.offset = os.path.getsize(self.path) if os.path.exists(self.path) else 0

    def since_mark(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            f.seek(self.offset)
            return [json.loads(line) for line in f if line.strip()]


def json_diff(a, b, path="", out=None):
    """Differences between the body the gateway sent (a) and the expected one (b)."""
    out = [] if out is None else out
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append("%s.%s missing (expected %s)" % (path, k, json.dumps(b[k])[:80]))
            elif k not in b:
                out.append("%s.%s extra %s" % (path, k, json.dumps(a[k])[:80]))
            else:
                json_diff(a[k], b[k], path + "." + k, out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            json_diff(x, y, "%s[%d]" % (path, i), out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) \
            and not isinstance(b, bool) and a == b:
        pass  # 42 and 42.0 are the same JSON number
    elif a != b or type(a) is not type(b):
        out.append("%s = %s (expected %s)" % (path or "body", json.dumps(a)[:80], json.dumps(b)[:80]))
    return out


def check_recorded(rpc, sample, expected, records):
    """Returns (errors, warnings) about the upstream request(s) the gateway sent for one rpc."""
    errors, warnings = [], []
    if not records:
        return errors, ["no upstream request was recorded"]
    rec = records[-1]
    sent = urllib.parse.unquote(rec["path"]) + "\n" + rec["body"]
    sample_values = [sample["body"]] + [q["value"] for q in sample["query"].values()]
    for n in big_ints(sample_values):
        if str(n) not in sent:
            msg = "big integer %d did not reach upstream digit for digit" % n
            body_fd = rpc.method.input_type.fields_by_name.get(rpc.http.body) if rpc.http.body else None
            if body_fd is not None and body_fd.message_type is not None and \
                    body_fd.message_type.full_name in Mapper.STRUCT_TYPES:
                msg += (" (the request message carries the body as %s, whose numbers are doubles: "
                        "a proto generator gap, not the engine's)" % body_fd.message_type.full_name)
            errors.append(msg)
    if rec["method"] != rpc.verb:
        errors.append("sent %s, the rule says %s" % (rec["method"], rpc.verb))
    exp_path = rest_client.build_url("", expected).split("?")[0]
    if urllib.parse.unquote(rec["path"].split("?")[0]) != urllib.parse.unquote(exp_path):
        errors.append("path %s (expected %s)" % (rec["path"].split("?")[0], exp_path))
    if expected["body"] is not None and not isinstance(expected["body"], bytes):
        try:
            got = json.loads(rec["body"]) if rec["body"] else None
        except ValueError:
            errors.append("body is not JSON: %r" % rec["body"][:120])
        else:
            for d in json_diff(got, expected["body"]):
                # The gateway may add properties (defaults it chose); it may not drop or change one.
                (warnings if " extra " in d else errors).append("body " + d)
    got_q = urllib.parse.parse_qs(rec["path"].split("?", 1)[1] if "?" in rec["path"] else "", keep_blank_values=True)
    exp_q = urllib.parse.parse_qs(rest_client.encode_query(expected["query"]), keep_blank_values=True)
    for k in sorted(set(got_q) | set(exp_q)):
        g, e = got_q.get(k), exp_q.get(k)
        if g != e:
            try:  # JSON-encoded params: compare as JSON
                if g and e and len(g) == len(e) == 1 and json.loads(g[0]) == json.loads(e[0]):
                    continue
            except ValueError:
                pass
            (warnings if e is None else errors).append("query %s=%s (expected %s)" % (k, g, e))
    for k, v in expected["headers"].items():
        got = next((hv for hk, hv in rec["headers"].items() if hk.lower() == k.lower()), None)
        if got != rest_client.scalar(v):
            errors.append("header %s: %r (expected %r)" % (k, got, v))
    return errors, warnings


# ------------------------------------------------------------------------------------- runners
def run_direct(base, samples, only):
    """Samples straight to Prism: proves them valid before the gateway is involved."""
    failures, defects, passed = [], [], 0
    for op_id in sorted(samples):
        if only and op_id not in only:
            continue
        s = samples[op_id]
        status, headers, _ = rest_client.send(base, s)
        viol = [v for v in json.loads(headers.get("sl-violations") or "[]")
                if v["location"][0] == "request" and v["severity"] == "Error"]
        if status < 400 and not viol:
            passed += 1
        elif op_id in KNOWN_SPEC_DEFECTS:
            defects.append(op_id)
        else:
            failures.append("%s %s %s -> HTTP %d %s" % (op_id, s["method"], s["path"], status, json.dumps(viol)))
    print("direct: %d/%d samples accepted by Prism, %d known spec defect(s): %s" % (
        passed, len(samples) if not only else len(only), len(defects), ", ".join(defects)))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


def prism_violations(prism, sample):
    """What Prism says about the sample sent directly (for failure reports)."""
    if not prism:
        return ""
    try:
        status, headers, _ = rest_client.send(prism, sample)
        return "direct sample -> HTTP %d %s" % (status, headers.get("sl-violations") or "(no violations)")
    except Exception as e:  # noqa: BLE001
        return "direct sample failed: %s" % e


def run_gateway(target, protos, samples, only, prism, timeout, verbose, record_log):
    import grpc

    mapper = Mapper(protos)
    encoder = Encoder(protos)
    recorder = Recorder(record_log) if record_log else None
    rpcs = all_rpcs(protos)
    channel = grpc.insecure_channel(target)
    grpc.channel_ready_future(channel).result(timeout=30)
    passed, failures, defects, warnings = [], [], [], []
    seen_ops = set()
    built = {}  # rpc -> its request message, for the streams of the lists
    for rpc in rpcs:
        if only and rpc.op_id not in only:
            continue
        seen_ops.add(rpc.op_id)
        sample = samples.get(rpc.op_id)
        label = "%s (%s %s, %s)" % (rpc.full, rpc.verb, rpc.path, rpc.op_id)
        if sample is None:
            failures.append((label, "no operation %r in the spec" % rpc.op_id))
            continue
        try:
            request, unmapped = rpc.build(sample, mapper)
        except MappingError as e:
            failures.append((label, "cannot build the request from the sample: %s" % e))
            continue
        if unmapped:
            warnings.append("%s: sample items without a request field: %s" % (label, ", ".join(unmapped)))
        out_cls = protos.cls(rpc.method.output_type)
        call = channel.unary_unary(rpc.full, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=out_cls.FromString)
        if recorder:
            recorder.mark()
        t0 = time.time()
        try:
            response, c = call.with_call(request, timeout=timeout)
            ok, detail = True, ""
        except grpc.RpcError as e:
            ok = False
            md = dict(e.trailing_metadata() or ())
            detail = "%s: %s [formance-http-status=%s]" % (e.code().name, e.details(), md.get("formance-http-status", "-"))
        ms = (time.time() - t0) * 1000
        sent = ""
        if recorder:
            records = recorder.since_mark()
            errs, warns = check_recorded(rpc, sample, encoder.request(rpc, request), records)
            warnings += ["%s: %s" % (label, w) for w in warns]
            if len(errs) > 6:
                errs = errs[:6] + ["(%d more)" % (len(errs) - 6)]
            if errs and ok:
                ok, detail = False, "OK, but the upstream request differs: " + "; ".join(errs)
            elif errs:
                detail += "; " + "; ".join(errs)
            if records:
                r = records[-1]
                sent = "\n      gateway sent: %s %s %s -> HTTP %s sl-violations=%s" % (
                    r["method"], r["path"], r["body"][:400], r["status"], r["violations"])
        built[rpc.full] = request
        if ok:
            passed.append(rpc.op_id)
            if verbose:
                print("ok   %-60s %6.1f ms" % (rpc.full, ms))
        elif rpc.op_id in KNOWN_SPEC_DEFECTS:
            defects.append((label, detail))
        else:
            failures.append((label, detail + "\n      request: " + short_text(request) + sent +
                             "\n      " + prism_violations(prism, sample)))
    streams_passed, streams_total = check_streams(protos, channel, built, failures, timeout, verbose)
    missing = sorted(set(samples) - seen_ops) if not only else []
    for op in missing:
        failures.append((op, "operation of the spec has no rpc"))
    total = len(seen_ops) + len(missing)
    for w in warnings:
        print("WARN " + w)
    print("contract: %d/%d operations passed through the gateway" % (len(passed), total))
    for label, detail in defects:
        print("known spec defect: %s: %s\n      (%s)" % (label, detail, KNOWN_SPEC_DEFECTS[label.split(", ")[-1].rstrip(")")]))
    for label, detail in failures:
        print("FAIL %s: %s" % (label, detail))
    print("contract: %d/%d Stream rpcs passed (their first page through Prism)" % (streams_passed, streams_total))
    print("contract summary: passed=%d known_spec_defects=%d failed=%d total=%d streams=%d/%d" % (
        len(passed), len(defects), len(failures), total, streams_passed, streams_total))
    return 1 if failures else 0


def check_streams(protos, channel, built, failures, timeout, verbose):
    """Each Stream rpc with its list's sample request (the same fields and numbers), stopped after
    one item (x-formance-max-items): Prism validates the first page's request, `pit` pin
    included. Prism's example pages may repeat their `next` cursor or hold no item; the gateway
    then ends the stream with INTERNAL naming that, after valid requests: a pass."""
    import grpc
    passed = total = 0
    for s in protos.services:
        for m in s.methods:
            rules = protos.method_rules(m)
            if not rules.HasField("stream"):
                continue
            full = "/%s/%s" % (s.full_name, m.name)
            request = built.get("/%s/%s" % (s.full_name, rules.stream.list_rpc))
            if request is None:
                continue  # Its list was not run (--only).
            total += 1
            call = channel.unary_stream(full, request_serializer=lambda r: r.SerializeToString(),
                                        response_deserializer=lambda b: b)
            try:
                n = len(list(call(request, timeout=timeout, metadata=[("x-formance-max-items", "1")])))
                ok, detail = True, "%d item" % n
            except grpc.RpcError as e:
                detail = "%s: %s [formance-http-status=%s]" % (
                    e.code().name, e.details(), dict(e.trailing_metadata() or ()).get("formance-http-status", "-"))
                ok = e.code() == grpc.StatusCode.INTERNAL and ("repeats" in e.details() or
                                                               "without an item" in e.details())
            if ok:
                passed += 1
                if verbose:
                    print("ok   %-60s %s" % (full, detail))
            else:
                failures.append((full + " (stream of %s)" % rules.stream.list_rpc, detail))
    return passed, total


def short_text(msg, limit=600):
    from google.protobuf import text_format
    t = text_format.MessageToString(msg, as_one_line=True)
    return t if len(t) <= limit else t[:limit] + " ..."


def run_roundtrip(base, protos, samples, only):
    """sample -> request message -> REST request (Encoder) -> Prism: the request messages are valid."""
    mapper, enc = Mapper(protos), Encoder(protos)
    passed, failures, defects, diffs = 0, [], [], []
    n = 0
    for rpc in all_rpcs(protos):
        if only and rpc.op_id not in only:
            continue
        n += 1
        msg, _ = rpc.build(samples[rpc.op_id], mapper)
        req = enc.request(rpc, msg)
        sample_body = samples[rpc.op_id]["body"]
        if not isinstance(sample_body, bytes) and req["body"] != sample_body:
            diffs.append(rpc.op_id)
        status, headers, _ = rest_client.send(base, req)
        viol = [v for v in json.loads(headers.get("sl-violations") or "[]")
                if v["location"][0] == "request" and v["severity"] == "Error"]
        if status < 400 and not viol:
            passed += 1
        elif rpc.op_id in KNOWN_SPEC_DEFECTS:
            defects.append(rpc.op_id)
        else:
            failures.append("%s %s -> HTTP %d %s" % (rpc.full, rpc.op_id, status, json.dumps(viol)))
    print("roundtrip: %d/%d re-encoded requests accepted by Prism, %d known spec defect(s); "
          "%d bodies differ from the sample (empty optional lists/maps dropped): %s" % (
              passed, n, len(defects), len(diffs), ", ".join(diffs)))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


def run_map_only(protos, samples, only):
    mapper = Mapper(protos)
    bad = 0
    seen = set()
    for rpc in all_rpcs(protos):
        if only and rpc.op_id not in only:
            continue
        seen.add(rpc.op_id)
        try:
            msg, unmapped = rpc.build(samples[rpc.op_id], mapper)
            msg.SerializeToString()
            if unmapped:
                print("WARN %s %s: unmapped %s" % (rpc.full, rpc.op_id, unmapped))
        except (MappingError, KeyError) as e:
            bad += 1
            print("FAIL %s %s: %s" % (rpc.full, rpc.op_id, e))
    print("map-only: %d rpcs, %d requests could not be built; %d operations without rpc" % (
        len(seen), bad, len(set(samples) - seen) if not only else 0))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gateway", help="host:port of the gateway's gRPC listener")
    ap.add_argument("--prism", help="base URL of Prism (direct mode, and failure diagnosis)")
    ap.add_argument("--direct", action="store_true", help="send the samples straight to --prism")
    ap.add_argument("--map-only", action="store_true", help="only build the request messages")
    ap.add_argument("--roundtrip", action="store_true",
                    help="build each request message, re-encode it as REST and send it to --prism")
    ap.add_argument("--only", default="", help="comma-separated operationIds")
    ap.add_argument("--record-log", help="recording_proxy.py's log: check what the gateway sent upstream")
    ap.add_argument("--timeout", type=float, default=15.0, help="deadline of each rpc, seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    spec = sample_requests.load_spec()
    if spec is None:
        print("SKIP contract: spec not found at %s; set FORMANCE_SPEC" % sample_requests.spec_path())
        return 0
    samples = sample_requests.build_samples(spec)
    only = set(x for x in args.only.split(",") if x)
    if args.direct:
        if not args.prism:
            ap.error("--direct needs --prism URL")
        return run_direct(args.prism, samples, only)
    with tempfile.TemporaryDirectory(prefix="fgw-contract-") as tmp:
        protos = Protos(tmp)
        if args.map_only:
            return run_map_only(protos, samples, only)
        if args.roundtrip:
            if not args.prism:
                ap.error("--roundtrip needs --prism URL")
            return run_roundtrip(args.prism, protos, samples, only)
        if not args.gateway:
            ap.error("--gateway host:port is required (or --direct / --map-only)")
        return run_gateway(args.gateway, protos, samples, only, args.prism, args.timeout, args.verbose,
                           args.record_log)


if __name__ == "__main__":
    sys.exit(main())
