#!/usr/bin/env python3
"""Writes the committed seed corpora of the libFuzzer targets (server/*/fuzz_corpus/<target>/).

Run it again after changing a seed below, or when the API's methods change (the transcoding
seeds start with the index of their method in gRPC method-name order, as the fuzzers pick it):

    python3 tests/fuzz/make_seeds.py [build dir holding formance_api.binpb, default build-fuzz]

Request seeds are text-format messages encoded by `protoc --encode` against the embedded
descriptor set. Every seed file is named after its content's meaning; the fuzzers add their
own findings only to the temporary copies run_fuzzers.sh makes.
"""

import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def grpc_methods():
    """Every "/package.Service/Method" of proto/formance (the gateway's own options excluded),
    sorted as the fuzzers sort them (byte order)."""
    methods = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "proto", "formance")):
        for name in files:
            if not name.endswith(".proto"):
                continue
            text = open(os.path.join(dirpath, name), encoding="utf-8").read()
            package = re.search(r"^package\s+([\w.]+)\s*;", text, re.M).group(1)
            if package.startswith("formance.gateway.") or package.startswith("google."):
                continue
            for service in re.finditer(r"^service\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
                # Stream rpcs have no route of their own: the fuzzers never see them.
                for rpc in re.finditer(r"^\s*rpc\s+(\w+)\s*\([^)]*\)\s*returns\s*\((?!stream )",
                                       service.group(2), re.M):
                    methods.append(f"/{package}.{service.group(1)}/{rpc.group(1)}")
    return sorted(methods, key=lambda m: m.encode())


METHODS = grpc_methods()


def pick(method):
    """The 2-byte prefix that selects `method` ("formance.ledger.v2.LedgerService/GetAccount")."""
    index = METHODS.index("/" + method)
    return bytes([index >> 8, index & 0xFF])


def encode(descriptor_set, message_type, text):
    return subprocess.run(
        ["protoc", f"--descriptor_set_in={descriptor_set}", f"--encode={message_type}"],
        input=text.encode(), stdout=subprocess.PIPE, check=True).stdout


def write_corpus(rel_dir, seeds):
    out = os.path.join(ROOT, rel_dir)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())
    print(f"{rel_dir}: {len(seeds)} seeds, {sum(len(d) for d in seeds.values())} bytes")


LEDGER = "formance.ledger.v2.LedgerService/"
BIG = "340282366920938463463374607431768211457"  # 2^128 + 1.

# (file name, method, request type, text format)
REQUESTS = [
    ("ledger_v2_create_transaction", LEDGER + "CreateTransaction",
     "formance.ledger.v2.CreateTransactionRequest",
     'ledger: "main" idempotency_key: "tx-0001" dry_run: true '
     'v2_post_transaction { postings { amount: "' + BIG + '" asset: "USD/2" '
     'source: "world" destination: "users:001" } metadata { key: "ref" value: "order-1" } '
     'reference: "ref-1" timestamp: "2024-01-02T03:04:05Z" }'),
    ("ledger_v2_get_account", LEDGER + "GetAccount", "formance.ledger.v2.GetAccountRequest",
     'ledger: "main" address: "users:001" expand: "volumes" expand: "effectiveVolumes"'),
    ("ledger_v2_get_account_dot_dot", LEDGER + "GetAccount", "formance.ledger.v2.GetAccountRequest",
     'ledger: "main" address: ".."'),
    ("ledger_v2_list_accounts", LEDGER + "ListAccounts", "formance.ledger.v2.ListAccountsRequest",
     'ledger: "main" page_size: 15 cursor: "YXVsdA==" sort: "address:asc" '
     'query { fields { key: "$match" value { struct_value { fields { key: "address" '
     'value { string_value: "users:" } } } } } }'),
    ("ledger_v2_add_metadata_to_account", LEDGER + "AddMetadataToAccount",
     "formance.ledger.v2.AddMetadataToAccountRequest",
     'ledger: "main" address: "users:001" idempotency_key: "md-1" '
     'v2_metadata { key: "tier" value: "gold" }'),
    ("ledger_v2_create_ledger", LEDGER + "CreateLedger", "formance.ledger.v2.CreateLedgerRequest",
     'ledger: "main" v2_create_ledger_request { bucket: "b1" features { key: "HASH_LOGS" '
     'value: "SYNC" } }'),
    ("auth_delete_secret", "formance.auth.v1.AuthService/DeleteSecret",
     "formance.auth.v1.DeleteSecretRequest", 'client_id: "c1" secret_id: "s 1/2"'),
    ("wallets_create_wallet", "formance.wallets.v1.WalletsService/CreateWallet",
     "formance.wallets.v1.CreateWalletRequest",
     'idempotency_key: "w-1" create_wallet_request { name: "main" metadata { key: "owner" '
     'value: "ünïcode ✓" } }'),
]

