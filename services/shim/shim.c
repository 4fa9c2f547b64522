/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim module: containerd.task.v2.Task for one container, run through
 * runc the way containerd-shim-runc-v2 drives it (create, start, kill, ps,
 * delete), with ttrpcd as the child subreaper of the container's init and
 * the task events forwarded to containerd's ttrpc address.
 *
 * containerd-shim-ttrpcd-v2 (launcher.c) starts one ttrpcd per container
 * with this module and writes its settings: namespace, id, ttrpc-address,
 * socket, runc, runc-root. Exec processes and terminals are not supported.
 *
 * runc runs through the host (ttrpcd_host_spawn()): a handler starts it and
 * answers its call when runc exits, so the loop never waits for runc. The
 * container's init is ttrpcd's child once runc create exits (ttrpcd is the
 * subreaper): the module watches it from then on (ttrpcd_host_watch_pid()),
 * and the host keeps an exit reaped before that. An exit that comes while
 * runc start runs waits until the start is answered and published, so that
 * containerd sees TaskStart before TaskExit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttrpc/module.h>

#include "events.ttrpc-c.h"
#include "task.ttrpc-c.h"

typedef Ttrpcd__Shim__Types__Timestamp Timestamp;
typedef Ttrpcd__Shim__Types__Empty Empty;
typedef Ttrpcd__Shim__Types__Any Any;
typedef Ttrpcd__Shim__Types__Mount Mount;

#define TIMESTAMP_INIT TTRPCD__SHIM__TYPES__TIMESTAMP__INIT
#define EMPTY_INIT TTRPCD__SHIM__TYPES__EMPTY__INIT

enum {
	ST_CREATED = CONTAINERD__TASK__V2__STATUS__CREATED,
	ST_RUNNING = CONTAINERD__TASK__V2__STATUS__RUNNING,
	ST_STOPPED = CONTAINERD__TASK__V2__STATUS__STOPPED,
};

/* 128 + signal for a process killed by one, as the Go shim reports it. */
#define EXIT_SIGNAL_OFFSET 128

/* How long a Forward may take, and how often one is tried (the Go shim: 5). */
#define EVENT_TIMEOUT_US (5 * 1000 * 1000)
#define EVENT_TRIES 5

struct task {
	char *id;
	char *bundle;
	char *stdin_path, *stdout_path, *stderr_path;
	pid_t pid;
	int status;
	uint32_t exit_status;
	struct timespec exited_at;
	bool mounted;  /* bundle/rootfs mounted from the Create request */
	bool creating; /* runc create runs: not a task yet for other calls */
	bool starting; /* runc start runs */
	bool deleting; /* runc delete runs */
	bool watching; /* the host tells us of the init's exit */
	bool held;     /* the init exited while runc start ran: held_status */
	int held_status;
	bool gone;   /* deleted: freed once no runc of it runs */
	size_t runs; /* runc processes of this task still running */
	/* Wait calls pending until the exit. */
	struct ttrpc_call **waiters;
	size_t n_waiters;
};

struct runc;

/* Called when runc exits: @status is its exit status, 128 + signal if killed. */
typedef void (*runc_done_fn)(struct runc *op, int status);

/* One runc process, and the call that waits for it. */
struct runc {
	struct runc *next;       /* in shim.runs */
	struct ttrpc_call *call; /* NULL once the caller left */
	struct task *t;
	runc_done_fn done;
	pid_t pid;
	int out; /* its stdout, read as it comes, when captured; else -1 */
	struct event *out_ev;
	char buf[8192];
	size_t len;
	ProtobufCMessage *req; /* a copy of the request, when done needs it */
};

struct event_item {
	struct event_item *next;
	char *topic;
	char *type_url;
	uint8_t *data;
	size_t len;
	struct timespec ts;
	int tries;
};

static struct {
	struct ttrpcd_host *host;
	struct event_base *base;
	struct runc *runs; /* runc processes running */
	const char *ns, *id, *ttrpc_address, *socket, *runc, *runc_root;
	struct task *task;
	/* Events, forwarded one at a time so that containerd sees them in order. */
	struct ttrpc_client *events;
	struct event_item *ev_head, **ev_tail;
	bool ev_busy;
	struct event *ev_retry;
	/* Shutdown asked: exit once the events are out. */
	bool exiting;
	struct event *exit_timer;
} shim;

#define log_(level, ...) ttrpcd_host_log(shim.host, (level), __VA_ARGS__)

static void now(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
}

static void to_timestamp(Timestamp *t, const struct timespec *ts)
{
	t->seconds = ts->tv_sec;
	t->nanos = (int32_t)ts->tv_nsec;
}

/* ---- events: containerd.services.events.ttrpc.v1.Events/Forward ---- */

static void events_kick(void);

static void item_free(struct event_item *e)
{
	free(e->topic);
	free(e->type_url);
	free(e->data);
	free(e);
}

