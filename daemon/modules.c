/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Modules, as Knot DNS and Varnish load theirs: dlopen(RTLD_NOW |
 * RTLD_LOCAL), one exported constant whose version fields are checked before
 * anything else of it is read, and an opaque host handle through which the
 * module registers services. RTLD_NOW makes a module that needs a host
 * function this daemon lacks fail at load time, not in the middle of a call.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ttrpc/server.h>

#include "daemon/children.h"
#include "daemon/listen.h"
#include "daemon/log.h"
#include "daemon/modules.h"

/*
 * The directories systemd gives the service for its modules' files, from
 * the environment at start-up; each module gets its own subdirectory.
 */
enum { STATE_DIR, CACHE_DIR, N_MODULE_DIRS };
static const char *const module_dir_env[N_MODULE_DIRS] = { "STATE_DIRECTORY", "CACHE_DIRECTORY" };

/* The daemon's side of one module; what the module knows as its host. */
struct ttrpcd_host {
	struct ttrpcd_modules *set;
	void *handle;
	struct ttrpcd_module desc; /* the module's struct, read up to its struct_size */
	char *path;
	char *real_path; /* every link resolved: the path checked and opened */
	const struct ttrpcd_module_conf *conf; /* its settings; NULL: none */
	void *data;
	bool in_init;
	bool in_reload;
	bool init_ran;
	char *failure; /* why a host call of init failed, for the load error */
	char *reason;  /* the module's own words for the failure of init or reload */
	ttrpcd_serving_fn watch;
	void *watch_userdata;
	char *dirs[N_MODULE_DIRS]; /* the module's own, once asked for */
	/* Disabled by a reload: servers still to say that its calls are over. */
	size_t retiring;
	bool stuck; /* a server cannot say: the module stays until exit */
};

/* A service, owned by the module that registered it, or by the daemon. */
struct service {
	char *name;
	const struct ttrpc_method *methods;
	void *userdata;
	const uint8_t *descriptor_set; /* NULL: none */
	size_t descriptor_set_size;
	struct ttrpcd_host *owner; /* NULL: built into the daemon */
	int status;                /* enum ttrpcd_serving_status */
};

struct ttrpcd_modules {
	struct event_base *base;
	struct ttrpcd_children *children;
	struct ttrpcd_host **hosts; /* inited, in load order */
	size_t n_hosts;
	struct ttrpcd_host **retiring; /* disabled, waiting for their calls */
	size_t n_retiring;
	struct service *services;
	size_t n_services;
	int status;                /* of "", the daemon as a whole */
	char *dirs[N_MODULE_DIRS]; /* NULL: not given */
};

/* The daemon, where a message names the owner of a service. */
#define BUILTIN_OWNER "ttrpcd"

static const char *owner_name(const struct service *s)
{
	return s->owner ? s->owner->desc.name : BUILTIN_OWNER;
}

/* The struct of ABI 1.0: a module's struct_size may not be smaller. */
#define ABI_1_0_SIZE (offsetof(struct ttrpcd_module, fini) + sizeof(void (*)(void)))

static void host_free(struct ttrpcd_host *host)
{
	if (!host)
		return;
	for (int i = 0; i < N_MODULE_DIRS; i++)
		free(host->dirs[i]);
	free(host->failure);
	free(host->reason);
	free(host->real_path);
	free(host->path);
	free(host);
}

static void note_refusal(struct ttrpcd_host *host, const char *fmt, ...) TTRPC_PRINTF(2, 3);

static void note_refusal(struct ttrpcd_host *host, const char *fmt, ...)
{
	va_list ap;

	if (host->failure)
		return;
	va_start(ap, fmt);
	if (vasprintf(&host->failure, fmt, ap) < 0)
		host->failure = NULL;
	va_end(ap);
}

int ttrpcd_host_fail(struct ttrpcd_host *host, int error, const char *fmt, ...)
{
	char *reason;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		reason = NULL;
	va_end(ap);
	if (!host->in_init && !host->in_reload) {
		/* Nobody waits for a reason: the log is where it goes. */
		ttrpcd_log_module(TTRPC_LOG_ERR, host->desc.name, "%s",
				  reason ? reason : strerror(-error));
		free(reason);
	} else if (host->reason) {
		free(reason);
	} else {
		host->reason = reason;
	}
	return error;
}

/*
 * Why init or reload returned @r, malloc'd: the module's words, then what
 * a host call of it refused, else the errno's name. NULL: out of memory.
 */
static char *failure_text(const struct ttrpcd_host *host, int r)
{
	char *text;

	if (host->reason && host->failure)
		return asprintf(&text, "%s (%s)", host->reason, host->failure) < 0 ? NULL : text;
	return strdup(host->reason ? host->reason : host->failure ? host->failure : strerror(-r));
}

/* A fresh start for the reasons of the next init or reload. */
static void forget_reasons(struct ttrpcd_host *host)
{
	free(host->reason);
	free(host->failure);
	host->reason = NULL;
	host->failure = NULL;
}

static struct service *find_service(const struct ttrpcd_modules *set, const char *name)
{
	for (size_t i = 0; i < set->n_services; i++)
		if (strcmp(set->services[i].name, name) == 0)
			return &set->services[i];
	return NULL;
}

/* Append a service, SERVING from the start; @owner NULL for the daemon's own. */
static int add_service(struct ttrpcd_modules *set, struct ttrpcd_host *owner,
		       const struct ttrpc_service *svc)
{
	struct service *v;
	char *copy;

	copy = strdup(svc->name);
	v = realloc(set->services, (set->n_services + 1) * sizeof(*v));
	if (!copy || !v) {
		free(copy);
		if (v)
			set->services = v;
		return -ENOMEM;
	}
	set->services = v;
	v[set->n_services++] = (struct service){
		.name = copy,
		.methods = svc->methods,
		.userdata = svc->userdata,
		.descriptor_set = svc->descriptor_set_size ? svc->descriptor_set : NULL,
		.descriptor_set_size = svc->descriptor_set ? svc->descriptor_set_size : 0,
		.owner = owner,
		.status = TTRPCD_SERVING,
	};
	return 0;
}

