#!/usr/bin/python3
"""The gateway from Python with generated stubs (Debian python3-grpcio, protoc + grpc_python_plugin).

    bash client/stubs/generate.sh python /tmp/fgw-py        # once: formance/**, google/api, google/rpc
    PYTHONPATH=/tmp/fgw-py /usr/bin/python3 client/examples/python/ledger_flow.py 127.0.0.1:50051 demo

Creates the ledger (an existing one is fine), posts 2^128+1 USD/2 from world to users:py:001 with
an Idempotency-Key and replays it, reads the balance back digit for digit, then provokes
INSUFFICIENT_FUND and reads its google.rpc.ErrorInfo. Exit status 0 when every check holds.
"""
import sys

import grpc
from formance.ledger.v2 import models_pb2, service_pb2, service_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

BIG = str(2 ** 128 + 1)  # 340282366920938463463374607431768211457


def error_info(err):
    """(code name, ErrorInfo or None) of a grpc.RpcError, from grpc-status-details-bin."""
    for key, value in err.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            status = status_pb2.Status.FromString(value)
            for any_detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if any_detail.Unpack(info):
                    return err.code().name, info
    return err.code().name, None


def check(what, got, want):
    ok = got == want
    print("%s %s: %s" % ("ok  " if ok else "FAIL", what, got if ok else "%r, want %r" % (got, want)))
    return ok


def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    ledger = sys.argv[2] if len(sys.argv) > 2 else "main"
    stub = service_pb2_grpc.LedgerServiceStub(grpc.insecure_channel(addr))
    ok = True
    try:
        stub.CreateLedger(service_pb2.CreateLedgerRequest(
            ledger=ledger, v2_create_ledger_request=models_pb2.V2CreateLedgerRequest()), timeout=10)
        print("ok   created ledger", ledger)
    except grpc.RpcError as err:
        code, info = error_info(err)
        if not (info and info.reason == "LEDGER_ALREADY_EXISTS"):
            print("FAIL CreateLedger:", code, err.details())
            return 1
        print("ok   ledger %s exists already" % ledger)

    posting = models_pb2.V2Posting(source="world", destination="users:py:001", amount=BIG, asset="USD/2")
    request = service_pb2.CreateTransactionRequest(
        ledger=ledger, idempotency_key="py-%s-1" % ledger,
        v2_post_transaction=models_pb2.V2PostTransaction(postings=[posting]))
    first = stub.CreateTransaction(request, timeout=10)
    ok &= check("posted amount", first.data.postings[0].amount, BIG)
    replay = stub.CreateTransaction(request, timeout=10)
    ok &= check("replay Idempotency-Hit", replay.idempotency_hit, "true")
    ok &= check("replay transaction id", replay.data.id, first.data.id)

    account = stub.GetAccount(service_pb2.GetAccountRequest(
        ledger=ledger, address="users:py:001", expand=["volumes"]), timeout=10)
    ok &= check("balance users:py:001 USD/2", account.data.volumes["USD/2"].balance, BIG)

    overdraft = service_pb2.CreateTransactionRequest(
        ledger=ledger, v2_post_transaction=models_pb2.V2PostTransaction(postings=[models_pb2.V2Posting(
            source="users:py:empty", destination="users:py:001", amount="1", asset="USD/2")]))
    try:
        stub.CreateTransaction(overdraft, timeout=10)
        print("FAIL overdraft succeeded")
        ok = False
    except grpc.RpcError as err:
        code, info = error_info(err)
        ok &= check("overdraft code", code, "INVALID_ARGUMENT")
        ok &= check("ErrorInfo.reason", info.reason if info else None, "INSUFFICIENT_FUND")
        ok &= check("ErrorInfo.domain", info.domain if info else None, "ledger")
    print("python: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
