/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcctl: the operator's and developer's tool for ttrpcd, in the habits
 * of grpc_health_probe (health) and grpcurl (list, call). It needs no .proto
 * and loads no module: the daemon's control service gives the descriptors
 * of every service it serves (describe.c), which the JSON of `call` is
 * converted with (pbjson.c).
 *
 * Exit status: 0 on success (for health: SERVING), 1 for any failure, 2 for
 * a bad command line.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>
#include <ttrpc/ttrpc.h>

#include "control.ttrpc-c.h"
#include "daemon/duration.h"
#include "health.ttrpc-c.h"
#include "pbjson.h"
#include "pool.h"
#include "ttrpcctl.h"

#define DEFAULT_SOCKET "/run/ttrpcd/ttrpcd.sock"
/* A unary call that outlives this is taken for hung; --timeout 0: none. */
#define CALL_TIMEOUT_US 30000000

struct command {
	const char *name;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	int min_args, max_args;
	unsigned opts;
	uint64_t default_timeout_us;
	const char *usage;
	const char *help;
};

static int cmd_health(struct ctl *ctl, int argc, char **argv);
static int cmd_list(struct ctl *ctl, int argc, char **argv);
static int cmd_stats(struct ctl *ctl, int argc, char **argv);
static int cmd_reload(struct ctl *ctl, int argc, char **argv);

static const struct command commands[] = {
	{ "health", cmd_health, 0, 1, OPT_WATCH | OPT_TIMEOUT, 10000000,
	  "health [SERVICE] [--watch]",
	  "grpc.health.v1.Health of SERVICE (\"\": the daemon); exit 0 only when SERVING" },
	{ "list", cmd_list, 0, 1, OPT_JSON | OPT_TIMEOUT, 10000000, "list [SERVICE] [--json]",
	  "the services, or the methods of SERVICE" },
	{ "stats", cmd_stats, 0, 0, OPT_JSON | OPT_TIMEOUT, 10000000, "stats [--json]",
	  "connections, and calls, errors and latency of every method" },
	{ "reload", cmd_reload, 0, 0, OPT_TIMEOUT, 60000000, "reload",
	  "reload the config, as SIGHUP does, and say whether it worked" },
	{ "call", cmd_call, 1, 1,
	  OPT_DATA | OPT_TIMEOUT | OPT_HEADER | OPT_RAW | OPT_DESCRIPTOR_SET, CALL_TIMEOUT_US,
	  "call SERVICE/METHOD [-d JSON|@] [--timeout D] [-H KEY=VALUE]... [--raw] "
	  "[--descriptor-set FILE]...",
	  "call a method with JSON messages (--raw: protobuf bytes on stdin and stdout)" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ttrpcctl [-s SOCKET] COMMAND [ARG]... [OPTION]...\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %s\n      %s\n", commands[i].usage, commands[i].help);
	fprintf(f,
		"\nOptions:\n"
		"  -s, --socket PATH   ttrpcd's socket (default: $TTRPCD_SOCKET, else %s)\n"
		"  -w, --watch         health: print every status change, one per line\n"
		"  -j, --json          list, stats: the whole answer as JSON\n"
		"  -d, --data JSON     call: the request; for client streams, one or more\n"
		"                      objects (default: {}; client streams read stdin, one\n"
		"                      object per line); @ reads stdin\n"
		"  -t, --timeout D     deadline of the call: 500ms, 1.5s, 2min, or seconds;\n"
		"                      0: none (default: 30s for a unary call, none for a\n"
		"                      stream, 10s for the other commands)\n"
		"  -H, --header K=V    call: a metadata pair (repeatable)\n"
		"  -r, --raw           call: protobuf bytes on stdin and stdout, no JSON\n"
		"  -D, --descriptor-set FILE\n"
		"                      call: the types from FILE (protoc -o FILE\n"
		"                      --include_imports), not from the daemon (repeatable)\n"
		"  -V, --version       the version\n"
		"  -h, --help          this text\n"
		"\nSee ttrpcctl(1).\n",
		DEFAULT_SOCKET);
}

/* ---- errors ---- */

int ctl_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ERROR: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* A failed call: its status, grpcurl-like, or what happened to the connection. */
int ctl_call_error(const struct ctl *ctl, int r, struct ttrpc_status *st)
{
	int ret;

	if (r == -EREMOTEIO)
		ret = ctl_error("%s: %s", ttrpc_code_name(st->code),
				st->message ? st->message : "");
	else if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
		/* Refused, stopping, or a limit: only the daemon knows, and says. */
		ret = ctl_error("ttrpcd closed the connection on %s before answering (%s); its "
				"log says why",
				ctl->socket, strerror(-r));
	else if (r == -EMSGSIZE)
		ret = ctl_error("the request is larger than ttrpc's 4 MiB message limit");
	else
		ret = ctl_error("%s", strerror(-r));
	ttrpc_status_clear(st);
	return ret;
}

static int ctl_connect(struct ctl *ctl)
{
	int r = ttrpc_client_open(ctl->socket, &ctl->client);

	if (r == -ENOENT || r == -ECONNREFUSED)
		ctl_error("cannot connect to %s: %s — is ttrpcd running?", ctl->socket,
			  strerror(-r));
	else if (r == -EACCES || r == -EPERM)
		ctl_error("cannot connect to %s: %s — the socket's mode and group decide who may "
			  "connect",
			  ctl->socket, strerror(-r));
	else if (r < 0)
		ctl_error("cannot connect to %s: %s", ctl->socket, strerror(-r));
	return r;
}

struct ttrpc_call_opts ctl_call_opts(const struct ctl *ctl, bool with_headers)
{
	return (struct ttrpc_call_opts){
		.timeout_us = ctl->timeout_us,
		.metadata = with_headers ? ctl->headers : NULL,
		.n_metadata = with_headers ? ctl->n_headers : 0,
	};
}

/* ---- output ---- */

uint8_t *ctl_pack(const ProtobufCMessage *msg, size_t *len)
{
	uint8_t *data;

	*len = protobuf_c_message_get_packed_size(msg);
	data = malloc(*len ? *len : 1);
	if (data)
		protobuf_c_message_pack(msg, data);
	return data;
}

int ctl_print_wire(const struct pb_pool *pool, const struct pb_message *type, const uint8_t *data,
		   size_t len, bool pretty)
{
	struct json_object *j;
	char err[512];
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);

	if (pbjson_decode(pool, type, data, len, &j, err, sizeof(err)) < 0)
		return ctl_error("the answer: %s", err);
	/* A google.protobuf.Value may be null, which json-c holds as NULL. */
	puts(j ? json_object_to_json_string_ext(j, flags) : "null");
	json_object_put(j);
	/* Streams are read as they come, by people and by pipes. */
	fflush(stdout);
	return 0;
}

