"""Maps OpenAPI schemas onto proto messages, enums and field types, one package at a time.

See generate_protos.py's docstring for the rules.
"""
import copy

from model import Enum, Field, Message, TypeRef
from naming import enum_value_name, is_json_name_ok, lower_camel_default, pascal_case, snake_case

STRUCT = "google.protobuf.Struct"
VALUE = "google.protobuf.Value"
LIST = "google.protobuf.ListValue"
STRING_FORMATS = {"date-time", "date", "uuid", "byte", "uri", "url", "email"}
# Keys that carry no type information next to a `$ref` (an alias schema may hold them).
ALIAS_META_KEYS = {"description", "summary", "title", "nullable", "deprecated", "example", "examples",
                   "readOnly", "writeOnly", "externalDocs"}
CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
               "maxLength", "minItems", "maxItems", "pattern")


class Spec:
    """The OpenAPI document plus $ref resolution."""

    def __init__(self, doc):
        self.doc = doc
        self.schemas = doc.get("components", {}).get("schemas", {})

    def resolve(self, obj):
        seen = 0
        while isinstance(obj, dict) and "$ref" in obj:
            node = self.doc
            for part in obj["$ref"].lstrip("#/").split("/"):
                node = node[part]
            obj = node
            seen += 1
            if seen > 50:
                raise ValueError("$ref loop")
        return obj

    def alias_target(self, c):
        """The component an alias component resolves to, following chains (`c` itself when it is
        not an alias). An alias is a component schema whose only meaningful content is a `$ref`
        to another component (description, nullable, x-* and other annotation keys allowed)."""
        seen = [c]
        while True:
            s = self.schemas.get(c)
            if not (isinstance(s, dict) and isinstance(s.get("$ref"), str)):
                return c
            nxt = self.comp_name(s["$ref"])
            if nxt is None or nxt not in self.schemas:
                return c
            if nxt in seen:
                raise ValueError("alias $ref loop: %s" % " -> ".join(seen + [nxt]))
            seen.append(nxt)
            c = nxt

    def nullable_along(self, obj):
        """True when `obj` or any schema on its `$ref` chain (aliases included) is nullable."""
        seen = 0
        while isinstance(obj, dict):
            if obj.get("nullable"):
                return True
            if "$ref" not in obj or seen > 50:
                return False
            obj = self._deref_once(obj["$ref"])
            seen += 1
        return False

    def _deref_once(self, ref):
        node = self.doc
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    @staticmethod
    def alias_extra_keys(s):
        """Keys of an alias schema besides `$ref` that would carry type information (ignored, as
        OpenAPI 3.0 ignores every sibling of a `$ref`)."""
        return sorted(k for k in s if k != "$ref" and k not in ALIAS_META_KEYS and not k.startswith("x-"))

    @staticmethod
    def comp_name(ref):
        if ref.startswith("#/components/schemas/"):
            return ref.rsplit("/", 1)[1]
        return None


def schema_facts(s):
    """Comment fragments from a schema: format and constraints (never prose)."""
    out = []
    if not isinstance(s, dict):
        return out
    if s.get("format"):
        out.append("format: %s" % s["format"])
    for k in CONSTRAINTS:
        if k in s:
            out.append("%s: %s" % (k, s[k]))
    if s.get("deprecated"):
        out.append("deprecated")
    return out


def is_free_object(s):
    """An object whose JSON is arbitrary (-> google.protobuf.Struct)."""
    if s.get("properties") or s.get("allOf") or s.get("oneOf") or s.get("anyOf") or s.get("enum"):
        return False
    if s.get("type") not in (None, "object"):
        return False
    ap = s.get("additionalProperties", None)
    if s.get("type") is None and ap is None:
        return False
    return ap is None or ap is True or ap == {}


def is_typed_map(s):
    if s.get("properties") or s.get("allOf") or s.get("oneOf") or s.get("anyOf"):
        return False
    if s.get("type") not in (None, "object"):
        return False
    ap = s.get("additionalProperties")
    return isinstance(ap, dict) and ap != {}


