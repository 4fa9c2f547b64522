/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task's processes: states, exits and Wait. The host reaps: the init
 * becomes ttrpcd's child when runc create exits (ttrpcd is the subreaper),
 * an exec process when runc exec exits; the module watches each from then
 * on (ttrpcd_host_watch_pid()), and the host keeps an exit reaped before
 * the question. An exit that comes while runc start or exec runs waits
 * until TaskStart or TaskExecStarted is published, so that containerd
 * hears of the start first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <ttrpc/module.h>

#include "events.h"
#include "events.pb-c.h"
#include "console.h"
#include "mount.h"
#include "oom.h"
#include "process.h"
#include "shim.h"
#include "task.ttrpc-c.h"

void proc_timestamp(Ttrpcd__Shim__Types__Timestamp *t, const struct timespec *ts)
{
	t->seconds = ts->tv_sec;
	t->nanos = (int32_t)ts->tv_nsec;
}

int proc_init(struct proc *p, struct task *t, const char *id, bool is_init, const char *in,
	      const char *out, const char *err, bool terminal)
{
	memset(p, 0, sizeof(*p));
	p->task = t;
	p->is_init = is_init;
	p->terminal = terminal;
	p->status = ST_CREATED;
	if (shim_stdio_init(&p->io, in, out, err) < 0 || !(p->id = strdup(id))) {
		proc_fini(p);
		return -ENOMEM;
	}
	return 0;
}

static void unwatch(struct proc *p);

void proc_fini(struct proc *p)
{
	unwatch(p);
	shim_console_free(p->console);
	p->console = NULL;
	if (p->io_timer)
		event_free(p->io_timer);
	p->io_timer = NULL;
	free(p->spec);
	p->spec = NULL;
	shim_stdio_fini(&p->io);
	free(p->id);
	p->id = NULL;
	free(p->waiters);
	p->waiters = NULL;
	p->n_waiters = 0;
}

struct proc *proc_exec_new(struct task *t, const char *id, const char *in, const char *out,
			   const char *err, bool terminal, const uint8_t *spec, size_t spec_len)
{
	struct proc *p = malloc(sizeof(*p));

	if (!p)
		return NULL;
	if (proc_init(p, t, id, false, in, out, err, terminal) < 0) {
		free(p);
		return NULL;
	}
	p->spec = malloc(spec_len ? spec_len : 1);
	if (!p->spec) {
		proc_fini(p);
		free(p);
		return NULL;
	}
	memcpy(p->spec, spec, spec_len);
	p->spec_len = spec_len;
	p->next = t->execs;
	t->execs = p;
	return p;
}

void proc_exec_free(struct proc *p)
{
	struct proc **link = &p->task->execs;

	while (*link && *link != p)
		link = &(*link)->next;
	if (*link)
		*link = p->next;
	proc_fini(p);
	free(p);
}

static void reply_wait(struct ttrpc_call *call, const struct proc *p)
{
	Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
	Ttrpcd__Shim__Types__Timestamp ts = TTRPCD__SHIM__TYPES__TIMESTAMP__INIT;

	proc_timestamp(&ts, &p->exited_at);
	resp.exit_status = p->exit_status;
	resp.exited_at = &ts;
	containerd__task__v2__task_wait_reply(call, &resp);
}

void proc_answer_waiters(struct proc *p)
{
	while (p->n_waiters > 0) {
		struct ttrpc_call *call = p->waiters[--p->n_waiters];

		ttrpc_call_on_cancel(call, NULL, NULL);
		reply_wait(call, p);
	}
}

/* containerd went away while it waited: the call still has to be finished. */
static void on_wait_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct proc *p = userdata;

	for (size_t i = 0; i < p->n_waiters; i++) {
		if (p->waiters[i] == call) {
			p->waiters[i] = p->waiters[--p->n_waiters];
			break;
		}
	}
	ttrpc_call_fail(call, code, "cancelled");
}

