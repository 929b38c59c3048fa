// The gateway from Go with generated stubs (Debian golang 1.19, google.golang.org/grpc 1.33,
// protoc-gen-go v1.28 + protoc-gen-go-grpc; GOPATH mode, offline):
//
//	bash client/stubs/generate.sh go /tmp/fgw-go/src
//	GO111MODULE=off GOPATH=/tmp/fgw-go:$PWD/third_party/go:/usr/share/gocode \
//	  go run client/examples/go/ledger_flow.go 127.0.0.1:50051 demo
//
// Creates the ledger (an existing one is fine), posts 2^128+1 USD/2 from world to users:go:001
// with an Idempotency-Key and replays it, reads the balance back digit for digit, then provokes
// INSUFFICIENT_FUND and reads its google.rpc.ErrorInfo. Exit status 0 when every check holds.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	ledgerv2 "github.com/formance-grpc-gateway/proto/formance/ledger/v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

const big = "340282366920938463463374607431768211457" // 2^128 + 1

var ok = true

func check(what string, got, want interface{}) {
	if got == want {
		fmt.Printf("ok   %s: %v\n", what, got)
		return
	}
	fmt.Printf("FAIL %s: %v, want %v\n", what, got, want)
	ok = false
}

// errorInfo returns the code name and the google.rpc.ErrorInfo of a call's error.
func errorInfo(err error) (string, *errdetails.ErrorInfo) {
	s := status.Convert(err)
	for _, d := range s.Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo {
			return codeName(s), info
		}
	}
	return codeName(s), nil
}

func codeName(s *status.Status) string {
	// codes.Code's String() is "InvalidArgument"; print the canonical name.
	names := []string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
		"UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}
	if int(s.Code()) < len(names) {
		return names[s.Code()]
	}
	return s.Code().String()
}

func main() {
	addr, ledger := "127.0.0.1:50051", "main"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	if len(os.Args) > 2 {
		ledger = os.Args[2]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fmt.Println("FAIL dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	client := ledgerv2.NewLedgerServiceClient(conn)

	_, err = client.CreateLedger(ctx, &ledgerv2.CreateLedgerRequest{
		Ledger: ledger, V2CreateLedgerRequest: &ledgerv2.V2CreateLedgerRequest{}})
	if err != nil {
		code, info := errorInfo(err)
		if info == nil || info.Reason != "LEDGER_ALREADY_EXISTS" {
			fmt.Println("FAIL CreateLedger:", code, err)
			os.Exit(1)
		}
		fmt.Println("ok   ledger", ledger, "exists already")
	} else {
		fmt.Println("ok   created ledger", ledger)
	}

	key := "go-" + ledger + "-1"
	request := &ledgerv2.CreateTransactionRequest{
		Ledger: ledger, IdempotencyKey: &key,
		V2PostTransaction: &ledgerv2.V2PostTransaction{Postings: []*ledgerv2.V2Posting{{
			Source: "world", Destination: "users:go:001", Amount: big, Asset: "USD/2"}}}}
	first, err := client.CreateTransaction(ctx, request)
	if err != nil {
		fmt.Println("FAIL CreateTransaction:", err)
		os.Exit(1)
	}
	check("posted amount", first.GetData().GetPostings()[0].GetAmount(), big)
	replay, err := client.CreateTransaction(ctx, request)
	if err != nil {
		fmt.Println("FAIL replay:", err)
		os.Exit(1)
	}
	check("replay Idempotency-Hit", replay.GetIdempotencyHit(), "true")
	check("replay transaction id", replay.GetData().GetId(), first.GetData().GetId())

	account, err := client.GetAccount(ctx, &ledgerv2.GetAccountRequest{
		Ledger: ledger, Address: "users:go:001", Expand: []string{"volumes"}})
	if err != nil {
		fmt.Println("FAIL GetAccount:", err)
		os.Exit(1)
	}
	check("balance users:go:001 USD/2", account.GetData().GetVolumes()["USD/2"].GetBalance(), big)

	_, err = client.CreateTransaction(ctx, &ledgerv2.CreateTransactionRequest{
		Ledger: ledger,
		V2PostTransaction: &ledgerv2.V2PostTransaction{Postings: []*ledgerv2.V2Posting{{
			Source: "users:go:empty", Destination: "users:go:001", Amount: "1", Asset: "USD/2"}}}})
	if err == nil {
		check("overdraft fails", "succeeded", "an error")
	} else {
		code, info := errorInfo(err)
		check("overdraft code", code, "INVALID_ARGUMENT")
		check("ErrorInfo present", info != nil, true)
		check("ErrorInfo.reason", info.GetReason(), "INSUFFICIENT_FUND")
		check("ErrorInfo.domain", info.GetDomain(), "ledger")
	}
	if ok {
		fmt.Println("go: PASS")
		return
	}
	fmt.Println("go: FAIL")
	os.Exit(1)
}
