/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loaded modules: dlopen, the ABI check, init/reload/fini, and the table of
 * services each module owns.
 */
#ifndef TTRPCD_MODULES_H
#define TTRPCD_MODULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <ttrpc/module.h>

#include "daemon/conf.h"

struct event_base;
struct ttrpc_server;
struct ttrpcd_children;
struct ttrpcd_listeners;
struct ttrpcd_modules;

/*
 * ttrpcd_modules_new() - an empty set of modules. The state and cache
 * directories its modules get subdirectories of are read here, once, from
 * $STATE_DIRECTORY and $CACHE_DIRECTORY.
 * @base: handed to modules, borrowed; it must outlive the set.
 * @children: the daemon's child processes, which modules reach through the
 *            host API; borrowed, it must outlive the set.
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_modules_new(struct event_base *base, struct ttrpcd_children *children,
		       struct ttrpcd_modules **ret);

/*
 * ttrpcd_modules_load() - load and init every enabled module of @cfg, in order.
 * @cfg: borrowed until ttrpcd_modules_reload() replaces it or the set is freed.
 *
 * A module that fails (missing file or symbol, another ABI, a setting it
 * does not declare, a duplicate name or service, init failing) is logged in
 * one line naming it and the reason; an optional one is then skipped.
 *
 * Return: 0, or -EINVAL (or the failing init's error) for the first
 * failure of a required module; modules already inited stay in the set.
 */
int ttrpcd_modules_load(struct ttrpcd_modules *set, const struct ttrpcd_config *cfg);

/*
 * ttrpcd_modules_check() - open every module of @cfg that start-up would
 * load, check its ABI, its settings, its name and the services it declares
 * (two modules that declare one fail as their init would), and close them
 * again, without running their init. Failures are logged as by
 * ttrpcd_modules_load(), and so is a module that declares no services.
 * @report: receives a line per module that passed: its ABI, how many
 *          settings it has, what it declares.
 * @n_ok: receives how many passed.
 *
 * Return: 0, -EINVAL when a required module fails, -ENOMEM.
 */
int ttrpcd_modules_check(const struct ttrpcd_config *cfg, FILE *report, size_t *n_ok);

/*
 * ttrpcd_modules_publish() - register every service of the inited modules
 * on @srv.
 *
 * Return: 0 or the error of ttrpc_server_register().
 */
int ttrpcd_modules_publish(const struct ttrpcd_modules *set, struct ttrpc_server *srv);

/*
 * ttrpcd_modules_reload() - make the modules those @cfg enables, all or
 * nothing:
 *  - a module newly enabled is loaded and inited (a required one that
 *    fails fails the reload) and served on every server of @ls;
 *  - a module still enabled gets its new settings (its reload());
 *  - a module no longer enabled (its section gone, or enabled = no) is
 *    retired: its services go NOT_SERVING and leave every server, and once
 *    its calls are over (or cancelled after @cfg's drain-timeout) fini runs
 *    and it is unloaded. Only a module with TTRPCD_MODULE_UNLOAD_SAFE can
 *    go; for another the reload fails and says that a restart is needed.
 * Any failure leaves every module as it was: new ones are unloaded again,
 * staying ones reloaded with their previous settings.
 * @ls: the servers, borrowed for the call and, for retired modules, until
 *      they are unloaded.
 * @why: on failure, a malloc'd reason naming the module; the caller frees it.
 *
 * Return: 0 (the set now borrows @cfg), -EBUSY when a change needs a
 * restart (a module that is not unload-safe disabled, a module's file
 * moved, a module still being unloaded enabled again), or the failing
 * module's error.
 */
int ttrpcd_modules_reload(struct ttrpcd_modules *set, const struct ttrpcd_config *cfg,
			  struct ttrpcd_listeners *ls, char **why);

/* ttrpcd_modules_count() - number of modules inited and enabled (not being unloaded). */
size_t ttrpcd_modules_count(const struct ttrpcd_modules *set);

/*
 * ttrpcd_modules_add_builtin() - a service of the daemon itself, served and
 * listed like the modules' (owner "ttrpcd" in messages). Add it before the
 * modules load, so that a module registering the same name fails.
 * @svc: its name is copied, the rest borrowed until the set is freed.
 *
 * Return: 0, -EEXIST or -ENOMEM.
 */
int ttrpcd_modules_add_builtin(struct ttrpcd_modules *set, const struct ttrpc_service *svc);

/*
 * ttrpcd_modules_set_ready() - the daemon as a whole (service "") is
 * SERVING from now on; watching modules are told.
 */
void ttrpcd_modules_set_ready(struct ttrpcd_modules *set);

/*
 * ttrpcd_modules_set_stopping() - every service, then "", is NOT_SERVING
 * from now on; watching modules are told, so that the health module can
 * end its Watch streams before the drain waits for them.
 */
void ttrpcd_modules_set_stopping(struct ttrpcd_modules *set);

/* One served service, as the control service lists it; borrowed from the set. */
struct ttrpcd_service_info {
	const char *name;
	const char *module; /* NULL: built into the daemon */
	const struct ttrpc_method *methods;
	int status; /* enum ttrpcd_serving_status */
	/* Its google.protobuf.FileDescriptorSet; NULL (size 0): none. */
	const uint8_t *descriptor_set;
	size_t descriptor_set_size;
};

/*
 * ttrpcd_modules_service_at() - the @i-th service, in registration order.
 * Return: false when @i is past the last.
 */
bool ttrpcd_modules_service_at(const struct ttrpcd_modules *set, size_t i,
			       struct ttrpcd_service_info *info);

/* One loaded module; borrowed from the set. */
struct ttrpcd_module_info {
	const char *name;
	const char *path; /* absolute when realpath(3) could tell */
};

/*
 * ttrpcd_modules_module_at() - the @i-th inited module, in load order.
 * Return: false when @i is past the last.
 */
bool ttrpcd_modules_module_at(const struct ttrpcd_modules *set, size_t i,
			      struct ttrpcd_module_info *info);

/*
 * ttrpcd_modules_free() - fini every module, those being unloaded first,
 * then the others last loaded first, forget the watches of its children,
 * and unload those that declared themselves safe to unload. Call it once no
 * call into any module is in flight (the servers are freed). NULL is
 * accepted.
 */
void ttrpcd_modules_free(struct ttrpcd_modules *set);

#endif
