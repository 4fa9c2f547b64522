/* SPDX-License-Identifier: Apache-2.0 */
/* The Task service's handlers, for the module to register. */
#ifndef SHIM_TASK_H
#define SHIM_TASK_H

#include <event2/event.h>

#include "task.ttrpc-c.h"

extern const struct containerd__task__v2__task_handlers task_handlers;

/* The timer of a Shutdown: stops the daemon once the events are out. */
void task_exit_timer(evutil_socket_t fd, short what, void *arg);

/*
 * task_cleanup() - at fini: the runc still running forgotten, a task never
 * deleted taken down (runc delete --force).
 */
void task_cleanup(void);

#endif
