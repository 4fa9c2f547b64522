/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd: serves the services of its modules over ttrpc on unix sockets, in
 * the foreground, under systemd or not. This file holds the command line,
 * the event loop and the three transitions: start, reload, stop.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "daemon/children.h"
#include "daemon/conf.h"
#include "daemon/control.h"
#include "daemon/duration.h"
#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/modules.h"
#include "daemon/notify.h"
#include "daemon/slowcall.h"

#define DEFAULT_CONFIG TTRPCD_SYSCONFDIR "/ttrpcd/ttrpcd.conf"
#define DEFAULT_LISTENER "ttrpcd"
/* What ttrpcd serves without any config: health, and its own control. */
#define DEFAULT_MODULE "health"

/* What the command line asks for; the config is rebuilt from it on reload. */
struct options {
	const char *config;
	bool config_given;
	char *config_in_dir; /* $CONFIGURATION_DIRECTORY/ttrpcd.conf, owned */
	const char **sockets;
	size_t n_sockets;
	const char **modules;
	size_t n_modules;
	char **module_paths; /* modules, made absolute at start-up, owned */
	bool check_config;
	char *runtime_dir; /* $RUNTIME_DIRECTORY at start-up, or NULL */
	char *config_abs;  /* config, made absolute at start-up */
};

struct daemon {
	struct options opts;
	struct event_base *base;
	struct ttrpcd_config cfg;
	struct ttrpcd_children *children;
	struct ttrpcd_modules *modules;
	struct ttrpcd_control *control;
	struct ttrpcd_listeners *listeners;
	struct ttrpcd_notify *notify;
	struct ttrpcd_slowcall *slow;
	struct ttrpcd_inherited *inherited; /* until the listeners took theirs */
	struct event *signals[3];
	bool stopping;
};

static int add_default_listener(struct ttrpcd_config *cfg, const char *rt)
{
	char *path;
	int r;

	/* $RUNTIME_DIRECTORY may list several directories; the first is ours. */
	if (rt && *rt)
		r = asprintf(&path, "%.*s/ttrpcd.sock", (int)strcspn(rt, ":"), rt);
	else
		r = asprintf(&path, "/run/ttrpcd/ttrpcd.sock");
	if (r < 0)
		return -ENOMEM;
	r = ttrpcd_config_add_listener(cfg, DEFAULT_LISTENER, path);
	free(path);
	if (r == 0)
		cfg->listeners[cfg->n_listeners - 1].fallback = true;
	return r;
}

/*
 * The config the options describe: built-in defaults, then the file and
 * its drop-ins, then the command line. Modules are enabled, never found by
 * looking in the module directory: with no file at all, health (optional:
 * it may not be installed), and --module loads more, as it does besides a
 * file's. Errors are logged; @why, when not NULL, receives a malloc'd copy
 * of a file's error (or NULL).
 */
static int build_config(const struct options *opts, struct ttrpcd_config *cfg, char **why)
{
	char *error = NULL, name[32];
	int r;

	r = ttrpcd_config_init(cfg);
	if (r == 0)
		r = ttrpcd_config_load(cfg, opts->config, opts->config_given, &error);
	if (r < 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "%s", error ? error : strerror(-r));
		if (why)
			*why = error ? error : strdup(strerror(-r));
		else
			free(error);
		ttrpcd_config_clear(cfg);
		return r;
	}
	for (size_t i = 0; i < opts->n_sockets && r == 0; i++) {
		snprintf(name, sizeof(name), "socket%zu", i);
		r = ttrpcd_config_add_listener(cfg, name, opts->sockets[i]);
	}
	if (r == 0 && cfg->n_listeners == 0)
		r = add_default_listener(cfg, opts->runtime_dir);
	for (size_t i = 0; i < opts->n_modules && r == 0; i++)
		r = ttrpcd_config_add_module(cfg, NULL, opts->module_paths[i]);
	if (r == 0 && !cfg->from_file) {
		r = ttrpcd_config_add_module(cfg, DEFAULT_MODULE, NULL);
		if (r == 0) {
			cfg->modules[cfg->n_modules - 1].optional = true;
			cfg->modules[cfg->n_modules - 1].fallback = true;
		}
	}
	if (r < 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "%s",
			   r == -EEXIST ? "listener named twice" : strerror(-r));
		ttrpcd_config_clear(cfg);
	}
	return r;
}

