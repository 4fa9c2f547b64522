/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ttrpcd module ABI: what a shared object loaded by ttrpcd exports, and
 * what the daemon offers it in return.
 *
 * A module exports exactly one symbol, "ttrpcd_module", a constant struct
 * ttrpcd_module, and is built with -fvisibility=hidden so that nothing else
 * leaks into the daemon:
 *
 *	static int echo_init(struct ttrpcd_host *host)
 *	{
 *		struct ttrpc_service svc = example__v1__echo_service(&echo_handlers);
 *
 *		return ttrpcd_host_register_service(host, &svc);
 *	}
 *
 *	static const struct ttrpcd_service_decl echo_services[] = {
 *		{ "example.v1.Echo", echo_methods },
 *		TTRPCD_SERVICES_END,
 *	};
 *
 *	TTRPCD_MODULE_DEFINE(
 *		.name = "echo",
 *		.init = echo_init,
 *		.services = echo_services,
 *	);
 *
 * The daemon reads abi_major, abi_minor and struct_size before anything
 * else, as Varnish reads its VMOD data: a module built against another
 * major, or a newer minor than the daemon knows, is refused without
 * touching the rest. A minor version only adds fields at the end of the
 * struct and functions to the host API; a major version changes or removes
 * something. A module built for an older minor is loaded as it is: the
 * daemon reads only its struct_size bytes, so the fields it lacks count as
 * NULL or 0.
 *
 * ABI 1.1 added the services field and the serving status functions
 * (ttrpcd_host_set_serving() and what the health module reads them with).
 * ABI 1.2 added the module's state and cache directories
 * (ttrpcd_host_state_dir(), ttrpcd_host_cache_dir()), child processes
 * (ttrpcd_host_spawn() and its kin), ttrpcd_host_stop(),
 * ttrpcd_host_register_service() and ttrpcd_host_fail(). ttrpcd_host_fail()
 * came after the others, before any release of ttrpcd with ABI 1.2: no
 * daemon that says 1.2 lacks it, so it needed no minor version of its own.
 *
 * Lifecycle, all on the daemon's event loop thread:
 *  - init() once, when the module is loaded: at start-up, or by the reload
 *    that enabled it, after the module's config section was checked
 *    against config_keys. Services it registers are served only once init
 *    returned 0; when it fails, nothing it registered is served and fini is
 *    not called.
 *  - reload() on SIGHUP, with the new config section visible through
 *    ttrpcd_host_config(). It applies the new settings completely or not
 *    at all: on failure the daemon keeps the old config, and modules that
 *    already took the new one are reloaded again with the old one.
 *  - init() and reload() that fail say why with ttrpcd_host_fail(): the
 *    daemon logs it, and a reload asked through the control service
 *    (ttrpcctl reload) answers it.
 *  - fini() at shutdown, or when a reload disabled the module, once every
 *    call into the module has finished. The module must then have no
 *    event, timer or fd left on the event_base, and finish any call it
 *    still holds (one answered by its deadline, say).
 *    Its child processes may still run: in fini it may kill them
 *    (ttrpcd_host_kill()) or start one more (ttrpcd_host_spawn() with no
 *    exit callback), but no exit callback of it runs after fini began, and
 *    the daemon forgets its watches when fini returns: a child still
 *    running is left running, and its exit is reaped and logged.
 *
 * Serving status, as grpc.health.v1 reports it: every service a module
 * registers is SERVING from the moment it is served, until its module sets
 * another status with ttrpcd_host_set_serving(). The service "" stands for
 * the daemon as a whole: SERVING once every listener and module is ready,
 * NOT_SERVING for good once the daemon stops (SIGTERM); then every service
 * becomes NOT_SERVING first and "" last (asked during those notifications,
 * "" is NOT_SERVING already: that tells a stop from an unload).
 *
 * Disabled by a reload (its section gone, or "enabled = no"), a module
 * with TTRPCD_MODULE_UNLOAD_SAFE is unloaded: its services become
 * NOT_SERVING (watchers, the module itself included, are told: a module
 * with long-lived streams ends them then), are no longer routed (new calls
 * get UNIMPLEMENTED) and leave the daemon (watchers are told
 * TTRPCD_SERVICE_UNKNOWN); once its calls in flight have finished (those
 * still unanswered after drain-timeout are cancelled), fini runs and the
 * module is dlclose()d. From the reload on, ttrpcd_host_config() returns
 * NULL. Without the flag the reload fails and says that a restart is
 * needed.
 *
 * Modules stay mapped until the process exits, unless they set
 * TTRPCD_MODULE_UNLOAD_SAFE: a module with threads, or that registers
 * callbacks with other libraries, must not.
 *
 * What is process-wide belongs to the daemon (ttrpcd-module(7)): a module
 * never changes the environment, the working directory or the umask,
 * installs no signal handler, never calls wait(), waitpid(-1) or
 * prctl(PR_SET_CHILD_SUBREAPER), closes only fds it opened, and never
 * exits or signals the daemon. Children go through ttrpcd_host_spawn(),
 * a stop through ttrpcd_host_stop().
 */
