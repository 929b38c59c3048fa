#!/usr/bin/env python3
"""Generate proto/formance/<module>/<version>/{models,service}.proto from the Formance Stack OpenAPI.

Usage:
  generate_protos.py [SPEC] [--check] [--out DIR] [--lock FILE] [--operations TSV]

SPEC defaults to $FORMANCE_SPEC, else ../shared/formance/stack.openapi.yaml relative to the
repository root. operations.tsv is read from the spec's directory (SDK function names).
--check writes nothing: it exits 1 and lists the files (protos and lock) that differ.

Rules (the contract users and the runtime engine rely on):
* Package per module version, decided by the path (/api/ledger/v2 -> ledger v2, /api/payments/v3,
  /api/orchestration/v2, else v1; /versions -> formance.stack.v1) and overridden by
  operations.tsv's module/api_version when they disagree (/api/ledger/_/info and /_/metrics are
  ledger v2 in the SDK). One service per package: formance.<module>.<v>.<Module>Service
  (formance.stack.v1.StackService).
* rpc name: `x-speakeasy-name-override`, else operationId; drop a trailing `_<module>`, a
  leading `v<digits>`/`V<digits>` prefix, then upper-case the first letter. A name that would
  repeat in a package gets the operationId's version (`...V2`) or a number appended.
  Request/response messages are `<Rpc>Request` / `<Rpc>Response`.
* Schema names: a component keeps its upstream name (`x-formance-upstream-name`, i.e. without
  the `<Module>` prefix assemble.py added: LedgerV2Posting -> V2Posting) when no other schema of
  the package has that name; otherwise the merged component name. A name equal to an rpc
  message name gets `Body` appended (auth CreateClientRequest -> CreateClientRequestBody).
  Inline objects/enums/unions are named <Owner><Field> (numbered when taken). Every package
  holds its own copy of every schema its operations reach (no cross-package imports).
* Request: one field per path/query/header parameter (snake_case name; json_name when the wire
  name is not protoc's lowerCamel of the field name; query params with such names also carry
  FieldRules.wire_name + location QUERY; headers carry location HEADER + wire_name; a deprecated
  alias that snake-cases onto another parameter is named `legacy_<name>`), then the body field:
  snake_case of the body schema's name (`v2_post_transaction`, `v2_bulk` repeated,
  `v2_metadata` map), `request_body` for inline schemas, `bytes` for non-JSON bodies.
* Response: the top-level properties of the 2xx JSON object are the response's own fields (the
  union of fields across 2xx codes); a non-object body (array, map, union, free object) is a
  field `result` named by response_body; a body that is not JSON at all (Accept */*) is
  `bytes content` named by response_body. Declared response headers are fields with location
  HEADER (Idempotency-Hit stays a string holding "true"; Count is int64 or a bigint string).
* Types: integer -> int64 (int32 when format int32), bigint -> string + bigint; number ->
  double; format byte/date-time/uuid/date/uri/url/email -> string + FieldRules.format (date-time
  keeps the exact RFC 3339 text); binary -> bytes; typed additionalProperties -> map<string, T>;
  free-form objects -> google.protobuf.Struct; untyped -> google.protobuf.Value. A named map
  schema is inlined as the map where referenced; as a map value or list item it becomes a
  message named after the schema with one `entries` map field named by
  MessageRules.bare_map_field. Properties + typed additionalProperties (V2ChartSegment): the
  properties are fields and `entries` (bare_map_field) holds every other key. A list inside a
  container becomes google.protobuf.ListValue (payments v3 ListConnectorCapabilitiesResponse.data,
  a map of lists; reconciliation EvaluationEvidence's array variant).
* Alias components (only a `$ref` to another component, plus description/nullable/x-* keys:
  wallets CreateBalanceRequest = Balance) take the referenced component's type wherever they are
  used (bodies, properties, items, map values, union members); chains are followed, a loop is an
  error, and no message is emitted for the alias (its name is still reserved; body fields keep
  the alias's snake_case name). A `nullable` anywhere on the chain makes the property nullable.
  google.protobuf.Value/Struct only ever stand for schemas that are free-form in the spec.
* allOf: properties merged, required = union. oneOf (and anyOf: Stage/V2Stage) without
  properties: MessageRules.union with `oneof value`; members named after the discriminator
  value (snake_case) or the variant's name (union name prefix stripped); primitive variants
  are string_value / integer_value / number_value / bool_value, arrays array_value
  (ListValue), objects object_value. properties + oneOf (V2QueryParams): one merged message,
  a property required when every variant requires it, enums merged.
* JSON property names that are not identifiers (`.self`) go to FieldRules.wire_name
  (field dot_self), never json_name.
* Nullable properties: FieldRules.nullable and a `repeated string null_fields` field named by
  MessageRules.null_fields_field (no spec property snake-cases to `null_fields`: asserted).
  Optional or nullable scalars/enums are proto3 `optional`.
* Enums: <ENUM_NAME>_UNSPECIFIED = 0, values prefixed with the UPPER_SNAKE enum name, each with
  its wire string in (formance.gateway.v1.wire_value); duplicates dropped.
* Streams (streams.py): beside every cursor-paginated list (`cursor` query parameter, 2xx
  `cursor` object with repeated `data` and `next`) a server-streaming Stream<Rest> rpc with no
  google.api.http rule: MethodRules.stream names the list; Stream<Rest>Request copies the list
  request's fields and numbers; Stream<Rest>Response is `item` + resume `cursor`.
* Field, enum value and rpc numbers come from field_numbers.lock (see lock.py); removed entries
  become `reserved`. Files list messages and enums alphabetically, rpcs in lock order.
* Comments hold only facts: route, operationId, scopes, SDK name, JSON names, required,
  nullable, formats, constraints, wire values, deprecation.
"""
import argparse
import csv
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import yaml  # noqa: E402

