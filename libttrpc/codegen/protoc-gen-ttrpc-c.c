/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protoc-gen-ttrpc-c: the protoc plugin that writes, for each NAME.proto,
 * NAME.ttrpc-c.h and NAME.ttrpc-c.c: per service a typed handler table, a
 * registration function, typed reply, send and receive helpers and typed
 * client stubs for every kind of method, on top of libttrpc and of
 * protoc-c's NAME.pb-c.h.
 *
 * protoc runs it with a CodeGeneratorRequest on stdin and reads a
 * CodeGeneratorResponse from stdout. C identifiers are built exactly as
 * protoc-c builds them, so that they name protoc-c's types and descriptors.
 *
 * It is a short-lived process: running out of memory ends it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.pb-c.h"

#define MAX_COLUMNS 100

typedef TtrpcDesc__FileDescriptorSet FileSet;
typedef TtrpcDesc__FileDescriptorProto FileProto;
typedef TtrpcDesc__DescriptorProto MessageProto;
typedef TtrpcDesc__ServiceDescriptorProto ServiceProto;
typedef TtrpcDesc__MethodDescriptorProto MethodProto;

enum method_kind {
	KIND_UNARY,
	KIND_SERVER_STREAMING,
	KIND_CLIENT_STREAMING,
	KIND_BIDI_STREAMING,
};

static const char *const kind_names[] = {
	[KIND_UNARY] = "unary",
	[KIND_SERVER_STREAMING] = "server streaming",
	[KIND_CLIENT_STREAMING] = "client streaming",
	[KIND_BIDI_STREAMING] = "bidirectional streaming",
};

struct method {
	const MethodProto *proto;
	enum method_kind kind;
	const char *lower;              /* protoc-c's name for it: "get_foo_bar" */
	const char *fn;                 /* "<service lower>_get_foo_bar", prefix of its functions */
	const char *in_type, *out_type; /* "Pkg__EchoRequest" */
	const char *in_desc, *out_desc; /* "pkg__echo_request__descriptor" */
	const char *comment;            /* from the .proto, or NULL */
};

struct service {
	const ServiceProto *proto;
	const char *descriptors; /* the array of its file's FileDescriptorSet */
	const char *full;        /* "pkg.Svc", the name on the wire */
	const char *lower;       /* "pkg__svc" */
	const char *upper;       /* "PKG__SVC" */
	const char *comment;
	struct method *methods;
	size_t n_methods;
};

/* One run: the request, and everything allocated for it. */
struct gen {
	const TtrpcGen__CodeGeneratorRequest *req;
	char *error;
	void **allocs;
	size_t n_allocs;
	/* Every identifier generated for the current file, to refuse clashes. */
	const char **names;
	size_t n_names;
};

static void die_oom(void)
{
	fputs("protoc-gen-ttrpc-c: out of memory\n", stderr);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die_oom();
	return p;
}

/* Keep @p until the end of the run; return it. */
static void *keep(struct gen *g, void *p)
{
	g->allocs = xrealloc(g->allocs, (g->n_allocs + 1) * sizeof(*g->allocs));
	g->allocs[g->n_allocs++] = p;
	return p;
}

static char *fmt(struct gen *g, const char *f, ...) __attribute__((format(printf, 2, 3)));
static char *fmt(struct gen *g, const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		die_oom();
	va_end(ap);
	return keep(g, s);
}

/* Record the first error; protoc prints it and fails. */
static void fail(struct gen *g, const char *f, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct gen *g, const char *f, ...)
{
	va_list ap;

	if (g->error)
		return;
	va_start(ap, f);
	if (vasprintf(&g->error, f, ap) < 0)
		die_oom();
	va_end(ap);
}

/* ---- protoc-c's identifier rules (protoc-c/c_helpers.cc) ---- */

enum name_case { CASE_CAMEL, CASE_LOWER, CASE_UPPER };

/*
 * One dot-free piece of a name. CAMEL: "foo_bar" -> "FooBar" (message and
 * service types). LOWER/UPPER: "GetFooBAR" -> "get_foo_bar"/"GET_FOO_BAR",
 * an underscore before each upper-case letter that follows a lower-case one.
 */
static void append_piece(FILE *out, const char *s, size_t len, enum name_case c)
{
	bool was_upper = true, next_upper = true;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool is_upper = isupper(ch);

		switch (c) {
		case CASE_CAMEL:
			if (ch == '_') {
				next_upper = true;
				continue;
			}
			fputc(next_upper ? toupper(ch) : ch, out);
			next_upper = false;
			break;
		case CASE_LOWER:
		case CASE_UPPER:
			if (is_upper && !was_upper)
				fputc('_', out);
			fputc(c == CASE_LOWER ? tolower(ch) : toupper(ch), out);
			was_upper = is_upper;
			break;
		}
	}
}

/* A dotted name with each piece converted, joined by "__"; empty pieces skipped. */
static char *c_name(struct gen *g, const char *dotted, enum name_case c)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);
	bool first = true;

	if (!out)
		die_oom();
	for (const char *p = dotted; *p;) {
		size_t len = strcspn(p, ".");

		if (len) {
			if (!first)
				fputs("__", out);
			append_piece(out, p, len, c);
			first = false;
		}
		p += len + (p[len] == '.');
	}
	if (fclose(out))
		die_oom();
	return keep(g, buf);
}

/* ---- descriptors ---- */

static bool has_message(MessageProto *const *msgs, size_t n, const char *path)
{
	size_t len = strcspn(path, ".");

	for (size_t i = 0; i < n; i++) {
		const MessageProto *m = msgs[i];

		if (strlen(m->name) != len || strncmp(m->name, path, len) != 0)
			continue;
		if (!path[len])
			return true;
		return has_message(m->nested_type, m->n_nested_type, path + len + 1);
	}
	return false;
}

/*
 * The C prefix of a file's types: its package, or protoc-c's c_package option
 * when set (an empty c_package means no prefix at all).
 */
static const char *c_package(const FileProto *f)
{
	if (f->options && f->options->pb_c_file && f->options->pb_c_file->c_package)
		return f->options->pb_c_file->c_package;
	return f->package ? f->package : "";
}

/*
 * The C type and descriptor names of a message type, given its fully
 * qualified name (".pkg.Outer.Inner"); the file that defines it tells which
 * part is the package.
 */
static int message_names(struct gen *g, const char *type, const char **c_type, const char **desc)
{
	for (size_t i = 0; i < g->req->n_proto_file; i++) {
		const FileProto *f = g->req->proto_file[i];
		const char *pkg = f->package ? f->package : "", *rest = type + 1;
		size_t plen = strlen(pkg);
		const char *full;

		if (plen) {
			if (strncmp(rest, pkg, plen) != 0 || rest[plen] != '.')
				continue;
			rest += plen + 1;
		}
		if (!has_message(f->message_type, f->n_message_type, rest))
			continue;
		full = fmt(g, "%s.%s", c_package(f), rest);
		*c_type = c_name(g, full, CASE_CAMEL);
		*desc = fmt(g, "%s__descriptor", c_name(g, full, CASE_LOWER));
		return 0;
	}
	fail(g, "message type %s not found in the request", type);
	return -ENOENT;
}

/*
 * The leading comment of the element at @path in @f (source_code_info
 * paths: {6, service} for a service, {6, service, 2, method} for a method),
 * or NULL. Comment delimiters in it are broken up so that it can be copied
 * into a C comment.
 */
static const char *comment_at(struct gen *g, const FileProto *f, const int32_t *path, size_t n)
{
	const TtrpcDesc__SourceCodeInfo *info = f->source_code_info;
	char *s, *p;

	for (size_t i = 0; info && i < info->n_location; i++) {
		const TtrpcDesc__SourceCodeInfo__Location *loc = info->location[i];

		if (loc->n_path != n || memcmp(loc->path, path, n * sizeof(*path)) != 0)
			continue;
		if (!loc->leading_comments || !*loc->leading_comments)
			return NULL;
		s = fmt(g, "%s", loc->leading_comments);
		while ((p = strstr(s, "*/")) || (p = strstr(s, "/*")))
			p[p[0] == '*' ? 1 : 0] = ' ';
		return s;
	}
	return NULL;
}

