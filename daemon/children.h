/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes of the daemon and of its modules: the one SIGCHLD
 * handler, the one reaper, spawning, and who is told of which exit. The
 * host API of <ttrpc/module.h> (ttrpcd_host_spawn() and its kin) is this,
 * with the module's host handle as the owner.
 */
#ifndef TTRPCD_CHILDREN_H
#define TTRPCD_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <ttrpc/module.h>

struct event_base;
struct ttrpcd_children;

/*
 * ttrpcd_children_new() - handle SIGCHLD on @base from now on, reaping
 * every child; copy the environment as it is now (call it once the service
 * manager's variables are gone and before any module can change it): it is
 * what a child gets when it is given none.
 * @base: borrowed; it must outlive the set.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_children_new(struct event_base *base, struct ttrpcd_children **ret);

/*
 * ttrpcd_children_free() - stop handling SIGCHLD and forget every watch;
 * children still running are left running. NULL is accepted.
 */
void ttrpcd_children_free(struct ttrpcd_children *c);

/*
 * ttrpcd_children_spawn() - ttrpcd_host_spawn() for @owner (borrowed, the
 * first argument of @on_exit). @spawn holds the fields of ABI 1.2.
 */
int ttrpcd_children_spawn(struct ttrpcd_children *c, struct ttrpcd_host *owner,
			  const struct ttrpcd_spawn *spawn, ttrpcd_exit_fn on_exit, void *userdata,
			  pid_t *ret);

/* ttrpcd_children_watch() - ttrpcd_host_watch_pid() for @owner. */
int ttrpcd_children_watch(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid,
			  ttrpcd_exit_fn on_exit, void *userdata);

/* ttrpcd_children_unwatch() - ttrpcd_host_unwatch_pid() for @owner. */
int ttrpcd_children_unwatch(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid);

/* ttrpcd_children_kill() - ttrpcd_host_kill() for @owner. */
int ttrpcd_children_kill(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid, int sig);

/* ttrpcd_children_subreaper() - ttrpcd_host_set_subreaper() for @owner. */
int ttrpcd_children_subreaper(struct ttrpcd_children *c, struct ttrpcd_host *owner, bool on);

/*
 * ttrpcd_children_forget() - drop every watch of @owner (no callback of it
 * runs again) and its subreaper request; for a module whose fini ran. Its
 * children still running are left running and reaped when they end.
 *
 * Return: how many of its children were still running.
 */
size_t ttrpcd_children_forget(struct ttrpcd_children *c, struct ttrpcd_host *owner);

#endif
