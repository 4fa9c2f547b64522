/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the daemon's process tests share: a temporary directory per test,
 * ttrpcd started as a real process with its stderr captured, and bounded
 * waits for what it logs and for its exit.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ttrpc/ttrpc.h>

#include "daemon-harness.h"
#include "interop.pb-c.h"

char builddir[4096];
char tmp[256];

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Strings that live until the end of the test. */
static char *kept[512];
static size_t n_kept;

const char *keep(char *s)
{
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_lt(n_kept, sizeof(kept) / sizeof(kept[0]));
	return kept[n_kept++] = s;
}

const char *path_in(const char *name)
{
	char *s;

	ck_assert_int_ge(asprintf(&s, "%s/%s", tmp, name), 0);
	return keep(s);
}

const char *build_path(const char *rel)
{
	char *s;

	ck_assert_int_ge(asprintf(&s, "%s/%s", builddir, rel), 0);
	return keep(s);
}

size_t count_in(const char *haystack, const char *needle)
{
	size_t n = 0;

	for (const char *s = strstr(haystack, needle); s; s = strstr(s + 1, needle))
		n++;
	return n;
}

const char *relative_path(const char *abs)
{
	char cwd[4096], *rel;
	size_t n = 0;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	for (const char *c = cwd; *c; c++)
		n += *c == '/' && c[1];
	rel = calloc(1, 3 * n + strlen(abs) + 1);
	ck_assert_ptr_nonnull(rel);
	while (n-- > 0)
		strcat(rel, "../");
	strcat(rel, abs + 1);
	return keep(rel);
}

void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
}

void daemon_test_setup(void)
{
	const char *b = getenv("top_builddir");

	snprintf(builddir, sizeof(builddir), "%s", b ? b : ".");
	snprintf(tmp, sizeof(tmp), "/tmp/ttrpcd-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	signal(SIGPIPE, SIG_IGN);
}

void daemon_test_teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(cmd), 0);
	while (n_kept > 0)
		free(kept[--n_kept]);
}

/*
 * Exec @argv; the build tree's ttrpcd under $TTRPCD_WRAPPER when it is set
 * (words separated by spaces), as make check-valgrind runs it under
 * valgrind. Returns only when exec failed.
 */
static void exec_wrapped(const char *const *argv)
{
	const char *wrapper = getenv("TTRPCD_WRAPPER");
	const char *suffix = "/daemon/ttrpcd", *v[64];
	size_t n = 0, len = strlen(argv[0]);
	char *words, *save, *w;

	if (!wrapper || !*wrapper || len < strlen(suffix) ||
	    strcmp(argv[0] + len - strlen(suffix), suffix) != 0) {
		execv(argv[0], (char *const *)argv);
		return;
	}
	words = strdup(wrapper);
	for (w = strtok_r(words, " ", &save); w && n < 32; w = strtok_r(NULL, " ", &save))
		v[n++] = w;
	for (size_t i = 0; argv[i] && n < 63; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	execvp(v[0], (char *const *)v);
}

/*
 * Start argv[0] with @env (KEY=VALUE, NULL-terminated) set, $LISTEN_* and
 * $NOTIFY_SOCKET cleared otherwise, and @fds passed as systemd passes them.
 */
void spawn(struct proc *p, const char *const *argv, const char *const *env, const int *fds,
	   const char *const *fdnames, size_t nfds)
{
	int pipefd[2];

	memset(p, 0, sizeof(*p));
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	p->pid = fork();
	ck_assert_int_ge(p->pid, 0);
	if (p->pid == 0) {
		int high[16];
		char num[32], names[1024] = "";

		dup2(pipefd[1], STDOUT_FILENO);
		dup2(pipefd[1], STDERR_FILENO);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("NOTIFY_SOCKET");
		unsetenv("WATCHDOG_USEC");
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		/* Out of the way first, so that moving them to 3.. clobbers nothing. */
		for (size_t i = 0; i < nfds; i++)
			high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100);
		for (size_t i = 0; i < nfds; i++) {
			dup2(high[i], 3 + (int)i);
			strcat(names, i ? ":" : "");
			strcat(names, fdnames[i]);
		}
		if (nfds) {
			snprintf(num, sizeof(num), "%zu", nfds);
			setenv("LISTEN_FDS", num, 1);
			snprintf(num, sizeof(num), "%d", (int)getpid());
			setenv("LISTEN_PID", num, 1);
			setenv("LISTEN_FDNAMES", names, 1);
		}
		exec_wrapped(argv);
		_exit(127);
	}
	close(pipefd[1]);
	p->err = pipefd[0];
}

void read_log(struct proc *p, int timeout_ms)
{
	struct pollfd pf = { .fd = p->err, .events = POLLIN };
	ssize_t n;

	if (p->err < 0 || poll(&pf, 1, timeout_ms) <= 0)
		return;
	n = read(p->err, p->log + p->len, sizeof(p->log) - 1 - p->len);
	if (n <= 0) {
		close(p->err);
		p->err = -1;
		return;
	}
	p->len += (size_t)n;
	p->log[p->len] = '\0';
}

