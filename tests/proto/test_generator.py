"""Unit tests of the proto generator (naming, type mapping, lock stability) on inline spec fragments."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "proto", "generator"))

from generate_protos import generate, package_of_path  # noqa: E402
from lock import FieldLock  # noqa: E402
from naming import enum_value_name, lower_camel_default, rpc_name, snake_case  # noqa: E402

GOOGLEAPIS = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"


def op(op_id, **kw):
    d = {"operationId": op_id, "responses": {"200": {"description": "OK"}},
         "security": [{"Authorization": ["ledger:read"]}]}
    d.update(kw)
    return d


def json_resp(schema, code="200"):
    return {code: {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def spec(paths, schemas):
    return {"openapi": "3.0.3", "paths": paths, "components": {"schemas": schemas}}


def message_block(text, name):
    m = re.search(r"^message %s \{\n(.*?)^\}" % re.escape(name), text, re.S | re.M)
    assert m, "message %s not found in:\n%s" % (name, text)
    return m.group(1)


def enum_block(text, name):
    m = re.search(r"^enum %s \{\n(.*?)^\}" % re.escape(name), text, re.S | re.M)
    assert m, "enum %s not found" % name
    return m.group(1)


POSTING = {
    "type": "object", "required": ["amount", "asset"],
    "properties": {
        "amount": {"type": "integer", "format": "bigint"},
        "asset": {"type": "string"},
        "accountID": {"type": "string", "format": "byte"},
        "count": {"type": "integer"},
        "small": {"type": "integer", "format": "int32"},
        "ratio": {"type": "number"},
        "at": {"type": "string", "format": "date-time"},
        "deletedAt": {"type": "string", "format": "date-time", "nullable": True},
        "metadata": ref("LedgerV2Metadata"),
        "raw": {"type": "object", "additionalProperties": True},
        "anything": {"description": "untyped"},
        "balances": {"type": "object", "additionalProperties": {"type": "integer", "format": "bigint"}},
        "volumes": {"type": "object", "additionalProperties": ref("LedgerV2Volumes")},
        "tags": {"type": "array", "items": {"type": "string"}},
        "status": ref("PaymentsConnector"),
        ".self": {"type": "object"},
    },
    "x-formance-module": "ledger", "x-formance-upstream-name": "V2Posting",
}
SCHEMAS = {
    "LedgerV2Posting": POSTING,
    "LedgerV2Metadata": {"type": "object", "additionalProperties": {"type": "string"},
                         "x-formance-upstream-name": "V2Metadata"},
    "LedgerV2Volume": {"type": "object", "properties": {"input": {"type": "integer", "format": "bigint"}},
                       "x-formance-upstream-name": "V2Volume"},
    "LedgerV2Volumes": {"type": "object", "additionalProperties": ref("LedgerV2Volume"),
                        "x-formance-upstream-name": "V2Volumes"},
    "PaymentsConnector": {"type": "string", "enum": ["DUMMY-PAY", "sepa debit", "FAILED", "FAILED"]},
    "Sub": {"discriminator": {"propertyName": "type", "mapping": {"ACCOUNT": "#/components/schemas/SubA",
                                                                  "WALLET": "#/components/schemas/SubB"}},
            "oneOf": [ref("SubA"), ref("SubB")]},
    "SubA": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"},
                                                                      "identifier": {"type": "string"}}},
    "SubB": {"type": "object", "required": ["type"], "properties": {"type": {"type": "string"},
                                                                      "id": {"type": "string"}}},
    "Merged": {"allOf": [ref("SubA"), {"type": "object", "required": ["extra"],
                                       "properties": {"extra": {"type": "boolean"}}}]},
}


def small_spec(schemas=None):
    return spec({
        "/api/ledger/v2/{ledger}/postings": {
            "post": op("v2CreatePosting", **{
                "x-speakeasy-name-override": "CreatePosting",
                "parameters": [
                    {"name": "ledger", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
                    {"name": "pageSize", "in": "query", "schema": {"type": "integer", "format": "int64"}},
                    {"name": "page_size", "in": "query", "deprecated": True, "schema": {"type": "integer"}},
                    {"name": "query", "in": "query", "content": {"application/json": {"schema": {
                        "type": "object", "additionalProperties": True}}}},
                    {"name": "metadata", "in": "query", "style": "deepObject", "explode": True,
                     "schema": {"type": "object", "additionalProperties": {"type": "string"}}},
                    {"name": "expand", "in": "query", "schema": {"type": "string", "items": {"type": "string"}}},
                ],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref("LedgerV2Posting")}}},
                "responses": dict(json_resp({"type": "object", "properties": {
                    "data": ref("LedgerV2Posting"), "subject": ref("Sub"), "merged": ref("Merged")}}),
                    default={"description": "err"}),
            }),
        },
        "/api/ledger/v2/{ledger}/metadata": {
            "put": op("v2PutMetadata", requestBody={"content": {"application/json": {"schema": ref("LedgerV2Metadata")}}},
                      responses={"204": {"description": "No content"}}),
        },
        "/api/ledger/_/metrics": {
            "get": op("getMetrics", responses=json_resp({"type": "object", "additionalProperties": {}})),
        },
    }, schemas or SCHEMAS)


class NamingTest(unittest.TestCase):
    def test_rpc_names(self):
        self.assertEqual(rpc_name({"operationId": "v2CreateTransaction"}), "CreateTransaction")
        self.assertEqual(rpc_name({"operationId": "getServerInfo_auth"}), "GetServerInfo")
        self.assertEqual(rpc_name({"operationId": "x", "x-speakeasy-name-override": "V1ListAccounts"}), "ListAccounts")
        self.assertEqual(rpc_name({"operationId": "v3GetPayment"}), "GetPayment")
        self.assertEqual(rpc_name({"operationId": "listAccounts_ledger"}), "ListAccounts")
        self.assertEqual(rpc_name({"operationId": "getOIDCWellKnowns"}), "GetOIDCWellKnowns")

    def test_snake_case(self):
        self.assertEqual(snake_case("accountID"), "account_id")
        self.assertEqual(snake_case("Idempotency-Key"), "idempotency_key")
        self.assertEqual(snake_case("pagination_token"), "pagination_token")
        self.assertEqual(snake_case(".self"), "dot_self")
        self.assertEqual(snake_case("V2PostTransaction"), "v2_post_transaction")
        self.assertEqual(snake_case("sourcePITs"), "source_pits")
        self.assertEqual(lower_camel_default("account_id"), "accountId")

    def test_enum_values(self):
        self.assertEqual(enum_value_name("PaymentsConnector", "DUMMY-PAY"), "PAYMENTS_CONNECTOR_DUMMY_PAY")
        self.assertEqual(enum_value_name("PaymentScheme", "sepa debit"), "PAYMENT_SCHEME_SEPA_DEBIT")
        self.assertEqual(enum_value_name("TemplateKind", "ledger_vs_pool_drift"), "TEMPLATE_KIND_LEDGER_VS_POOL_DRIFT")

    def test_package_of_path(self):
        self.assertEqual(package_of_path("/api/ledger/v2/{ledger}"), ("ledger", "v2"))
        self.assertEqual(package_of_path("/api/ledger/{ledger}/stats"), ("ledger", "v1"))
        self.assertEqual(package_of_path("/api/payments/v3/accounts"), ("payments", "v3"))
        self.assertEqual(package_of_path("/versions"), ("stack", "v1"))


class MappingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.files = generate(small_spec(), FieldLock())
        cls.models = cls.files["formance/ledger/v2/models.proto"]
        cls.service = cls.files["formance/ledger/v2/service.proto"]

    def test_scalar_types(self):
        b = message_block(self.models, "V2Posting")
        self.assertIn('string amount = 1 [(formance.gateway.v1.field) = {bigint: true, required: true}];', b)
        self.assertIn('string asset = 2 [(formance.gateway.v1.field) = {required: true}];', b)
        self.assertIn('optional string account_id = 3 [json_name = "accountID", (formance.gateway.v1.field) = {format: "byte"}];', b)
        self.assertIn("optional int64 count = 4;", b)
        self.assertIn("optional int32 small = 5;", b)
        self.assertIn("optional double ratio = 6;", b)
        self.assertIn('optional string at = 7 [(formance.gateway.v1.field) = {format: "date-time"}];', b)

    def test_nullable_and_null_fields(self):
        b = message_block(self.models, "V2Posting")
        self.assertRegex(b, r'optional string deleted_at = \d+ \[\(formance.gateway.v1.field\) = \{nullable: true, format: "date-time"\}\];')
        self.assertRegex(b, r"repeated string null_fields = \d+;")
        self.assertIn('option (formance.gateway.v1.message) = {null_fields_field: "null_fields"};', b)

    def test_maps_and_free_form(self):
        b = message_block(self.models, "V2Posting")
        self.assertRegex(b, r"map<string, string> metadata = \d+;")
        self.assertRegex(b, r"google.protobuf.Struct raw = \d+;")
        self.assertRegex(b, r"google.protobuf.Value anything = \d+;")
        self.assertRegex(b, r"map<string, string> balances = \d+ \[\(formance.gateway.v1.field\) = \{bigint: true\}\];")
        self.assertRegex(b, r"map<string, V2Volumes> volumes = \d+;")
        self.assertRegex(b, r"repeated string tags = \d+;")
        self.assertRegex(b, r'google.protobuf.Struct dot_self = \d+ \[\(formance.gateway.v1.field\) = \{wire_name: ".self"\}\];')
        w = message_block(self.models, "V2Volumes")
        self.assertIn('option (formance.gateway.v1.message) = {bare_map_field: "entries"};', w)
        self.assertIn("map<string, V2Volume> entries = 1;", w)

    def test_enum(self):
        e = enum_block(self.models, "PaymentsConnector")
        self.assertIn("PAYMENTS_CONNECTOR_UNSPECIFIED = 0;", e)
        self.assertIn('PAYMENTS_CONNECTOR_DUMMY_PAY = 1 [(formance.gateway.v1.wire_value) = "DUMMY-PAY"];', e)
        self.assertIn('PAYMENTS_CONNECTOR_SEPA_DEBIT = 2 [(formance.gateway.v1.wire_value) = "sepa debit"];', e)
        self.assertEqual(e.count("_FAILED ="), 1)

    def test_union_and_all_of(self):
        u = message_block(self.models, "Sub")
        self.assertIn('option (formance.gateway.v1.message) = {union: true, discriminator: "type"};', u)
        self.assertIn('SubA account = 1 [(formance.gateway.v1.field) = {discriminator_value: "ACCOUNT"}];', u)
        self.assertIn('SubB wallet = 2 [(formance.gateway.v1.field) = {discriminator_value: "WALLET"}];', u)
        self.assertIn("oneof value {", u)
        m = message_block(self.models, "Merged")
        self.assertIn("string type = 1 [(formance.gateway.v1.field) = {required: true}];", m)
        self.assertIn("optional string identifier = 2;", m)
        self.assertIn("bool extra = 3 [(formance.gateway.v1.field) = {required: true}];", m)

    def test_request(self):
        r = message_block(self.service, "CreatePostingRequest")
        self.assertIn("string ledger = 1;", r)
        self.assertIn('optional int64 page_size = 2 [(formance.gateway.v1.field) = {format: "int64"}];', r)
        self.assertIn('google.protobuf.Struct query = 4 [(formance.gateway.v1.field) = {query_style: QUERY_STYLE_JSON}];', r)
        self.assertIn('map<string, string> metadata = 5 [(formance.gateway.v1.field) = {query_style: QUERY_STYLE_DEEP_OBJECT}];', r)
        self.assertIn('repeated string expand = 6 [(formance.gateway.v1.field) = {query_style: QUERY_STYLE_COMMA}];', r)
        self.assertIn('optional string idempotency_key = 7 [(formance.gateway.v1.field) = {location: FIELD_LOCATION_HEADER, wire_name: "Idempotency-Key"}];', r)
        self.assertIn('optional int64 legacy_page_size = 3 [json_name = "page_size", deprecated = true, (formance.gateway.v1.field) = {location: FIELD_LOCATION_QUERY, wire_name: "page_size"}];', r)
        self.assertIn("V2Posting v2_posting = 8 [(formance.gateway.v1.field) = {required: true}];", r)
        self.assertIn('post: "/api/ledger/v2/{ledger}/postings"', self.service)
        self.assertIn('body: "v2_posting"', self.service)
        m = message_block(self.service, "PutMetadataRequest")
        self.assertIn("map<string, string> v2_metadata = 1;", m)

    def test_response(self):
        r = message_block(self.service, "CreatePostingResponse")
        self.assertIn("V2Posting data = 1;", r)
        self.assertIn("Sub subject = 2;", r)
        v1 = self.files["formance/ledger/v1/service.proto"]  # no operations.tsv here: path decides
        self.assertIn("google.protobuf.Struct result = 1;", message_block(v1, "GetMetricsResponse"))
        self.assertIn('response_body: "result"', v1)
        self.assertEqual(message_block(self.service, "PutMetadataResponse").strip(), "")
        self.assertIn("success_status: 204", self.service)

    @unittest.skipUnless(shutil.which("protoc") and os.path.isdir(GOOGLEAPIS), "protoc or googleapis missing")
    def test_compiles(self):
        with tempfile.TemporaryDirectory() as d:
            for rel, text in self.files.items():
                p = os.path.join(d, rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(text)
            subprocess.run(["protoc", "-I", d, "-I", os.path.join(REPO, "proto"), "-I", GOOGLEAPIS,
                            "-I", "/usr/include", "--descriptor_set_out=/dev/null"] + sorted(self.files),
                           cwd=d, check=True)


class LockTest(unittest.TestCase):
    def test_stability_and_reserved(self):
        lock = FieldLock()
        generate(small_spec(), lock)
        before = dict((k, v[0]) for k, v in lock.entries.items())
        text = lock.dumps()

        import copy
        schemas = copy.deepcopy(SCHEMAS)
        del schemas["LedgerV2Posting"]["properties"]["ratio"]
        schemas["LedgerV2Posting"]["properties"]["fresh"] = {"type": "string"}
        schemas["PaymentsConnector"]["enum"] = ["DUMMY-PAY", "FAILED", "NEW"]
        lock2 = FieldLock.load(None)
        lock2.entries = {k: list(v) for k, v in FieldLock.load_text(text).entries.items()}
        files = generate(small_spec(schemas), lock2)
        after = dict((k, v[0]) for k, v in lock2.entries.items())
        for k, n in before.items():
            self.assertEqual(after[k], n, k)  # nothing renumbered
        key = "formance.ledger.v2.V2Posting."
        self.assertTrue(lock2.entries[key + "ratio"][1])  # marked removed
        self.assertEqual(after[key + "fresh"], max(v for k, v in before.items() if k.startswith(key)) + 1)
        models = files["formance/ledger/v2/models.proto"]
        b = message_block(models, "V2Posting")
        self.assertIn("reserved %d;" % before[key + "ratio"], b)
        self.assertIn('reserved "ratio";', b)
        e = enum_block(models, "PaymentsConnector")
        self.assertIn('reserved "PAYMENTS_CONNECTOR_SEPA_DEBIT";', e)
        self.assertIn("PAYMENTS_CONNECTOR_NEW = 4", e)
        self.assertIn(" removed", lock2.dumps())
        # the removed field coming back gets its number again
        lock3 = FieldLock.load_text(lock2.dumps())
        generate(small_spec(), lock3)
        self.assertEqual(lock3.entries[key + "ratio"], [before[key + "ratio"], False])

    def test_lock_text_is_sorted(self):
        lock = FieldLock()
        generate(small_spec(), lock)
        lines = [l for l in lock.dumps().splitlines() if not l.startswith("#")]
        self.assertEqual(lines, sorted(lines))


ALIAS_SCHEMAS = {
    "Balance": {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string"}, "priority": {"type": "integer", "format": "bigint"}},
        "x-formance-module": "wallets"},
    # alias with annotation keys only
    "CreateBalanceRequest": {"$ref": "#/components/schemas/Balance", "description": "alias",
                             "x-formance-module": "wallets"},
    # chain: ChainOuter -> ChainInner -> Balance
    "ChainOuter": {"$ref": "#/components/schemas/ChainInner", "x-formance-module": "wallets"},
    "ChainInner": {"$ref": "#/components/schemas/Balance"},
    "Labels": {"type": "object", "additionalProperties": {"type": "string"}},
    "NullableLabels": {"$ref": "#/components/schemas/Labels", "nullable": True},
    "Holder": {"type": "object", "properties": {
        "prop": ref("ChainOuter"),
        "items": {"type": "array", "items": ref("CreateBalanceRequest")},
        "byName": {"type": "object", "additionalProperties": ref("ChainOuter")},
        "labels": ref("NullableLabels"),
        "pick": ref("Pick"),
    }},
    "Pick": {"oneOf": [ref("CreateBalanceRequest"), ref("Labels")]},
    "ListAlias": {"$ref": "#/components/schemas/BalanceList"},
    "BalanceList": {"type": "array", "items": ref("ChainInner")},
}


def alias_spec(schemas=None):
    return spec({
        "/api/wallets/balances": {
            "post": op("createBalance", requestBody={"content": {"application/json": {
                "schema": ref("CreateBalanceRequest")}}},
                responses=json_resp({"type": "object", "properties": {"data": ref("Holder")}})),
        },
        "/api/wallets/chain": {
            "put": op("putChain", requestBody={"required": True, "content": {"application/json": {
                "schema": ref("ChainOuter")}}}, responses=json_resp(ref("ListAlias"))),
        },
    }, schemas or ALIAS_SCHEMAS)


class AliasTest(unittest.TestCase):
    """A component that is only `$ref` to another one maps to the referenced type, never
    google.protobuf.Value (CreateBalanceRequest = $ref Balance lost Balance.priority's bigint)."""

    @classmethod
    def setUpClass(cls):
        cls.files = generate(alias_spec(), FieldLock())
        cls.models = cls.files["formance/wallets/v1/models.proto"]
        cls.service = cls.files["formance/wallets/v1/service.proto"]

    def test_no_value_fallback(self):
        for rel, text in self.files.items():
            self.assertNotIn("google.protobuf.Value", text, rel)
            self.assertNotIn("google.protobuf.Struct", text, rel)

    def test_body_alias(self):
        r = message_block(self.service, "CreateBalanceRequest")
        self.assertIn("Balance create_balance_request = 1;", r)
        self.assertIn("schema CreateBalanceRequest (alias of Balance)", r)
        self.assertIn('body: "create_balance_request"', self.service)
        b = message_block(self.models, "Balance")
        self.assertRegex(b, r"optional string priority = \d+ \[\(formance.gateway.v1.field\) = \{bigint: true\}\];")

    def test_chain_body(self):
        r = message_block(self.service, "PutChainRequest")
        self.assertIn("Balance chain_outer = 1 [(formance.gateway.v1.field) = {required: true}];", r)
        self.assertIn("schema ChainOuter (alias of Balance)", r)

    def test_properties_items_map_values_union(self):
        h = message_block(self.models, "Holder")
        self.assertRegex(h, r"\n  Balance prop = \d+;")
        self.assertRegex(h, r"repeated Balance items = \d+;")
        self.assertRegex(h, r"map<string, Balance> by_name = \d+;")
        # alias of a named map: the map itself; the alias's nullable carries over
        self.assertRegex(h, r"map<string, string> labels = \d+ \[\(formance.gateway.v1.field\) = \{nullable: true\}\];")
        u = message_block(self.models, "Pick")
        self.assertIn("Balance create_balance_request_body = 1;", u)  # member named after the alias
        self.assertRegex(u, r"Labels labels = 2;")  # named map as a oneof member: wrapper message
        self.assertIn("map<string, string> entries = 1;", message_block(self.models, "Labels"))

    def test_alias_response_result(self):
        r = message_block(self.service, "PutChainResponse")
        self.assertIn("repeated Balance result = 1;", r)
        self.assertIn("schema ListAlias (alias of BalanceList)", r)

    def test_no_message_for_alias(self):
        for alias in ("CreateBalanceRequestBody", "ChainOuter", "ChainInner", "NullableLabels"):
            self.assertNotRegex(self.models, r"(?m)^message %s \{" % alias)

    def test_alias_loop_is_an_error(self):
        import copy
        schemas = copy.deepcopy(ALIAS_SCHEMAS)
        schemas["ChainInner"] = {"$ref": "#/components/schemas/ChainOuter"}
        with self.assertRaises(ValueError):
            generate(alias_spec(schemas), FieldLock())

    def test_field_numbers_kept_when_type_changes(self):
        # a lock written while the body was google.protobuf.Value keeps the field's number
        lock = FieldLock.load_text("formance.wallets.v1.CreateBalanceRequest.create_balance_request = 7\n")
        files = generate(alias_spec(), lock)
        r = message_block(files["formance/wallets/v1/service.proto"], "CreateBalanceRequest")
        self.assertIn("Balance create_balance_request = 7;", r)
        self.assertNotIn(" removed", lock.dumps())

    @unittest.skipUnless(shutil.which("protoc") and os.path.isdir(GOOGLEAPIS), "protoc or googleapis missing")
    def test_compiles(self):
        compile_files(self.files)


def compile_files(files):
    with tempfile.TemporaryDirectory() as d:
        for rel, text in files.items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        subprocess.run(["protoc", "-I", d, "-I", os.path.join(REPO, "proto"), "-I", GOOGLEAPIS,
                        "-I", "/usr/include", "--descriptor_set_out=/dev/null"] + sorted(files),
                       cwd=d, check=True)



def cursor_spec(extra_param=None):
    params = [{"name": "ledger", "in": "path", "required": True, "schema": {"type": "string"}},
              {"name": "pageSize", "in": "query", "schema": {"type": "integer", "format": "int64"}},
              {"name": "cursor", "in": "query", "schema": {"type": "string"}},
              {"name": "pit", "in": "query", "schema": {"type": "string", "format": "date-time"}}]
    if extra_param:
        params.insert(1, extra_param)
    page = {"type": "object", "required": ["cursor"], "properties": {"cursor": {
        "type": "object", "required": ["data", "hasMore"], "properties": {
            "hasMore": {"type": "boolean"}, "next": {"type": "string"},
            "data": {"type": "array", "items": ref("LedgerV2Volume")}}}}}
    return spec({
        "/api/ledger/v2/{ledger}/volumes": {"get": op("v2ListVolumes", parameters=params, responses=json_resp(page))},
        # Not a cursor list: no cursor parameter.
        "/api/ledger/v2/{ledger}/plain": {"get": op("v2ListPlain", parameters=params[:1], responses=json_resp(page))},
    }, {"LedgerV2Volume": SCHEMAS["LedgerV2Volume"]})


class StreamTest(unittest.TestCase):
    def test_stream_beside_a_cursor_list(self):
        lock = FieldLock()
        files = generate(cursor_spec(), lock)
        svc = files["formance/ledger/v2/service.proto"]
        self.assertIn("rpc StreamVolumes(StreamVolumesRequest) returns (stream StreamVolumesResponse) {", svc)
        self.assertNotIn("StreamPlain", svc)
        self.assertIn('list_rpc: "ListVolumes"', svc)
        self.assertIn('pit_field: "pit"', svc)
        self.assertIn('has_more_field: "cursor.has_more"', svc)
        rpc = re.search(r"rpc StreamVolumes\(.*?\n  \}", svc, re.S).group(0)
        self.assertNotIn("google.api.http", rpc)
        self.assertEqual(message_block(svc, "StreamVolumesRequest"), message_block(svc, "ListVolumesRequest"))
        resp = message_block(svc, "StreamVolumesResponse")
        self.assertIn("V2Volume item = 1;", resp)
        self.assertIn("string cursor = 2;", resp)
        self.assertGreater(lock.entries["formance.ledger.v2.LedgerService/StreamVolumes"][0],
                           lock.entries["formance.ledger.v2.LedgerService/ListPlain"][0])

    def test_stream_request_numbers_follow_the_list_and_stay_locked(self):
        lock = FieldLock()
        generate(cursor_spec(), lock)
        text = lock.dumps()
        # The list gains a parameter before the others: its new field gets the next number,
        # and the stream's copy gets that same number; nothing else moves.
        lock2 = FieldLock.load_text(text)
        files = generate(cursor_spec({"name": "sort", "in": "query", "schema": {"type": "string"}}), lock2)
        svc = files["formance/ledger/v2/service.proto"]
        self.assertEqual(message_block(svc, "StreamVolumesRequest"), message_block(svc, "ListVolumesRequest"))
        self.assertIn("optional string sort = 5;", message_block(svc, "StreamVolumesRequest"))
        for k, (n, _) in FieldLock.load_text(text).entries.items():
            self.assertEqual(lock2.entries[k][0], n, k)

    def test_export_streams_its_body(self):
        doc = spec({"/api/ledger/v2/{ledger}/logs/export": {"post": op("v2ExportLogs", parameters=[
            {"name": "ledger", "in": "path", "required": True, "schema": {"type": "string"}}],
            responses={"200": {"description": "OK"}, "default": {"description": "the export",
                                                                 "content": {"*/*": {"schema": {
                                                                     "type": "string", "format": "binary"}}}}})}},
            {})
        svc = generate(doc, FieldLock())["formance/ledger/v2/service.proto"]
        self.assertIn("rpc StreamExportLogs(StreamExportLogsRequest) returns (stream StreamExportLogsResponse) {",
                      svc)
        self.assertIn('stream: {list_rpc: "ExportLogs", raw_body: true}', svc)
        self.assertIn("bytes chunk = 1;", message_block(svc, "StreamExportLogsResponse"))
        self.assertEqual(message_block(svc, "StreamExportLogsRequest"), message_block(svc, "ExportLogsRequest"))

    def test_stream_compiles(self):
        files = generate(cursor_spec(), FieldLock())
        with tempfile.TemporaryDirectory() as d:
            for rel, text in files.items():
                p = os.path.join(d, rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(text)
            subprocess.run(["protoc", "-I", d, "-I", os.path.join(REPO, "proto"), "-I", GOOGLEAPIS,
                            "-I", "/usr/include", "--descriptor_set_out=/dev/null"] + sorted(files),
                           cwd=d, check=True)


if __name__ == "__main__":
    unittest.main()