/*
 * Reserve an identifier generated for the current file: two methods or
 * services whose names differ only in case or underscores would clash.
 */
static void claim(struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->n_names; i++) {
		if (strcmp(g->names[i], name) == 0) {
			fail(g, "two methods or services would both generate the identifier %s",
			     name);
			return;
		}
	}
	g->names = xrealloc(g->names, (g->n_names + 1) * sizeof(*g->names));
	g->names[g->n_names++] = name;
}

static enum method_kind method_kind(const MethodProto *m)
{
	if (m->client_streaming && m->server_streaming)
		return KIND_BIDI_STREAMING;
	if (m->client_streaming)
		return KIND_CLIENT_STREAMING;
	if (m->server_streaming)
		return KIND_SERVER_STREAMING;
	return KIND_UNARY;
}

static void service_init(struct gen *g, struct service *svc, const FileProto *f, size_t index)
{
	const ServiceProto *sp = f->service[index];
	const char *pkg = f->package ? f->package : "", *cpkg = c_package(f);
	int32_t path[4] = { 6, (int32_t)index, 2, 0 };

	svc->proto = sp;
	svc->full = *pkg ? fmt(g, "%s.%s", pkg, sp->name) : sp->name;
	svc->lower = c_name(g, fmt(g, "%s.%s", cpkg, sp->name), CASE_LOWER);
	svc->upper = c_name(g, fmt(g, "%s.%s", cpkg, sp->name), CASE_UPPER);
	svc->comment = comment_at(g, f, path, 2);
	claim(g, fmt(g, "%s_handlers", svc->lower));
	claim(g, fmt(g, "%s_register", svc->lower));
	claim(g, fmt(g, "%s_service", svc->lower));
	claim(g, fmt(g, "%s_methods", svc->lower));
	claim(g, fmt(g, "%s__NAME", svc->upper));
	svc->methods = keep(g, calloc(sp->n_method ? sp->n_method : 1, sizeof(*svc->methods)));
	svc->n_methods = sp->n_method;
	for (size_t i = 0; i < sp->n_method; i++) {
		struct method *m = &svc->methods[i];

		m->proto = sp->method[i];
		m->kind = method_kind(m->proto);
		m->lower = c_name(g, m->proto->name, CASE_LOWER);
		m->fn = fmt(g, "%s_%s", svc->lower, m->lower);
		path[3] = (int32_t)i;
		m->comment = comment_at(g, f, path, 4);
		if (message_names(g, m->proto->input_type, &m->in_type, &m->in_desc) < 0 ||
		    message_names(g, m->proto->output_type, &m->out_type, &m->out_desc) < 0)
			return;
		/* The handlers' struct has a userdata member next to the methods. */
		if (strcmp(m->lower, "userdata") == 0)
			fail(g,
			     "service %s: a method named %s clashes with the userdata member of "
			     "the handlers' struct",
			     svc->full, m->proto->name);
	}
}

/* ---- output helpers ---- */

/* Width of @s printed at column @col, with tabs of 8. */
static size_t columns_after(const char *s, size_t col)
{
	for (; *s; s++)
		col = *s == '\t' ? (col / 8 + 1) * 8 : col + 1;
	return col;
}

/*
 * Print "@head arg, arg, ...@tail": the arguments follow the opening
 * parenthesis that ends @head, wrapped before MAX_COLUMNS and aligned under
 * the first one, kernel style. The argument list ends with NULL.
 */
static void print_args(FILE *out, const char *head, const char *tail, ...)
{
	size_t align = columns_after(head, 0), col = align;
	const char *arg, *next;
	va_list ap;

	fputs(head, out);
	va_start(ap, tail);
	arg = va_arg(ap, const char *);
	while (arg) {
		next = va_arg(ap, const char *);
		/* What must fit on the line: the argument and its ',' or @tail's first character. */
		if (col > align && col + 1 + strlen(arg) + 1 > MAX_COLUMNS) {
			fputs("\n", out);
			for (col = 0; col + 8 <= align; col += 8)
				fputc('\t', out);
			for (; col < align; col++)
				fputc(' ', out);
		} else if (col > align) {
			fputc(' ', out);
			col++;
		}
		fputs(arg, out);
		col += strlen(arg);
		if (next) {
			fputc(',', out);
			col++;
		}
		arg = next;
	}
	va_end(ap);
	fputs(tail, out);
}

/* Print @line as comment lines of at most MAX_COLUMNS, prefixed with @indent " * ". */
static void print_wrapped(FILE *out, const char *indent, const char *line, size_t len)
{
	size_t start = columns_after(indent, 0) + 3, col = start, hang = 0;
	const char *colon = memchr(line, ':', len);

	/* "@param: text" continues under its text. */
	if (len && line[0] == '@' && colon && colon + 1 < line + len && colon[1] == ' ')
		hang = (size_t)(colon - line) + 2;
	fprintf(out, "%s *", indent);
	if (!len)
		fputc('\n', out);
	while (len) {
		size_t word = strcspn(line, " ") < len ? strcspn(line, " ") : len;

		if (col > start && col + 1 + word > MAX_COLUMNS) {
			fprintf(out, "\n%s *%*s", indent, (int)hang, "");
			col = start + hang;
		}
		fprintf(out, " %.*s", (int)word, line);
		col += 1 + word;
		line += word;
		len -= word;
		while (len && *line == ' ') {
			line++;
			len--;
		}
		if (!len)
			fputc('\n', out);
	}
}

/*
 * Print a C comment: @text, whose lines are wrapped, then the comment of the
 * .proto @proto (or NULL), whose lines are kept as they are.
 */
static void print_comment(FILE *out, const char *indent, const char *text, const char *proto)
{
	fprintf(out, "%s/*\n", indent);
	while (text && *text) {
		size_t len = strcspn(text, "\n");

		print_wrapped(out, indent, text, len);
		text += len + (text[len] == '\n');
	}
	if (text && proto)
		fprintf(out, "%s *\n", indent);
	while (proto && *proto) {
		size_t len = strcspn(proto, "\n");

		/* protoc keeps the space after "//"; the C comment puts its own. */
		if (*proto == ' ') {
			proto++;
			len--;
		}
		if (len)
			fprintf(out, "%s * %.*s\n", indent, (int)len, proto);
		else
			fprintf(out, "%s *\n", indent);
		proto += len + (proto[len] == '\n');
	}
	fprintf(out, "%s */\n", indent);
}

/* ---- per method kind ---- */

/* What each kind of method generates: one set of functions per kind. */
struct method_gen {
	/* Claim the identifiers it generates (see claim()). */
	void (*claim)(struct gen *g, const struct method *m);
	/* Its member of the handlers' struct. */
	void (*handler)(struct gen *g, FILE *h, const struct method *m);
	/* Declarations of its server and client functions, in the header. */
	void (*declare)(struct gen *g, FILE *h, const struct service *svc, const struct method *m);
	/* Their definitions and the server trampoline, in the source. */
	void (*define)(struct gen *g, FILE *c, const struct service *svc, const struct method *m);
};

/* Whether the handler gets a request: not when the client streams its messages. */
static bool takes_request(const struct method *m)
{
	return m->kind == KIND_UNARY || m->kind == KIND_SERVER_STREAMING;
}

/*
 * The trampoline the library calls: from the untyped request and the
 * handlers' struct (the service's userdata) to the typed handler.
 */
