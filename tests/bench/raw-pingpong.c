/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw-pingpong: the physical limit of the benchmark. Frames with ttrpc's
 * 10-byte header (length, stream id, type, flags) go back and forth over a
 * unix socket with blocking read/write and no RPC layer at all.
 *
 *   raw-pingpong --serve PATH         echo every frame, a thread per connection
 *   raw-pingpong -s PATH [-c C -k K -S S -d SECS]
 *
 * Blocking I/O cannot keep K calls in flight on one connection without a
 * demultiplexer, which would be an RPC layer: the client runs C x K threads
 * instead, each with its own connection and one frame in flight. It prints
 * the same figures and RESULT line as ttrpc-bench (client=raw).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "hist.h"

#define HEADER 10
#define MAX_PAYLOAD (4u << 20)

struct worker {
	pthread_t thread;
	int fd;
	uint32_t size;
	uint64_t done;
	int error;
	struct hist hist;
};

static atomic_bool stopping;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int read_full(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		got += (size_t)n;
	}
	return 0;
}

static int writev_full(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t w = writev(fd, iov, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++, n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* One connection of the server: every frame goes back as it came. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t hdr[HEADER], *buf = malloc(MAX_PAYLOAD);

	while (buf) {
		struct iovec iov[2] = { { hdr, HEADER }, { buf, 0 } };

		if (read_full(fd, hdr, HEADER) < 0)
			break;
		iov[1].iov_len = get_be32(hdr);
		if (iov[1].iov_len > MAX_PAYLOAD || read_full(fd, buf, iov[1].iov_len) < 0 ||
		    writev_full(fd, iov, 2) < 0)
			break;
	}
	free(buf);
	close(fd);
	return NULL;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

static int serve(const char *path)
{
	struct sockaddr_un sa;
	pthread_attr_t attr;
	int lfd;

	if (unix_addr(path, &sa) < 0)
		return 1;
	unlink(path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, SOMAXCONN) < 0) {
		fprintf(stderr, "raw-pingpong: cannot listen on %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* Small stacks: the idle-connection figure is not the raw server's concern,
	 * but a run with many connections should not reserve 8 MiB each. */
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	printf("ready %s\n", path);
	fflush(stdout);
	for (;;) {
		pthread_t t;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			fprintf(stderr, "raw-pingpong: accept: %s\n", strerror(errno));
			return 1;
		}
		if (pthread_create(&t, &attr, serve_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
	}
}

static void *ping(void *arg)
{
	struct worker *w = arg;
	uint8_t hdr[HEADER], rhdr[HEADER];
	uint8_t *out = calloc(1, w->size ? w->size : 1), *in = malloc(w->size ? w->size : 1);
	uint32_t id = 1;

	if (!out || !in) {
		w->error = -ENOMEM;
		goto out;
	}
	put_be32(hdr, w->size);
	hdr[8] = 1; /* a Request */
	hdr[9] = 0;
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		struct iovec iov[2] = { { hdr, HEADER }, { out, w->size } };
		uint64_t t0 = now_ns();

		put_be32(hdr + 4, id);
		id += 2;
		w->error = writev_full(w->fd, iov, 2);
		if (!w->error)
			w->error = read_full(w->fd, rhdr, HEADER);
		if (!w->error && get_be32(rhdr) != w->size)
			w->error = -EPROTO;
		if (!w->error)
			w->error = read_full(w->fd, in, w->size);
		/* Past the stop, main shuts the socket down under a blocked call. */
		if (w->error && atomic_load(&stopping))
			w->error = 0;
		if (w->error)
			break;
		/* A call that ends after the stop is outside the measured window. */
		if (atomic_load_explicit(&stopping, memory_order_relaxed))
			break;
		hist_add(&w->hist, now_ns() - t0);
		w->done++;
	}
out:
	free(out);
	free(in);
	return NULL;
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"usage: %s --serve PATH\n"
		"       %s -s PATH [-c CONNS] [-k INFLIGHT] [-S SIZE] [-d SECS]\n"
		"  SIZE in bytes, with an optional K or M suffix; the client runs\n"
		"  CONNS x INFLIGHT threads, a connection each\n",
		argv0, argv0);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "serve", required_argument, NULL, 'L' },
		{ "socket", required_argument, NULL, 's' },
		{ "conns", required_argument, NULL, 'c' },
		{ "inflight", required_argument, NULL, 'k' },
		{ "size", required_argument, NULL, 'S' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *listen_path = NULL;
	unsigned long conns = 1, inflight = 1, size = 64, n;
	double duration = 3, secs;
	struct sockaddr_un sa;
	struct worker *w;
	struct hist *all;
	uint64_t t0, done = 0;
	int c, error = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "s:c:k:S:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'L':
			listen_path = optarg;
			break;
		case 's':
			path = optarg;
			break;
		case 'c':
			conns = strtoul(optarg, NULL, 10);
			break;
		case 'k':
			inflight = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			size = strtoul(optarg, &end, 10);
			if (*end == 'K' || *end == 'k')
				size <<= 10;
			else if (*end == 'M' || *end == 'm')
				size <<= 20;
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (listen_path)
		return serve(listen_path);
	if (!path || unix_addr(path, &sa) < 0 || conns == 0 || inflight == 0 ||
	    size > MAX_PAYLOAD || duration <= 0) {
		usage(stderr, argv[0]);
		return 2;
	}

	n = conns * inflight;
	w = calloc(n, sizeof(*w));
	all = calloc(1, sizeof(*all));
	if (!w || !all)
		return 1;
	for (unsigned long i = 0; i < n; i++) {
		w[i].size = (uint32_t)size;
		w[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (w[i].fd < 0 || connect(w[i].fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			fprintf(stderr, "raw-pingpong: connect %s: %s\n", path, strerror(errno));
			return 1;
		}
	}
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (pthread_create(&w[i].thread, NULL, ping, &w[i]) != 0)
			return 1;
	usleep((useconds_t)(duration * 1e6));
	atomic_store(&stopping, true);
	secs = (double)(now_ns() - t0) / 1e9;
	for (unsigned long i = 0; i < n; i++) {
		/* Unblock a thread that waits on a frame that will not come. */
		shutdown(w[i].fd, SHUT_RDWR);
		pthread_join(w[i].thread, NULL);
		if (w[i].error && !error)
			error = w[i].error;
		hist_merge(all, &w[i].hist);
		done += w[i].done;
		close(w[i].fd);
	}
	printf("raw ping-pong on %s: %lu conns x %lu in flight, %lu B\n", path, conns, inflight,
	       size);
	printf("  %" PRIu64 " calls in %.3f s: %.0f calls/s\n", done, secs, done / secs);
	printf("  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       hist_quantile(all, 0.5) / 1e3, hist_quantile(all, 0.99) / 1e3,
	       hist_quantile(all, 0.999) / 1e3, hist_quantile(all, 1) / 1e3);
	if (error)
		printf("  error: %s\n", strerror(-error));
	printf("RESULT client=raw server=raw method=echo conns=%lu inflight=%lu size=%lu"
	       " calls=%" PRIu64 " errors=%d secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f"
	       " p999_us=%.1f\n",
	       conns, inflight, size, done, error ? 1 : 0, secs, done / secs,
	       hist_quantile(all, 0.5) / 1e3, hist_quantile(all, 0.99) / 1e3,
	       hist_quantile(all, 0.999) / 1e3);
	return done > 0 && !error ? 0 : 1;
}