int ttrpcd_host_register(struct ttrpcd_host *host, const char *name,
			 const struct ttrpc_method *methods, void *userdata)
{
	/* A hand-written table: no descriptors to serve. */
	const struct ttrpc_service svc = { .name = name, .methods = methods, .userdata = userdata };

	return ttrpcd_host_register_service(host, &svc);
}

int ttrpcd_host_register_service(struct ttrpcd_host *host, const struct ttrpc_service *svc)
{
	const char *name = svc ? svc->name : NULL;
	const struct service *other;

	if (!host->in_init) {
		note_refusal(host, "service '%s' registered outside init", name);
		return -EBUSY;
	}
	if (!name || !*name || !svc->methods || !svc->methods[0].name) {
		note_refusal(host, "service '%s' has no name or no method", name ? name : "");
		return -EINVAL;
	}
	other = find_service(host->set, name);
	if (other) {
		note_refusal(host, "service '%s' is already registered by module '%s'", name,
			     owner_name(other));
		return -EEXIST;
	}
	return add_service(host->set, host, svc);
}

const char *ttrpcd_host_config(const struct ttrpcd_host *host, const char *key)
{
	if (!host->conf)
		return NULL;
	for (size_t i = 0; i < host->conf->n_settings; i++)
		if (strcmp(host->conf->settings[i].key, key) == 0)
			return host->conf->settings[i].value;
	return NULL;
}

struct event_base *ttrpcd_host_event_base(const struct ttrpcd_host *host)
{
	return host->set->base;
}

void ttrpcd_host_log(const struct ttrpcd_host *host, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ttrpcd_log_vmodule(level, host->desc.name, fmt, ap);
	va_end(ap);
}

void ttrpcd_host_set_data(struct ttrpcd_host *host, void *data)
{
	host->data = data;
}

void *ttrpcd_host_get_data(const struct ttrpcd_host *host)
{
	return host->data;
}

/* The module's subdirectory of directory @which, made on the first call. */
static int module_dir(struct ttrpcd_host *host, int which, const char **ret)
{
	const char *base = host->set->dirs[which];
	struct stat st;
	char *path;

	if (host->dirs[which]) {
		*ret = host->dirs[which];
		return 0;
	}
	if (!base)
		return -ENOENT;
	if (asprintf(&path, "%s/%s", base, host->desc.name) < 0)
		return -ENOMEM;
	if (mkdir(path, 0700) < 0 &&
	    (errno != EEXIST || stat(path, &st) < 0 || !S_ISDIR(st.st_mode))) {
		int r = errno == EEXIST ? -ENOTDIR : -errno;

		free(path);
		return r;
	}
	*ret = host->dirs[which] = path;
	return 0;
}

int ttrpcd_host_state_dir(struct ttrpcd_host *host, const char **ret)
{
	return module_dir(host, STATE_DIR, ret);
}

int ttrpcd_host_cache_dir(struct ttrpcd_host *host, const char **ret)
{
	return module_dir(host, CACHE_DIR, ret);
}

/*
 * Tell every watching module, in load order, that @service is now @status;
 * then those being unloaded, which may still have streams to end.
 */
static void notify_serving(struct ttrpcd_modules *set, const char *service, int status)
{
	for (size_t i = 0; i < set->n_hosts + set->n_retiring; i++) {
		struct ttrpcd_host *h = i < set->n_hosts ? set->hosts[i]
							 : set->retiring[i - set->n_hosts];

		if (h->watch)
			h->watch(h, service, status, h->watch_userdata);
	}
}

static void set_status(struct ttrpcd_modules *set, struct service *s, int status)
{
	if (s->status == status)
		return;
	s->status = status;
	notify_serving(set, s->name, status);
}

int ttrpcd_host_set_serving(struct ttrpcd_host *host, const char *service, int status)
{
	struct service *s = find_service(host->set, service);

	if (status != TTRPCD_SERVING_UNKNOWN && status != TTRPCD_SERVING &&
	    status != TTRPCD_NOT_SERVING)
		return -EINVAL;
	if (!*service)
		return -EPERM;
	if (!s)
		return -ENOENT;
	if (s->owner != host)
		return -EPERM;
	set_status(host->set, s, status);
	return 0;
}

int ttrpcd_host_get_serving(const struct ttrpcd_host *host, const char *service)
{
	const struct service *s;

	if (!*service)
		return host->set->status;
	s = find_service(host->set, service);
	return s ? s->status : -ENOENT;
}

void ttrpcd_host_watch_serving(struct ttrpcd_host *host, ttrpcd_serving_fn fn, void *userdata)
{
	host->watch = fn;
	host->watch_userdata = userdata;
}

int ttrpcd_host_spawn(struct ttrpcd_host *host, const struct ttrpcd_spawn *spawn,
		      ttrpcd_exit_fn on_exit, void *userdata, pid_t *ret)
{
	/* Every field there is came with ABI 1.2; later ones will be read
	 * only from modules built for the minor version that added them. */
	if (!spawn)
		return -EINVAL;
	return ttrpcd_children_spawn(host->set->children, host, spawn, on_exit, userdata, ret);
}

int ttrpcd_host_watch_pid(struct ttrpcd_host *host, pid_t pid, ttrpcd_exit_fn on_exit,
			  void *userdata)
{
	return ttrpcd_children_watch(host->set->children, host, pid, on_exit, userdata);
}