class PackageMapper:
    """Builds the messages and enums of one proto package."""

    def __init__(self, spec, package, reserved_names=()):
        self.spec = spec
        self.package = package
        self.messages = {}   # name -> Message (models.proto)
        self.enums = {}      # name -> Enum
        self.taken = set(reserved_names)
        self.comp_names = {}  # component -> proto name
        self.memo = {}        # component -> TypeRef
        self.wrappers = {}    # component -> wrapper message name
        self.warnings = []

    # ---- naming -------------------------------------------------------------------------
    def assign_component_names(self, comps):
        """Proto names for the package's components: the upstream name (the module prefix that
        assemble.py added stripped) when it is unique in the package, else the merged component
        name; `Body` appended when that collides with an rpc message name."""
        cands = {}
        for c in sorted(comps):
            up = self.spec.schemas[c].get("x-formance-upstream-name") or c
            cands.setdefault(up, []).append(c)
        for c in sorted(comps):
            up = self.spec.schemas[c].get("x-formance-upstream-name") or c
            name = up
            if len(cands[up]) > 1 or (up != c and up in comps):
                name = c
            base = name
            while name in self.taken:
                name = name + "Body" if name == base else name + "X"
            self.comp_names[c] = name
            self.taken.add(name)

    def base_name(self, comp):
        """The component's name before collision renames (for SDK-style body field names)."""
        s = self.spec.schemas[comp]
        up = s.get("x-formance-upstream-name") or comp
        n = self.comp_names.get(comp, up)
        return n[:-4] if n.endswith("Body") and not up.endswith("Body") else n

    def new_name(self, base):
        base = pascal_case(base) if not base[:1].isupper() or not base.isidentifier() else base
        name = base
        i = 2
        while name in self.taken:
            name = "%s%d" % (base, i)
            i += 1
        self.taken.add(name)
        return name

    def ref_closure(self, roots):
        """Component schema names reachable from the given spec fragments."""
        seen = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    c = Spec.comp_name(ref)
                    if c:
                        if c not in seen:
                            seen.add(c)
                            stack.append(self.spec.schemas[c])
                    else:
                        stack.append(self.spec.resolve(node))
                for k, v in node.items():
                    if k not in ("example", "examples", "$ref"):
                        stack.append(v)
            elif isinstance(node, list):
                stack.extend(node)
        return seen

    # ---- types --------------------------------------------------------------------------
    def map_schema(self, s, owner, field):
        """TypeRef for a schema used as the value of `owner.field`."""
        if "$ref" in s:
            c = Spec.comp_name(s["$ref"])
            if c is None:
                return self.map_schema(self.spec.resolve(s), owner, field)
            return self.map_component(c)
        if s.get("allOf") and len(s["allOf"]) == 1 and not s.get("properties"):
            return self.map_schema(s["allOf"][0], owner, field)
        if s.get("oneOf") or s.get("anyOf") or s.get("allOf") or s.get("properties"):
            msg = self.build_message(self.new_name(owner + pascal_case(field)), s)
            return TypeRef(msg.name, scalar=False)
        if s.get("enum"):
            en = self.build_enum(self.new_name(owner + pascal_case(field)), s)
            return TypeRef(en.name)
        return self.map_plain(s, owner, field)

    def map_plain(self, s, owner, field, named_map=None):
        t = s.get("type")
        fmt = s.get("format")
        if t == "array" or ("items" in s and t is None):
            item = self.map_schema(s.get("items") or {}, owner, field + "Item")
            item = self.unnest(item, owner + pascal_case(field) + "Item")
            return TypeRef(item.ptype, "repeated", item.bigint, item.fmt, scalar=False)
        if t == "string":
            if fmt == "binary":
                return TypeRef("bytes", fmt=fmt)
            return TypeRef("string", fmt=fmt if fmt in STRING_FORMATS else None)
        if t == "integer":
            if fmt == "bigint":
                return TypeRef("string", bigint=True)
            if fmt == "int32":
                return TypeRef("int32")
            return TypeRef("int64", fmt="int64" if fmt == "int64" else None)
        if t == "number":
            return TypeRef("float" if fmt == "float" else "double")
        if t == "boolean":
            return TypeRef("bool")
        if is_typed_map(s):
            val = self.map_schema(s["additionalProperties"], owner, field + "Value")
            val = self.unnest(val, owner + pascal_case(field) + "Value")
            return TypeRef(val.ptype, "map", val.bigint, val.fmt, named_map=named_map, scalar=False)
        if is_free_object(s):
            return TypeRef(STRUCT, scalar=False)
        return TypeRef(VALUE, scalar=False)

    def unnest(self, tref, hint):
        """A TypeRef usable as a map value / list item / oneof member (no container)."""
        if tref.container is None:
            return tref
        if tref.container == "map":
            if tref.named_map and tref.named_map in self.wrappers:
                return TypeRef(self.wrappers[tref.named_map], scalar=False)
            name = self.comp_names[tref.named_map] if tref.named_map else self.new_name(hint)
            msg = Message(name, comments=["A JSON object whose keys map to values (bare map)."])
            if tref.named_map:
                msg.comments.insert(0, "Schema: %s (wrapped: used as a map value or list item)." % tref.named_map)
                self.wrappers[tref.named_map] = name
            rules = {"bigint": True} if tref.bigint else {}
            if tref.fmt:
                rules["format"] = tref.fmt
            msg.fields.append(Field("entries", tref.ptype, "map", rules=rules))
            msg.rules["bare_map_field"] = "entries"
            self.messages[name] = msg
            return TypeRef(name, scalar=False)
        self.warnings.append("%s: list nested in a container -> google.protobuf.ListValue" % hint)
        return TypeRef(LIST, scalar=False)

    def map_component(self, c):
        if c in self.memo:
            return self.memo[c]
        s = self.spec.schemas[c]
        if isinstance(s.get("$ref"), str) and Spec.comp_name(s["$ref"]):
            # alias (CreateBalanceRequest = $ref Balance): the referenced schema's type, never
            # google.protobuf.Value; chains are followed.
            target = self.spec.alias_target(c)
            extra = Spec.alias_extra_keys(s)
            if extra:
                self.warnings.append("%s: keys next to $ref ignored: %s" % (c, ", ".join(extra)))
            tref = self.map_component(target)
            self.memo[c] = tref
            return tref
        name = self.comp_names.get(c)
        if name is None:  # component reached outside the precomputed closure
            self.assign_component_names([c])
            name = self.comp_names[c]
        if s.get("enum"):
            tref = TypeRef(name)
            self.memo[c] = tref
            self.build_enum(name, s, ["Schema: %s." % c])
            return tref
        if (s.get("oneOf") or s.get("anyOf") or s.get("allOf") or s.get("properties")
                or (s.get("type") == "object" and not is_typed_map(s) and not is_free_object(s)
                    and s.get("additionalProperties") not in (None, True, {}))):
            tref = TypeRef(name, scalar=False)
            self.memo[c] = tref
            self.build_message(name, s, ["Schema: %s." % c])
            return tref
        tref = self.map_plain(s, name, "", named_map=c)
        self.memo[c] = tref
        return tref

    # ---- enums --------------------------------------------------------------------------
    def build_enum(self, name, s, comments=None):
        en = Enum(name, comments)
        seen_wire = set()
        seen_names = {enum_value_name(name, "UNSPECIFIED")}
        for v in s["enum"]:
            if v is None or str(v) in seen_wire:
                continue
            seen_wire.add(str(v))
            vn = enum_value_name(name, v)
            base = vn
            i = 2
            while vn in seen_names:
                vn = "%s_%d" % (base, i)
                i += 1
            seen_names.add(vn)
            en.values.append([vn, str(v), 0])
        self.enums[name] = en
        return en

    # ---- messages -----------------------------------------------------------------------
    def collect(self, s, props, required, extras):
        """Merge the object view of `s` (allOf members, properties + oneOf variants) into props."""
        s = self.spec.resolve(s)
        for sub in s.get("allOf", []):
            self.collect(sub, props, required, extras)
        for k, v in (s.get("properties") or {}).items():
            if k in props:
                a, b = self.spec.resolve(props[k]), self.spec.resolve(v)
                if a.get("enum") and b.get("enum"):
                    merged = copy.deepcopy(a)
                    merged["enum"] = list(a["enum"]) + [x for x in b["enum"] if x not in a["enum"]]
                    props[k] = merged
                continue
            props[k] = v
        required.update(s.get("required", []))
        ap = s.get("additionalProperties")
        if isinstance(ap, dict) and ap and s.get("properties"):
            extras.append(ap)
        if s.get("properties") and (s.get("oneOf") or s.get("anyOf")):
            # properties + oneOf (V2QueryParams): merged into one message; a property is
            # required when every variant requires it.
            variant_req = None
            for sub in s.get("oneOf") or s.get("anyOf"):
                vr = set()
                self.collect(sub, props, vr, extras)
                variant_req = vr if variant_req is None else variant_req & vr
            required.update(variant_req or ())

    def build_message(self, name, s, comments=None):
        s = self.spec.resolve(s)
        msg = Message(name, comments=comments)
        self.messages[name] = msg
        if (s.get("oneOf") or s.get("anyOf")) and not s.get("properties"):
            self.build_union(msg, s)
            return msg
        props, required, extras = {}, set(), []
        self.collect(s, props, required, extras)
        for prop, ps in props.items():
            self.add_property(msg, prop, ps, prop in required)
        if extras:
            # properties plus typed additionalProperties (V2ChartSegment): the named properties
            # are fields; every other key of the JSON object goes to the bare map field.
            val = self.unnest(self.map_schema(extras[0], name, "Entries"), name + "Entry")
            fname = msg.unique_field_name("entries")
            f = Field(fname, val.ptype, "map", rules={"bigint": True} if val.bigint else {},
                      comments=["Every other JSON key of the object."])
            msg.fields.append(f)
            msg.rules["bare_map_field"] = fname
        self.add_null_fields(msg)
        return msg

    def add_null_fields(self, msg):
        if any(f.rules.get("nullable") for f in msg.fields):
            name = "null_fields"
            assert name not in msg.field_names(), msg.name
            msg.fields.append(Field(name, "string", "repeated", comments=[
                "JSON names of the nullable properties that are explicitly null."]))
            msg.rules["null_fields_field"] = name

    def add_property(self, msg, prop, ps, required):
        rs = self.spec.resolve(ps)
        nullable = self.spec.nullable_along(ps)
        tref = self.map_schema(ps, msg.name, prop)
        fname = msg.unique_field_name(snake_case(prop))
        f = self.make_field(fname, tref, required=required, nullable=nullable)
        if lower_camel_default(fname) != prop:
            if is_json_name_ok(prop):
                f.json_name = prop
            else:
                f.rules["wire_name"] = prop
        facts = ['JSON "%s"' % prop]
        if required:
            facts.append("required")
        if nullable:
            facts.append("nullable")
        facts += schema_facts(ps if "$ref" not in ps else rs)
        f.comments.append("; ".join(facts) + ".")
        f.deprecated = bool(ps.get("deprecated"))
        msg.fields.append(f)
        return f

    def make_field(self, name, tref, required=False, nullable=False):
        rules = {}
        if tref.bigint:
            rules["bigint"] = True
        if required:
            rules["required"] = True
        if nullable:
            rules["nullable"] = True
        if tref.fmt:
            rules["format"] = tref.fmt
        label = ""
        if tref.container:
            label = tref.container
        elif tref.scalar and (not required or nullable):
            label = "optional"
        return Field(name, tref.ptype, label, rules=rules)

    def build_union(self, msg, s):
        variants = s.get("oneOf") or s.get("anyOf")
        msg.rules["union"] = True
        disc = s.get("discriminator") or {}
        by_ref = {}
        if disc:
            msg.rules["discriminator"] = disc["propertyName"]
            for value, ref in (disc.get("mapping") or {}).items():
                by_ref[ref] = value
        if s.get("anyOf"):
            msg.comments.append("anyOf: emitted as a union without discriminator.")
        for i, v in enumerate(variants):
            rules = {}
            if "$ref" in v and Spec.comp_name(v["$ref"]):
                c = Spec.comp_name(v["$ref"])
                tref = self.map_component(c)
                if disc:
                    dv = by_ref.get(v["$ref"], c)
                    rules["discriminator_value"] = dv
                    fname = snake_case(dv)
                else:
                    pn = self.comp_names[c]
                    strip = msg.name if pn.startswith(msg.name) and len(pn) > len(msg.name) else ""
                    fname = snake_case(pn[len(strip):])
            else:
                rv = self.spec.resolve(v)
                t = rv.get("type")
                if rv.get("properties") or rv.get("allOf") or rv.get("oneOf"):
                    nm = rv.get("x-speakeasy-name-override") or "%sVariant%d" % (msg.name, i + 1)
                    tref = TypeRef(self.build_message(self.new_name(nm), rv).name, scalar=False)
                    fname = snake_case(nm)
                elif t == "array":
                    tref, fname = TypeRef(LIST, scalar=False), "array_value"
                elif t == "object" or is_typed_map(rv) or is_free_object(rv):
                    tref = self.map_plain(rv, msg.name, "ObjectValue")
                    fname = "object_value"
                else:
                    tref = self.map_plain(rv, msg.name, "Value")
                    fname = {"string": "string_value", "integer": "integer_value", "number": "number_value",
                             "boolean": "bool_value"}.get(t, "value_%d" % (i + 1))
            tref = self.unnest(tref, msg.name + pascal_case(fname))
            f = self.make_field(msg.unique_field_name(fname), tref)
            f.label = ""
            f.oneof = True
            f.rules.update(rules)
            f.comments.append("Variant %d%s." % (i + 1, (": %s = \"%s\"" % (disc["propertyName"], rules["discriminator_value"])) if rules else ""))
            msg.fields.append(f)
