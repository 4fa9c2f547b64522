/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bundled services through a real ttrpcd: the health module (Check and
 * Watch), the control service (List, Stats, Reload, and who may call it),
 * the example module built in the tree and out of it, and the module ABI
 * 1.1 additions (services lists, serving statuses, ABI 1.0 modules).
 *
 * Run as "test-services --probe SOCKET", the program is the client that
 * the permission test starts under another uid: it calls Control/List,
 * Interop/Echo and Health/Check and prints their status codes on stderr.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "control.ttrpc-c.h"
#include "check-parts.h"
#include "daemon-harness.h"
#include "daemon-peer.h"
#include "example.ttrpc-c.h"
#include "health.ttrpc-c.h"
#include "interop.ttrpc-c.h"
#include "stream.ttrpc-c.h"

#define GREETER "ttrpc.test.v1.Greeter"
#define HEALTH "grpc.health.v1.Health"
#define CONTROL "ttrpcd.v1.Control"

#define SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
#define NOT_SERVING GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING
#define SERVICE_UNKNOWN GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN

/* The modules of a test, in load order, as "[module NAME]" sections. */
static const char *module_sections(const char *testmod_settings)
{
	char *s;

	ck_assert_int_ge(asprintf(&s,
				  "[module health]\nfile = %s\n"
				  "[module interop]\nfile = %s\n"
				  "[module example]\nfile = %s\ngreeting = Hi\n"
				  "[module testmod]\nfile = %s\n%s",
				  build_path("services/health/.libs/health.so"),
				  build_path("tests/interop/.libs/interop.so"),
				  build_path("services/example/.libs/example.so"),
				  build_path("tests/modules/.libs/testmod.so"),
				  testmod_settings ? testmod_settings : ""),
			 0);
	return keep(s);
}

/* Write the config: one listener "api" at sock, @extra daemon sections, then the modules. */
static const char *services_config(const char *extra, const char *testmod_settings)
{
	const char *conf = path_in("ttrpcd.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\ndrain-timeout = 1min\n"
		   "[listener api]\npath = %s\nmode = 0666\n%s%s",
		   tmp, path_in("sock"), extra ? extra : "", module_sections(testmod_settings));
	return conf;
}

static struct ttrpc_client *client(void)
{
	struct ttrpc_client *c;

	ck_assert_int_eq(ttrpc_client_open(path_in("sock"), &c), 0);
	return c;
}

/* ---- health ---- */

/* Check @service; the status, or -(the error code) when the call failed. */
static int check(struct ttrpc_client *c, const char *service)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = (char *)service;
	r = grpc__health__v1__health_check_sync(c, &req, NULL, &resp, &st);
	if (r == -EREMOTEIO) {
		r = -st.code;
		ttrpc_status_clear(&st);
		return r;
	}
	ck_assert_int_eq(r, 0);
	r = resp->status;
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	return r;
}

static struct ttrpc_client_stream *watch(struct ttrpc_client *c, const char *service)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	struct ttrpc_client_stream *s;

	req.service = (char *)service;
	ck_assert_int_eq(grpc__health__v1__health_watch_open_sync(c, &req, NULL, &s), 0);
	return s;
}

/* The next status of a Watch; -(the code) when the stream ended with a status, -100 at OK. */
static int watch_next(struct ttrpc_client_stream *s)
{
	Grpc__Health__V1__HealthCheckResponse *msg = NULL;
	struct ttrpc_status st = { 0 };
	int r = grpc__health__v1__health_watch_recv_sync(s, &msg, &st);

	if (r == 1) {
		r = msg->status;
		protobuf_c_message_free_unpacked(&msg->base, NULL);
		return r;
	}
	if (r == -EREMOTEIO) {
		r = -st.code;
		ttrpc_status_clear(&st);
		return r;
	}
	ck_assert_int_eq(r, 0);
	return -100;
}

