/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sd_notify(3) protocol, spoken to an address read once at start-up.
 *
 * libsystemd's sd_notify() reads $NOTIFY_SOCKET at every call, so a module
 * that unsets it (or setenv()s garbage) silences every later WATCHDOG=1,
 * STOPPING=1 and FDSTORE=1, and systemd then kills ttrpcd every
 * WatchdogSec; libsystemd has no variant that takes an address. Putting the
 * variable back before each call would race with the modules that change
 * the environment and leave it in every child's. So ttrpcd keeps the
 * address, removes the variable, and sends the datagrams itself: one
 * datagram of KEY=VALUE lines per message, with the fds of FDSTORE=1 as
 * SCM_RIGHTS, over a SOCK_DGRAM socket opened before any module loads (so
 * that neither a module nor fd exhaustion can take it away). The kernel
 * adds the credentials the manager asks for with SO_PASSCRED. Blocking, as
 * libsystemd's: a message to a busy manager waits rather than being lost.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "daemon/log.h"
#include "daemon/notify.h"

struct ttrpcd_notify {
	int fd; /* -1: no service manager */
	struct sockaddr_un addr;
	socklen_t addrlen;
	uint64_t watchdog_usec; /* 0: not watched */
	int failing;            /* errno of the last send that failed, 0 since one worked */
	struct event *status_timer;
	struct event *watchdog_timer;
	ttrpcd_status_fn status;
	void *userdata;
	char last[256]; /* the last status line sent */
};

/*
 * $NOTIFY_SOCKET as sd_notify(3) takes it on systemd 252: an absolute path,
 * or '@' for an abstract address. Return: 0, or -EAFNOSUPPORT / -EINVAL.
 */
static int parse_address(const char *s, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n = strlen(s);

	if (s[0] != '/' && s[0] != '@')
		return -EAFNOSUPPORT;
	if (n < 2 || n > sizeof(sa->sun_path))
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, s, n);
	if (s[0] == '@')
		sa->sun_path[0] = '\0';
	/* An abstract name is counted, not NUL-terminated. */
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (s[0] == '/'));
	return 0;
}

