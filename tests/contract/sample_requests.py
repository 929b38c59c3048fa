#!/usr/bin/env python3
"""Valid sample REST requests for every operation of the Formance Stack OpenAPI description.

For each operation the module builds one request that the spec accepts: path parameters,
query parameters (every declared one that the SDK exposes), required headers and a JSON body
generated from the body schema ($ref, allOf merge, oneOf/anyOf first variant with its
discriminator value, enum, format, length and range bounds, simple patterns, every declared
property). Big integers (`format: bigint`) get 2^128+1 so exactness can be checked end to end.

The spec path comes from FORMANCE_SPEC, by default ../shared/formance/stack.openapi.yaml
relative to the repository root. `load_spec()` returns None when it is absent; callers print
the SKIP line themselves.

Run it alone to print the samples as JSON: `/usr/bin/python3 tests/contract/sample_requests.py [operationId...]`.
"""

import copy
import json
import os
import re
import sys

import yaml

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_SPEC = os.path.normpath(os.path.join(REPO_ROOT, "..", "shared", "formance", "stack.openapi.yaml"))

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

# 2^128 + 1: more digits than a double or an int64 can hold.
BIG_INT = 340282366920938463463374607431768211457
SAMPLE_UUID = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
SAMPLE_TIME = "2024-01-02T03:04:05Z"
SAMPLE_URI = "https://example.com/hooks/contract"
SAMPLE_BYTES = "aGVsbG8gZm9ybWFuY2U="  # base64("hello formance")
SAMPLE_EMAIL = "contract@example.com"
MAX_DEPTH = 6


def spec_path():
    return os.environ.get("FORMANCE_SPEC") or DEFAULT_SPEC


