/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/events.c: the events as containerd receives them, through a
 * real ttrpc server of containerd.services.events.ttrpc.v1.Events on a unix
 * socket and a real loop: their encoding, their order, the namespace in the
 * metadata, the retries while nobody listens, and the drop after five tries.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttrpc/ttrpc.h>

#include "services/shim/events.h"
#include "services/shim/shim.h"
#include "events.pb-c.h"
#include "events.ttrpc-c.h"

typedef Containerd__Services__Events__Ttrpc__V1__ForwardRequest ForwardRequest;
typedef Containerd__Services__Events__Ttrpc__V1__TaskExit TaskExit;

static char logged[4096];

/* The module's log goes to the daemon; here it is kept for the asserts. */
void shim_log(int level, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(logged);

	(void)level;
	va_start(ap, fmt);
	vsnprintf(logged + n, sizeof(logged) - n, fmt, ap);
	va_end(ap);
	n = strlen(logged);
	if (n + 1 < sizeof(logged))
		strcat(logged, "\n");
}

static struct event_base *base;
static struct ttrpc_server *srv;
static char dir[64], sock[128];
static char topics[8][64], namespaces[8][64], metadata_ns[8][64];
static uint32_t exit_statuses[8];
static int received;

static void on_forward(struct ttrpc_call *call, const ForwardRequest *req, void *userdata)
{
	Ttrpcd__Shim__Types__Empty resp = TTRPCD__SHIM__TYPES__EMPTY__INIT;
	const char *md = ttrpc_call_metadata_get(call, "containerd-namespace-ttrpc");

	(void)userdata;
	ck_assert_int_lt(received, 8);
	ck_assert_ptr_nonnull(req->envelope);
	ck_assert_ptr_nonnull(req->envelope->event);
	ck_assert_str_eq(req->envelope->event->type_url, "containerd.events.TaskExit");
	TaskExit *ev = containerd__services__events__ttrpc__v1__task_exit__unpack(
		NULL, req->envelope->event->value.len, req->envelope->event->value.data);
	ck_assert_ptr_nonnull(ev);
	exit_statuses[received] = ev->exit_status;
	ck_assert_str_eq(ev->container_id, "c1");
	containerd__services__events__ttrpc__v1__task_exit__free_unpacked(ev, NULL);
	snprintf(topics[received], sizeof(topics[0]), "%s", req->envelope->topic);
	snprintf(namespaces[received], sizeof(namespaces[0]), "%s", req->envelope->namespace_);
	snprintf(metadata_ns[received], sizeof(metadata_ns[0]), "%s", md ? md : "(none)");
	ck_assert_int_gt(req->envelope->timestamp->seconds, 0);
	received++;
	containerd__services__events__ttrpc__v1__events_forward_reply(call, &resp);
}

static const struct containerd__services__events__ttrpc__v1__events_handlers handlers = {
	.forward = on_forward,
};

static void serve(void)
{
	ck_assert_int_eq(ttrpc_server_new(base, &srv), 0);
	ck_assert_int_eq(containerd__services__events__ttrpc__v1__events_register(srv, &handlers),
			 0);
	ck_assert_int_eq(ttrpc_server_listen_unix(srv, sock, 0600), 0);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-events.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/ttrpc.sock", dir);
	base = event_base_new();
	received = 0;
	logged[0] = '\0';
	srv = NULL;
}

static void teardown(void)
{
	ttrpc_server_free(srv);
	event_base_free(base);
	unlink(sock);
	rmdir(dir);
}

static void publish_exit(struct shim_events *ev, uint32_t status)
{
	TaskExit e = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXIT__INIT;

	e.container_id = (char *)"c1";
	e.id = (char *)"c1";
	e.exit_status = status;
	shim_events_publish(ev, "/tasks/exit", "TaskExit", &e.base);
}