int ttrpcd_host_unwatch_pid(struct ttrpcd_host *host, pid_t pid)
{
	return ttrpcd_children_unwatch(host->set->children, host, pid);
}

int ttrpcd_host_kill(struct ttrpcd_host *host, pid_t pid, int sig)
{
	return ttrpcd_children_kill(host->set->children, host, pid, sig);
}

int ttrpcd_host_set_subreaper(struct ttrpcd_host *host, bool on)
{
	return ttrpcd_children_subreaper(host->set->children, host, on);
}

void ttrpcd_host_stop(struct ttrpcd_host *host)
{
	ttrpcd_log(TTRPC_LOG_NOTICE, "module '%s' asks ttrpcd to stop", host->desc.name);
	/* The daemon's own stop, on the loop: the signal is its to send. */
	kill(getpid(), SIGTERM);
}

/*
 * After fini, or a failed init: nothing of the module may be called again,
 * so its watches go; its children that still run are left to themselves.
 */
static void forget_children(struct ttrpcd_host *host)
{
	size_t n = ttrpcd_children_forget(host->set->children, host);

	if (n)
		ttrpcd_log(TTRPC_LOG_NOTICE,
			   "module '%s' left %zu %s running; their exits are reaped and not "
			   "reported",
			   host->desc.name, n,
			   ttrpcd_plural(n, "child process", "child processes"));
}

/* Forget the services of a module whose init failed. */
static void drop_services(struct ttrpcd_modules *set, const struct ttrpcd_host *host)
{
	size_t j = 0;

	for (size_t i = 0; i < set->n_services; i++) {
		if (set->services[i].owner == host)
			free(set->services[i].name);
		else
			set->services[j++] = set->services[i];
	}
	set->n_services = j;
}

static bool valid_module_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') &&
		    !(*s >= '0' && *s <= '9') && *s != '-' && *s != '_')
			return false;
	return true;
}

static struct ttrpcd_host *find_named(struct ttrpcd_host *const *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i]->desc.name, name) == 0)
			return v[i];
	return NULL;
}

/*
 * A built-in default (a daemon without config file) that a module of @v
 * has the name of, as one given with --module: skipped, not a clash.
 */
static bool replaced(struct ttrpcd_host *const *v, size_t n, const struct ttrpcd_module_conf *m)
{
	return m->fallback && find_named(v, n, m->name);
}

/* Every setting of @conf must be one of the module's config_keys. */
static int check_settings(const struct ttrpcd_host *host, const struct ttrpcd_module_conf *conf,
			  char **why)
{
	if (!conf)
		return 0;
	for (size_t i = 0; i < conf->n_settings; i++) {
		const struct ttrpcd_setting *s = &conf->settings[i];
		bool known = false;

		for (const char *const *k = host->desc.config_keys; k && *k && !known; k++)
			known = strcmp(*k, s->key) == 0;
		if (!known)
			return asprintf(why, "%s:%u: unknown key '%s' in [module %s]",
					s->origin.file, s->origin.line, s->key, host->desc.name) < 0
				       ? -ENOMEM
				       : -EINVAL;
	}
	return 0;
}

/*
 * A module runs with ttrpcd's rights: whoever can replace its file, or
 * rename a directory above it, runs code as ttrpcd. So, as sshd checks
 * authorized_keys and sudo its plugins, the file and every directory from
 * it up to / must be owned by root or by ttrpcd's effective user and not be
 * writable by group or others. A directory writable by others passes only
 * when root owns it and it has the sticky bit (/tmp): there nobody can
 * rename or remove an entry that is not theirs. @real is the path with
 * every symbolic link resolved, which is also the path opened, so that no
 * link can be swapped between the check and dlopen().
 */
static int check_owner_and_mode(const char *real, char **why)
{
	uid_t me = geteuid();
	char *p = strdup(real), *slash;
	int r = 0;

	if (!p)
		return -ENOMEM;
	for (;;) {
		struct stat st;
		bool sticky_root_dir;

		if (stat(p, &st) < 0) {
			r = asprintf(why, "refused: cannot check %s: %s", p, strerror(errno)) < 0
				    ? -ENOMEM
				    : -EPERM;
			break;
		}
		sticky_root_dir = S_ISDIR(st.st_mode) && st.st_uid == 0 && (st.st_mode & S_ISVTX);
		if (st.st_uid != 0 && st.st_uid != me) {
			r = asprintf(why,
				     "refused: %s is owned by uid %u, neither root nor ttrpcd's "
				     "user (uid %u)",
				     p, (unsigned)st.st_uid, (unsigned)me) < 0
				    ? -ENOMEM
				    : -EPERM;
			break;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !sticky_root_dir) {
			r = asprintf(
				    why,
				    "refused: %s is writable by group or others (mode %04o); a "
				    "module and every directory above it may be writable only by root "
				    "or ttrpcd's user",
				    p, (unsigned)(st.st_mode & 07777)) < 0
				    ? -ENOMEM
				    : -EPERM;
			break;
		}
		if (strcmp(p, "/") == 0)
			break;
		slash = strrchr(p, '/');
		if (slash == p)
			p[1] = '\0';
		else
			*slash = '\0';
	}
	free(p);
	return r;
}

/*
 * Check the file and its directories, open it and read the module's
 * struct; nothing of the module runs but its constructors.
 */