def load_spec(path=None):
    path = path or spec_path()
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class SampleBuilder:
    def __init__(self, spec):
        self.spec = spec

    # ---------------------------------------------------------------- refs
    def resolve(self, node):
        seen = 0
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError("external $ref not supported: " + ref)
            target = self.spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop at " + ref)
        return node

    def merge_all_of(self, schema):
        """Flattens allOf into one object schema (properties and required merged)."""
        schema = self.resolve(schema)
        if "allOf" not in schema:
            return schema
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        props = dict(merged.get("properties", {}))
        required = list(merged.get("required", []))
        for part in schema["allOf"]:
            part = self.merge_all_of(part)
            for k, v in part.items():
                if k == "properties":
                    for pk, pv in v.items():
                        if pk in props:
                            # Both sides describe the property: merge them as allOf.
                            props[pk] = {"allOf": [props[pk], pv]}
                        else:
                            props[pk] = pv
                elif k == "required":
                    required += [r for r in v if r not in required]
                elif k not in merged:
                    merged[k] = v
        if props:
            merged["properties"] = props
        if required:
            merged["required"] = required
        return merged

    # ---------------------------------------------------------------- values
    def example_ok(self, schema, value):
        """Whether a spec example can be used as is for this scalar schema."""
        t = schema.get("type")
        if value is None:
            return False
        if "enum" in schema and value not in schema["enum"]:
            return False
        if t == "string":
            if not isinstance(value, str):
                return False
            fmt = schema.get("format")
            if fmt == "date-time" and not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", value):
                return False
            if fmt == "uuid" and not re.match(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$", value):
                return False
            if fmt in ("uri", "url") and not re.match(r"^[a-z]+://", value):
                return False
            if fmt == "byte" and not re.match(r"^[A-Za-z0-9+/]*={0,2}$", value):
                return False
            if "minLength" in schema and len(value) < schema["minLength"]:
                return False
            if "maxLength" in schema and len(value) > schema["maxLength"]:
                return False
            if "pattern" in schema and not re.search(schema["pattern"], value):
                return False
            return True
        if t == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                return False
            return self.in_range(schema, value)
        if t == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            return self.in_range(schema, value)
        if t == "boolean":
            return isinstance(value, bool)
        return False

    @staticmethod
    def in_range(schema, v):
        if "minimum" in schema and v < schema["minimum"]:
            return False
        if "maximum" in schema and v > schema["maximum"]:
            return False
        if schema.get("exclusiveMinimum") is True and "minimum" in schema and v <= schema["minimum"]:
            return False
        if schema.get("exclusiveMaximum") is True and "maximum" in schema and v >= schema["maximum"]:
            return False
        return True

    def string_value(self, schema, hint):
        fmt = schema.get("format")
        if "enum" in schema:
            return schema["enum"][0]
        ex = schema.get("example")
        if self.example_ok(schema, ex):
            return ex
        if fmt == "date-time":
            return SAMPLE_TIME
        if fmt == "date":
            return SAMPLE_TIME[:10]
        if fmt == "uuid":
            return SAMPLE_UUID
        if fmt in ("uri", "url"):
            return SAMPLE_URI
        if fmt == "email":
            return SAMPLE_EMAIL
        if fmt in ("byte", "binary"):
            return SAMPLE_BYTES
        pattern = schema.get("pattern")
        if pattern == r"^[a-zA-Z]{3}\/[0-9]$":
            return "USD/2"
        if pattern:
            raise ValueError("unsupported pattern %r for %s" % (pattern, hint))
        value = re.sub(r"[^A-Za-z0-9]", "", hint or "") or "value"
        value = value[:1].lower() + value[1:] + "001"
        lo, hi = schema.get("minLength", 0), schema.get("maxLength")
        if len(value) < lo:
            value = value + "x" * (lo - len(value))
        if hi is not None and len(value) > hi:
            value = value[:hi]
        return value

    def integer_value(self, schema):
        if "enum" in schema:
            return schema["enum"][0]
        if schema.get("format") == "bigint":
            # The biggest value the bounds allow, 2^128+1 when unbounded.
            v = BIG_INT
            if "maximum" in schema and v > schema["maximum"]:
                v = schema["maximum"]
            return v
        ex = schema.get("example")
        if self.example_ok(schema, ex):
            return ex
        v = 42
        if "minimum" in schema and v < schema["minimum"]:
            v = int(schema["minimum"]) + (1 if schema.get("exclusiveMinimum") is True else 0)
        if "maximum" in schema and v > schema["maximum"]:
            v = int(schema["maximum"]) - (1 if schema.get("exclusiveMaximum") is True else 0)
        return v

    def number_value(self, schema):
        if "enum" in schema:
            return schema["enum"][0]
        ex = schema.get("example")
        if self.example_ok(schema, ex):
            return ex
        v = 0.5
        if "minimum" in schema and v < schema["minimum"]:
            v = schema["minimum"] + 0.5
        if "maximum" in schema and v > schema["maximum"]:
            v = schema["maximum"]
        return v

    def value(self, schema, hint="value", depth=0, minimal=False):
        schema = self.merge_all_of(schema)
        if "oneOf" in schema or "anyOf" in schema:
            return self.union_value(schema, hint, depth)
        t = schema.get("type")
        if t is None:
            if "properties" in schema or "additionalProperties" in schema:
                t = "object"
            elif "items" in schema:
                t = "array"
        if t == "string":
            return self.string_value(schema, hint)
        if t == "integer":
            return self.integer_value(schema)
        if t == "number":
            return self.number_value(schema)
        if t == "boolean":
            ex = schema.get("example")
            return ex if isinstance(ex, bool) else True
        if t == "array":
            n = max(1, schema.get("minItems", 1))
            if depth >= MAX_DEPTH:
                n = schema.get("minItems", 0)
            item_schema = schema.get("items", {})
            items = [self.value(item_schema, singular(hint), depth + 1) for _ in range(n)]
            if items and not self.valid(item_schema, items[0]) and schema.get("minItems", 0) == 0:
                # No valid element can be built (a defect of the item schema): send an empty list.
                return []
            return items
        if t == "object":
            return self.object_value(schema, hint, depth, minimal)
        # Free-form (no type): the example if any, else a small object.
        ex = schema.get("example")
        if ex is not None:
            return copy.deepcopy(ex)
        return {"key": "value"}

    def union_value(self, schema, hint, depth):
        """oneOf/anyOf: the first variant (with its discriminator value) whose sample the whole
        union accepts. A strict oneOf rejects a value that matches two variants, and Prism does not
        use the discriminator, so each variant is tried with all its properties, then with only
        the required ones."""
        variants = schema.get("oneOf") or schema.get("anyOf")
        disc = schema.get("discriminator") or {}
        prop = disc.get("propertyName")
        mapping = disc.get("mapping") or {}
        base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")}
        candidates = []
        for variant in variants:
            ref = variant.get("$ref") if isinstance(variant, dict) else None
            dvalue = next((k for k, v in mapping.items() if v == ref), None)
            if dvalue is None and ref and prop:
                dvalue = ref.rsplit("/", 1)[-1]
            # Sibling keywords (type, properties) apply together with the chosen variant.
            combined = {"allOf": [base, variant]} if base.get("properties") else variant
            for minimal in (False, True):
                out = self.value(combined, hint, depth, minimal=minimal)
                if prop is not None and isinstance(out, dict):
                    out[prop] = dvalue
                candidates.append(out)
                if self.valid(schema, out):
                    return out
        return candidates[0]

    def object_value(self, schema, hint, depth, minimal=False):
        props = schema.get("properties", {})
        required = schema.get("required", [])
        out = {}
        for name, ps in props.items():
            if (depth >= MAX_DEPTH or minimal) and name not in required:
                continue
            v = self.value(ps, name, depth + 1)
            if name not in required and not self.valid(ps, v):
                continue  # no valid value can be built for this optional property
            out[name] = v
        ap = schema.get("additionalProperties")
        if not props:
            ex = schema.get("example")
            if isinstance(ex, dict) and ex and (ap in (None, True, {}) or all(
                    self.example_fits(ap, v) for v in ex.values())):
                return copy.deepcopy(ex)
            if ap is None or ap is True or ap == {}:
                return {"key": "value"} if depth < MAX_DEPTH else {}
        if isinstance(ap, dict) and ap and depth < MAX_DEPTH - 1 and not minimal:
            key = "extra" if props else "key"
            v = self.value(ap, key, depth + 1)
            if self.valid(ap, v):
                out[key] = v
        return out

    # ---------------------------------------------------------------- validation
    def valid(self, schema, value):
        """A small JSON Schema (OpenAPI 3.0 dialect) check, enough to choose among generated values."""
        schema = self.resolve(schema)
        if not isinstance(schema, dict):
            return True
        if value is None:
            return bool(schema.get("nullable"))
        for part in schema.get("allOf", []):
            if not self.valid(part, value):
                return False
        if "oneOf" in schema:
            if sum(1 for v in schema["oneOf"] if self.valid(v, value)) != 1:
                return False
        if "anyOf" in schema:
            if not any(self.valid(v, value) for v in schema["anyOf"]):
                return False
        if "enum" in schema and value not in schema["enum"]:
            return False
        t = schema.get("type")
        if t == "string":
            return isinstance(value, str) and self.example_ok(dict(schema, example=None, type="string"), value)
        if t == "integer":
            return isinstance(value, int) and not isinstance(value, bool) and self.in_range(schema, value)
        if t == "number":
            return isinstance(value, (int, float)) and not isinstance(value, bool) and self.in_range(schema, value)
        if t == "boolean":
            return isinstance(value, bool)
        if t == "array" or (t is None and "items" in schema and isinstance(value, list)):
            if not isinstance(value, list) or len(value) < schema.get("minItems", 0):
                return False
            return all(self.valid(schema.get("items", {}), v) for v in value)
        if t == "object" or (t is None and ("properties" in schema or "required" in schema)):
            if not isinstance(value, dict):
                return False
            for r in schema.get("required", []):
                if r not in value:
                    return False
            props = schema.get("properties", {})
            ap = schema.get("additionalProperties", True)
            for k, v in value.items():
                if k in props:
                    if not self.valid(props[k], v):
                        return False
                elif ap is False:
                    return False
                elif isinstance(ap, dict) and not self.valid(ap, v):
                    return False
            return True
        return True

    def example_fits(self, schema, v):
        schema = self.resolve(schema)
        t = schema.get("type")
        if t in ("string", "integer", "number", "boolean"):
            return self.example_ok(schema, v)
        return False

    # ---------------------------------------------------------------- parameters
    def param_value(self, param):
        if "content" in param:
            media = next(iter(param["content"].values()))
            return self.value(media.get("schema", {}), param["name"])
        schema = self.resolve(param.get("schema", {}))
        if param.get("style") == "deepObject":
            ex = param.get("example")
            if isinstance(ex, dict) and ex:
                return copy.deepcopy(ex)
            return self.value(schema, param["name"])
        ex = param.get("example")
        t = schema.get("type")
        if t == "array" or (t == "string" and "items" in schema):
            # `expand`: declared as a string with items; the SDK sends one comma-joined value.
            item = schema.get("items", {})
            return [self.value(item, param["name"])]
        if ex is not None and self.example_ok(schema, ex):
            return ex
        if param["in"] == "path" and t == "string" and "enum" not in schema and "format" not in schema:
            # Account addresses carry ':' (the SDK keeps it unescaped).
            if param["name"] in ("address", "accountId", "account"):
                return "users:001"
            return re.sub(r"[^A-Za-z0-9]", "", param["name"]) + "001"
        return self.value(schema, param["name"])

    def query_style(self, param):
        """form (scalar), repeat (array, one parameter per element), comma (string with items,
        sent comma-joined like the SDK), deepObject (name[key]=value) or json (?name=<JSON>)."""
        if "content" in param:
            return "json"
        if param.get("style") == "deepObject":
            return "deepObject"
        schema = self.resolve(param.get("schema", {}))
        if schema.get("type") == "array":
            return "repeat" if param.get("explode", True) else "comma"
        if "items" in schema:
            return "comma"
        return "form"

    def operation_params(self, path_item, op):
        params = {}
        for p in list(path_item.get("parameters", [])) + list(op.get("parameters", [])):
            p = self.resolve(p)
            params[(p["in"], p["name"])] = p
        return list(params.values())

    def request_body(self, op):
        rb = op.get("requestBody")
        if not rb:
            return None, None, False
        rb = self.resolve(rb)
        content = rb.get("content", {})
        if not content:
            return None, None, False
        ctype, media = next(iter(content.items()))
        if ctype == "application/octet-stream":
            return b"contract-test-bytes", ctype, bool(rb.get("required"))
        return self.value(media.get("schema", {}), "body"), ctype, bool(rb.get("required"))

    def build(self, path, method, path_item, op):
        req = {
            "operationId": op["operationId"],
            "method": method.upper(),
            "path": path,
            "path_params": {},
            "query": {},
            "headers": {},
            "body": None,
            "content_type": None,
            "body_required": False,
            "security": op.get("security", self.spec.get("security")),
        }
        for p in self.operation_params(path_item, op):
            if p.get("x-speakeasy-ignore"):
                continue
            where = p["in"]
            if where == "path":
                req["path_params"][p["name"]] = self.param_value(p)
            elif where == "query":
                req["query"][p["name"]] = {
                    "value": self.param_value(p),
                    "style": self.query_style(p),
                    "required": bool(p.get("required")),
                }
            elif where == "header":
                if p.get("required") or p["name"].lower() == "idempotency-key":
                    req["headers"][p["name"]] = self.param_value(p)
        body, ctype, required = self.request_body(op)
        req["body"], req["content_type"], req["body_required"] = body, ctype, required
        return req


def singular(word):
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def build_samples(spec):
    """operationId -> sample request (dict, see SampleBuilder.build)."""
    b = SampleBuilder(spec)
    out = {}
    for path, item in spec["paths"].items():
        if not path.startswith("/"):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            out[op["operationId"]] = b.build(path, method, item, op)
    return out


def main(argv):
    spec = load_spec()
    if spec is None:
        print("SKIP contract: spec not found at %s; set FORMANCE_SPEC" % spec_path())
        return 0
    samples = build_samples(spec)
    wanted = argv[1:] or sorted(samples)
    for op_id in wanted:
        s = dict(samples[op_id])
        if isinstance(s["body"], bytes):
            s["body"] = "<%d raw bytes>" % len(s["body"])
        print(json.dumps(s, indent=1))
    print("%d operations" % len(samples), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
