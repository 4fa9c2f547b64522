/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task and its processes: the container's init and its exec processes,
 * their states as containerd sees them, their exits (told by the host,
 * which reaps) and the Wait calls that wait for them.
 */
#ifndef SHIM_PROCESS_H
#define SHIM_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <ttrpc/ttrpc.h>

#include "cgroup.h"
#include "fifos.h"
#include "runc.h"
#include "task.pb-c.h"

enum {
	ST_CREATED = CONTAINERD__TASK__V2__STATUS__CREATED,
	ST_RUNNING = CONTAINERD__TASK__V2__STATUS__RUNNING,
	ST_STOPPED = CONTAINERD__TASK__V2__STATUS__STOPPED,
	ST_PAUSED = CONTAINERD__TASK__V2__STATUS__PAUSED,
};

struct task;

struct proc {
	struct proc *next; /* the task's exec processes */
	struct task *task;
	char *id; /* the exec id; the container's id for the init */
	bool is_init;
	pid_t pid;
	int status; /* ST_CREATED, ST_RUNNING or ST_STOPPED */
	uint32_t exit_status;
	struct timespec exited_at;
	struct shim_stdio io;
	bool terminal;
	struct shim_console *console; /* a terminal's copy, once runc sent the master */
	/* An exec process's spec (JSON), written for runc exec at Start. */
	uint8_t *spec;
	size_t spec_len;
	/* A Delete waiting (2 s at most) for the terminal's output to be out. */
	bool delete_waits;
	struct ttrpc_call *delete_call; /* NULL once its caller left */
	struct event *io_timer;
	bool starting; /* runc start or exec runs */
	bool deleting; /* runc delete runs */
	bool watching; /* the host tells us of its exit */
	bool held;     /* it exited while starting: held_status */
	int held_status;
	/* Wait calls pending until the exit. */
	struct ttrpc_call **waiters;
	size_t n_waiters;
};

struct task {
	char *id;
	char *bundle;
	char *runc_binary, *runc_root;
	struct shim_runc_ctx runc;
	struct proc init;
	struct proc *execs;
	bool no_pivot_root, no_new_keyring; /* the runtime options of Create */
	struct shim_cgroup cg;              /* the init's cgroups, found at Create */
	struct shim_oom *oom;               /* OOM events, watched from Start on */
	bool creating;                      /* runc create runs: not a task yet for other calls */
	bool paused;
	bool mounted; /* BUNDLE/rootfs mounted from the Create request */
	bool gone;    /* deleted: freed once no runc of it runs */
	size_t runs;  /* runc processes of this task still running */
};

/* A Timestamp from a timespec. */
void proc_timestamp(Ttrpcd__Shim__Types__Timestamp *t, const struct timespec *ts);

/*
 * proc_init() - an exec process (@is_init false) or the init: @id copied,
 * the stdio paths copied. Return: 0 or -ENOMEM (then proc_fini() is done).
 */
int proc_init(struct proc *p, struct task *t, const char *id, bool is_init, const char *in,
	      const char *out, const char *err, bool terminal);

/* proc_fini() - release what proc_init() and the process's life took. */
void proc_fini(struct proc *p);

/*
 * proc_started() - its pid is known (runc create or exec exited): watch it.
 * Return: 0 or a negative errno of ttrpcd_host_watch_pid().
 */
int proc_started(struct proc *p);

/* proc_exec_new() - an exec process of @t, added to its list. Return: NULL if out of memory. */
struct proc *proc_exec_new(struct task *t, const char *id, const char *in, const char *out,
			   const char *err, bool terminal, const uint8_t *spec, size_t spec_len);

/* proc_exec_free() - take it off its task's list and free it. */
void proc_exec_free(struct proc *p);

/* proc_exited() - the process ended (@wstatus): STOPPED, TaskExit, the Wait calls answered. */
void proc_exited(struct proc *p, int wstatus);

/* proc_release_held() - runc start/exec was answered: tell an exit held meanwhile. */
void proc_release_held(struct proc *p);

/* proc_wait() - answer @call at the exit, or now if stopped. */
void proc_wait(struct ttrpc_call *call, struct proc *p);

/* proc_stop_waiting() - the process is gone without an exit (deleted when created). */
void proc_answer_waiters(struct proc *p);

/* proc_status() - its status as State reports it: the task's PAUSED counts. */
int proc_status(const struct proc *p);

/*
 * task_find() - the task @id and its process @exec_id ("" or NULL: the
 * init); fails @call (NOT_FOUND) and returns NULL when there is none.
 */
struct proc *task_find(struct ttrpc_call *call, const char *id, const char *exec_id);

/*
 * task_new() - a task, its init not initialised yet (proc_init()); the
 * strings are copied. Return: NULL when out of memory.
 */
struct task *task_new(const char *id, const char *bundle, const char *runc, const char *root);

/* task_hold() / task_unhold() - a runc of the task runs / has ended. */
void task_hold(struct task *t);
void task_unhold(struct task *t);

/* task_drop() - the task is over for containerd: freed when its runc are. */
void task_drop(struct task *t);

#endif
