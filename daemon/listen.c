/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Sockets in and out of ttrpcd. Inherited fds arrive blocking and already
 * listening; ttrpc_server_adopt_listener() makes them non-blocking and
 * never unlinks their path, which belongs to the service manager.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/notify.h"

/* Stored client connections are named "conn.LISTENER" in the fd store. */
#define CONN_PREFIX "conn."

struct listener {
	struct ttrpcd_listeners *ls;
	char *name;
	struct ttrpc_server *srv;
	char *bound_path; /* bound by ttrpcd: unlinked at exit unless stored */
	bool stored;      /* the listening fd is in the fd store */
	struct ttrpc_allowlist allow;
};

struct ttrpcd_listeners {
	struct event_base *base;
	struct ttrpcd_notify *notify;
	struct listener **v;
	size_t n;
	ttrpcd_prepare_fn prepare;
	void *prepare_userdata;
	ttrpcd_drained_fn done;
	void *done_userdata;
	size_t pending; /* servers still shutting down */
	bool drained;
};

/* An fd from $LISTEN_FDS. */
struct inherited {
	int fd;
	const char *name;
	bool listening;
	bool connection;
	bool used; /* taken, or closed, by a listener */
};

struct ttrpcd_inherited {
	struct inherited *v;
	int n;
	char **names;
};

static const struct {
	enum ttrpc_limit limit;
	size_t offset;
} limit_map[] = {
	{ TTRPC_LIMIT_CONNECTIONS, offsetof(struct ttrpcd_limits, connections) },
	{ TTRPC_LIMIT_MESSAGE_SIZE, offsetof(struct ttrpcd_limits, message_size) },
	{ TTRPC_LIMIT_CALLS_PER_CONNECTION, offsetof(struct ttrpcd_limits, calls_per_connection) },
	{ TTRPC_LIMIT_OUTPUT_QUEUE, offsetof(struct ttrpcd_limits, output_queue) },
	{ TTRPC_LIMIT_STREAMS_PER_CONNECTION,
	  offsetof(struct ttrpcd_limits, streams_per_connection) },
	{ TTRPC_LIMIT_FRAME_TIMEOUT_MS, offsetof(struct ttrpcd_limits, frame_timeout_ms) },
	{ TTRPC_LIMIT_IDLE_TIMEOUT_MS, offsetof(struct ttrpcd_limits, idle_timeout_ms) },
};

static void listener_free(struct listener *l)
{
	if (!l)
		return;
	ttrpc_server_free(l->srv);
	if (l->bound_path && !l->stored)
		unlink(l->bound_path);
	free(l->bound_path);
	free((void *)l->allow.uids);
	free((void *)l->allow.gids);
	free(l->name);
	free(l);
}

static struct listener *listener_new(struct ttrpcd_listeners *ls, const char *name,
				     const struct ttrpcd_listener_conf *conf)
{
	struct listener *l = calloc(1, sizeof(*l)), **v;
	int r;

	if (!l || !(l->name = strdup(name)))
		goto nomem;
	l->ls = ls;
	if (conf && conf->n_allow_uids + conf->n_allow_gids > 0) {
		uid_t *uids = calloc(conf->n_allow_uids + 1, sizeof(*uids));
		gid_t *gids = calloc(conf->n_allow_gids + 1, sizeof(*gids));

		l->allow.uids = uids;
		l->allow.gids = gids;
		if (!uids || !gids)
			goto nomem;
		/* A list that is not given is NULL, which memcpy() may not take even for 0 bytes. */
		if (conf->n_allow_uids)
			memcpy(uids, conf->allow_uids, conf->n_allow_uids * sizeof(*uids));
		if (conf->n_allow_gids)
			memcpy(gids, conf->allow_gids, conf->n_allow_gids * sizeof(*gids));
		l->allow.n_uids = conf->n_allow_uids;
		l->allow.n_gids = conf->n_allow_gids;
	}
	if (ttrpc_server_new(ls->base, &l->srv) < 0)
		goto nomem;
	ttrpc_server_set_log(l->srv, ttrpcd_log_library, NULL);
	/* Lines above ttrpcd's level are then not even formatted by the library. */
	ttrpc_server_set_log_level(l->srv, ttrpcd_log_get_level());
	if (l->allow.uids)
		ttrpc_server_set_admission(l->srv, ttrpc_admit_allowlist, &l->allow);
	r = ls->prepare(l->srv, ls->prepare_userdata);
	if (r < 0) {
		listener_free(l);
		return NULL;
	}
	v = realloc(ls->v, (ls->n + 1) * sizeof(*v));
	if (!v)
		goto nomem;
	ls->v = v;
	v[ls->n++] = l;
	return l;
nomem:
	ttrpcd_log(TTRPC_LOG_ERR, "listener %s: out of memory", name);
	listener_free(l);
	return NULL;
}

