#!/usr/bin/env python3
"""Create a ledger v2 transaction through formance-grpc-gateway from Python (grpcio).

No generated code: the message classes come from a descriptor set that protoc builds from the
repository's protos (Debian: apt-get install python3-grpcio python3-protobuf protobuf-compiler
golang-github-grpc-ecosystem-grpc-gateway-dev).

    python3 create_transaction.py [gateway address, default 127.0.0.1:50051] [ledger, default main]

Errors carry google.rpc.ErrorInfo (reason = Formance errorCode, domain = module) in the
grpc-status-details-bin trailer; the HTTP status is in the formance-http-status trailer.
"""
import os
import subprocess
import sys
import tempfile

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
GOOGLEAPIS = "/usr/share/gocode/src/github.com/grpc-ecosystem/grpc-gateway/third_party/googleapis"


def load_messages():
    with tempfile.NamedTemporaryFile(suffix=".binpb") as out:
        subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"), "-I", GOOGLEAPIS, "-I", "/usr/include",
                        "--include_imports", "--descriptor_set_out=" + out.name,
                        "formance/ledger/v2/service.proto"], check=True)
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return lambda name: factory.GetPrototype(pool.FindMessageTypeByName(name))


def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    ledger = sys.argv[2] if len(sys.argv) > 2 else "main"
    msg = load_messages()
    channel = grpc.insecure_channel(addr)

    def rpc(name, request, response_type):
        return channel.unary_unary("/formance.ledger.v2.LedgerService/" + name,
                                   request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=msg(response_type).FromString)(request, timeout=10)

    posting = msg("formance.ledger.v2.V2Posting")(source="world", destination="users:001",
                                                  amount=str(2 ** 128 + 1), asset="USD/2")
    request = msg("formance.ledger.v2.CreateTransactionRequest")(
        ledger=ledger, v2_post_transaction=msg("formance.ledger.v2.V2PostTransaction")(postings=[posting]))
    try:
        reply = rpc("CreateTransaction", request, "formance.ledger.v2.CreateTransactionResponse")
    except grpc.RpcError as err:
        print("error:", err.code().name, err.details(), dict(err.trailing_metadata() or ()).get("formance-http-status"))
        return 1
    print("transaction", reply.data.id, "amount", reply.data.postings[0].amount)
    return 0


if __name__ == "__main__":
    sys.exit(main())