int ctl_print_message(struct ctl *ctl, const ProtobufCMessage *msg, bool pretty)
{
	struct ttrpc_service control = ttrpcd__v1__control_service(NULL);
	const struct pb_message *type;
	char err[512];
	uint8_t *data;
	size_t len;
	int r;

	/* The control service's own descriptors, as its generated code embeds them. */
	if (!ctl->builtin) {
		if (pb_pool_new(&ctl->builtin) < 0)
			return ctl_error("%s", strerror(ENOMEM));
		if (pb_pool_add(ctl->builtin, control.descriptor_set, control.descriptor_set_size,
				control.name, err, sizeof(err)) < 0)
			return ctl_error("%s", err);
	}
	type = pb_pool_message(ctl->builtin, msg->descriptor->name);
	if (!type)
		return ctl_error("no descriptor of %s", msg->descriptor->name);
	data = ctl_pack(msg, &len);
	if (!data)
		return ctl_error("%s", strerror(ENOMEM));
	r = ctl_print_wire(ctl->builtin, type, data, len, pretty);
	free(data);
	return r;
}

/* ---- health ---- */

static const char *serving_name(int status)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
		&grpc__health__v1__health_check_response__serving_status__descriptor, status);

	return v ? v->name : "INVALID";
}

static int health_error(const struct ctl *ctl, const char *service, int r, struct ttrpc_status *st)
{
	int ret;

	if (r == -EREMOTEIO && st->code == TTRPC_UNIMPLEMENTED)
		ret = ctl_error("%s: %s (is the health module loaded?)", ttrpc_code_name(st->code),
				st->message);
	else if (r == -EREMOTEIO && st->code == TTRPC_NOT_FOUND)
		ret = ctl_error("%s: %s: \"%s\"", ttrpc_code_name(st->code), st->message, service);
	else
		return ctl_call_error(ctl, r, st);
	ttrpc_status_clear(st);
	return ret;
}