static void status_line(char *buf, size_t size, void *arg)
{
	struct daemon *d = arg;
	struct ttrpc_server_stats s;

	size_t n_modules = ttrpcd_modules_count(d->modules);

	ttrpcd_listen_stats(d->listeners, &s);
	snprintf(buf, size, "%s%llu %s, %llu %s served, %llu in flight, %zu %s",
		 d->stopping ? "stopping: " : "", (unsigned long long)s.connections,
		 ttrpcd_plural(s.connections, "connection", "connections"),
		 (unsigned long long)s.calls_total, ttrpcd_plural(s.calls_total, "call", "calls"),
		 (unsigned long long)s.calls_in_flight, n_modules,
		 ttrpcd_plural(n_modules, "module", "modules"));
}

static int on_call(struct ttrpc_call *call, void *arg)
{
	const struct ttrpc_peer *peer = ttrpc_call_peer(call);

	ttrpcd_log(TTRPC_LOG_DEBUG, "call %s/%s from pid %d uid %u", ttrpc_call_service(call),
		   ttrpc_call_method(call), (int)peer->pid, (unsigned)peer->uid);
	return 0;
}

static void on_call_done(struct ttrpc_call *call, int code, void *arg)
{
	ttrpcd_log(TTRPC_LOG_DEBUG, "call %s/%s done: %s", ttrpc_call_service(call),
		   ttrpc_call_method(call), ttrpc_code_name(code));
}

/* Every server: limits, per-call debug lines, the modules' services. */
static int prepare_server(struct ttrpc_server *srv, void *arg)
{
	static const struct ttrpc_server_interceptor debug_calls = {
		.on_call = on_call,
		.on_done = on_call_done,
	};
	struct daemon *d = arg;
	int r;

	r = ttrpc_server_add_interceptor(srv, &debug_calls);
	if (r == 0)
		r = ttrpcd_control_prepare_server(d->control, srv);
	if (r == 0)
		r = ttrpcd_modules_publish(d->modules, srv);
	return r;
}

