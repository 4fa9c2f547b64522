/* SPDX-License-Identifier: Apache-2.0 */
/*
 * raw-pingpong: the physical limit of the benchmark. Frames with ttrpc's
 * 10-byte header (length, stream id, type, flags) go back and forth over a
 * unix socket with blocking read/write and no RPC layer at all.
 *
 *   raw-pingpong --serve PATH         a thread per connection
 *   raw-pingpong -s PATH [-m echo|download|upload -c C -k K -S S -N N -d SECS]
 *
 * What the server does with a frame depends on its type:
 *   1 (echo)      sends it back as it came;
 *   16 (download) its 8-byte payload is a count and a size (big-endian):
 *                 sends count frames of type 3 with size bytes each from one
 *                 buffer, then an empty one with flags RC|ND (as a ttrpc
 *                 server stream ends);
 *   3 (upload)    counts it; the one with flag RC is the end: answers with a
 *                 frame of type 2 holding the count and the bytes received.
 * A call of download or upload is one whole stream of N frames of S bytes.
 *
 * Blocking I/O cannot keep K calls in flight on one connection without a
 * demultiplexer, which would be an RPC layer: the client runs C x K threads
 * instead, each with its own connection and one call in flight. It prints
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

enum { T_ECHO = 1, T_RESPONSE = 2, T_DATA = 3, T_DOWNLOAD = 16 };
enum { F_RC = 0x1, F_ND = 0x4 };
enum mode { ECHO, DOWNLOAD, UPLOAD };

struct worker {
	pthread_t thread;
	int fd;
	enum mode mode;
	uint32_t size, n_chunks;
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

static void put_header(uint8_t *h, uint32_t len, uint32_t id, uint8_t type, uint8_t flags)
{
	put_be32(h, len);
	put_be32(h + 4, id);
	h[8] = type;
	h[9] = flags;
}

/* Download: count frames of size bytes, all from @buf, then the end. */
static int send_chunks(int fd, const uint8_t *hdr, uint8_t *buf)
{
	uint32_t count = get_be32(buf), size = get_be32(buf + 4), id = get_be32(hdr + 4);
	uint8_t h[HEADER];

	if (size > MAX_PAYLOAD)
		return -EINVAL;
	for (uint32_t i = 0; i < count; i++) {
		struct iovec iov[2] = { { h, HEADER }, { buf, size } };
		int r;

		put_header(h, size, id, T_DATA, 0);
		if ((r = writev_full(fd, iov, 2)) < 0)
			return r;
	}
	put_header(h, 0, id, T_DATA, F_RC | F_ND);
	return write(fd, h, HEADER) == HEADER ? 0 : -EIO;
}

/* One connection of the server: answers each frame as its type says. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t hdr[HEADER], *buf = malloc(MAX_PAYLOAD);
	uint64_t up_count = 0, up_bytes = 0;
	int r = 0;

	while (buf && r == 0) {
		struct iovec iov[2] = { { hdr, HEADER }, { buf, 0 } };

		if (read_full(fd, hdr, HEADER) < 0)
			break;
		iov[1].iov_len = get_be32(hdr);
		if (iov[1].iov_len > MAX_PAYLOAD || read_full(fd, buf, iov[1].iov_len) < 0)
			break;
		switch (hdr[8]) {
		case T_DOWNLOAD:
			r = iov[1].iov_len == 8 ? send_chunks(fd, hdr, buf) : -EINVAL;
			break;
		case T_DATA:
			if (!(hdr[9] & F_RC)) {
				up_count++;
				up_bytes += iov[1].iov_len;
				break;
			}
			put_header(hdr, 16, get_be32(hdr + 4), T_RESPONSE, 0);
			put_be32(buf, 0);
			put_be32(buf + 4, (uint32_t)up_count);
			put_be32(buf + 8, (uint32_t)(up_bytes >> 32));
			put_be32(buf + 12, (uint32_t)up_bytes);
			iov[1].iov_len = 16;
			up_count = up_bytes = 0;
			r = writev_full(fd, iov, 2);
			break;
		default:
			r = writev_full(fd, iov, 2);
			break;
		}
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

/* One call of the worker's mode; the buffers hold MAX_PAYLOAD + HEADER bytes. */
static int one_call(struct worker *w, uint32_t id, uint8_t *out, uint8_t *in)
{
	uint8_t hdr[HEADER], rhdr[HEADER];
	struct iovec iov[2] = { { hdr, HEADER }, { out, w->size } };
	uint32_t n = 0;
	int r;

	switch (w->mode) {
	case ECHO:
		put_header(hdr, w->size, id, T_ECHO, 0);
		if ((r = writev_full(w->fd, iov, 2)) < 0 ||
		    (r = read_full(w->fd, rhdr, HEADER)) < 0)
			return r;
		if (get_be32(rhdr) != w->size)
			return -EPROTO;
		return read_full(w->fd, in, w->size);
	case DOWNLOAD:
		put_header(hdr, 8, id, T_DOWNLOAD, 0);
		put_be32(out, w->n_chunks);
		put_be32(out + 4, w->size);
		iov[1].iov_len = 8;
		if ((r = writev_full(w->fd, iov, 2)) < 0)
			return r;
		for (;;) {
			if ((r = read_full(w->fd, rhdr, HEADER)) < 0)
				return r;
			if (rhdr[9] & F_RC)
				return n == w->n_chunks ? 0 : -EPROTO;
			if (get_be32(rhdr) != w->size)
				return -EPROTO;
			if ((r = read_full(w->fd, in, w->size)) < 0)
				return r;
			n++;
		}
	case UPLOAD:
		for (uint32_t i = 0; i < w->n_chunks; i++) {
			put_header(hdr, w->size, id, T_DATA, 0);
			iov[0] = (struct iovec){ hdr, HEADER };
			iov[1] = (struct iovec){ out, w->size };
			if ((r = writev_full(w->fd, iov, 2)) < 0)
				return r;
		}
		put_header(hdr, 0, id, T_DATA, F_RC | F_ND);
		iov[0] = (struct iovec){ hdr, HEADER };
		if ((r = writev_full(w->fd, iov, 1)) < 0 ||
		    (r = read_full(w->fd, rhdr, HEADER)) < 0)
			return r;
		if (get_be32(rhdr) != 16 || (r = read_full(w->fd, in, 16)) < 0)
			return r < 0 ? r : -EPROTO;
		return get_be32(in + 4) == w->n_chunks ? 0 : -EPROTO;
	}
	return -EINVAL;
}

