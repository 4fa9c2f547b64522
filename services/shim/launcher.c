/* SPDX-License-Identifier: Apache-2.0 */
/*
 * containerd-shim-ttrpcd-v2: the shim binary protocol of containerd's
 * runtime v2 in front of ttrpcd and its shim module.
 *
 *   containerd-shim-ttrpcd-v2 -namespace NS -address SOCK -publish-binary BIN -id ID start
 *   containerd-shim-ttrpcd-v2 -namespace NS -address SOCK -id ID [-bundle DIR] delete
 *
 * start runs in the bundle directory with TTRPC_ADDRESS set. It writes the
 * daemon's config into the bundle (ttrpcd-shim.conf: one listener on the
 * task's socket, the shim module with the namespace, id and addresses as
 * its settings), starts ttrpcd in a session of its own with its stdio away
 * from ours (containerd reads our stdout and stderr until EOF), waits for
 * READY=1 on a notify socket of ours and prints unix://SOCKET.
 *
 * delete runs when containerd lost the shim: it removes what the shim left
 * (runc delete --force, the rootfs mount, the socket) and prints the
 * DeleteResponse, as the Go shim: exit status 128 + SIGKILL, exited now.
 *
 * ttrpcd and the module are found where make install put them, or at
 * $TTRPCD_SHIM_DAEMON and $TTRPCD_SHIM_MODULE (containerd passes its own
 * environment on), which the tests use for the build tree.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TTRPCD_PATH
#define TTRPCD_PATH "/usr/sbin/ttrpcd"
#endif
#ifndef SHIM_MODULE_PATH
#define SHIM_MODULE_PATH "/usr/lib/ttrpc/shim/shim.so"
#endif

/* Where the task sockets go, as for the Go shims. */
#define SOCKET_DIR "/run/containerd/s"
/* How long ttrpcd may take to be ready. */
#define READY_TIMEOUT_MS 10000

static struct {
	const char *ns, *address, *publish_binary, *id, *bundle;
	bool debug;
} opt = { .ns = "default" };

/* The Go flag package's syntax: -name value, -name=value, --name value. */
static const struct flag {
	const char *name;
	const char **value; /* NULL: a boolean flag */
	bool *set;
} flags[] = {
	{ "namespace", &opt.ns, NULL },
	{ "address", &opt.address, NULL },
	{ "publish-binary", &opt.publish_binary, NULL },
	{ "id", &opt.id, NULL },
	{ "bundle", &opt.bundle, NULL },
	{ "socket", NULL, NULL }, /* the Go shims' own; takes a value, ignored */
	{ "debug", NULL, &opt.debug },
	{ "v", NULL, NULL },
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("containerd-shim-ttrpcd-v2: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static const char *parse_args(int argc, char **argv)
{
	const char *action = NULL;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *eq;
		size_t len;
		const struct flag *f = NULL;

		if (a[0] != '-') {
			action = a;
			continue;
		}
		a += a[1] == '-' ? 2 : 1;
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
			if (strlen(flags[k].name) == len && strncmp(flags[k].name, a, len) == 0)
				f = &flags[k];
		}
		if (!f)
			die("unknown flag %s", argv[i]);
		if (f->set) {
			*f->set = !eq || strcmp(eq + 1, "false") != 0;
			continue;
		}
		if (strcmp(f->name, "v") == 0) {
			printf("containerd-shim-ttrpcd-v2 (ttrpcd) %s\n", PACKAGE_VERSION);
			exit(0);
		}
		if (!eq && i + 1 >= argc)
			die("flag -%s needs a value", f->name);
		if (f->value)
			*f->value = eq ? eq + 1 : argv[i + 1];
		if (!eq)
			i++;
	}
	return action;
}

/*
 * The task's socket: one per containerd, namespace and id, short enough for
 * sun_path whatever the names (FNV-1a 64 of them, as the Go shims hash).
 */