START_TEST(test_health_check)
{
	struct ttrpc_client *c;
	struct proc p;

	daemon_start(&p, services_config(NULL, "serving = no\n"), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c = client();
	ck_assert_int_eq(check(c, ""), SERVING);
	ck_assert_int_eq(check(c, INTEROP), SERVING);
	ck_assert_int_eq(check(c, HEALTH), SERVING);
	ck_assert_int_eq(check(c, CONTROL), SERVING);
	ck_assert_int_eq(check(c, "example.v1.Greeter"), SERVING);
	/* testmod set its own status in init, after the refusals it checks. */
	ck_assert_int_eq(check(c, GREETER), NOT_SERVING);
	ck_assert_int_eq(check(c, "no.such.Service"), -TTRPC_NOT_FOUND);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

START_TEST(test_health_watch)
{
	const char *conf = services_config(NULL, NULL);
	struct ttrpc_client *c1, *c2, *c3;
	struct ttrpc_client_stream *greeter, *all, *unknown;
	struct proc p;

	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c1 = client();
	c2 = client();
	c3 = client();
	greeter = watch(c1, GREETER);
	all = watch(c2, "");
	unknown = watch(c3, "no.such.Service");
	/* The current status at once, SERVICE_UNKNOWN for a name nobody serves. */
	ck_assert_int_eq(watch_next(greeter), SERVING);
	ck_assert_int_eq(watch_next(all), SERVING);
	ck_assert_int_eq(watch_next(unknown), SERVICE_UNKNOWN);

	/* The module sets another status (on reload): the watcher hears it. */
	services_config(NULL, "serving = no\n");
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(watch_next(greeter), NOT_SERVING);
	services_config(NULL, "serving = yes\n");
	kill(p.pid, SIGHUP);
	ck_assert_int_eq(watch_next(greeter), SERVING);
	ck_assert_int_eq(check(c3, GREETER), SERVING);

	/* Stopping: NOT_SERVING, then the streams end, and the drain does not
	 * wait for them (its timeout is a minute). */
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(watch_next(greeter), NOT_SERVING);
	ck_assert_int_eq(watch_next(greeter), -TTRPC_UNAVAILABLE);
	ck_assert_int_eq(watch_next(all), NOT_SERVING);
	ck_assert_int_eq(watch_next(all), -TTRPC_UNAVAILABLE);
	ck_assert_int_eq(watch_next(unknown), -TTRPC_UNAVAILABLE);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	ck_assert_ptr_nonnull(strstr(p.log, "all calls finished"));
	ttrpc_client_stream_free_sync(greeter);
	ttrpc_client_stream_free_sync(all);
	ttrpc_client_stream_free_sync(unknown);
	ttrpc_client_free(c1);
	ttrpc_client_free(c2);
	ttrpc_client_free(c3);
}
END_TEST

/* A client that leaves in the middle of a Watch is forgotten, and nothing leaks. */
START_TEST(test_health_watch_client_leaves)
{
	struct ttrpc_client *c;
	struct ttrpc_client_stream *s;
	struct proc p;

	daemon_start(&p, services_config(NULL, NULL), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c = client();
	s = watch(c, INTEROP);
	ck_assert_int_eq(watch_next(s), SERVING);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	ck_assert(log_wait(&p, "call " HEALTH "/Watch done: CANCELLED"));
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* ---- control ---- */

static Ttrpcd__V1__ListResponse *list(struct ttrpc_client *c, const char *service, int *code)
{
	Ttrpcd__V1__ListRequest req = TTRPCD__V1__LIST_REQUEST__INIT;
	Ttrpcd__V1__ListResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = (char *)service;
	r = ttrpcd__v1__control_list_sync(c, &req, NULL, &resp, &st);
	*code = r == -EREMOTEIO ? st.code : TTRPC_OK;
	if (r != -EREMOTEIO)
		ck_assert_int_eq(r, 0);
	ttrpc_status_clear(&st);
	return resp;
}

/*
 * Control.Describe of @name is @want: the descriptors the generated code of
 * its .proto embeds (the daemon's own, or a module's), or none.
 */
static void expect_described(struct ttrpc_client *c, const char *name,
			     const struct ttrpc_service *want, int want_code)
{
	Ttrpcd__V1__DescribeRequest req = TTRPCD__V1__DESCRIBE_REQUEST__INIT;
	Ttrpcd__V1__DescribeResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = (char *)name;
	r = ttrpcd__v1__control_describe_sync(c, &req, NULL, &resp, &st);
	if (want_code != TTRPC_OK) {
		ck_assert_int_eq(r, -EREMOTEIO);
		ck_assert_int_eq(st.code, want_code);
		ttrpc_status_clear(&st);
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(resp->file_descriptor_set.len, want ? want->descriptor_set_size : 0);
	if (want)
		ck_assert_mem_eq(resp->file_descriptor_set.data, want->descriptor_set,
				 want->descriptor_set_size);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static const Ttrpcd__V1__ServiceInfo *find_service(const Ttrpcd__V1__ListResponse *l,
						   const char *name)
{
	for (size_t i = 0; i < l->n_services; i++)
		if (strcmp(l->services[i]->name, name) == 0)
			return l->services[i];
	return NULL;
}

static const Ttrpcd__V1__MethodInfo *find_method(const Ttrpcd__V1__ServiceInfo *s, const char *name)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i]->name, name) == 0)
			return s->methods[i];
	return NULL;
}

static void expect_module(const Ttrpcd__V1__ModuleInfo *m, const char *name, const char *so,
			  const char *service)
{
	char real[PATH_MAX];

	ck_assert_str_eq(m->name, name);
	ck_assert_ptr_nonnull(realpath(build_path(so), real));
	ck_assert_str_eq(m->path, real);
	ck_assert_uint_eq(m->n_services, 1);
	ck_assert_str_eq(m->services[0], service);
}

START_TEST(test_control_list)
{
	const char *conf = path_in("ttrpcd.conf");
	const Ttrpcd__V1__ServiceInfo *s;
	const Ttrpcd__V1__MethodInfo *m;
	Ttrpcd__V1__ListResponse *l;
	struct ttrpc_client *c;
	struct proc p;
	int code;

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\n[listener api]\npath = %s\n"
		   "[module health]\nfile = %s\n[module interop]\nfile = %s\n"
		   "[module example]\nfile = %s\n[module abi10]\nfile = %s\n",
		   tmp, path_in("sock"), build_path("services/health/.libs/health.so"),
		   build_path("tests/interop/.libs/interop.so"),
		   build_path("services/example/.libs/example.so"),
		   build_path("tests/modules/.libs/abi10.so"));
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	/* ABI 1.0 loads; it only cannot say what it serves. */
	ck_assert_ptr_nonnull(strstr(p.log, "built for module ABI 1.0, it declares no services"));
	ck_assert_ptr_null(strstr(p.log, "does not declare"));
	c = client();
	l = list(c, "", &code);
	ck_assert_int_eq(code, TTRPC_OK);

	/* The modules, in load order, with their absolute paths. */
	ck_assert_uint_eq(l->n_modules, 4);
	expect_module(l->modules[0], "health", "services/health/.libs/health.so", HEALTH);
	expect_module(l->modules[1], "interop", "tests/interop/.libs/interop.so", INTEROP);
	expect_module(l->modules[2], "example", "services/example/.libs/example.so",
		      "example.v1.Greeter");
	expect_module(l->modules[3], "abi10", "tests/modules/.libs/abi10.so", "ttrpc.test.v1.Old");

	/* The services: the daemon's own, then the modules'. */
	ck_assert_uint_eq(l->n_services, 5);
	s = find_service(l, CONTROL);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->module, "");
	ck_assert_uint_eq(s->n_methods, 4);
	m = find_method(s, "Reload");
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(m->input_type, "ttrpcd.v1.ReloadRequest");
	s = find_service(l, HEALTH);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->module, "health");
	m = find_method(s, "Watch");
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->kind, TTRPCD__V1__METHOD_KIND__SERVER_STREAM);
	ck_assert_str_eq(m->output_type, "grpc.health.v1.HealthCheckResponse");
	s = find_service(l, INTEROP);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->n_methods, 8);
	ck_assert_int_eq(find_method(s, "Echo")->kind, TTRPCD__V1__METHOD_KIND__UNARY);
	ck_assert_int_eq(find_method(s, "Download")->kind, TTRPCD__V1__METHOD_KIND__SERVER_STREAM);
	ck_assert_int_eq(find_method(s, "Upload")->kind, TTRPCD__V1__METHOD_KIND__CLIENT_STREAM);
	ck_assert_int_eq(find_method(s, "Chat")->kind, TTRPCD__V1__METHOD_KIND__BIDI_STREAM);
	ck_assert_str_eq(find_method(s, "Download")->input_type, "ttrpc.interop.v1.StreamRequest");
	ck_assert_str_eq(find_method(s, "Download")->output_type, "ttrpc.interop.v1.Chunk");
	ck_assert_ptr_nonnull(find_service(l, "example.v1.Greeter"));
	ck_assert_str_eq(find_service(l, "ttrpc.test.v1.Old")->module, "abi10");
	protobuf_c_message_free_unpacked(&l->base, NULL);

	/* One service: it and the module that serves it. */
	l = list(c, INTEROP, &code);
	ck_assert_int_eq(code, TTRPC_OK);
	ck_assert_uint_eq(l->n_services, 1);
	ck_assert_uint_eq(l->n_modules, 1);
	ck_assert_str_eq(l->modules[0]->name, "interop");
	protobuf_c_message_free_unpacked(&l->base, NULL);
	l = list(c, CONTROL, &code);
	ck_assert_int_eq(code, TTRPC_OK);
	ck_assert_uint_eq(l->n_services, 1);
	ck_assert_uint_eq(l->n_modules, 0);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	ck_assert_ptr_null(list(c, "no.such.Service", &code));
	ck_assert_int_eq(code, TTRPC_NOT_FOUND);

	/* Describe: the descriptors of every service, the daemon's own too;
	 * none for a module of before (ABI 1.0, a hand-written table). */
	struct ttrpc_service control = ttrpcd__v1__control_service(NULL);
	struct ttrpc_service health = grpc__health__v1__health_service(NULL);
	struct ttrpc_service interop = ttrpc__interop__v1__interop_service(NULL);
	struct ttrpc_service example = example__v1__greeter_service(NULL);

	ck_assert_uint_gt(control.descriptor_set_size, 0);
	expect_described(c, CONTROL, &control, TTRPC_OK);
	expect_described(c, HEALTH, &health, TTRPC_OK);
	expect_described(c, INTEROP, &interop, TTRPC_OK);
	expect_described(c, "example.v1.Greeter", &example, TTRPC_OK);
	expect_described(c, "ttrpc.test.v1.Old", NULL, TTRPC_OK);
	expect_described(c, "no.such.Service", NULL, TTRPC_NOT_FOUND);

	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* A service init registers but the module's list lacks: served, with a warning. */
