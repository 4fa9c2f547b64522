/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.task.v2.Task for one container, as containerd-shim-runc-v2
 * serves it: each handler checks the process's state, runs runc through
 * the host and answers when runc exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttrpc/module.h>

#include "events.h"
#include "events.pb-c.h"
#include "mount.h"
#include "process.h"
#include "runcjson.h"
#include "shim.h"
#include "task.h"

typedef Ttrpcd__Shim__Types__Timestamp Timestamp;
typedef Ttrpcd__Shim__Types__Empty Empty;

#define TIMESTAMP_INIT TTRPCD__SHIM__TYPES__TIMESTAMP__INIT
#define EMPTY_INIT TTRPCD__SHIM__TYPES__EMPTY__INIT

/* Run runc for @p's task; the op keeps the task until runc exits. */
struct op {
	struct proc *p;
	void (*done)(struct op *o, struct shim_runc *op, int status);
	ProtobufCMessage *req; /* a copy of the request, when done needs it */
};

static void op_free(void *arg)
{
	struct op *o = arg;
	struct task *t = o->p->task;

	if (o->req)
		protobuf_c_message_free_unpacked(o->req, NULL);
	free(o);
	task_unhold(t);
}

static void on_runc_done(struct shim_runc *r, int status, void *arg)
{
	struct op *o = arg;

	o->done(o, r, status);
	op_free(o);
}

/*
 * Run runc for @p with @args (and @stdio), @call answered by @done. On
 * failure @call is failed here and @done never runs. Return: 0 or the error.
 */
static int run(struct proc *p, struct ttrpc_call *call, const char *what, const char *const *args,
	       const int *stdio, bool capture, void (*done)(struct op *, struct shim_runc *, int),
	       struct op **ret)
{
	const struct shim_runc_run r = { .args = args, .stdio = stdio, .capture = capture };
	struct op *o = calloc(1, sizeof(*o));
	int e;

	if (!o) {
		e = -ENOMEM;
		goto fail;
	}
	o->p = p;
	o->done = done;
	e = shim_runc(&p->task->runc, &r, call, on_runc_done, o);
	if (e < 0) {
		free(o);
		goto fail;
	}
	task_hold(p->task);
	if (ret)
		*ret = o;
	return 0;
fail:
	if (call)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "OCI runtime %s failed: %s", what,
				strerror(-e));
	return e;
}