/*
 * --watch on the event loop, with --timeout as a timer of ttrpcctl's own:
 * the end that the user asked for is no failure, and the call carries no
 * deadline for the server to end it with an error first.
 */
struct health_watch {
	const struct ctl *ctl;
	const char *service;
	struct event_base *base;
	struct ttrpc_client_stream *s; /* NULL once done */
	int last, exit;
	bool timed_out;
};

static void watch_on_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *data)
{
	const Grpc__Health__V1__HealthCheckResponse *resp = (const void *)msg;
	struct health_watch *w = data;

	if ((int)resp->status == w->last)
		return;
	w->last = (int)resp->status;
	printf("%s\n", serving_name(w->last));
	fflush(stdout);
}

static void watch_on_done(struct ttrpc_client_stream *s, const struct ttrpc_result *res, void *data)
{
	struct health_watch *w = data;
	struct ttrpc_status st = { .code = res->code };

	w->s = NULL;
	event_base_loopbreak(w->base);
	if (w->timed_out || (res->error == 0 && res->code == TTRPC_OK))
		return;
	st.message = strdup(res->message);
	w->exit = health_error(w->ctl, w->service, res->error < 0 ? res->error : -EREMOTEIO, &st);
}

static void watch_on_timer(evutil_socket_t fd, short what, void *data)
{
	struct health_watch *w = data;

	w->timed_out = true;
	if (w->s)
		ttrpc_client_stream_cancel(w->s);
}

static int health_watch(struct ctl *ctl, Grpc__Health__V1__HealthCheckRequest *req)
{
	static const struct ttrpc_stream_handlers handlers = {
		.on_message = watch_on_message,
		.on_done = watch_on_done,
	};
	struct health_watch w = { .ctl = ctl, .service = req->service, .last = -1, .exit = -1 };
	struct ttrpc_client *client = NULL;
	struct event *timer = NULL;
	int r;

	w.base = event_base_new();
	if (!w.base)
		return ctl_error("%s", strerror(ENOMEM));
	r = ttrpc_client_connect(w.base, ctl->socket, &client);
	if (r == 0)
		r = ttrpc_client_stream_open(client, GRPC__HEALTH__V1__HEALTH__NAME, "Watch",
					     TTRPC_METHOD_SERVER_STREAM, &req->base,
					     &grpc__health__v1__health_check_response__descriptor,
					     NULL, &handlers, &w, &w.s);
	if (r < 0) {
		w.exit = ctl_call_error(ctl, r, &(struct ttrpc_status){ 0 });
		goto out;
	}
	if ((ctl->given & OPT_TIMEOUT) && ctl->timeout_us > 0) {
		struct timeval tv = { .tv_sec = (time_t)(ctl->timeout_us / 1000000),
				      .tv_usec = (suseconds_t)(ctl->timeout_us % 1000000) };

		timer = evtimer_new(w.base, watch_on_timer, &w);
		if (!timer || evtimer_add(timer, &tv) < 0) {
			w.exit = ctl_error("%s", strerror(ENOMEM));
			goto out;
		}
	}
	event_base_dispatch(w.base);
out:
	if (w.s)
		ttrpc_client_stream_cancel(w.s);
	if (timer)
		event_free(timer);
	ttrpc_client_free(client);
	event_base_free(w.base);
	if (w.exit >= 0)
		return w.exit;
	return w.last == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		       ? EXIT_SUCCESS
		       : EXIT_FAILURE;
}

static int cmd_health(struct ctl *ctl, int argc, char **argv)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	struct ttrpc_status st = { 0 };
	int r, status;

	req.service = argc > 0 ? argv[0] : "";
	if (ctl->given & OPT_WATCH)
		return health_watch(ctl, &req);
	r = grpc__health__v1__health_check_sync(ctl->client, &req, &opts, &resp, &st);
	if (r < 0)
		return health_error(ctl, req.service, r, &st);
	status = (int)resp->status;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	printf("%s\n", serving_name(status));
	return status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		       ? EXIT_SUCCESS
		       : EXIT_FAILURE;
}

/* ---- list, stats, reload ---- */