START_TEST(test_undeclared_service)
{
	struct ttrpc_client *c;
	struct proc p;

	daemon_start(&p, services_config(NULL, "service = ttrpc.test.v1.Other\n"), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	ck_assert_ptr_nonnull(strstr(p.log, "init registered service 'ttrpc.test.v1.Other', "
					    "which its services list does not declare"));
	c = client();
	ck_assert_int_eq(check(c, "ttrpc.test.v1.Other"), SERVING);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

static Ttrpcd__V1__StatsResponse *stats(struct ttrpc_client *c)
{
	Ttrpcd__V1__StatsRequest req = TTRPCD__V1__STATS_REQUEST__INIT;
	Ttrpcd__V1__StatsResponse *resp = NULL;

	ck_assert_int_eq(ttrpcd__v1__control_stats_sync(c, &req, NULL, &resp, NULL), 0);
	return resp;
}

static const Ttrpcd__V1__MethodStats *method_stats(const Ttrpcd__V1__StatsResponse *s,
						   const char *service, const char *method)
{
	for (size_t i = 0; i < s->n_methods; i++)
		if (strcmp(s->methods[i]->service, service) == 0 &&
		    strcmp(s->methods[i]->method, method) == 0)
			return s->methods[i];
	ck_abort_msg("no stats for %s/%s", service, method);
	return NULL;
}

static uint64_t histogram_sum(const Ttrpcd__V1__MethodStats *m)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < m->n_latency_counts; i++)
		sum += m->latency_counts[i];
	return sum;
}