/* A runc nobody waits for: a clean-up. */
static void run_detached(struct task *t, const char *const *args)
{
	const struct shim_runc_run r = { .args = args };

	shim_runc(&t->runc, &r, NULL, NULL, NULL);
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

/* The pid runc wrote to @path; 0 if none. */
static pid_t read_pid(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	long pid;

	if (fd >= 0)
		close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	pid = strtol(buf, NULL, 10);
	return pid > 0 && pid <= INT32_MAX ? (pid_t)pid : 0;
}

/* ---- Create ---- */

static void create_done(struct op *o, struct shim_runc *r, int status)
{
	const Containerd__Task__V2__CreateTaskRequest *req = (const void *)o->req;
	Containerd__Task__V2__CreateTaskResponse resp =
		CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskCreate ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_CREATE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskIO io =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_IO__INIT;
	struct ttrpc_call *call = shim_runc_call(r);
	struct proc *p = o->p;
	struct task *t = p->task;
	const char *del[] = { "delete", "--force", t->id, NULL };
	char pidfile[4096];

	if (status != 0) {
		shim_runc_fail(call, &t->runc, "create", status);
		task_drop(t);
		return;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", t->bundle);
	p->pid = read_pid(pidfile);
	/* runc exited: its init is ours now, exited or not. */
	if (p->pid <= 0 || proc_started(p) < 0) {
		if (call)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "no process to watch in %s", pidfile);
		run_detached(t, del);
		task_drop(t);
		return;
	}
	t->creating = false;
	shim_log(TTRPC_LOG_INFO, "task %s: created, pid %d", t->id, (int)p->pid);

	io.stdin = p->io.stdin_path;
	io.stdout = p->io.stdout_path;
	io.stderr = p->io.stderr_path;
	io.terminal = p->terminal;
	ev.container_id = t->id;
	ev.bundle = t->bundle;
	if (req) {
		ev.n_rootfs = req->n_rootfs;
		ev.rootfs = req->rootfs;
		ev.checkpoint = req->checkpoint;
	}
	ev.io = &io;
	ev.pid = (uint32_t)p->pid;
	shim_events_publish(shim.events, "/tasks/create", "TaskCreate", &ev.base);
	resp.pid = (uint32_t)p->pid;
	if (call)
		containerd__task__v2__task_create_reply(call, &resp);
}

/* Mount the request's rootfs on BUNDLE/rootfs, in order (the first is the base). */
static int mount_rootfs(struct task *t, const Containerd__Task__V2__CreateTaskRequest *req,
			char *rootfs, size_t size)
{
	snprintf(rootfs, size, "%s/rootfs", t->bundle);
	for (size_t i = 0; i < req->n_rootfs; i++) {
		const Ttrpcd__Shim__Types__Mount *m = req->rootfs[i];
		int r;

		if (i == 0 && mkdir(rootfs, 0711) < 0 && errno != EEXIST)
			return -errno;
		r = shim_mount(m->type, m->source, (const char *const *)m->options, m->n_options,
			       rootfs);
		if (r < 0)
			return r;
		t->mounted = true;
	}
	return 0;
}

static void on_create(struct ttrpc_call *call, const Containerd__Task__V2__CreateTaskRequest *req,
		      void *userdata)
{
	char pidfile[4096], rootfs[4096];
	const char *failed = NULL;
	int stdio[3];
	struct task *t;
	struct op *o;
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
	t = task_new(req->id, req->bundle, shim.runc, shim.runc_root);
	if (!t || proc_init(&t->init, t, req->id, true, req->stdin, req->stdout, req->stderr,
			    req->terminal) < 0) {
		if (t)
			task_drop(t);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	t->creating = true;
	shim.task = t;
	r = mount_rootfs(t, req, rootfs, sizeof(rootfs));
	if (r < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "mount rootfs on %s: %s", rootfs,
				strerror(-r));
		task_drop(t);
		return;
	}
	r = shim_stdio_open(&t->init.io, stdio, &failed);
	if (r < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "open %s: %s", failed, strerror(-r));
		task_drop(t);
		return;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", t->bundle);
	const char *args[] = { "create", "--bundle", t->bundle, "--pid-file", pidfile, t->id, NULL };

	r = run(&t->init, call, "create", args, stdio, false, create_done, &o);
	/* runc has its copies. */
	for (int i = 0; i < 3; i++)
		close(stdio[i]);
	if (r < 0) {
		task_drop(t);
		return;
	}
	/* Too late to take it back if this fails: TaskCreate goes without mounts. */
	o->req = copy_message(&req->base);
}

/* ---- Start ---- */

static void start_done(struct op *o, struct shim_runc *r, int status)
{
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskStart ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_START__INIT;
	struct ttrpc_call *call = shim_runc_call(r);
	struct proc *p = o->p;
	struct task *t = p->task;

	if (status != 0) {
		shim_runc_fail(call, &t->runc, "start", status);
	} else {
		if (p->status == ST_CREATED)
			p->status = ST_RUNNING;
		ev.container_id = t->id;
		ev.pid = (uint32_t)p->pid;
		shim_events_publish(shim.events, "/tasks/start", "TaskStart", &ev.base);
		resp.pid = (uint32_t)p->pid;
		if (call)
			containerd__task__v2__task_start_reply(call, &resp);
	}
	proc_release_held(p);
}

static void on_start(struct ttrpc_call *call, const Containerd__Task__V2__StartRequest *req,
		     void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);

	(void)userdata;
	if (!p)
		return;
	if (p->status != ST_CREATED || p->starting || p->deleting) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "process %s is not created",
				p->id);
		return;
	}
	const char *args[] = { "start", p->task->id, NULL };

	p->starting = true;
	if (run(p, call, "start", args, NULL, false, start_done, NULL) < 0)
		p->starting = false;
}

/* ---- Wait, State ---- */

static void on_wait(struct ttrpc_call *call, const Containerd__Task__V2__WaitRequest *req,
		    void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);

	(void)userdata;
	if (p)
		proc_wait(call, p);
}

