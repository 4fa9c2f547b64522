/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The eventfd of cgroup v1's OOM notification. The kernel signals it on an
 * OOM in the cgroup and also when the cgroup is removed: the second is told
 * from the first by the cgroup's directory, gone (and then the watch ends,
 * as the Go shim's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "oom.h"

struct shim_oom {
	int efd; /* v1: the eventfd; v2: the inotify fd */
	bool v2;
	uint64_t kills; /* v2: the oom_kill count last seen */
	struct event *ev;
	char *dir;
	shim_oom_fn fn;
	void *arg;
};

/* v2: memory.events' oom_kill count, -1 when it cannot be read (the cgroup is gone). */
static int64_t oom_kills(const char *dir)
{
	char path[4200], buf[512];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/memory.events", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return (int64_t)shim_cgroup_oom_kills(buf);
}

static void on_inotify(evutil_socket_t fd, short what, void *arg)
{
	struct shim_oom *o = arg;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t kills;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	kills = oom_kills(o->dir);
	if (kills < 0) {
		event_del(o->ev);
		return;
	}
	if ((uint64_t)kills > o->kills)
		o->fn(o->arg);
	o->kills = (uint64_t)kills;
}

static int watch_v2(struct shim_oom *o)
{
	char path[4200];
	int64_t kills;

	o->efd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (o->efd < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/memory.events", o->dir);
	if (inotify_add_watch(o->efd, path, IN_MODIFY) < 0)
		return -errno;
	kills = oom_kills(o->dir);
	o->kills = kills > 0 ? (uint64_t)kills : 0;
	return 0;
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	struct shim_oom *o = arg;
	uint64_t n;
	struct stat st;

	(void)what;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	if (stat(o->dir, &st) < 0) {
		event_del(o->ev);
		return;
	}
	o->fn(o->arg);
}

int shim_oom_watch(struct event_base *base, const char *dir, bool v2, shim_oom_fn fn, void *arg,
		   struct shim_oom **ret)
{
	struct shim_oom *o = calloc(1, sizeof(*o));
	char path[4096], line[64];
	int ofd = -1, cfd = -1, r = 0;

	if (!o)
		return -ENOMEM;
	o->fn = fn;
	o->arg = arg;
	o->v2 = v2;
	o->efd = -1;
	if (v2) {
		o->dir = strdup(dir);
		r = o->dir ? watch_v2(o) : -ENOMEM;
		if (r == 0 &&
		    (!(o->ev = event_new(base, o->efd, EV_READ | EV_PERSIST, on_inotify, o)) ||
		     event_add(o->ev, NULL) < 0))
			r = -ENOMEM;
		goto out;
	}
	o->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (o->efd < 0 || !(o->dir = strdup(dir))) {
		r = o->efd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	ofd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/cgroup.event_control", dir);
	cfd = ofd >= 0 ? open(path, O_WRONLY | O_CLOEXEC) : -1;
	if (cfd < 0) {
		r = -errno;
		goto out;
	}
	snprintf(line, sizeof(line), "%d %d", o->efd, ofd);
	if (write(cfd, line, strlen(line)) < 0) {
		r = -errno;
		goto out;
	}
	o->ev = event_new(base, o->efd, EV_READ | EV_PERSIST, on_event, o);
	if (!o->ev || event_add(o->ev, NULL) < 0)
		r = -ENOMEM;
out:
	/* The kernel holds what it needs of memory.oom_control. */
	if (ofd >= 0)
		close(ofd);
	if (cfd >= 0)
		close(cfd);
	if (r < 0) {
		shim_oom_free(o);
		return r;
	}
	*ret = o;
	return 0;
}

void shim_oom_free(struct shim_oom *o)
{
	if (!o)
		return;
	if (o->ev)
		event_free(o->ev);
	if (o->efd >= 0)
		close(o->efd);
	free(o->dir);
	free(o);
}