#ifndef TTRPC_MODULE_H
#define TTRPC_MODULE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ttrpc/common.h>
#include <ttrpc/server.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TTRPCD_MODULE_ABI_MAJOR 1
#define TTRPCD_MODULE_ABI_MINOR 2

/* The name of the one symbol a module exports. */
#define TTRPCD_MODULE_SYMBOL "ttrpcd_module"

/* Module flags. */
enum ttrpcd_module_flags {
	/* dlclose() after fini() is safe: nothing of the module outlives it. */
	TTRPCD_MODULE_UNLOAD_SAFE = 1u << 0,
};

/* The daemon's side of one loaded module; opaque. */
struct ttrpcd_host;

/*
 * A service a module serves (ABI 1.1), as it registers it with
 * ttrpcd_host_register(): its full name and its method table. Lists of
 * them end with TTRPCD_SERVICES_END.
 */
struct ttrpcd_service_decl {
	const char *name;
	const struct ttrpc_method *methods;
};

#define TTRPCD_SERVICES_END                   \
	{                                     \
		.name = NULL, .methods = NULL \
	}

/* grpc.health.v1.HealthCheckResponse.ServingStatus, by the same numbers. */
enum ttrpcd_serving_status {
	TTRPCD_SERVING_UNKNOWN = 0,
	TTRPCD_SERVING = 1,
	TTRPCD_NOT_SERVING = 2,
	/* An answer for names nobody serves, and what watchers are told of a
	 * service that leaves (its module unloaded); never set by a module. */
	TTRPCD_SERVICE_UNKNOWN = 3,
};

/*
 * What a module exports. The first three fields are fixed for every ABI
 * version; fill them with TTRPCD_MODULE_DEFINE().
 */
struct ttrpcd_module {
	uint32_t abi_major;   /* TTRPCD_MODULE_ABI_MAJOR the module was built with */
	uint32_t abi_minor;   /* TTRPCD_MODULE_ABI_MINOR the module was built with */
	uint32_t struct_size; /* sizeof(struct ttrpcd_module) the module was built with */
	uint32_t flags;       /* enum ttrpcd_module_flags */

	/* The module's name: [a-zA-Z0-9_-]+, unique in the daemon; the config
	 * section "[module NAME]" holds its settings. */
	const char *name;

	/* Keys the module accepts in its config section, NULL-terminated; the
	 * daemon rejects any other key with its file and line. NULL: none. */
	const char *const *config_keys;

	/* Register services, read settings. Return 0 or a negative errno. */
	int (*init)(struct ttrpcd_host *host);
	/* Optional: apply the reloaded settings. Return 0 or a negative errno. */
	int (*reload)(struct ttrpcd_host *host);
	/* Optional: release everything init made. */
	void (*fini)(struct ttrpcd_host *host);

	/* ---- ABI 1.1 ---- */

	/*
	 * Optional, but every module should have it: the services init
	 * registers, NULL-terminated (TTRPCD_SERVICES_END), static: what the
	 * module serves, said without running it, so it must list the very
	 * tables init registers. The daemon warns at load when init registers
	 * a service not listed here, or with another table. NULL: the module
	 * declares nothing. (Tools learn the message types from the daemon,
	 * which serves the descriptors registered with each service, not
	 * from this list: no tool loads a module.)
	 */
	const struct ttrpcd_service_decl *services;
};

/* Default visibility for the exported symbol of a -fvisibility=hidden build. */
#define TTRPCD_MODULE_EXPORT __attribute__((visibility("default")))

/*
 * TTRPCD_MODULE_DEFINE() - define the exported module symbol, with the ABI
 * fields filled in; the arguments are designated initialisers of the rest.
 */