static void on_state(struct ttrpc_call *call, const Containerd__Task__V2__StateRequest *req,
		     void *userdata)
{
	Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
	Timestamp ts = TIMESTAMP_INIT;
	struct proc *p = task_find(call, req->id, req->exec_id);

	(void)userdata;
	if (!p)
		return;
	resp.id = p->id;
	resp.bundle = p->task->bundle;
	resp.pid = (uint32_t)p->pid;
	resp.status = (Containerd__Task__V2__Status)proc_status(p);
	resp.stdin = p->io.stdin_path;
	resp.stdout = p->io.stdout_path;
	resp.stderr = p->io.stderr_path;
	resp.terminal = p->terminal;
	if (p->status == ST_STOPPED) {
		resp.exit_status = p->exit_status;
		proc_timestamp(&ts, &p->exited_at);
		resp.exited_at = &ts;
	}
	containerd__task__v2__task_state_reply(call, &resp);
}

/* ---- Kill, Pids ---- */

static void kill_done(struct op *o, struct shim_runc *r, int status)
{
	struct ttrpc_call *call = shim_runc_call(r);
	Empty resp = EMPTY_INIT;
	char msg[1024];

	if (status == 0) {
		if (call)
			containerd__task__v2__task_kill_reply(call, &resp);
		return;
	}
	/* As the Go shim: a process already gone is NOT_FOUND. */
	shim_runc_last_error_of(&o->p->task->runc, msg, sizeof(msg));
	if (strstr(msg, "container not running") || strstr(msg, "process already finished")) {
		if (call)
			ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process already finished");
		return;
	}
	shim_runc_fail(call, &o->p->task->runc, "kill", status);
}

static void on_kill(struct ttrpc_call *call, const Containerd__Task__V2__KillRequest *req,
		    void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);
	char sig[16];

	(void)userdata;
	if (!p)
		return;
	if (p->status == ST_STOPPED) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process already finished");
		return;
	}
	snprintf(sig, sizeof(sig), "%u", req->signal);
	const char *args_all[] = { "kill", "--all", p->task->id, sig, NULL };
	const char *args_one[] = { "kill", p->task->id, sig, NULL };

	run(p, call, "kill", req->all ? args_all : args_one, NULL, false, kill_done, NULL);
}

static void pids_done(struct op *o, struct shim_runc *r, int status)
{
	Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
	struct ttrpc_call *call = shim_runc_call(r);
	Containerd__Task__V2__ProcessInfo *info, **pinfo;
	uint32_t *pids;
	int n;

	if (status != 0) {
		shim_runc_fail(call, &o->p->task->runc, "ps", status);
		return;
	}
	if (!call)
		return;
	n = shim_runc_pids(shim_runc_output(r), &pids);
	if (n < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "runc ps: %s", strerror(-n));
		return;
	}
	info = calloc((size_t)n + 1, sizeof(*info));
	pinfo = calloc((size_t)n + 1, sizeof(*pinfo));
	if (!info || !pinfo) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		containerd__task__v2__process_info__init(&info[i]);
		info[i].pid = pids[i];
		pinfo[i] = &info[i];
	}
	resp.n_processes = (size_t)n;
	resp.processes = pinfo;
	containerd__task__v2__task_pids_reply(call, &resp);
out:
	free(info);
	free(pinfo);
	free(pids);
}

static void on_pids(struct ttrpc_call *call, const Containerd__Task__V2__PidsRequest *req,
		    void *userdata)
{
	struct proc *p = task_find(call, req->id, NULL);

	(void)userdata;
	if (!p)
		return;
	const char *args[] = { "ps", "--format", "json", p->task->id, NULL };

	run(p, call, "ps", args, NULL, true, pids_done, NULL);
}

/* ---- Delete ---- */

static void reply_delete(struct ttrpc_call *call, const struct proc *p)
{
	Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
	Timestamp ts = TIMESTAMP_INIT;

	proc_timestamp(&ts, &p->exited_at);
	resp.pid = (uint32_t)p->pid;
	resp.exit_status = p->exit_status;
	resp.exited_at = &ts;
	if (call)
		containerd__task__v2__task_delete_reply(call, &resp);
}