# (file name, method, flags byte, body): flags bit 0 = status 204, bit 1 = first line is the
# value of the response's header fields.
RESPONSES = [
    ("ledger_v2_get_account", LEDGER + "GetAccount", 0,
     '{"data":{"address":"users:001","metadata":{"tier":"gold"},'
     '"volumes":{"USD/2":{"input":' + BIG + ',"output":0,"balance":' + BIG + '}},'
     '"insertionDate":"2024-01-02T03:04:05Z"}}'),
    ("ledger_v2_list_accounts", LEDGER + "ListAccounts", 0,
     '{"cursor":{"pageSize":15,"hasMore":true,"next":"YXVsdA==",'
     '"data":[{"address":"world","metadata":{}},{"address":"users:001","metadata":{"a":"b"}}]}}'),
    ("ledger_v2_create_transaction_hit", LEDGER + "CreateTransaction", 2,
     'true\n{"data":{"id":42,"postings":[{"amount":100,"asset":"USD/2","destination":"users:001",'
     '"source":"world"}],"metadata":{},"timestamp":"2024-01-02T03:04:05Z","reverted":false,'
     '"insertedAt":"2024-01-02T03:04:05Z","postCommitVolumes":{"world":{"USD/2":{"input":0,'
     '"output":100,"balance":-100}}}}}'),
    ("ledger_v2_get_info", LEDGER + "GetInfo", 0,
     '{"server":"ledger","version":"v2.2.0"}'),
    ("ledger_v2_get_metrics_raw", LEDGER + "GetMetrics", 0, '{"go_goroutines":{"value":12}}'),
    ("auth_delete_secret_204", "formance.auth.v1.AuthService/DeleteSecret", 1, ""),
    ("wallets_create_wallet", "formance.wallets.v1.WalletsService/CreateWallet", 0,
     '{"data":{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","name":"main","metadata":{},'
     '"createdAt":"2024-01-02T03:04:05Z","ledger":"wallets-002"}}'),
]

# (file name, method, HTTP status, body[, Location header])
ERRORS = [
    ("validation_400", LEDGER + "CreateTransaction", 400,
     '{"errorCode":"VALIDATION","errorMessage":"x"}'),
    ("insufficient_fund_400", LEDGER + "CreateTransaction", 400,
     '{"errorCode":"INSUFFICIENT_FUND","errorMessage":"account had insufficient funds",'
     '"details":"https://play.numscript.org/?payload=eyJlcnJvciI6ImFjY291bnQgaGFkIGluc3VmZmljaWVudCBmdW5kcyJ9"}'),
    ("ledger_exists_409", LEDGER + "CreateLedger", 409,
     '{"errorCode":"LEDGER_ALREADY_EXISTS","errorMessage":"ledger main already exists"}'),
    ("not_found_404", LEDGER + "GetAccount", 404,
     '{"errorCode":"NOT_FOUND","errorMessage":"account not found"}'),
    ("bulk_400_declared", LEDGER + "CreateBulk", 400,
     '{"errorCode":"VALIDATION","errorMessage":"element 1 failed","data":[{"responseType":'
     '"ERROR","errorCode":"VALIDATION","errorDescription":"missing postings"}]}'),
    ("details_object_422", "formance.payments.v3.PaymentsService/CreatePayment", 422,
     '{"errorCode":"VALIDATION","errorMessage":"bad amount","details":{"field":"amount",'
     '"max":1e3,"ok":[true,null]}}'),
    ("plain_text_500", LEDGER + "GetInfo", 500, "internal error\n"),
    ("empty_503", "formance.wallets.v1.WalletsService/CreateWallet", 503, ""),
    ("redirect_302", LEDGER + "CreateTransaction", 302, "",
     "https://login.example.com/authorize?next=%2Fapi%2Fledger"),
    ("rate_limited_429", "formance.auth.v1.AuthService/DeleteSecret", 429,
     '{"errorMessage":"slow down"}'),
]