#define TTRPCD_MODULE_DEFINE(...)                                         \
	TTRPCD_MODULE_EXPORT const struct ttrpcd_module ttrpcd_module = { \
		.abi_major = TTRPCD_MODULE_ABI_MAJOR,                     \
		.abi_minor = TTRPCD_MODULE_ABI_MINOR,                     \
		.struct_size = sizeof(struct ttrpcd_module),              \
		__VA_ARGS__                                               \
	}

/*
 * The host API, exported by the ttrpcd executable and resolved when the
 * module is loaded. @host is the handle init() received; it stays valid
 * until fini() returns.
 */

/*
 * ttrpcd_host_register() - serve a service on every listener of the daemon,
 * from a hand-written method table: without descriptors, so tools must be
 * given the service's .proto (ttrpcctl call --descriptor-set).
 * @name: full service name, copied.
 * @methods: table ended by TTRPC_METHODS_END, borrowed until fini() returns.
 * @userdata: passed to every handler.
 *
 * Only from init(). The service is served once init() has returned 0.
 *
 * Return: 0; -EEXIST when another module (or this one) registered @name
 * already, which the daemon reports naming both modules; -EINVAL for a bad
 * name or table; -EBUSY outside init(); -ENOMEM.
 */
int ttrpcd_host_register(struct ttrpcd_host *host, const char *name,
			 const struct ttrpc_method *methods, void *userdata);

/*
 * ttrpcd_host_register_service() - ttrpcd_host_register() for a service
 * bound to its handlers by the generated NAME_service() (ABI 1.2), which
 * checks the handlers' type: see the example at the top. The descriptors
 * the generated code embeds come with it: the daemon serves them to tools
 * (ttrpcd.v1.Control/Describe), so that ttrpcctl calls the service in JSON
 * without its .proto and without loading the module.
 * @svc: read before this returns: its name is copied, its methods and
 *       userdata are borrowed until fini() returns.
 *
 * Return: as ttrpcd_host_register(); -EINVAL when @svc is NULL.
 */
int ttrpcd_host_register_service(struct ttrpcd_host *host, const struct ttrpc_service *svc);

/*
 * ttrpcd_host_config() - a setting of the module's config section.
 * @key: one of the module's config_keys.
 *
 * Return: the value, borrowed until the next reload() or fini(), or NULL when
 * the key is not set.
 */
const char *ttrpcd_host_config(const struct ttrpcd_host *host, const char *key);

/* ttrpcd_host_event_base() - the daemon's event loop, borrowed. */
struct event_base *ttrpcd_host_event_base(const struct ttrpcd_host *host);

/*
 * ttrpcd_host_log() - log one line, tagged with the module's name.
 * @level: enum ttrpc_log_level.
 */
void ttrpcd_host_log(const struct ttrpcd_host *host, int level, const char *fmt, ...)
	TTRPC_PRINTF(3, 4);

/*
 * ttrpcd_host_fail() - say why init() or reload() fails, in words that tell
 * an administrator what to change (ABI 1.2):
 *
 *	if (!valid)
 *		return ttrpcd_host_fail(host, -EINVAL, "listen = '%s': %s", v, why);
 *
 * When init() or reload() then returns a negative errno, the daemon logs
 * "module 'NAME' (PATH): init failed: REASON" or "module 'NAME': reload
 * failed: REASON", and the control service's Reload answers
 * FAILED_PRECONDITION with it (what ttrpcctl reload prints), instead of the
 * errno's name. The first reason given during one init() or reload()
 * counts; a call that returns 0 drops it. Outside init() and reload() (a
 * handler, a timer), nothing waits for a reason: it is logged as an error,
 * tagged with the module's name. ttrpcd --check-config does not run init(),
 * so it cannot print these reasons.
 * @error: a negative errno, returned as it is.
 * @fmt: printf-style; the text is copied.
 *
 * Return: @error.
 */
int ttrpcd_host_fail(struct ttrpcd_host *host, int error, const char *fmt, ...) TTRPC_PRINTF(3, 4);

/*
 * ttrpcd_host_set_data() / ttrpcd_host_get_data() - one pointer of the
 * module's own state, kept by the host and never freed by it.
 */
void ttrpcd_host_set_data(struct ttrpcd_host *host, void *data);
void *ttrpcd_host_get_data(const struct ttrpcd_host *host);

/*
 * ttrpcd_host_set_serving() - set the serving status of one of the module's
 * own services, as the health service reports it (ABI 1.1).
 * @service: a service this module registered; from init() once registered.
 * @status: TTRPCD_SERVING_UNKNOWN, TTRPCD_SERVING or TTRPCD_NOT_SERVING.
 *
 * Every watcher (ttrpcd_host_watch_serving()) is told before this returns,
 * when the status changed.
 *
 * Return: 0; -ENOENT when no module serves @service; -EPERM when another
 * module (or the daemon, for "") owns it; -EINVAL for another @status.
 */