static void event_pop(void)
{
	struct event_item *e = shim.ev_head;

	shim.ev_head = e->next;
	if (!shim.ev_head)
		shim.ev_tail = &shim.ev_head;
	item_free(e);
}

static void on_forwarded(const struct ttrpc_result *r, const Empty *resp, void *userdata)
{
	struct event_item *e = shim.ev_head;

	(void)resp;
	(void)userdata;
	shim.ev_busy = false;
	if (r->error == 0 && r->code == TTRPC_OK) {
		event_pop();
		events_kick();
		return;
	}
	log_(TTRPC_LOG_WARNING, "event %s: forward failed (try %d): %s", e->topic, e->tries,
	     r->error ? strerror(-r->error) : r->message);
	if (r->error) {
		ttrpc_client_free(shim.events);
		shim.events = NULL;
	}
	if (e->tries >= EVENT_TRIES) {
		event_pop();
		events_kick();
		return;
	}
	/* Back off a little, as the Go publisher does, then try again. */
	struct timeval tv = { 0, 100 * 1000 * e->tries };
	evtimer_add(shim.ev_retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	events_kick();
}

static void events_kick(void)
{
	Containerd__Services__Events__Ttrpc__V1__ForwardRequest req =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__FORWARD_REQUEST__INIT;
	Containerd__Services__Events__Ttrpc__V1__Envelope env =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__ENVELOPE__INIT;
	Timestamp ts = TIMESTAMP_INIT;
	Any any = TTRPCD__SHIM__TYPES__ANY__INIT;
	/* containerd takes the namespace of an event from the call's metadata. */
	const struct ttrpc_kv md[] = { { "containerd-namespace-ttrpc", shim.ns } };
	const struct ttrpc_call_opts opts = {
		.timeout_us = EVENT_TIMEOUT_US,
		.metadata = md,
		.n_metadata = 1,
	};
	struct event_item *e = shim.ev_head;
	int r;

	if (shim.ev_busy || !e || evtimer_pending(shim.ev_retry, NULL))
		return;
	e->tries++;
	if (!shim.events) {
		r = ttrpc_client_connect(shim.base, shim.ttrpc_address, &shim.events);
		if (r < 0) {
			struct ttrpc_result res = { .error = r,
						    .code = TTRPC_UNAVAILABLE,
						    .message = "" };

			shim.events = NULL;
			shim.ev_busy = true;
			on_forwarded(&res, NULL, NULL);
			return;
		}
	}
	to_timestamp(&ts, &e->ts);
	any.type_url = e->type_url;
	any.value.data = e->data;
	any.value.len = e->len;
	env.timestamp = &ts;
	env.namespace_ = (char *)shim.ns;
	env.topic = e->topic;
	env.event = &any;
	req.envelope = &env;
	r = containerd__services__events__ttrpc__v1__events_forward(shim.events, &req, &opts,
								    on_forwarded, NULL, NULL);
	if (r < 0) {
		struct ttrpc_result res = { .error = r, .code = TTRPC_UNAVAILABLE, .message = "" };

		shim.ev_busy = true;
		on_forwarded(&res, NULL, NULL);
		return;
	}
	shim.ev_busy = true;
}

/* Queue @msg under @topic; @name is its upstream type, containerd.events.NAME. */
static void publish(const char *topic, const char *name, const ProtobufCMessage *msg)
{
	struct event_item *e = calloc(1, sizeof(*e));

	if (!e || !shim.ttrpc_address || !*shim.ttrpc_address) {
		free(e);
		return;
	}
	e->len = protobuf_c_message_get_packed_size(msg);
	e->data = malloc(e->len ? e->len : 1);
	e->topic = strdup(topic);
	if (asprintf(&e->type_url, "containerd.events.%s", name) < 0)
		e->type_url = NULL;
	if (!e->data || !e->topic || !e->type_url) {
		log_(TTRPC_LOG_ERR, "event %s: out of memory, dropped", topic);
		item_free(e);
		return;
	}
	protobuf_c_message_pack(msg, e->data);
	now(&e->ts);
	*shim.ev_tail = e;
	shim.ev_tail = &e->next;
	events_kick();
}

/* ---- runc ---- */

static void task_release(struct task *t);

static void runc_free(struct runc *op)
{
	if (op->out_ev)
		event_free(op->out_ev);
	if (op->out >= 0)
		close(op->out);
	if (op->req)
		protobuf_c_message_free_unpacked(op->req, NULL);
	free(op);
}

/* Read what runc printed so far; stop at EOF or when nothing is left. */
static void runc_read(struct runc *op)
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

static void on_runc_out(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	runc_read(arg);
}

/* The caller left: its call must still be finished; runc runs on. */
static void on_runc_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct runc *op = userdata;

	ttrpc_call_fail(call, code, "cancelled");
	op->call = NULL;
}