static void define_serve(struct gen *g, FILE *c, const struct service *svc, const struct method *m)
{
	fputs("\n", c);
	print_args(c, fmt(g, "static void %s_serve(", m->fn), ")\n", "struct ttrpc_call *call",
		   "const ProtobufCMessage *req", "void *arg", NULL);
	fprintf(c,
		"{\n"
		"\tconst struct %s_handlers *h = arg;\n"
		"\n",
		svc->lower);
	if (!takes_request(m))
		fputs("\t/* NULL: the client's messages come through ttrpc_call_on_message(). */\n"
		      "\t(void)req;\n",
		      c);
	fprintf(c,
		"\tif (!h->%s) {\n"
		"\t\tttrpc_call_fail(call, TTRPC_UNIMPLEMENTED, \"method %s\");\n"
		"\t\treturn;\n"
		"\t}\n",
		m->lower, m->proto->name);
	if (takes_request(m))
		print_args(c, fmt(g, "\th->%s(", m->lower), ");\n}\n\n", "call",
			   fmt(g, "(const %s *)req", m->in_type), "h->userdata", NULL);
	else
		fprintf(c, "\th->%s(call, h->userdata);\n}\n\n", m->lower);
}

/*
 * The typed way to answer: _reply() for a method with one response (unary,
 * client streaming), _send() for one message of a server stream.
 */
static bool replies(const struct method *m)
{
	return m->kind == KIND_UNARY || m->kind == KIND_CLIENT_STREAMING;
}

static void declare_answer(struct gen *g, FILE *h, const struct method *m)
{
	fputs("\n", h);
	if (replies(m)) {
		print_comment(h, "",
			      fmt(g,
				  "%s_reply() - answer a call of %s with @resp.\n"
				  "@resp: borrowed; serialized before this returns.\n"
				  "\n"
				  "Return: as ttrpc_call_reply().",
				  m->fn, m->proto->name),
			      NULL);
		print_args(h, fmt(g, "int %s_reply(", m->fn), ");\n", "struct ttrpc_call *call",
			   fmt(g, "const %s *resp", m->out_type), NULL);
		return;
	}
	print_comment(h, "",
		      fmt(g,
			  "%s_send() - send one message of a %s stream.\n"
			  "@msg: borrowed; serialized before this returns.\n"
			  "\n"
			  "Return: as ttrpc_call_send(): -EAGAIN when the client reads slower "
			  "than the call sends (nothing sent: send again from "
			  "ttrpc_call_on_writable()).",
			  m->fn, m->proto->name),
		      NULL);
	print_args(h, fmt(g, "int %s_send(", m->fn), ");\n", "struct ttrpc_call *call",
		   fmt(g, "const %s *msg", m->out_type), NULL);
}

static void define_answer(struct gen *g, FILE *c, const struct method *m)
{
	if (replies(m)) {
		print_args(c, fmt(g, "int %s_reply(", m->fn), ")\n", "struct ttrpc_call *call",
			   fmt(g, "const %s *resp", m->out_type), NULL);
		fputs("{\n\treturn ttrpc_call_reply(call, (const ProtobufCMessage *)resp);\n}\n",
		      c);
		return;
	}
	print_args(c, fmt(g, "int %s_send(", m->fn), ")\n", "struct ttrpc_call *call",
		   fmt(g, "const %s *msg", m->out_type), NULL);
	fputs("{\n\treturn ttrpc_call_send(call, (const ProtobufCMessage *)msg);\n}\n", c);
}

static void unary_claim(struct gen *g, const struct method *m)
{
	static const char *const suffixes[] = { "",       "_reply", "_cb",     "_sync",
						"_serve", "_done",  "_closure" };

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		claim(g, fmt(g, "%s%s", m->fn, suffixes[i]));
}

static void unary_handler(struct gen *g, FILE *h, const struct method *m)
{
	print_comment(h, "\t",
		      fmt(g, "%s: finish the call with %s_reply() or ttrpc_call_fail().",
			  m->proto->name, m->fn),
		      m->comment);
	print_args(h, fmt(g, "\tvoid (*%s)(", m->lower), ");\n", "struct ttrpc_call *call",
		   fmt(g, "const %s *req", m->in_type), "void *userdata", NULL);
}

static void unary_declare(struct gen *g, FILE *h, const struct service *svc, const struct method *m)
{
	const char *name = m->proto->name;

	declare_answer(g, h, m);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "Completion of %s(), called once from the client's loop.\n"
			  "@r: the outcome, as for ttrpc_client_call().\n"
			  "@resp: the response when the call succeeded (@r->error is 0 "
			  "and @r->code TTRPC_OK), else NULL; borrowed for the duration "
			  "of the callback.",
			  m->fn),
		      NULL);
	print_args(h, fmt(g, "typedef void (*%s_cb)(", m->fn), ");\n",
		   "const struct ttrpc_result *r", fmt(g, "const %s *resp", m->out_type),
		   "void *userdata", NULL);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "%s() - call %s without waiting: ttrpc_client_call() with "
			  "typed messages.\n"
			  "@req: borrowed; serialized before this returns.\n"
			  "@opts: NULL for defaults.\n"
			  "@cb: called once with @userdata, unless this returns an "
			  "error.\n"
			  "@id: if not NULL, receives the call's id for "
			  "ttrpc_client_cancel().\n"
			  "\n"
			  "Return: as ttrpc_client_call(); -EINVAL when @cb is NULL.",
			  m->fn, name),
		      NULL);
	print_args(h, fmt(g, "int %s(", m->fn), ");\n", "struct ttrpc_client *client",
		   fmt(g, "const %s *req", m->in_type), "const struct ttrpc_call_opts *opts",
		   fmt(g, "%s_cb cb", m->fn), "void *userdata", "uint32_t *id", NULL);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "%s_sync() - call %s and wait for the outcome: "
			  "ttrpc_client_call_sync() with typed messages.\n"
			  "@resp: receives the response on success, which the caller "
			  "frees with protobuf_c_message_free_unpacked(); NULL "
			  "otherwise.\n"
			  "@status: if not NULL, receives the status of a failed call; "
			  "free it with ttrpc_status_clear().\n"
			  "\n"
			  "Return: as ttrpc_client_call_sync().",
			  m->fn, name),
		      NULL);
	print_args(h, fmt(g, "int %s_sync(", m->fn), ");\n", "struct ttrpc_client *client",
		   fmt(g, "const %s *req", m->in_type), "const struct ttrpc_call_opts *opts",
		   fmt(g, "%s **resp", m->out_type), "struct ttrpc_status *status", NULL);
}

static void unary_define(struct gen *g, FILE *c, const struct service *svc, const struct method *m)
{
	const char *name = m->proto->name, *fn = m->fn;

	define_serve(g, c, svc, m);
	define_answer(g, c, m);
	fputs("\n", c);

	fprintf(c,
		"struct %s_closure {\n"
		"\t%s_cb cb;\n"
		"\tvoid *userdata;\n"
		"};\n\n",
		fn, fn);
	print_args(c, fmt(g, "static void %s_done(", fn), ")\n", "const struct ttrpc_result *r",
		   "void *arg", NULL);
	fprintf(c,
		"{\n"
		"\tstruct %s_closure *cl = arg;\n"
		"\n"
		"\tcl->cb(r, (const %s *)r->response, cl->userdata);\n"
		"\tfree(cl);\n"
		"}\n\n",
		fn, m->out_type);

	print_args(c, fmt(g, "int %s(", fn), ")\n", "struct ttrpc_client *client",
		   fmt(g, "const %s *req", m->in_type), "const struct ttrpc_call_opts *opts",
		   fmt(g, "%s_cb cb", fn), "void *userdata", "uint32_t *id", NULL);
	fprintf(c,
		"{\n"
		"\tstruct %s_closure *cl;\n"
		"\tint r;\n"
		"\n"
		"\tif (!cb)\n"
		"\t\treturn -EINVAL;\n"
		"\tcl = malloc(sizeof(*cl));\n"
		"\tif (!cl)\n"
		"\t\treturn -ENOMEM;\n"
		"\tcl->cb = cb;\n"
		"\tcl->userdata = userdata;\n",
		fn);
	print_args(c, "\tr = ttrpc_client_call(", ");\n", "client", fmt(g, "%s__NAME", svc->upper),
		   fmt(g, "\"%s\"", name), "(const ProtobufCMessage *)req",
		   fmt(g, "&%s", m->out_desc), "opts", fmt(g, "%s_done", fn), "cl", "id", NULL);
	fputs("\tif (r < 0)\n"
	      "\t\tfree(cl);\n"
	      "\treturn r;\n"
	      "}\n\n",
	      c);

	print_args(c, fmt(g, "int %s_sync(", fn), ")\n", "struct ttrpc_client *client",
		   fmt(g, "const %s *req", m->in_type), "const struct ttrpc_call_opts *opts",
		   fmt(g, "%s **resp", m->out_type), "struct ttrpc_status *status", NULL);
	fputs("{\n"
	      "\tProtobufCMessage *m = NULL;\n"
	      "\tint r;\n"
	      "\n",
	      c);
	print_args(c, "\tr = ttrpc_client_call_sync(", ");\n", "client",
		   fmt(g, "%s__NAME", svc->upper), fmt(g, "\"%s\"", name),
		   "(const ProtobufCMessage *)req", fmt(g, "&%s", m->out_desc), "opts", "&m",
		   "status", NULL);
	fprintf(c,
		"\t*resp = (%s *)m;\n"
		"\treturn r;\n"
		"}\n",
		m->out_type);
}