int ttrpcd_host_set_serving(struct ttrpcd_host *host, const char *service, int status);

/*
 * ttrpcd_host_get_serving() - the serving status of any service of the
 * daemon, that of every module and the daemon's own, or of "" (the daemon
 * as a whole) (ABI 1.1). Ask at the time of need: modules loaded after the
 * caller register their services after its init.
 *
 * Return: an enum ttrpcd_serving_status other than TTRPCD_SERVICE_UNKNOWN,
 * or -ENOENT when nothing serves @service.
 */
int ttrpcd_host_get_serving(const struct ttrpcd_host *host, const char *service);

/*
 * Told of every change of a serving status: @service (borrowed for the
 * call) is now @status. Called from the event loop, from inside the
 * ttrpcd_host_set_serving() of a module or from the daemon's own changes.
 */
typedef void (*ttrpcd_serving_fn)(struct ttrpcd_host *host, const char *service, int status,
				  void *userdata);

/*
 * ttrpcd_host_watch_serving() - be told of every change of a serving status
 * from now on (ABI 1.1); one watcher per module, a second call replaces
 * it, @fn NULL removes it. Nothing is called after fini() began.
 * @userdata: passed to @fn, borrowed.
 */
void ttrpcd_host_watch_serving(struct ttrpcd_host *host, ttrpcd_serving_fn fn, void *userdata);

/*
 * ttrpcd_host_state_dir() - a directory of the module's own for what must
 * survive restarts and reboots (ABI 1.2): the subdirectory named after the
 * module in ttrpcd's state directory, $STATE_DIRECTORY, which systemd's
 * StateDirectory= sets (/var/lib/ttrpcd under the bundled unit, writable
 * there although ProtectSystem=strict makes the rest of the system
 * read-only). Made on the first call, mode 0700; nothing in it is removed
 * by ttrpcd.
 * @ret: receives the absolute path, borrowed until fini() returns.
 *
 * Return: 0; -ENOENT when ttrpcd runs without a state directory
 * ($STATE_DIRECTORY unset: set it to run one by hand); -ENOTDIR when the
 * name is taken by something else; or the error of mkdir(2).
 */
int ttrpcd_host_state_dir(struct ttrpcd_host *host, const char **ret);

/*
 * ttrpcd_host_cache_dir() - the same for data the module can make again,
 * which an administrator may delete while ttrpcd is stopped (ABI 1.2):
 * the module's subdirectory of $CACHE_DIRECTORY, systemd's CacheDirectory=
 * (/var/cache/ttrpcd under the bundled unit).
 *
 * Return: as ttrpcd_host_state_dir().
 */
int ttrpcd_host_cache_dir(struct ttrpcd_host *host, const char **ret);

/* ---- ABI 1.2: child processes, and stopping the daemon ---- */

/* Flags of struct ttrpcd_spawn. */
enum ttrpcd_spawn_flags {
	/* The child leads a new session (setsid(2)), out of the daemon's
	 * process group and away from its controlling terminal. */
	TTRPCD_SPAWN_SETSID = 1u << 0,
};

/*
 * How to start a child process. Every pointer is borrowed for the call
 * only. Fields are only ever added at the end, in a new minor version of
 * the ABI; the daemon reads those of the version the module was built for.
 */
struct ttrpcd_spawn {
	/* The program and its arguments, NULL-terminated; argv[0] is run: a
	 * path with a '/' as it is, else the first executable of that name in
	 * the PATH of the child's environment (or /usr/local/sbin:
	 * /usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin when it has none). */
	const char *const *argv;
	/* The child's whole environment, NULL-terminated. NULL: the
	 * environment ttrpcd started with, without what the service manager
	 * set for ttrpcd alone ($NOTIFY_SOCKET, $WATCHDOG_*, $LISTEN_*). */
	const char *const *envp;
	/* Its working directory; NULL: "/". */
	const char *cwd;
	/* The fds that become its 0, 1 and 2, or -1 for /dev/null. Zero
	 * (the initialiser's) is the daemon's own stdin, stdout and stderr:
	 * under systemd /dev/null and the journal. */
	int stdio[3];
	/* n_fds more fds that become 3, 4, ... in the child, in this order
	 * (e.g. runc's console socket). No other fd of the daemon reaches it. */
	const int *fds;
	size_t n_fds;
	uint32_t flags; /* enum ttrpcd_spawn_flags */
};

