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
#include <sys/stat.h>
#include <unistd.h>

#include "oom.h"

struct shim_oom {
	int efd;
	struct event *ev;
	char *dir;
	shim_oom_fn fn;
	void *arg;
};

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

int shim_oom_watch(struct event_base *base, const char *dir, shim_oom_fn fn, void *arg,
		   struct shim_oom **ret)
{
	struct shim_oom *o = calloc(1, sizeof(*o));
	char path[4096], line[64];
	int ofd = -1, cfd = -1, r = 0;

	if (!o)
		return -ENOMEM;
	o->fn = fn;
	o->arg = arg;
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
