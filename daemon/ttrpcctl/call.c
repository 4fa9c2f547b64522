/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcctl call: a method called with JSON messages (or raw protobuf bytes),
 * unary on the blocking client, streams on an event loop that reads stdin
 * as the server answers. The JSON is turned into protobuf bytes with the
 * method's descriptors (pbjson.c), and the bytes go through the library as
 * a message of no fields (raw_descriptor), whose unknown fields protobuf-c
 * keeps and sends as they are.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "describe.h"
#include "pbjson.h"
#include "pool.h"
#include "ttrpcctl.h"

/* ---- protobuf bytes as a message of the library ---- */

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

/* Print @raw, a message of raw_descriptor, as JSON of @type. */
static int print_raw(const struct pb_pool *pool, const struct pb_message *type,
		     const ProtobufCMessage *raw)
{
	size_t len;
	uint8_t *data = ctl_pack(raw, &len);
	int r;

	if (!data)
		return ctl_error("%s", strerror(ENOMEM));
	r = ctl_print_wire(pool, type, data, len, false);
	free(data);
	return r;
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
		return ctl_error("%s", strerror(ENOMEM));
	while (r == 0) {
		enum json_tokener_error jerr;
		struct json_object *j;

		off += strspn(text + off, " \t\r\n");
		if (off >= len)
			break;
		j = json_tokener_parse_ex(tok, text + off, (int)(len - off));
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			r = ctl_error("%s: incomplete JSON", what);
		} else if (jerr != json_tokener_success) {
			r = ctl_error("%s: invalid JSON at offset %zu: %s", what,
				      off + json_tokener_get_parse_end(tok),
				      json_tokener_error_desc(jerr));
		} else {
			off += json_tokener_get_parse_end(tok);
			if (queue_push(q, j) < 0)
				r = ctl_error("%s", strerror(ENOMEM));
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

/*
 * A message of @type from @j, as a message of raw_descriptor: free it with
 * protobuf_c_message_free_unpacked().
 */
static int json_message(const struct pb_pool *pool, const struct pb_message *type,
			struct json_object *j, const char *what, ProtobufCMessage **msg)
{
	char err[512];
	uint8_t *data;
	size_t len;
	int r = pbjson_encode(pool, type, j, &data, &len, err, sizeof(err));

	if (r < 0)
		return ctl_error("%s: %s", what, err);
	*msg = protobuf_c_message_unpack(&raw_descriptor, NULL, len, data);
	free(data);
	if (!*msg)
		return ctl_error("%s", strerror(ENOMEM));
	return 0;
}

/* ---- call: unary, and streams on an event loop ---- */

static int call_unary(struct ctl *ctl, const struct pb_pool *pool, const char *service,
		      const char *method, const struct ctl_method *m, struct json_object *req_json)
{
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, true);
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *req, *resp;
	int r;

	if (json_message(pool, m->input, req_json, "request", &req) != 0)
		return EXIT_FAILURE;
	r = ttrpc_client_call_sync(ctl->client, service, method, req, &raw_descriptor, &opts, &resp,
				   &st);
	protobuf_c_message_free_unpacked(req, NULL);
	if (r < 0)
		return ctl_call_error(ctl, r, &st);
	r = print_raw(pool, m->output, resp);
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
	const struct pb_pool *pool;
	const struct ctl_method *m;
	struct event_base *base;
	struct ttrpc_client *client;
	struct ttrpc_client_stream *s; /* NULL once done */
	struct json_queue queue;       /* parsed, not yet sent */
	ProtobufCMessage *pending;     /* converted, refused with -EAGAIN */
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
			return ctl_error("%s", strerror(ENOMEM)), -1;
		run->buf = b;
		run->cap += 65536;
	}
	k = read(STDIN_FILENO, run->buf + run->len, run->cap - run->len);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (k < 0)
		return ctl_error("reading stdin: %s", strerror(errno)), -1;
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
					ctl_error("closing the stream: %s", strerror(-r));
				return;
			}
			j = run->queue.v[run->queue.next++];
			snprintf(what, sizeof(what), "message %zu", run->queue.next);
			r = json_message(run->pool, run->m->input, j, what, &run->pending);
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
		protobuf_c_message_free_unpacked(run->pending, NULL);
		run->pending = NULL;
		if (r == -EPIPE)
			return; /* the server ended the stream; on_done tells how */
		if (r < 0) {
			ctl_error("sending: %s", strerror(-r));
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

	if (print_raw(run->pool, run->m->output, msg) != 0)
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
		run->exit = ctl_call_error(run->ctl, res->error, &(struct ttrpc_status){ 0 });
	} else if (res->code != TTRPC_OK) {
		run->exit = ctl_error("%s: %s", ttrpc_code_name(st.code), st.message);
	} else if (res->response) {
		run->exit = print_raw(run->pool, run->m->output, res->response);
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

static int call_stream(struct ctl *ctl, const struct pb_pool *pool, const char *service,
		       const char *method, const struct ctl_method *m, struct json_queue *input,
		       bool from_stdin)
{
	struct stream_run run = { .ctl = ctl,
				  .pool = pool,
				  .m = m,
				  .from_stdin = from_stdin,
				  .eof = !from_stdin,
				  .queue = *input };
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, true);
	ProtobufCMessage *req = NULL;
	int r;

	*input = (struct json_queue){ 0 };
	run.base = event_base_new();
	if (!run.base)
		return ctl_error("%s", strerror(ENOMEM));
	r = ttrpc_client_connect(run.base, ctl->socket, &run.client);
	if (r < 0) {
		run.exit = ctl_error("cannot connect to %s: %s", ctl->socket, strerror(-r));
		goto out;
	}
	if (m->kind == TTRPC_METHOD_SERVER_STREAM) {
		struct json_object *j = run.queue.v[run.queue.next++];

		r = json_message(pool, m->input, j, "request", &req);
		json_object_put(j);
		if (r != 0)
			goto fail;
	}
	r = ttrpc_client_stream_open(run.client, service, method, m->kind, req, &raw_descriptor,
				     &opts, &stream_handlers, &run, &run.s);
	if (req)
		protobuf_c_message_free_unpacked(req, NULL);
	if (r < 0) {
		run.exit = ctl_call_error(ctl, r, &(struct ttrpc_status){ 0 });
		goto out;
	}
	if (m->kind != TTRPC_METHOD_SERVER_STREAM) {
		run.pollable = from_stdin && stdin_pollable();
		if (run.pollable) {
			run.ev_in = event_new(run.base, STDIN_FILENO, EV_READ | EV_PERSIST,
					      on_stdin, &run);
			if (!run.ev_in || event_add(run.ev_in, NULL) < 0) {
				ctl_error("cannot watch stdin");
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
	if (run.s)
		ttrpc_client_stream_cancel(run.s);
	if (run.ev_in)
		event_free(run.ev_in);
	ttrpc_client_free(run.client);
	event_base_free(run.base);
	if (run.pending)
		protobuf_c_message_free_unpacked(run.pending, NULL);
	queue_clear(&run.queue);
	free(run.buf);
	return run.exit;
}

/* ---- call: raw ---- */

static int call_raw(struct ctl *ctl, const char *service, const char *method)
{
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, true);
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *req, *resp;
	uint8_t *out;
	size_t len;
	char *in;
	int r;

	in = read_all(STDIN_FILENO, &len);
	if (!in)
		return ctl_error("reading stdin: %s", strerror(errno ? errno : ENOMEM));
	req = protobuf_c_message_unpack(&raw_descriptor, NULL, len, (const uint8_t *)in);
	free(in);
	if (!req)
		return ctl_error("stdin holds no well-formed protobuf message");
	r = ttrpc_client_call_sync(ctl->client, service, method, req, &raw_descriptor, &opts, &resp,
				   &st);
	protobuf_c_message_free_unpacked(req, NULL);
	if (r < 0)
		return ctl_call_error(ctl, r, &st);
	out = ctl_pack(resp, &len);
	if (out) {
		r = fwrite(out, 1, len, stdout) == len && fflush(stdout) == 0 ? EXIT_SUCCESS
									      : EXIT_FAILURE;
		if (r != EXIT_SUCCESS)
			ctl_error("writing stdout: %s", strerror(errno));
	} else {
		r = ctl_error("%s", strerror(ENOMEM));
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

/* The request messages of a call, from -d, stdin or nothing ({}); 0 or EXIT_FAILURE. */
static int read_requests(struct ctl *ctl, const struct ctl_method *m, struct json_queue *input,
			 bool *from_stdin)
{
	size_t len;
	char *text;
	int r;

	*from_stdin = false;
	if (ctl->data && strcmp(ctl->data, "@") != 0)
		return parse_json_values(ctl->data, strlen(ctl->data), "-d", input);
	if (!ctl->data &&
	    (m->kind == TTRPC_METHOD_CLIENT_STREAM || m->kind == TTRPC_METHOD_BIDI_STREAM)) {
		*from_stdin = true;
		return 0;
	}
	/* No -d: an empty request, as grpcurl sends. */
	if (!ctl->data)
		return parse_json_values("{}", 2, "-d", input);
	text = read_all(STDIN_FILENO, &len);
	if (!text)
		return ctl_error("reading stdin: %s", strerror(errno ? errno : ENOMEM));
	r = parse_json_values(text, len, "stdin", input);
	free(text);
	return r;
}

int cmd_call(struct ctl *ctl, int argc, char **argv)
{
	char err[1024], names[512], *target = strdup(argv[0]);
	const char *service, *method;
	struct json_queue input = { 0 };
	struct pb_pool *pool = NULL;
	struct ctl_method m;
	bool from_stdin;
	int r;

	if (!target || pb_pool_new(&pool) < 0) {
		free(target);
		return ctl_error("%s", strerror(ENOMEM));
	}
	if (split_target(target, &service, &method) < 0) {
		fprintf(stderr, "ttrpcctl: call wants SERVICE/METHOD, e.g. "
				"ttrpc.interop.v1.Interop/Echo\n");
		r = EXIT_USAGE;
		goto out;
	}
	if (ctl->given & OPT_RAW) {
		r = call_raw(ctl, service, method);
		goto out;
	}
	r = ctl_describe(ctl, pool, service, method, &m, err, sizeof(err));
	/* "kv.v1.Store" is no method Store of a service kv.v1: the method is missing. */
	if (r == -ENOENT && !strchr(argv[0], '/') &&
	    ctl_service_methods(ctl, pool, argv[0], names, sizeof(names)) == 0) {
		r = ctl_error("%s is a service: which method? (it has: %s; call %s/METHOD)",
			      argv[0], names, argv[0]);
		goto out;
	}
	if (r < 0) {
		r = ctl_error("%s", err);
		goto out;
	}
	/* A stream lasts as long as it is fed: only --timeout gives it an end. */
	if (m.kind != TTRPC_METHOD_UNARY && !(ctl->given & OPT_TIMEOUT))
		ctl->timeout_us = 0;
	r = read_requests(ctl, &m, &input, &from_stdin);
	if (r != 0)
		goto out;
	if ((m.kind == TTRPC_METHOD_UNARY || m.kind == TTRPC_METHOD_SERVER_STREAM) &&
	    input.n != 1) {
		r = ctl_error("%s/%s takes one request message, not %zu", service, method, input.n);
		goto out;
	}
	if (m.kind == TTRPC_METHOD_UNARY)
		r = call_unary(ctl, pool, service, method, &m, input.v[0]);
	else
		r = call_stream(ctl, pool, service, method, &m, &input, from_stdin);
out:
	queue_clear(&input);
	pb_pool_free(pool);
	free(target);
	return r;
}
