/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd.task.v2.Task for one container, as containerd-shim-runc-v2
 * serves it: each handler checks the process's state, runs runc through
 * the host and answers when runc exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttrpc/module.h>

#include "cgroup.h"
#include "console.h"
#include "events.h"
#include "events.pb-c.h"
#include "mount.h"
#include "oom.h"
#include "options.pb-c.h"
#include "process.h"
#include "runcjson.h"
#include "shim.h"
#include "task.h"

typedef Ttrpcd__Shim__Types__Timestamp Timestamp;
typedef Ttrpcd__Shim__Types__Empty Empty;

#define TIMESTAMP_INIT TTRPCD__SHIM__TYPES__TIMESTAMP__INIT
#define EMPTY_INIT TTRPCD__SHIM__TYPES__EMPTY__INIT

/* Where the cgroup hierarchies are. */
#define CGROUP_ROOT "/sys/fs/cgroup"
/* How long a Delete waits for a terminal's last output (the Go shim: 2 s). */
#define IO_WAIT_SECONDS 2

struct freeze;

/* Run runc for @p's task; the op keeps the task until runc exits. */
struct op {
	struct proc *p;
	void (*done)(struct op *o, struct shim_runc *op, int status);
	ProtobufCMessage *req;               /* a copy of the request, when done needs it */
	struct shim_console_socket *console; /* runc's --console-socket */
	bool remove_work;                    /* a checkpoint's work directory is ours */
	const struct freeze *freeze;         /* Pause or Resume */
};

static void op_free(void *arg)
{
	struct op *o = arg;
	struct task *t = o->p->task;

	if (o->req)
		protobuf_c_message_free_unpacked(o->req, NULL);
	shim_console_socket_free(o->console);
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

/* ---- terminals ---- */

static void delete_after_io(struct proc *p);

static void on_console_done(struct shim_console *c, void *arg)
{
	struct proc *p = arg;

	(void)c;
	if (p->delete_waits)
		delete_after_io(p);
}

/*
 * runc exited: the master it sent waits in the console socket. Copy it to
 * and from the process's fifos, and hold the stdin writer (the copy holds
 * the reader). Return: 0 or a negative errno.
 */
static int attach_console(struct proc *p, struct shim_console_socket *cs)
{
	int master, r = shim_console_socket_recv(cs, &master);

	if (r < 0)
		return r;
	r = shim_console_new(shim.base, master, p->io.stdin_path, p->io.stdout_path,
			     on_console_done, p, &p->console);
	if (r < 0)
		return r;
	return shim_stdio_hold_stdin(&p->io);
}

/*
 * The fds of runc's stdio for @p (its own when it has no terminal, else
 * none), and its console socket when it has one: @args gets
 * "--console-socket PATH". Return: 0 or the error, @call failed.
 */
static int prepare_stdio(struct ttrpc_call *call, struct proc *p, int stdio[3],
			 struct shim_console_socket **cs)
{
	const char *failed = NULL;
	int r;

	stdio[0] = stdio[1] = stdio[2] = -1;
	*cs = NULL;
	if (p->terminal) {
		/* Where the Go shim's go: $TMPDIR, else /tmp (os.TempDir). */
		const char *tmpdir = getenv("TMPDIR");

		r = shim_console_socket_new(tmpdir && *tmpdir ? tmpdir : "/tmp", cs);
		if (r < 0)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "console socket: %s", strerror(-r));
		return r;
	}
	r = shim_stdio_open(&p->io, stdio, &failed);
	if (r < 0)
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "open %s: %s", failed, strerror(-r));
	return r;
}

static void close_stdio(int stdio[3])
{
	for (int i = 0; i < 3; i++)
		if (stdio[i] >= 0)
			close(stdio[i]);
}

/* ---- Create ---- */

/* The init's cgroups, while it is there to be asked. */
static void find_cgroups(struct task *t)
{
	char path[64], buf[8192];
	int fd, r;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)t->init.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		shim_log(TTRPC_LOG_WARNING, "task %s: no cgroups: %s", t->id, strerror(errno));
		return;
	}
	buf[n] = '\0';
	r = shim_cgroup_parse(buf, &t->cg);
	if (r < 0)
		shim_log(TTRPC_LOG_WARNING, "task %s: %s: %s", t->id, path, strerror(-r));
}

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
	int e;

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
	if (p->terminal && (e = attach_console(p, o->console)) < 0) {
		if (call)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "the terminal runc sent: %s",
					strerror(-e));
		run_detached(t, del);
		task_drop(t);
		return;
	}
	find_cgroups(t);
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

