/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes, as sd-event's child sources and libuv's uv_spawn give
 * them: one SIGCHLD event on the loop reaps every child with waitpid(-1),
 * and hands each exit to whoever watches that pid, or keeps it for a while
 * for whoever will (ttrpcd_exits). Children start with posix_spawn(3),
 * which reports a failed exec as its own error, sets the signal mask and
 * dispositions, the session, the working directory and the fds, and
 * closes the rest, without a fork of the daemon's memory.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/children.h"
#include "daemon/exits.h"
#include "daemon/log.h"

extern char **environ;

/* Someone waiting for the exit of one pid. */
struct watch {
	struct ttrpcd_children *set;
	struct watch *next;
	pid_t pid;
	struct ttrpcd_host *owner;
	ttrpcd_exit_fn fn; /* NULL: a spawn nobody wants to hear of */
	void *userdata;
	/* Set when the exit was reaped before the watch: told on the next turn. */
	struct event *deliver;
	int wstatus;
};

struct ttrpcd_children {
	struct event_base *base;
	struct event *sigchld;
	struct ttrpcd_exits *exits;
	struct watch *watches;
	char **env; /* the environment of the start, for children given none */
	struct ttrpcd_host **subreapers;
	size_t n_subreapers;
};

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The watch of a live pid: one whose exit is not reaped yet. */
static struct watch **find_live(struct ttrpcd_children *c, pid_t pid)
{
	for (struct watch **w = &c->watches; *w; w = &(*w)->next)
		if ((*w)->pid == pid && !(*w)->deliver)
			return w;
	return NULL;
}

static struct watch **find_owned(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid)
{
	for (struct watch **w = &c->watches; *w; w = &(*w)->next)
		if ((*w)->pid == pid && (*w)->owner == owner)
			return w;
	return NULL;
}

static void watch_free(struct watch *w)
{
	if (w->deliver)
		event_free(w->deliver);
	free(w);
}

/* Unlink @w, then tell its owner: the callback may add and remove watches. */
static void tell(struct ttrpcd_children *c, struct watch **link, int wstatus)
{
	struct watch *w = *link;
	ttrpcd_exit_fn fn = w->fn;
	struct ttrpcd_host *owner = w->owner;
	void *userdata = w->userdata;
	pid_t pid = w->pid;

	*link = w->next;
	watch_free(w);
	if (fn)
		fn(owner, pid, wstatus, userdata);
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	struct ttrpcd_children *c = arg;
	int st;
	pid_t pid;

	for (;;) {
		struct watch **w;

		pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		w = find_live(c, pid);
		ttrpcd_log(TTRPC_LOG_DEBUG, "child %d ended (wait status 0x%x)%s", (int)pid, st,
			   w ? "" : ", kept for whoever asks");
		if (w)
			tell(c, w, st);
		else
			ttrpcd_exits_add(c->exits, pid, st, now_ms());
	}
}

static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg, **link = &w->set->watches;

	while (*link != w)
		link = &(*link)->next;
	tell(w->set, link, w->wstatus);
}

static int add_watch(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid,
		     ttrpcd_exit_fn fn, void *userdata, struct watch **ret)
{
	struct watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	*w = (struct watch){
		.set = c,
		.next = c->watches,
		.pid = pid,
		.owner = owner,
		.fn = fn,
		.userdata = userdata,
	};
	c->watches = w;
	if (ret)
		*ret = w;
	return 0;
}