static void on_runc_exit(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	struct runc *op = userdata, **link = &shim.runs;
	struct task *t = op->t;

	(void)host;
	(void)pid;
	while (*link != op)
		link = &(*link)->next;
	*link = op->next;
	if (op->out >= 0)
		runc_read(op);
	if (op->call)
		ttrpc_call_on_cancel(op->call, NULL, NULL);
	op->done(op, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
					: EXIT_SIGNAL_OFFSET + WTERMSIG(wstatus));
	runc_free(op);
	t->runs--;
	task_release(t);
}

/*
 * Run runc for @t with the global flags first (--root, --log in the bundle,
 * as the Go shim), then @args. @stdio: the fds of its 0, 1, 2 (-1:
 * /dev/null), or NULL for none. @capture: its stdout is read into the op's
 * buf. @done: called when runc exits, with @call, which then is the op's to
 * answer; NULL: nobody waits for this runc. Return: 0 or a negative errno
 * (then @done is never called).
 */
static int run_runc(struct task *t, struct ttrpc_call *call, const char *const *args,
		    const int stdio[3], bool capture, runc_done_fn done, struct runc **ret)
{
	struct ttrpcd_spawn spawn = { .stdio = { -1, -1, -1 } };
	const char *argv[32];
	char logpath[4096];
	struct runc *op = NULL;
	int pipefd[2] = { -1, -1 };
	size_t n = 0;
	int r;

	snprintf(logpath, sizeof(logpath), "%s/log.json", t->bundle);
	argv[n++] = shim.runc;
	argv[n++] = "--root";
	argv[n++] = shim.runc_root;
	argv[n++] = "--log";
	argv[n++] = logpath;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	spawn.argv = argv;
	for (int i = 0; stdio && i < 3; i++)
		spawn.stdio[i] = stdio[i];
	if (!done)
		return ttrpcd_host_spawn(shim.host, &spawn, NULL, NULL, &(pid_t){ 0 });
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->out = -1;
	if (capture) {
		if (pipe2(pipefd, O_CLOEXEC) < 0) {
			r = -errno;
			runc_free(op);
			return r;
		}
		op->out = pipefd[0];
		spawn.stdio[1] = pipefd[1];
		op->out_ev = event_new(shim.base, op->out, EV_READ | EV_PERSIST, on_runc_out, op);
		/* Non-blocking on our side only: runc's stdout stays as it expects. */
		if (fcntl(op->out, F_SETFL, O_NONBLOCK) < 0 || !op->out_ev ||
		    event_add(op->out_ev, NULL) < 0) {
			close(pipefd[1]);
			runc_free(op);
			return -ENOMEM;
		}
	}
	r = ttrpcd_host_spawn(shim.host, &spawn, on_runc_exit, op, &op->pid);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (r < 0) {
		runc_free(op);
		return r;
	}
	op->t = t;
	op->call = call;
	op->done = done;
	op->next = shim.runs;
	shim.runs = op;
	t->runs++;
	if (call)
		ttrpc_call_on_cancel(call, on_runc_cancel, op);
	if (ret)
		*ret = op;
	return 0;
}

/*
 * The message of runc's last error, from its JSON log ({"level":"error",
 * "msg":"...","time":...}), as the Go shim reports it; "" if none.
 */
static void runc_error(const struct task *t, char *msg, size_t size)
{
	char path[4096], buf[16384];
	const char *p, *last = NULL;
	size_t n = 0;
	ssize_t k;
	int fd;

	msg[0] = '\0';
	snprintf(path, sizeof(path), "%s/log.json", t->bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	/* The end of the file is where the last error is. */
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1)
		lseek(fd, -(off_t)(sizeof(buf) - 1), SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	k = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (k <= 0)
		return;
	buf[k] = '\0';
	for (p = buf; (p = strstr(p, "\"msg\":\"")); p++)
		last = p + 7;
	if (!last)
		return;
	for (p = last; *p && *p != '"' && n + 1 < size; p++) {
		if (*p == '\\' && p[1])
			p++;
		msg[n++] = *p;
	}
	msg[n] = '\0';
}

/* Fail @call (if the caller is still there) with runc's own words about why @what failed. */
static void fail_runc(struct ttrpc_call *call, const struct task *t, const char *what, int r)
{
	char msg[1024];

	runc_error(t, msg, sizeof(msg));
	if (!*msg)
		snprintf(msg, sizeof(msg), "%s", r < 0 ? strerror(-r) : "exit status");
	log_(TTRPC_LOG_ERR, "runc %s %s: %s", what, t->id, msg);
	if (call)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime %s failed: %s", what, msg);
}

/* ---- rootfs mounts of the Create request ---- */

static const struct mount_flag {
	const char *name;
	unsigned long flag;
	bool clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, false },        { "rw", MS_RDONLY, true },
	{ "nosuid", MS_NOSUID, false },    { "suid", MS_NOSUID, true },
	{ "nodev", MS_NODEV, false },      { "dev", MS_NODEV, true },
	{ "noexec", MS_NOEXEC, false },    { "exec", MS_NOEXEC, true },
	{ "sync", MS_SYNCHRONOUS, false }, { "async", MS_SYNCHRONOUS, true },
	{ "noatime", MS_NOATIME, false },  { "relatime", MS_RELATIME, false },
	{ "bind", MS_BIND, false },        { "rbind", MS_BIND | MS_REC, false },
};

