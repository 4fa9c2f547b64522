/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd.v1.Control on the generated handler table. The daemon's services
 * change only with a reload, so the per-method counters are one sorted
 * array, built at the first call, built again (counts kept) when a reload
 * loaded or unloaded modules, and searched by (service, method).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <ttrpc/ttrpc.h>

#include "daemon/control.h"
#include "daemon/duration.h"
#include "daemon/control/control.ttrpc-c.h"
#include "daemon/log.h"

/*
 * Latency bucket bounds in microseconds, fixed so that the histograms of
 * two daemons, or of two Stats calls, can be compared or subtracted.
 */
static const uint64_t latency_bounds_us[] = {
	50,    100,    250,    500,    1000,    2500,    5000,    10000,    25000,
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

#define N_BOUNDS (sizeof(latency_bounds_us) / sizeof(latency_bounds_us[0]))

/* The counters of one method. */
struct method_stats {
	char *service; /* copies: a module unloaded takes its names with it */
	char *method;
	uint64_t calls;
	uint64_t errors;
	uint64_t latency[N_BOUNDS + 1]; /* the last: above every bound */
};

struct ttrpcd_control {
	const struct ttrpcd_config *cfg;
	struct ttrpcd_modules *modules;
	const struct ttrpcd_control_ops *ops;
	void *userdata;
	struct ttrpcd__v1__control_handlers *handlers; /* the service's userdata */
	uint64_t started_us;
	struct method_stats *stats; /* sorted by service, then method */
	size_t n_stats;
	bool indexed;
};

static int stats_cmp(const void *a, const void *b)
{
	const struct method_stats *x = a, *y = b;
	int c = strcmp(x->service, y->service);

	return c ? c : strcmp(x->method, y->method);
}

static void stats_free(struct method_stats *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].service);
		free(v[i].method);
	}
	free(v);
}

static struct method_stats *lookup(struct method_stats *v, size_t n, const char *service,
				   const char *method)
{
	struct method_stats key = { .service = (char *)service, .method = (char *)method };

	return n ? bsearch(&key, v, n, sizeof(*v), stats_cmp) : NULL;
}

/*
 * One entry per method of every service served now, with the counts of
 * those that were already there; on ENOMEM the old index stays.
 */
static void build_index(struct ttrpcd_control *ctl)
{
	struct ttrpcd_service_info s;
	struct method_stats *v;
	size_t n = 0, k = 0;

	for (size_t i = 0; ttrpcd_modules_service_at(ctl->modules, i, &s); i++)
		for (const struct ttrpc_method *m = s.methods; m->name; m++)
			n++;
	ctl->indexed = true;
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v)
		goto nomem;
	for (size_t i = 0; ttrpcd_modules_service_at(ctl->modules, i, &s); i++) {
		for (const struct ttrpc_method *m = s.methods; m->name; m++, k++) {
			const struct method_stats *was = lookup(ctl->stats, ctl->n_stats, s.name,
								m->name);

			v[k] = was ? *was : (struct method_stats){ 0 };
			v[k].service = strdup(s.name);
			v[k].method = strdup(m->name);
			if (!v[k].service || !v[k].method) {
				stats_free(v, k + 1);
				goto nomem;
			}
		}
	}
	qsort(v, n, sizeof(*v), stats_cmp);
	stats_free(ctl->stats, ctl->n_stats);
	ctl->stats = v;
	ctl->n_stats = n;
	return;
nomem:
	ttrpcd_log(TTRPC_LOG_WARNING, "control: out of memory; call statistics not updated");
}

static struct method_stats *find_stats(struct ttrpcd_control *ctl, const char *service,
				       const char *method)
{
	if (!ctl->indexed)
		build_index(ctl);
	return lookup(ctl->stats, ctl->n_stats, service, method);
}

void ttrpcd_control_services_changed(struct ttrpcd_control *ctl)
{
	if (ctl->indexed)
		build_index(ctl);
}

/* ---- the interceptor: who may call, and what every call cost ---- */

/* The listeners' rule: the caller's uid, primary gid or a supplementary group is listed. */
static int guard_call(struct ttrpc_call *call, void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	const struct ttrpcd_control_conf *c = &ctl->cfg->control;
	const struct ttrpc_peer *peer = ttrpc_call_peer(call);
	const struct ttrpc_allowlist allow = {
		.uids = c->allow_uids,
		.n_uids = c->n_allow_uids,
		.gids = c->allow_gids,
		.n_gids = c->n_allow_gids,
	};

	if (strcmp(ttrpc_call_service(call), TTRPCD__V1__CONTROL__NAME) != 0)
		return 0;
	if (ttrpc_admit_allowlist(peer, (void *)&allow) == 0)
		return 0;
	ttrpcd_log(
		TTRPC_LOG_NOTICE, "control: refused %s from pid %d uid %u gid %u: not in [control]",
		ttrpc_call_method(call), (int)peer->pid, (unsigned)peer->uid, (unsigned)peer->gid);
	ttrpc_call_fail(call, TTRPC_PERMISSION_DENIED,
			"%s: uid %u gid %u may not call it (see allow-users and allow-groups in "
			"[control] of ttrpcd.conf)",
			TTRPCD__V1__CONTROL__NAME, (unsigned)peer->uid, (unsigned)peer->gid);
	return 1;
}

