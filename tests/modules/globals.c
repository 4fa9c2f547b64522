/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A module that does to the process what ttrpcd-module(7) forbids, to show
 * that ttrpcd keeps talking to its service manager all the same: in init,
 * and again on the loop's first turn once the daemon is ready, it removes
 * $NOTIFY_SOCKET, $WATCHDOG_* and $LISTEN_*, sets them to garbage, and
 * changes the working directory to its setting "chdir" (default /). Then,
 * with its setting "env-file", it runs env(1) through the host with no
 * environment of its own, its output into that file: what a child gets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <ttrpc/module.h>

static const char *const systemd_vars[] = {
	"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
	"LISTEN_PID",    "LISTEN_FDS",    "LISTEN_FDNAMES",
};

static void misbehave(struct ttrpcd_host *host)
{
	for (size_t i = 0; i < sizeof(systemd_vars) / sizeof(systemd_vars[0]); i++)
		unsetenv(systemd_vars[i]);
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	setenv("WATCHDOG_USEC", "1", 1);
	setenv("LISTEN_FDS", "garbage", 1);
	const char *dir = ttrpcd_host_config(host, "chdir");

	if (chdir(dir ? dir : "/") < 0)
		ttrpcd_host_log(host, TTRPC_LOG_WARNING, "chdir %s: failed", dir ? dir : "/");
	ttrpcd_host_log(host, TTRPC_LOG_NOTICE,
			"the environment and the working directory changed");
}

static void on_env_exit(struct ttrpcd_host *host, pid_t pid, int wstatus, void *userdata)
{
	(void)userdata;
	ttrpcd_host_log(host, TTRPC_LOG_NOTICE, "env (pid %d) exited with status %d", (int)pid,
			WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
}

/* env(1) with the environment the host gives a child by default. */
static void run_env(struct ttrpcd_host *host)
{
	static const char *const argv[] = { "env", NULL };
	const char *path = ttrpcd_host_config(host, "env-file");
	struct ttrpcd_spawn spawn = { .argv = argv, .stdio = { -1, -1, 2 } };
	pid_t pid;
	int fd, r;

	if (!path)
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		ttrpcd_host_log(host, TTRPC_LOG_ERR, "%s: %s", path, strerror(errno));
		return;
	}
	spawn.stdio[1] = fd;
	r = ttrpcd_host_spawn(host, &spawn, on_env_exit, NULL, &pid);
	close(fd);
	if (r < 0)
		ttrpcd_host_log(host, TTRPC_LOG_ERR, "env: %s", strerror(-r));
}

static void on_first_turn(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	misbehave(arg);
	run_env(arg);
}

static int globals_init(struct ttrpcd_host *host)
{
	misbehave(host);
	return event_base_once(ttrpcd_host_event_base(host), -1, EV_TIMEOUT, on_first_turn, host,
			       NULL) < 0
		       ? -ENOMEM
		       : 0;
}

static const char *const globals_keys[] = { "chdir", "env-file", NULL };

TTRPCD_MODULE_DEFINE(.name = "globals", .config_keys = globals_keys, .init = globals_init);
