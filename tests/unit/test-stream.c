/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The stream state machine (stream.c): every flag sequence of the protocol
 * document, legal and illegal, for both roles and the four method kinds.
 */
#include "config.h"

#include <check.h>
#include <errno.h>

#include "frame.h"
#include "stream.h"

#define RC TTRPC__FLAG_REMOTE_CLOSED
#define RO TTRPC__FLAG_REMOTE_OPEN
#define ND TTRPC__FLAG_NO_DATA
#define DATA TTRPC__TYPE_DATA
#define RESP TTRPC__TYPE_RESPONSE
#define REQ TTRPC__TYPE_REQUEST

#define UNARY TTRPC_METHOD_UNARY
#define SSTREAM TTRPC_METHOD_SERVER_STREAM
#define CSTREAM TTRPC_METHOD_CLIENT_STREAM
#define BIDI TTRPC_METHOD_BIDI_STREAM

struct step {
	uint8_t type, flags;
	enum ttrpc__stream_event want;
};

struct sequence {
	const char *name;
	enum ttrpc__stream_role role;
	enum ttrpc_method_kind kind;
	struct step steps[6];
	int n;
	bool remote_closed_after;
};

static const struct sequence sequences[] = {
	/* ---- server role: what the client sends after its Request ---- */
	{ "server: Data on a unary call",
	  TTRPC__ROLE_SERVER,
	  UNARY,
	  { { DATA, 0, TTRPC__EV_ERR_UNARY } },
	  1,
	  true },
	{ "server: Data on a server stream (the client closed with its Request)",
	  TTRPC__ROLE_SERVER,
	  SSTREAM,
	  { { DATA, 0, TTRPC__EV_ERR_CLOSED } },
	  1,
	  true },
	{ "server: client stream: messages, then CloseSend",
	  TTRPC__ROLE_SERVER,
	  CSTREAM,
	  { { DATA, 0, TTRPC__EV_MESSAGE },
	    { DATA, 0, TTRPC__EV_MESSAGE },
	    { DATA, RC | ND, TTRPC__EV_END } },
	  3,
	  true },
	{ "server: an empty message is a zero-length Data without NO_DATA",
	  TTRPC__ROLE_SERVER,
	  BIDI,
	  { { DATA, 0, TTRPC__EV_MESSAGE } },
	  1,
	  false },
	{ "server: NO_DATA alone carries nothing",
	  TTRPC__ROLE_SERVER,
	  BIDI,
	  { { DATA, ND, TTRPC__EV_NONE }, { DATA, 0, TTRPC__EV_MESSAGE } },
	  2,
	  false },
	{ "server: the last message rides on the closing frame",
	  TTRPC__ROLE_SERVER,
	  CSTREAM,
	  { { DATA, RC, TTRPC__EV_MESSAGE_END } },
	  1,
	  true },
	{ "server: Data after the client closed",
	  TTRPC__ROLE_SERVER,
	  BIDI,
	  { { DATA, RC | ND, TTRPC__EV_END },
	    { DATA, 0, TTRPC__EV_ERR_CLOSED },
	    { DATA, RC | ND, TTRPC__EV_ERR_CLOSED } },
	  3,
	  true },
	{ "server: Response and unknown types from a client are ignored",
	  TTRPC__ROLE_SERVER,
	  BIDI,
	  { { RESP, 0, TTRPC__EV_NONE }, { 9, RC, TTRPC__EV_NONE }, { DATA, 0, TTRPC__EV_MESSAGE } },
	  3,
	  false },
	{ "server: remote-open on Data means nothing more",
	  TTRPC__ROLE_SERVER,
	  BIDI,
	  { { DATA, RO, TTRPC__EV_MESSAGE } },
	  1,
	  false },

	/* ---- client role: what the server sends ---- */
	{ "client: unary Response",
	  TTRPC__ROLE_CLIENT,
	  UNARY,
	  { { RESP, 0, TTRPC__EV_FINAL } },
	  1,
	  true },
	{ "client: Data on a unary call is a protocol error",
	  TTRPC__ROLE_CLIENT,
	  UNARY,
	  { { DATA, 0, TTRPC__EV_ERR_NOT_STREAM } },
	  1,
	  false },
	{ "client: server stream: messages, then Data RC|ND",
	  TTRPC__ROLE_CLIENT,
	  SSTREAM,
	  { { DATA, 0, TTRPC__EV_MESSAGE },
	    { DATA, 0, TTRPC__EV_MESSAGE },
	    { DATA, RC | ND, TTRPC__EV_END } },
	  3,
	  true },
	{ "client: server stream ending with its last message",
	  TTRPC__ROLE_CLIENT,
	  SSTREAM,
	  { { DATA, 0, TTRPC__EV_MESSAGE }, { DATA, RC, TTRPC__EV_MESSAGE_END } },
	  2,
	  true },
	{ "client: server stream failing with a Response",
	  TTRPC__ROLE_CLIENT,
	  BIDI,
	  { { DATA, 0, TTRPC__EV_MESSAGE }, { RESP, 0, TTRPC__EV_FINAL } },
	  2,
	  true },
	{ "client: frames after the end are dropped",
	  TTRPC__ROLE_CLIENT,
	  BIDI,
	  { { DATA, RC | ND, TTRPC__EV_END }, { DATA, 0, TTRPC__EV_NONE } },
	  2,
	  true },
	{ "client: a client stream ends with a Response",
	  TTRPC__ROLE_CLIENT,
	  CSTREAM,
	  { { RESP, 0, TTRPC__EV_FINAL } },
	  1,
	  true },
	{ "client: Data from a server that does not stream",
	  TTRPC__ROLE_CLIENT,
	  CSTREAM,
	  { { DATA, 0, TTRPC__EV_ERR_NOT_STREAM } },
	  1,
	  false },
	{ "client: NO_DATA alone, a Request or an unknown type carry nothing",
	  TTRPC__ROLE_CLIENT,
	  SSTREAM,
	  { { DATA, ND, TTRPC__EV_NONE }, { REQ, 0, TTRPC__EV_NONE }, { 9, 0, TTRPC__EV_NONE } },
	  3,
	  false },
};