/* @name as execvp(3) finds it, but in the PATH of @envp. */
static int find_program(const char *name, char *const *envp, char *buf, size_t size)
{
	const char *path = DEFAULT_PATH;
	int r = -ENOENT;

	/* Checked before the spawn, which reports a failed exec only where it
	 * does not fork (under valgrind it does: the child would exit 127). */
	if (strchr(name, '/')) {
		if ((size_t)snprintf(buf, size, "%s", name) >= size)
			return -ENAMETOOLONG;
		return access(buf, X_OK) < 0 ? -errno : 0;
	}
	for (char *const *e = envp; e && *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	while (*path) {
		size_t len = strcspn(path, ":");

		/* An empty entry is the working directory, which is "/" for a child. */
		if ((size_t)snprintf(buf, size, "%.*s/%s", (int)len, len ? path : "", name) <
		    size) {
			if (access(buf, X_OK) == 0)
				return 0;
			if (errno == EACCES)
				r = -EACCES;
		}
		path += len + (path[len] == ':');
	}
	return r;
}

/*
 * The child's fds: stdio, then the extra ones. Each source is first copied
 * above every target (close-on-exec, in the daemon), so that moving one to
 * its number cannot overwrite another's source; the copies are closed in
 * the child by the closefrom() that follows the moves.
 */
static int plan_fds(const struct ttrpcd_spawn *s, posix_spawn_file_actions_t *fa, int *copies)
{
	int n = 3 + (int)s->n_fds, r = 0;

	for (int i = 0; i < n; i++)
		copies[i] = -1;
	for (int i = 0; i < n && r == 0; i++) {
		int src = i < 3 ? s->stdio[i] : s->fds[i - 3];

		if (src < 0) {
			r = posix_spawn_file_actions_addopen(fa, i, "/dev/null", O_RDWR, 0);
			continue;
		}
		copies[i] = fcntl(src, F_DUPFD_CLOEXEC, n);
		if (copies[i] < 0)
			return -errno;
		r = posix_spawn_file_actions_adddup2(fa, copies[i], i);
	}
	if (r == 0)
		r = posix_spawn_file_actions_addclosefrom_np(fa, n);
	return -r;
}

static int spawn_child(struct ttrpcd_children *c, const struct ttrpcd_spawn *s, pid_t *ret)
{
	char *const *envp = s->envp ? (char *const *)s->envp : c->env;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int *copies, r, n = 3 + (int)s->n_fds;
	sigset_t all, none;
	char path[4096];

	r = find_program(s->argv[0], envp, path, sizeof(path));
	if (r < 0)
		return r;
	/* Likewise. */
	if (s->cwd && access(s->cwd, X_OK) < 0)
		return -errno;
	copies = calloc((size_t)n, sizeof(*copies));
	if (!copies)
		return -ENOMEM;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	r = plan_fds(s, &fa, copies);
	if (r == 0)
		r = -posix_spawn_file_actions_addchdir_np(&fa, s->cwd ? s->cwd : "/");
	/* The daemon ignores SIGPIPE and catches others: the child starts clean. */
	if (r == 0)
		r = -posix_spawnattr_setflags(
			&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
				       ((s->flags & TTRPCD_SPAWN_SETSID) ? POSIX_SPAWN_SETSID : 0));
	if (r == 0)
		r = -posix_spawnattr_setsigdefault(&attr, &all);
	if (r == 0)
		r = -posix_spawnattr_setsigmask(&attr, &none);
	if (r == 0)
		r = -posix_spawn(ret, path, &fa, &attr, (char *const *)s->argv, envp);
	for (int i = 0; i < n; i++)
		if (copies[i] >= 0)
			close(copies[i]);
	free(copies);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

int ttrpcd_children_spawn(struct ttrpcd_children *c, struct ttrpcd_host *owner,
			  const struct ttrpcd_spawn *spawn, ttrpcd_exit_fn on_exit, void *userdata,
			  pid_t *ret)
{
	pid_t pid;
	int r;

	if (!spawn->argv || !spawn->argv[0] || (spawn->n_fds && !spawn->fds))
		return -EINVAL;
	for (int i = 0; i < 3; i++)
		if (spawn->stdio[i] < -1)
			return -EINVAL;
	for (size_t i = 0; i < spawn->n_fds; i++)
		if (spawn->fds[i] < 0)
			return -EINVAL;
	r = spawn_child(c, spawn, &pid);
	if (r < 0)
		return r;
	/* A live process: what is kept of an earlier one with its pid is stale. */
	ttrpcd_exits_forget(c->exits, pid);
	r = add_watch(c, owner, pid, on_exit, userdata, NULL);
	if (r < 0) {
		/* Nobody could ever be told of it, nor signal it: end it. */
		kill(pid, SIGKILL);
		return r;
	}
	*ret = pid;
	return 0;
}

int ttrpcd_children_watch(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid,
			  ttrpcd_exit_fn on_exit, void *userdata)
{
	siginfo_t si = { 0 };
	struct watch *w;
	int st, r;

	if (pid < 1 || !on_exit)
		return -EINVAL;
	if (find_live(c, pid))
		return -EBUSY;
	/* A child of ours, alive or not yet reaped: the reaper tells. */
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0) {
		ttrpcd_exits_forget(c->exits, pid);
		return add_watch(c, owner, pid, on_exit, userdata, NULL);
	}
	if (errno != ECHILD)
		return -errno;
	if (!ttrpcd_exits_take(c->exits, pid, now_ms(), &st))
		return -ECHILD;
	r = add_watch(c, owner, pid, on_exit, userdata, &w);
	if (r == 0) {
		w->wstatus = st;
		w->deliver = evtimer_new(c->base, on_deliver, w);
		if (!w->deliver) {
			c->watches = w->next;
			free(w);
			r = -ENOMEM;
		}
	}
	if (r < 0) {
		/* Kept for another try. */
		ttrpcd_exits_add(c->exits, pid, st, now_ms());
		return r;
	}
	event_active(w->deliver, EV_TIMEOUT, 1);
	return 0;
}

int ttrpcd_children_unwatch(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid)
{
	struct watch **link = find_owned(c, owner, pid), *w;

	if (!link)
		return -ENOENT;
	w = *link;
	*link = w->next;
	watch_free(w);
	return 0;
}

int ttrpcd_children_kill(struct ttrpcd_children *c, struct ttrpcd_host *owner, pid_t pid, int sig)
{
	struct watch **link = find_live(c, pid);

	if (!link || (*link)->owner != owner)
		return -ESRCH;
	return kill(pid, sig) < 0 ? -errno : 0;
}

static int set_subreaper(bool on)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0) < 0)
		return -errno;
	ttrpcd_log(TTRPC_LOG_DEBUG, "%s the child subreaper", on ? "now" : "no longer");
	return 0;
}