static const char *method_signature(const Ttrpcd__V1__MethodInfo *m, char *buf, size_t size)
{
	bool in = m->kind == TTRPCD__V1__METHOD_KIND__CLIENT_STREAM ||
		  m->kind == TTRPCD__V1__METHOD_KIND__BIDI_STREAM;
	bool out = m->kind == TTRPCD__V1__METHOD_KIND__SERVER_STREAM ||
		   m->kind == TTRPCD__V1__METHOD_KIND__BIDI_STREAM;

	snprintf(buf, size, "rpc %s(%s%s) returns (%s%s);", m->name, in ? "stream " : "",
		 m->input_type, out ? "stream " : "", m->output_type);
	return buf;
}

static const Ttrpcd__V1__ModuleInfo *module_of(const Ttrpcd__V1__ListResponse *list,
					       const char *name)
{
	for (size_t i = 0; i < list->n_modules; i++)
		if (strcmp(list->modules[i]->name, name) == 0)
			return list->modules[i];
	return NULL;
}

/* `list`: names, one a line (grpcurl's habit); `list SERVICE`: its methods. */
static int print_list(const Ttrpcd__V1__ListResponse *list, const char *service)
{
	char sig[1024];

	for (size_t i = 0; i < list->n_services; i++) {
		const Ttrpcd__V1__ServiceInfo *s = list->services[i];
		const Ttrpcd__V1__ModuleInfo *mod;

		if (!service) {
			printf("%s\n", s->name);
			continue;
		}
		if (strcmp(s->name, service) != 0)
			continue;
		mod = s->module[0] ? module_of(list, s->module) : NULL;
		if (mod)
			printf("%s (module %s, %s)\n", s->name, mod->name, mod->path);
		else
			printf("%s (%s)\n", s->name, s->module[0] ? s->module : "built in");
		for (size_t j = 0; j < s->n_methods; j++)
			printf("  %s\n", method_signature(s->methods[j], sig, sizeof(sig)));
		return EXIT_SUCCESS;
	}
	if (service)
		return ctl_error("unknown service %s", service);
	return EXIT_SUCCESS;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	Ttrpcd__V1__ListRequest req = TTRPCD__V1__LIST_REQUEST__INIT;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	Ttrpcd__V1__ListResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = argc > 0 ? argv[0] : "";
	r = ttrpcd__v1__control_list_sync(ctl->client, &req, &opts, &resp, &st);
	if (r == -EREMOTEIO && st.code == TTRPC_NOT_FOUND && argc > 0) {
		ttrpc_status_clear(&st);
		return ctl_error("unknown service %s", argv[0]);
	}
	if (r < 0)
		return ctl_call_error(ctl, r, &st);
	if (argc > 0 && resp->n_services == 0)
		r = ctl_error("unknown service %s", argv[0]);
	else if (ctl->given & OPT_JSON)
		r = ctl_print_message(ctl, &resp->base, true);
	else
		r = print_list(resp, argc > 0 ? argv[0] : NULL);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return r;
}

static void format_us(uint64_t us, char *buf, size_t size)
{
	if (us < 1000)
		snprintf(buf, size, "%" PRIu64 "us", us);
	else if (us < 1000000)
		snprintf(buf, size, "%gms", (double)us / 1e3);
	else
		snprintf(buf, size, "%gs", (double)us / 1e6);
}