START_TEST(test_sequence)
{
	const struct sequence *q = &sequences[_i];
	struct ttrpc__stream s;

	ttrpc__stream_init(&s, q->role, q->kind);
	for (int i = 0; i < q->n; i++)
		ck_assert_msg(ttrpc__stream_recv(&s, q->steps[i].type, q->steps[i].flags) ==
				      q->steps[i].want,
			      "%s: step %d", q->name, i);
	ck_assert_msg(s.remote_closed == q->remote_closed_after, "%s: remote closed", q->name);
}
END_TEST

START_TEST(test_request_flags)
{
	/* as Go sends them: unary none, RO when the client streams, else RC */
	ck_assert_uint_eq(ttrpc__stream_request_flags(UNARY), 0);
	ck_assert_uint_eq(ttrpc__stream_request_flags(SSTREAM), RC);
	ck_assert_uint_eq(ttrpc__stream_request_flags(CSTREAM), RO);
	ck_assert_uint_eq(ttrpc__stream_request_flags(BIDI), RO);
}
END_TEST

START_TEST(test_initial_states)
{
	struct ttrpc__stream s;

	/* a client that does not stream closed its side with the Request */
	ttrpc__stream_init(&s, TTRPC__ROLE_CLIENT, SSTREAM);
	ck_assert(s.local_closed && !s.remote_closed);
	ttrpc__stream_init(&s, TTRPC__ROLE_SERVER, SSTREAM);
	ck_assert(!s.local_closed && s.remote_closed);
	ttrpc__stream_init(&s, TTRPC__ROLE_CLIENT, BIDI);
	ck_assert(!s.local_closed && !s.remote_closed);
	ttrpc__stream_init(&s, TTRPC__ROLE_SERVER, UNARY);
	ck_assert(!s.local_closed && s.remote_closed);
}
END_TEST

START_TEST(test_who_may_send)
{
	static const struct {
		enum ttrpc__stream_role role;
		enum ttrpc_method_kind kind;
		int want;
	} cases[] = {
		{ TTRPC__ROLE_CLIENT, UNARY, -EINVAL },   { TTRPC__ROLE_CLIENT, SSTREAM, -EINVAL },
		{ TTRPC__ROLE_CLIENT, CSTREAM, 0 },       { TTRPC__ROLE_CLIENT, BIDI, 0 },
		{ TTRPC__ROLE_SERVER, UNARY, -EINVAL },   { TTRPC__ROLE_SERVER, SSTREAM, 0 },
		{ TTRPC__ROLE_SERVER, CSTREAM, -EINVAL }, { TTRPC__ROLE_SERVER, BIDI, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ttrpc__stream s;

		ttrpc__stream_init(&s, cases[i].role, cases[i].kind);
		ck_assert_int_eq(ttrpc__stream_can_send(&s), cases[i].want);
		if (cases[i].want == 0) {
			/* CloseSend / the end of the server's side: nothing more */
			ttrpc__stream_close_local(&s);
			ck_assert_int_eq(ttrpc__stream_can_send(&s), -EPIPE);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("states");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_sequence, 0, (int)(sizeof(sequences) / sizeof(sequences[0])));
	tcase_add_test(tc, test_request_flags);
	tcase_add_test(tc, test_initial_states);
	tcase_add_test(tc, test_who_may_send);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
