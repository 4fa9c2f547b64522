// SPDX-License-Identifier: Apache-2.0

// Command health-go-client asks a grpc.health.v1.Health server over ttrpc
// (services/health/health.proto, served by ttrpcd's health module) for the
// status of services, with containerd's Go ttrpc client: unary Check only,
// as ttrpc v1.1.1 has no streams.
//
// Usage: health-go-client -socket PATH [SERVICE=STATUS]...
//
// Each argument names a service ("" for the server as a whole: "=SERVING")
// and the expected answer: a status name (SERVING, NOT_SERVING, ...) or a
// gRPC code name for a failed call (NotFound). It prints "ok" or "FAIL"
// per argument and exits 0 iff every answer was the expected one.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/status"

	pb "ttrpc-interop/healthpb"
)

func main() {
	socket := flag.String("socket", "", "unix socket of the server")
	flag.Parse()
	if *socket == "" {
		fmt.Fprintln(os.Stderr, "usage: health-go-client -socket PATH [SERVICE=STATUS]...")
		os.Exit(2)
	}
	conn, err := net.Dial("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-go-client:", err)
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	health := pb.NewHealthClient(client)

	failed := 0
	for _, arg := range flag.Args() {
		i := strings.LastIndex(arg, "=")
		if i < 0 {
			fmt.Fprintf(os.Stderr, "health-go-client: %q is not SERVICE=STATUS\n", arg)
			os.Exit(2)
		}
		service, want := arg[:i], arg[i+1:]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		resp, err := health.Check(ctx, &pb.HealthCheckRequest{Service: service})
		cancel()
		got := ""
		if err != nil {
			got = status.Code(err).String()
		} else {
			got = resp.Status.String()
		}
		if got == want {
			fmt.Printf("ok %q: %s\n", service, got)
		} else {
			fmt.Printf("FAIL %q: got %s, want %s\n", service, got, want)
			failed++
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