/*
 * Told, once, that the child @pid ended: @wstatus as waitpid(2) gives it
 * (WIFEXITED(), WEXITSTATUS(), WIFSIGNALED(), WTERMSIG()). Called from the
 * event loop, never from inside the call that asked for it. The pid is no
 * longer the module's when this runs: it may already be another process's.
 */
typedef void (*ttrpcd_exit_fn)(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata);

/*
 * ttrpcd_host_spawn() - start a child process (ABI 1.2). Signal
 * dispositions are the defaults and the signal mask is empty in the child;
 * it holds no fd of the daemon but those @spawn names.
 * @on_exit: told when the child ends; NULL: nobody is told (the daemon
 *           reaps it all the same).
 * @userdata: passed to @on_exit, borrowed.
 * @ret: the child's pid, the module's until @on_exit ran: signal it with
 *       ttrpcd_host_kill(), stop watching it with ttrpcd_host_unwatch_pid().
 *
 * The daemon is the only one that reaps: it handles SIGCHLD on its loop
 * and calls @on_exit from there. An exec that fails is this call's error,
 * and @on_exit is then never called.
 *
 * Return: 0; -EINVAL for no argv[0], an fd of @fds under 0 (or @fds NULL
 * with n_fds), or an fd of @stdio under -1; -ENOENT, -EACCES, -ENOEXEC... from finding or running
 * the program; -EBADF for an fd that is not open; -EMFILE, -EAGAIN,
 * -ENOMEM.
 */
int ttrpcd_host_spawn(struct ttrpcd_host *host, const struct ttrpcd_spawn *spawn,
		      ttrpcd_exit_fn on_exit, void *userdata, pid_t *ret);

/*
 * ttrpcd_host_watch_pid() - be told when the child @pid ends, for a child
 * the module did not spawn: one reparented to the daemon as subreaper
 * (ttrpcd_host_set_subreaper()), such as a container's init once runc
 * exits (ABI 1.2). An exit the daemon reaped before anyone asked is kept
 * for a while (the last 256, for a minute at most) and still delivered,
 * from the loop, so that asking right after learning the pid never
 * misses it.
 * @on_exit: called once, as for ttrpcd_host_spawn(); not NULL.
 *
 * Return: 0; -ECHILD when @pid is neither a child of the daemon nor an
 * exit kept; -EBUSY when someone watches @pid already (its spawner, for
 * one); -EINVAL for a pid under 1 or no @on_exit.
 */
int ttrpcd_host_watch_pid(struct ttrpcd_host *host, pid_t pid, ttrpcd_exit_fn on_exit,
			  void *userdata);

/*
 * ttrpcd_host_unwatch_pid() - stop watching a pid the module spawned or
 * watches; its exit callback will not be called (ABI 1.2). The process
 * goes on, and its exit is reaped by the daemon.
 *
 * Return: 0, or -ENOENT when the module does not watch @pid.
 */
int ttrpcd_host_unwatch_pid(struct ttrpcd_host *host, pid_t pid);

/*
 * ttrpcd_host_kill() - send @sig to a child the module spawned or watches,
 * whose exit it has not been told yet (ABI 1.2). Until then the daemon has
 * not reaped it, so the pid cannot be another process's.
 *
 * Return: 0; -ESRCH when the module does not watch @pid; -EINVAL, -EPERM
 * from kill(2).
 */
int ttrpcd_host_kill(struct ttrpcd_host *host, pid_t pid, int sig);

/*
 * ttrpcd_host_set_subreaper() - ask that the daemon be the child subreaper
 * (PR_SET_CHILD_SUBREAPER), or withdraw the request (ABI 1.2). The daemon
 * is one while at least one module asks; orphans of its children are then
 * reparented to it and can be watched with ttrpcd_host_watch_pid(). A
 * module's request ends with its fini.
 *
 * Return: 0 or a negative errno from prctl(2).
 */
int ttrpcd_host_set_subreaper(struct ttrpcd_host *host, bool on);

/*
 * ttrpcd_host_stop() - ask the daemon to stop, as on SIGTERM: services go
 * NOT_SERVING, calls drain, every module's fini runs, the daemon exits 0
 * (ABI 1.2). Logged with the module's name; the stop begins on the loop,
 * after this returns.
 */
void ttrpcd_host_stop(struct ttrpcd_host *host);

#ifdef __cplusplus
}
#endif

#endif