START_TEST(test_control_stats)
{
	Ttrpc__Interop__V1__EchoRequest echo = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__FailRequest fail = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;
	Ttrpc__Interop__V1__EchoResponse *er;
	Ttrpc__Interop__V1__Empty *fr;
	Ttrpcd__V1__StatsResponse *before, *after;
	const Ttrpcd__V1__MethodStats *e0, *e1, *f0, *f1, *st;
	struct ttrpc_status status = { 0 };
	struct ttrpc_client *c;
	struct proc p;

	daemon_start(&p, services_config(NULL, NULL), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c = client();
	before = stats(c);
	for (int i = 0; i < 3; i++) {
		echo.text = (char *)"counted";
		ck_assert_int_eq(ttrpc__interop__v1__interop_echo_sync(c, &echo, NULL, &er, NULL),
				 0);
		protobuf_c_message_free_unpacked(&er->base, NULL);
	}
	fail.code = TTRPC_ABORTED;
	fail.message = (char *)"as asked";
	ck_assert_int_eq(ttrpc__interop__v1__interop_fail_sync(c, &fail, NULL, &fr, &status),
			 -EREMOTEIO);
	ttrpc_status_clear(&status);
	after = stats(c);

	/* Every bound has a count, and one more above the last. */
	ck_assert_uint_gt(after->n_latency_bounds_us, 4);
	for (size_t i = 1; i < after->n_latency_bounds_us; i++)
		ck_assert_uint_gt(after->latency_bounds_us[i], after->latency_bounds_us[i - 1]);
	e0 = method_stats(before, INTEROP, "Echo");
	e1 = method_stats(after, INTEROP, "Echo");
	ck_assert_uint_eq(e1->n_latency_counts, after->n_latency_bounds_us + 1);
	ck_assert_uint_eq(e1->calls, e0->calls + 3);
	ck_assert_uint_eq(e1->errors, e0->errors);
	ck_assert_uint_eq(histogram_sum(e1), e1->calls);
	f0 = method_stats(before, INTEROP, "Fail");
	f1 = method_stats(after, INTEROP, "Fail");
	ck_assert_uint_eq(f1->calls, f0->calls + 1);
	ck_assert_uint_eq(f1->errors, f0->errors + 1);
	/* The first Stats call is counted by the time of the second. */
	st = method_stats(after, CONTROL, "Stats");
	ck_assert_uint_ge(st->calls, 1);
	ck_assert_uint_ge(after->connections, 1);
	ck_assert_uint_ge(after->connections_total, after->connections);
	ck_assert_uint_ge(after->calls_in_flight, 1); /* the Stats call itself */
	protobuf_c_message_free_unpacked(&before->base, NULL);
	protobuf_c_message_free_unpacked(&after->base, NULL);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/*
 * Stats lists the oldest calls in flight, and a call answered by its
 * deadline stays one as long as its handler holds it (testmod keeps an
 * Echo of "hold" until one of "release"). Its age is bounded by what this
 * process saw, not by the deadline: the deadline timer counts from the
 * loop's cached time, which may be older than the arrival stamp.
 */
START_TEST(test_stats_calls_in_flight)
{
	Ttrpc__Interop__V1__EchoRequest echo = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	const struct ttrpc_call_opts opts = { .timeout_us = 20000 };
	const Ttrpcd__V1__CallInFlight *held;
	Ttrpcd__V1__StatsResponse *st;
	struct ttrpc_status status = { 0 };
	ProtobufCMessage *resp = NULL;
	struct ttrpc_client *c, *stats_client;
	struct timespec sent, seen;
	uint64_t elapsed_us;
	struct proc p;

	daemon_start(&p, services_config(NULL, NULL), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c = client();
	stats_client = client();
	echo.text = (char *)"hold";
	clock_gettime(CLOCK_MONOTONIC, &sent);
	ck_assert_int_eq(ttrpc_client_call_sync(c, GREETER, "Echo", &echo.base,
						&ttrpc__interop__v1__echo_response__descriptor,
						&opts, &resp, &status),
			 -EREMOTEIO);
	ck_assert_int_eq(status.code, TTRPC_DEADLINE_EXCEEDED);
	ttrpc_status_clear(&status);
	/* The server's deadline passes too: then the call is cancelled, and held. */
	for (int i = 0; i < 500; i++) {
		st = stats(stats_client);
		if (st->n_oldest_calls == 1 && st->oldest_calls[0]->cancelled)
			break;
		protobuf_c_message_free_unpacked(&st->base, NULL);
		st = NULL;
		usleep(10000);
	}
	clock_gettime(CLOCK_MONOTONIC, &seen);
	elapsed_us = (uint64_t)(((int64_t)(seen.tv_sec - sent.tv_sec) * 1000000000 +
				 (seen.tv_nsec - sent.tv_nsec)) /
				1000);
	ck_assert_ptr_nonnull(st);
	/* The held call and this Stats call; only the first is listed. */
	ck_assert_uint_eq(st->calls_in_flight, 2);
	held = st->oldest_calls[0];
	ck_assert_str_eq(held->service, GREETER);
	ck_assert_str_eq(held->method, "Echo");
	ck_assert_int_eq(held->kind, TTRPCD__V1__METHOD_KIND__UNARY);
	ck_assert_int_eq(held->pid, getpid());
	ck_assert_uint_eq(held->uid, getuid());
	ck_assert_uint_gt(held->age_us, 0);
	ck_assert_uint_le(held->age_us, elapsed_us);
	protobuf_c_message_free_unpacked(&st->base, NULL);

	echo.text = (char *)"release";
	ck_assert_int_eq(ttrpc_client_call_sync(c, GREETER, "Echo", &echo.base,
						&ttrpc__interop__v1__echo_response__descriptor,
						NULL, &resp, NULL),
			 0);
	protobuf_c_message_free_unpacked(resp, NULL);
	st = stats(stats_client);
	ck_assert_uint_eq(st->calls_in_flight, 1);
	ck_assert_uint_eq(st->n_oldest_calls, 0);
	protobuf_c_message_free_unpacked(&st->base, NULL);
	ttrpc_client_free(c);
	ttrpc_client_free(stats_client);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* Reload through the control service: "" when it worked, else why not. */
static int control_reload(struct ttrpc_client *c, char *why, size_t size)
{
	Ttrpcd__V1__ReloadRequest req = TTRPCD__V1__RELOAD_REQUEST__INIT;
	Ttrpcd__V1__ReloadResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	int r = ttrpcd__v1__control_reload_sync(c, &req, NULL, &resp, &st);

	snprintf(why, size, "%s", r == -EREMOTEIO && st.message ? st.message : "");
	if (r == 0)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	r = r == -EREMOTEIO ? st.code : r;
	ttrpc_status_clear(&st);
	return r;
}

static char *greet(struct ttrpc_client *c, const char *service)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	ProtobufCMessage *resp;
	char *text;

	ck_assert_int_eq(ttrpc_client_call_sync(c, service, "Echo", &req.base,
						&ttrpc__interop__v1__echo_response__descriptor,
						NULL, &resp, NULL),
			 0);
	text = strdup(((Ttrpc__Interop__V1__EchoResponse *)resp)->text);
	protobuf_c_message_free_unpacked(resp, NULL);
	return (char *)keep(text);
}

START_TEST(test_control_reload)
{
	struct ttrpc_client *c;
	char why[512];
	struct proc p;

	daemon_start(&p, services_config(NULL, "greeting = before\n"), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	c = client();
	ck_assert_str_eq(greet(c, GREETER), "before");
	services_config(NULL, "greeting = after\n");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert_str_eq(greet(c, GREETER), "after");
	/* A bad config: the answer says why, and the running one stays. */
	services_config(NULL, "greeting = never\nbogus = 1\n");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(why, "unknown key 'bogus' in [module testmod]"));
	ck_assert_str_eq(greet(c, GREETER), "after");
	/* A module's reload that fails: the answer has the module's own words. */
	services_config(NULL, "greeting = never\nserving = maybe\n");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_str_eq(why, "reload failed, the running configuration stays: module 'testmod': "
			      "reload failed: serving = 'maybe': expected yes, no or unknown");
	ck_assert_str_eq(greet(c, GREETER), "after");
	services_config("[control]\nallow-users = nobody-at-all-here\n", NULL);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(why, "bad value 'nobody-at-all-here' for key 'allow-users' "
					  "in [control]"));
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* Wait until the daemon's log has @text @n times. */
static bool log_wait_count(struct proc *p, const char *text, size_t n)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (count_in(p->log, text) < n && p->err >= 0 && now_ms() < end)
		read_log(p, (int)(end - now_ms()));
	if (count_in(p->log, text) < n)
		fprintf(stderr, "expected '%s' %zu times in the daemon's log:\n%s\n", text, n,
			p->log);
	return count_in(p->log, text) >= n;
}

/* ---- modules enabled and disabled by a reload ---- */

/* The config of these tests: health, then @sections; drain-timeout @drain. */
static const char *enabled_config(const char *drain, const char *sections)
{
	const char *conf = path_in("ttrpcd.conf");

	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\nlog-level = debug\ndrain-timeout = %s\n"
		   "[listener api]\npath = %s\nmode = 0666\n[module health]\nfile = %s\n%s",
		   tmp, drain, path_in("sock"), build_path("services/health/.libs/health.so"),
		   sections);
	return conf;
}

/* "[module NAME]" for the build tree's .so at @so, with @extra settings. */
static const char *section(const char *name, const char *so, const char *extra)
{
	char *s;

	ck_assert_int_ge(asprintf(&s, "[module %s]\nfile = %s\n%s", name, build_path(so), extra),
			 0);
	return keep(s);
}

/* An Echo of @service: its status code. */
static int echo_code(struct ttrpc_client *c, const char *service)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	struct ttrpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	int r = ttrpc_client_call_sync(c, service, "Echo", &req.base,
				       &ttrpc__interop__v1__echo_response__descriptor, NULL, &resp,
				       &st);

	if (r == 0) {
		protobuf_c_message_free_unpacked(resp, NULL);
		return TTRPC_OK;
	}
	ck_assert_int_eq(r, -EREMOTEIO);
	r = st.code;
	ttrpc_status_clear(&st);
	return r;
}