int ttrpcd_notify_new(struct ttrpcd_notify **ret)
{
	struct ttrpcd_notify *n = calloc(1, sizeof(*n));
	const char *addr = getenv("NOTIFY_SOCKET");
	int r;

	if (!n)
		return -ENOMEM;
	n->fd = -1;
	/* Unset as well, so that no child inherits the watchdog. */
	if (sd_watchdog_enabled(1, &n->watchdog_usec) <= 0)
		n->watchdog_usec = 0;
	if (addr && *addr) {
		r = parse_address(addr, &n->addr, &n->addrlen);
		if (r < 0)
			ttrpcd_log(TTRPC_LOG_WARNING, "ignoring $NOTIFY_SOCKET '%s': %s", addr,
				   strerror(-r));
		else if ((n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
			ttrpcd_log(TTRPC_LOG_ERR,
				   "notify socket: %s; the service manager will "
				   "not hear from ttrpcd",
				   strerror(errno));
	}
	unsetenv("NOTIFY_SOCKET");
	*ret = n;
	return 0;
}

/*
 * Send one message, with @fd as SCM_RIGHTS when it is not -1. A failure is
 * logged when it starts and when sending works again, not at every ping.
 */
static int send_msg(struct ttrpcd_notify *n, const char *msg, int fd)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = { 0 };
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };
	struct msghdr mh = {
		.msg_name = &n->addr,
		.msg_namelen = n->addrlen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	int r;

	if (n->fd < 0)
		return 0;
	if (fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while ((r = (int)sendmsg(n->fd, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (r >= 0) {
		if (n->failing)
			ttrpcd_log(TTRPC_LOG_NOTICE, "the service manager hears ttrpcd again");
		n->failing = 0;
		return 1;
	}
	r = -errno;
	/*
	 * Refused or missing: nobody listens there any more. That is how a
	 * manager that only waits for READY=1 (the shim's launcher) leaves,
	 * not a fault of ttrpcd's, so it is told once, as such.
	 */
	if (n->failing != -r && (r == -ECONNREFUSED || r == -ENOENT))
		ttrpcd_log(TTRPC_LOG_INFO,
			   "the service manager no longer listens (%s): ttrpcd goes on without it",
			   strerror(-r));
	else if (n->failing != -r)
		ttrpcd_log(TTRPC_LOG_NOTICE, "cannot notify the service manager: %s", strerror(-r));
	n->failing = -r;
	return r;
}

static int sendf(struct ttrpcd_notify *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int sendf(struct ttrpcd_notify *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return send_msg(n, msg, -1);
}

static void send_status(struct ttrpcd_notify *n, const char *prefix)
{
	char line[256];

	n->status(line, sizeof(line), n->userdata);
	if (!prefix && strcmp(line, n->last) == 0)
		return;
	snprintf(n->last, sizeof(n->last), "%s", line);
	sendf(n, "%sSTATUS=%s", prefix ? prefix : "", line);
}

static void on_status_timer(evutil_socket_t fd, short what, void *arg)
{
	send_status(arg, NULL);
}

static void on_watchdog_timer(evutil_socket_t fd, short what, void *arg)
{
	send_msg(arg, "WATCHDOG=1", -1);
}

int ttrpcd_notify_start(struct ttrpcd_notify *n, struct event_base *base, ttrpcd_status_fn status,
			void *userdata)
{
	struct timeval second = { .tv_sec = 1 };
	uint64_t half = n->watchdog_usec / 2;

	n->status = status;
	n->userdata = userdata;
	n->status_timer = event_new(base, -1, EV_PERSIST, on_status_timer, n);
	if (!n->status_timer || event_add(n->status_timer, &second) < 0)
		return -ENOMEM;
	if (half > 0) {
		struct timeval tv = { .tv_sec = (time_t)(half / 1000000),
				      .tv_usec = (suseconds_t)(half % 1000000) };

		n->watchdog_timer = event_new(base, -1, EV_PERSIST, on_watchdog_timer, n);
		if (!n->watchdog_timer || event_add(n->watchdog_timer, &tv) < 0)
			return -ENOMEM;
		ttrpcd_log(TTRPC_LOG_DEBUG, "watchdog: pinging every %llu ms",
			   (unsigned long long)(half / 1000));
	}
	return 0;
}

void ttrpcd_notify_free(struct ttrpcd_notify *n)
{
	if (!n)
		return;
	if (n->status_timer)
		event_free(n->status_timer);
	if (n->watchdog_timer)
		event_free(n->watchdog_timer);
	if (n->fd >= 0)
		close(n->fd);
	free(n);
}

bool ttrpcd_notify_managed(const struct ttrpcd_notify *n)
{
	return n->fd >= 0 && n->failing != ECONNREFUSED && n->failing != ENOENT;
}

void ttrpcd_notify_ready(struct ttrpcd_notify *n, const char *text)
{
	if (text)
		sendf(n, "READY=1\nSTATUS=%s", text);
	else
		send_status(n, "READY=1\n");
}

void ttrpcd_notify_reloading(struct ttrpcd_notify *n)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sendf(n, "RELOADING=1\nMONOTONIC_USEC=%llu",
	      (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000);
}

void ttrpcd_notify_status(struct ttrpcd_notify *n, const char *text)
{
	sendf(n, "STATUS=%s", text);
}

void ttrpcd_notify_stopping(struct ttrpcd_notify *n, const char *text)
{
	sendf(n, "STOPPING=1\nSTATUS=%s", text);
}

int ttrpcd_notify_fdstore(struct ttrpcd_notify *n, int fd, const char *name)
{
	char msg[300];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	return send_msg(n, msg, fd);
}