/* A method's entry in the method table: one macro per kind of method. */
static void table_entry(struct gen *g, FILE *c, const struct method *m)
{
	static const char *const macros[] = {
		[KIND_UNARY] = "\tTTRPC_UNARY(",
		[KIND_SERVER_STREAMING] = "\tTTRPC_SERVER_STREAM(",
		[KIND_CLIENT_STREAMING] = "\tTTRPC_CLIENT_STREAM(",
		[KIND_BIDI_STREAMING] = "\tTTRPC_BIDI_STREAM(",
	};

	print_args(c, macros[m->kind], "),\n", fmt(g, "\"%s\"", m->proto->name),
		   fmt(g, "&%s", m->in_desc), fmt(g, "&%s", m->out_desc), fmt(g, "%s_serve", m->fn),
		   NULL);
}

static const struct method_gen unary_gen = {
	.claim = unary_claim,
	.handler = unary_handler,
	.declare = unary_declare,
	.define = unary_define,
};

/*
 * Streaming methods. The server side: the handler, _send() for the server's
 * messages, _reply() for a client stream's answer, and _on_message() to take
 * the client's messages typed. The client side: typed handlers and _open()
 * over ttrpc_client_stream_open(), _open_sync() and _recv_sync() over the
 * blocking streams, and _client_send() / _client_send_sync() for the
 * client's messages: _send() already names the server's.
 */

/* Whether the server sends a stream of messages (else one reply). */
static bool server_streams(const struct method *m)
{
	return m->kind == KIND_SERVER_STREAMING || m->kind == KIND_BIDI_STREAMING;
}

/* Whether the client sends a stream of messages (else one request). */
static bool client_streams(const struct method *m)
{
	return m->kind == KIND_CLIENT_STREAMING || m->kind == KIND_BIDI_STREAMING;
}

static const char *kind_enum(const struct method *m)
{
	static const char *const names[] = {
		[KIND_SERVER_STREAMING] = "TTRPC_METHOD_SERVER_STREAM",
		[KIND_CLIENT_STREAMING] = "TTRPC_METHOD_CLIENT_STREAM",
		[KIND_BIDI_STREAMING] = "TTRPC_METHOD_BIDI_STREAM",
	};

	return names[m->kind];
}

static void stream_claim(struct gen *g, const struct method *m)
{
	static const char *const common[] = { "",
					      "_serve",
					      "_stream_handlers",
					      "_stream_closure",
					      "_stream_message",
					      "_stream_done",
					      "_stream_writable",
					      "_open",
					      "_open_sync",
					      "_recv_sync" };
	static const char *const sending[] = { "_message_fn", "_message", "_on_message",
					       "_client_send", "_client_send_sync" };

	claim(g, fmt(g, "%s%s", m->fn, replies(m) ? "_reply" : "_send"));
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		claim(g, fmt(g, "%s%s", m->fn, common[i]));
	for (size_t i = 0; client_streams(m) && i < sizeof(sending) / sizeof(sending[0]); i++)
		claim(g, fmt(g, "%s%s", m->fn, sending[i]));
}

static void stream_handler(struct gen *g, FILE *h, const struct method *m)
{
	const char *name = m->proto->name, *text;

	if (m->kind == KIND_SERVER_STREAMING)
		text = fmt(g,
			   "%s (server streaming): send with %s_send(), finish with "
			   "ttrpc_call_end() or ttrpc_call_fail().",
			   name, m->fn);
	else if (m->kind == KIND_CLIENT_STREAMING)
		text = fmt(g,
			   "%s (client streaming): take the client's messages with "
			   "%s_on_message() before returning; finish with %s_reply() or "
			   "ttrpc_call_fail().",
			   name, m->fn, m->fn);
	else
		text = fmt(g,
			   "%s (bidirectional streaming): take the client's messages with "
			   "%s_on_message() before returning; send with %s_send(); finish with "
			   "ttrpc_call_end() or ttrpc_call_fail().",
			   name, m->fn, m->fn);
	print_comment(h, "\t", text, m->comment);
	if (takes_request(m))
		print_args(h, fmt(g, "\tvoid (*%s)(", m->lower), ");\n", "struct ttrpc_call *call",
			   fmt(g, "const %s *req", m->in_type), "void *userdata", NULL);
	else
		fprintf(h, "\tvoid (*%s)(struct ttrpc_call *call, void *userdata);\n", m->lower);
}

/* The server's typed receiver of the client's messages. */
static void declare_on_message(struct gen *g, FILE *h, const struct method *m)
{
	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "One message of a %s call from the client, borrowed for the "
			  "duration of the callback.",
			  m->proto->name),
		      NULL);
	print_args(h, fmt(g, "typedef void (*%s_message_fn)(", m->fn), ");\n",
		   "struct ttrpc_call *call", fmt(g, "const %s *msg", m->in_type), "void *userdata",
		   NULL);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "%s_on_message() - take the client's messages of a %s call: "
			  "ttrpc_call_on_message() with typed messages. Call it from the "
			  "handler, before it returns.\n"
			  "@on_message: each message, in order.\n"
			  "@on_end: once, when the client has closed its side.",
			  m->fn, m->proto->name),
		      NULL);
	print_args(h, fmt(g, "void %s_on_message(", m->fn), ");\n", "struct ttrpc_call *call",
		   fmt(g, "%s_message_fn on_message", m->fn), "ttrpc_end_fn on_end",
		   "void *userdata", NULL);
}

/*
 * The library hands each message over as the ProtobufCMessage at the start
 * of a message of the method's input type. A trampoline of the library's
 * type turns it into the typed message: calling the typed callback through
 * ttrpc_message_fn instead would be undefined (C11 6.5.2.2p9) and is caught
 * by control-flow integrity checks (make check-cfi). The library keeps the
 * typed callback and hands it back, so no closure outlives the call.
 */