/* Whether Control/List names module @name. */
static bool listed(struct ttrpc_client *c, const char *name)
{
	Ttrpcd__V1__ListResponse *l;
	bool found = false;
	int code;

	l = list(c, "", &code);
	ck_assert_int_eq(code, TTRPC_OK);
	for (size_t i = 0; i < l->n_modules; i++)
		found = found || strcmp(l->modules[i]->name, name) == 0;
	protobuf_c_message_free_unpacked(&l->base, NULL);
	return found;
}

/* Whether Control/Stats has counters for @service/@method. */
static bool counted(struct ttrpc_client *c, const char *service, const char *method,
		    uint64_t *calls)
{
	Ttrpcd__V1__StatsResponse *st = stats(c);
	bool found = false;

	for (size_t i = 0; i < st->n_methods; i++) {
		if (strcmp(st->methods[i]->service, service) == 0 &&
		    strcmp(st->methods[i]->method, method) == 0) {
			found = true;
			*calls = st->methods[i]->calls;
		}
	}
	protobuf_c_message_free_unpacked(&st->base, NULL);
	return found;
}

/*
 * Modules follow the config across reloads: disabled (its section gone, or
 * enabled = no in a drop-in) the testmod module is unloaded, and health,
 * List and Stats say so; enabled again it is loaded again; the reload
 * answers why when a new module fails or a change needs a restart.
 */
