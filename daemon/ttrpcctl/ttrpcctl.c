/*
 * ttrpcctl: the operator's and developer's tool for ttrpcd, in the habits
 * of grpc_health_probe (health) and grpcurl (list, call). It needs no .proto:
 * the daemon's control service names the module of a method, and the
 * module's service declarations hold the protobuf-c descriptors that the
 * JSON of `call` is converted with.
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
#include "describe.h"
#include "health.ttrpc-c.h"
#include "pbjson.h"

#define DEFAULT_SOCKET "/run/ttrpcd/ttrpcd.sock"
#define EXIT_USAGE 2
#define MAX_HEADERS 64

/* Options, each allowed by the commands whose mask has its bit. */
enum {
	OPT_WATCH = 1u << 0,
	OPT_JSON = 1u << 1,
	OPT_DATA = 1u << 2,
	OPT_TIMEOUT = 1u << 3,
	OPT_HEADER = 1u << 4,
	OPT_RAW = 1u << 5,
};

struct ctl {
	const char *socket;
	unsigned given;      /* OPT_* seen on the command line */
	const char *data;    /* -d */
	uint64_t timeout_us; /* --timeout, else the command's default */
	struct ttrpc_kv headers[MAX_HEADERS];
	size_t n_headers;
	struct ttrpc_client *client;
};

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
static int cmd_call(struct ctl *ctl, int argc, char **argv);

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
	{ "call", cmd_call, 1, 1, OPT_DATA | OPT_TIMEOUT | OPT_HEADER | OPT_RAW, 0,
	  "call SERVICE/METHOD [-d JSON|@] [--timeout D] [-H KEY=VALUE]... [--raw]",
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
		"  -t, --timeout D     deadline of the call: 500ms, 10s, 2m, or seconds\n"
		"  -H, --header K=V    call: a metadata pair (repeatable)\n"
		"  -r, --raw           call: protobuf bytes on stdin and stdout, no JSON\n"
		"  -h, --help          this text\n"
		"\nSee ttrpcctl(1).\n",
		DEFAULT_SOCKET);
}

/* ---- errors ---- */

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int error(const char *fmt, ...)
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
static int call_error(const struct ctl *ctl, int r, struct ttrpc_status *st)
{
	int ret;

	if (r == -EREMOTEIO)
		ret = error("%s: %s", ttrpc_code_name(st->code), st->message ? st->message : "");
	else if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
		ret = error("ttrpcd closed the connection on %s (%s): does its allow-list admit "
			    "this user?",
			    ctl->socket, strerror(-r));
	else if (r == -EMSGSIZE)
		ret = error("the request is larger than ttrpc's 4 MiB message limit");
	else
		ret = error("%s", strerror(-r));
	ttrpc_status_clear(st);
	return ret;
}

static int ctl_connect(struct ctl *ctl)
{
	int r = ttrpc_client_open(ctl->socket, &ctl->client);

	if (r == -ENOENT || r == -ECONNREFUSED)
		error("cannot connect to %s: %s — is ttrpcd running?", ctl->socket, strerror(-r));
	else if (r == -EACCES || r == -EPERM)
		error("cannot connect to %s: %s — the socket's mode and group decide who may "
		      "connect",
		      ctl->socket, strerror(-r));
	else if (r < 0)
		error("cannot connect to %s: %s", ctl->socket, strerror(-r));
	return r;
}

static struct ttrpc_call_opts call_opts(const struct ctl *ctl, bool with_headers)
{
	return (struct ttrpc_call_opts){
		.timeout_us = ctl->timeout_us,
		.metadata = with_headers ? ctl->headers : NULL,
		.n_metadata = with_headers ? ctl->n_headers : 0,
	};
}

/* ---- output ---- */

static int print_json(struct json_object *j, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);

	if (!j)
		return error("%s", strerror(ENOMEM));
	puts(json_object_to_json_string_ext(j, flags));
	json_object_put(j);
	/* Streams are read as they come, by people and by pipes. */
	fflush(stdout);
	return 0;
}