/*
 * The runc shim's runtime options (containerd.runc.v1.Options), when
 * containerd passes them: which runc, its root, its cgroup driver, and
 * two flags of runc create. Return: 0, or -EINVAL for options that do not
 * decode.
 */
static int apply_options(struct task *t, const Ttrpcd__Shim__Types__Any *any)
{
	Containerd__Runc__V1__Options *o;
	char root[4096];
	int r = 0;

	if (!any || !any->value.len)
		return 0;
	if (!strstr(any->type_url, "runc.v1.Options"))
		return 0;
	o = containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
	if (!o)
		return -EINVAL;
	if (*o->binary_name) {
		free(t->runc_binary);
		t->runc.binary = t->runc_binary = strdup(o->binary_name);
	}
	if (*o->root) {
		snprintf(root, sizeof(root), "%s/%s", o->root, shim.ns);
		free(t->runc_root);
		t->runc.root = t->runc_root = strdup(root);
	}
	if (!t->runc_binary || !t->runc_root)
		r = -ENOMEM;
	t->runc.systemd_cgroup = o->systemd_cgroup;
	t->no_pivot_root = o->no_pivot_root;
	t->no_new_keyring = o->no_new_keyring;
	containerd__runc__v1__options__free_unpacked(o, NULL);
	return r;
}

static void on_create(struct ttrpc_call *call, const Containerd__Task__V2__CreateTaskRequest *req,
		      void *userdata)
{
	char pidfile[4096], rootfs[4096];
	struct shim_console_socket *cs;
	int stdio[3];
	struct task *t;
	struct op *o;
	const char *args[16];
	size_t n = 0;
	int r;

	(void)userdata;
	if (shim.task) {
		ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS, "task %s already exists",
				shim.task->id);
		return;
	}
	if (*req->checkpoint) {
		ttrpc_call_fail(call, TTRPC_UNIMPLEMENTED,
				"restoring a checkpoint is not supported by this shim");
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
	r = apply_options(t, req->options);
	if (r < 0) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "runtime options: %s", strerror(-r));
		task_drop(t);
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
	if (prepare_stdio(call, &t->init, stdio, &cs) < 0) {
		task_drop(t);
		return;
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", t->bundle);
	args[n++] = "create";
	args[n++] = "--bundle";
	args[n++] = t->bundle;
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	if (cs) {
		args[n++] = "--console-socket";
		args[n++] = shim_console_socket_path(cs);
	}
	if (t->no_pivot_root)
		args[n++] = "--no-pivot";
	if (t->no_new_keyring)
		args[n++] = "--no-new-keyring";
	args[n++] = t->id;
	args[n] = NULL;
	r = run(&t->init, call, "create", args, cs ? NULL : stdio, false, create_done, &o);
	/* runc has its copies. */
	close_stdio(stdio);
	if (r < 0) {
		shim_console_socket_free(cs);
		task_drop(t);
		return;
	}
	o->console = cs;
	/* Too late to take it back if this fails: TaskCreate goes without mounts. */
	o->req = copy_message(&req->base);
}

/* ---- Start: the init (runc start) or an exec process (runc exec) ---- */

static void on_oom(void *arg)
{
	Containerd__Services__Events__Ttrpc__V1__TaskOOM ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_OOM__INIT;
	struct task *t = arg;

	shim_log(TTRPC_LOG_INFO, "task %s: out of memory", t->id);
	ev.container_id = t->id;
	shim_events_publish(shim.events, "/tasks/oom", "TaskOOM", &ev.base);
}

