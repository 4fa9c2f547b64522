/* SPDX-License-Identifier: Apache-2.0 */
/*
 * interop-client: runs every unary interop case against a server (the Go
 * peer in the interop tests) with libttrpc's blocking client, one line per
 * case, then "N passed, N failed". Exit 0 only when nothing failed.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "interop.ttrpc-c.h"

static struct ttrpc_client *client;
static char reason[512];

#define FAILF(...)                                             \
	do {                                                   \
		snprintf(reason, sizeof(reason), __VA_ARGS__); \
		return -1;                                     \
	} while (0)

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	for (size_t i = 0; p && i < n; i++)
		p[i] = (uint8_t)(i * 7 % 251);
	return p;
}

static int echo(size_t size, const char *text)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__EchoResponse *resp;
	struct ttrpc_status st = { 0 };
	int r;

	req.payload.len = size;
	req.payload.data = pattern(size);
	req.text = (char *)text;
	r = ttrpc__interop__v1__interop_echo_sync(client, &req, NULL, &resp, &st);
	free(req.payload.data);
	if (r < 0) {
		snprintf(reason, sizeof(reason), "Echo(%zu): %s %s %s", size, strerror(-r),
			 ttrpc_code_name(st.code), st.message ? st.message : "");
		ttrpc_status_clear(&st);
		return -1;
	}
	uint8_t *want = pattern(size);
	int ok = resp->payload.len == size &&
		 (size == 0 || memcmp(resp->payload.data, want, size) == 0) &&
		 strcmp(resp->text, text) == 0;
	free(want);
	ttrpc__interop__v1__echo_response__free_unpacked(resp, NULL);
	if (!ok)
		FAILF("Echo(%zu): payload or text differ", size);
	return 0;
}

static int case_echo_empty(void)
{
	return echo(0, "");
}
static int case_echo_1b(void)
{
	return echo(1, "a");
}
static int case_echo_64k(void)
{
	return echo(65536, "64k");
}
static int case_echo_max(void)
{
	return echo(TTRPC_MAX_MESSAGE_SIZE - 64, "max");
}

static int case_echo_oversize(void)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	Ttrpc__Interop__V1__EchoResponse *resp;
	int r;

	req.payload.len = TTRPC_MAX_MESSAGE_SIZE + 1;
	req.payload.data = pattern(req.payload.len);
	r = ttrpc__interop__v1__interop_echo_sync(client, &req, NULL, &resp, NULL);
	free(req.payload.data);
	if (r != -EMSGSIZE)
		FAILF("oversized Echo: want -EMSGSIZE (refused before sending), got %d", r);
	return echo(3, "still usable");
}

static int case_fail_codes(void)
{
	static const struct {
		int code;
		const char *message;
	} cases[] = {
		{ 3, "bad argument" },      { 5, "not found: x" }, { 7, "denied" },
		{ 13, "internal ünïcödé" }, { 14, "unavailable" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		Ttrpc__Interop__V1__FailRequest req = TTRPC__INTEROP__V1__FAIL_REQUEST__INIT;
		struct ttrpc_status st = { 0 };
		Ttrpc__Interop__V1__Empty *resp;
		int r, ok;

		req.code = cases[i].code;
		req.message = (char *)cases[i].message;
		r = ttrpc__interop__v1__interop_fail_sync(client, &req, NULL, &resp, &st);
		ok = r == -EREMOTEIO && st.code == cases[i].code && st.message &&
		     strcmp(st.message, cases[i].message) == 0;
		if (!ok) {
			snprintf(reason, sizeof(reason), "Fail(%d, %s): got %d %s \"%s\"",
				 cases[i].code, cases[i].message, r, ttrpc_code_name(st.code),
				 st.message ? st.message : "");
			ttrpc_status_clear(&st);
			if (r == 0)
				ttrpc__interop__v1__empty__free_unpacked(resp, NULL);
			return -1;
		}
		ttrpc_status_clear(&st);
	}
	return 0;
}

static int sleep_call(uint64_t millis, uint64_t timeout_us, struct ttrpc_status *st)
{
	Ttrpc__Interop__V1__SleepRequest req = TTRPC__INTEROP__V1__SLEEP_REQUEST__INIT;
	struct ttrpc_call_opts opts = { .timeout_us = timeout_us };
	Ttrpc__Interop__V1__Empty *resp;
	int r;

	req.millis = millis;
	r = ttrpc__interop__v1__interop_sleep_sync(client, &req, &opts, &resp, st);
	if (r == 0)
		ttrpc__interop__v1__empty__free_unpacked(resp, NULL);
	return r;
}

static int case_sleep_ok(void)
{
	struct ttrpc_status st = { 0 };
	int r = sleep_call(50, 5000000, &st);

	if (r != 0) {
		snprintf(reason, sizeof(reason), "Sleep(50ms): %d %s", r,
			 st.message ? st.message : "");
		ttrpc_status_clear(&st);
		return -1;
	}
	return 0;
}

static int case_sleep_deadline(void)
{
	struct ttrpc_status st = { 0 };
	time_t start = time(NULL);
	int r = sleep_call(5000, 300000, &st);
	int code = st.code;

	ttrpc_status_clear(&st);
	if (r != -EREMOTEIO || code != TTRPC_DEADLINE_EXCEEDED)
		FAILF("Sleep(5s) with a 300ms deadline: got %d %s", r, ttrpc_code_name(code));
	if (time(NULL) - start > 3)
		FAILF("Sleep(5s) with a 300ms deadline took over 3 s");
	return 0;
}

static int case_metadata(void)
{
	static const struct ttrpc_kv md[] = { { "k1", "v1" }, { "k2", "a" }, { "k2", "b" } };
	struct ttrpc_call_opts opts = { .metadata = md, .n_metadata = 3 };
	Ttrpc__Interop__V1__Empty req = TTRPC__INTEROP__V1__EMPTY__INIT;
	Ttrpc__Interop__V1__MetadataResponse *resp;
	int r, seen_k1 = 0, k2_order = 0;

	r = ttrpc__interop__v1__interop_metadata_sync(client, &req, &opts, &resp, NULL);
	if (r < 0)
		FAILF("Metadata: %d", r);
	for (size_t i = 0; i < resp->n_pairs; i++) {
		const char *k = resp->pairs[i]->key, *v = resp->pairs[i]->value;

		if (strcmp(k, "k1") == 0 && strcmp(v, "v1") == 0)
			seen_k1++;
		else if (strcmp(k, "k2") == 0 && strcmp(v, "a") == 0 && k2_order == 0)
			k2_order = 1;
		else if (strcmp(k, "k2") == 0 && strcmp(v, "b") == 0 && k2_order == 1)
			k2_order = 2;
	}
	r = resp->n_pairs == 3 && seen_k1 == 1 && k2_order == 2;
	ttrpc__interop__v1__metadata_response__free_unpacked(resp, NULL);
	if (!r)
		FAILF("Metadata: pairs differ from k1=v1, k2=a, k2=b");
	return 0;
}

static int case_peer(void)
{
	Ttrpc__Interop__V1__Empty req = TTRPC__INTEROP__V1__EMPTY__INIT;
	Ttrpc__Interop__V1__PeerResponse *resp;
	int r;

	r = ttrpc__interop__v1__interop_peer_sync(client, &req, NULL, &resp, NULL);
	if (r < 0)
		FAILF("Peer: %d", r);
	r = resp->pid == getpid() && resp->uid == getuid() && resp->gid == getgid();
	if (!r)
		snprintf(reason, sizeof(reason), "Peer: got pid %lld uid %u gid %u",
			 (long long)resp->pid, resp->uid, resp->gid);
	ttrpc__interop__v1__peer_response__free_unpacked(resp, NULL);
	return r ? 0 : -1;
}

static int case_after_all(void)
{
	return echo(16, "after all");
}

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "echo_empty", case_echo_empty },       { "echo_1b", case_echo_1b },
	{ "echo_64k", case_echo_64k },           { "echo_max", case_echo_max },
	{ "echo_oversize", case_echo_oversize }, { "fail_codes", case_fail_codes },
	{ "sleep_ok", case_sleep_ok },           { "sleep_deadline", case_sleep_deadline },
	{ "metadata", case_metadata },           { "peer", case_peer },
	{ "after_all", case_after_all },
};

int main(int argc, char **argv)
{
	const char *path = NULL, *only = NULL;
	int passed = 0, failed = 0, c, r;

	while ((c = getopt(argc, argv, "s:c:")) != -1) {
		if (c == 's')
			path = optarg;
		else if (c == 'c')
			only = optarg;
		else
			return 2;
	}
	if (!path) {
		fprintf(stderr, "usage: %s -s SOCKET [-c CASE]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	r = ttrpc_client_open(path, &client);
	if (r < 0) {
		fprintf(stderr, "interop-client: cannot connect to %s: %s\n", path, strerror(-r));
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (only && strcmp(only, cases[i].name) != 0)
			continue;
		reason[0] = '\0';
		if (cases[i].run() == 0) {
			printf("ok %s\n", cases[i].name);
			passed++;
		} else {
			printf("FAIL %s: %s\n", cases[i].name, reason);
			failed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	ttrpc_client_free(client);
	return failed ? 1 : 0;
}