static int print_message(const ProtobufCMessage *msg, bool pretty)
{
	return print_json(pbjson_from_message(msg), pretty);
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
		ret = error("%s: %s (is the health module loaded?)", ttrpc_code_name(st->code),
			    st->message);
	else if (r == -EREMOTEIO && st->code == TTRPC_NOT_FOUND)
		ret = error("%s: %s: \"%s\"", ttrpc_code_name(st->code), st->message, service);
	else
		return call_error(ctl, r, st);
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
		return error("%s", strerror(ENOMEM));
	r = ttrpc_client_connect(w.base, ctl->socket, &client);
	if (r == 0)
		r = ttrpc_client_stream_open(client, GRPC__HEALTH__V1__HEALTH__NAME, "Watch",
					     TTRPC_METHOD_SERVER_STREAM, &req->base,
					     &grpc__health__v1__health_check_response__descriptor,
					     NULL, &handlers, &w, &w.s);
	if (r < 0) {
		w.exit = call_error(ctl, r, &(struct ttrpc_status){ 0 });
		goto out;
	}
	if (ctl->given & OPT_TIMEOUT) {
		struct timeval tv = { .tv_sec = (time_t)(ctl->timeout_us / 1000000),
				      .tv_usec = (suseconds_t)(ctl->timeout_us % 1000000) };

		timer = evtimer_new(w.base, watch_on_timer, &w);
		if (!timer || evtimer_add(timer, &tv) < 0) {
			w.exit = error("%s", strerror(ENOMEM));
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
	struct ttrpc_call_opts opts = call_opts(ctl, false);
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
		return error("unknown service %s", service);
	return EXIT_SUCCESS;
}

static int cmd_list(struct ctl *ctl, int argc, char **argv)
{
	Ttrpcd__V1__ListRequest req = TTRPCD__V1__LIST_REQUEST__INIT;
	struct ttrpc_call_opts opts = call_opts(ctl, false);
	Ttrpcd__V1__ListResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = argc > 0 ? argv[0] : "";
	r = ttrpcd__v1__control_list_sync(ctl->client, &req, &opts, &resp, &st);
	if (r == -EREMOTEIO && st.code == TTRPC_NOT_FOUND && argc > 0) {
		ttrpc_status_clear(&st);
		return error("unknown service %s", argv[0]);
	}
	if (r < 0)
		return call_error(ctl, r, &st);
	if (argc > 0 && resp->n_services == 0)
		r = error("unknown service %s", argv[0]);
	else if (ctl->given & OPT_JSON)
		r = print_message(&resp->base, true) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
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

static void print_stats(const Ttrpcd__V1__StatsResponse *st)
{
	char up[64], name[512], p50[48], p99[48];
	int width = 6;

	format_duration(st->uptime_seconds, up, sizeof(up));
	printf("uptime:          %s\n", up);
	printf("connections:     %" PRIu64 " open, %" PRIu64 " total, %" PRIu64 " refused\n",
	       st->connections, st->connections_total, st->connections_refused);
	printf("calls in flight: %" PRIu64 "\n", st->calls_in_flight);
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
	struct ttrpc_call_opts opts = call_opts(ctl, false);
	Ttrpcd__V1__StatsResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	r = ttrpcd__v1__control_stats_sync(ctl->client, &req, &opts, &resp, &st);
	if (r < 0)
		return call_error(ctl, r, &st);
	r = EXIT_SUCCESS;
	if (ctl->given & OPT_JSON)
		r = print_message(&resp->base, true) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	else
		print_stats(resp);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return r;
}

static int cmd_reload(struct ctl *ctl, int argc, char **argv)
{
	Ttrpcd__V1__ReloadRequest req = TTRPCD__V1__RELOAD_REQUEST__INIT;
	struct ttrpc_call_opts opts = call_opts(ctl, false);
	Ttrpcd__V1__ReloadResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	r = ttrpcd__v1__control_reload_sync(ctl->client, &req, &opts, &resp, &st);
	if (r < 0)
		return call_error(ctl, r, &st);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	printf("reloaded\n");
	return EXIT_SUCCESS;
}

/* ---- call: reading JSON ---- */

/* JSON objects waiting to be sent, in order. */
struct json_queue {
	struct json_object **v;
	size_t n, next, cap;
};

static int queue_push(struct json_queue *q, struct json_object *j)
{
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct json_object **v = realloc(q->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = json_object_get(j);
	return 0;
}

static void queue_clear(struct json_queue *q)
{
	for (size_t i = q->next; i < q->n; i++)
		json_object_put(q->v[i]);
	free(q->v);
	*q = (struct json_queue){ 0 };
}

/* Every JSON value of @text, whitespace apart, onto @q; @what names @text in errors. */
static int parse_json_values(const char *text, size_t len, const char *what, struct json_queue *q)
{
	struct json_tokener *tok = json_tokener_new();
	size_t off = 0;
	int r = 0;

	if (!tok)
		return error("%s", strerror(ENOMEM));
	while (r == 0) {
		enum json_tokener_error jerr;
		struct json_object *j;

		off += strspn(text + off, " \t\r\n");
		if (off >= len)
			break;
		j = json_tokener_parse_ex(tok, text + off, (int)(len - off));
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			r = error("%s: incomplete JSON", what);
		} else if (jerr != json_tokener_success) {
			r = error("%s: invalid JSON at offset %zu: %s", what,
				  off + json_tokener_get_parse_end(tok),
				  json_tokener_error_desc(jerr));
		} else {
			off += json_tokener_get_parse_end(tok);
			if (queue_push(q, j) < 0)
				r = error("%s", strerror(ENOMEM));
			json_object_put(j);
		}
		json_tokener_reset(tok);
	}
	json_tokener_free(tok);
	return r;
}

static char *read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t k;

	while (buf) {
		if (n == cap) {
			char *b = realloc(buf, (cap *= 2) + 1);

			if (!b)
				break;
			buf = b;
		}
		k = read(fd, buf + n, cap - n);
		if (k == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (k < 0 && errno != EINTR)
			break;
		n += k > 0 ? (size_t)k : 0;
	}
	free(buf);
	return NULL;
}

/* A message of @desc from @j; its memory is in @arena. */
static int json_message(const ProtobufCMessageDescriptor *desc, struct json_object *j,
			const char *what, struct pbjson_arena *arena, ProtobufCMessage **msg)
{
	char err[512];
	int r = pbjson_to_message(desc, j, arena, msg, err, sizeof(err));

	if (r < 0)
		return error("%s: %s", what, err);
	return 0;
}

/* ---- call: unary, and streams on an event loop ---- */

static int call_unary(struct ctl *ctl, const char *service, const char *method,
		      const struct ctl_method *m, struct json_object *req_json)
{
	struct ttrpc_call_opts opts = call_opts(ctl, true);
	struct pbjson_arena arena = { 0 };
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *req, *resp;
	int r;

	if (json_message(m->input, req_json, "request", &arena, &req) != 0) {
		pbjson_arena_free(&arena);
		return EXIT_FAILURE;
	}
	r = ttrpc_client_call_sync(ctl->client, service, method, req, m->output, &opts, &resp, &st);
	pbjson_arena_free(&arena);
	if (r < 0)
		return call_error(ctl, r, &st);
	r = print_message(resp, false) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

/*
 * A streaming call: the server's messages are printed as they come while the
 * client's are sent as stdin gives them, so that a bidirectional call
 * converses; the output queue's watermark pauses the reading of stdin.
 */
struct stream_run {
	struct ctl *ctl;
	const struct ctl_method *m;
	struct event_base *base;
	struct ttrpc_client *client;
	struct ttrpc_client_stream *s; /* NULL once done */
	struct json_queue queue;       /* parsed, not yet sent */
	ProtobufCMessage *pending;     /* converted, refused with -EAGAIN */
	struct pbjson_arena arena;     /* of pending */
	/* stdin, for client and bidirectional streams without -d */
	bool from_stdin, pollable, eof, blocked, closed, failed;
	struct event *ev_in;
	char *buf;
	size_t len, cap, line;
	int exit;
};

static void run_fail(struct stream_run *run)
{
	run->failed = true;
	run->exit = EXIT_FAILURE;
	/* on_done runs inside and ends the loop; it says nothing more. */
	if (run->s)
		ttrpc_client_stream_cancel(run->s);
}

/* Whole lines of run->buf to the queue; at EOF the last line even without '\n'. */
static int take_lines(struct stream_run *run)
{
	char what[64], *nl;

	while (run->len > 0) {
		size_t n;

		nl = memchr(run->buf, '\n', run->len);
		if (!nl && !run->eof)
			break;
		n = nl ? (size_t)(nl - run->buf) : run->len;
		run->buf[n] = '\0';
		snprintf(what, sizeof(what), "stdin line %zu", ++run->line);
		if (parse_json_values(run->buf, n, what, &run->queue) != 0)
			return -EINVAL;
		n = nl ? n + 1 : n;
		memmove(run->buf, run->buf + n, run->len - n);
		run->len -= n;
	}
	return 0;
}

/* Read what stdin has now; 0, or -1 after an error was reported. */
static int read_stdin(struct stream_run *run)
{
	ssize_t k;

	if (run->cap - run->len < 65536) {
		char *b = realloc(run->buf, run->cap + 65536 + 1);

		if (!b)
			return error("%s", strerror(ENOMEM)), -1;
		run->buf = b;
		run->cap += 65536;
	}
	k = read(STDIN_FILENO, run->buf + run->len, run->cap - run->len);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (k < 0)
		return error("reading stdin: %s", strerror(errno)), -1;
	if (k == 0) {
		run->eof = true;
		if (run->ev_in)
			event_del(run->ev_in);
	}
	run->len += (size_t)k;
	return take_lines(run) < 0 ? -1 : 0;
}

/* Send all that can be sent now; close the sending side after the last message. */
static void pump(struct stream_run *run)
{
	char what[64];
	int r;

	while (run->s && !run->blocked && !run->closed) {
		if (!run->pending) {
			struct json_object *j;

			if (run->queue.next == run->queue.n) {
				if (run->from_stdin && !run->eof) {
					/* Regular files and /dev/null cannot be polled: read them here. */
					if (run->pollable)
						return;
					if (read_stdin(run) < 0)
						return run_fail(run);
					continue;
				}
				run->closed = true;
				r = ttrpc_client_stream_close_send(run->s);
				if (r < 0 && r != -EPIPE)
					error("closing the stream: %s", strerror(-r));
				return;
			}
			j = run->queue.v[run->queue.next++];
			snprintf(what, sizeof(what), "message %zu", run->queue.next);
			r = json_message(run->m->input, j, what, &run->arena, &run->pending);
			json_object_put(j);
			if (r != 0)
				return run_fail(run);
		}
		r = ttrpc_client_stream_send(run->s, run->pending);
		if (r == -EAGAIN) {
			run->blocked = true;
			if (run->ev_in)
				event_del(run->ev_in);
			return;
		}
		pbjson_arena_free(&run->arena);
		run->pending = NULL;
		if (r == -EPIPE)
			return; /* the server ended the stream; on_done tells how */
		if (r < 0) {
			error("sending: %s", strerror(-r));
			return run_fail(run);
		}
	}
}

static void on_stdin(evutil_socket_t fd, short what, void *data)
{
	struct stream_run *run = data;

	if (read_stdin(run) < 0)
		return run_fail(run);
	pump(run);
}

static void on_message(struct ttrpc_client_stream *s, const ProtobufCMessage *msg, void *data)
{
	struct stream_run *run = data;

	if (print_message(msg, false) < 0)
		run_fail(run);
}

static void on_writable(struct ttrpc_client_stream *s, void *data)
{
	struct stream_run *run = data;

	run->blocked = false;
	if (run->ev_in && !run->eof)
		event_add(run->ev_in, NULL);
	pump(run);
}

static void on_done(struct ttrpc_client_stream *s, const struct ttrpc_result *res, void *data)
{
	struct stream_run *run = data;
	struct ttrpc_status st = { .code = res->code, .message = (char *)res->message };

	run->s = NULL;
	event_base_loopbreak(run->base);
	if (run->failed)
		return;
	if (res->error < 0) {
		run->exit = call_error(run->ctl, res->error, &(struct ttrpc_status){ 0 });
	} else if (res->code != TTRPC_OK) {
		run->exit = error("%s: %s", ttrpc_code_name(st.code), st.message);
	} else if (res->response) {
		run->exit = print_message(res->response, false) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
}

static const struct ttrpc_stream_handlers stream_handlers = {
	.on_message = on_message,
	.on_done = on_done,
	.on_writable = on_writable,
};

static bool stdin_pollable(void)
{
	struct stat sb;

	if (fstat(STDIN_FILENO, &sb) < 0)
		return false;
	return S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode) || isatty(STDIN_FILENO);
}

static int call_stream(struct ctl *ctl, const char *service, const char *method,
		       const struct ctl_method *m, struct json_queue *input, bool from_stdin)
{
	struct stream_run run = {
		.ctl = ctl, .m = m, .from_stdin = from_stdin, .eof = !from_stdin, .queue = *input
	};
	struct ttrpc_call_opts opts = call_opts(ctl, true);
	struct pbjson_arena req_arena = { 0 };
	ProtobufCMessage *req = NULL;
	int r;

	*input = (struct json_queue){ 0 };
	run.base = event_base_new();
	if (!run.base)
		return error("%s", strerror(ENOMEM));
	r = ttrpc_client_connect(run.base, ctl->socket, &run.client);
	if (r < 0) {
		run.exit = error("cannot connect to %s: %s", ctl->socket, strerror(-r));
		goto out;
	}
	if (m->kind == TTRPC_METHOD_SERVER_STREAM) {
		struct json_object *j = run.queue.v[run.queue.next++];

		r = json_message(m->input, j, "request", &req_arena, &req);
		json_object_put(j);
		if (r != 0)
			goto fail;
	}
	r = ttrpc_client_stream_open(run.client, service, method, m->kind, req, m->output, &opts,
				     &stream_handlers, &run, &run.s);
	pbjson_arena_free(&req_arena);
	if (r < 0) {
		run.exit = call_error(ctl, r, &(struct ttrpc_status){ 0 });
		goto out;
	}
	if (m->kind != TTRPC_METHOD_SERVER_STREAM) {
		run.pollable = from_stdin && stdin_pollable();
		if (run.pollable) {
			run.ev_in = event_new(run.base, STDIN_FILENO, EV_READ | EV_PERSIST,
					      on_stdin, &run);
			if (!run.ev_in || event_add(run.ev_in, NULL) < 0) {
				error("cannot watch stdin");
				run_fail(&run);
			}
		}
		pump(&run);
	}
	if (run.s)
		event_base_dispatch(run.base);
	goto out;
fail:
	run.exit = EXIT_FAILURE;
out:
	pbjson_arena_free(&req_arena);
	if (run.s)
		ttrpc_client_stream_cancel(run.s);
	if (run.ev_in)
		event_free(run.ev_in);
	ttrpc_client_free(run.client);
	event_base_free(run.base);
	pbjson_arena_free(&run.arena);
	queue_clear(&run.queue);
	free(run.buf);
	return run.exit;
}

/* ---- call: raw ---- */

static void raw_init(ProtobufCMessage *msg);

/*
 * A message type without fields: protobuf-c keeps every field of what it
 * decodes as an unknown field and encodes them back as they were, so that
 * bytes go through the library's typed API unchanged and checked for being
 * well-formed protobuf.
 */
static const ProtobufCMessageDescriptor raw_descriptor = {
	.magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
	.name = "ttrpcctl.Raw",
	.short_name = "Raw",
	.c_name = "Raw",
	.package_name = "ttrpcctl",
	.sizeof_message = sizeof(ProtobufCMessage),
	.fields_sorted_by_name = (const unsigned[]){ 0 },
	.message_init = raw_init,
};

static void raw_init(ProtobufCMessage *msg)
{
	*msg = (ProtobufCMessage){ .descriptor = &raw_descriptor };
}

static int call_raw(struct ctl *ctl, const char *service, const char *method)
{
	struct ttrpc_call_opts opts = call_opts(ctl, true);
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *req, *resp;
	uint8_t *out;
	size_t len;
	char *in;
	int r;

	in = read_all(STDIN_FILENO, &len);
	if (!in)
		return error("reading stdin: %s", strerror(errno ? errno : ENOMEM));
	req = protobuf_c_message_unpack(&raw_descriptor, NULL, len, (const uint8_t *)in);
	free(in);
	if (!req)
		return error("stdin holds no well-formed protobuf message");
	r = ttrpc_client_call_sync(ctl->client, service, method, req, &raw_descriptor, &opts, &resp,
				   &st);
	protobuf_c_message_free_unpacked(req, NULL);
	if (r < 0)
		return call_error(ctl, r, &st);
	len = protobuf_c_message_get_packed_size(resp);
	out = malloc(len ? len : 1);
	if (out) {
		protobuf_c_message_pack(resp, out);
		r = fwrite(out, 1, len, stdout) == len && fflush(stdout) == 0 ? EXIT_SUCCESS
									      : EXIT_FAILURE;
		if (r != EXIT_SUCCESS)
			error("writing stdout: %s", strerror(errno));
	} else {
		r = error("%s", strerror(ENOMEM));
	}
	free(out);
	protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

/* SERVICE/METHOD, or SERVICE.METHOD as grpcurl also takes it. */
static int split_target(char *target, const char **service, const char **method)
{
	char *sep = strrchr(target, '/');

	if (!sep)
		sep = strrchr(target, '.');
	if (!sep || sep == target || !sep[1])
		return -EINVAL;
	*sep = '\0';
	*service = target;
	*method = sep + 1;
	return 0;
}

static int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	struct ttrpc_call_opts list_opts = call_opts(ctl, false);
	const char *service, *method;
	struct json_queue input = { 0 };
	bool from_stdin = false;
	struct ctl_method m;
	char err[1024];
	int r;

	if (split_target(argv[0], &service, &method) < 0) {
		fprintf(stderr, "ttrpcctl: call wants SERVICE/METHOD, e.g. "
				"ttrpc.interop.v1.Interop/Echo\n");
		return EXIT_USAGE;
	}
	if (ctl->given & OPT_RAW)
		return call_raw(ctl, service, method);
	r = ctl_describe(ctl->client, &list_opts, service, method, &m, err, sizeof(err));
	if (r < 0)
		return error("%s", err);

	if (ctl->data && strcmp(ctl->data, "@") != 0) {
		r = parse_json_values(ctl->data, strlen(ctl->data), "-d", &input);
	} else if (ctl->data || m.kind == TTRPC_METHOD_UNARY ||
		   m.kind == TTRPC_METHOD_SERVER_STREAM) {
		size_t len;
		char *text = ctl->data ? read_all(STDIN_FILENO, &len) : NULL;

		if (ctl->data && !text)
			return error("reading stdin: %s", strerror(errno ? errno : ENOMEM));
		/* No -d: an empty request, as grpcurl sends. */
		r = text ? parse_json_values(text, len, "stdin", &input)
			 : parse_json_values("{}", 2, "-d", &input);
		free(text);
	} else {
		from_stdin = true;
	}
	if (r != 0) {
		queue_clear(&input);
		return EXIT_FAILURE;
	}
	if ((m.kind == TTRPC_METHOD_UNARY || m.kind == TTRPC_METHOD_SERVER_STREAM) &&
	    input.n != 1) {
		queue_clear(&input);
		return error("%s/%s takes one request message, not %zu", service, method, input.n);
	}
	if (m.kind == TTRPC_METHOD_UNARY) {
		r = call_unary(ctl, service, method, &m, input.v[0]);
		queue_clear(&input);
		return r;
	}
	return call_stream(ctl, service, method, &m, &input, from_stdin);
}

/* ---- the command line ---- */

/* 500ms, 10s, 1.5m, 2h, 100us; a bare number is seconds, as grpcurl's -max-time. */
static int parse_duration(const char *s, uint64_t *us)
{
	static const struct {
		const char *suffix;
		double us;
	} units[] = {
		{ "", 1e6 }, { "s", 1e6 },  { "ms", 1e3 },
		{ "us", 1 }, { "m", 60e6 }, { "h", 3600e6 },
	};
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !(v >= 0))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		if (v * units[i].us >= 1.8e19)
			return -ERANGE;
		*us = (uint64_t)(v * units[i].us);
		return 0;
	}
	return -EINVAL;
}

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
	{ OPT_WATCH, "--watch" },     { OPT_JSON, "--json" }, { OPT_DATA, "-d" },
	{ OPT_TIMEOUT, "--timeout" }, { OPT_HEADER, "-H" },   { OPT_RAW, "--raw" },
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .socket = getenv("TTRPCD_SOCKET") };
	const struct command *cmd;
	int c, n, ret;

	if (!ctl.socket || !*ctl.socket)
		ctl.socket = DEFAULT_SOCKET;
	while ((c = getopt_long(argc, argv, "s:wjd:t:H:rh", longopts, NULL)) != -1) {
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
			if (parse_duration(optarg, &ctl.timeout_us) < 0) {
				fprintf(stderr, "ttrpcctl: bad duration %s (e.g. 500ms, 10s, 2m)\n",
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
	return ret;
}