void proc_wait(struct ttrpc_call *call, struct proc *p)
{
	struct ttrpc_call **v;

	if (p->status == ST_STOPPED) {
		reply_wait(call, p);
		return;
	}
	v = realloc(p->waiters, (p->n_waiters + 1) * sizeof(*v));
	if (!v) {
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	p->waiters = v;
	v[p->n_waiters++] = call;
	ttrpc_call_on_cancel(call, on_wait_cancel, p);
}

void proc_exited(struct proc *p, int wstatus)
{
	Containerd__Services__Events__Ttrpc__V1__TaskExit ev =
		CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXIT__INIT;
	Ttrpcd__Shim__Types__Timestamp ts = TTRPCD__SHIM__TYPES__TIMESTAMP__INIT;

	p->exit_status = (uint32_t)shim_exit_status(wstatus);
	clock_gettime(CLOCK_REALTIME, &p->exited_at);
	p->status = ST_STOPPED;
	shim_log(TTRPC_LOG_INFO, "task %s: process %s (pid %d) exited with status %u", p->task->id,
		 p->id, (int)p->pid, p->exit_status);
	proc_timestamp(&ts, &p->exited_at);
	ev.container_id = p->task->id;
	ev.id = p->id;
	ev.pid = (uint32_t)p->pid;
	ev.exit_status = p->exit_status;
	ev.exited_at = &ts;
	shim_events_publish(shim.events, "/tasks/exit", "TaskExit", &ev.base);
	proc_answer_waiters(p);
}

static void on_exit_(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	struct proc *p = userdata;

	(void)host;
	(void)pid;
	p->watching = false;
	if (p->starting) {
		/* After the start's event: containerd must not hear of the exit first. */
		p->held = true;
		p->held_status = wstatus;
		return;
	}
	if (p->status != ST_STOPPED)
		proc_exited(p, wstatus);
}

int proc_started(struct proc *p)
{
	int r = ttrpcd_host_watch_pid(shim.host, p->pid, on_exit_, p);

	if (r < 0)
		shim_log(TTRPC_LOG_ERR, "task %s: cannot watch pid %d: %s", p->task->id,
			 (int)p->pid, strerror(-r));
	else
		p->watching = true;
	return r;
}

void proc_release_held(struct proc *p)
{
	p->starting = false;
	if (p->held) {
		p->held = false;
		if (p->status != ST_STOPPED)
			proc_exited(p, p->held_status);
	}
}

int proc_status(const struct proc *p)
{
	/* The whole container is frozen, its exec processes too (the Go shim). */
	if (p->task->paused && p->status != ST_STOPPED)
		return ST_PAUSED;
	return p->status;
}

struct proc *task_find(struct ttrpc_call *call, const char *id, const char *exec_id)
{
	struct task *t = shim.task;

	if (!t || t->creating || strcmp(t->id, id) != 0) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "container not created");
		return NULL;
	}
	if (!exec_id || !*exec_id)
		return &t->init;
	for (struct proc *p = t->execs; p; p = p->next) {
		if (strcmp(p->id, exec_id) == 0)
			return p;
	}
	ttrpc_call_fail(call, TTRPC_NOT_FOUND, "process %s does not exist", exec_id);
	return NULL;
}

struct task *task_new(const char *id, const char *bundle, const char *runc, const char *root)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->init.io.stdin_writer = -1;
	if (!(t->id = strdup(id)) || !(t->bundle = strdup(bundle)) ||
	    !(t->runc_binary = strdup(runc)) || !(t->runc_root = strdup(root))) {
		task_drop(t);
		return NULL;
	}
	t->runc.binary = t->runc_binary;
	t->runc.root = t->runc_root;
	t->runc.bundle = t->bundle;
	return t;
}

static void task_free(struct task *t)
{
	while (t->execs) {
		struct proc *p = t->execs;

		t->execs = p->next;
		proc_fini(p);
		free(p);
	}
	proc_fini(&t->init);
	shim_oom_free(t->oom);
	shim_cgroup_fini(&t->cg);
	free(t->id);
	free(t->bundle);
	free(t->runc_binary);
	free(t->runc_root);
	free(t);
}

void task_hold(struct task *t)
{
	t->runs++;
}

void task_unhold(struct task *t)
{
	t->runs--;
	if (t->gone && t->runs == 0)
		task_free(t);
}

static void unwatch(struct proc *p)
{
	if (p->watching)
		ttrpcd_host_unwatch_pid(shim.host, p->pid);
	p->watching = false;
}

void task_drop(struct task *t)
{
	char rootfs[4096];

	unwatch(&t->init);
	for (struct proc *p = t->execs; p; p = p->next)
		unwatch(p);

	if (t->mounted) {
		snprintf(rootfs, sizeof(rootfs), "%s/rootfs", t->bundle);
		shim_unmount_all(rootfs);
		t->mounted = false;
	}
	if (shim.task == t)
		shim.task = NULL;
	t->gone = true;
	t->runs++;
	task_unhold(t);
}