/* OOM events, from the start on, as the Go shim. */
static void watch_oom(struct task *t)
{
	bool v2 = shim_cgroup_unified(CGROUP_ROOT);
	char dir[4096];
	int r;

	if (v2 ? !t->cg.unified || (size_t)snprintf(dir, sizeof(dir), CGROUP_ROOT "%s",
						    t->cg.unified) >= sizeof(dir)
	       : shim_cgroup_dir(CGROUP_ROOT, &t->cg, CG_MEMORY, dir, sizeof(dir)) < 0)
		return;
	r = shim_oom_watch(shim.base, dir, v2, on_oom, t, &t->oom);
	if (r < 0)
		shim_log(TTRPC_LOG_WARNING, "task %s: OOM events of %s: %s", t->id, dir,
			 strerror(-r));
}

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
		watch_oom(t);
		ev.container_id = t->id;
		ev.pid = (uint32_t)p->pid;
		shim_events_publish(shim.events, "/tasks/start", "TaskStart", &ev.base);
		resp.pid = (uint32_t)p->pid;
		if (call)
			containerd__task__v2__task_start_reply(call, &resp);
	}
	proc_release_held(p);
}

/* BUNDLE/ID.SUFFIX of an exec process, as the Go shim names its pid file. */
static void exec_file(const struct proc *p, const char *suffix, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s.%s", p->task->bundle, p->id, suffix);
}

static void exec_done(struct op *o, struct shim_runc *r, int status)
{
	Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
	Containerd__Services__Events__Ttrpc__V1__TaskExecStarted ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXEC_STARTED__INIT;
	struct ttrpc_call *call = shim_runc_call(r);
	struct proc *p = o->p;
	struct task *t = p->task;
	char path[4096];
	int e = 0;

	exec_file(p, "process.json", path, sizeof(path));
	unlink(path);
	if (status != 0) {
		shim_runc_fail(call, &t->runc, "exec", status);
	} else {
		exec_file(p, "pid", path, sizeof(path));
		p->pid = read_pid(path);
		e = p->pid > 0 ? proc_started(p) : -ESRCH;
		if (e == 0 && p->terminal && (e = attach_console(p, o->console)) < 0)
			ttrpcd_host_kill(shim.host, p->pid, SIGKILL);
		if (e < 0 && call)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "exec %s: %s", p->id, strerror(-e));
	}
	if (status != 0 || e < 0) {
		/* It never ran: Wait is answered, as the Go shim closes its wait. */
		p->status = ST_STOPPED;
		clock_gettime(CLOCK_REALTIME, &p->exited_at);
		proc_answer_waiters(p);
		proc_release_held(p);
		return;
	}
	p->status = ST_RUNNING;
	ev.container_id = t->id;
	ev.exec_id = p->id;
	ev.pid = (uint32_t)p->pid;
	shim_events_publish(shim.events, "/tasks/exec-started", "TaskExecStarted", &ev.base);
	resp.pid = (uint32_t)p->pid;
	if (call)
		containerd__task__v2__task_start_reply(call, &resp);
	proc_release_held(p);
}