static struct listener *listener_find(struct ttrpcd_listeners *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i]->name, name) == 0)
			return ls->v[i];
	return NULL;
}

/*
 * Bound with ttrpc_unix_listen() (owner set before listen()) and adopted,
 * rather than ttrpc_server_listen_unix(): the server must not unlink a path
 * whose socket lives on in the fd store. The directory is made first.
 */
static int bind_unix(const struct ttrpcd_listener_conf *conf, int *ret)
{
	char *dir = strdup(conf->path);
	int r = 0;

	if (!dir)
		return -ENOMEM;
	if (mkdir(dirname(dir), 0755) < 0 && errno != EEXIST)
		r = -errno;
	free(dir);
	if (r < 0)
		return r;
	return ttrpc_unix_listen(conf->path, conf->mode, conf->owner, conf->group, ret);
}

static int open_configured(struct ttrpcd_listeners *ls, const struct ttrpcd_listener_conf *conf,
			   struct inherited *in, int n_in)
{
	struct listener *l;
	int fd = -1, r;

	for (int i = 0; i < n_in && fd < 0; i++) {
		if (in[i].listening && !in[i].used && strcmp(in[i].name, conf->name) == 0) {
			in[i].used = true;
			fd = in[i].fd;
		}
	}
	if (fd < 0 && !conf->path) {
		ttrpcd_log(TTRPC_LOG_WARNING,
			   "listener %s: no path, and no socket named %s was passed; skipped",
			   conf->name, conf->name);
		return 0;
	}
	if (fd < 0 && conf->fallback && n_in > 0)
		return 0;
	l = listener_new(ls, conf->name, conf);
	if (!l)
		return -ENOMEM;
	if (fd >= 0) {
		r = ttrpc_server_adopt_listener(l->srv, fd);
		if (r < 0) {
			ttrpcd_log(TTRPC_LOG_ERR, "listener %s: cannot serve inherited fd %d: %s",
				   conf->name, fd, strerror(-r));
			close(fd);
			return r;
		}
		ttrpcd_log(TTRPC_LOG_INFO,
			   "listener %s: serving the socket passed by the service manager",
			   conf->name);
		return 0;
	}
	r = bind_unix(conf, &fd);
	if (r == -EPERM && (conf->owner != (uid_t)-1 || conf->group != (gid_t)-1)) {
		/* Only chown() fails so: the unit's SystemCallFilter= denies it with EPERM. */
		ttrpcd_log(
			TTRPC_LOG_ERR,
			"listener %s: cannot give %s to owner %d and group %d: %s (only a process "
			"with CAP_CHOWN may, and ttrpcd.service gives ttrpcd none: let a socket "
			"unit make the socket, with SocketUser= and SocketGroup=)",
			conf->name, conf->path, (int)conf->owner, (int)conf->group, strerror(-r));
		return r;
	}
	if (r < 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "listener %s: cannot listen on %s: %s", conf->name,
			   conf->path, strerror(-r));
		return r;
	}
	r = ttrpc_server_adopt_listener(l->srv, fd);
	if (r < 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "listener %s: %s", conf->name, strerror(-r));
		close(fd);
		unlink(conf->path);
		return r;
	}
	if (!(l->bound_path = strdup(conf->path))) {
		unlink(conf->path);
		return -ENOMEM;
	}
	l->stored = ttrpcd_notify_fdstore(ls->notify, fd, conf->name) > 0;
	ttrpcd_log(TTRPC_LOG_INFO, "listener %s: listening on %s", conf->name, conf->path);
	return 0;
}

/* Sockets passed without a name that a listener asks for: served with defaults. */
static int open_unnamed(struct ttrpcd_listeners *ls, struct inherited *in)
{
	struct listener *l = listener_find(ls, in->name);
	int r;

	if (!l && !(l = listener_new(ls, in->name, NULL)))
		return -ENOMEM;
	in->used = true;
	r = ttrpc_server_adopt_listener(l->srv, in->fd);
	if (r < 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "cannot serve inherited fd %d: %s", in->fd, strerror(-r));
		close(in->fd);
		return r;
	}
	ttrpcd_log(TTRPC_LOG_INFO, "serving an unnamed socket passed by the service manager");
	return 0;
}

