/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc through the host: one op per runc process, told of its exit on the
 * loop; its stdout, when captured, read as it comes through a pipe of ours
 * (non-blocking on our side only: runc's end stays as it expects).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttrpc/module.h>

#include "runc.h"
#include "runcjson.h"
#include "shim.h"

#define MAX_ARGS 40

struct shim_runc {
	struct shim_runc *next;  /* in the list of ops running */
	struct ttrpc_call *call; /* NULL once the caller left */
	shim_runc_done_fn done;
	void *arg;
	pid_t pid;
	int out; /* its stdout, when captured; else -1 */
	struct event *out_ev;
	char buf[8192];
	size_t len;
};

static struct shim_runc *running;

static void op_free(struct shim_runc *op)
{
	if (op->out_ev)
		event_free(op->out_ev);
	if (op->out >= 0)
		close(op->out);
	free(op);
}

/* Read what runc printed so far; at EOF or an error, stop watching. */
static void read_out(struct shim_runc *op)
{
	for (;;) {
		char drop[512];
		bool room = op->len < sizeof(op->buf) - 1;
		ssize_t k = room ? read(op->out, op->buf + op->len, sizeof(op->buf) - 1 - op->len)
				 : read(op->out, drop, sizeof(drop));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0 || errno != EAGAIN)
				event_del(op->out_ev);
			break;
		}
		if (room)
			op->len += (size_t)k;
	}
	op->buf[op->len] = '\0';
}

static void on_out(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	read_out(arg);
}

/* The caller left: its call must still be finished; runc runs on. */
static void on_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct shim_runc *op = userdata;

	ttrpc_call_fail(call, code, "cancelled");
	op->call = NULL;
}

static void on_exit_(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	struct shim_runc *op = userdata, **link = &running;

	(void)host;
	(void)pid;
	while (*link != op)
		link = &(*link)->next;
	*link = op->next;
	if (op->out >= 0)
		read_out(op);
	if (op->call)
		ttrpc_call_on_cancel(op->call, NULL, NULL);
	op->done(op, shim_exit_status(wstatus), op->arg);
	op_free(op);
}

int shim_runc(const struct shim_runc_ctx *ctx, const struct shim_runc_run *run,
	      struct ttrpc_call *call, shim_runc_done_fn done, void *arg)
{
	struct ttrpcd_spawn spawn = { .stdio = { -1, -1, -1 } };
	const char *argv[MAX_ARGS];
	char logpath[4096];
	struct shim_runc *op;
	int pipefd[2] = { -1, -1 };
	size_t n = 0;
	int r;

	snprintf(logpath, sizeof(logpath), "%s/log.json", ctx->bundle);
	argv[n++] = ctx->binary;
	argv[n++] = "--root";
	argv[n++] = ctx->root;
	argv[n++] = "--log";
	argv[n++] = logpath;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	if (ctx->systemd_cgroup)
		argv[n++] = "--systemd-cgroup";
	for (const char *const *a = run->args; *a; a++) {
		if (n >= MAX_ARGS - 1)
			return -E2BIG;
		argv[n++] = *a;
	}
	argv[n] = NULL;
	spawn.argv = argv;
	for (int i = 0; run->stdio && i < 3; i++)
		spawn.stdio[i] = run->stdio[i];
	if (!done)
		return ttrpcd_host_spawn(shim.host, &spawn, NULL, NULL, &(pid_t){ 0 });
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->out = -1;
	if (run->capture) {
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			r = -errno;
			op_free(op);
			return r;
		}
		op->out = pipefd[0];
		spawn.stdio[1] = pipefd[1];
		op->out_ev = event_new(shim.base, op->out, EV_READ | EV_PERSIST, on_out, op);
		if (fcntl(op->out, F_SETFL, O_NONBLOCK) < 0 || !op->out_ev ||
		    event_add(op->out_ev, NULL) < 0) {
			close(pipefd[1]);
			op_free(op);
			return -ENOMEM;
		}
	}
	r = ttrpcd_host_spawn(shim.host, &spawn, on_exit_, op, &op->pid);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (r < 0) {
		op_free(op);
		return r;
	}
	op->call = call;
	op->done = done;
	op->arg = arg;
	op->next = running;
	running = op;
	if (call)
		ttrpc_call_on_cancel(call, on_cancel, op);
	return 0;
}

struct ttrpc_call *shim_runc_call(const struct shim_runc *op)
{
	return op->call;
}

const char *shim_runc_output(const struct shim_runc *op)
{
	return op->buf;
}

void shim_runc_last_error_of(const struct shim_runc_ctx *ctx, char *msg, size_t size)
{
	char path[4096], buf[16384];
	ssize_t k;
	int fd;

	msg[0] = '\0';
	snprintf(path, sizeof(path), "%s/log.json", ctx->bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* The end of the file is where the last error is. */
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf))
		lseek(fd, -(off_t)sizeof(buf), SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	k = read(fd, buf, sizeof(buf));
	close(fd);
	if (k > 0)
		shim_runc_last_error(buf, (size_t)k, msg, size);
}

void shim_runc_fail(struct ttrpc_call *call, const struct shim_runc_ctx *ctx, const char *what,
		    int status)
{
	char msg[1024];

	shim_runc_last_error_of(ctx, msg, sizeof(msg));
	if (!*msg)
		snprintf(msg, sizeof(msg), "%s", status < 0 ? strerror(-status) : "exit status");
	shim_log(TTRPC_LOG_ERR, "runc %s: %s", what, msg);
	if (call)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime %s failed: %s", what, msg);
}

void shim_runc_forget_all(void (*forget)(void *arg))
{
	while (running) {
		struct shim_runc *op = running;

		running = op->next;
		forget(op->arg);
		op_free(op);
	}
}