/* Run the loop until @n events arrived and nothing is pending, 10 s at most. */
static void run_until(struct shim_events *ev, int n)
{
	for (int i = 0; i < 1000 && (received < n || shim_events_pending(ev)); i++) {
		struct timeval tv = { 0, 10 * 1000 };

		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
}

/* The Envelope around an event: what shim_event_pack() writes, field by field. */
START_TEST(pack)
{
	TaskExit e = CONTAINERD__SERVICES__EVENTS__TTRPC__V1__TASK_EXIT__INIT;
	struct timespec ts = { 1700000000, 42 };
	uint8_t *buf = NULL;
	long n;

	e.container_id = (char *)"c1";
	e.exit_status = 137;
	n = shim_event_pack("ns1", "/tasks/exit", "TaskExit", &e.base, &ts, &buf);
	ck_assert_int_gt(n, 0);
	ForwardRequest *req = containerd__services__events__ttrpc__v1__forward_request__unpack(
		NULL, (size_t)n, buf);
	ck_assert_ptr_nonnull(req);
	ck_assert_str_eq(req->envelope->namespace_, "ns1");
	ck_assert_str_eq(req->envelope->topic, "/tasks/exit");
	ck_assert_int_eq(req->envelope->timestamp->seconds, 1700000000);
	ck_assert_int_eq(req->envelope->timestamp->nanos, 42);
	ck_assert_str_eq(req->envelope->event->type_url, "containerd.events.TaskExit");
	/* TaskExit{container_id = 1: "c1", exit_status = 4: 137}, as upstream numbers them. */
	const uint8_t want[] = { 0x0a, 0x02, 'c', '1', 0x20, 0x89, 0x01 };
	ck_assert_uint_eq(req->envelope->event->value.len, sizeof(want));
	ck_assert_mem_eq(req->envelope->event->value.data, want, sizeof(want));
	containerd__services__events__ttrpc__v1__forward_request__free_unpacked(req, NULL);
	free(buf);
}
END_TEST

/* In order, with the namespace in the envelope and in the call's metadata. */
START_TEST(in_order)
{
	struct shim_events *ev;

	serve();
	ck_assert_int_eq(shim_events_new(base, sock, "ns1", 10, &ev), 0);
	for (uint32_t i = 0; i < 5; i++)
		publish_exit(ev, i);
	ck_assert(shim_events_pending(ev));
	run_until(ev, 5);
	ck_assert_int_eq(received, 5);
	for (int i = 0; i < 5; i++) {
		ck_assert_uint_eq(exit_statuses[i], (uint32_t)i);
		ck_assert_str_eq(topics[i], "/tasks/exit");
		ck_assert_str_eq(namespaces[i], "ns1");
		ck_assert_str_eq(metadata_ns[i], "ns1");
	}
	ck_assert(!shim_events_pending(ev));
	shim_events_free(ev);
}
END_TEST

/* Nobody listens at first (containerd restarting): the event waits for it. */
START_TEST(retried)
{
	struct shim_events *ev;

	ck_assert_int_eq(shim_events_new(base, sock, "ns1", 50, &ev), 0);
	publish_exit(ev, 1);
	publish_exit(ev, 2);
	ck_assert(strstr(logged, "event /tasks/exit: forward failed (try 1)"));
	serve();
	run_until(ev, 2);
	ck_assert_int_eq(received, 2);
	ck_assert_uint_eq(exit_statuses[0], 1);
	ck_assert_uint_eq(exit_statuses[1], 2);
	shim_events_free(ev);
}
END_TEST

/* Five tries, then the event is dropped and the next one goes. */
START_TEST(dropped)
{
	struct shim_events *ev;

	ck_assert_int_eq(shim_events_new(base, sock, "ns1", 1, &ev), 0);
	publish_exit(ev, 1);
	run_until(ev, 0);
	ck_assert(!shim_events_pending(ev));
	ck_assert_msg(strstr(logged, "event /tasks/exit: dropped after 5 tries"), "log: %s",
		      logged);
	serve();
	publish_exit(ev, 2);
	run_until(ev, 1);
	ck_assert_int_eq(received, 1);
	ck_assert_uint_eq(exit_statuses[0], 2);
	shim_events_free(ev);
}
END_TEST

/* No address (a shim run by hand): nothing is queued. */
START_TEST(no_address)
{
	struct shim_events *ev;

	ck_assert_int_eq(shim_events_new(base, "", "ns1", 1, &ev), 0);
	publish_exit(ev, 1);
	ck_assert(!shim_events_pending(ev));
	shim_events_free(ev);
	shim_events_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-events");
	TCase *tc = tcase_create("events");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, pack);
	tcase_add_test(tc, in_order);
	tcase_add_test(tc, retried);
	tcase_add_test(tc, dropped);
	tcase_add_test(tc, no_address);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