static int open_module(struct ttrpcd_host *host, char **why)
{
	const struct ttrpcd_module *mod;
	int r;

	host->real_path = realpath(host->path, NULL);
	/* In dlopen()'s words, which it would have used for a missing file. */
	if (!host->real_path)
		return asprintf(why, "cannot load: %s: cannot open shared object file: %s",
				host->path, strerror(errno)) < 0
			       ? -ENOMEM
			       : -ENOENT;
	r = check_owner_and_mode(host->real_path, why);
	if (r < 0)
		return r;
	host->handle = dlopen(host->real_path, RTLD_NOW | RTLD_LOCAL);
	if (!host->handle)
		return asprintf(why, "cannot load: %s", dlerror()) < 0 ? -ENOMEM : -ENOENT;
	mod = dlsym(host->handle, TTRPCD_MODULE_SYMBOL);
	if (!mod)
		return asprintf(why, "no symbol '%s': not a ttrpcd module", TTRPCD_MODULE_SYMBOL) <
				       0
			       ? -ENOMEM
			       : -ENOENT;
	if (mod->abi_major != TTRPCD_MODULE_ABI_MAJOR || mod->abi_minor > TTRPCD_MODULE_ABI_MINOR)
		return asprintf(why, "built for module ABI %u.%u; this ttrpcd loads %u.0 to %u.%u",
				mod->abi_major, mod->abi_minor, TTRPCD_MODULE_ABI_MAJOR,
				TTRPCD_MODULE_ABI_MAJOR, TTRPCD_MODULE_ABI_MINOR) < 0
			       ? -ENOMEM
			       : -EPROTO;
	if (mod->struct_size < ABI_1_0_SIZE)
		return asprintf(why, "module struct of %u bytes, smaller than ABI %u.0's %zu",
				mod->struct_size, TTRPCD_MODULE_ABI_MAJOR, ABI_1_0_SIZE) < 0
			       ? -ENOMEM
			       : -EPROTO;
	memcpy(&host->desc, mod,
	       mod->struct_size < sizeof(host->desc) ? mod->struct_size : sizeof(host->desc));
	if (!valid_module_name(host->desc.name))
		return asprintf(why, "bad module name: use letters, digits, '-' and '_'") < 0
			       ? -ENOMEM
			       : -EINVAL;
	if (!host->desc.init)
		return asprintf(why, "no init function") < 0 ? -ENOMEM : -EINVAL;
	return 0;
}

static char *module_path(const struct ttrpcd_config *cfg, const struct ttrpcd_module_conf *m)
{
	char *path;

	if (m->file && strchr(m->file, '/'))
		return strdup(m->file);
	if (m->file)
		return asprintf(&path, "%s/%s", cfg->module_dir, m->file) < 0 ? NULL : path;
	return asprintf(&path, "%s/%s.so", cfg->module_dir, m->name) < 0 ? NULL : path;
}

/* Open the module of @m and check it against its section; nothing of it runs yet. */
static int open_checked(struct ttrpcd_host *host, const struct ttrpcd_module_conf *m, char **why)
{
	int r = open_module(host, why);

	if (r < 0)
		return r;
	if (m->name && strcmp(m->name, host->desc.name) != 0)
		return asprintf(why, "the file holds module '%s', not '%s'", host->desc.name,
				m->name) < 0
			       ? -ENOMEM
			       : -EINVAL;
	host->conf = m;
	return check_settings(host, m, why);
}

/* ABI 1.0 ends with fini; 1.1 added the list of services. */
static bool has_services_field(const struct ttrpcd_host *host)
{
	return host->desc.abi_minor >= 1 &&
	       host->desc.struct_size >=
		       offsetof(struct ttrpcd_module, services) + sizeof(host->desc.services);
}

/*
 * The services list says what a module serves without running it (what
 * --check-config checks for clashes), so a service init registers without
 * declaring it is one nothing could see before. Warned about, not refused:
 * the daemon serves it all the same.
 */
static void check_declared(const struct ttrpcd_modules *set, const struct ttrpcd_host *host)
{
	for (size_t i = 0; i < set->n_services; i++) {
		const struct service *s = &set->services[i];
		const struct ttrpcd_service_decl *d = host->desc.services;

		if (s->owner != host)
			continue;
		if (!has_services_field(host)) {
			ttrpcd_log(TTRPC_LOG_NOTICE,
				   "module '%s' (%s): built for module ABI %u.%u, it declares no "
				   "services; '%s' was known only once its init ran",
				   host->desc.name, host->path, host->desc.abi_major,
				   host->desc.abi_minor, s->name);
			continue;
		}
		while (d && d->name && strcmp(d->name, s->name) != 0)
			d++;
		if (!d || !d->name)
			ttrpcd_log(TTRPC_LOG_WARNING,
				   "module '%s' (%s): init registered service '%s', which its "
				   "services list does not declare; nothing could see it before "
				   "init ran",
				   host->desc.name, host->path, s->name);
		else if (d->methods != s->methods)
			ttrpcd_log(TTRPC_LOG_WARNING,
				   "module '%s' (%s): init registered service '%s' with another "
				   "method table than its services list declares",
				   host->desc.name, host->path, s->name);
	}
}

