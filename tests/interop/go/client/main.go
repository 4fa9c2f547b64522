// SPDX-License-Identifier: Apache-2.0

// Command interop-go-client runs the interop cases against a server of the
// ttrpc.interop.v1.Interop service (tests/interop/interop.proto) using
// containerd's Go ttrpc client, over a single connection.
//
// Usage: interop-go-client -socket PATH [-case NAME] [-timeout DURATION]
//
// It prints "ok NAME" or "FAIL NAME: reason" for each case, then
// "N passed, N failed", and exits 0 iff no case failed.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/containerd/ttrpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ttrpc-interop/pb"
)

const maxMessage = 4 << 20 // ttrpc frame payload limit, each direction

type testCase struct {
	name string
	run  func(c pb.InteropService) error
}

var cases = []testCase{
	{"echo_empty", echoEmpty},
	{"echo_1b", echo1b},
	{"echo_64k", func(c pb.InteropService) error { return echoPattern(c, 65536, "64k") }},
	{"echo_max", func(c pb.InteropService) error { return echoPattern(c, maxMessage-64, "max") }},
	{"echo_oversize", echoOversize},
	{"fail_codes", failCodes},
	{"sleep_ok", sleepOK},
	{"sleep_deadline", sleepDeadline},
	{"metadata", metadata},
	{"peer", peer},
	{"after_all", afterAll},
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7 % 251)
	}
	return b
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		if len(a) < len(b) {
			return len(a)
		}
		return len(b)
	}
	return -1
}

func checkEcho(resp *pb.EchoResponse, payload []byte, text string) error {
	if !bytes.Equal(resp.Payload, payload) {
		return fmt.Errorf("payload mismatch: got %d bytes, want %d, first difference at offset %d",
			len(resp.Payload), len(payload), firstDiff(resp.Payload, payload))
	}
	if resp.Text != text {
		return fmt.Errorf("text mismatch: got %q, want %q", resp.Text, text)
	}
	return nil
}

func echo(c pb.InteropService, payload []byte, text string) error {
	resp, err := c.Echo(context.Background(), &pb.EchoRequest{Payload: payload, Text: text})
	if err != nil {
		return fmt.Errorf("Echo: %v", err)
	}
	return checkEcho(resp, payload, text)
}

func echoEmpty(c pb.InteropService) error {
	return echo(c, nil, "")
}

func echo1b(c pb.InteropService) error {
	return echo(c, []byte{0x5a}, "a")
}

func echoPattern(c pb.InteropService, n int, text string) error {
	return echo(c, pattern(n), text)
}

func echoOversize(c pb.InteropService) error {
	// The Go client does not check the size of what it sends; the server
	// must discard the frame and answer on its stream with ResourceExhausted.
	_, err := c.Echo(context.Background(), &pb.EchoRequest{Payload: pattern(maxMessage + 1), Text: "oversize"})
	if err == nil {
		return errors.New("Echo of an oversized request succeeded")
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("error is not a status: %v", err)
	}
	if st.Code() != codes.ResourceExhausted {
		return fmt.Errorf("got code %v (%d), want ResourceExhausted (8): %q", st.Code(), st.Code(), st.Message())
	}
	if want := fmt.Sprintf("exceed maximum message size of %d", maxMessage); !strings.Contains(st.Message(), want) {
		return fmt.Errorf("message %q does not contain %q", st.Message(), want)
	}
	if err := echo(c, []byte("still there"), "after oversize"); err != nil {
		return fmt.Errorf("connection unusable after oversized request: %v", err)
	}
	return nil
}

func failCodes(c pb.InteropService) error {
	for _, tc := range []struct {
		code codes.Code
		msg  string
	}{
		{3, "bad argument"},
		{5, "not found: x"},
		{7, "denied"},
		{13, "internal ünïcödé"},
		{14, "unavailable"},
	} {
		_, err := c.Fail(context.Background(), &pb.FailRequest{Code: int32(tc.code), Message: tc.msg})
		if err == nil {
			return fmt.Errorf("Fail(%d, %q) succeeded", tc.code, tc.msg)
		}
		st, ok := status.FromError(err)
		if !ok {
			return fmt.Errorf("Fail(%d, %q): error is not a status: %v", tc.code, tc.msg, err)
		}
		if st.Code() != tc.code || st.Message() != tc.msg {
			return fmt.Errorf("Fail(%d, %q): got code %d message %q", tc.code, tc.msg, st.Code(), st.Message())
		}
	}
	return nil
}

func sleepOK(c pb.InteropService) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Sleep(ctx, &pb.SleepRequest{Millis: 50}); err != nil {
		return fmt.Errorf("Sleep(50ms) with a 5s deadline: %v", err)
	}
	return nil
}