static void start_exec(struct ttrpc_call *call, struct proc *p)
{
	struct shim_console_socket *cs;
	char spec[4096], pidfile[4096];
	const char *args[12];
	size_t n = 0;
	int stdio[3], fd, r;
	struct op *o;

	exec_file(p, "process.json", spec, sizeof(spec));
	exec_file(p, "pid", pidfile, sizeof(pidfile));
	fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, p->spec, p->spec_len) != (ssize_t)p->spec_len) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "write %s: %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	if (prepare_stdio(call, p, stdio, &cs) < 0)
		return;
	args[n++] = "exec";
	args[n++] = "--process";
	args[n++] = spec;
	args[n++] = "--detach";
	args[n++] = "--pid-file";
	args[n++] = pidfile;
	if (cs) {
		args[n++] = "--console-socket";
		args[n++] = shim_console_socket_path(cs);
	}
	args[n++] = p->task->id;
	args[n] = NULL;
	p->starting = true;
	r = run(p, call, "exec", args, cs ? NULL : stdio, false, exec_done, &o);
	close_stdio(stdio);
	if (r < 0) {
		p->starting = false;
		shim_console_socket_free(cs);
		unlink(spec);
		return;
	}
	o->console = cs;
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
	if (!p->is_init) {
		if (p->task->init.status == ST_STOPPED)
			ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION,
					"cannot start an exec process in a stopped container");
		else
			start_exec(call, p);
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
	if (!p->is_init) {
		/* As the Go shim: kill(2) of the exec'd pid, not runc kill. */
		int r = p->pid > 0 && !p->starting
				? ttrpcd_host_kill(shim.host, p->pid, (int)req->signal)
				: -EAGAIN;

		if (r == -EAGAIN)
			ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "process not created");
		else if (r == -ESRCH)
			ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process already finished");
		else if (r < 0)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "exec kill error: %s", strerror(-r));
		else
			containerd__task__v2__task_kill_reply(call, &(Empty)EMPTY_INIT);
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
	Containerd__Task__V2__ProcessInfo *info = NULL, **pinfo = NULL;
	Ttrpcd__Shim__Types__Any *anys = NULL;
	uint8_t **details = NULL;
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
	anys = calloc((size_t)n + 1, sizeof(*anys));
	details = calloc((size_t)n + 1, sizeof(*details));
	if (!anys || !details) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		containerd__task__v2__process_info__init(&info[i]);
		info[i].pid = pids[i];
		pinfo[i] = &info[i];
		/* An exec process is named, as the Go shim does. */
		for (struct proc *e = o->p->task->execs; e; e = e->next) {
			Containerd__Runc__V1__ProcessDetails d =
				CONTAINERD__RUNC__V1__PROCESS_DETAILS__INIT;

			if (e->pid != (pid_t)pids[i] || e->status == ST_STOPPED)
				continue;
			d.exec_id = e->id;
			details[i] = malloc(protobuf_c_message_get_packed_size(&d.base) + 1);
			if (!details[i])
				break;
			ttrpcd__shim__types__any__init(&anys[i]);
			anys[i].type_url = (char *)"containerd.runc.v1.ProcessDetails";
			anys[i].value.data = details[i];
			anys[i].value.len = protobuf_c_message_pack(&d.base, details[i]);
			info[i].info = &anys[i];
			break;
		}
	}
	resp.n_processes = (size_t)n;
	resp.processes = pinfo;
	containerd__task__v2__task_pids_reply(call, &resp);
out:
	for (int i = 0; details && i < n; i++)
		free(details[i]);
	free(details);
	free(anys);
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

/* The process is gone for containerd: runc delete for the init; nothing to run for an exec. */
static void delete_now(struct ttrpc_call *call, struct proc *p)
{
	struct task *t = p->task;
	char path[4096];

	if (!p->is_init) {
		reply_delete(call, p);
		exec_file(p, "pid", path, sizeof(path));
		unlink(path);
		shim_log(TTRPC_LOG_INFO, "task %s: exec process %s deleted", t->id, p->id);
		proc_exec_free(p);
		return;
	}
	/* A created task's init still waits in runc init: --force kills it, and
	 * that exit is not the task's (it never started): nobody is told. */
	const char *args[] = { "delete", "--force", t->id, NULL };

	if (run(p, call, "delete", args, NULL, false, delete_done, NULL) < 0)
		p->deleting = false;
}

static void on_delete_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct proc *p = userdata;

	ttrpc_call_fail(call, code, "cancelled");
	p->delete_call = NULL;
}

/* The terminal's output is out, or the wait is over: on with the Delete. */
static void delete_after_io(struct proc *p)
{
	struct ttrpc_call *call = p->delete_call;

	if (!p->delete_waits)
		return;
	p->delete_waits = false;
	p->delete_call = NULL;
	evtimer_del(p->io_timer);
	if (call)
		ttrpc_call_on_cancel(call, NULL, NULL);
	delete_now(call, p);
}

static void on_io_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	delete_after_io(arg);
}

static void on_delete(struct ttrpc_call *call, const Containerd__Task__V2__DeleteRequest *req,
		      void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);
	struct timeval tv = { IO_WAIT_SECONDS, 0 };

	(void)userdata;
	if (!p)
		return;
	if (proc_status(p) == ST_RUNNING || proc_status(p) == ST_PAUSED || p->starting ||
	    p->deleting) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "cannot delete a %s process",
				proc_status(p) == ST_PAUSED ? "paused" : "running");
		return;
	}
	if (p->is_init && p->status == ST_CREATED && p->watching) {
		ttrpcd_host_unwatch_pid(shim.host, p->pid);
		p->watching = false;
	}
	p->deleting = true;
	/* As the Go shim: the terminal's last output first, 2 s at most. */
	if (p->console && !shim_console_done(p->console)) {
		if (!p->io_timer && !(p->io_timer = evtimer_new(shim.base, on_io_timer, p))) {
			p->deleting = false;
			ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
			return;
		}
		p->delete_waits = true;
		p->delete_call = call;
		ttrpc_call_on_cancel(call, on_delete_cancel, p);
		evtimer_add(p->io_timer, &tv);
		return;
	}
	delete_now(call, p);
}