static void format_duration(uint64_t s, char *buf, size_t size)
{
	if (s >= 86400)
		snprintf(buf, size, "%" PRIu64 "d%" PRIu64 "h%" PRIu64 "m", s / 86400,
			 s % 86400 / 3600, s % 3600 / 60);
	else if (s >= 3600)
		snprintf(buf, size, "%" PRIu64 "h%" PRIu64 "m%" PRIu64 "s", s / 3600, s % 3600 / 60,
			 s % 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRIu64 "m%" PRIu64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%" PRIu64 "s", s);
}

/*
 * The bucket that holds the @p-th fraction of the calls, as "<=BOUND" (or
 * ">LAST" for the overflow bucket): the histogram gives no finer answer.
 */
static void percentile(const Ttrpcd__V1__StatsResponse *st, const Ttrpcd__V1__MethodStats *m,
		       double p, char *buf, size_t size)
{
	uint64_t total = 0, sum = 0, want;
	char b[40];

	for (size_t i = 0; i < m->n_latency_counts; i++)
		total += m->latency_counts[i];
	if (total == 0) {
		snprintf(buf, size, "-");
		return;
	}
	want = (uint64_t)ceil(p * (double)total);
	for (size_t i = 0; i < m->n_latency_counts; i++) {
		sum += m->latency_counts[i];
		if (sum < want)
			continue;
		if (i < st->n_latency_bounds_us) {
			format_us(st->latency_bounds_us[i], b, sizeof(b));
			snprintf(buf, size, "<=%s", b);
		} else if (st->n_latency_bounds_us > 0) {
			format_us(st->latency_bounds_us[st->n_latency_bounds_us - 1], b, sizeof(b));
			snprintf(buf, size, ">%s", b);
		} else {
			snprintf(buf, size, "-");
		}
		return;
	}
	snprintf(buf, size, "-");
}

/* An age as a person reads it: "12.3s", "250ms", "80us". */
static void format_age(uint64_t us, char *buf, size_t size)
{
	if (us >= 1000000)
		snprintf(buf, size, "%.1fs", (double)us / 1e6);
	else if (us >= 1000)
		snprintf(buf, size, "%" PRIu64 "ms", us / 1000);
	else
		snprintf(buf, size, "%" PRIu64 "us", us);
}

/* The oldest calls in flight, a line each: age, method, caller, state. */
static void print_oldest(const Ttrpcd__V1__StatsResponse *st)
{
	static const char *const kinds[] = { "", ", server stream", ", client stream",
					     ", bidirectional stream" };
	int width = 0;

	for (size_t i = 0; i < st->n_oldest_calls; i++) {
		int n = snprintf(NULL, 0, "%s/%s", st->oldest_calls[i]->service,
				 st->oldest_calls[i]->method);

		width = n > width ? n : width;
	}
	for (size_t i = 0; i < st->n_oldest_calls; i++) {
		const Ttrpcd__V1__CallInFlight *c = st->oldest_calls[i];
		char age[32], name[512];

		format_age(c->age_us, age, sizeof(age));
		snprintf(name, sizeof(name), "%s/%s", c->service, c->method);
		printf("  %8s  %-*s  pid %d uid %u%s%s\n", age, width, name, (int)c->pid,
		       (unsigned)c->uid, (size_t)c->kind < 4 ? kinds[c->kind] : "",
		       c->cancelled ? ", cancelled: its handler still holds it" : "");
	}
}

static void print_stats(const Ttrpcd__V1__StatsResponse *st)
{
	char up[64], name[512], p50[48], p99[48];
	int width = 6;

	format_duration(st->uptime_seconds, up, sizeof(up));
	printf("uptime:          %s\n", up);
	printf("connections:     %" PRIu64 " open, %" PRIu64 " total, %" PRIu64 " refused\n",
	       st->connections, st->connections_total, st->connections_refused);
	printf("calls in flight: %" PRIu64 "\n", st->calls_in_flight);
	print_oldest(st);
	for (size_t i = 0; i < st->n_methods; i++) {
		int n = snprintf(NULL, 0, "%s/%s", st->methods[i]->service, st->methods[i]->method);

		width = n > width ? n : width;
	}
	printf("\n%-*s %10s %10s %10s %10s\n", width, "METHOD", "CALLS", "ERRORS", "P50", "P99");
	for (size_t i = 0; i < st->n_methods; i++) {
		const Ttrpcd__V1__MethodStats *m = st->methods[i];

		snprintf(name, sizeof(name), "%s/%s", m->service, m->method);
		percentile(st, m, 0.5, p50, sizeof(p50));
		percentile(st, m, 0.99, p99, sizeof(p99));
		printf("%-*s %10" PRIu64 " %10" PRIu64 " %10s %10s\n", width, name, m->calls,
		       m->errors, p50, p99);
	}
}

static int cmd_stats(struct ctl *ctl, int argc, char **argv)
{
	Ttrpcd__V1__StatsRequest req = TTRPCD__V1__STATS_REQUEST__INIT;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	Ttrpcd__V1__StatsResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	r = ttrpcd__v1__control_stats_sync(ctl->client, &req, &opts, &resp, &st);
	if (r < 0)
		return ctl_call_error(ctl, r, &st);
	r = EXIT_SUCCESS;
	if (ctl->given & OPT_JSON)
		r = ctl_print_message(ctl, &resp->base, true);
	else
		print_stats(resp);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return r;
}

static int cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	Ttrpcd__V1__ReloadRequest req = TTRPCD__V1__RELOAD_REQUEST__INIT;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	Ttrpcd__V1__ReloadResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	r = ttrpcd__v1__control_reload_sync(ctl->client, &req, &opts, &resp, &st);
	if (r < 0)
		return ctl_call_error(ctl, r, &st);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	printf("reloaded\n");
	return EXIT_SUCCESS;
}