static void count_call(struct ttrpc_call *call, int code, void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	struct method_stats *st = find_stats(ctl, ttrpc_call_service(call),
					     ttrpc_call_method(call));
	uint64_t arrival = ttrpc_call_arrival(call), now = ttrpcd_now_us();
	uint64_t latency = now > arrival ? now - arrival : 0;
	size_t b = 0;

	if (!st)
		return;
	st->calls++;
	if (code != TTRPC_OK)
		st->errors++;
	while (b < N_BOUNDS && latency > latency_bounds_us[b])
		b++;
	st->latency[b]++;
}

int ttrpcd_control_prepare_server(struct ttrpcd_control *ctl, struct ttrpc_server *srv)
{
	const struct ttrpc_server_interceptor ic = {
		.on_call = guard_call,
		.on_done = count_call,
		.userdata = ctl,
	};

	return ttrpc_server_add_interceptor(srv, &ic);
}

/* ---- List ---- */

/* The arrays of one ListResponse; freed together. */
struct list_parts {
	Ttrpcd__V1__ModuleInfo *modules, **module_ptrs;
	Ttrpcd__V1__ServiceInfo *services, **service_ptrs;
	Ttrpcd__V1__MethodInfo *methods, **method_ptrs;
	char **module_services; /* names per module, sliced */
};

static void list_parts_free(struct list_parts *p)
{
	free(p->modules);
	free(p->module_ptrs);
	free(p->services);
	free(p->service_ptrs);
	free(p->methods);
	free(p->method_ptrs);
	free(p->module_services);
}

static bool service_selected(const struct ttrpcd_service_info *s, const char *only)
{
	return !*only || strcmp(s->name, only) == 0;
}

/* Fill @resp with the services @only names ("" all) and the modules that serve them. */
static int list_fill(struct ttrpcd_control *ctl, const char *only, Ttrpcd__V1__ListResponse *resp,
		     struct list_parts *p)
{
	struct ttrpcd_service_info s;
	struct ttrpcd_module_info m;
	size_t n_svc = 0, n_mth = 0, n_mod = 0, used = 0;

	for (size_t i = 0; ttrpcd_modules_service_at(ctl->modules, i, &s); i++) {
		if (!service_selected(&s, only))
			continue;
		n_svc++;
		for (const struct ttrpc_method *mt = s.methods; mt->name; mt++)
			n_mth++;
	}
	while (ttrpcd_modules_module_at(ctl->modules, n_mod, &m))
		n_mod++;
	p->modules = calloc(n_mod + 1, sizeof(*p->modules));
	p->module_ptrs = calloc(n_mod + 1, sizeof(*p->module_ptrs));
	p->services = calloc(n_svc + 1, sizeof(*p->services));
	p->service_ptrs = calloc(n_svc + 1, sizeof(*p->service_ptrs));
	p->methods = calloc(n_mth + 1, sizeof(*p->methods));
	p->method_ptrs = calloc(n_mth + 1, sizeof(*p->method_ptrs));
	p->module_services = calloc(n_svc + 1, sizeof(*p->module_services));
	if (!p->modules || !p->module_ptrs || !p->services || !p->service_ptrs || !p->methods ||
	    !p->method_ptrs || !p->module_services)
		return -ENOMEM;

	for (size_t i = 0; ttrpcd_modules_service_at(ctl->modules, i, &s); i++) {
		Ttrpcd__V1__ServiceInfo *si = &p->services[resp->n_services];

		if (!service_selected(&s, only))
			continue;
		ttrpcd__v1__service_info__init(si);
		si->name = (char *)s.name;
		si->module = (char *)(s.module ? s.module : "");
		si->methods = &p->method_ptrs[used];
		for (const struct ttrpc_method *mt = s.methods; mt->name; mt++) {
			Ttrpcd__V1__MethodInfo *mi = &p->methods[used];

			ttrpcd__v1__method_info__init(mi);
			mi->name = (char *)mt->name;
			/* enum ttrpc_method_kind and MethodKind number the kinds alike. */
			mi->kind = (Ttrpcd__V1__MethodKind)mt->kind;
			mi->input_type = (char *)mt->input->name;
			mi->output_type = (char *)mt->output->name;
			p->method_ptrs[used++] = mi;
			si->n_methods++;
		}
		p->service_ptrs[resp->n_services++] = si;
	}
	resp->services = p->service_ptrs;