/* ---- Exec, ResizePty ---- */

/* An exec id as containerd's identifiers: [A-Za-z0-9_.-], 76 at most, a letter or digit first. */
static bool valid_exec_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 76 ||
	    !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", id[0]))
		return false;
	return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

static void on_exec(struct ttrpc_call *call, const Containerd__Task__V2__ExecProcessRequest *req,
		    void *userdata)
{
	Containerd__Services__Events__Ttrpc__V1__TaskExecAdded ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXEC_ADDED__INIT;
	struct proc *init = task_find(call, req->id, NULL), *p;

	(void)userdata;
	if (!init)
		return;
	if (!valid_exec_id(req->exec_id)) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "invalid exec id '%s'", req->exec_id);
		return;
	}
	for (p = init->task->execs; p; p = p->next) {
		if (strcmp(p->id, req->exec_id) == 0) {
			ttrpc_call_fail(call, TTRPC_ALREADY_EXISTS, "id %s: already exists",
					req->exec_id);
			return;
		}
	}
	if (init->status == ST_STOPPED) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "cannot exec in a stopped state");
		return;
	}
	if (!req->spec || !req->spec->value.len) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "no process spec");
		return;
	}
	p = proc_exec_new(init->task, req->exec_id, req->stdin, req->stdout, req->stderr,
			  req->terminal, req->spec->value.data, req->spec->value.len);
	if (!p) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ev.container_id = init->task->id;
	ev.exec_id = p->id;
	shim_events_publish(shim.events, "/tasks/exec-added", "TaskExecAdded", &ev.base);
	containerd__task__v2__task_exec_reply(call, &(Empty)EMPTY_INIT);
}

static void on_resize_pty(struct ttrpc_call *call,
			  const Containerd__Task__V2__ResizePtyRequest *req, void *userdata)
{
	struct proc *p = task_find(call, req->id, req->exec_id);
	int r;

	(void)userdata;
	if (!p)
		return;
	if (p->status == ST_STOPPED) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "cannot resize a stopped container");
		return;
	}
	/* No terminal: nothing to do, as the Go shim. */
	if (p->console && (r = shim_console_resize(p->console, req->width, req->height)) < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "resize: %s", strerror(-r));
		return;
	}
	containerd__task__v2__task_resize_pty_reply(call, &(Empty)EMPTY_INIT);
}

/* ---- Pause, Resume, Update ---- */

/* Pause and Resume: runc pause or resume, the event, the task's PAUSED. */
static const struct freeze {
	const char *verb;
	bool paused; /* after it */
	const char *topic, *event;
} freezes[] = {
	{ "pause", true, "/tasks/paused", "TaskPaused" },
	{ "resume", false, "/tasks/resumed", "TaskResumed" },
};

static void freeze_done(struct op *o, struct shim_runc *r, int status)
{
	/* TaskPaused and TaskResumed have the same one field. */
	Containerd__Services__Events__Ttrpc__V1__TaskPaused ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_PAUSED__INIT;
	const struct freeze *f = o->freeze;
	struct ttrpc_call *call = shim_runc_call(r);
	struct task *t = o->p->task;

	if (status != 0) {
		shim_runc_fail(call, &t->runc, f->verb, status);
		return;
	}
	t->paused = f->paused;
	ev.container_id = t->id;
	shim_events_publish(shim.events, f->topic, f->event, &ev.base);
	if (call)
		ttrpc_call_reply(call, &((Empty)EMPTY_INIT).base);
}

/* The init's state refuses @what (the Go shim's words), or NULL. */
static const char *refuse(const struct proc *p, const char *what, bool want_paused)
{
	static char msg[128];

	if (p->status == ST_CREATED)
		snprintf(msg, sizeof(msg), "cannot %s task in created state", what);
	else if (p->status == ST_STOPPED)
		snprintf(msg, sizeof(msg), "cannot %s a stopped container", what);
	else if (p->task->paused != want_paused)
		snprintf(msg, sizeof(msg), "cannot %s a %s container", what,
			 p->task->paused ? "paused" : "running");
	else
		return NULL;
	return msg;
}

