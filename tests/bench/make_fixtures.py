#!/usr/bin/env python3
"""Writes the fixed Formance ledger v2 replies the benchmark's nginx serves.

Shapes follow /work/shared/formance/stack.openapi.yaml (LedgerV2AccountResponse,
LedgerV2CreateTransactionResponse, V2TransactionsCursorResponse). Amounts, balances and volumes are
big integers written as bare JSON numbers beyond 2^64, as a real ledger can send them.
Deterministic: the same files on every run.  Usage: make_fixtures.py <out dir>
"""
import json
import os
import sys

BIG = 2**128 + 1              # 340282366920938463463374607431768211457
HUGE = 10**40 + 7


def volume(i, o):
    return {"input": i, "output": o, "balance": i - o}


def account():
    vols = {
        "USD/2": volume(BIG, 12345678901234567890),
        "EUR/2": volume(HUGE, 99),
        "COIN": volume(100, 20),
    }
    return {"data": {
        "address": "users:001",
        "metadata": {"tier": "gold", "country": "FR", "kyc": "verified"},
        "insertionDate": "2024-05-01T10:00:00.123456Z",
        "updatedAt": "2024-06-01T10:00:00Z",
        "firstUsage": "2024-05-01T10:00:00.123456Z",
        "volumes": vols,
        "effectiveVolumes": vols,
    }}


def transaction(tx_id, with_volumes=False):
    amount = BIG + tx_id
    tx = {
        "id": 10**20 + tx_id,  # Beyond int64 on purpose.
        "timestamp": "2024-06-01T10:%02d:%02dZ" % (tx_id // 60 % 60, tx_id % 60),
        "insertedAt": "2024-06-01T10:%02d:%02d.5Z" % (tx_id // 60 % 60, tx_id % 60),
        "updatedAt": "2024-06-01T10:%02d:%02d.5Z" % (tx_id // 60 % 60, tx_id % 60),
        "postings": [
            {"source": "world", "destination": "users:%03d" % (tx_id % 1000),
             "amount": amount, "asset": "USD/2"},
            {"source": "users:%03d" % (tx_id % 1000), "destination": "fees",
             "amount": 25, "asset": "USD/2"},
        ],
        "reference": "ref:%06d" % tx_id,
        "metadata": {"order": "order-%d" % tx_id, "channel": "web"},
        "reverted": False,
    }
    if with_volumes:
        after = {
            "world": {"USD/2": {"input": 0, "output": amount, "balance": -amount}},
            "users:%03d" % (tx_id % 1000): {"USD/2": volume(amount, 25)},
            "fees": {"USD/2": volume(25, 0)},
        }
        before = {
            "world": {"USD/2": {"input": 0, "output": 0, "balance": 0}},
            "users:%03d" % (tx_id % 1000): {"USD/2": volume(0, 0)},
            "fees": {"USD/2": volume(0, 0)},
        }
        tx["preCommitVolumes"] = before
        tx["postCommitVolumes"] = after
    return tx


def page(size):
    return {"cursor": {
        "pageSize": size,
        "hasMore": True,
        "previous": "YXVsdCBhbmQgYSBtYXhpbXVtIG1heF9yZXN1bHRzLol=",
        "next": "aW0gdmVuaWFtLCBxdWlzIG5vc3RydWQ=",
        "data": [transaction(1000 + i) for i in range(size)],
    }}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "fixtures")
    os.makedirs(out, exist_ok=True)
    files = {
        "account.json": account(),
        "create_transaction.json": {"data": transaction(42, with_volumes=True)},
        "page_100.json": page(100),
        "page_1000.json": page(1000),
    }
    for name, doc in files.items():
        text = json.dumps(doc, separators=(",", ":"))
        assert "'" not in text and "\\" not in text  # Inlined in nginx.conf between single quotes.
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    # The request body the REST clients POST (what the SDK sends for the same transaction).
    post = {"postings": [{"source": "world", "destination": "users:001", "amount": BIG,
                          "asset": "USD/2"}],
            "metadata": {"order": "order-1"}, "reference": "ref:bench"}
    with open(os.path.join(out, "post_transaction.json"), "w") as f:
        f.write(json.dumps(post, separators=(",", ":")))


if __name__ == "__main__":
    main()