/* Mount @m on @target: known options become flags, the rest the data. */
static int mount_one(const Mount *m, const char *target)
{
	unsigned long flags = 0;
	char data[4096] = "";
	size_t dlen = 0;

	for (size_t i = 0; i < m->n_options; i++) {
		const char *o = m->options[i];
		bool known = false;

		for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++) {
			if (strcmp(o, mount_flags[k].name) == 0) {
				if (mount_flags[k].clear)
					flags &= ~mount_flags[k].flag;
				else
					flags |= mount_flags[k].flag;
				known = true;
			}
		}
		if (!known) {
			int k = snprintf(data + dlen, sizeof(data) - dlen, "%s%s", dlen ? "," : "",
					 o);

			if (k < 0 || (size_t)k >= sizeof(data) - dlen)
				return -E2BIG;
			dlen += (size_t)k;
		}
	}
	if (mount(m->source, target, m->type, flags & ~MS_RDONLY, dlen ? data : NULL) < 0)
		return -errno;
	/* A bind mount takes MS_RDONLY only on a remount. */
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
		int r = -errno;

		umount2(target, MNT_DETACH);
		return r;
	}
	if (!(flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(NULL, target, NULL, MS_REMOUNT | flags, dlen ? data : NULL) < 0) {
		int r = -errno;

		umount2(target, MNT_DETACH);
		return r;
	}
	return 0;
}

static void unmount_rootfs(struct task *t)
{
	char path[4096];

	if (!t->mounted)
		return;
	snprintf(path, sizeof(path), "%s/rootfs", t->bundle);
	/* Mounts may stack (a snapshot under a bind): take them all off. */
	while (umount2(path, MNT_DETACH) == 0)
		;
	t->mounted = false;
}

/* ---- the task ---- */

static void task_free(struct task *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->bundle);
	free(t->stdin_path);
	free(t->stdout_path);
	free(t->stderr_path);
	free(t->waiters);
	free(t);
}

/* Free a deleted task once no runc of it runs any more. */
static void task_release(struct task *t)
{
	if (t->gone && t->runs == 0)
		task_free(t);
}

/* The task is over for containerd: gone from the shim, freed when its runc are. */
static void task_drop(struct task *t)
{
	if (t->watching)
		ttrpcd_host_unwatch_pid(shim.host, t->pid);
	t->watching = false;
	unmount_rootfs(t);
	if (shim.task == t)
		shim.task = NULL;
	t->gone = true;
	task_release(t);
}

static void reply_wait(struct ttrpc_call *call, const struct task *t)
{
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Timestamp ts = TIMESTAMP_INIT;

	to_timestamp(&ts, &t->exited_at);
	resp.exit_status = t->exit_status;
	resp.exited_at = &ts;
	containerd__task__v2__task_wait_reply(call, &resp);
}

/* The task stopped: every pending Wait gets its exit status. */
static void answer_waiters(struct task *t)
{
	while (t->n_waiters > 0) {
		struct ttrpc_call *call = t->waiters[--t->n_waiters];

		ttrpc_call_on_cancel(call, NULL, NULL);
		reply_wait(call, t);
	}
}

static void forget_waiter(struct task *t, struct ttrpc_call *call)
{
	for (size_t i = 0; i < t->n_waiters; i++) {
		if (t->waiters[i] == call) {
			t->waiters[i] = t->waiters[--t->n_waiters];
			return;
		}
	}
}

/* containerd went away while it waited: the call still has to be finished. */
static void on_wait_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct task *t = userdata;

	forget_waiter(t, call);
	ttrpc_call_fail(call, code, "cancelled");
}

static void task_exited(struct task *t, int wstatus)
{
	Containerd__Services__Events__Ttrpc__V1__TaskExit ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXIT__INIT;
	Timestamp ts = TIMESTAMP_INIT;

	t->exit_status = WIFEXITED(wstatus) ? (uint32_t)WEXITSTATUS(wstatus)
					    : (uint32_t)(EXIT_SIGNAL_OFFSET + WTERMSIG(wstatus));
	now(&t->exited_at);
	t->status = ST_STOPPED;
	log_(TTRPC_LOG_INFO, "task %s: pid %d exited with status %u", t->id, (int)t->pid,
	     t->exit_status);
	to_timestamp(&ts, &t->exited_at);
	ev.container_id = t->id;
	ev.id = t->id;
	ev.pid = (uint32_t)t->pid;
	ev.exit_status = t->exit_status;
	ev.exited_at = &ts;
	publish("/tasks/exit", "TaskExit", &ev.base);
	answer_waiters(t);
}

