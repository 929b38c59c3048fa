"""Maps the operations of one package onto rpcs with request/response messages."""
from model import Field, Message, Rpc, TypeRef
from naming import is_json_name_ok, lower_camel_default, rpc_name, snake_case
from schema_mapper import STRUCT, Spec, is_free_object, is_typed_map, schema_facts

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")
COMMA_EXPAND_MODULES = ("ledger", "wallets")


def success_codes(op):
    return [str(c) for c in op["responses"] if str(c).startswith("2")]


def security_scopes(op):
    """(scopes, no_security)."""
    sec = op.get("security")
    scopes = []
    for req in sec or []:
        for _, sc in (req or {}).items():
            for x in sc or []:
                if x not in scopes:
                    scopes.append(x)
    empty = not sec or all(not req for req in sec)
    return scopes, empty


def json_schema_of(spec, response):
    r = spec.resolve(response)
    content = r.get("content") or {}
    if "application/json" in content:
        return content["application/json"].get("schema", {})
    return None


class ServiceMapper:
    def __init__(self, spec, pm, package, module):
        self.spec = spec
        self.pm = pm
        self.package = package
        self.module = module
        self.rpcs = []

    # ---- parameters ---------------------------------------------------------------------
    def params_of(self, path_item, op):
        out = {}
        for p in path_item.get("parameters", []) + op.get("parameters", []):
            p = self.spec.resolve(p)
            out[(p["name"], p["in"])] = p
        order = {"path": 0, "query": 1, "header": 2, "cookie": 3}
        return sorted(out.values(), key=lambda p: order[p["in"]])

    def add_param(self, req, p, fname, rpc):
        where = p["in"]
        name = p["name"]
        required = bool(p.get("required")) or where == "path"
        rules = {}
        facts = ["%s parameter \"%s\"" % (where, name)]
        if "content" in p:  # `query` filters: JSON text in the query string
            tref = TypeRef(STRUCT, scalar=False)
            rules["query_style"] = "QUERY_STYLE_JSON"
            facts.append("JSON-encoded")
        else:
            s = p.get("schema") or {}
            rs = self.spec.resolve(s)
            if where == "query" and p.get("style") == "deepObject":
                tref = TypeRef("string", "map", scalar=False)
                rules["query_style"] = "QUERY_STYLE_DEEP_OBJECT"
                facts.append("deepObject")
            elif where == "query" and (rs.get("type") == "string" and "items" in rs
                                       or (name == "expand" and self.module in COMMA_EXPAND_MODULES)):
                tref = TypeRef("string", "repeated", scalar=False)
                rules["query_style"] = "QUERY_STYLE_COMMA"
                facts.append("comma-joined")
            else:
                tref = self.pm.map_schema(s, req.name, fname)
                if tref.container == "map" and where == "query":
                    rules["query_style"] = "QUERY_STYLE_DEEP_OBJECT"
            facts += schema_facts(rs)
        f = self.pm.make_field(fname, tref, required=required)
        if where == "path":
            f.rules.pop("required", None)
        f.rules.update(rules)
        if where == "header":
            f.rules["location"] = "FIELD_LOCATION_HEADER"
            f.rules["wire_name"] = name
        elif lower_camel_default(fname) != name:
            if is_json_name_ok(name):
                f.json_name = name
            if where == "query":
                f.rules["location"] = "FIELD_LOCATION_QUERY"
                f.rules["wire_name"] = name
        if required:
            facts.append("required")
        if p.get("x-speakeasy-ignore"):
            facts.append("hidden by the SDK (x-speakeasy-ignore)")
        f.deprecated = bool(p.get("deprecated"))
        f.comments.append("; ".join(facts) + ".")
        req.fields.append(f)
        return f

    # ---- operations ---------------------------------------------------------------------
    def add_operation(self, path, method, path_item, op, name, sdk_function):
        req = Message(name + "Request", file="service")
        resp = Message(name + "Response", file="service")
        rpc = Rpc(name, method, path, req, resp)
        rpc.deprecated = bool(op.get("deprecated"))
        scopes, no_sec = security_scopes(op)

        # parameters: plain names first so that deprecated aliases get the prefixed name
        params = self.params_of(path_item, op)
        names = {}
        taken = set()
        for p in sorted(params, key=lambda p: bool(p.get("deprecated") or p.get("x-speakeasy-ignore"))):
            base = snake_case(p["name"])
            n = base
            if n in taken:
                n = "legacy_" + base if (p.get("deprecated") or p.get("x-speakeasy-ignore")) else base + "_" + p["in"]
            while n in taken:
                n += "_"
            taken.add(n)
            names[id(p)] = n
        template = path
        for p in params:
            f = self.add_param(req, p, names[id(p)], rpc)
            if p["in"] == "path":
                template = template.replace("{%s}" % p["name"], "{%s}" % f.name)
        rpc.path = template

        rules = {"operation_id": op["operationId"], "module": self.module}
        if scopes:
            rules["oauth2_scopes"] = scopes
        if no_sec:
            rules["no_security"] = True

        # body
        rb = op.get("requestBody")
        if rb:
            rb = self.spec.resolve(rb)
            ctype, media = next(iter(rb["content"].items()))
            s = media.get("schema") or {}
            comp = Spec.comp_name(s.get("$ref", "")) if "$ref" in s else None
            fname = snake_case(self.pm.base_name(comp)) if comp else "request_body"
            if fname in req.field_names():
                fname += "_body"
            if ctype != "application/json":
                rules["request_content_type"] = ctype
                tref = TypeRef("bytes", scalar=False)
            elif comp:
                tref = self.pm.map_component(comp)
            else:
                tref = self.pm.map_schema(s, name + "Request", "Body")
            f = self.pm.make_field(fname, tref, required=bool(rb.get("required")))
            if f.label == "optional":
                f.label = ""
            f.comments.append("Request body (%s)%s%s." % (ctype, "; schema %s" % self.schema_label(comp) if comp else "",
                                                          "; required" if rb.get("required") else ""))
            req.fields.append(f)
            rpc.body = f.name

        # responses
        codes = success_codes(op)
        rules["success_status"] = [int(c) for c in codes]
        any_json = False
        for code, r in op["responses"].items():
            if json_schema_of(self.spec, r) is not None:
                any_json = True
        for code in codes:
            r = op["responses"][code] if code in op["responses"] else op["responses"][int(code)]
            s = json_schema_of(self.spec, r)
            if s is not None:
                self.add_response_body(rpc, s, code)
            for h, hdef in (self.spec.resolve(r).get("headers") or {}).items():
                self.add_response_header(resp, h, self.spec.resolve(hdef))
        if not any_json and method != "head" and any(c != "204" for c in codes):
            rules["accept"] = "*/*"
            f = Field("content", "bytes", comments=["The raw response body."])
            resp.fields.append(f)
            rpc.response_body = "content"
        self.pm.add_null_fields(resp)

        declared = []
        for code, r in op["responses"].items():
            code = str(code)
            if code == "default" or code.startswith("2") or not code.isdigit():
                continue
            s = json_schema_of(self.spec, r)
            if s is None:
                continue
            tref = self.pm.map_schema(s, name, "Status" + code)
            declared.append({"status": int(code), "message_type": "%s.%s" % (self.package, tref.ptype)})
        if declared:
            rules["declared_responses"] = declared
        rules["sdk_method"] = sdk_function or ""
        if not sdk_function:
            rules.pop("sdk_method")
        rpc.rules = rules
        rpc.comments = ["%s %s" % (method.upper(), path), "operationId: %s" % op["operationId"]]
        rpc.comments.append("Scopes: %s" % (", ".join(scopes) if scopes else "none (no security)"))
        if sdk_function:
            rpc.comments.append("SDK: %s" % sdk_function)
        else:
            rpc.comments.append("Not in the official SDK (x-formance-not-in-sdk).")
        if rpc.deprecated:
            rpc.comments.append("Deprecated.")
        self.rpcs.append(rpc)
        return rpc

    def schema_label(self, comp):
        """`Comp`, or `Comp (alias of Target)` for an alias component."""
        if comp is None:
            return None
        target = self.spec.alias_target(comp)
        return comp if target == comp else "%s (alias of %s)" % (comp, target)

    def add_response_body(self, rpc, s, code):
        resp = rpc.response
        rs = self.spec.resolve(s)
        objectish = (rs.get("properties") or rs.get("allOf")) and not (rs.get("oneOf") or rs.get("anyOf"))
        if objectish:
            props, required, extras = {}, set(), []
            self.pm.collect(rs, props, required, extras)
            for prop, ps in props.items():
                if snake_case(prop) in resp.field_names():
                    continue  # same property from another 2xx body
                f = self.pm.add_property(resp, prop, ps, prop in required)
                f.comments[-1] = f.comments[-1][:-1] + "; status %s." % code
            return
        if rpc.response_body:
            return
        tref = self.pm.map_schema(s, resp.name, "Result")
        f = self.pm.make_field("result", tref)
        if f.label == "optional":
            f.label = ""
        f.comments.append("The whole JSON body of status %s%s." % (
            code, "; schema %s" % self.schema_label(Spec.comp_name(s["$ref"])) if "$ref" in s else ""))
        resp.fields.append(f)
        rpc.response_body = "result"

    def add_response_header(self, resp, header, hdef):
        s = hdef.get("schema") or {"type": "string"}
        tref = self.pm.map_plain(s, resp.name, header)
        fname = snake_case(header)
        if fname in resp.field_names():
            fname += "_header"
        f = self.pm.make_field(fname, tref)
        f.rules["location"] = "FIELD_LOCATION_HEADER"
        f.rules["wire_name"] = header
        f.comments.append("; ".join(["Response header \"%s\"" % header] + schema_facts(s)) + ".")
        resp.fields.append(f)