static void socket_path(char *buf, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[] = { opt.address ? opt.address : "", opt.ns, opt.id };

	for (size_t i = 0; i < 3; i++) {
		for (const char *p = parts[i]; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
		h = (h ^ '/') * 0x100000001b3ull;
	}
	snprintf(buf, size, SOCKET_DIR "/ttrpcd-%016llx", (unsigned long long)h);
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* A value that goes into the INI file: one line, within ttrpcd's limit. */
static void check_value(const char *what, const char *v)
{
	if (strchr(v, '\n') || strchr(v, ';') || strchr(v, '#') || strlen(v) > 150)
		die("%s '%s' cannot be passed in ttrpcd's config", what, v);
}

static void write_config(const char *path, const char *sock, const char *bundle)
{
	const char *ttrpc = env_or("TTRPC_ADDRESS", "");
	const char *module = env_or("TTRPCD_SHIM_MODULE", SHIM_MODULE_PATH);
	const char *runc = env_or("TTRPCD_SHIM_RUNC", "runc");
	FILE *f;

	check_value("namespace", opt.ns);
	check_value("id", opt.id);
	check_value("TTRPC_ADDRESS", ttrpc);
	check_value("module", module);
	check_value("bundle", bundle);
	f = fopen(path, "we");
	if (!f)
		die("%s: %s", path, strerror(errno));
	fprintf(f,
		"; written by containerd-shim-ttrpcd-v2 for this task\n"
		"[ttrpcd]\n"
		"log-level = %s\n"
		"drain-timeout = 2s\n"
		/* Wait is answered when the process exits: not a hung call. */
		"slow-call = 0\n"
		"\n"
		"[listener shim]\n"
		"path = %s\n"
		"mode = 0600\n"
		"\n"
		"[module shim]\n"
		"file = %s\n"
		"namespace = %s\n"
		"id = %s\n"
		"ttrpc-address = %s\n"
		"socket = %s\n"
		"runc = %s\n",
		opt.debug ? "debug" : "info", sock, module, opt.ns, opt.id, ttrpc, sock, runc);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* Whether @buf holds a line READY=1 (sd_notify messages are lines). */
static bool has_ready(const char *buf)
{
	for (const char *p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "READY=1", 7) == 0 && (p[7] == '\n' || p[7] == '\0'))
			return true;
	}
	return false;
}

/* Receive one notify message; fds passed with it (FDSTORE=1) are closed. */
static bool recv_ready(int fd)
{
	char buf[4096];
	char cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return false;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			int *fds = (int *)CMSG_DATA(c);
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++)
				close(fds[i]);
		}
	}
	buf[n] = '\0';
	return has_ready(buf);
}

/*
 * Why ttrpcd exited before it was ready. Its stderr went to the bundle's
 * log, which containerd reads and we cannot: run the same ttrpcd on the
 * same config with --check-config and keep the last line it writes when it
 * fails. A library the dynamic linker cannot find (status 127) fails it the
 * same way; a config that checks fine leaves @why empty.
 */