/* A client connection the previous process left in the fd store. */
static void resume_connection(struct ttrpcd_listeners *ls, struct inherited *in)
{
	struct listener *l = NULL;
	int r;

	if (strncmp(in->name, CONN_PREFIX, strlen(CONN_PREFIX)) == 0)
		l = listener_find(ls, in->name + strlen(CONN_PREFIX));
	if (!l)
		return;
	in->used = true;
	r = ttrpc_server_adopt_conn(l->srv, in->fd);
	if (r == 0) {
		ttrpcd_log(TTRPC_LOG_DEBUG, "listener %s: resumed a stored connection", l->name);
		return;
	}
	/* Refused (a limit, allow-users) or not a connection: the fd is still ours. */
	close(in->fd);
	ttrpcd_log(TTRPC_LOG_WARNING, "listener %s: stored connection dropped: %s", l->name,
		   strerror(-r));
}

int ttrpcd_listen_inherit(struct ttrpcd_inherited **ret)
{
	struct ttrpcd_inherited *set = calloc(1, sizeof(*set));
	int n;

	if (!set)
		return -ENOMEM;
	/* Unset as well: no child may think the fds were meant for it. */
	n = sd_listen_fds_with_names(1, &set->names);
	if (n < 0) {
		ttrpcd_log(TTRPC_LOG_WARNING, "ignoring $LISTEN_FDS: %s", strerror(-n));
		n = 0;
	}
	if (n > 0 && !(set->v = calloc((size_t)n, sizeof(*set->v)))) {
		for (int i = 0; i < n; i++)
			close(SD_LISTEN_FDS_START + i);
		n = 0;
	}
	set->n = n;
	for (int i = 0; i < n; i++) {
		struct inherited *in = &set->v[i];

		in->fd = SD_LISTEN_FDS_START + i;
		in->name = set->names && set->names[i] ? set->names[i] : "unknown";
		in->listening = sd_is_socket(in->fd, AF_UNIX, SOCK_STREAM, 1) > 0;
		in->connection = !in->listening &&
				 sd_is_socket(in->fd, AF_UNIX, SOCK_STREAM, 0) > 0;
	}
	*ret = set;
	return 0;
}

void ttrpcd_inherited_free(struct ttrpcd_inherited *set)
{
	if (!set)
		return;
	for (int i = 0; i < set->n; i++)
		if (!set->v[i].used)
			close(set->v[i].fd);
	for (int i = 0; set->names && i < set->n; i++)
		free(set->names[i]);
	free(set->names);
	free(set->v);
	free(set);
}

int ttrpcd_listen_open(struct event_base *base, const struct ttrpcd_config *cfg,
		       struct ttrpcd_inherited *inherited, struct ttrpcd_notify *notify,
		       ttrpcd_prepare_fn prepare, void *userdata, struct ttrpcd_listeners **ret)
{
	struct ttrpcd_listeners *ls = calloc(1, sizeof(*ls));
	struct inherited *in = inherited->v;
	int n = inherited->n, r = 0;

	if (!ls)
		return -ENOMEM;
	ls->base = base;
	ls->notify = notify;
	ls->prepare = prepare;
	ls->prepare_userdata = userdata;
	for (size_t i = 0; i < cfg->n_listeners && r == 0; i++)
		r = open_configured(ls, &cfg->listeners[i], in, n);
	for (int i = 0; i < n && r == 0; i++)
		if (in[i].listening && !in[i].used && strcmp(in[i].name, "unknown") == 0)
			r = open_unnamed(ls, &in[i]);
	/* Stored connections count against the limits as accepted ones do. */
	if (r == 0 && (r = ttrpcd_listen_set_limits(ls, &cfg->limits)) < 0)
		ttrpcd_log(TTRPC_LOG_ERR, "a limit is out of range");
	for (int i = 0; i < n && r == 0; i++)
		if (in[i].connection)
			resume_connection(ls, &in[i]);
	for (int i = 0; i < n && r == 0; i++)
		if (!in[i].used)
			ttrpcd_log(TTRPC_LOG_NOTICE,
				   "closing inherited fd %d named '%s': nothing takes it", in[i].fd,
				   in[i].name);
	if (r == 0 && ls->n == 0) {
		ttrpcd_log(TTRPC_LOG_ERR, "no listener: configure one or pass --socket");
		r = -ENOENT;
	}
	if (r < 0) {
		ttrpcd_listen_free(ls);
		return r;
	}
	*ret = ls;
	return 0;
}

