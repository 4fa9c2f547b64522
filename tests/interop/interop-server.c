/* SPDX-License-Identifier: Apache-2.0 */
/*
 * interop-server: serves ttrpc.interop.v1.Interop on a unix socket until
 * SIGINT or SIGTERM, then shuts down gracefully. The peer used by the Go
 * client in the interop tests, and what the README's "run" command starts.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "interop-service.h"

#define DEFAULT_SOCKET "/run/ttrpcd/ttrpcd.sock"

struct app {
	struct event_base *base;
	struct ttrpc_server *srv;
};

static void on_shutdown(struct ttrpc_server *srv, bool drained, void *arg)
{
	struct app *app = arg;

	event_base_loopbreak(app->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;

	fprintf(stderr, "interop-server: %s, shutting down\n", strsignal(sig));
	ttrpc_server_shutdown(app->srv, 5000, on_shutdown, app);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *path = DEFAULT_SOCKET;
	struct app app;
	struct event_base *base;
	struct ttrpc_server *srv;
	struct event *sigint, *sigterm;
	int c, r;

	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("usage: %s [--socket PATH]  (default %s)\n", argv[0],
			       DEFAULT_SOCKET);
			return 0;
		default:
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(path, DEFAULT_SOCKET) == 0)
		mkdir("/run/ttrpcd", 0755);

	base = event_base_new();
	if (!base || ttrpc_server_new(base, &srv) < 0) {
		fprintf(stderr, "interop-server: out of memory\n");
		return 1;
	}
	r = interop_service_register(srv);
	if (r == 0)
		r = ttrpc_server_listen_unix(srv, path, 0660);
	if (r < 0) {
		fprintf(stderr, "interop-server: cannot listen on %s: %s\n", path, strerror(-r));
		return 1;
	}
	app.base = base;
	app.srv = srv;
	sigint = evsignal_new(base, SIGINT, on_signal, &app);
	sigterm = evsignal_new(base, SIGTERM, on_signal, &app);
	evsignal_add(sigint, NULL);
	evsignal_add(sigterm, NULL);
	printf("ready %s\n", path);
	fflush(stdout);

	event_base_dispatch(base);

	ttrpc_server_free(srv);
	event_free(sigint);
	event_free(sigterm);
	event_base_free(base);
	return 0;
}