static void why_not_ready(const char *daemon, const char *conf, char *why, size_t size)
{
	char buf[8192], *line, *end;
	size_t n = 0;
	ssize_t k;
	int p[2], st;
	pid_t pid;

	why[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(p[1], 2);
		execl(daemon, daemon, "--check-config", "--config", conf, (char *)NULL);
		dprintf(2, "cannot run %s: %s\n", daemon, strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0) {
		n += (size_t)k;
		/* Keep the end: the reason is the last line. */
		if (n == sizeof(buf) - 1) {
			memmove(buf, buf + n / 2, n - n / 2);
			n -= n / 2;
		}
	}
	close(p[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
		return;
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = strrchr(buf, '\n');
	line = line ? line + 1 : buf;
	/* ttrpcd's "<3>ttrpcd: " prefix says nothing here. */
	if (line[0] == '<' && (end = strchr(line, '>')))
		line = end + 1;
	if (strncmp(line, "ttrpcd: ", 8) == 0)
		line += 8;
	snprintf(why, size, "%.*s", (int)(size - 1), line);
}

static int do_start(void)
{
	char bundle[4096], conf[4200], sock[108], logpath[4200], notify[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *daemon = env_or("TTRPCD_SHIM_DAEMON", TTRPCD_PATH);
	struct timespec t0, t;
	int nfd, st;
	pid_t pid;

	if (!opt.id || !*opt.id)
		die("start needs -id");
	if (!getcwd(bundle, sizeof(bundle)))
		die("getcwd: %s", strerror(errno));
	socket_path(sock, sizeof(sock));
	if (mkdir("/run/containerd", 0711) < 0 && errno != EEXIST)
		die("mkdir /run/containerd: %s", strerror(errno));
	if (mkdir(SOCKET_DIR, 0711) < 0 && errno != EEXIST)
		die("mkdir " SOCKET_DIR ": %s", strerror(errno));
	snprintf(conf, sizeof(conf), "%s/ttrpcd-shim.conf", bundle);
	write_config(conf, sock, bundle);

	/* An abstract socket: nothing to remove, whatever happens to us. */
	snprintf(notify, sizeof(notify), "@ttrpcd-shim-notify-%d", (int)getpid());
	strcpy(sa.sun_path + 1, notify + 1);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nfd < 0 || bind(nfd, (struct sockaddr *)&sa,
			    offsetof(struct sockaddr_un, sun_path) + strlen(notify)) < 0)
		die("notify socket: %s", strerror(errno));

	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		/*
		 * Its own session and process group, so that nothing sent to
		 * containerd's group reaches it; stdio away from our pipes:
		 * stderr to the bundle's log fifo, which containerd copies to its
		 * own log (never blocking on it), else to a file in the bundle.
		 */
		int null = open("/dev/null", O_RDWR);
		int err;

		setsid();
		snprintf(logpath, sizeof(logpath), "%s/log", bundle);
		err = open(logpath, O_RDWR | O_NONBLOCK);
		if (err < 0) {
			snprintf(logpath, sizeof(logpath), "%s/ttrpcd-shim.log", bundle);
			err = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		}
		dup2(null, 0);
		dup2(null, 1);
		dup2(err >= 0 ? err : null, 2);
		close_range(3, ~0u, 0);
		setenv("NOTIFY_SOCKET", notify, 1);
		execl(daemon, daemon, "--config", conf, (char *)NULL);
		dprintf(2, "containerd-shim-ttrpcd-v2: exec %s: %s\n", daemon, strerror(errno));
		_exit(127);
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = nfd, .events = POLLIN };
		long ms;

		if (waitpid(pid, &st, WNOHANG) == pid) {
			char why[1024];

			why_not_ready(daemon, conf, why, sizeof(why));
			die("ttrpcd exited with status %d before it was ready: %s (see %s/log)",
			    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
			    *why ? why : "its log says why", bundle);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= READY_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			die("ttrpcd was not ready within %d ms", READY_TIMEOUT_MS);
		}
		/* Short slices: an exit of ttrpcd is noticed without SIGCHLD. */
		if (poll(&p, 1, 100) > 0 && recv_ready(nfd))
			break;
	}
	close(nfd);

	/* containerd reconnects to the shim from this file after a restart. */
	FILE *f = fopen("address", "we");

	if (f) {
		fprintf(f, "unix://%s", sock);
		fclose(f);
	}
	printf("unix://%s", sock);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* Protobuf varint, for the DeleteResponse. */
static size_t put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static int do_delete(void)
{
	char bundle[4096], sock[108], path[4200], root[4200], buf[32];
	const char *runc = env_or("TTRPCD_SHIM_RUNC", "runc");
	uint8_t out[64], ts[32];
	size_t n = 0, tn = 0;
	struct timespec now;
	unsigned pid = 0;
	int fd;
	pid_t child;

	if (!opt.id || !*opt.id)
		die("delete needs -id");
	if (opt.bundle)
		snprintf(bundle, sizeof(bundle), "%s", opt.bundle);
	else if (!getcwd(bundle, sizeof(bundle)))
		die("getcwd: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/init.pid", bundle);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t k = read(fd, buf, sizeof(buf) - 1);

		if (k > 0) {
			buf[k] = '\0';
			pid = (unsigned)strtoul(buf, NULL, 10);
		}
		close(fd);
	}

	/* The container, if the shim left it: as the module's runc calls. */
	snprintf(root, sizeof(root), "/run/containerd/runc/%s", opt.ns);
	snprintf(path, sizeof(path), "%s/log.json", bundle);
	child = fork();
	if (child == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execlp(runc, runc, "--root", root, "--log", path, "--log-format", "json", "delete",
		       "--force", opt.id, (char *)NULL);
		_exit(127);
	}
	if (child > 0)
		while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
			;
	snprintf(path, sizeof(path), "%s/rootfs", bundle);
	while (umount2(path, MNT_DETACH) == 0)
		;
	socket_path(sock, sizeof(sock));
	unlink(sock);

	/* DeleteResponse{pid = 1, exit_status = 2, exited_at = 3 {seconds, nanos}} */
	clock_gettime(CLOCK_REALTIME, &now);
	ts[tn++] = 0x08;
	tn += put_varint(ts + tn, (uint64_t)now.tv_sec);
	ts[tn++] = 0x10;
	tn += put_varint(ts + tn, (uint64_t)now.tv_nsec);
	if (pid) {
		out[n++] = 0x08;
		n += put_varint(out + n, pid);
	}
	out[n++] = 0x10;
	n += put_varint(out + n, 128 + SIGKILL);
	out[n++] = 0x1a;
	out[n++] = (uint8_t)tn;
	memcpy(out + n, ts, tn);
	n += tn;
	return fwrite(out, 1, n, stdout) == n && fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *action = parse_args(argc, argv);

	if (action && strcmp(action, "start") == 0)
		return do_start();
	if (action && strcmp(action, "delete") == 0)
		return do_delete();
	die("usage: containerd-shim-ttrpcd-v2 -namespace NS -address ADDR -id ID start|delete");
}
