// SPDX-License-Identifier: Apache-2.0

// Command interop-go-server serves the ttrpc.interop.v1.Interop service
// (tests/interop/interop.proto) with containerd's Go ttrpc, so that other
// ttrpc implementations can be tested against the reference one.
//
// Usage: interop-go-server -socket PATH
//
// It prints the line "ready" on stdout once it is listening, and exits 0 on
// SIGTERM or SIGINT. Only the unary methods are served: the ttrpc version
// this is built against (v1.1.1) has no streaming, so Download, Upload and
// Chat are not registered and the server answers them with Unimplemented.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/ttrpc"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ttrpc-interop/pb"
)

// credListener records the SO_PEERCRED credentials of every connection it
// accepts.
//
// ttrpc v1.1.1 does not hand the peer credentials to method handlers (the
// handshaker's result is not reachable from the request context), so Peer
// reports the credentials of the most recently accepted connection. That is
// only right while a single client is connected at a time, which holds for
// the interop tests: each test case uses one connection.
type credListener struct {
	net.Listener

	mu    sync.Mutex
	creds *unix.Ucred
	err   error
}

func (l *credListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	creds, cerr := peerCreds(conn)
	l.mu.Lock()
	l.creds, l.err = creds, cerr
	l.mu.Unlock()
	return conn, nil
}

func (l *credListener) last() (*unix.Ucred, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.creds == nil && l.err == nil {
		return nil, errors.New("no connection accepted yet")
	}
	return l.creds, l.err
}

func peerCreds(conn net.Conn) (*unix.Ucred, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("not a unix socket connection: %T", conn)
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		creds *unix.Ucred
		gerr  error
	)
	if err := rc.Control(func(fd uintptr) {
		creds, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	if gerr != nil {
		return nil, fmt.Errorf("getsockopt(SO_PEERCRED): %w", gerr)
	}
	return creds, nil
}

type interopService struct {
	listener *credListener
}

func (s *interopService) Echo(ctx context.Context, req *pb.EchoRequest) (*pb.EchoResponse, error) {
	return &pb.EchoResponse{Payload: req.Payload, Text: req.Text}, nil
}

func (s *interopService) Sleep(ctx context.Context, req *pb.SleepRequest) (*pb.Empty, error) {
	t := time.NewTimer(time.Duration(req.Millis) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return &pb.Empty{}, nil
	case <-ctx.Done():
		// ttrpc maps context.DeadlineExceeded to codes.DeadlineExceeded.
		return nil, ctx.Err()
	}
}

func (s *interopService) Fail(ctx context.Context, req *pb.FailRequest) (*pb.Empty, error) {
	return nil, status.Error(codes.Code(req.Code), req.Message)
}

func (s *interopService) Metadata(ctx context.Context, req *pb.Empty) (*pb.MetadataResponse, error) {
	resp := &pb.MetadataResponse{}
	md, ok := ttrpc.GetMetadata(ctx)
	if !ok {
		return resp, nil
	}
	// ttrpc.MD is a map: the order across keys is lost, the order of the
	// values of one key is kept. Emit keys sorted, values in their order.
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range md[k] {
			resp.Pairs = append(resp.Pairs, &pb.KeyValue{Key: k, Value: v})
		}
	}
	return resp, nil
}

func (s *interopService) Peer(ctx context.Context, req *pb.Empty) (*pb.PeerResponse, error) {
	creds, err := s.listener.last()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "peer credentials: %v", err)
	}
	return &pb.PeerResponse{Pid: int64(creds.Pid), Uid: creds.Uid, Gid: creds.Gid}, nil
}

func main() {
	socket := flag.String("socket", "", "unix socket path to listen on")
	flag.Parse()
	if *socket == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: interop-go-server -socket PATH")
		os.Exit(2)
	}
	if err := run(*socket); err != nil {
		fmt.Fprintln(os.Stderr, "interop-go-server:", err)
		os.Exit(1)
	}
}

func run(socket string) error {
	if err := os.Remove(socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale socket: %w", err)
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	defer os.Remove(socket)
	cl := &credListener{Listener: l}

	server, err := ttrpc.NewServer()
	if err != nil {
		return err
	}
	pb.RegisterInteropService(server, &interopService{listener: cl})

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	served := make(chan error, 1)
	go func() { served <- server.Serve(context.Background(), cl) }()

	// The socket is listening since net.Listen returned; stdout is
	// unbuffered in Go, so the line is out as soon as Println returns.
	fmt.Println("ready")

	select {
	case <-sigs:
		server.Close()
		<-served
		return nil
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
}