/* Wait until the daemon's stderr has @text. */
bool log_wait(struct proc *p, const char *text)
{
	uint64_t end = now_ms() + WAIT_MS;

	while (!strstr(p->log, text) && p->err >= 0 && now_ms() < end)
		read_log(p, (int)(end - now_ms()));
	if (!strstr(p->log, text))
		fprintf(stderr, "expected '%s' in the daemon's log:\n%s\n", text, p->log);
	return strstr(p->log, text) != NULL;
}

/*
 * Wait for the daemon to exit; its exit status, or -1 if killed by a signal.
 * The log is shown when the status is not @expected.
 */
int proc_wait(struct proc *p, int expected)
{
	uint64_t end = now_ms() + WAIT_MS;
	int status;
	pid_t r;

	while ((r = waitpid(p->pid, &status, WNOHANG)) == 0 && now_ms() < end)
		read_log(p, 20);
	if (r == 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &status, 0);
	}
	while (p->err >= 0)
		read_log(p, 1000);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != expected)
		fprintf(stderr, "ttrpcd exited with status 0x%x:\n%s\n", status, p->log);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void daemon_start(struct proc *p, const char *config, const char *const *env)
{
	const char *argv[] = { build_path("daemon/ttrpcd"), "--config", config, NULL };

	spawn(p, argv, env, NULL, NULL, 0);
}

long proc_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

bool proc_alive(const struct proc *p)
{
	int status;

	return waitpid(p->pid, &status, WNOHANG) == 0;
}

bool under_wrapper(void)
{
	const char *w = getenv("TTRPCD_WRAPPER");

	return w && *w;
}

const char *probe_as_nobody(const char *program, const char *sock, const char *groups)
{
	const char *argv[9] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534" };
	struct proc p;
	size_t n = 3;
	char *line;

	if (groups) {
		argv[n++] = "--groups";
		argv[n++] = groups;
	} else {
		argv[n++] = "--clear-groups";
	}
	argv[n++] = build_path(program);
	argv[n++] = "--probe";
	argv[n++] = sock;
	spawn(&p, argv, NULL, NULL, NULL, 0);
	ck_assert_int_eq(proc_wait(&p, 0), 0);
	line = strstr(p.log, "probe:");
	ck_assert_ptr_nonnull(line);
	return keep(strndup(line, strcspn(line, "\n")));
}

int echo(const char *sock, const char *service, const char *text, char *out, size_t size)
{
	Ttrpc__Interop__V1__EchoRequest req = TTRPC__INTEROP__V1__ECHO_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	struct ttrpc_client *c;
	const char *answer;
	int r;

	req.text = (char *)text;
	r = ttrpc_client_open(sock, &c);
	if (r < 0)
		return r;
	r = ttrpc_client_call_sync(c, service, "Echo", &req.base,
				   &ttrpc__interop__v1__echo_response__descriptor, NULL, &resp,
				   NULL);
	if (r == 0) {
		answer = ((Ttrpc__Interop__V1__EchoResponse *)resp)->text;
		if (out)
			snprintf(out, size, "%s", answer);
		else if (strcmp(answer, text) != 0)
			r = -EBADMSG;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	ttrpc_client_free(c);
	return r;
}

/* ---- playing the service manager: the notify socket ---- */

int notify_bind(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path_in("notify"));
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	return fd;
}

bool has_line(const char *msg, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = msg; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, prefix, n) == 0)
			return true;
	return false;
}

/*
 * Read datagrams until one has a line starting with @prefix; fds sent with
 * FDSTORE=1 on the way go to @store. Return: whether it came in time.
 */
bool notify_wait(int fd, const char *prefix, char *msg, size_t size, struct store *store)
{
	uint64_t end = now_ms() + WAIT_MS;
	char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * 16) + CMSG_SPACE(sizeof(struct ucred))];

	while (now_ms() < end) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c;
		ssize_t n;

		if (poll(&p, 1, (int)(end - now_ms())) <= 0)
			continue;
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
		ck_assert_int_ge(n, 0);
		buf[n] = '\0';
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const char *name = strstr(buf, "FDNAME=");

			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < nfds; i++) {
				int sent;

				memcpy(&sent, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (!store || store->n == 16) {
					close(sent);
					continue;
				}
				store->fds[store->n] = sent;
				snprintf(store->names[store->n], sizeof(store->names[0]), "%.*s",
					 name ? (int)strcspn(name + 7, "\n") : 7,
					 name ? name + 7 : "stored");
				store->n++;
			}
		}
		if (has_line(buf, prefix)) {
			if (msg)
				snprintf(msg, size, "%s", buf);
			return true;
		}
	}
	return false;
}

const char *notify_env(void)
{
	char *s;

	ck_assert_int_ge(asprintf(&s, "NOTIFY_SOCKET=%s", path_in("notify")), 0);
	return keep(s);
}