int ttrpcd_listen_set_limits(struct ttrpcd_listeners *ls, const struct ttrpcd_limits *limits)
{
	for (size_t i = 0; i < ls->n; i++) {
		for (size_t j = 0; j < sizeof(limit_map) / sizeof(limit_map[0]); j++) {
			uint64_t v = *(const uint64_t *)((const char *)limits +
							 limit_map[j].offset);
			int r = ttrpc_server_set_limit(ls->v[i]->srv, limit_map[j].limit, v);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

void ttrpcd_listen_set_log_level(struct ttrpcd_listeners *ls, int level)
{
	for (size_t i = 0; i < ls->n; i++)
		ttrpc_server_set_log_level(ls->v[i]->srv, level);
}

void ttrpcd_listen_stats(const struct ttrpcd_listeners *ls, struct ttrpc_server_stats *sum)
{
	*sum = (struct ttrpc_server_stats){ 0 };
	for (size_t i = 0; i < ls->n; i++) {
		struct ttrpc_server_stats s;

		ttrpc_server_get_stats(ls->v[i]->srv, &s);
		sum->connections += s.connections;
		sum->connections_total += s.connections_total;
		sum->connections_refused += s.connections_refused;
		sum->calls_in_flight += s.calls_in_flight;
		sum->calls_total += s.calls_total;
		sum->calls_failed += s.calls_failed;
	}
}

/* Carries a visit over to the next server unless it was stopped. */
struct visit {
	ttrpc_call_visit_fn fn;
	void *userdata;
	bool stopped;
};

static bool visit_call(const struct ttrpc_call *call, void *arg)
{
	struct visit *v = arg;

	v->stopped = !v->fn(call, v->userdata);
	return !v->stopped;
}

void ttrpcd_listen_foreach_call(const struct ttrpcd_listeners *ls, ttrpc_call_visit_fn fn,
				void *userdata)
{
	struct visit v = { .fn = fn, .userdata = userdata };

	for (size_t i = 0; i < ls->n && !v.stopped; i++)
		ttrpc_server_foreach_call(ls->v[i]->srv, visit_call, &v);
}

int ttrpcd_listen_publish(struct ttrpcd_listeners *ls, const char *name,
			  const struct ttrpc_method *methods, void *userdata)
{
	for (size_t i = 0; i < ls->n; i++) {
		int r = ttrpc_server_register(ls->v[i]->srv, name, methods, userdata);

		if (r < 0) {
			while (i-- > 0)
				ttrpc_server_unregister(ls->v[i]->srv, name);
			return r;
		}
	}
	return 0;
}

void ttrpcd_listen_unpublish(struct ttrpcd_listeners *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		ttrpc_server_unregister(ls->v[i]->srv, name);
}

int ttrpcd_listen_retire(struct ttrpcd_listeners *ls, const char *name, unsigned timeout_ms,
			 ttrpc_retired_fn done, void *userdata)
{
	int told = 0, r = 0;

	for (size_t i = 0; i < ls->n; i++) {
		int k = ttrpc_server_retire(ls->v[i]->srv, name, timeout_ms, done, userdata);

		if (k == 0) {
			told++;
		} else if (k != -ENOENT) {
			ttrpc_server_unregister(ls->v[i]->srv, name);
			r = k;
		}
	}
	return r < 0 ? r : told;
}

/* An idle connection at shutdown goes to the fd store for the next process. */
static void on_handoff(struct ttrpc_server *srv, int fd, const struct ttrpc_peer *peer, void *arg)
{
	struct listener *l = arg;
	char name[256];
	int r;

	snprintf(name, sizeof(name), CONN_PREFIX "%s", l->name);
	r = ttrpcd_notify_fdstore(l->ls->notify, fd, name);
	if (r < 0)
		ttrpcd_log(TTRPC_LOG_WARNING,
			   "listener %s: cannot store the connection of pid %d: %s", l->name,
			   (int)peer->pid, strerror(-r));
	else
		ttrpcd_log(TTRPC_LOG_DEBUG, "listener %s: stored the idle connection of pid %d",
			   l->name, (int)peer->pid);
}

static void on_server_done(struct ttrpc_server *srv, bool drained, void *arg)
{
	struct ttrpcd_listeners *ls = arg;

	ls->drained = ls->drained && drained;
	if (--ls->pending == 0)
		ls->done(ls->drained, ls->done_userdata);
}

int ttrpcd_listen_shutdown(struct ttrpcd_listeners *ls, unsigned timeout_ms, ttrpcd_drained_fn done,
			   void *userdata)
{
	bool store = ttrpcd_notify_managed(ls->notify);

	ls->done = done;
	ls->done_userdata = userdata;
	ls->drained = true;
	ls->pending = ls->n;
	for (size_t i = 0; i < ls->n; i++) {
		struct listener *l = ls->v[i];
		int r;

		if (store)
			ttrpc_server_set_handoff(l->srv, on_handoff, l);
		r = ttrpc_server_shutdown(l->srv, timeout_ms, on_server_done, ls);
		if (r < 0)
			return r;
	}
	return 0;
}

void ttrpcd_listen_free(struct ttrpcd_listeners *ls)
{
	if (!ls)
		return;
	for (size_t i = 0; i < ls->n; i++)
		listener_free(ls->v[i]);
	free(ls->v);
	free(ls);
}