START_TEST(test_reload_enables_and_disables)
{
	const char *interop = section("interop", "tests/interop/.libs/interop.so", "");
	const char *testmod = section("testmod", "tests/modules/.libs/testmod.so",
				      "greeting = one\n");
	const char *globals = section("globals", "tests/modules/.libs/globals.so", "");
	struct ttrpc_client *c, *w;
	struct ttrpc_client_stream *ws;
	char why[512], both[1024], moved[1024];
	uint64_t calls = 0;
	struct proc p;

	snprintf(both, sizeof(both), "%s%s", interop, testmod);
	daemon_start(&p, enabled_config("1min", both), NULL);
	ck_assert(log_wait(&p, "ready: 3 modules"));
	c = client();
	w = client();
	ws = watch(w, GREETER);
	ck_assert_int_eq(watch_next(ws), SERVING);
	ck_assert_str_eq(greet(c, GREETER), "one");
	ck_assert_int_eq(echo_code(c, INTEROP), TTRPC_OK);

	/* Gone from the config: unloaded, and everyone can tell. */
	enabled_config("1min", interop);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert_int_eq(watch_next(ws), NOT_SERVING);
	ck_assert_int_eq(watch_next(ws), SERVICE_UNKNOWN);
	ck_assert(log_wait(&p, "module 'testmod' unloaded: its calls are over"));
	ck_assert_int_eq(echo_code(c, GREETER), TTRPC_UNIMPLEMENTED);
	ck_assert_int_eq(check(c, GREETER), -TTRPC_NOT_FOUND);
	ck_assert(!listed(c, "testmod"));
	ck_assert(!counted(c, GREETER, "Echo", &calls));
	/* The counts of what stays are kept. */
	ck_assert(counted(c, INTEROP, "Echo", &calls));
	ck_assert_uint_eq(calls, 1);

	/* Back: loaded and inited again, with its settings of now. */
	testmod = section("testmod", "tests/modules/.libs/testmod.so", "greeting = two\n");
	snprintf(both, sizeof(both), "%s%s", interop, testmod);
	enabled_config("1min", both);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert_int_eq(watch_next(ws), SERVING);
	ck_assert_str_eq(greet(c, GREETER), "two");
	ck_assert_int_eq(check(c, GREETER), SERVING);
	ck_assert(listed(c, "testmod"));
	ck_assert(counted(c, GREETER, "Echo", &calls));
	ck_assert_uint_eq(calls, 1);

	/* enabled = no in a drop-in turns it off, settings kept. */
	ck_assert_int_eq(mkdir(path_in("ttrpcd.conf.d"), 0755), 0);
	write_file(path_in("ttrpcd.conf.d/50-testmod.conf"), "[module testmod]\nenabled = no\n");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert_int_eq(watch_next(ws), NOT_SERVING);
	ck_assert_int_eq(watch_next(ws), SERVICE_UNKNOWN);
	ck_assert_int_eq(echo_code(c, GREETER), TTRPC_UNIMPLEMENTED);
	ck_assert(log_wait_count(&p, "module 'testmod' unloaded: its calls are over", 2));
	ck_assert(unlink(path_in("ttrpcd.conf.d/50-testmod.conf")) == 0);

	/* A new module that fails: the reload says why, and nothing changes. */
	testmod = section("testmod", "tests/modules/.libs/testmod.so", "fail-init = yes\n");
	snprintf(both, sizeof(both), "%s%s", interop, testmod);
	enabled_config("1min", both);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(why, "module 'testmod' ("));
	ck_assert_ptr_nonnull(strstr(why, "): init failed: Input/output error"));
	ck_assert_int_eq(echo_code(c, GREETER), TTRPC_UNIMPLEMENTED);
	ck_assert_int_eq(echo_code(c, INTEROP), TTRPC_OK);

	/* A module that is not unload-safe: only a restart unloads it. */
	snprintf(both, sizeof(both), "%s%s", interop, globals);
	enabled_config("1min", both);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert(listed(c, "globals"));
	enabled_config("1min", interop);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(why,
				     "module 'globals' is disabled, but it is not unload-safe: "
				     "restart ttrpcd to unload it"));
	ck_assert(listed(c, "globals"));

	/* A module whose file moved: a restart too. */
	ck_assert_int_eq(
		symlink(build_path("tests/interop/.libs/interop.so"), path_in("interop.so")), 0);
	snprintf(moved, sizeof(moved), "[module interop]\nfile = %s\n%s", path_in("interop.so"),
		 globals);
	enabled_config("1min", moved);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_FAILED_PRECONDITION);
	ck_assert_ptr_nonnull(strstr(why, "module 'interop' is now in "));
	ck_assert_ptr_nonnull(strstr(why, ": restart ttrpcd to load it from there"));
	ck_assert_int_eq(echo_code(c, INTEROP), TTRPC_OK);

	ttrpc_client_stream_free_sync(ws);
	ttrpc_client_free(w);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* Disabled with a call in flight: it is answered, and only then is the module unloaded. */
START_TEST(test_unload_waits_for_calls)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	const char *interop = section("interop", "tests/interop/.libs/interop.so", "");
	struct ttrpc_client *c;
	const char *done, *unloaded;
	char why[512];
	struct proc p;
	int fd;

	daemon_start(&p, enabled_config("1min", interop), NULL);
	ck_assert(log_wait(&p, "ready: 2 modules"));
	c = client();
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	req.millis = 500;
	ck_assert_int_eq(peer_call(fd, 1, 0, "Sleep", &req.base), 0);
	ck_assert(log_wait(&p, "call " INTEROP "/Sleep from pid"));
	enabled_config("1min", "");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	ck_assert_int_eq(echo_code(c, INTEROP), TTRPC_UNIMPLEMENTED);
	peer_expect(fd, 1, TTRPC_OK, "");
	ck_assert(log_wait(&p, "module 'interop' unloaded: its calls are over"));
	done = strstr(p.log, "call " INTEROP "/Sleep done: OK");
	unloaded = strstr(p.log, "module 'interop' unloaded");
	ck_assert_ptr_nonnull(done);
	ck_assert(done < unloaded);
	close(fd);

	/* A call that outlasts drain-timeout is cancelled, then the module goes. */
	enabled_config("1min", interop);
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	fd = peer_connect(path_in("sock"));
	ck_assert_int_ge(fd, 0);
	req.millis = 60000;
	ck_assert_int_eq(peer_call(fd, 1, 0, "Sleep", &req.base), 0);
	ck_assert(log_wait_count(&p, "call " INTEROP "/Sleep from pid", 2));
	enabled_config("200ms", "");
	ck_assert_int_eq(control_reload(c, why, sizeof(why)), TTRPC_OK);
	peer_expect(fd, 1, TTRPC_UNAVAILABLE, "service retired");
	ck_assert(log_wait_count(&p, "module 'interop' unloaded: its calls are over", 2));
	close(fd);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* The probe as uid and gid 65534, in @groups (NULL: none); its line of status codes. */