static void delete_done(struct op *o, struct shim_runc *r, int status)
{
	Containerd__Services__Events__Ttrpc__V1__TaskDelete ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_DELETE__INIT;
	struct ttrpc_call *call = shim_runc_call(r);
	Timestamp ts = TIMESTAMP_INIT;
	struct proc *p = o->p;
	struct task *t = p->task;

	p->deleting = false;
	if (status != 0) {
		shim_runc_fail(call, &t->runc, "delete", status);
		return;
	}
	if (p->status == ST_CREATED) {
		/* It never ran: Wait is answered as the Go shim does. */
		p->status = ST_STOPPED;
		p->exit_status = 128 + SIGKILL;
		clock_gettime(CLOCK_REALTIME, &p->exited_at);
		proc_answer_waiters(p);
	}
	proc_timestamp(&ts, &p->exited_at);
	/* No id: the Go shim sets it only for exec processes. */
	ev.container_id = t->id;
	ev.pid = (uint32_t)p->pid;
	ev.exit_status = p->exit_status;
	ev.exited_at = &ts;
	shim_events_publish(shim.events, "/tasks/delete", "TaskDelete", &ev.base);
	reply_delete(call, p);
	shim_log(TTRPC_LOG_INFO, "task %s: deleted", t->id);
	task_drop(t);
}

static void on_delete(struct ttrpc_call *call, const Containerd__Task__V2__DeleteRequest *req,
		      void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);
	struct task *t;

	(void)userdata;
	if (!p)
		return;
	t = p->task;
	if (proc_status(p) == ST_RUNNING || proc_status(p) == ST_PAUSED || p->starting ||
	    p->deleting) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "cannot delete a %s process",
				proc_status(p) == ST_PAUSED ? "paused" : "running");
		return;
	}
	/* A created task's init still waits in runc init: --force kills it, and
	 * that exit is not the task's (it never started): nobody is told. */
	const char *args[] = { "delete", "--force", t->id, NULL };

	if (p->status == ST_CREATED && p->watching) {
		ttrpcd_host_unwatch_pid(shim.host, p->pid);
		p->watching = false;
	}
	p->deleting = true;
	if (run(p, call, "delete", args, NULL, false, delete_done, NULL) < 0)
		p->deleting = false;
}

/* ---- CloseIO, Connect, Shutdown ---- */

static void on_close_io(struct ttrpc_call *call, const Containerd__Task__V2__CloseIORequest *req,
			void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);
	Empty resp = EMPTY_INIT;

	(void)userdata;
	if (!p)
		return;
	if (req->stdin)
		shim_stdio_close_stdin(&p->io);
	containerd__task__v2__task_close_io_reply(call, &resp);
}

static void on_connect(struct ttrpc_call *call, const Containerd__Task__V2__ConnectRequest *req,
		       void *userdata)
{
	Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;

	(void)req;
	(void)userdata;
	resp.shim_pid = (uint32_t)getpid();
	resp.task_pid = shim.task ? (uint32_t)shim.task->init.pid : 0;
	resp.version = (char *)"ttrpcd";
	containerd__task__v2__task_connect_reply(call, &resp);
}

/*
 * The daemon stops as on SIGTERM: calls drain, the listener closes, fini
 * runs. First the queued events (TaskDelete) go out, for a bounded time.
 */
void task_exit_timer(evutil_socket_t fd, short what, void *arg)
{
	static int ticks;

	(void)fd;
	(void)what;
	(void)arg;
	if (shim_events_pending(shim.events) && ++ticks < 50) {
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

const struct containerd__task__v2__task_handlers task_handlers = {
	.state = on_state,
	.create = on_create,
	.start = on_start,
	.delete = on_delete,
	.pids = on_pids,
	.kill = on_kill,
	.close_io = on_close_io,
	.wait = on_wait,
	.connect = on_connect,
	.shutdown = on_shutdown,
};

void task_cleanup(void)
{
	shim_runc_forget_all(op_free);
	if (shim.task) {
		/* Stopped without Delete (SIGTERM): leave no container behind. */
		const char *args[] = { "delete", "--force", shim.task->id, NULL };

		run_detached(shim.task, args);
		task_drop(shim.task);
	}
}
