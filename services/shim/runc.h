/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc, run through the host (ttrpcd_host_spawn()) as containerd-shim-runc-v2
 * drives it: the global flags first (--root, --log BUNDLE/log.json
 * --log-format json), then the command. The loop never waits for runc: the
 * caller is told when it exits.
 */
#ifndef SHIM_RUNC_H
#define SHIM_RUNC_H

#include <stdbool.h>
#include <stddef.h>

#include <ttrpc/ttrpc.h>

/* Which runc, for which container: the task's, borrowed by each run. */
struct shim_runc_ctx {
	const char *binary; /* runc's name or path */
	const char *root;   /* --root */
	const char *bundle; /* its log goes to BUNDLE/log.json */
	bool systemd_cgroup;
};

struct shim_runc;

/*
 * Called once runc exited: @status is its exit status (128 + signal when
 * killed). shim_runc_call() is the call that waits, still unanswered, or
 * NULL when its caller left; the callback answers it.
 */
typedef void (*shim_runc_done_fn)(struct shim_runc *op, int status, void *arg);

/* What to run: NULL-terminated @args after the global flags. */
struct shim_runc_run {
	const char *const *args;
	/* Its stdin, stdout, stderr: fds, -1 for /dev/null; NULL: all three /dev/null. */
	const int *stdio;
	/* Read its stdout into a buffer of the op (shim_runc_output()). */
	bool capture;
};

/*
 * shim_runc() - start runc.
 * @call: the call waiting for it, or NULL; its cancellation is handled
 *        (it is failed, runc runs on and @done still runs).
 * @done: NULL: nobody waits (a clean-up); else called once runc exits.
 *
 * Return: 0, or a negative errno (then @done is never called).
 */
int shim_runc(const struct shim_runc_ctx *ctx, const struct shim_runc_run *run,
	      struct ttrpc_call *call, shim_runc_done_fn done, void *arg);

/* shim_runc_call() - the waiting call, NULL if none or its caller left. */
struct ttrpc_call *shim_runc_call(const struct shim_runc *op);

/* shim_runc_output() - what runc printed on stdout (captured), NUL-terminated. */
const char *shim_runc_output(const struct shim_runc *op);

/*
 * shim_runc_fail() - fail @call (when not NULL) with runc's own last error
 * from its log, as the Go shim does: "OCI runtime WHAT failed: MSG";
 * logged in any case.
 */
void shim_runc_fail(struct ttrpc_call *call, const struct shim_runc_ctx *ctx, const char *what,
		    int status);

/* shim_runc_last_error_of() - runc's last error in the bundle's log, "" if none. */
void shim_runc_last_error_of(const struct shim_runc_ctx *ctx, char *msg, size_t size);

/*
 * shim_runc_forget_all() - at fini: nothing is told of the runc still
 * running; @forget gets the arg of each, to release it.
 */
void shim_runc_forget_all(void (*forget)(void *arg));

#endif