int ttrpcd_children_subreaper(struct ttrpcd_children *c, struct ttrpcd_host *owner, bool on)
{
	struct ttrpcd_host **v;
	size_t i = 0;

	while (i < c->n_subreapers && c->subreapers[i] != owner)
		i++;
	if (!on) {
		if (i == c->n_subreapers)
			return 0;
		c->subreapers[i] = c->subreapers[--c->n_subreapers];
		return c->n_subreapers == 0 ? set_subreaper(false) : 0;
	}
	if (i < c->n_subreapers)
		return 0;
	v = realloc(c->subreapers, (c->n_subreapers + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	c->subreapers = v;
	if (c->n_subreapers == 0) {
		int r = set_subreaper(true);

		if (r < 0)
			return r;
	}
	v[c->n_subreapers++] = owner;
	return 0;
}

size_t ttrpcd_children_forget(struct ttrpcd_children *c, struct ttrpcd_host *owner)
{
	size_t running = 0;

	for (struct watch **link = &c->watches; *link;) {
		struct watch *w = *link;

		if (w->owner != owner) {
			link = &w->next;
			continue;
		}
		running += !w->deliver;
		*link = w->next;
		watch_free(w);
	}
	ttrpcd_children_subreaper(c, owner, false);
	return running;
}

/* A copy of the environment, NULL-terminated. */
static char **copy_environ(void)
{
	size_t n = 0;
	char **v;

	while (environ && environ[n])
		n++;
	v = calloc(n + 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		if (!(v[i] = strdup(environ[i]))) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

int ttrpcd_children_new(struct event_base *base, struct ttrpcd_children **ret)
{
	struct ttrpcd_children *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->base = base;
	c->env = copy_environ();
	if (!c->env ||
	    ttrpcd_exits_new(TTRPCD_EXITS_KEPT, TTRPCD_EXITS_MAX_AGE_MS, &c->exits) < 0 ||
	    !(c->sigchld = evsignal_new(base, SIGCHLD, on_sigchld, c)) ||
	    evsignal_add(c->sigchld, NULL) < 0) {
		ttrpcd_children_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

void ttrpcd_children_free(struct ttrpcd_children *c)
{
	if (!c)
		return;
	if (c->sigchld)
		event_free(c->sigchld);
	while (c->watches) {
		struct watch *w = c->watches;

		c->watches = w->next;
		watch_free(w);
	}
	for (char **e = c->env; e && *e; e++)
		free(*e);
	free(c->env);
	free(c->subreapers);
	ttrpcd_exits_free(c->exits);
	free(c);
}