static void define_on_message(struct gen *g, FILE *c, const struct method *m)
{
	const char *decl, *cast;

	fputs("\n", c);
	print_args(c, fmt(g, "static void %s_message(", m->fn), ")\n", "struct ttrpc_call *call",
		   "const ProtobufCMessage *msg", "ttrpc_any_fn typed", "void *userdata", NULL);
	decl = fmt(g, "\t%s_message_fn on_message =", m->fn);
	cast = fmt(g, "(%s_message_fn)typed;", m->fn);
	fprintf(c,
		"{\n"
		"\t/* @typed is the on_message below, converted back to its own type. */\n"
		"%s%s%s\n"
		"\n",
		decl, columns_after(decl, 0) + 1 + strlen(cast) > MAX_COLUMNS ? "\n\t\t" : " ",
		cast);
	print_args(c, "\ton_message(", ");\n}\n", "call", fmt(g, "(const %s *)msg", m->in_type),
		   "userdata", NULL);

	fputs("\n", c);
	print_args(c, fmt(g, "void %s_on_message(", m->fn), ")\n", "struct ttrpc_call *call",
		   fmt(g, "%s_message_fn on_message", m->fn), "ttrpc_end_fn on_end",
		   "void *userdata", NULL);
	fputs("{\n", c);
	print_args(c, "\tttrpc_call_on_message_typed(", ");\n}\n", "call",
		   fmt(g, "%s_message", m->fn), "(ttrpc_any_fn)on_message", "on_end", "userdata",
		   NULL);
}

/* The typed handlers of a client's stream: only the members its kind uses. */
static void declare_stream_handlers(struct gen *g, FILE *h, const struct method *m)
{
	const char *text;

	text = fmt(g,
		   "The handlers of a %s stream opened with %s_open(), called from the client's "
		   "loop with its @userdata.",
		   m->proto->name, m->fn);
	if (server_streams(m))
		text = fmt(g,
			   "%s\n@on_message: one message from the server, borrowed for the "
			   "duration of the callback. Required.",
			   text);
	if (m->kind == KIND_CLIENT_STREAMING)
		text = fmt(
			g,
			"%s\n@on_done: the end, exactly once, as for ttrpc_client_stream_open(); "
			"@reply is the server's reply when @r->error is 0 and @r->code TTRPC_OK, "
			"else NULL, borrowed for the duration of the callback. The stream is freed "
			"when it returns. Required.",
			text);
	else
		text = fmt(
			g,
			"%s\n@on_done: the end, exactly once: @r->code is TTRPC_OK when the "
			"server ended the stream, its status otherwise. The stream is freed when "
			"it returns. Required.",
			text);
	if (client_streams(m))
		text = fmt(g,
			   "%s\n@on_writable: room again after %s_client_send() returned -EAGAIN. "
			   "May be NULL.",
			   text, m->fn);
	fputs("\n", h);
	print_comment(h, "", text, NULL);
	fprintf(h, "struct %s_stream_handlers {\n", m->fn);
	if (server_streams(m))
		print_args(h, "\tvoid (*on_message)(", ");\n", "struct ttrpc_client_stream *s",
			   fmt(g, "const %s *msg", m->out_type), "void *userdata", NULL);
	if (m->kind == KIND_CLIENT_STREAMING)
		print_args(h, "\tvoid (*on_done)(", ");\n", "struct ttrpc_client_stream *s",
			   "const struct ttrpc_result *r", fmt(g, "const %s *reply", m->out_type),
			   "void *userdata", NULL);
	else
		print_args(h, "\tvoid (*on_done)(", ");\n", "struct ttrpc_client_stream *s",
			   "const struct ttrpc_result *r", "void *userdata", NULL);
	if (client_streams(m))
		fputs("\tvoid (*on_writable)(struct ttrpc_client_stream *s, void *userdata);\n", h);
	fputs("};\n", h);
}

/* The client's functions of a stream, in declaration or definition order. */
enum stream_fn { OPEN, CLIENT_SEND, OPEN_SYNC, CLIENT_SEND_SYNC, RECV_SYNC };

/* Print the head of one of them, ended by @tail. */
static void print_stream_fn(struct gen *g, FILE *out, const struct method *m, enum stream_fn which,
			    const char *tail)
{
	const char *req = fmt(g, "const %s *req", m->in_type);

	switch (which) {
	case OPEN:
		if (takes_request(m))
			print_args(out, fmt(g, "int %s_open(", m->fn), tail,
				   "struct ttrpc_client *client", req,
				   "const struct ttrpc_call_opts *opts",
				   fmt(g, "const struct %s_stream_handlers *h", m->fn),
				   "void *userdata", "struct ttrpc_client_stream **ret", NULL);
		else
			print_args(out, fmt(g, "int %s_open(", m->fn), tail,
				   "struct ttrpc_client *client",
				   "const struct ttrpc_call_opts *opts",
				   fmt(g, "const struct %s_stream_handlers *h", m->fn),
				   "void *userdata", "struct ttrpc_client_stream **ret", NULL);
		break;
	case OPEN_SYNC:
		if (takes_request(m))
			print_args(out, fmt(g, "int %s_open_sync(", m->fn), tail,
				   "struct ttrpc_client *client", req,
				   "const struct ttrpc_call_opts *opts",
				   "struct ttrpc_client_stream **ret", NULL);
		else
			print_args(out, fmt(g, "int %s_open_sync(", m->fn), tail,
				   "struct ttrpc_client *client",
				   "const struct ttrpc_call_opts *opts",
				   "struct ttrpc_client_stream **ret", NULL);
		break;
	case CLIENT_SEND:
	case CLIENT_SEND_SYNC:
		print_args(out,
			   fmt(g, "int %s_client_send%s(", m->fn,
			       which == CLIENT_SEND_SYNC ? "_sync" : ""),
			   tail, "struct ttrpc_client_stream *s",
			   fmt(g, "const %s *msg", m->in_type), NULL);
		break;
	case RECV_SYNC:
		print_args(out, fmt(g, "int %s_recv_sync(", m->fn), tail,
			   "struct ttrpc_client_stream *s", fmt(g, "%s **msg", m->out_type),
			   "struct ttrpc_status *status", NULL);
		break;
	}
}

static void declare_client_stream(struct gen *g, FILE *h, const struct method *m)
{
	const char *name = m->proto->name, *fn = m->fn, *text;

	declare_stream_handlers(g, h, m);

	text = fmt(g,
		   "%s_open() - open a %s stream without waiting: ttrpc_client_stream_open() "
		   "with typed messages.",
		   fn, name);
	if (takes_request(m))
		text = fmt(g, "%s\n@req: borrowed; serialized before this returns.", text);
	text = fmt(g,
		   "%s\n@opts: NULL for defaults.\n"
		   "@h: copied; its handlers are called with @userdata, unless this returns an "
		   "error.\n"
		   "@ret: if not NULL, receives the stream, valid until @h->on_done returns",
		   text);
	if (client_streams(m))
		text = fmt(g,
			   "%s: send with %s_client_send(), close with "
			   "ttrpc_client_stream_close_send(), give up with "
			   "ttrpc_client_stream_cancel().",
			   text, fn);
	else
		text = fmt(g, "%s, for ttrpc_client_stream_cancel().", text);
	text = fmt(g,
		   "%s\n\nReturn: as ttrpc_client_stream_open(); -EINVAL when @h or a required "
		   "handler is NULL.",
		   text);
	fputs("\n", h);
	print_comment(h, "", text, NULL);
	print_stream_fn(g, h, m, OPEN, ");\n");

	if (client_streams(m)) {
		fputs("\n", h);
		print_comment(
			h, "",
			fmt(g,
			    "%s_client_send() - send one message of a %s stream to "
			    "the server%s.\n"
			    "@msg: borrowed; serialized before this returns.\n"
			    "\n"
			    "Return: as ttrpc_client_stream_send(): -EAGAIN when the "
			    "output queue is full, and on_writable follows.",
			    fn, name,
			    server_streams(m) ? fmt(g, " (%s_send() is the server's)", fn) : ""),
			NULL);
		print_stream_fn(g, h, m, CLIENT_SEND, ");\n");
	}

	text = fmt(g,
		   "%s_open_sync() - open a %s stream on a blocking client (see "
		   "ttrpc_client_open()): ttrpc_client_stream_open_sync() with typed messages.",
		   fn, name);
	if (takes_request(m))
		text = fmt(g, "%s\n@req: borrowed; serialized before this returns.", text);
	text = fmt(g,
		   "%s\n@opts: NULL for defaults.\n"
		   "@ret: receives the stream: %sread it with %s_recv_sync(), free it with "
		   "ttrpc_client_stream_free_sync().\n"
		   "\n"
		   "Return: as ttrpc_client_stream_open_sync().",
		   text,
		   client_streams(m) ? fmt(g,
					   "send with %s_client_send_sync(), close with "
					   "ttrpc_client_stream_close_send(), ",
					   fn)
				     : "",
		   fn);
	fputs("\n", h);
	print_comment(h, "", text, NULL);
	print_stream_fn(g, h, m, OPEN_SYNC, ");\n");

	if (client_streams(m)) {
		fputs("\n", h);
		print_comment(h, "",
			      fmt(g,
				  "%s_client_send_sync() - send one message of a %s stream "
				  "opened with %s_open_sync(), waiting for room.\n"
				  "@msg: borrowed; serialized before this returns.\n"
				  "\n"
				  "Return: as ttrpc_client_stream_send_sync().",
				  fn, name, fn),
			      NULL);
		print_stream_fn(g, h, m, CLIENT_SEND_SYNC, ");\n");
	}

	if (m->kind == KIND_CLIENT_STREAMING)
		text = fmt(g,
			   "%s_recv_sync() - wait for the end of a %s stream opened with "
			   "%s_open_sync(), after ttrpc_client_stream_close_send().\n"
			   "@msg: receives the server's reply when the stream ended with OK, which "
			   "the caller frees with protobuf_c_message_free_unpacked(); NULL "
			   "otherwise.\n",
			   fn, name, fn);
	else
		text = fmt(g,
			   "%s_recv_sync() - wait for the next message of a %s stream opened with "
			   "%s_open_sync(), or its end.\n"
			   "@msg: receives the message, which the caller frees with "
			   "protobuf_c_message_free_unpacked(); NULL at the end.\n",
			   fn, name, fn);
	text = fmt(g,
		   "%s@status: if not NULL, receives the status when the stream ended with a "
		   "status other than OK; free it with ttrpc_status_clear().\n"
		   "\n"
		   "Return: as ttrpc_client_stream_recv_sync(): %s-EREMOTEIO with @status; a "
		   "negative errno for a transport failure.",
		   text,
		   m->kind == KIND_CLIENT_STREAMING ? "0 at the end, with the reply; "
						    : "1 with a message; 0 at the end; ");
	fputs("\n", h);
	print_comment(h, "", text, NULL);
	print_stream_fn(g, h, m, RECV_SYNC, ");\n");
}