static const char *probe_nobody(const char *groups)
{
	return probe_as_nobody("tests/integration/test-services", path_in("sock"), groups);
}

START_TEST(test_control_permission)
{
	Ttrpcd__V1__ListResponse *l;
	struct ttrpc_client *c;
	struct proc p;
	int code;

	/* The listener admits everyone; only the control service checks. */
	ck_assert_int_eq(chmod(tmp, 0755), 0);
	daemon_start(&p, services_config(NULL, NULL), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	ck_assert_str_eq(probe_nobody(NULL), "probe: list=PERMISSION_DENIED echo=OK health=OK");
	ck_assert(log_wait(&p, "control: refused List from pid"));
	/* Root is on the default list. */
	c = client();
	l = list(c, "", &code);
	ck_assert_int_eq(code, TTRPC_OK);
	protobuf_c_message_free_unpacked(&l->base, NULL);
	ttrpc_client_free(c);

	/* Allowed by uid, applied on reload. */
	services_config("[control]\nallow-users = root 65534\n", NULL);
	kill(p.pid, SIGHUP);
	ck_assert(log_wait_count(&p, "configuration reloaded", 1));
	ck_assert_str_eq(probe_nobody(NULL), "probe: list=OK echo=OK health=OK");
	/* By gid, with root no longer listed. */
	services_config("[control]\nallow-users =\nallow-groups = 65534\n", NULL);
	kill(p.pid, SIGHUP);
	ck_assert(log_wait_count(&p, "configuration reloaded", 2));
	ck_assert_str_eq(probe_nobody(NULL), "probe: list=OK echo=OK health=OK");
	c = client();
	ck_assert_ptr_null(list(c, "", &code));
	ck_assert_int_eq(code, TTRPC_PERMISSION_DENIED);
	ttrpc_client_free(c);
	/* By a group the caller has only as a supplementary one. */
	services_config("[control]\nallow-users =\nallow-groups = 4242\n", NULL);
	kill(p.pid, SIGHUP);
	ck_assert(log_wait_count(&p, "configuration reloaded", 3));
	ck_assert_str_eq(probe_nobody("4343,4242"), "probe: list=OK echo=OK health=OK");
	ck_assert_str_eq(probe_nobody("4343"), "probe: list=PERMISSION_DENIED echo=OK health=OK");
	ck_assert_str_eq(probe_nobody(NULL), "probe: list=PERMISSION_DENIED echo=OK health=OK");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* ---- the example module ---- */

static char *hello(const char *sock, const char *name)
{
	Example__V1__HelloRequest req = EXAMPLE__V1__HELLO_REQUEST__INIT;
	Example__V1__HelloResponse *resp;
	struct ttrpc_client *c;
	char *text;

	ck_assert_int_eq(ttrpc_client_open(sock, &c), 0);
	req.name = (char *)name;
	ck_assert_int_eq(example__v1__greeter_hello_sync(c, &req, NULL, &resp, NULL), 0);
	text = strdup(resp->text);
	protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_client_free(c);
	return (char *)keep(text);
}

START_TEST(test_example_in_tree)
{
	struct proc p;

	daemon_start(&p, services_config(NULL, NULL), NULL);
	ck_assert(log_wait(&p, "ready: 4 modules"));
	ck_assert_str_eq(hello(path_in("sock"), "you"), "Hi, you!");
	ck_assert_str_eq(hello(path_in("sock"), ""), "Hi, world!");
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* Run a shell command with make's own variables cleared; its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int run(const char *fmt, ...)
{
	char *cmd, *full;
	va_list ap;
	int r;

	va_start(ap, fmt);
	ck_assert_int_ge(vasprintf(&cmd, fmt, ap), 0);
	va_end(ap);
	/* A make that runs the suite passes its jobserver, which is not ours. */
	ck_assert_int_ge(asprintf(&full, "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL sh -c '%s'", cmd),
			 0);
	fprintf(stderr, "+ %s\n", cmd);
	r = system(full);
	free(cmd);
	free(full);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/*
 * As a module author does it: install the project (here into a DESTDIR),
 * copy services/example and services/stream, build each with its Makefile
 * against the installed ttrpc.pc and ttrpcd-module.pc, load and call them.
 */
START_TEST(test_example_out_of_tree)
{
	const char *srcdir = getenv("top_srcdir"), *libdir = getenv("ttrpc_libdir");
	const char *dest = path_in("dest"), *ex = path_in("example"), *st = path_in("stream");
	const char *conf = path_in("ttrpcd.conf");
	Stream__V1__CountRequest req = STREAM__V1__COUNT_REQUEST__INIT;
	Stream__V1__Tick *tick = NULL;
	struct ttrpc_client_stream *s;
	struct ttrpc_client *c;
	struct proc p;

	ck_assert_ptr_nonnull(srcdir);
	ck_assert_ptr_nonnull(libdir);
	ck_assert_int_eq(run("make -s -C %s install DESTDIR=%s >%s/install.log 2>&1 || "
			     "{ tail -n 30 %s/install.log; exit 1; }",
			     builddir, dest, tmp, tmp),
			 0);
	ck_assert_int_eq(
		run("cp -r %s/services/example %s/services/stream %s", srcdir, srcdir, tmp), 0);
	ck_assert_int_eq(run("for d in %s %s; do PKG_CONFIG_PATH=%s%s/pkgconfig "
			     "PKG_CONFIG_SYSROOT_DIR=%s make -C $d CFLAGS=\"-O2 -Wall -Wextra "
			     "-Werror\" || exit 1; done",
			     ex, st, dest, libdir, dest),
			 0);
	/* ttrpcd-module.pc's module_cflags reached the compiler: one symbol. */
	ck_assert_int_eq(
		run("for so in %s/example.so %s/stream.so; do "
		    "s=$(nm -D --defined-only $so | grep -v @ | cut -d\" \" -f3); "
		    "echo \"$so exports: $s\"; test \"$s\" = ttrpcd_module || exit 1; done",
		    ex, st),
		0);
	write_file(conf,
		   "[ttrpcd]\nmodule-dir = %s\n[listener api]\npath = %s\n"
		   "[module example]\nfile = %s/example.so\ngreeting = Out of tree\n"
		   "[module stream]\nfile = %s/stream.so\n",
		   tmp, path_in("sock"), ex, st);
	daemon_start(&p, conf, NULL);
	ck_assert(log_wait(&p, "ready: 2 modules"));
	ck_assert_str_eq(hello(path_in("sock"), "author"), "Out of tree, author!");
	c = client();
	req.count = 2;
	ck_assert_int_eq(stream__v1__streamer_count_open_sync(c, &req, NULL, &s), 0);
	for (uint64_t i = 1; i <= 2; i++) {
		ck_assert_int_eq(stream__v1__streamer_count_recv_sync(s, &tick, NULL), 1);
		ck_assert_uint_eq(tick->n, i);
		protobuf_c_message_free_unpacked(&tick->base, NULL);
	}
	ck_assert_int_eq(stream__v1__streamer_count_recv_sync(s, &tick, NULL), 0);
	ttrpc_client_stream_free_sync(s);
	ttrpc_client_free(c);
	kill(p.pid, SIGTERM);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
}
END_TEST

/* ---- the probe, run under another uid ---- */

static const char *call_code(int r, const struct ttrpc_status *st)
{
	if (r == 0)
		return "OK";
	if (r == -EREMOTEIO)
		return ttrpc_code_name(st->code);
	return strerror(-r);
}

static int probe(const char *sock)
{
	Ttrpcd__V1__ListRequest lreq = TTRPCD__V1__LIST_REQUEST__INIT;
	Ttrpc__Interop__V1__EchoRequest ereq = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Grpc__Health__V1__HealthCheckRequest hreq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Ttrpcd__V1__ListResponse *lresp = NULL;
	Ttrpc__Interop__V1__EchoResponse *eresp = NULL;
	Grpc__Health__V1__HealthCheckResponse *hresp = NULL;
	struct ttrpc_status ls = { 0 }, es = { 0 }, hs = { 0 };
	struct ttrpc_client *c;
	int lr, er, hr;

	if (ttrpc_client_open(sock, &c) < 0) {
		fprintf(stderr, "probe: cannot connect to %s\n", sock);
		return 1;
	}
	lr = ttrpcd__v1__control_list_sync(c, &lreq, NULL, &lresp, &ls);
	er = ttrpc__interop__v1__interop_echo_sync(c, &ereq, NULL, &eresp, &es);
	hr = grpc__health__v1__health_check_sync(c, &hreq, NULL, &hresp, &hs);
	fprintf(stderr, "probe: list=%s echo=%s health=%s\n", call_code(lr, &ls),
		call_code(er, &es), call_code(hr, &hs));
	if (lresp)
		protobuf_c_message_free_unpacked(&lresp->base, NULL);
	if (eresp)
		protobuf_c_message_free_unpacked(&eresp->base, NULL);
	if (hresp)
		protobuf_c_message_free_unpacked(&hresp->base, NULL);
	ttrpc_status_clear(&ls);
	ttrpc_status_clear(&es);
	ttrpc_status_clear(&hs);
	ttrpc_client_free(c);
	return 0;
}

static Suite *services_suite(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_health_check);
	tcase_add_test(tc, test_health_watch);
	tcase_add_test(tc, test_health_watch_client_leaves);
	tcase_add_test(tc, test_control_list);
	tcase_add_test(tc, test_undeclared_service);
	tcase_add_test(tc, test_control_stats);
	tcase_add_test(tc, test_stats_calls_in_flight);
	tcase_add_test(tc, test_control_reload);
	tcase_add_test(tc, test_reload_enables_and_disables);
	tcase_add_test(tc, test_unload_waits_for_calls);
	tcase_add_test(tc, test_example_in_tree);
	tcase_add_test(tc, test_example_out_of_tree);
	suite_add_tcase(s, tc);
	return s;
}

/* The control service's allow-lists against a peer under another uid. */
static Suite *services_root_suite(void)
{
	Suite *s = suite_create("services-root");
	TCase *tc = tcase_create("daemon");

	tcase_add_checked_fixture(tc, daemon_test_setup, daemon_test_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_control_permission);
	suite_add_tcase(s, tc);
	return s;
}

static const struct check_part parts[] = {
	{ "test-services", services_suite, NULL },
	{ "test-services-root", services_root_suite, check_need_root_and_setpriv },
};

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--probe") == 0)
		return probe(argv[2]);
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