from emit import render_models, render_service  # noqa: E402
from lock import FieldLock  # noqa: E402
from naming import pascal_case, rpc_name  # noqa: E402
from schema_mapper import PackageMapper, Spec  # noqa: E402
from streams import add_stream_rpcs  # noqa: E402
from service_mapper import HTTP_METHODS, ServiceMapper, json_schema_of, success_codes  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_SPEC = os.path.join(REPO, "..", "shared", "formance", "stack.openapi.yaml")
LOCK = os.path.join(HERE, "field_numbers.lock")
SERVICE_NAMES = {"stack": "StackService"}


def default_spec():
    return os.environ.get("FORMANCE_SPEC") or os.path.normpath(DEFAULT_SPEC)


def package_of_path(path):
    if path == "/versions":
        return "stack", "v1"
    parts = path.split("/")
    module = parts[2]
    version = "v1"
    if len(parts) > 3 and re.fullmatch(r"v[0-9]+", parts[3]):
        version = parts[3]
    return module, version


def load_operations_tsv(path):
    rows = {}
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                rows[(r["http_method"].lower(), r["path"])] = r
    return rows


def iter_operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, item, op


def generate(doc, lock, tsv=None, log=None):
    """Returns {relative file path: text}; updates `lock`."""
    tsv = tsv or {}
    spec = Spec(doc)
    groups = {}
    for path, method, item, op in iter_operations(doc):
        module, version = package_of_path(path)
        row = tsv.get((method, path))
        if row and module != "stack":
            if (row["module"], row["api_version"]) != (module, version) and row["api_version"] != "-":
                if log:
                    log("note: %s %s: path says %s %s, SDK says %s %s: using the SDK's" % (
                        method.upper(), path, module, version, row["module"], row["api_version"]))
                module, version = row["module"], row["api_version"]
        groups.setdefault((module, version), []).append((path, method, item, op, row))

    files = {}
    for (module, version), ops in sorted(groups.items()):
        package = "formance.%s.%s" % (module, version)
        service = SERVICE_NAMES.get(module, pascal_case(module) + "Service")
        # rpc names (deterministic disambiguation)
        names = []
        seen = set()
        for path, method, item, op, row in ops:
            n = rpc_name(op)
            if n in seen:
                m = re.match(r"^[vV]([0-9]+)", op["operationId"])
                n2 = n + ("V" + m.group(1) if m else "")
                i = 2
                while n2 in seen or n2 == n:
                    n2 = "%s%d" % (n, i)
                    i += 1
                n = n2
            seen.add(n)
            names.append(n)
        reserved = {service}
        for n in names:
            reserved.update({n + "Request", n + "Response"})
        pm = PackageMapper(spec, package, reserved)
        roots = []
        for path, method, item, op, row in ops:
            roots.append(item.get("parameters", []))
            roots.append(op.get("parameters", []))
            roots.append(op.get("requestBody", {}))
            for code, r in op["responses"].items():
                if str(code) != "default":
                    roots.append(r)
        pm.assign_component_names(pm.ref_closure(roots))
        sm = ServiceMapper(spec, pm, package, module if module != "stack" else "gateway")
        for (path, method, item, op, row), n in zip(ops, names):
            sdk = row["sdk_function"] if row else ""
            sm.add_operation(path, method, item, op, n, sdk)
        add_stream_rpcs(sm, pm)
        for w in pm.warnings:
            if log:
                log("warning: %s: %s" % (package, w))

        # numbers
        for r in sm.rpcs:
            r.order = lock.number("%s.%s/%s" % (package, service, r.name))
        all_msgs = list(pm.messages.values()) + [m for r in sm.rpcs for m in (r.request, r.response)]
        copies = {r.request.name: r.stream_of.request for r in sm.rpcs if r.server_streaming}
        for m in all_msgs:
            source = {f.name: f for f in copies[m.name].fields} if m.name in copies else {}
            for f in m.fields:
                key = "%s.%s.%s" % (package, m.name, f.name)
                f.number = lock.number_as(key, source[f.name].number) if f.name in source else lock.number(key)
        for e in pm.enums.values():
            from naming import upper_snake
            lock.fixed("%s.%s.%s_UNSPECIFIED" % (package, e.name, upper_snake(e.name)), 0)
            for v in e.values:
                v[2] = lock.number("%s.%s.%s" % (package, e.name, v[0]))
        groups[(module, version)] = (package, service, pm, sm, all_msgs)

    lock.finish()
    for (module, version), (package, service, pm, sm, all_msgs) in sorted(groups.items()):
        for m in all_msgs:
            m.reserved = lock.removed_in_scope("%s.%s" % (package, m.name))
        for e in pm.enums.values():
            e.reserved = lock.removed_in_scope("%s.%s" % (package, e.name))
        model_types = set(pm.messages) | set(pm.enums)
        uses_models = any(f.ptype in model_types for r in sm.rpcs for m in (r.request, r.response)
                          for f in m.fields)
        d = "formance/%s/%s" % (module, version)
        files[d + "/models.proto"] = render_models(package, list(pm.messages.values()), list(pm.enums.values()))
        files[d + "/service.proto"] = render_service(package, service, sm.rpcs, uses_models)
    return files


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec", nargs="?", default=None)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=os.path.join(REPO, "proto"))
    ap.add_argument("--lock", default=LOCK)
    ap.add_argument("--operations", default=None)
    args = ap.parse_args(argv)
    spec_path = args.spec or default_spec()
    if not os.path.exists(spec_path):
        print("spec not found: %s (set FORMANCE_SPEC)" % spec_path, file=sys.stderr)
        return 2
    with open(spec_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    tsv_path = args.operations or os.path.join(os.path.dirname(spec_path), "operations.tsv")
    lock = FieldLock.load(args.lock)
    files = generate(doc, lock, load_operations_tsv(tsv_path),
                     log=(lambda m: None) if args.check else (lambda m: print(m, file=sys.stderr)))
    outputs = {os.path.join(args.out, k): v for k, v in files.items()}
    outputs[args.lock] = lock.dumps()
    # generated files that no longer exist in the spec's output
    stale = []
    gen_root = os.path.join(args.out, "formance")
    for root, _, fnames in os.walk(gen_root):
        for fn in fnames:
            p = os.path.join(root, fn)
            if fn in ("models.proto", "service.proto") and p not in outputs:
                stale.append(p)
    if args.check:
        bad = []
        for p, text in sorted(outputs.items()):
            cur = open(p, encoding="utf-8").read() if os.path.exists(p) else None
            if cur != text:
                bad.append(p)
        bad += stale
        for p in bad:
            print("out of date: %s" % os.path.relpath(p, REPO))
        if bad:
            print("run proto/generator/generate_protos.py to regenerate", file=sys.stderr)
            return 1
        print("protos are up to date (%d files)" % len(outputs))
        return 0
    for p, text in sorted(outputs.items()):
        os.makedirs(os.path.dirname(p), exist_ok=True)
        cur = open(p, encoding="utf-8").read() if os.path.exists(p) else None
        if cur != text:
            with open(p, "w", encoding="utf-8") as f:
                f.write(text)
    for p in stale:
        os.remove(p)
    print("wrote %d files" % len(outputs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