static void define_client_stream(struct gen *g, FILE *c, const struct service *svc,
				 const struct method *m)
{
	const char *fn = m->fn, *svc_name = fmt(g, "%s__NAME", svc->upper);
	const char *method = fmt(g, "\"%s\"", m->proto->name), *desc = fmt(g, "&%s", m->out_desc);
	const char *req = takes_request(m) ? "(const ProtobufCMessage *)req" : "NULL";

	fprintf(c,
		"\nstruct %s_stream_closure {\n"
		"\tstruct %s_stream_handlers h;\n"
		"\tvoid *userdata;\n"
		"};\n",
		fn, fn);

	if (server_streams(m)) {
		fputs("\n", c);
		print_args(c, fmt(g, "static void %s_stream_message(", fn), ")\n",
			   "struct ttrpc_client_stream *s", "const ProtobufCMessage *msg",
			   "void *arg", NULL);
		fprintf(c,
			"{\n"
			"\tstruct %s_stream_closure *cl = arg;\n"
			"\n"
			"\tcl->h.on_message(s, (const %s *)msg, cl->userdata);\n"
			"}\n",
			fn, m->out_type);
	}

	fputs("\n", c);
	print_args(c, fmt(g, "static void %s_stream_done(", fn), ")\n",
		   "struct ttrpc_client_stream *s", "const struct ttrpc_result *r", "void *arg",
		   NULL);
	fprintf(c,
		"{\n"
		"\tstruct %s_stream_closure *cl = arg;\n"
		"\n",
		fn);
	if (m->kind == KIND_CLIENT_STREAMING)
		fprintf(c, "\tcl->h.on_done(s, r, (const %s *)r->response, cl->userdata);\n",
			m->out_type);
	else
		fputs("\tcl->h.on_done(s, r, cl->userdata);\n", c);
	fputs("\tfree(cl);\n"
	      "}\n",
	      c);

	if (client_streams(m)) {
		fputs("\n", c);
		print_args(c, fmt(g, "static void %s_stream_writable(", fn), ")\n",
			   "struct ttrpc_client_stream *s", "void *arg", NULL);
		fprintf(c,
			"{\n"
			"\tstruct %s_stream_closure *cl = arg;\n"
			"\n"
			"\tcl->h.on_writable(s, cl->userdata);\n"
			"}\n",
			fn);
	}

	fputs("\n", c);
	print_stream_fn(g, c, m, OPEN, ")\n");
	fputs("{\n", c);
	fputs("\tstruct ttrpc_stream_handlers u = {\n", c);
	if (server_streams(m))
		fprintf(c, "\t\t.on_message = %s_stream_message,\n", fn);
	fprintf(c,
		"\t\t.on_done = %s_stream_done,\n"
		"\t};\n",
		fn);
	fprintf(c,
		"\tstruct %s_stream_closure *cl;\n"
		"\tstruct ttrpc_client_stream *s;\n"
		"\tint r;\n"
		"\n",
		fn);
	fprintf(c,
		"\tif (!h || !h->on_done%s)\n"
		"\t\treturn -EINVAL;\n"
		"\tcl = malloc(sizeof(*cl));\n"
		"\tif (!cl)\n"
		"\t\treturn -ENOMEM;\n"
		"\tcl->h = *h;\n"
		"\tcl->userdata = userdata;\n",
		server_streams(m) ? " || !h->on_message" : "");
	if (client_streams(m))
		fprintf(c,
			"\tif (h->on_writable)\n"
			"\t\tu.on_writable = %s_stream_writable;\n",
			fn);
	print_args(c, "\tr = ttrpc_client_stream_open(", ");\n", "client", svc_name, method,
		   kind_enum(m), req, desc, "opts", "&u", "cl", "&s", NULL);
	fputs("\tif (r < 0) {\n"
	      "\t\tfree(cl);\n"
	      "\t\treturn r;\n"
	      "\t}\n"
	      "\tif (ret)\n"
	      "\t\t*ret = s;\n"
	      "\treturn 0;\n"
	      "}\n",
	      c);

	if (client_streams(m)) {
		fputs("\n", c);
		print_stream_fn(g, c, m, CLIENT_SEND, ")\n");
		fputs("{\n"
		      "\treturn ttrpc_client_stream_send(s, (const ProtobufCMessage *)msg);\n"
		      "}\n",
		      c);
	}

	fputs("\n", c);
	print_stream_fn(g, c, m, OPEN_SYNC, ")\n");
	fputs("{\n", c);
	print_args(c, "\treturn ttrpc_client_stream_open_sync(", ");\n", "client", svc_name, method,
		   kind_enum(m), req, desc, "opts", "ret", NULL);
	fputs("}\n", c);

	if (client_streams(m)) {
		fputs("\n", c);
		print_stream_fn(g, c, m, CLIENT_SEND_SYNC, ")\n");
		fputs("{\n"
		      "\treturn ttrpc_client_stream_send_sync(s, (const ProtobufCMessage *)msg);\n"
		      "}\n",
		      c);
	}

	fputs("\n", c);
	print_stream_fn(g, c, m, RECV_SYNC, ")\n");
	fprintf(c,
		"{\n"
		"\tProtobufCMessage *m = NULL;\n"
		"\tint r;\n"
		"\n"
		"\tr = ttrpc_client_stream_recv_sync(s, &m, status);\n"
		"\t*msg = (%s *)m;\n"
		"\treturn r;\n"
		"}\n",
		m->out_type);
}