/* The container's init ended; told by the host, which reaps. */
static void on_init_exit(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	struct task *t = userdata;

	(void)host;
	(void)pid;
	t->watching = false;
	if (t->starting) {
		/* After TaskStart: containerd must not hear of an exit first. */
		t->held = true;
		t->held_status = wstatus;
		return;
	}
	if (t->status != ST_STOPPED)
		task_exited(t, wstatus);
}

/*
 * The task a request names; fails the call and returns NULL if there is
 * none or it names an exec process (exec is not supported).
 */
static struct task *find_task(struct ttrpc_call *call, const char *id, const char *exec_id)
{
	struct task *t = shim.task;

	if (!t || t->creating || strcmp(t->id, id) != 0) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "task %s not found", id);
		return NULL;
	}
	if (exec_id && *exec_id) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process %s does not exist", exec_id);
		return NULL;
	}
	return t;
}

/* A fifo of containerd's, for the container; "" is /dev/null. */
static int open_stdio(const char *path, int which)
{
	int fd;

	if (!path || !*path)
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	if (which == 0) {
		/* Not blocking in open until containerd's writer comes; reads block. */
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
		return fd;
	}
	/*
	 * O_RDWR neither blocks until a reader opens nor fails with ENXIO, and
	 * keeps the container from SIGPIPE when ctr leaves (run -d), as the Go
	 * shim keeps a reader open for the same reason.
	 */
	return open(path, O_RDWR | O_CLOEXEC);
}

/* A copy of @msg that outlives its call: unpacked from its packed bytes. */
static ProtobufCMessage *copy_message(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	ProtobufCMessage *copy = NULL;

	if (buf) {
		protobuf_c_message_pack(msg, buf);
		copy = protobuf_c_message_unpack(msg->descriptor, NULL, len, buf);
		free(buf);
	}
	return copy;
}

/* runc create is over: the init waits in runc init for start. */
static void create_done(struct runc *op, int status)
{
	const Containerd__Task__V2__CreateTaskRequest *req = (const void *)op->req;
	Containerd__Task__V2__CreateTaskResponse resp =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskCreate ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_CREATE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskIO io =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_IO__INIT;
	const char *del[] = { "delete", "--force", op->t->id, NULL };
	struct task *t = op->t;
	char pidfile[4096], buf[32];
	int r, fd;

	if (status != 0) {
		fail_runc(op->call, t, "create", status);
		task_drop(t);
		return;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", t->bundle);
	fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	r = fd >= 0 ? (int)read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (r <= 0 || (buf[r] = '\0', t->pid = (pid_t)atoi(buf)) <= 0) {
		if (op->call)
			ttrpc_call_fail(op->call, TTRPC_UNKNOWN, "no pid in %s", pidfile);
		run_runc(t, NULL, del, NULL, false, NULL, NULL);
		task_drop(t);
		return;
	}
	/* runc exited: its init is ours now, exited or not. */
	r = ttrpcd_host_watch_pid(shim.host, t->pid, on_init_exit, t);
	if (r < 0) {
		log_(TTRPC_LOG_ERR, "task %s: cannot watch pid %d: %s", t->id, (int)t->pid,
		     strerror(-r));
		if (op->call)
			ttrpc_call_fail(op->call, TTRPC_UNKNOWN, "cannot watch pid %d: %s",
					(int)t->pid, strerror(-r));
		run_runc(t, NULL, del, NULL, false, NULL, NULL);
		task_drop(t);
		return;
	}
	t->watching = true;
	t->creating = false;
	t->status = ST_CREATED;
	log_(TTRPC_LOG_INFO, "task %s: created, pid %d", t->id, (int)t->pid);

	io.stdin = t->stdin_path;
	io.stdout = t->stdout_path;
	io.stderr = t->stderr_path;
	ev.container_id = t->id;
	ev.bundle = t->bundle;
	if (req) {
		ev.n_rootfs = req->n_rootfs;
		ev.rootfs = req->rootfs;
	}
	ev.io = &io;
	ev.pid = (uint32_t)t->pid;
	publish("/tasks/create", "TaskCreate", &ev.base);
	resp.pid = (uint32_t)t->pid;
	if (op->call)
		containerd__task__v2__task_create_reply(op->call, &resp);
}

static void on_create(struct ttrpc_call *call, const Containerd__Task__V2__CreateTaskRequest *req,
		      void *userdata)
{
	char pidfile[4096], rootfs[4096];
	int stdio[3] = { -1, -1, -1 };
	struct runc *op;
	struct task *t;
	int r;

	(void)userdata;
	if (shim.task) {
		ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS, "task %s already exists",
				shim.task->id);
		return;
	}
	if (req->terminal || *req->checkpoint) {
		ttrpc_call_fail(call, TTRPC_UNIMPLEMENTED, "%s is not supported by this shim",
				req->terminal ? "a terminal" : "a checkpoint");
		return;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->id = strdup(req->id)) || !(t->bundle = strdup(req->bundle)) ||
	    !(t->stdin_path = strdup(req->stdin)) || !(t->stdout_path = strdup(req->stdout)) ||
	    !(t->stderr_path = strdup(req->stderr))) {
		task_free(t);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	/* With mounts, the bundle's config.json names rootfs; without, its own path. */
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", t->bundle);
	for (size_t i = 0; i < req->n_rootfs; i++) {
		if (i == 0 && mkdir(rootfs, 0711) < 0 && errno != EEXIST) {
			r = -errno;
			goto fail_mount;
		}
		r = mount_one(req->rootfs[i], rootfs);
		if (r < 0)
			goto fail_mount;
		t->mounted = true;
	}
	for (int i = 0; i < 3; i++) {
		const char *path = i == 0   ? t->stdin_path
				   : i == 1 ? t->stdout_path
					    : t->stderr_path;

		stdio[i] = open_stdio(path, i);
		if (stdio[i] < 0) {
			r = -errno;
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "open %s: %s", path, strerror(-r));
			goto fail;
		}
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", t->bundle);
	const char *args[] = { "create", "--bundle", t->bundle, "--pid-file", pidfile, t->id, NULL };

	t->creating = true;
	shim.task = t;
	r = run_runc(t, call, args, stdio, false, create_done, &op);
	/* runc has its copies. */
	for (int i = 0; i < 3; i++)
		close(stdio[i]);
	if (r == 0 && !(op->req = copy_message(&req->base))) {
		/* Too late to take it back: runc runs; TaskCreate goes without mounts. */
		log_(TTRPC_LOG_WARNING, "task %s: out of memory copying the request", t->id);
	}
	if (r < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime create failed: %s", strerror(-r));
		shim.task = NULL;
		goto fail_closed;
	}
	return;

fail_mount:
	ttrpc_call_fail(call, TTRPC_UNKNOWN, "mount rootfs on %s: %s", rootfs, strerror(-r));
	goto fail_closed;
fail:
	for (int i = 0; i < 3; i++)
		if (stdio[i] >= 0)
			close(stdio[i]);
fail_closed:
	unmount_rootfs(t);
	task_free(t);
}