	/* Modules, each with the listed services it registered. */
	used = 0;
	for (size_t i = 0; ttrpcd_modules_module_at(ctl->modules, i, &m); i++) {
		Ttrpcd__V1__ModuleInfo *mi = &p->modules[resp->n_modules];

		ttrpcd__v1__module_info__init(mi);
		mi->name = (char *)m.name;
		mi->path = (char *)m.path;
		mi->services = &p->module_services[used];
		for (size_t j = 0; ttrpcd_modules_service_at(ctl->modules, j, &s); j++) {
			if (s.module && strcmp(s.module, m.name) == 0 &&
			    service_selected(&s, only)) {
				p->module_services[used++] = (char *)s.name;
				mi->n_services++;
			}
		}
		/* Asked for one service: only the module that serves it. */
		if (*only && mi->n_services == 0)
			continue;
		p->module_ptrs[resp->n_modules++] = mi;
	}
	resp->modules = p->module_ptrs;
	return 0;
}

static void on_list(struct ttrpc_call *call, const Ttrpcd__V1__ListRequest *req, void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	Ttrpcd__V1__ListResponse resp = TTRPCD__V1__LIST_RESPONSE__INIT;
	struct list_parts parts = { 0 };
	const char *only = req->service ? req->service : "";

	if (list_fill(ctl, only, &resp, &parts) < 0)
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
	else if (*only && resp.n_services == 0)
		ttrpc_call_fail(call, TTRPC_NOT_FOUND, "no service '%s' is served", only);
	else
		ttrpcd__v1__control_list_reply(call, &resp);
	list_parts_free(&parts);
}

/* ---- Stats ---- */

/* How many of the oldest calls in flight Stats lists. */
#define OLDEST_CALLS 10

/* The oldest calls in flight, oldest first; @self, the Stats call, left out. */
struct oldest {
	const struct ttrpc_call *self;
	const struct ttrpc_call *v[OLDEST_CALLS];
	size_t n;
};

static bool keep_oldest(const struct ttrpc_call *call, void *arg)
{
	struct oldest *o = arg;
	uint64_t arrival = ttrpc_call_arrival(call);
	size_t at = 0;

	if (call == o->self)
		return true;
	while (at < o->n && ttrpc_call_arrival(o->v[at]) <= arrival)
		at++;
	if (at == OLDEST_CALLS)
		return true;
	if (o->n == OLDEST_CALLS)
		o->n--;
	memmove(&o->v[at + 1], &o->v[at], (o->n - at) * sizeof(o->v[0]));
	o->v[at] = call;
	o->n++;
	return true;
}

/* @call, as CallInFlight says it; its strings borrowed from it. */
static void call_info(const struct ttrpc_call *call, uint64_t now, Ttrpcd__V1__CallInFlight *ci)
{
	uint64_t arrival = ttrpc_call_arrival(call);

	ttrpcd__v1__call_in_flight__init(ci);
	ci->service = (char *)ttrpc_call_service(call);
	ci->method = (char *)ttrpc_call_method(call);
	/* enum ttrpc_method_kind and MethodKind number the kinds alike. */
	ci->kind = (Ttrpcd__V1__MethodKind)ttrpc_call_kind(call);
	ci->age_us = now > arrival ? now - arrival : 0;
	ci->pid = ttrpc_call_peer(call)->pid;
	ci->uid = ttrpc_call_peer(call)->uid;
	ci->cancelled = ttrpc_call_is_cancelled(call);
}

