/*
 * download-server: serves Echo and Download of ttrpc.interop.v1.Interop on a
 * unix socket until killed. The interop service of interop-server and of
 * ttrpcd's module serves no streaming methods yet; the streaming row of the
 * benchmark, and its smoke test, need one that does.
 *
 * Usage: download-server PATH   (prints "ready PATH" once listening)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include <ttrpc/ttrpc.h>

#include "interop-streams.h"
#include "interop.pb-c.h"

static void on_echo(struct ttrpc_call *call, const ProtobufCMessage *msg, void *userdata)
{
	const Ttrpc__Interop__V1__EchoRequest *req = (const void *)msg;
	Ttrpc__Interop__V1__EchoResponse resp = TTRPC__INTEROP__V1__ECHO_RESPONSE__INIT;

	resp.payload = req->payload;
	resp.text = req->text;
	ttrpc_call_reply(call, &resp.base);
}

static const struct ttrpc_method methods[] = {
	TTRPC_UNARY("Echo", &ttrpc__interop__v1__echo_request__descriptor,
	            &ttrpc__interop__v1__echo_response__descriptor, on_echo),
	TTRPC_SERVER_STREAM("Download", &ttrpc__interop__v1__stream_request__descriptor,
	                    &ttrpc__interop__v1__chunk__descriptor, interop_download),
	TTRPC_METHODS_END,
};

int main(int argc, char **argv)
{
	struct event_base *base;
	struct ttrpc_server *srv;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base || ttrpc_server_new(base, &srv) < 0) {
		fprintf(stderr, "download-server: out of memory\n");
		return 1;
	}
	r = ttrpc_server_register(srv, "ttrpc.interop.v1.Interop", methods, NULL);
	if (r == 0)
		r = ttrpc_server_listen_unix(srv, argv[1], 0600);
	if (r < 0) {
		fprintf(stderr, "download-server: cannot serve on %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	printf("ready %s\n", argv[1]);
	fflush(stdout);
	event_base_dispatch(base);
	return 0;
}