static void start_done(struct runc *op, int status)
{
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskStart ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_START__INIT;
	struct task *t = op->t;

	t->starting = false;
	if (status != 0) {
		fail_runc(op->call, t, "start", status);
	} else {
		if (t->status == ST_CREATED)
			t->status = ST_RUNNING;
		ev.container_id = t->id;
		ev.pid = (uint32_t)t->pid;
		publish("/tasks/start", "TaskStart", &ev.base);
		resp.pid = (uint32_t)t->pid;
		if (op->call)
			containerd__task__v2__task_start_reply(op->call, &resp);
	}
	if (t->held) {
		t->held = false;
		task_exited(t, t->held_status);
	}
}

static void on_start(struct ttrpc_call *call, const Containerd__Task__V2__StartRequest *req,
		     void *userdata)
{
	struct task *t = find_task(call, req->id, req->exec_id);
	int r;

	(void)userdata;
	if (!t)
		return;
	if (t->status != ST_CREATED || t->starting || t->deleting) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "task %s is not created", t->id);
		return;
	}
	const char *args[] = { "start", t->id, NULL };

	t->starting = true;
	r = run_runc(t, call, args, NULL, false, start_done, NULL);
	if (r < 0) {
		t->starting = false;
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime start failed: %s", strerror(-r));
	}
}

static void on_wait(struct ttrpc_call *call, const Containerd__Task__V2__WaitRequest *req,
		    void *userdata)
{
	struct task *t = find_task(call, req->id, req->exec_id);
	struct ttrpc_call **v;

	(void)userdata;
	if (!t)
		return;
	if (t->status == ST_STOPPED) {
		reply_wait(call, t);
		return;
	}
	v = realloc(t->waiters, (t->n_waiters + 1) * sizeof(*v));
	if (!v) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	t->waiters = v;
	v[t->n_waiters++] = call;
	ttrpc_call_on_cancel(call, on_wait_cancel, t);
}

static void on_state(struct ttrpc_call *call, const Containerd__Task__V2__StateRequest *req,
		     void *userdata)
{
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Timestamp ts = TIMESTAMP_INIT;
	struct task *t = find_task(call, req->id, req->exec_id);

	(void)userdata;
	if (!t)
		return;
	resp.id = t->id;
	resp.bundle = t->bundle;
	resp.pid = (uint32_t)t->pid;
	resp.status = (Containerd__Task__V2__Status)t->status;
	resp.stdin = t->stdin_path;
	resp.stdout = t->stdout_path;
	resp.stderr = t->stderr_path;
	if (t->status == ST_STOPPED) {
		resp.exit_status = t->exit_status;
		to_timestamp(&ts, &t->exited_at);
		resp.exited_at = &ts;
	}
	containerd__task__v2__task_state_reply(call, &resp);
}

