/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The described module: ttrpc.test.v1.Described on the generated code, for
 * ttrpcctl's tests. Its constructor leaves a mark of every process that
 * loads it, a file named after the process in $TTRPCCTL_TEST_MARKS: the
 * daemon does, and ttrpcctl must not (it learns the types from the
 * descriptors the daemon serves, and runs no module code).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/module.h>

#include "described.ttrpc-c.h"

__attribute__((constructor)) static void mark_process(void)
{
	const char *dir = getenv("TTRPCCTL_TEST_MARKS");
	char path[4096];
	int fd;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/loaded-by-%ld", dir, (long)getpid());
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

static void on_echo(struct ttrpc_call *call, const Ttrpc__Test__V1__Bag *req, void *userdata)
{
	(void)userdata;
	ttrpc__test__v1__described_echo_reply(call, req);
}

static void on_deadline(struct ttrpc_call *call, const Ttrpc__Test__V1__DeadlineRequest *req,
			void *userdata)
{
	Ttrpc__Test__V1__DeadlineResponse resp = TTRPC__TEST__V1__DEADLINE_RESPONSE__INIT;
	uint64_t deadline = ttrpc_call_deadline(call), arrival = ttrpc_call_arrival(call);

	(void)req;
	(void)userdata;
	resp.has_deadline = deadline != 0;
	resp.remaining_ms = deadline > arrival ? (deadline - arrival) / 1000 : 0;
	ttrpc__test__v1__described_deadline_reply(call, &resp);
}

static const struct ttrpc__test__v1__described_handlers described = {
	.echo = on_echo,
	.deadline = on_deadline,
};

static int described_init(struct ttrpcd_host *host)
{
	struct ttrpc_service svc = ttrpc__test__v1__described_service(&described);

	return ttrpcd_host_register_service(host, &svc);
}

static const struct ttrpcd_service_decl described_services[] = {
	{ TTRPC__TEST__V1__DESCRIBED__NAME, ttrpc__test__v1__described_methods },
	TTRPCD_SERVICES_END,
};

TTRPCD_MODULE_DEFINE(.name = "described", .init = described_init, .services = described_services, );
