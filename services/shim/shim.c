/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shim module: containerd.task.v2.Task for one container, run through
 * runc the way containerd-shim-runc-v2 drives it, with ttrpcd as the child
 * subreaper of the container's processes and the task events forwarded to
 * containerd's ttrpc address.
 *
 * containerd-shim-ttrpcd-v2 (launcher.c) starts one ttrpcd per container
 * with this module and writes its settings: namespace, id, ttrpc-address,
 * socket, runc, runc-root. The service is in task.c, the processes in
 * process.c, runc in runc.c, the events in events.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttrpc/module.h>

#include "events.h"
#include "shim.h"
#include "task.h"

/* The first retry of an event waits this long, the n-th n times as long. */
#define EVENT_RETRY_MS 1000

struct shim shim;

void shim_log(int level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ttrpcd_host_log(shim.host, level, "%s", buf);
}

int shim_exit_status(int wstatus)
{
	return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

static const char *setting(struct ttrpcd_host *host, const char *key, const char *def)
{
	const char *v = ttrpcd_host_config(host, key);

	return v && *v ? v : def;
}

static int shim_init(struct ttrpcd_host *host)
{
	static char runc_root[4096];
	struct ttrpc_service svc;
	int r;

	shim.host = host;
	shim.base = ttrpcd_host_event_base(host);
	shim.ns = setting(host, "namespace", "default");
	shim.id = setting(host, "id", "");
	shim.ttrpc_address = setting(host, "ttrpc-address", getenv("TTRPC_ADDRESS"));
	shim.socket = setting(host, "socket", NULL);
	shim.runc = setting(host, "runc", "runc");
	/* The Go shim's default, /run/containerd/runc/NAMESPACE. */
	snprintf(runc_root, sizeof(runc_root), "/run/containerd/runc/%s", shim.ns);
	shim.runc_root = setting(host, "runc-root", runc_root);

	/* Orphans of the container (its processes once runc exits) come to ttrpcd. */
	r = ttrpcd_host_set_subreaper(host, true);
	if (r < 0)
		return ttrpcd_host_fail(host, r, "cannot be the child subreaper: %s", strerror(-r));
	r = shim_events_new(shim.base, shim.ttrpc_address, shim.ns, EVENT_RETRY_MS, &shim.events);
	if (r < 0)
		return r;
	shim.exit_timer = evtimer_new(shim.base, task_exit_timer, NULL);
	if (!shim.exit_timer)
		return -ENOMEM;
	shim_log(TTRPC_LOG_INFO, "shim for %s/%s, runc %s --root %s, events to %s", shim.ns,
		 shim.id, shim.runc, shim.runc_root,
		 shim.ttrpc_address ? shim.ttrpc_address : "nowhere");
	svc = containerd__task__v2__task_service(&task_handlers);
	return ttrpcd_host_register_service(host, &svc);
}

static void shim_fini(struct ttrpcd_host *host)
{
	(void)host;
	if (shim.socket && *shim.socket)
		unlink(shim.socket);
	/* The calls are over, and no exit is told any more: runc ends alone. */
	task_cleanup();
	shim_events_free(shim.events);
	shim.events = NULL;
	if (shim.exit_timer)
		event_free(shim.exit_timer);
	shim.exit_timer = NULL;
}

static const char *const shim_keys[] = {
	"namespace", "id", "ttrpc-address", "socket", "runc", "runc-root", NULL,
};

static const struct ttrpcd_service_decl shim_services[] = {
	{ CONTAINERD__TASK__V2__TASK__NAME, containerd__task__v2__task_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "shim", .config_keys = shim_keys, .init = shim_init, .fini = shim_fini,
		     .services = shim_services, );