static void kill_done(struct runc *op, int status)
{
	Empty resp = EMPTY_INIT;

	if (status != 0)
		fail_runc(op->call, op->t, "kill", status);
	else if (op->call)
		containerd__task__v2__task_kill_reply(op->call, &resp);
}

static void on_kill(struct ttrpc_call *call, const Containerd__Task__V2__KillRequest *req,
		    void *userdata)
{
	struct task *t = find_task(call, req->id, req->exec_id);
	char sig[16];
	int r;

	(void)userdata;
	if (!t)
		return;
	if (t->status == ST_STOPPED) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process already finished");
		return;
	}
	snprintf(sig, sizeof(sig), "%u", req->signal);
	const char *args_all[] = { "kill", "--all", t->id, sig, NULL };
	const char *args_one[] = { "kill", t->id, sig, NULL };

	r = run_runc(t, call, req->all ? args_all : args_one, NULL, false, kill_done, NULL);
	if (r < 0)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime kill failed: %s", strerror(-r));
}

static void pids_done(struct runc *op, int status)
{
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	Containerd__Task__V2__ProcessInfo info[256], *pinfo[256];
	size_t n = 0;

	if (status != 0) {
		fail_runc(op->call, op->t, "ps", status);
		return;
	}
	if (!op->call)
		return;
	/* runc prints a JSON array of numbers: [1234,1240] */
	for (char *p = op->buf; *p && n < 256;) {
		if (*p >= '0' && *p <= '9') {
			char *end;
			unsigned long pid = strtoul(p, &end, 10);

			containerd__task__v2__process_info__init(&info[n]);
			info[n].pid = (uint32_t)pid;
			pinfo[n] = &info[n];
			n++;
			p = end;
		} else {
			p++;
		}
	}
	resp.n_processes = n;
	resp.processes = pinfo;
	containerd__task__v2__task_pids_reply(op->call, &resp);
}

static void on_pids(struct ttrpc_call *call, const Containerd__Task__V2__PidsRequest *req,
		    void *userdata)
{
	struct task *t = find_task(call, req->id, NULL);
	int r;

	(void)userdata;
	if (!t)
		return;
	const char *args[] = { "ps", "--format", "json", t->id, NULL };

	r = run_runc(t, call, args, NULL, true, pids_done, NULL);
	if (r < 0)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime ps failed: %s", strerror(-r));
}

static void delete_done(struct runc *op, int status)
{
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskDelete ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_DELETE__INIT;
	Timestamp ts = TIMESTAMP_INIT;
	struct task *t = op->t;

	t->deleting = false;
	if (status != 0) {
		fail_runc(op->call, t, "delete", status);
		return;
	}
	if (t->status == ST_CREATED) {
		t->status = ST_STOPPED;
		t->exit_status = EXIT_SIGNAL_OFFSET + SIGKILL;
		now(&t->exited_at);
		answer_waiters(t);
	}
	to_timestamp(&ts, &t->exited_at);
	/* No id: the Go shim sets it only for exec processes. */
	ev.container_id = t->id;
	ev.pid = (uint32_t)t->pid;
	ev.exit_status = t->exit_status;
	ev.exited_at = &ts;
	publish("/tasks/delete", "TaskDelete", &ev.base);
	resp.pid = (uint32_t)t->pid;
	resp.exit_status = t->exit_status;
	resp.exited_at = &ts;
	if (op->call)
		containerd__task__v2__task_delete_reply(op->call, &resp);
	log_(TTRPC_LOG_INFO, "task %s: deleted", t->id);
	task_drop(t);
}

static void on_delete(struct ttrpc_call *call, const Containerd__Task__V2__DeleteRequest *req,
		      void *userdata)
{
	struct task *t = find_task(call, req->id, req->exec_id);
	int r;

	(void)userdata;
	if (!t)
		return;
	if (t->status == ST_RUNNING || t->starting || t->deleting) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "cannot delete a running process");
		return;
	}
	/* A created task's init still waits in runc init: --force kills it, and
	 * that exit is not the task's (it never started): nobody is told. */
	const char *args[] = { "delete", "--force", t->id, NULL };

	if (t->status == ST_CREATED && t->watching) {
		ttrpcd_host_unwatch_pid(shim.host, t->pid);
		t->watching = false;
	}
	t->deleting = true;
	r = run_runc(t, call, args, NULL, false, delete_done, NULL);
	if (r < 0) {
		t->deleting = false;
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime delete failed: %s", strerror(-r));
	}
}

static void on_connect(struct ttrpc_call *call, const Containerd__Task__V2__ConnectRequest *req,
		       void *userdata)
{
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;

	(void)req;
	(void)userdata;
	resp.shim_pid = (uint32_t)getpid();
	resp.task_pid = shim.task ? (uint32_t)shim.task->pid : 0;
	resp.version = (char *)"ttrpcd";
	containerd__task__v2__task_connect_reply(call, &resp);
}