static void on_stats(struct ttrpc_call *call, const Ttrpcd__V1__StatsRequest *req, void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	Ttrpcd__V1__StatsResponse resp = TTRPCD__V1__STATS_RESPONSE__INIT;
	Ttrpcd__V1__CallInFlight calls[OLDEST_CALLS], *call_ptrs[OLDEST_CALLS];
	Ttrpcd__V1__MethodStats *ms, **ptrs;
	struct ttrpc_server_stats sum = { 0 };
	struct oldest oldest = { .self = call };
	uint64_t bounds[N_BOUNDS], now = ttrpcd_now_us();

	if (!ctl->indexed)
		build_index(ctl);
	ms = calloc(ctl->n_stats + 1, sizeof(*ms));
	ptrs = calloc(ctl->n_stats + 1, sizeof(*ptrs));
	if (!ms || !ptrs) {
		free(ms);
		free(ptrs);
		ttrpc_call_fail(call, TTRPC_RESOURCE_EXHAUSTED, "out of memory");
		return;
	}
	ctl->ops->server_stats(&sum, ctl->userdata);
	resp.uptime_seconds = (ttrpcd_now_us() - ctl->started_us) / 1000000;
	resp.connections = sum.connections;
	resp.connections_total = sum.connections_total;
	resp.connections_refused = sum.connections_refused;
	/* This call is in flight too, and counts. */
	resp.calls_in_flight = sum.calls_in_flight;
	ctl->ops->foreach_call(keep_oldest, &oldest, ctl->userdata);
	for (size_t i = 0; i < oldest.n; i++) {
		call_info(oldest.v[i], now, &calls[i]);
		call_ptrs[i] = &calls[i];
	}
	resp.oldest_calls = call_ptrs;
	resp.n_oldest_calls = oldest.n;
	memcpy(bounds, latency_bounds_us, sizeof(bounds));
	resp.latency_bounds_us = bounds;
	resp.n_latency_bounds_us = N_BOUNDS;
	for (size_t i = 0; i < ctl->n_stats; i++) {
		struct method_stats *st = &ctl->stats[i];

		ttrpcd__v1__method_stats__init(&ms[i]);
		ms[i].service = (char *)st->service;
		ms[i].method = (char *)st->method;
		ms[i].calls = st->calls;
		ms[i].errors = st->errors;
		ms[i].latency_counts = st->latency;
		ms[i].n_latency_counts = N_BOUNDS + 1;
		ptrs[i] = &ms[i];
	}
	resp.methods = ptrs;
	resp.n_methods = ctl->n_stats;
	ttrpcd__v1__control_stats_reply(call, &resp);
	free(ms);
	free(ptrs);
}

/* ---- Describe ---- */

static void on_describe(struct ttrpc_call *call, const Ttrpcd__V1__DescribeRequest *req,
			void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	Ttrpcd__V1__DescribeResponse resp = TTRPCD__V1__DESCRIBE_RESPONSE__INIT;
	struct ttrpcd_service_info s;

	for (size_t i = 0; ttrpcd_modules_service_at(ctl->modules, i, &s); i++) {
		if (strcmp(s.name, req->service) != 0)
			continue;
		/* protobuf-c packs the bytes from here: nothing is written to them. */
		resp.file_descriptor_set.data = (uint8_t *)s.descriptor_set;
		resp.file_descriptor_set.len = s.descriptor_set_size;
		ttrpcd__v1__control_describe_reply(call, &resp);
		return;
	}
	ttrpc_call_fail(call, TTRPC_NOT_FOUND, "no service '%s' is served", req->service);
}

/* ---- Reload ---- */

static void on_reload(struct ttrpc_call *call, const Ttrpcd__V1__ReloadRequest *req, void *userdata)
{
	struct ttrpcd_control *ctl = userdata;
	Ttrpcd__V1__ReloadResponse resp = TTRPCD__V1__RELOAD_RESPONSE__INIT;
	char *why = NULL;
	int r;

	ttrpcd_log(TTRPC_LOG_NOTICE, "control: reload asked by pid %d uid %u",
		   (int)ttrpc_call_peer(call)->pid, (unsigned)ttrpc_call_peer(call)->uid);
	r = ctl->ops->reload(&why, ctl->userdata);
	if (r == 0)
		ttrpcd__v1__control_reload_reply(call, &resp);
	else
		ttrpc_call_fail(call,
				r == -ESHUTDOWN ? TTRPC_UNAVAILABLE : TTRPC_FAILED_PRECONDITION,
				"reload failed, the running configuration stays: %s",
				why ? why : strerror(-r));
	free(why);
}

static const struct ttrpcd__v1__control_handlers control_handlers = {
	.list = on_list,
	.stats = on_stats,
	.reload = on_reload,
	.describe = on_describe,
};

int ttrpcd_control_new(const struct ttrpcd_config *cfg, struct ttrpcd_modules *modules,
		       const struct ttrpcd_control_ops *ops, void *userdata,
		       struct ttrpcd_control **ret)
{
	struct ttrpcd_control *ctl = calloc(1, sizeof(*ctl));
	struct ttrpcd__v1__control_handlers *h = calloc(1, sizeof(*h));
	struct ttrpc_service svc;
	int r;

	if (!ctl || !h) {
		free(ctl);
		free(h);
		return -ENOMEM;
	}
	ctl->cfg = cfg;
	ctl->modules = modules;
	ctl->ops = ops;
	ctl->userdata = userdata;
	ctl->started_us = ttrpcd_now_us();
	/* The handler table holds the userdata: it is per instance. */
	*h = control_handlers;
	h->userdata = ctl;
	svc = ttrpcd__v1__control_service(h);
	r = ttrpcd_modules_add_builtin(modules, &svc);
	if (r < 0) {
		free(h);
		free(ctl);
		return r;
	}
	ctl->handlers = h;
	*ret = ctl;
	return 0;
}

void ttrpcd_control_free(struct ttrpcd_control *ctl)
{
	if (!ctl)
		return;
	free(ctl->handlers);
	stats_free(ctl->stats, ctl->n_stats);
	free(ctl);
}