static void stream_declare(struct gen *g, FILE *h, const struct service *svc,
			   const struct method *m)
{
	declare_answer(g, h, m);
	if (client_streams(m))
		declare_on_message(g, h, m);
	declare_client_stream(g, h, m);
}

static void stream_define(struct gen *g, FILE *c, const struct service *svc, const struct method *m)
{
	define_serve(g, c, svc, m);
	define_answer(g, c, m);
	if (client_streams(m))
		define_on_message(g, c, m);
	define_client_stream(g, c, svc, m);
}

static const struct method_gen stream_gen = {
	.claim = stream_claim,
	.handler = stream_handler,
	.declare = stream_declare,
	.define = stream_define,
};

static const struct method_gen *const method_gens[] = {
	[KIND_UNARY] = &unary_gen,
	[KIND_SERVER_STREAMING] = &stream_gen,
	[KIND_CLIENT_STREAMING] = &stream_gen,
	[KIND_BIDI_STREAMING] = &stream_gen,
};

static const struct method_gen *gen_of(const struct method *m)
{
	return method_gens[m->kind];
}

/* ---- per service ---- */

static void service_header(struct gen *g, FILE *h, const struct service *svc)
{
	const char *streams = NULL;

	fprintf(h, "\n/* ---- %s ---- */\n", svc->full);
	if (svc->comment) {
		fputs("\n", h);
		print_comment(h, "", NULL, svc->comment);
	}
	fprintf(h, "\n#define %s__NAME \"%s\"\n", svc->upper, svc->full);

	for (size_t i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		if (m->kind == KIND_UNARY)
			continue;
		streams = fmt(g, "%s%s%s (%s)", streams ? streams : "", streams ? ", " : "",
			      m->proto->name, kind_names[m->kind]);
	}
	if (streams) {
		fputs("\n", h);
		print_comment(h, "",
			      fmt(g,
				  "Streaming methods: %s. Their functions, M_ standing for "
				  "%s_<method>_: the server sends with M_send() and takes the "
				  "client's messages with M_on_message(); the client opens a "
				  "stream with M_open() and typed handlers, or with "
				  "M_open_sync() and reads it with M_recv_sync(), and sends "
				  "with M_client_send() or M_client_send_sync(), named so "
				  "because M_send() is the server's. Closing, cancelling and "
				  "freeing a stream need no types: "
				  "ttrpc_client_stream_close_send(), "
				  "ttrpc_client_stream_cancel(), "
				  "ttrpc_client_stream_free_sync().",
				  streams, svc->lower),
			      NULL);
	}

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "The handlers of %s: one per method, NULL for a method "
			  "that answers UNIMPLEMENTED, and the pointer passed to each of "
			  "them. A handler gets the decoded request, borrowed from the "
			  "call until the call is finished, and must finish the call "
			  "exactly once, before it returns or later from the server's "
			  "loop.",
			  svc->full),
		      NULL);
	fprintf(h, "struct %s_handlers {\n", svc->lower);
	for (size_t i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		gen_of(m)->handler(g, h, m);
	}
	fputs("\t/* Passed to every handler. */\n"
	      "\tvoid *userdata;\n"
	      "};\n",
	      h);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "%s_register() - serve %s on @srv.\n"
			  "@h: the handlers, borrowed: it must stay valid and unchanged "
			  "until the server is freed or the service unregistered, so a "
			  "static const struct or a member of the state the handlers "
			  "serve.\n"
			  "\n"
			  "Return: 0; -EINVAL when @h is NULL; else as "
			  "ttrpc_server_register().",
			  svc->lower, svc->full),
		      NULL);
	print_args(h, fmt(g, "int %s_register(", svc->lower), ");\n", "struct ttrpc_server *srv",
		   fmt(g, "const struct %s_handlers *h", svc->lower), NULL);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "%s_service() - %s bound to @h, for a host that registers "
			  "services itself: a ttrpcd module passes it to "
			  "ttrpcd_host_register_service().\n"
			  "@h: borrowed as by %s_register().",
			  svc->lower, svc->full, svc->lower),
		      NULL);
	print_args(h, fmt(g, "struct ttrpc_service %s_service(", svc->lower), ");\n",
		   fmt(g, "const struct %s_handlers *h", svc->lower), NULL);

	fputs("\n", h);
	print_comment(h, "",
		      fmt(g,
			  "The method table of %s, whose trampolines take a const struct "
			  "%s_handlers * as the service's userdata: %s_service() and "
			  "%s_register() bind them.",
			  svc->full, svc->lower, svc->lower, svc->lower),
		      NULL);
	fprintf(h, "extern const struct ttrpc_method %s_methods[];\n", svc->lower);

	for (size_t i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		gen_of(m)->declare(g, h, svc, m);
	}
}

static void service_source(struct gen *g, FILE *c, const struct service *svc)
{
	fprintf(c, "\n/* ---- %s ---- */\n", svc->full);
	for (size_t i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		gen_of(m)->define(g, c, svc, m);
	}

	fprintf(c, "\nconst struct ttrpc_method %s_methods[] = {\n", svc->lower);
	for (size_t i = 0; i < svc->n_methods; i++) {
		const struct method *m = &svc->methods[i];

		table_entry(g, c, m);
	}
	fputs("\tTTRPC_METHODS_END,\n};\n\n", c);

	print_args(c, fmt(g, "struct ttrpc_service %s_service(", svc->lower), ")\n",
		   fmt(g, "const struct %s_handlers *h", svc->lower), NULL);
	fprintf(c,
		"{\n"
		"\t/* The trampolines get @h back as their userdata, and only read it. */\n"
		"\tstruct ttrpc_service svc = {\n"
		"\t\t.name = %s__NAME,\n"
		"\t\t.methods = %s_methods,\n"
		"\t\t.userdata = (void *)h,\n"
		"\t\t.descriptor_set = %s,\n"
		"\t\t.descriptor_set_size = sizeof(%s),\n"
		"\t};\n"
		"\n"
		"\treturn svc;\n"
		"}\n\n",
		svc->upper, svc->lower, svc->descriptors, svc->descriptors);

	print_args(c, fmt(g, "int %s_register(", svc->lower), ")\n", "struct ttrpc_server *srv",
		   fmt(g, "const struct %s_handlers *h", svc->lower), NULL);
	fprintf(c,
		"{\n"
		"\tstruct ttrpc_service svc = %s_service(h);\n"
		"\n"
		"\tif (!h)\n"
		"\t\treturn -EINVAL;\n"
		"\treturn ttrpc_server_register(srv, svc.name, svc.methods, svc.userdata);\n"
		"}\n",
		svc->lower);
}

/* ---- per file ---- */

/* protoc-c's FilenameIdentifier(): the file name as an identifier. */
static const char *file_ident(struct gen *g, const char *name)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&buf, &size);

	if (!out)
		die_oom();
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (isalnum(*p))
			fputc(*p, out);
		else
			fprintf(out, "_%x", *p);
	}
	if (fclose(out))
		die_oom();
	return keep(g, buf);
}

/* ---- the descriptors ---- */

static const FileProto *find_file(const struct gen *g, const char *name);

/* Append @f to @set after the files it imports, directly or not; each file once. */
static void add_with_imports(struct gen *g, FileSet *set, const FileProto *f)
{
	for (size_t i = 0; i < set->n_file; i++)
		if (strcmp(set->file[i]->name, f->name) == 0)
			return;
	for (size_t i = 0; i < f->n_dependency && !g->error; i++) {
		const FileProto *d = find_file(g, f->dependency[i]);

		if (!d)
			fail(g, "%s imports %s, which is not among the request's files", f->name,
			     f->dependency[i]);
		else
			add_with_imports(g, set, d);
	}
	/* A copy without the source info, as protoc -o writes a file; what
	 * plugin.proto leaves out stays in its unknown fields. */
	set->file = xrealloc(set->file, (set->n_file + 1) * sizeof(*set->file));
	set->file[set->n_file] = keep(g, xrealloc(NULL, sizeof(**set->file)));
	*set->file[set->n_file] = *f;
	set->file[set->n_file++]->source_code_info = NULL;
}