# Path templates: the first line is the template, each further line one variable's value.
TEMPLATES = {
    "ledger_account": "/api/ledger/v2/{ledger}/accounts/{address}\nmain\nusers:001",
    "auth_secret_dot_dot": "/api/auth/clients/{client_id}/secrets/{secret_id}\nc\n..",
    "search_trailing_slash": "/api/search/\n",
    "ledger_revert_bigint": f"/api/ledger/v2/{{ledger}}/transactions/{{id}}/revert\nmain\n{BIG}",
    "payments_connector_reserved": "/api/payments/v3/connectors/{connector_id}\nstripe a/b?c#d%2F",
    "wallets_balance_missing": "/api/wallets/wallets/{id}/balances/{balance_name}\nw1",
    "raw_bytes": b"/api/ledger/v2/{ledger}\n\xc3\xa9\x00\xff\r\n",
    "nested_field_path": "/api/{a.b}",
    "sub_template": "/v1/{name=**}",
    "not_whole_segment": "/v{version}/x\n2",
    "duplicate_variable": "/{a}/{a}\nx\ny",
    "unbalanced": "/api/{ledger\n",
}

CONFIGS = {
    "minimal.yaml": "listen: \"unix:/run/fgw.sock\"\nupstream:\n  url: https://acme.sandbox.formance.cloud\n",
    "client_credentials.yaml":
        "upstream:\n  url: \"https://acme.eu-west-1.formance.cloud\"\n  request_timeout: 2s\n"
        "auth:\n  mode: client_credentials\n  client_id: gateway\n"
        "  client_secret_file: /run/secrets/formance\n  refresh_ahead: 30s\n",
    "cache_rules.yaml":
        "cache:\n  max_entries: 100\n  rules:\n"
        "    - method: \"formance.ledger.v2.LedgerService/GetLedger\"\n      ttl: \"30s\"\n"
        "    - {method: \"formance.ledger.v2.*\", ttl: 1m30s}\n",
    "errors.yaml":
        "listen: [1, 2]\nupstream: {url: ftp://x, timeout: 3s}\nretry:\n  max_attempts: x\n"
        "  multiplier: 99\nauth:\n  client_secret: hunter2\n",
    "anchors.yaml":
        "base: &u {url: \"http://localhost\"}\nupstream: *u\nretry: &r\n  max_attempts: 2\n"
        "cache: {rules: [*r, *r]}\n",
}


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build-fuzz"
    descriptor_set = os.path.join(ROOT, build, "formance_api.binpb")
    if not os.path.exists(descriptor_set):
        sys.exit(f"{descriptor_set}: missing (configure and build the fuzzers first)")
    if len(METHODS) != 276:
        print(f"note: {len(METHODS)} methods (expected 276)")

    write_corpus("server/transcoding/fuzz_corpus/request_encoder_fuzzer", {
        name: pick(method) + encode(descriptor_set, type_, text)
        for name, method, type_, text in REQUESTS})
    write_corpus("server/transcoding/fuzz_corpus/response_decoder_fuzzer", {
        name: pick(method) + bytes([flags]) + body.encode()
        for name, method, flags, body in RESPONSES})
    errors = {}
    for name, method, status, body, *location in ERRORS:
        word = status | (0x8000 if location else 0)
        head = "".join(line + "\n" for line in location)
        errors[name] = pick(method) + bytes([word >> 8, word & 0xFF]) + (head + body).encode()
    write_corpus("server/transcoding/fuzz_corpus/error_mapper_fuzzer", errors)
    write_corpus("server/routing/fuzz_corpus/path_template_fuzzer",
                 {name: text if isinstance(text, bytes) else text.encode()
                  for name, text in TEMPLATES.items()})
    # The example's keys and values, without its comments (70% of its bytes): the fuzzer runs
    # yaml-cpp, whose cost grows with the input, and -max_len stays at 2 KiB.
    configs = dict(CONFIGS)
    example = open(os.path.join(ROOT, "config", "gateway.example.yaml"), encoding="utf-8")
    configs["gateway.example.yaml"] = "".join(
        line for line in example if line.strip() and not line.lstrip().startswith("#"))
    write_corpus("server/config/fuzz_corpus/config_loader_fuzzer", configs)


if __name__ == "__main__":
    main()
