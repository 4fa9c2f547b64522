/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The health module: grpc.health.v1.Health over ttrpc, for every service
 * the daemon serves and for "" (the daemon as a whole). The statuses live
 * in the daemon (ttrpcd_host_get_serving()), which tells this module of
 * every change (ttrpcd_host_watch_serving()); the module keeps only the
 * Watch streams open on it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/module.h>

#include "health.ttrpc-c.h"

/* One Watch stream. */
struct watcher {
	struct health *health;
	struct ttrpc_call *call;
	char *service;
	int sent;    /* the status the client has; -1: none yet */
	int pending; /* waiting for room in the output queue; -1: none */
	bool dead;   /* the call is finished; freed once nothing walks the list */
	struct watcher *prev, *next;
};

struct health {
	struct ttrpcd_host *host;
	struct watcher *watchers;
	/*
	 * Sending may close a connection whose peer does not read, which
	 * cancels its calls there and then: while this is not 0, cancelled
	 * watchers are only marked dead, so that no loop loses its place.
	 */
	unsigned busy;
	struct grpc__health__v1__health_handlers handlers;
};

/* TTRPCD_SERVICE_UNKNOWN for a service nobody serves, as gRPC's Watch answers. */
static int status_of(const struct health *h, const char *service)
{
	int st = ttrpcd_host_get_serving(h->host, service);

	return st < 0 ? TTRPCD_SERVICE_UNKNOWN : st;
}

static void on_check(struct ttrpc_call *call, const Grpc__Health__V1__HealthCheckRequest *req,
		     void *userdata)
{
	struct health *h = userdata;
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	int st = ttrpcd_host_get_serving(h->host, req->service);

	if (st < 0) {
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "unknown service");
		return;
	}
	/* enum ttrpcd_serving_status numbers the statuses as ServingStatus does. */
	resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)st;
	grpc__health__v1__health_check_reply(call, &resp);
}

static void watcher_free(struct watcher *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		w->health->watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
	free(w->service);
	free(w);
}

/* Free the dead watchers, unless a loop still walks the list. */
static void reap(struct health *h)
{
	struct watcher *w, *next;

	if (h->busy)
		return;
	for (w = h->watchers; w; w = next) {
		next = w->next;
		if (w->dead)
			watcher_free(w);
	}
}

static void send_status(struct watcher *w, int status);

static void on_writable(struct ttrpc_call *call, void *userdata)
{
	struct watcher *w = userdata;
	int st = w->pending;

	w->pending = -1;
	if (st >= 0)
		send_status(w, st);
	reap(w->health);
}

/*
 * Send @status unless the client has it already. When the connection's
 * queue is full, only the latest status waits for room: a slow reader
 * misses intermediate statuses, never the current one (as in gRPC).
 */
static void send_status(struct watcher *w, int status)
{
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	int r;

	if (w->pending >= 0) {
		w->pending = status;
		return;
	}
	if (w->dead || status == w->sent)
		return;
	resp.status = (Grpc__Health__V1__HealthCheckResponse__ServingStatus)status;
	w->health->busy++;
	r = grpc__health__v1__health_watch_send(w->call, &resp);
	w->health->busy--;
	if (w->dead) {
		/* cancelled meanwhile; reaped by whoever called */
	} else if (r == 0) {
		w->sent = status;
	} else if (r == -EAGAIN) {
		w->pending = status;
		ttrpc_call_on_writable(w->call, on_writable, w);
	} else if (r != -ECANCELED) {
		ttrpcd_host_log(w->health->host, TTRPC_LOG_WARNING,
				"watch of '%s': cannot send: %s", w->service, strerror(-r));
	}
}

/* The client left or the server is closing: the call must still be finished. */
static void on_cancel(struct ttrpc_call *call, int code, void *userdata)
{
	struct watcher *w = userdata;

	ttrpc_call_fail(call, code, "cancelled");
	w->dead = true;
	reap(w->health);
}

/*
 * The daemon stops, or this module is being unloaded: end the stream, or
 * the drain waits for it.
 */
static void end_stream(struct watcher *w, const char *why)
{
	ttrpc_call_on_cancel(w->call, NULL, NULL);
	ttrpc_call_fail(w->call, TTRPC_UNAVAILABLE, "%s", why);
	w->dead = true;
}

static void on_watch(struct ttrpc_call *call, const Grpc__Health__V1__HealthCheckRequest *req,
		     void *userdata)
{
	struct health *h = userdata;
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w || !(w->service = strdup(req->service))) {
		free(w);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	w->health = h;
	w->call = call;
	w->sent = -1;
	w->pending = -1;
	w->next = h->watchers;
	if (h->watchers)
		h->watchers->prev = w;
	h->watchers = w;
	ttrpc_call_on_cancel(call, on_cancel, w);
	h->busy++;
	send_status(w, status_of(h, w->service));
	/* Calls are served only once the daemon is ready: "" NOT_SERVING
	 * means that it is stopping already. */
	if (!w->dead && ttrpcd_host_get_serving(h->host, "") == TTRPCD_NOT_SERVING)
		end_stream(w, "ttrpcd is stopping");
	h->busy--;
	reap(h);
}

/*
 * Every change of a status the daemon knows. When "" goes NOT_SERVING the
 * daemon is stopping (every service went NOT_SERVING just before); when
 * this module's own service does, a reload disabled the module, which is
 * unloaded once its calls are over.
 */
static void on_serving(struct ttrpcd_host *host, const char *service, int status, void *userdata)
{
	struct health *h = userdata;
	/* "" is NOT_SERVING from the first notification of a stop on: then the
	 * streams end with "" itself, after every service's last status. */
	bool stopping = ttrpcd_host_get_serving(host, "") == TTRPCD_NOT_SERVING;
	bool ending = status == TTRPCD_NOT_SERVING &&
		      (!*service ||
		       (!stopping && strcmp(service, GRPC__HEALTH__V1__HEALTH__NAME) == 0));
	struct watcher *w;

	h->busy++;
	for (w = h->watchers; w; w = w->next) {
		if (strcmp(w->service, service) == 0)
			send_status(w, status);
		if (ending && !w->dead)
			end_stream(w, stopping ? "ttrpcd is stopping"
					       : "the health service is being unloaded");
	}
	h->busy--;
	reap(h);
}

static int health_init(struct ttrpcd_host *host)
{
	struct health *h = calloc(1, sizeof(*h));
	struct ttrpc_service svc;
	int r;

	if (!h)
		return -ENOMEM;
	h->host = host;
	h->handlers.check = on_check;
	h->handlers.watch = on_watch;
	h->handlers.userdata = h;
	svc = grpc__health__v1__health_service(&h->handlers);
	r = ttrpcd_host_register_service(host, &svc);
	if (r < 0) {
		free(h);
		return r;
	}
	ttrpcd_host_set_data(host, h);
	ttrpcd_host_watch_serving(host, on_serving, h);
	return 0;
}

/* The servers are gone: every Watch was cancelled and freed by on_cancel. */
static void health_fini(struct ttrpcd_host *host)
{
	struct health *h = ttrpcd_host_get_data(host);

	while (h->watchers)
		watcher_free(h->watchers);
	free(h);
}

static const struct ttrpcd_service_decl health_services[] = {
	{ GRPC__HEALTH__V1__HEALTH__NAME, grpc__health__v1__health_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "health", .flags = TTRPCD_MODULE_UNLOAD_SAFE, .init = health_init,
		     .fini = health_fini, .services = health_services, );