/*
 * A static array @name: the google.protobuf.FileDescriptorSet of @f and of
 * every file it imports, dependencies first, as protoc sent them, for tools
 * that build and read the messages of its services without the .proto
 * (ttrpcd serves it to ttrpcctl).
 */
static void define_descriptor_set(struct gen *g, FILE *c, const FileProto *f, const char *name)
{
	FileSet set = TTRPC_DESC__FILE_DESCRIPTOR_SET__INIT;
	uint8_t *buf;
	size_t len;

	add_with_imports(g, &set, f);
	len = ttrpc_desc__file_descriptor_set__get_packed_size(&set);
	buf = keep(g, xrealloc(NULL, len ? len : 1));
	ttrpc_desc__file_descriptor_set__pack(&set, buf);
	free(set.file);
	fprintf(c,
		"\n/* google.protobuf.FileDescriptorSet of %s and its imports, for tools that\n"
		" * describe its services (what protoc -o --include_imports writes). */\n"
		"static const uint8_t %s[] = {",
		f->name, name);
	for (size_t i = 0; i < len; i++)
		fprintf(c, "%s0x%02x,", i % 12 ? " " : "\n\t", buf[i]);
	fputs("\n};\n", c);
}

static FILE *open_output(char **buf, size_t *size)
{
	FILE *out = open_memstream(buf, size);

	if (!out)
		die_oom();
	return out;
}

/* Close @out; fclose() gives *@buf its final address. */
static char *close_output(struct gen *g, FILE *out, char **buf)
{
	if (fclose(out))
		die_oom();
	return keep(g, *buf);
}

/* Generate the two files of @f into @files (room for two). */
static void generate_file(struct gen *g, const FileProto *f,
			  TtrpcGen__CodeGeneratorResponse__File **files)
{
	size_t len = strlen(f->name), n = f->n_service, hsize, csize;
	const char *stem, *guard = fmt(g, "TTRPC_C_%s__INCLUDED", file_ident(g, f->name));
	const char *descriptors = fmt(g, "%s__descriptor_set", file_ident(g, f->name));
	struct service *svcs = keep(g, calloc(n ? n : 1, sizeof(*svcs)));
	char *hbuf, *cbuf;
	FILE *h, *c;

	if (len > 6 && strcmp(f->name + len - 6, ".proto") == 0)
		len -= 6;
	stem = fmt(g, "%.*s", (int)len, f->name);
	for (size_t i = 0; i < n && !g->error; i++) {
		service_init(g, &svcs[i], f, i);
		svcs[i].descriptors = descriptors;
		for (size_t j = 0; j < svcs[i].n_methods && !g->error; j++)
			gen_of(&svcs[i].methods[j])->claim(g, &svcs[i].methods[j]);
	}
	if (g->error)
		return;

	h = open_output(&hbuf, &hsize);
	fprintf(h,
		"/* Generated by protoc-gen-ttrpc-c from %s: do not edit. */\n"
		"#ifndef %s\n"
		"#define %s\n"
		"\n"
		"#include <stdint.h>\n"
		"#include <ttrpc/ttrpc.h>\n"
		"\n"
		"#include \"%s.pb-c.h\"\n"
		"\n"
		"#ifdef __cplusplus\n"
		"extern \"C\" {\n"
		"#endif\n",
		f->name, guard, guard, stem);
	for (size_t i = 0; i < n; i++)
		service_header(g, h, &svcs[i]);
	fputs("\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n", h);
	files[0]->content = close_output(g, h, &hbuf);

	c = open_output(&cbuf, &csize);
	fprintf(c,
		"/* Generated by protoc-gen-ttrpc-c from %s: do not edit. */\n"
		"#include <errno.h>\n"
		"#include <stdlib.h>\n"
		"\n"
		"#include \"%s.ttrpc-c.h\"\n",
		f->name, stem);
	if (n > 0)
		define_descriptor_set(g, c, f, descriptors);
	for (size_t i = 0; i < n; i++)
		service_source(g, c, &svcs[i]);
	files[1]->content = close_output(g, c, &cbuf);

	files[0]->name = fmt(g, "%s.ttrpc-c.h", stem);
	files[1]->name = fmt(g, "%s.ttrpc-c.c", stem);
}

/* ---- main ---- */

static uint8_t *read_all(FILE *in, size_t *len)
{
	size_t size = 65536, n = 0, r;
	uint8_t *buf = xrealloc(NULL, size);

	while ((r = fread(buf + n, 1, size - n, in)) > 0) {
		n += r;
		if (n == size)
			buf = xrealloc(buf, size *= 2);
	}
	if (ferror(in)) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static const FileProto *find_file(const struct gen *g, const char *name)
{
	for (size_t i = 0; i < g->req->n_proto_file; i++)
		if (strcmp(g->req->proto_file[i]->name, name) == 0)
			return g->req->proto_file[i];
	return NULL;
}

int main(int argc, char **argv)
{
	TtrpcGen__CodeGeneratorResponse resp = TTRPC_GEN__CODE_GENERATOR_RESPONSE__INIT;
	TtrpcGen__CodeGeneratorRequest *req;
	struct gen g = { 0 };
	uint8_t *in, *out;
	size_t len, n;
	int status = 0;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("protoc-gen-ttrpc-c %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1) {
		bool help = argc == 2 && strcmp(argv[1], "--help") == 0;

		fprintf(help ? stdout : stderr,
			"usage: protoc --plugin=protoc-gen-ttrpc-c=%s --ttrpc-c_out=DIR "
			"FILE.proto...\n       %s --version\nSee protoc-gen-ttrpc-c(1).\n",
			argv[0], argv[0]);
		return help ? 0 : 2;
	}
	in = read_all(stdin, &len);
	req = in ? ttrpc_gen__code_generator_request__unpack(NULL, len, in) : NULL;
	free(in);
	if (!req) {
		fputs("protoc-gen-ttrpc-c: no valid CodeGeneratorRequest on stdin\n", stderr);
		return 1;
	}
	g.req = req;
	if (req->parameter && *req->parameter)
		fail(&g, "protoc-gen-ttrpc-c takes no parameter (got \"%s\")", req->parameter);

	n = req->n_file_to_generate;
	resp.file = keep(&g, calloc(2 * n + 1, sizeof(*resp.file)));
	for (size_t i = 0; i < 2 * n; i++) {
		resp.file[i] = keep(&g, xrealloc(NULL, sizeof(*resp.file[i])));
		ttrpc_gen__code_generator_response__file__init(resp.file[i]);
	}
	for (size_t i = 0; i < n && !g.error; i++) {
		const FileProto *f = find_file(&g, req->file_to_generate[i]);

		if (!f)
			fail(&g, "%s is not among the request's files", req->file_to_generate[i]);
		else
			generate_file(&g, f, &resp.file[2 * i]);
		free(g.names);
		g.names = NULL;
		g.n_names = 0;
	}
	resp.has_supported_features = true;
	resp.supported_features =
		TTRPC_GEN__CODE_GENERATOR_RESPONSE__FEATURE__FEATURE_PROTO3_OPTIONAL;
	if (g.error) {
		resp.error = g.error;
		resp.n_file = 0;
	} else {
		resp.n_file = 2 * n;
	}

	len = ttrpc_gen__code_generator_response__get_packed_size(&resp);
	out = xrealloc(NULL, len ? len : 1);
	ttrpc_gen__code_generator_response__pack(&resp, out);
	if (fwrite(out, 1, len, stdout) != len || fflush(stdout) != 0) {
		perror("protoc-gen-ttrpc-c: writing the response");
		status = 1;
	}
	free(out);
	free(g.error);
	for (size_t i = 0; i < g.n_allocs; i++)
		free(g.allocs[i]);
	free(g.allocs);
	ttrpc_gen__code_generator_request__free_unpacked(req, NULL);
	return status;
}
