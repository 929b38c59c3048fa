// The gateway from Java with generated stubs (Debian openjdk-17, libgrpc-java 1.41,
// libprotobuf-java 3.21, protoc + grpc_java_plugin):
//
//   bash client/stubs/generate.sh java /tmp/fgw-java/src
//   CP=$(bash client/examples/java/classpath.sh)
//   javac -d /tmp/fgw-java/classes -cp "$CP" $(find /tmp/fgw-java/src -name '*.java') \
//     client/examples/java/LedgerFlow.java
//   java -cp "/tmp/fgw-java/classes:$CP" LedgerFlow 127.0.0.1:50051 demo
//
// Creates the ledger (an existing one is fine), posts 2^128+1 USD/2 from world to
// users:java:001 with an Idempotency-Key and replays it, reads the balance back digit for digit,
// then provokes INSUFFICIENT_FUND and reads its google.rpc.ErrorInfo. Exit status 0 when every
// check holds. (Debian's proto-google-common-protos 1.16 predates ErrorInfo: it is read from
// the Any's bytes, reason = 1, domain = 2.)
import com.formance.ledger.v2.CreateLedgerRequest;
import com.formance.ledger.v2.CreateTransactionRequest;
import com.formance.ledger.v2.CreateTransactionResponse;
import com.formance.ledger.v2.GetAccountRequest;
import com.formance.ledger.v2.LedgerServiceGrpc;
import com.formance.ledger.v2.V2CreateLedgerRequest;
import com.formance.ledger.v2.V2PostTransaction;
import com.formance.ledger.v2.V2Posting;
import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;

public final class LedgerFlow {
  static final String BIG = "340282366920938463463374607431768211457"; // 2^128 + 1
  static final Metadata.Key<byte[]> DETAILS =
      Metadata.Key.of("grpc-status-details-bin", Metadata.BINARY_BYTE_MARSHALLER);
  static boolean ok = true;

  static void check(String what, Object got, Object want) {
    boolean pass = got != null && got.equals(want);
    ok &= pass;
    System.out.println(pass ? "ok   " + what + ": " + got : "FAIL " + what + ": " + got + ", want " + want);
  }

  /** {reason, domain} of the ErrorInfo in the error's google.rpc.Status, or null. */
  static String[] errorInfo(StatusRuntimeException e) throws Exception {
    Metadata trailers = e.getTrailers();
    byte[] bin = trailers == null ? null : trailers.get(DETAILS);
    if (bin == null) return null;
    for (Any any : com.google.rpc.Status.parseFrom(bin).getDetailsList()) {
      if (!any.getTypeUrl().equals("type.googleapis.com/google.rpc.ErrorInfo")) continue;
      String[] info = {"", ""};
      CodedInputStream in = any.getValue().newCodedInput();
      for (int tag; (tag = in.readTag()) != 0; ) {
        if (tag == 0x0a) info[0] = in.readStringRequireUtf8();
        else if (tag == 0x12) info[1] = in.readStringRequireUtf8();
        else in.skipField(tag);
      }
      return info;
    }
    return null;
  }

  public static void main(String[] args) throws Exception {
    String addr = args.length > 0 ? args[0] : "127.0.0.1:50051";
    String ledger = args.length > 1 ? args[1] : "main";
    ManagedChannel channel = ManagedChannelBuilder.forTarget(addr).usePlaintext().build();
    LedgerServiceGrpc.LedgerServiceBlockingStub stub =
        LedgerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    try {
      try {
        stub.createLedger(CreateLedgerRequest.newBuilder().setLedger(ledger)
            .setV2CreateLedgerRequest(V2CreateLedgerRequest.getDefaultInstance()).build());
        System.out.println("ok   created ledger " + ledger);
      } catch (StatusRuntimeException e) {
        String[] info = errorInfo(e);
        if (info == null || !info[0].equals("LEDGER_ALREADY_EXISTS")) throw e;
        System.out.println("ok   ledger " + ledger + " exists already");
      }
      CreateTransactionRequest request = CreateTransactionRequest.newBuilder()
          .setLedger(ledger).setIdempotencyKey("java-" + ledger + "-1")
          .setV2PostTransaction(V2PostTransaction.newBuilder().addPostings(V2Posting.newBuilder()
              .setSource("world").setDestination("users:java:001").setAmount(BIG).setAsset("USD/2")))
          .build();
      CreateTransactionResponse first = stub.createTransaction(request);
      check("posted amount", first.getData().getPostings(0).getAmount(), BIG);
      CreateTransactionResponse replay = stub.createTransaction(request);
      check("replay Idempotency-Hit", replay.getIdempotencyHit(), "true");
      check("replay transaction id", replay.getData().getId(), first.getData().getId());

      String balance = stub.getAccount(GetAccountRequest.newBuilder().setLedger(ledger)
              .setAddress("users:java:001").addExpand("volumes").build())
          .getData().getVolumesOrThrow("USD/2").getBalance();
      check("balance users:java:001 USD/2", balance, BIG);

      try {
        stub.createTransaction(CreateTransactionRequest.newBuilder().setLedger(ledger)
            .setV2PostTransaction(V2PostTransaction.newBuilder().addPostings(V2Posting.newBuilder()
                .setSource("users:java:empty").setDestination("users:java:001").setAmount("1")
                .setAsset("USD/2")))
            .build());
        check("overdraft fails", "succeeded", "an error");
      } catch (StatusRuntimeException e) {
        String[] info = errorInfo(e);
        check("overdraft code", e.getStatus().getCode().name(), "INVALID_ARGUMENT");
        check("ErrorInfo.reason", info == null ? null : info[0], "INSUFFICIENT_FUND");
        check("ErrorInfo.domain", info == null ? null : info[1], "ledger");
      }
    } catch (StatusRuntimeException e) {
      System.out.println("FAIL " + e.getStatus());
      ok = false;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.out.println("java: " + (ok ? "PASS" : "FAIL"));
    System.exit(ok ? 0 : 1);
  }
}