static void freeze(struct ttrpc_call *call, const char *id, const struct freeze *f)
{
	struct proc *p = task_find(call, id, NULL);
	const char *why;
	struct op *o;

	if (!p)
		return;
	if ((why = refuse(p, f->verb, !f->paused))) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "%s", why);
		return;
	}
	const char *args[] = { f->verb, p->task->id, NULL };

	if (run(p, call, f->verb, args, NULL, false, freeze_done, &o) == 0)
		o->freeze = f;
}

static void on_pause(struct ttrpc_call *call, const Containerd__Task__V2__PauseRequest *req,
		     void *userdata)
{
	(void)userdata;
	freeze(call, req->id, &freezes[0]);
}

static void on_resume(struct ttrpc_call *call, const Containerd__Task__V2__ResumeRequest *req,
		      void *userdata)
{
	(void)userdata;
	freeze(call, req->id, &freezes[1]);
}

static void update_done(struct op *o, struct shim_runc *r, int status)
{
	struct ttrpc_call *call = shim_runc_call(r);

	if (status != 0)
		shim_runc_fail(call, &o->p->task->runc, "update", status);
	else if (call)
		containerd__task__v2__task_update_reply(call, &(Empty)EMPTY_INIT);
}

static void on_update(struct ttrpc_call *call, const Containerd__Task__V2__UpdateTaskRequest *req,
		      void *userdata)
{
	struct proc *p = task_find(call, req->id, NULL);
	int pipefd[2], stdio[3] = { -1, -1, -1 };

	(void)userdata;
	if (!p)
		return;
	if (p->status == ST_STOPPED) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "cannot update a stopped container");
		return;
	}
	if (!req->resources || !req->resources->value.len) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "no resources");
		return;
	}
	/* The resources' JSON on runc's stdin (--resources -), as the Go shim; a pipe holds it. */
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "pipe: %s", strerror(errno));
		return;
	}
	if (fcntl(pipefd[1], F_SETFL, O_NONBLOCK) < 0 ||
	    write(pipefd[1], req->resources->value.data, req->resources->value.len) !=
		    (ssize_t)req->resources->value.len) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "resources: %zu bytes is too long",
				req->resources->value.len);
		close(pipefd[0]);
		close(pipefd[1]);
		return;
	}
	close(pipefd[1]);
	stdio[0] = pipefd[0];
	const char *args[] = { "update", "--resources", "-", p->task->id, NULL };

	run(p, call, "update", args, stdio, false, update_done, NULL);
	close(pipefd[0]);
}

/* ---- Checkpoint ---- */

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* CRIU's work directory of a checkpoint: BUNDLE/criu-work unless the options name one. */
static void checkpoint_work(const struct task *t, char *buf, size_t size)
{
	snprintf(buf, size, "%s/criu-work", t->bundle);
}