/* uid_t and gid_t lists; an empty one may be NULL. */
static bool ids_equal(const unsigned *a, size_t na, const unsigned *b, size_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* A reload cannot rebind sockets: that needs a restart. */
static const char *structure_change(const struct ttrpcd_config *a, const struct ttrpcd_config *b)
{
	if (a->n_listeners != b->n_listeners)
		return "the listeners changed";
	for (size_t i = 0; i < a->n_listeners; i++) {
		const struct ttrpcd_listener_conf *x = &a->listeners[i], *y = &b->listeners[i];

		if (strcmp(x->name, y->name) != 0 || !x->path != !y->path ||
		    (x->path && strcmp(x->path, y->path) != 0) || x->mode != y->mode ||
		    x->owner != y->owner || x->group != y->group ||
		    !ids_equal(x->allow_uids, x->n_allow_uids, y->allow_uids, y->n_allow_uids) ||
		    !ids_equal(x->allow_gids, x->n_allow_gids, y->allow_gids, y->n_allow_gids))
			return "the listeners changed";
	}
	return NULL;
}

/*
 * Re-read the config and apply what can change without a restart, for
 * SIGHUP and the control service. Return 0, or a negative errno with *why
 * a malloc'd reason (or NULL) for the caller to free.
 */
static int reload(struct daemon *d, char **why_ret)
{
	struct ttrpcd_config cfg;
	char *why = NULL, *status;
	const char *change;
	int r;

	ttrpcd_notify_reloading(d->notify);
	ttrpcd_log(TTRPC_LOG_NOTICE, "reloading the configuration");
	r = build_config(&d->opts, &cfg, &why);
	if (r < 0) {
		if (!why)
			why = strdup("the configuration has errors (see the log)");
		goto fail;
	}
	change = structure_change(&d->cfg, &cfg);
	if (change) {
		r = -EINVAL;
		if (asprintf(&why, "%s: restart ttrpcd to apply that", change) < 0)
			why = NULL;
		goto fail_cfg;
	}
	r = ttrpcd_listen_set_limits(d->listeners, &cfg.limits);
	if (r < 0) {
		why = strdup("a limit is out of range");
		goto fail_cfg;
	}
	r = ttrpcd_modules_reload(d->modules, &cfg, d->listeners, &why);
	if (r < 0) {
		ttrpcd_listen_set_limits(d->listeners, &d->cfg.limits);
		goto fail_cfg;
	}
	/* Before the loop runs again: Stats holds nothing of a module that went. */
	ttrpcd_control_services_changed(d->control);
	ttrpcd_config_clear(&d->cfg);
	d->cfg = cfg;
	ttrpcd_log_set_level(d->cfg.log_level);
	ttrpcd_listen_set_log_level(d->listeners, d->cfg.log_level);
	if (ttrpcd_slowcall_set(d->slow, d->cfg.slow_call_ms) < 0)
		ttrpcd_log(TTRPC_LOG_WARNING, "out of memory: slow calls are not logged");
	ttrpcd_log(TTRPC_LOG_NOTICE, "configuration reloaded");
	ttrpcd_notify_ready(d->notify, NULL);
	*why_ret = NULL;
	return 0;
fail_cfg:
	ttrpcd_config_clear(&cfg);
fail:
	ttrpcd_log(TTRPC_LOG_ERR, "reload failed, keeping the running configuration: %s",
		   why ? why : strerror(-r));
	if (asprintf(&status, "reload failed, running the previous configuration: %s",
		     why ? why : strerror(-r)) >= 0) {
		ttrpcd_notify_ready(d->notify, status);
		free(status);
	} else {
		ttrpcd_notify_ready(d->notify, NULL);
	}
	*why_ret = why;
	return r;
}

static void control_server_stats(struct ttrpc_server_stats *sum, void *arg)
{
	struct daemon *d = arg;

	ttrpcd_listen_stats(d->listeners, sum);
}

static void control_foreach_call(ttrpc_call_visit_fn fn, void *visit_arg, void *arg)
{
	struct daemon *d = arg;

	ttrpcd_listen_foreach_call(d->listeners, fn, visit_arg);
}

static int control_reload(char **why, void *arg)
{
	struct daemon *d = arg;

	*why = NULL;
	/* Calls are no longer read once stopping, but one read before may come. */
	if (d->stopping)
		return -ESHUTDOWN;
	return reload(d, why);
}

static const struct ttrpcd_control_ops control_ops = {
	.server_stats = control_server_stats,
	.foreach_call = control_foreach_call,
	.reload = control_reload,
};

static void on_drained(bool drained, void *arg)
{
	struct daemon *d = arg;

	ttrpcd_log(TTRPC_LOG_NOTICE, "%s",
		   drained ? "all calls finished; exiting"
			   : "drain timeout passed; calls were cancelled");
	event_base_loopbreak(d->base);
}

static void stop(struct daemon *d, int sig)
{
	struct ttrpc_server_stats s;
	char status[128];

	if (d->stopping)
		return;
	d->stopping = true;
	/* Watchers of the health service hear it first, and end their streams. */
	ttrpcd_modules_set_stopping(d->modules);
	ttrpcd_listen_stats(d->listeners, &s);
	snprintf(status, sizeof(status), "stopping: draining %llu %s",
		 (unsigned long long)s.calls_in_flight,
		 ttrpcd_plural(s.calls_in_flight, "call", "calls"));
	ttrpcd_notify_stopping(d->notify, status);
	ttrpcd_log(TTRPC_LOG_NOTICE, "%s: shutting down, %llu %s in flight, waiting up to %u ms",
		   strsignal(sig), (unsigned long long)s.calls_in_flight,
		   ttrpcd_plural(s.calls_in_flight, "call", "calls"), d->cfg.drain_timeout_ms);
	if (ttrpcd_listen_shutdown(d->listeners, d->cfg.drain_timeout_ms, on_drained, d) < 0)
		event_base_loopbreak(d->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;
	char *why;

	if (sig == SIGHUP && !d->stopping) {
		reload(d, &why); /* logged and in STATUS= already */
		free(why);
	} else if (sig != SIGHUP) {
		stop(d, (int)sig);
	}
}

static void usage(FILE *out, const char *argv0)
{
	fprintf(out,
		"Usage: %s [OPTION]...\n"
		"Serve the ttrpc services of loadable modules on unix sockets.\n\n"
		"  -c, --config FILE     read FILE and FILE.d/*.conf (default\n"
		"                        $CONFIGURATION_DIRECTORY/ttrpcd.conf when systemd\n"
		"                        sets it, else %s)\n"
		"  -s, --socket PATH     also listen on PATH (repeatable)\n"
		"  -m, --module PATH     also load the module at PATH, besides those the\n"
		"                        configuration enables (repeatable)\n"
		"  -t, --check-config    check the configuration and the modules, then exit\n"
		"  -V, --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n\n"
		"Modules are looked up in %s. SIGHUP reloads, SIGTERM stops.\n",
		argv0, DEFAULT_CONFIG, TTRPCD_MODULE_DIR);
}

static int append(const char ***v, size_t *n, const char *s)
{
	const char **nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	*v = nv;
	return 0;
}

/* Return: -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct options *opts)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "check-config", no_argument, NULL, 't' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	opts->config = DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:s:m:tVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			opts->config = optarg;
			opts->config_given = true;
			break;
		case 's':
			if (append(&opts->sockets, &opts->n_sockets, optarg) < 0)
				return 1;
			break;
		case 'm':
			if (append(&opts->modules, &opts->n_modules, optarg) < 0)
				return 1;
			break;
		case 't':
			opts->check_config = true;
			break;
		case 'V':
			printf("ttrpcd %s (module ABI %d.%d)\n", PACKAGE_VERSION,
			       TTRPCD_MODULE_ABI_MAJOR, TTRPCD_MODULE_ABI_MINOR);
			return 0;
		case 'h':
			usage(stdout, argv[0]);
			return 0;
		default:
			usage(stderr, argv[0]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[optind]);
		return 2;
	}
	return -1;
}

/*
 * @path against the working directory, malloc'd into *@ret.
 * Return: 0, -ENOMEM, or getcwd()'s error for a relative @path.
 */
static int absolute(const char *path, char **ret)
{
	char cwd[4096];

	if (path[0] == '/')
		return (*ret = strdup(path)) ? 0 : -ENOMEM;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return asprintf(ret, "%s/%s", cwd, path) < 0 ? -ENOMEM : 0;
}

/*
 * What reloads read again, fixed at start-up: the paths of the config and
 * of --module against the directory ttrpcd started in (as any command-line
 * tool takes a path), and $RUNTIME_DIRECTORY (the default socket's
 * directory), whatever a module does to the working directory or the
 * environment later. Under systemd the default config is in the unit's
 * ConfigurationDirectory= (/etc/ttrpcd), whatever prefix ttrpcd was built
 * for; it may list several directories with ':', the first is ours.
 */
static int anchor_options(struct options *opts)
{
	const char *rt = getenv("RUNTIME_DIRECTORY");
	const char *conf_dir = getenv("CONFIGURATION_DIRECTORY");
	int r;

	if (rt && !(opts->runtime_dir = strdup(rt)))
		return -ENOMEM;
	opts->module_paths = calloc(opts->n_modules + 1, sizeof(*opts->module_paths));
	if (!opts->module_paths)
		return -ENOMEM;
	for (size_t i = 0; i < opts->n_modules; i++) {
		r = absolute(opts->modules[i], &opts->module_paths[i]);
		if (r < 0)
			return r;
	}
	if (!opts->config_given && conf_dir && *conf_dir) {
		if (asprintf(&opts->config_in_dir, "%.*s/ttrpcd.conf", (int)strcspn(conf_dir, ":"),
			     conf_dir) < 0) {
			opts->config_in_dir = NULL;
			return -ENOMEM;
		}
		opts->config = opts->config_in_dir;
	}
	r = absolute(opts->config, &opts->config_abs);
	if (r == 0)
		opts->config = opts->config_abs;
	return r;
}

/*
 * --check-config: the files were read and their values checked; now each
 * listener is shown and each module opened, and what was checked, and
 * what was not, is said on stdout.
 */
static int check_config(struct daemon *d)
{
	size_t n = 0;
	int r;

	for (size_t i = 0; i < d->cfg.n_listeners; i++) {
		const struct ttrpcd_listener_conf *l = &d->cfg.listeners[i];

		if (l->path)
			printf("listener %s: %s, mode %04o\n", l->name, l->path, (unsigned)l->mode);
		else
			printf("listener %s: no path: served only when the service manager passes "
			       "a socket named %s\n",
			       l->name, l->name);
	}
	r = ttrpcd_modules_check(&d->cfg, stdout, &n);
	if (r == 0)
		printf("configuration OK: %zu %s, %zu %s (files, ABI, setting names and declared "
		       "services checked; the modules' init, which checks their values, not run)\n",
		       d->cfg.n_listeners,
		       ttrpcd_plural(d->cfg.n_listeners, "listener", "listeners"), n,
		       ttrpcd_plural(n, "module", "modules"));
	return r == 0 ? 0 : 1;
}

static int start(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	size_t n;
	int r;

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		d->signals[i] = evsignal_new(d->base, sigs[i], on_signal, d);
		if (!d->signals[i] || evsignal_add(d->signals[i], NULL) < 0)
			return -ENOMEM;
	}
	/* The one SIGCHLD handler and reaper, for every module. */
	r = ttrpcd_children_new(d->base, &d->children);
	if (r == 0)
		r = ttrpcd_modules_new(d->base, d->children, &d->modules);
	/* Before the modules, so that none of them can take its name. */
	if (r == 0)
		r = ttrpcd_control_new(&d->cfg, d->modules, &control_ops, d, &d->control);
	if (r == 0)
		r = ttrpcd_modules_load(d->modules, &d->cfg);
	if (r == 0)
		r = ttrpcd_listen_open(d->base, &d->cfg, d->inherited, d->notify, prepare_server, d,
				       &d->listeners);
	ttrpcd_inherited_free(d->inherited);
	d->inherited = NULL;
	if (r == 0)
		r = ttrpcd_slowcall_new(d->base, d->listeners, &d->slow);
	if (r == 0)
		r = ttrpcd_slowcall_set(d->slow, d->cfg.slow_call_ms);
	if (r == 0)
		r = ttrpcd_notify_start(d->notify, d->base, status_line, d);
	if (r < 0)
		return r;
	ttrpcd_modules_set_ready(d->modules);
	ttrpcd_notify_ready(d->notify, NULL);
	n = ttrpcd_modules_count(d->modules);
	ttrpcd_log(TTRPC_LOG_NOTICE, "ready: %zu %s", n, ttrpcd_plural(n, "module", "modules"));
	return 0;
}

static void cleanup(struct daemon *d)
{
	/* Servers first: their calls must be over before the modules' fini. */
	ttrpcd_slowcall_free(d->slow);
	ttrpcd_listen_free(d->listeners);
	ttrpcd_modules_free(d->modules);
	ttrpcd_control_free(d->control);
	ttrpcd_children_free(d->children);
	ttrpcd_notify_free(d->notify);
	ttrpcd_inherited_free(d->inherited);
	for (size_t i = 0; i < sizeof(d->signals) / sizeof(d->signals[0]); i++)
		if (d->signals[i])
			event_free(d->signals[i]);
	if (d->base)
		event_base_free(d->base);
	ttrpcd_config_clear(&d->cfg);
	free(d->opts.sockets);
	free(d->opts.modules);
	for (size_t i = 0; d->opts.module_paths && i < d->opts.n_modules; i++)
		free(d->opts.module_paths[i]);
	free(d->opts.module_paths);
	free(d->opts.runtime_dir);
	free(d->opts.config_abs);
	free(d->opts.config_in_dir);
}

/*
 * The event loop, with busy polling: after each wake-up, keep polling
 * without sleeping for busy-poll (50 µs by default). A client in a
 * request/response exchange sends its next call within that time, and
 * catching it awake saves the scheduler wake-up that dominates a call's
 * latency on a unix socket: one call in flight runs about twice as fast. An
 * idle daemon sleeps as before, so this costs CPU only while calls come.
 */
static void run_loop(struct daemon *d)
{
	while (!event_base_got_break(d->base) && !event_base_got_exit(d->base)) {
		uint64_t until;

		if (event_base_loop(d->base, EVLOOP_ONCE) != 0)
			break;
		until = ttrpcd_now_us() + d->cfg.busy_poll_us;
		while (d->cfg.busy_poll_us && ttrpcd_now_us() < until &&
		       !event_base_got_break(d->base) && !event_base_got_exit(d->base))
			if (event_base_loop(d->base, EVLOOP_NONBLOCK) != 0)
				return;
	}
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	int status;

	ttrpcd_log_open();
	status = parse_args(argc, argv, &d.opts);
	if (status >= 0) {
		cleanup(&d);
		return status;
	}
	status = anchor_options(&d.opts);
	if (status < 0) {
		ttrpcd_log(TTRPC_LOG_ERR,
			   "cannot make the paths of --config and --module absolute: %s",
			   strerror(-status));
		cleanup(&d);
		return 1;
	}
	if (build_config(&d.opts, &d.cfg, NULL) < 0) {
		cleanup(&d);
		return 1;
	}
	ttrpcd_log_set_level(d.cfg.log_level);
	if (d.opts.check_config) {
		status = check_config(&d);
		cleanup(&d);
		return status;
	}
	/* Writing to a peer that left must fail with EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * What the service manager put in the environment is taken, and
	 * removed from it, before any module loads: nothing a module does to
	 * the environment can cut ttrpcd off from its manager.
	 */
	if (ttrpcd_notify_new(&d.notify) < 0 || ttrpcd_listen_inherit(&d.inherited) < 0) {
		cleanup(&d);
		return 1;
	}
	d.base = event_base_new();
	if (!d.base || start(&d) < 0) {
		cleanup(&d);
		return 1;
	}
	run_loop(&d);
	cleanup(&d);
	ttrpcd_log(TTRPC_LOG_INFO, "stopped");
	return 0;
}