/* Load and init one module; on failure *why says why, without the module's name. */
static int load_one(struct ttrpcd_modules *set, struct ttrpcd_host *host,
		    const struct ttrpcd_module_conf *m, char **why)
{
	struct ttrpcd_host **v;
	int r;

	r = open_checked(host, m, why);
	if (r < 0)
		return r;
	if (find_named(set->hosts, set->n_hosts, host->desc.name))
		return asprintf(why, "a module named '%s' is loaded already", host->desc.name) < 0
			       ? -ENOMEM
			       : -EEXIST;
	v = realloc(set->hosts, (set->n_hosts + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	set->hosts = v;
	forget_reasons(host);
	host->in_init = true;
	host->init_ran = true;
	r = host->desc.init(host);
	host->in_init = false;
	if (r < 0) {
		char *text = failure_text(host, r);

		drop_services(set, host);
		forget_children(host);
		if (!text || asprintf(why, "init failed: %s", text) < 0)
			*why = NULL;
		free(text);
		return r;
	}
	forget_reasons(host);
	set->hosts[set->n_hosts++] = host;
	check_declared(set, host);
	return 0;
}

static void log_failure(const struct ttrpcd_host *host, const struct ttrpcd_module_conf *m,
			const char *why, int r)
{
	const char *name = m->name ? m->name : host->desc.name;
	int level = m->optional ? TTRPC_LOG_WARNING : TTRPC_LOG_ERR;
	const char *reason = why ? why : strerror(-r);
	const char *skipped = m->optional ? "; skipped, as it is optional" : "";

	if (name)
		ttrpcd_log(level, "module '%s' (%s): %s%s", name, host->path, reason, skipped);
	else
		ttrpcd_log(level, "module %s: %s%s", host->path, reason, skipped);
}

/* The services @host declares: NULL when it has no list, or an empty one. */
static const struct ttrpcd_service_decl *declared(const struct ttrpcd_host *host)
{
	if (!has_services_field(host) || !host->desc.services || !host->desc.services[0].name)
		return NULL;
	return host->desc.services;
}

/*
 * A service @host declares that a module of @v declares too: the init of
 * the later one would fail, as no name is served twice.
 */
static int check_declared_clash(struct ttrpcd_host *const *v, size_t n,
				const struct ttrpcd_host *host, char **why)
{
	for (const struct ttrpcd_service_decl *d = declared(host); d && d->name; d++)
		for (size_t i = 0; i < n; i++)
			for (const struct ttrpcd_service_decl *e = declared(v[i]); e && e->name;
			     e++)
				if (strcmp(d->name, e->name) == 0)
					return asprintf(why,
							"declares service '%s', which module '%s' "
							"declares too: its init would fail",
							d->name, v[i]->desc.name) < 0
						       ? -ENOMEM
						       : -EEXIST;
	return 0;
}

/*
 * What --check-config says of a module that passed: a line on @report,
 * and, as a warning, what the running daemon could only tell once init
 * ran: that the module declares nothing it serves.
 */
static void report_checked(const struct ttrpcd_host *host, FILE *report)
{
	const struct ttrpcd_service_decl *d = declared(host);
	size_t n = host->conf ? host->conf->n_settings : 0;

	fprintf(report, "module '%s' (%s): ABI %u.%u, %zu %s, ", host->desc.name, host->path,
		host->desc.abi_major, host->desc.abi_minor, n,
		ttrpcd_plural(n, "setting", "settings"));
	if (!d)
		fprintf(report, "declares no services\n");
	for (; d && d->name; d++)
		fprintf(report, "%s%s%s", d == host->desc.services ? "declares " : ", ", d->name,
			d[1].name ? "" : "\n");
	if (declared(host))
		return;
	if (!has_services_field(host))
		ttrpcd_log(TTRPC_LOG_NOTICE,
			   "module '%s' (%s): built for module ABI %u.%u, it declares no "
			   "services; what it serves is known only once its init runs",
			   host->desc.name, host->path, host->desc.abi_major, host->desc.abi_minor);
	else
		ttrpcd_log(TTRPC_LOG_WARNING,
			   "module '%s' (%s): declares no services (the services field of its "
			   "struct ttrpcd_module): what it serves is known only once its init "
			   "runs, and ttrpcd warns about each service that init registers",
			   host->desc.name, host->path);
}

int ttrpcd_modules_check(const struct ttrpcd_config *cfg, FILE *report, size_t *n_ok)
{
	struct ttrpcd_host **open = calloc(cfg->n_modules + 1, sizeof(*open));
	size_t n_open = 0;
	int status = 0;

	if (!open)
		return -ENOMEM;
	/* Open together, as start-up has them, so that two of one name clash. */
	for (size_t i = 0; i < cfg->n_modules; i++) {
		const struct ttrpcd_module_conf *m = &cfg->modules[i];
		struct ttrpcd_host *host;
		char *why = NULL;
		int r = -ENOMEM;

		if (!m->enabled || replaced(open, n_open, m))
			continue;
		host = calloc(1, sizeof(*host));
		if (host && (host->path = module_path(cfg, m)))
			r = open_checked(host, m, &why);
		if (r == 0 && find_named(open, n_open, host->desc.name))
			r = asprintf(&why, "a module named '%s' is loaded already",
				     host->desc.name) < 0
				    ? -ENOMEM
				    : -EEXIST;
		if (r == 0)
			r = check_declared_clash(open, n_open, host, &why);
		if (r < 0 && host && host->path)
			log_failure(host, m, why, r);
		if (r < 0 && !m->optional)
			status = -EINVAL;
		free(why);
		if (r == 0) {
			report_checked(host, report);
			open[n_open++] = host;
			continue;
		}
		if (host && host->handle)
			dlclose(host->handle);
		host_free(host);
	}
	*n_ok = n_open;
	while (n_open > 0) {
		dlclose(open[--n_open]->handle);
		host_free(open[n_open]);
	}
	free(open);
	return status;
}

/*
 * Load and init the module of @m as start-up does, failures logged.
 * @why: for a failure of a required module, receives the line logged.
 * Return: 0 with *@ret set, 1 when an optional module was skipped, or the
 * error of a required one.
 */
static int load_entry(struct ttrpcd_modules *set, const struct ttrpcd_config *cfg,
		      const struct ttrpcd_module_conf *m, struct ttrpcd_host **ret, char **why)
{
	struct ttrpcd_host *host = calloc(1, sizeof(*host));
	char *reason = NULL;
	int r;

	if (!host || !(host->path = module_path(cfg, m))) {
		host_free(host);
		ttrpcd_log(TTRPC_LOG_ERR, "out of memory loading modules");
		return -ENOMEM;
	}
	host->set = set;
	r = load_one(set, host, m, &reason);
	if (r == 0) {
		ttrpcd_log(TTRPC_LOG_INFO, "module '%s' loaded from %s", host->desc.name,
			   host->path);
		*ret = host;
		return 0;
	}
	log_failure(host, m, reason, r);
	if (!m->optional && why &&
	    asprintf(why, "module '%s' (%s): %s", m->name ? m->name : host->desc.name, host->path,
		     reason ? reason : strerror(-r)) < 0)
		*why = NULL;
	free(reason);
	/* Before init nothing of the module can still run; after, only it knows. */
	if (host->handle && (!host->init_ran || host->desc.flags & TTRPCD_MODULE_UNLOAD_SAFE))
		dlclose(host->handle);
	host_free(host);
	if (m->optional)
		return 1;
	return r == -ENOMEM ? r : -EINVAL;
}

int ttrpcd_modules_load(struct ttrpcd_modules *set, const struct ttrpcd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_modules; i++) {
		struct ttrpcd_host *host;
		int r;

		if (!cfg->modules[i].enabled ||
		    replaced(set->hosts, set->n_hosts, &cfg->modules[i]))
			continue;
		r = load_entry(set, cfg, &cfg->modules[i], &host, NULL);
		if (r < 0)
			return r;
	}
	return 0;
}

int ttrpcd_modules_publish(const struct ttrpcd_modules *set, struct ttrpc_server *srv)
{
	for (size_t i = 0; i < set->n_services; i++) {
		const struct service *s = &set->services[i];
		int r = ttrpc_server_register(srv, s->name, s->methods, s->userdata);

		if (r < 0) {
			ttrpcd_log(TTRPC_LOG_ERR, "module '%s': cannot serve '%s': %s",
				   owner_name(s), s->name, strerror(-r));
			return r;
		}
	}
	return 0;
}

static bool settings_equal(const struct ttrpcd_module_conf *a, const struct ttrpcd_module_conf *b)
{
	size_t na = a ? a->n_settings : 0, nb = b ? b->n_settings : 0;

	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++) {
		bool found = false;

		for (size_t j = 0; j < nb && !found; j++)
			found = strcmp(a->settings[i].key, b->settings[j].key) == 0 &&
				strcmp(a->settings[i].value, b->settings[j].value) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* The last of a module: fini, its children forgotten, unmapped when it may be. */
static void host_end(struct ttrpcd_host *host)
{
	if (host->desc.fini)
		host->desc.fini(host);
	forget_children(host);
	if (host->desc.flags & TTRPCD_MODULE_UNLOAD_SAFE)
		dlclose(host->handle);
	host_free(host);
}

static void remove_host(struct ttrpcd_host **v, size_t *n, const struct ttrpcd_host *host)
{
	size_t i = 0;

	while (i < *n && v[i] != host)
		i++;
	if (i == *n)
		return;
	memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
	(*n)--;
}

/*
 * The enabled entry of @cfg for a loaded module: its section by name, or,
 * for one of --module (no name), the entry of the same file; NULL when the
 * module is no longer enabled.
 */
static const struct ttrpcd_module_conf *find_conf(const struct ttrpcd_config *cfg,
						  const struct ttrpcd_host *host)
{
	const struct ttrpcd_module_conf *was = host->conf;

	for (size_t i = 0; i < cfg->n_modules; i++) {
		const struct ttrpcd_module_conf *m = &cfg->modules[i];

		if (!m->enabled)
			continue;
		if (m->name ? strcmp(m->name, host->desc.name) == 0
			    : was && !was->name && m->file && was->file &&
				      strcmp(m->file, was->file) == 0)
			return m;
	}
	return NULL;
}

/* Whether the enabled entry @m names a module loaded already. */
static bool entry_loaded(const struct ttrpcd_modules *set, const struct ttrpcd_config *cfg,
			 const struct ttrpcd_module_conf *m)
{
	for (size_t i = 0; i < set->n_hosts; i++)
		if (find_conf(cfg, set->hosts[i]) == m)
			return true;
	return false;
}

/* Can @host go on under @next (NULL: disabled)? Nothing changes yet. */
static int check_staying(const struct ttrpcd_config *cfg, struct ttrpcd_host *host,
			 const struct ttrpcd_module_conf *next, char **why)
{
	char *path;
	int r;

	if (!next && !(host->desc.flags & TTRPCD_MODULE_UNLOAD_SAFE))
		return asprintf(why,
				"module '%s' is disabled, but it is not unload-safe: restart "
				"ttrpcd to unload it",
				host->desc.name) < 0
			       ? -ENOMEM
			       : -EBUSY;
	if (!next)
		return 0;
	path = module_path(cfg, next);
	if (!path)
		return -ENOMEM;
	r = strcmp(path, host->path) == 0
		    ? 0
		    : (asprintf(why,
				"module '%s' is now in %s, not %s: restart ttrpcd to load it from "
				"there",
				host->desc.name, path, host->path) < 0
			       ? -ENOMEM
			       : -EBUSY);
	free(path);
	if (r == 0)
		r = check_settings(host, next, why);
	if (r == 0 && !host->desc.reload && !settings_equal(host->conf, next))
		r = asprintf(why, "module '%s' cannot reload its settings; restart ttrpcd",
			     host->desc.name) < 0
			    ? -ENOMEM
			    : -EOPNOTSUPP;
	return r;
}

/* Serve the services of a module loaded by a reload on every server. */
static int publish_host(struct ttrpcd_modules *set, const struct ttrpcd_host *host,
			struct ttrpcd_listeners *ls, char **why)
{
	for (size_t i = 0; i < set->n_services; i++) {
		const struct service *s = &set->services[i];
		int r;

		if (s->owner != host)
			continue;
		r = ttrpcd_listen_publish(ls, s->name, s->methods, s->userdata);
		if (r < 0) {
			while (i-- > 0)
				if (set->services[i].owner == host)
					ttrpcd_listen_unpublish(ls, set->services[i].name);
			return asprintf(why, "module '%s': cannot serve '%s': %s", host->desc.name,
					s->name, strerror(-r)) < 0
				       ? -ENOMEM
				       : r;
		}
	}
	return 0;
}

/* Take back a module this reload loaded: no call can have reached it yet. */
static void unload_fresh(struct ttrpcd_modules *set, struct ttrpcd_host *host,
			 struct ttrpcd_listeners *ls)
{
	for (size_t i = 0; i < set->n_services; i++)
		if (set->services[i].owner == host)
			ttrpcd_listen_unpublish(ls, set->services[i].name);
	drop_services(set, host);
	remove_host(set->hosts, &set->n_hosts, host);
	ttrpcd_log(TTRPC_LOG_INFO, "module '%s' unloaded again: the reload failed",
		   host->desc.name);
	host_end(host);
}

/* The module's reload, with @conf; 0, or its error with *@why (may be NULL) saying why. */
static int run_reload(struct ttrpcd_host *host, const struct ttrpcd_module_conf *conf, char **why)
{
	int r;

	host->conf = conf;
	if (!host->desc.reload)
		return 0;
	forget_reasons(host);
	host->in_reload = true;
	r = host->desc.reload(host);
	host->in_reload = false;
	if (r < 0 && why) {
		char *text = failure_text(host, r);

		if (!text ||
		    asprintf(why, "module '%s': reload failed: %s", host->desc.name, text) < 0)
			*why = NULL;
		free(text);
	}
	forget_reasons(host);
	return r;
}

/* Give the staying modules their new settings, all or none (@old back on failure). */
static int reload_staying(struct ttrpcd_modules *set, size_t n,
			  const struct ttrpcd_module_conf **old,
			  const struct ttrpcd_module_conf **next, char **why)
{
	for (size_t i = 0; i < n; i++) {
		int r;

		if (!next[i])
			continue;
		r = run_reload(set->hosts[i], next[i], why);
		if (r == 0)
			continue;
		set->hosts[i]->conf = old[i];
		/* Those that took the new settings go back to the old ones. */
		while (i-- > 0)
			if (next[i])
				run_reload(set->hosts[i], old[i], NULL);
		return r;
	}
	return 0;
}

static void unload_retired(struct ttrpcd_host *host)
{
	struct ttrpcd_modules *set = host->set;

	remove_host(set->retiring, &set->n_retiring, host);
	ttrpcd_log(TTRPC_LOG_NOTICE, "module '%s' unloaded: its calls are over", host->desc.name);
	host_end(host);
}

static void on_service_retired(struct ttrpc_server *srv, const char *name, void *userdata)
{
	struct ttrpcd_host *host = userdata;

	if (--host->retiring == 0 && !host->stuck)
		unload_retired(host);
}

/*
 * A module disabled by a reload: its services go NOT_SERVING (so that it,
 * and everyone watching, can end long streams), leave the table (watchers
 * hear SERVICE_UNKNOWN) and every server; once each server says that the
 * module's calls are over (or the drain timeout cancelled them), fini runs
 * and the module is unloaded.
 */
static void retire_host(struct ttrpcd_modules *set, struct ttrpcd_host *host,
			struct ttrpcd_listeners *ls, unsigned drain_ms)
{
	for (size_t i = 0; i < set->n_services; i++)
		if (set->services[i].owner == host)
			set_status(set, &set->services[i], TTRPCD_NOT_SERVING);
	for (size_t i = 0; i < set->n_services; i++) {
		const struct service *s = &set->services[i];
		int n;

		if (s->owner != host)
			continue;
		n = ttrpcd_listen_retire(ls, s->name, drain_ms, on_service_retired, host);
		if (n < 0) {
			ttrpcd_log(
				TTRPC_LOG_ERR,
				"module '%s': cannot tell when the calls of '%s' are over: %s; it "
				"stays loaded until ttrpcd exits",
				host->desc.name, s->name, strerror(-n));
			host->stuck = true;
		} else {
			host->retiring += (size_t)n;
		}
		notify_serving(set, s->name, TTRPCD_SERVICE_UNKNOWN);
	}
	drop_services(set, host);
	remove_host(set->hosts, &set->n_hosts, host);
	set->retiring[set->n_retiring++] = host;
	/* Its settings were the old config's, which goes. */
	host->conf = NULL;
	ttrpcd_log(TTRPC_LOG_NOTICE, "module '%s' disabled: unloaded once its calls are over",
		   host->desc.name);
	if (host->retiring == 0 && !host->stuck)
		unload_retired(host);
}

int ttrpcd_modules_reload(struct ttrpcd_modules *set, const struct ttrpcd_config *cfg,
			  struct ttrpcd_listeners *ls, char **why)
{
	size_t n_old = set->n_hosts, n_fresh = 0, n_gone = 0;
	const struct ttrpcd_module_conf **old = calloc(n_old + 1, sizeof(*old));
	const struct ttrpcd_module_conf **next = calloc(n_old + 1, sizeof(*next));
	struct ttrpcd_host **fresh = calloc(cfg->n_modules + 1, sizeof(*fresh));
	struct ttrpcd_host **v;
	int r = 0;

	*why = NULL;
	if (!old || !next || !fresh) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_old && r == 0; i++) {
		old[i] = set->hosts[i]->conf;
		next[i] = find_conf(cfg, set->hosts[i]);
		n_gone += !next[i];
		r = check_staying(cfg, set->hosts[i], next[i], why);
	}
	for (size_t i = 0; i < cfg->n_modules && r == 0; i++) {
		const struct ttrpcd_module_conf *m = &cfg->modules[i];

		if (m->enabled && m->name && find_named(set->retiring, set->n_retiring, m->name))
			r = asprintf(why,
				     "module '%s' is still being unloaded (calls in flight): "
				     "reload again once it is",
				     m->name) < 0
				    ? -ENOMEM
				    : -EBUSY;
	}
	/* Room for those that go, so that nothing can fail once they do. */
	v = r == 0 ? realloc(set->retiring, (set->n_retiring + n_gone + 1) * sizeof(*v)) : NULL;
	if (v)
		set->retiring = v;
	else if (r == 0)
		r = -ENOMEM;
	/* New modules first: a failing one stops the reload before any change. */
	for (size_t i = 0; i < cfg->n_modules && r == 0; i++) {
		const struct ttrpcd_module_conf *m = &cfg->modules[i];
		struct ttrpcd_host *host;

		if (!m->enabled || entry_loaded(set, cfg, m) ||
		    replaced(set->hosts, set->n_hosts, m))
			continue;
		r = load_entry(set, cfg, m, &host, why);
		if (r == 1) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		r = publish_host(set, host, ls, why);
		if (r < 0) {
			unload_fresh(set, host, ls);
			break;
		}
		fresh[n_fresh++] = host;
	}
	if (r == 0)
		r = reload_staying(set, n_old, old, next, why);
	if (r < 0) {
		while (n_fresh > 0)
			unload_fresh(set, fresh[--n_fresh], ls);
		goto out;
	}
	for (size_t i = 0; i < n_fresh; i++)
		for (size_t j = 0; j < set->n_services; j++)
			if (set->services[j].owner == fresh[i])
				notify_serving(set, set->services[j].name, TTRPCD_SERVING);
	for (size_t i = n_old; i-- > 0;)
		if (!next[i])
			retire_host(set, set->hosts[i], ls, cfg->drain_timeout_ms);
out:
	free(old);
	free(next);
	free(fresh);
	return r;
}

size_t ttrpcd_modules_count(const struct ttrpcd_modules *set)
{
	return set->n_hosts;
}

int ttrpcd_modules_add_builtin(struct ttrpcd_modules *set, const struct ttrpc_service *svc)
{
	if (find_service(set, svc->name))
		return -EEXIST;
	return add_service(set, NULL, svc);
}

void ttrpcd_modules_set_ready(struct ttrpcd_modules *set)
{
	if (set->status == TTRPCD_SERVING)
		return;
	set->status = TTRPCD_SERVING;
	notify_serving(set, "", TTRPCD_SERVING);
}

void ttrpcd_modules_set_stopping(struct ttrpcd_modules *set)
{
	bool was = set->status == TTRPCD_NOT_SERVING;

	/* Asked from the first notification on, "" says that this is a stop. */
	set->status = TTRPCD_NOT_SERVING;
	for (size_t i = 0; i < set->n_services; i++)
		set_status(set, &set->services[i], TTRPCD_NOT_SERVING);
	if (!was)
		notify_serving(set, "", TTRPCD_NOT_SERVING);
}

bool ttrpcd_modules_service_at(const struct ttrpcd_modules *set, size_t i,
			       struct ttrpcd_service_info *info)
{
	const struct service *s;

	if (i >= set->n_services)
		return false;
	s = &set->services[i];
	*info = (struct ttrpcd_service_info){
		.name = s->name,
		.module = s->owner ? s->owner->desc.name : NULL,
		.methods = s->methods,
		.status = s->status,
		.descriptor_set = s->descriptor_set,
		.descriptor_set_size = s->descriptor_set_size,
	};
	return true;
}

bool ttrpcd_modules_module_at(const struct ttrpcd_modules *set, size_t i,
			      struct ttrpcd_module_info *info)
{
	const struct ttrpcd_host *host;

	if (i >= set->n_hosts)
		return false;
	host = set->hosts[i];
	*info = (struct ttrpcd_module_info){
		.name = host->desc.name,
		.path = host->real_path ? host->real_path : host->path,
	};
	return true;
}

int ttrpcd_modules_new(struct event_base *base, struct ttrpcd_children *children,
		       struct ttrpcd_modules **ret)
{
	struct ttrpcd_modules *set = calloc(1, sizeof(*set));

	if (!set)
		return -ENOMEM;
	set->base = base;
	set->children = children;
	set->status = TTRPCD_NOT_SERVING; /* until ready */
	for (int i = 0; i < N_MODULE_DIRS; i++) {
		const char *v = getenv(module_dir_env[i]);

		/* systemd lists several directories with ':'; the first is ours. */
		if (v && *v && !(set->dirs[i] = strndup(v, strcspn(v, ":")))) {
			ttrpcd_modules_free(set);
			return -ENOMEM;
		}
	}
	*ret = set;
	return 0;
}

void ttrpcd_modules_free(struct ttrpcd_modules *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_services; i++)
		free(set->services[i].name);
	free(set->services);
	while (set->n_retiring > 0)
		host_end(set->retiring[--set->n_retiring]);
	while (set->n_hosts > 0)
		host_end(set->hosts[--set->n_hosts]);
	free(set->retiring);
	free(set->hosts);
	for (int i = 0; i < N_MODULE_DIRS; i++)
		free(set->dirs[i]);
	free(set);
}