static void *ping(void *arg)
{
	struct worker *w = arg;
	uint8_t *out = calloc(1, MAX_PAYLOAD), *in = malloc(MAX_PAYLOAD);
	uint32_t id = 1;

	if (!out || !in) {
		w->error = -ENOMEM;
		goto out;
	}
	while (!atomic_load_explicit(&stopping, memory_order_relaxed)) {
		uint64_t t0 = now_ns();

		w->error = one_call(w, id, out, in);
		id += 2;
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
		"       %s -s PATH [-m echo|download|upload] [-c CONNS] [-k INFLIGHT]\n"
		"          [-S SIZE] [-N CHUNKS] [-d SECS]\n"
		"  SIZE in bytes, with an optional K or M suffix: the payload, or the\n"
		"  chunk of a download or upload of CHUNKS (10000) frames; the client\n"
		"  runs CONNS x INFLIGHT threads, a connection each\n",
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
		{ "method", required_argument, NULL, 'm' },
		{ "chunks", required_argument, NULL, 'N' },
		{ "duration", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = NULL, *listen_path = NULL;
	static const char *const mode_names[] = { "echo", "download", "upload" };
	unsigned long conns = 1, inflight = 1, size = 64, n_chunks = 10000, n;
	enum mode mode = ECHO;
	bool bad_mode = false;
	double duration = 3, secs;
	struct sockaddr_un sa;
	struct worker *w;
	struct hist *all;
	uint64_t t0, done = 0;
	int c, error = 0;
	char *end;

	while ((c = getopt_long(argc, argv, "s:c:k:S:m:N:d:h", opts, NULL)) != -1) {
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
		case 'm':
			if (strcmp(optarg, "download") == 0)
				mode = DOWNLOAD;
			else if (strcmp(optarg, "upload") == 0)
				mode = UPLOAD;
			else if (strcmp(optarg, "echo") != 0)
				bad_mode = true;
			break;
		case 'N':
			n_chunks = strtoul(optarg, NULL, 10);
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
	    size > MAX_PAYLOAD || duration <= 0 || bad_mode || n_chunks > UINT32_MAX) {
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
		w[i].mode = mode;
		w[i].n_chunks = (uint32_t)n_chunks;
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
	printf("raw %s on %s: %lu conns x %lu in flight, %lu B%s\n", mode_names[mode], path, conns,
	       inflight, size, mode == ECHO ? "" : " chunks");
	printf("  %" PRIu64 " calls in %.3f s: %.0f calls/s\n", done, secs, done / secs);
	if (mode != ECHO)
		printf("  %.1f MiB/s\n", done * (double)n_chunks * size / secs / (1 << 20));
	printf("  latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
	       hist_quantile(all, 0.5) / 1e3, hist_quantile(all, 0.99) / 1e3,
	       hist_quantile(all, 0.999) / 1e3, hist_quantile(all, 1) / 1e3);
	if (error)
		printf("  error: %s\n", strerror(-error));
	printf("RESULT client=raw server=raw method=%s conns=%lu inflight=%lu size=%lu"
	       " calls=%" PRIu64 " errors=%d secs=%.3f rate=%.1f p50_us=%.1f p99_us=%.1f"
	       " p999_us=%.1f",
	       mode_names[mode], conns, inflight, size, done, error ? 1 : 0, secs, done / secs,
	       hist_quantile(all, 0.5) / 1e3, hist_quantile(all, 0.99) / 1e3,
	       hist_quantile(all, 0.999) / 1e3);
	if (mode != ECHO)
		printf(" chunks=%" PRIu64 " chunk_rate=%.1f", done * n_chunks,
		       done * (double)n_chunks / secs);
	printf("\n");
	return done > 0 && !error ? 0 : 1;
}