/*
 * The daemon stops on SIGTERM: calls drain, the listener closes, fini runs.
 * First the queued events (TaskDelete) go out, for a bounded time.
 */
static void on_exit_timer(evutil_socket_t fd, short what, void *arg)
{
	static int ticks;

	(void)fd;
	(void)what;
	(void)arg;
	if ((shim.ev_head || shim.ev_busy) && ++ticks < 50) {
		struct timeval tv = { 0, 100 * 1000 };

		evtimer_add(shim.exit_timer, &tv);
		return;
	}
	ttrpcd_host_stop(shim.host);
}

static void on_shutdown(struct ttrpc_call *call, const Containerd__Task__V2__ShutdownRequest *req,
			void *userdata)
{
	Empty resp = EMPTY_INIT;
	struct timeval tv = { 0, 0 };

	(void)req;
	(void)userdata;
	/* As the Go shim: a shim with a task left keeps serving it. */
	if (shim.task) {
		containerd__task__v2__task_shutdown_reply(call, &resp);
		return;
	}
	/* Nobody must find the socket once the shim said it goes (the Go shim too). */
	if (shim.socket && *shim.socket)
		unlink(shim.socket);
	containerd__task__v2__task_shutdown_reply(call, &resp);
	if (!shim.exiting) {
		shim.exiting = true;
		evtimer_add(shim.exit_timer, &tv);
	}
}

static const struct containerd__task__v2__task_handlers task_handlers = {
	.state = on_state,
	.create = on_create,
	.start = on_start,
	.delete = on_delete,
	.pids = on_pids,
	.kill = on_kill,
	.wait = on_wait,
	.connect = on_connect,
	.shutdown = on_shutdown,
};

static const char *setting(struct ttrpcd_host *host, const char *key, const char *def)
{
	const char *v = ttrpcd_host_config(host, key);

	return v && *v ? v : def;
}

static int shim_init(struct ttrpcd_host *host)
{
	static char runc_root[4096];
	struct ttrpc_service svc;
	int r;

	shim.host = host;
	shim.base = ttrpcd_host_event_base(host);
	shim.ns = setting(host, "namespace", "default");
	shim.id = setting(host, "id", "");
	shim.ttrpc_address = setting(host, "ttrpc-address", getenv("TTRPC_ADDRESS"));
	shim.socket = setting(host, "socket", NULL);
	shim.runc = setting(host, "runc", "runc");
	/* The Go shim's default, /run/containerd/runc/NAMESPACE. */
	snprintf(runc_root, sizeof(runc_root), "/run/containerd/runc/%s", shim.ns);
	shim.runc_root = setting(host, "runc-root", runc_root);
	shim.ev_tail = &shim.ev_head;

	/* Orphans of the container (its init once runc exits) come to ttrpcd. */
	r = ttrpcd_host_set_subreaper(host, true);
	if (r < 0)
		return r;
	shim.ev_retry = evtimer_new(shim.base, on_retry, NULL);
	shim.exit_timer = evtimer_new(shim.base, on_exit_timer, NULL);
	if (!shim.ev_retry || !shim.exit_timer)
		return -ENOMEM;
	log_(TTRPC_LOG_INFO, "shim for %s/%s, runc %s --root %s, events to %s", shim.ns, shim.id,
	     shim.runc, shim.runc_root, shim.ttrpc_address ? shim.ttrpc_address : "nowhere");
	svc = containerd__task__v2__task_service(&task_handlers);
	return ttrpcd_host_register_service(host, &svc);
}

static void shim_fini(struct ttrpcd_host *host)
{
	(void)host;
	if (shim.socket && *shim.socket)
		unlink(shim.socket);
	/* The calls are gone, and no exit is told any more: runc ends alone. */
	while (shim.runs) {
		struct runc *op = shim.runs;

		shim.runs = op->next;
		op->t->runs--;
		task_release(op->t);
		runc_free(op);
	}
	if (shim.task) {
		/* Stopped without Delete (SIGTERM): leave no container behind. */
		const char *args[] = { "delete", "--force", shim.task->id, NULL };

		run_runc(shim.task, NULL, args, NULL, false, NULL, NULL);
		task_drop(shim.task);
	}
	ttrpc_client_free(shim.events);
	shim.events = NULL;
	while (shim.ev_head)
		event_pop();
	if (shim.ev_retry)
		event_free(shim.ev_retry);
	if (shim.exit_timer)
		event_free(shim.exit_timer);
}

static const char *const shim_keys[] = {
	"namespace", "id", "ttrpc-address", "socket", "runc", "runc-root", NULL,
};

static const struct ttrpcd_service_decl shim_services[] = {
	{ CONTAINERD__TASK__V2__TASK__NAME, containerd__task__v2__task_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "shim", .config_keys = shim_keys, .init = shim_init, .fini = shim_fini,
		     .services = shim_services, );