/* ---- the command line ---- */

/* KEY=VALUE, or KEY: VALUE as grpcurl writes headers. */
static int parse_header(struct ctl *ctl, char *arg)
{
	char *sep = strpbrk(arg, "=:");

	if (!sep || sep == arg || ctl->n_headers == MAX_HEADERS)
		return -EINVAL;
	*sep++ = '\0';
	sep += strspn(sep, " ");
	ctl->headers[ctl->n_headers++] = (struct ttrpc_kv){ .key = arg, .value = sep };
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const struct {
	unsigned bit;
	const char *name;
} option_names[] = {
	{ OPT_WATCH, "--watch" },
	{ OPT_JSON, "--json" },
	{ OPT_DATA, "-d" },
	{ OPT_TIMEOUT, "--timeout" },
	{ OPT_HEADER, "-H" },
	{ OPT_RAW, "--raw" },
	{ OPT_DESCRIPTOR_SET, "--descriptor-set" },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "watch", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "data", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "header", required_argument, NULL, 'H' },
		{ "raw", no_argument, NULL, 'r' },
		{ "descriptor-set", required_argument, NULL, 'D' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .socket = getenv("TTRPCD_SOCKET") };
	const struct command *cmd;
	int c, n, ret;

	if (!ctl.socket || !*ctl.socket)
		ctl.socket = DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "s:wjd:t:H:rD:Vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'w':
			ctl.given |= OPT_WATCH;
			break;
		case 'j':
			ctl.given |= OPT_JSON;
			break;
		case 'd':
			ctl.given |= OPT_DATA;
			ctl.data = optarg;
			break;
		case 't':
			ctl.given |= OPT_TIMEOUT;
			if (ttrpcd_duration_parse(optarg, &ctl.timeout_us) < 0) {
				fprintf(stderr,
					"ttrpcctl: bad duration %s (e.g. 500ms, 10s, 1.5min)\n",
					optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			ctl.given |= OPT_HEADER;
			if (parse_header(&ctl, optarg) < 0) {
				fprintf(stderr, "ttrpcctl: bad header %s (KEY=VALUE)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			ctl.given |= OPT_RAW;
			break;
		case 'D':
			ctl.given |= OPT_DESCRIPTOR_SET;
			if (ctl.n_descriptor_sets == MAX_DESCRIPTOR_SETS) {
				fprintf(stderr, "ttrpcctl: at most %d --descriptor-set\n",
					MAX_DESCRIPTOR_SETS);
				return EXIT_USAGE;
			}
			ctl.descriptor_sets[ctl.n_descriptor_sets++] = optarg;
			break;
		case 'V':
			printf("ttrpcctl %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'ttrpcctl --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "ttrpcctl: unknown command %s. Try 'ttrpcctl --help'.\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	n = argc - optind - 1;
	if (n < cmd->min_args || n > cmd->max_args) {
		fprintf(stderr, "Usage: ttrpcctl %s\n", cmd->usage);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++) {
		if ((ctl.given & option_names[i].bit) && !(cmd->opts & option_names[i].bit)) {
			fprintf(stderr, "ttrpcctl: %s takes no %s\nUsage: ttrpcctl %s\n", cmd->name,
				option_names[i].name, cmd->usage);
			return EXIT_USAGE;
		}
	}
	if (!(ctl.given & OPT_TIMEOUT))
		ctl.timeout_us = cmd->default_timeout_us;
	if (ctl_connect(&ctl) < 0)
		return EXIT_FAILURE;
	ret = cmd->run(&ctl, n, argv + optind + 1);
	ttrpc_client_free(ctl.client);
	pb_pool_free(ctl.builtin);
	return ret;
}
