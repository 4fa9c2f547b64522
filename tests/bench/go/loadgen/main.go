// SPDX-License-Identifier: Apache-2.0

// Command interop-go-loadgen is the Go counterpart of ttrpc-bench: it calls
// Echo of ttrpc.interop.v1.Interop with containerd's Go ttrpc client, from
// conns connections with inflight goroutines each, for a duration, and
// prints the same figures and RESULT line (client=go).
//
// Usage: interop-go-loadgen -socket PATH [-conns C] [-inflight K] [-size S]
//        [-duration D] [-warmup D] [-server-name NAME]
//
// Only Echo: the ttrpc it is built against (v1.1.1) has no streaming.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/containerd/ttrpc"

	pb "ttrpc-interop/pb"
)

type worker struct {
	lat    []time.Duration
	errors int
	first  error
}

// run keeps one call in flight until stop is set; latencies are kept only
// when record is, and only for calls that end before the stop.
func (w *worker) run(c pb.InteropService, req *pb.EchoRequest, stop *int32, record bool) {
	for atomic.LoadInt32(stop) == 0 {
		t0 := time.Now()
		resp, err := c.Echo(context.Background(), req)
		if err == nil && len(resp.Payload) != len(req.Payload) {
			err = fmt.Errorf("echo: payload of %d bytes, want %d", len(resp.Payload), len(req.Payload))
		}
		if err != nil {
			if w.errors == 0 {
				w.first = err
			}
			w.errors++
			return
		}
		d := time.Since(t0)
		if record && atomic.LoadInt32(stop) == 0 {
			w.lat = append(w.lat, d)
		}
	}
}

// pass runs every worker for d and returns the measured seconds.
func pass(clients []pb.InteropService, workers []*worker, inflight int, req *pb.EchoRequest,
	d time.Duration, record bool) float64 {
	var (
		stop int32
		wg   sync.WaitGroup
	)
	t0 := time.Now()
	for i, w := range workers {
		wg.Add(1)
		go func(w *worker, c pb.InteropService) {
			defer wg.Done()
			w.run(c, req, &stop, record)
		}(w, clients[i/inflight])
	}
	time.Sleep(d)
	atomic.StoreInt32(&stop, 1)
	secs := time.Since(t0).Seconds()
	wg.Wait()
	return secs
}

func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(q*float64(len(sorted)))) - 1
	if rank < 0 {
		rank = 0
	}
	return float64(sorted[rank].Nanoseconds()) / 1e3
}

func main() {
	socket := flag.String("socket", "", "unix socket path of the server")
	conns := flag.Int("conns", 1, "connections")
	inflight := flag.Int("inflight", 1, "calls in flight per connection")
	size := flag.Int("size", 64, "payload bytes")
	duration := flag.Duration("duration", 3*time.Second, "measured time")
	warmup := flag.Duration("warmup", 0, "unmeasured calls first")
	serverName := flag.String("server-name", "?", "server name for the RESULT line")
	flag.Parse()
	if *socket == "" || flag.NArg() != 0 || *conns < 1 || *inflight < 1 || *size < 0 {
		fmt.Fprintln(os.Stderr, "usage: interop-go-loadgen -socket PATH [-conns C] [-inflight K] "+
			"[-size S] [-duration D] [-warmup D] [-server-name NAME]")
		os.Exit(2)
	}

	clients := make([]pb.InteropService, *conns)
	for i := range clients {
		conn, err := net.Dial("unix", *socket)
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop-go-loadgen:", err)
			os.Exit(1)
		}
		clients[i] = pb.NewInteropClient(ttrpc.NewClient(conn))
	}
	payload := make([]byte, *size)
	for i := range payload {
		payload[i] = byte(i * 7 % 251)
	}
	req := &pb.EchoRequest{Payload: payload}

	workers := make([]*worker, *conns**inflight)
	for i := range workers {
		workers[i] = &worker{}
	}
	if *warmup > 0 {
		pass(clients, workers, *inflight, req, *warmup, false)
	}
	secs := pass(clients, workers, *inflight, req, *duration, true)

	var (
		all    []time.Duration
		errors int
		first  error
	)
	for _, w := range workers {
		all = append(all, w.lat...)
		if w.errors > 0 && first == nil {
			first = w.first
		}
		errors += w.errors
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	calls := len(all)
	rate := float64(calls) / secs
	p50, p99, p999 := quantile(all, 0.5), quantile(all, 0.99), quantile(all, 0.999)

	fmt.Printf("echo %s to %s: %d conns x %d in flight, %d B (Go ttrpc client)\n",
		*socket, *serverName, *conns, *inflight, *size)
	fmt.Printf("  %d calls in %.3f s: %.0f calls/s\n", calls, secs, rate)
	fmt.Printf("  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		p50, p99, p999, quantile(all, 1))
	if errors > 0 {
		fmt.Printf("  %d errors; the first: %v\n", errors, first)
	}
	fmt.Printf("RESULT client=go server=%s method=echo conns=%d inflight=%d size=%d calls=%d "+
		"errors=%d secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f p999_us=%.1f\n",
		*serverName, *conns, *inflight, *size, calls, errors, secs, rate, p50, p99, p999)
	if calls == 0 || errors > 0 {
		os.Exit(1)
	}
}
