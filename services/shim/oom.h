/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OOM events of a memory cgroup, on the event loop, as containerd-shim-runc-v2
 * watches them: on cgroup v1 an eventfd registered for memory.oom_control
 * through cgroup.event_control; on cgroup v2 inotify on memory.events, an
 * OOM told when its oom_kill count grows.
 */
#ifndef SHIM_OOM_H
#define SHIM_OOM_H

#include <stdbool.h>

#include <event2/event.h>

struct shim_oom;

/* Told on each OOM of the cgroup, from the loop. */
typedef void (*shim_oom_fn)(void *arg);

/*
 * shim_oom_watch() - watch the memory cgroup @dir (copied), of cgroup v2
 * when @v2, else v1.
 *
 * Return: 0 or a negative errno (@fn is then never called).
 */
int shim_oom_watch(struct event_base *base, const char *dir, bool v2, shim_oom_fn fn, void *arg,
		   struct shim_oom **ret);

/* shim_oom_free() - stop watching; NULL is fine. */
void shim_oom_free(struct shim_oom *o);

#endif