func sleepDeadline(c pb.InteropService) error {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Sleep(ctx, &pb.SleepRequest{Millis: 5000})
	elapsed := time.Since(start)
	if err == nil {
		return fmt.Errorf("Sleep(5s) with a 300ms deadline succeeded after %v", elapsed)
	}
	// The Go client gives up by itself when the context expires
	// (context.DeadlineExceeded); the server's answer (status
	// DeadlineExceeded) may win the race instead.
	if !errors.Is(err, context.DeadlineExceeded) {
		st, ok := status.FromError(err)
		if !ok || st.Code() != codes.DeadlineExceeded {
			return fmt.Errorf("got %v, want DeadlineExceeded", err)
		}
	}
	if elapsed >= 3*time.Second {
		return fmt.Errorf("deadline error took %v (bound 3s)", elapsed)
	}
	return nil
}

func metadata(c pb.InteropService) error {
	md := ttrpc.MD{}
	md.Append("k1", "v1")
	md.Append("k2", "a")
	md.Append("k2", "b")
	ctx := ttrpc.WithMetadata(context.Background(), md)
	resp, err := c.Metadata(ctx, &pb.Empty{})
	if err != nil {
		return fmt.Errorf("Metadata: %v", err)
	}
	var got []string
	for _, kv := range resp.Pairs {
		got = append(got, kv.Key+"="+kv.Value)
	}
	// Exactly k1=v1, k2=a, k2=b; order across keys is not guaranteed
	// (ttrpc.MD is a map), order within k2 is.
	var k1, k2 []string
	for _, kv := range resp.Pairs {
		switch kv.Key {
		case "k1":
			k1 = append(k1, kv.Value)
		case "k2":
			k2 = append(k2, kv.Value)
		default:
			return fmt.Errorf("unexpected pair %s=%s in %v", kv.Key, kv.Value, got)
		}
	}
	if len(resp.Pairs) != 3 || len(k1) != 1 || k1[0] != "v1" ||
		len(k2) != 2 || k2[0] != "a" || k2[1] != "b" {
		return fmt.Errorf("got pairs %v, want k1=v1, k2=a, k2=b (a before b)", got)
	}
	return nil
}

func peer(c pb.InteropService) error {
	resp, err := c.Peer(context.Background(), &pb.Empty{})
	if err != nil {
		return fmt.Errorf("Peer: %v", err)
	}
	if resp.Pid != int64(os.Getpid()) || resp.Uid != uint32(os.Getuid()) || resp.Gid != uint32(os.Getgid()) {
		return fmt.Errorf("got pid=%d uid=%d gid=%d, want pid=%d uid=%d gid=%d",
			resp.Pid, resp.Uid, resp.Gid, os.Getpid(), os.Getuid(), os.Getgid())
	}
	return nil
}

func afterAll(c pb.InteropService) error {
	return echo(c, []byte("bye"), "after_all")
}

// runCase runs one case with a watchdog that does not touch the wire (no
// context deadline, so requests carry no timeout_nano unless the case sets
// one).
func runCase(c pb.InteropService, tc testCase, timeout time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- tc.run(c) }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		return fmt.Errorf("no result after %v", timeout)
	}
}

func main() {
	socket := flag.String("socket", "", "unix socket path of the server")
	only := flag.String("case", "", "run only the case NAME")
	timeout := flag.Duration("timeout", 30*time.Second, "give up on a case after this long")
	flag.Parse()
	if *socket == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: interop-go-client -socket PATH [-case NAME] [-timeout DURATION]")
		os.Exit(2)
	}

	selected := cases
	if *only != "" {
		selected = nil
		for _, tc := range cases {
			if tc.name == *only {
				selected = append(selected, tc)
			}
		}
		if selected == nil {
			var names []string
			for _, tc := range cases {
				names = append(names, tc.name)
			}
			fmt.Fprintf(os.Stderr, "interop-go-client: unknown case %q (known: %s)\n", *only, strings.Join(names, " "))
			os.Exit(2)
		}
	}

	conn, err := net.Dial("unix", *socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop-go-client:", err)
		fmt.Printf("0 passed, %d failed\n", len(selected))
		os.Exit(1)
	}
	client := ttrpc.NewClient(conn)
	defer client.Close()
	c := pb.NewInteropClient(client)

	passed, failed := 0, 0
	for _, tc := range selected {
		if err := runCase(c, tc, *timeout); err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", tc.name, err)
		} else {
			passed++
			fmt.Printf("ok %s\n", tc.name)
		}
	}
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if failed != 0 {
		client.Close()
		os.Exit(1)
	}
}