static void checkpoint_done(struct op *o, struct shim_runc *r, int status)
{
	struct ttrpc_call *call = shim_runc_call(r);
	struct task *t = o->p->task;
	char work[4096], from[4200], to[4200], msg[1024];

	checkpoint_work(t, work, sizeof(work));
	if (status != 0) {
		/* As the Go shim: CRIU's log kept in the bundle, and named. */
		snprintf(from, sizeof(from), "%s/dump.log", work);
		snprintf(to, sizeof(to), "%s/criu-dump.log", t->bundle);
		rename(from, to);
		shim_runc_last_error_of(&t->runc, msg, sizeof(msg));
		shim_log(TTRPC_LOG_ERR, "runc checkpoint: %s", msg);
		if (call)
			ttrpc_call_fail(call, TTRPC_UNKNOWN, "%s path= %s",
					*msg ? msg : "runc checkpoint failed", to);
	} else if (call) {
		containerd__task__v2__task_checkpoint_reply(call, &(Empty)EMPTY_INIT);
	}
	if (o->remove_work)
		nftw(work, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_checkpoint(struct ttrpc_call *call,
			  const Containerd__Task__V2__CheckpointTaskRequest *req, void *userdata)
{
	struct proc *p = task_find(call, req->id, NULL);
	Containerd__Runc__V1__CheckpointOptions *opts = NULL;
	char work[4096];
	const char *args[40];
	size_t n = 0;
	struct op *o;

	(void)userdata;
	if (!p)
		return;
	if (p->status != ST_RUNNING) {
		ttrpc_call_fail(call, TTRPC_FAILED_PRECONDITION, "cannot checkpoint a %s task",
				p->status == ST_CREATED ? "created" : "stopped");
		return;
	}
	if (req->options && req->options->value.len &&
	    !(opts = containerd__runc__v1__checkpoint_options__unpack(NULL, req->options->value.len,
								      req->options->value.data))) {
		ttrpc_call_fail(call, TTRPC_INVALID_ARGUMENT, "checkpoint options do not decode");
		return;
	}
	checkpoint_work(p->task, work, sizeof(work));
	args[n++] = "checkpoint";
	args[n++] = "--image-path";
	args[n++] = req->path;
	args[n++] = "--work-path";
	args[n++] = opts && *opts->work_path ? opts->work_path : work;
	if (!opts || !opts->exit)
		args[n++] = "--leave-running";
	if (opts && opts->open_tcp)
		args[n++] = "--tcp-established";
	if (opts && opts->external_unix_sockets)
		args[n++] = "--ext-unix-sk";
	if (opts && opts->terminal)
		args[n++] = "--shell-job";
	if (opts && opts->file_locks)
		args[n++] = "--file-locks";
	for (size_t i = 0; opts && i < opts->n_empty_namespaces && n < 36; i++) {
		args[n++] = "--empty-ns";
		args[n++] = opts->empty_namespaces[i];
	}
	args[n++] = p->task->id;
	args[n] = NULL;
	if (run(p, call, "checkpoint", args, NULL, false, checkpoint_done, &o) == 0)
		o->remove_work = !opts || !*opts->work_path;
	if (opts)
		containerd__runc__v1__checkpoint_options__free_unpacked(opts, NULL);
}

/* ---- Stats ---- */

static void on_stats(struct ttrpc_call *call, const Containerd__Task__V2__StatsRequest *req,
		     void *userdata)
{
	Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
	Ttrpcd__Shim__Types__Any any = TTRPCD__SHIM__TYPES__ANY__INIT;
	struct proc *p = task_find(call, req->id, NULL);
	ProtobufCMessage *msg;
	Metrics *m;
	int r;

	(void)userdata;
	if (!p)
		return;
	if (shim_cgroup_unified(CGROUP_ROOT)) {
		Metrics2 *m2;

		r = shim_cgroup_v2_metrics(CGROUP_ROOT, &p->task->cg, &m2);
		any.type_url = (char *)"io.containerd.cgroups.v2.Metrics";
		msg = r == 0 ? &m2->base : NULL;
	} else {
		r = shim_cgroup_v1_metrics(CGROUP_ROOT, &p->task->cg, "/proc/partitions", &m);
		any.type_url = (char *)"io.containerd.cgroups.v1.Metrics";
		msg = r == 0 ? &m->base : NULL;
	}
	if (r == -ENOENT) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "cgroup does not exist");
		return;
	}
	if (r < 0) {
		ttrpc_call_fail(call, TTRPC_UNKNOWN, "cgroup statistics: %s", strerror(-r));
		return;
	}
	any.value.len = protobuf_c_message_get_packed_size(msg);
	any.value.data = malloc(any.value.len ? any.value.len : 1);
	if (any.value.data)
		protobuf_c_message_pack(msg, any.value.data);
	protobuf_c_message_free_unpacked(msg, NULL);
	if (!any.value.data) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	resp.stats = &any;
	containerd__task__v2__task_stats_reply(call, &resp);
	free(any.value.data);
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
 * runs. First the queued events (TaskDelete) go out, for 5 s at most,
 * looked at every 10 ms: containerd waits for the shim's connection to
 * close before it answers ctr.
 */
void task_exit_timer(evutil_socket_t fd, short what, void *arg)
{
	static int ticks;

	(void)fd;
	(void)what;
	(void)arg;
	if (shim_events_pending(shim.events) && ++ticks < 500) {
		struct timeval tv = { 0, 10 * 1000 };

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
	.pause = on_pause,
	.resume = on_resume,
	.checkpoint = on_checkpoint,
	.exec = on_exec,
	.resize_pty = on_resize_pty,
	.close_io = on_close_io,
	.update = on_update,
	.stats = on_stats,
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
