/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config file: INI parsed by libinih, checked against one table of
 * sections and keys. Every error names the file, the line and the key.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include <ttrpc/common.h>

#include "daemon/conf.h"
#include "daemon/duration.h"
#include "daemon/log.h"

/*
 * What a value parser writes; one parser per kind of value. @file is the
 * file that sets it, for a path that is relative to it.
 */
typedef int (*parse_fn)(const char *value, void *dst, const char *file);

enum scope {
	SCOPE_DAEMON,   /* fields of struct ttrpcd_config */
	SCOPE_LISTENER, /* fields of struct ttrpcd_listener_conf */
	SCOPE_MODULE,   /* fields of struct ttrpcd_module_conf */
};

struct section {
	const char *name;
	enum scope scope;
	bool named; /* "[listener NAME]" rather than "[limits]" */
};

struct key {
	const char *section;
	const char *name;
	parse_fn parse;
	size_t offset;
	const char *expected; /* for "bad value" messages */
};

/* The smallest message-size libttrpc's servers take. */
#define MIN_MESSAGE_SIZE 64

/* Lists of ids keep their count right after the array pointer. */
struct id_list {
	unsigned *ids;
	size_t n;
};

static int parse_level(const char *value, void *dst, const char *file)
{
	return ttrpcd_log_level_parse(value, dst);
}

static int parse_u64(const char *value, void *dst, const char *file)
{
	char *end;
	unsigned long long v;

	if (!isdigit((unsigned char)value[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*(uint64_t *)dst = v;
	return 0;
}

/* A duration in whole milliseconds, at most UINT32_MAX of them. */
static int duration_ms(const char *value, unsigned *ms)
{
	uint64_t us;
	int r = ttrpcd_duration_parse(value, &us);

	if (r < 0)
		return r;
	if (us / 1000 > UINT32_MAX)
		return -EINVAL;
	*ms = (unsigned)(us / 1000);
	return 0;
}

static int parse_duration_us(const char *value, void *dst, const char *file)
{
	return ttrpcd_duration_parse(value, dst);
}

static int parse_duration_ms(const char *value, void *dst, const char *file)
{
	return duration_ms(value, dst);
}

/* A duration into a limit, which ttrpc_server_set_limit() takes as uint64_t. */
static int parse_duration_ms_u64(const char *value, void *dst, const char *file)
{
	unsigned ms;
	int r = duration_ms(value, &ms);

	if (r == 0)
		*(uint64_t *)dst = ms;
	return r;
}

static int parse_bool(const char *value, void *dst, const char *file)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(value, yes[i]) == 0 || strcasecmp(value, no[i]) == 0) {
			*(bool *)dst = strcasecmp(value, yes[i]) == 0;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_mode(const char *value, void *dst, const char *file)
{
	char *end;
	unsigned long v;

	if (!isdigit((unsigned char)value[0]))
		return -EINVAL;
	v = strtoul(value, &end, 8);
	if (*end || v > 07777)
		return -EINVAL;
	*(mode_t *)dst = (mode_t)v;
	return 0;
}

static int parse_string(const char *value, void *dst, const char *file)
{
	char *s = strdup(value);

	if (!s)
		return -ENOMEM;
	free(*(char **)dst);
	*(char **)dst = s;
	return 0;
}

static int parse_abs_path(const char *value, void *dst, const char *file)
{
	return value[0] == '/' ? parse_string(value, dst, file) : -EINVAL;
}

/*
 * A module's file: a name, looked up in module-dir, or a path. A relative
 * path, "./kv.so" or "modules/kv.so", is relative to the directory of the
 * file that sets it (as git's include.path and ssh's Include are), not to
 * wherever ttrpcd was started.
 */
static int parse_module_file(const char *value, void *dst, const char *file)
{
	const char *slash = strrchr(file, '/');
	char *path;

	if (value[0] == '/' || !strchr(value, '/') || !slash)
		return parse_string(value, dst, file);
	if (asprintf(&path, "%.*s/%s", (int)(slash - file), file, value) < 0)
		return -ENOMEM;
	free(*(char **)dst);
	*(char **)dst = path;
	return 0;
}

static int parse_id(const char *value, bool user, unsigned *id)
{
	char *end;
	unsigned long v;

	if (isdigit((unsigned char)value[0])) {
		errno = 0;
		v = strtoul(value, &end, 10);
		if (errno || *end || v >= UINT32_MAX)
			return -EINVAL;
		*id = (unsigned)v;
		return 0;
	}
	if (user) {
		struct passwd *pw = getpwnam(value);

		if (!pw)
			return -EINVAL;
		*id = pw->pw_uid;
	} else {
		struct group *gr = getgrnam(value);

		if (!gr)
			return -EINVAL;
		*id = gr->gr_gid;
	}
	return 0;
}

static int parse_user(const char *value, void *dst, const char *file)
{
	return parse_id(value, true, dst);
}

static int parse_group(const char *value, void *dst, const char *file)
{
	return parse_id(value, false, dst);
}

/* Space-separated names or numbers; replaces the list. */
static int parse_id_list(const char *value, void *dst, bool user)
{
	struct id_list *list = dst;
	char *copy = strdup(value), *save, *tok;
	unsigned *ids = NULL, *v;
	size_t n = 0;
	int r = 0;

	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, " \t,", &save); tok; tok = strtok_r(NULL, " \t,", &save)) {
		v = realloc(ids, (n + 1) * sizeof(*ids));
		if (!v) {
			r = -ENOMEM;
			break;
		}
		ids = v;
		r = parse_id(tok, user, &ids[n++]);
		if (r < 0)
			break;
	}
	free(copy);
	if (r < 0) {
		free(ids);
		return r;
	}
	free(list->ids);
	list->ids = ids;
	list->n = n;
	return 0;
}

static int parse_users(const char *value, void *dst, const char *file)
{
	return parse_id_list(value, dst, true);
}

static int parse_groups(const char *value, void *dst, const char *file)
{
	return parse_id_list(value, dst, false);
}

static const struct section sections[] = {
	{ "ttrpcd", SCOPE_DAEMON, false },  { "limits", SCOPE_DAEMON, false },
	{ "control", SCOPE_DAEMON, false }, { "listener", SCOPE_LISTENER, true },
	{ "module", SCOPE_MODULE, true },
};

#define D(field) offsetof(struct ttrpcd_config, field)
#define L(field) offsetof(struct ttrpcd_listener_conf, field)
#define M(field) offsetof(struct ttrpcd_module_conf, field)

static const struct key keys[] = {
	{ "ttrpcd", "log-level", parse_level, D(log_level), "err, warning, notice, info or debug" },
	{ "ttrpcd", "drain-timeout", parse_duration_ms, D(drain_timeout_ms),
	  "a duration such as 10s or 500ms" },
	{ "ttrpcd", "slow-call", parse_duration_ms, D(slow_call_ms),
	  "a duration such as 10s, 0 for never" },
	{ "ttrpcd", "module-dir", parse_abs_path, D(module_dir), "an absolute path" },
	{ "ttrpcd", "busy-poll", parse_duration_us, D(busy_poll_us),
	  "a duration such as 50us, 0 to sleep at once" },
	{ "limits", "connections", parse_u64, D(limits.connections), "a number, 0 for none" },
	{ "limits", "message-size", parse_u64, D(limits.message_size),
	  "a number of bytes up to 4194304" },
	{ "limits", "calls-per-connection", parse_u64, D(limits.calls_per_connection),
	  "a number, 0 for none" },
	{ "limits", "output-queue", parse_u64, D(limits.output_queue), "a number of bytes" },
	{ "limits", "streams-per-connection", parse_u64, D(limits.streams_per_connection),
	  "a number, 0 for none" },
	{ "limits", "frame-timeout", parse_duration_ms_u64, D(limits.frame_timeout_ms),
	  "a duration such as 10s or 500ms, 0 for none" },
	{ "limits", "idle-timeout", parse_duration_ms_u64, D(limits.idle_timeout_ms),
	  "a duration such as 10min or 30s, 0 for none" },
	{ "control", "allow-users", parse_users, D(control.allow_uids),
	  "user names or uids, separated by spaces" },
	{ "control", "allow-groups", parse_groups, D(control.allow_gids),
	  "group names or gids, separated by spaces" },
	{ "listener", "path", parse_abs_path, L(path), "an absolute path" },
	{ "listener", "mode", parse_mode, L(mode), "an octal file mode such as 0660" },
	{ "listener", "owner", parse_user, L(owner), "a user name or uid" },
	{ "listener", "group", parse_group, L(group), "a group name or gid" },
	{ "listener", "allow-users", parse_users, L(allow_uids),
	  "user names or uids, separated by spaces" },
	{ "listener", "allow-groups", parse_groups, L(allow_gids),
	  "group names or gids, separated by spaces" },
	{ "module", "file", parse_module_file, M(file), "a file name or a path" },
	{ "module", "optional", parse_bool, M(optional), "yes or no" },
	{ "module", "enabled", parse_bool, M(enabled), "yes or no" },
};

_Static_assert(sizeof(uid_t) == sizeof(unsigned) && sizeof(gid_t) == sizeof(unsigned),
	       "ids are parsed as unsigned");
_Static_assert(offsetof(struct ttrpcd_listener_conf, n_allow_uids) ==
		       offsetof(struct ttrpcd_listener_conf, allow_uids) + sizeof(void *),
	       "allow_uids is read as a struct id_list");
_Static_assert(offsetof(struct ttrpcd_listener_conf, n_allow_gids) ==
		       offsetof(struct ttrpcd_listener_conf, allow_gids) + sizeof(void *),
	       "allow_gids is read as a struct id_list");
_Static_assert(offsetof(struct ttrpcd_control_conf, n_allow_uids) ==
		       offsetof(struct ttrpcd_control_conf, allow_uids) + sizeof(void *),
	       "control allow_uids is read as a struct id_list");
_Static_assert(offsetof(struct ttrpcd_control_conf, n_allow_gids) ==
		       offsetof(struct ttrpcd_control_conf, allow_gids) + sizeof(void *),
	       "control allow_gids is read as a struct id_list");

/* The state of one file's parse. */
struct parse {
	struct ttrpcd_config *cfg;
	FILE *f;
	const char *file;
	unsigned line;
	char *error; /* the first error; parsing goes on but nothing more is kept */
	int r;
};

static void parse_error(struct parse *p, int r, const char *fmt, ...) TTRPC_PRINTF(3, 4);

static void parse_error(struct parse *p, int r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (p->error || p->r == -ENOMEM)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (asprintf(&p->error, "%s:%u: %s", p->file, p->line, msg) < 0)
		p->error = NULL;
	p->r = r;
}

static int on_section(struct parse *p, const char *section);

/*
 * libinih calls its handler for keys only, so a section without keys, such
 * as "[listener api]" for a socket that only systemd passes, is seen here.
 */
static void on_section_line(struct parse *p, const char *line)
{
	const char *start = line + strspn(line, " \t");
	size_t len;
	char *name;

	if (*start != '[')
		return;
	len = strcspn(start + 1, "]");
	if (start[1 + len] != ']')
		return;
	name = strndup(start + 1, len);
	if (!name) {
		parse_error(p, -ENOMEM, "out of memory");
		return;
	}
	on_section(p, name);
	free(name);
}

/*
 * libinih's fgets: reads whole lines so that one longer than libinih's
 * buffer (200 bytes in Debian's build, which would cut it silently) is an
 * error, not a truncated value.
 */
static char *read_line(char *buf, int size, void *arg)
{
	struct parse *p = arg;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	n = getline(&line, &cap, p->f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	p->line++;
	if (n >= size) {
		parse_error(p, -EINVAL, "line is %zd characters long; at most %d are allowed", n,
			    size - 2);
		free(line);
		return NULL;
	}
	on_section_line(p, line);
	memcpy(buf, line, (size_t)n + 1);
	free(line);
	return buf;
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

static void listener_conf_defaults(struct ttrpcd_listener_conf *l)
{
	l->mode = 0660;
	l->owner = (uid_t)-1;
	l->group = (gid_t)-1;
}

static struct ttrpcd_listener_conf *listener_get(struct ttrpcd_config *cfg, const char *name,
						 const struct ttrpcd_origin *origin)
{
	struct ttrpcd_listener_conf *v, *l;

	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	v = realloc(cfg->listeners, (cfg->n_listeners + 1) * sizeof(*v));
	if (!v)
		return NULL;
	cfg->listeners = v;
	l = memset(&v[cfg->n_listeners], 0, sizeof(*l));
	listener_conf_defaults(l);
	if (!(l->name = strdup(name)))
		return NULL;
	l->origin = *origin;
	cfg->n_listeners++;
	return l;
}

static struct ttrpcd_module_conf *module_get(struct ttrpcd_config *cfg, const char *name,
					     const struct ttrpcd_origin *origin)
{
	struct ttrpcd_module_conf *v, *m;

	/* Without a name (--module), always a new entry. */
	for (size_t i = 0; name && i < cfg->n_modules; i++)
		if (cfg->modules[i].name && strcmp(cfg->modules[i].name, name) == 0)
			return &cfg->modules[i];
	v = realloc(cfg->modules, (cfg->n_modules + 1) * sizeof(*v));
	if (!v)
		return NULL;
	cfg->modules = v;
	m = memset(&v[cfg->n_modules], 0, sizeof(*m));
	if (name && !(m->name = strdup(name)))
		return NULL;
	m->enabled = true;
	m->origin = *origin;
	cfg->n_modules++;
	return m;
}

/* A module's own key: kept for the module, which checks it once loaded. */
static int module_setting(struct ttrpcd_module_conf *m, const char *key, const char *value,
			  const struct ttrpcd_origin *origin)
{
	struct ttrpcd_setting *v, *s = NULL;
	char *k, *val = strdup(value);

	for (size_t i = 0; i < m->n_settings; i++)
		if (strcmp(m->settings[i].key, key) == 0)
			s = &m->settings[i];
	if (!val)
		return -ENOMEM;
	if (s) {
		free(s->value);
		s->value = val;
		s->origin = *origin;
		return 0;
	}
	k = strdup(key);
	v = realloc(m->settings, (m->n_settings + 1) * sizeof(*v));
	if (!k || !v) {
		free(k);
		free(val);
		if (v)
			m->settings = v;
		return -ENOMEM;
	}
	m->settings = v;
	v[m->n_settings++] = (struct ttrpcd_setting){ .key = k, .value = val, .origin = *origin };
	return 0;
}

static const struct section *section_find(const char *full, const char **name)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct section *s = &sections[i];
		size_t n = strlen(s->name);

		if (strncmp(full, s->name, n) != 0)
			continue;
		if (!s->named && full[n] == '\0') {
			*name = NULL;
			return s;
		}
		if (s->named && full[n] == ' ') {
			*name = full + n + 1;
			return s;
		}
	}
	return NULL;
}

static const struct key *key_find(const char *section, const char *name)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int on_section(struct parse *p, const char *section)
{
	struct ttrpcd_origin origin = { .file = p->file, .line = p->line };
	const struct section *sec;
	const char *sec_name;
	void *entry = p->cfg;

	sec = section_find(section, &sec_name);
	if (!sec) {
		parse_error(p, -EINVAL, "unknown section [%s]", section);
		return 0;
	}
	if (sec->named && !valid_name(sec_name)) {
		parse_error(p, -EINVAL,
			    "bad name in section [%s]: use letters, digits, '-' and '_'", section);
		return 0;
	}
	if (sec->scope == SCOPE_LISTENER)
		entry = listener_get(p->cfg, sec_name, &origin);
	else if (sec->scope == SCOPE_MODULE)
		entry = module_get(p->cfg, sec_name, &origin);
	if (!entry) {
		parse_error(p, -ENOMEM, "out of memory");
		return 0;
	}
	return 1;
}

static int on_value(void *arg, const char *section, const char *name, const char *value)
{
	struct parse *p = arg;
	struct ttrpcd_origin origin = { .file = p->file, .line = p->line };
	const struct section *sec;
	const struct key *key;
	const char *sec_name;
	void *base = NULL;
	int r;

	if (!*section) {
		parse_error(p, -EINVAL, "key '%s' outside of any [section]", name);
		return 0;
	}
	sec = section_find(section, &sec_name);
	if (!sec || (sec->named && !valid_name(sec_name)))
		return 0; /* on_section() said so */
	key = key_find(sec->name, name);
	switch (sec->scope) {
	case SCOPE_DAEMON:
		base = p->cfg;
		break;
	case SCOPE_LISTENER:
		base = listener_get(p->cfg, sec_name, &origin);
		break;
	case SCOPE_MODULE:
		base = module_get(p->cfg, sec_name, &origin);
		if (base && !key) {
			r = module_setting(base, name, value, &origin);
			if (r < 0)
				parse_error(p, r, "out of memory");
			return r == 0;
		}
		break;
	}
	if (!base) {
		parse_error(p, -ENOMEM, "out of memory");
		return 0;
	}
	if (!key) {
		parse_error(p, -EINVAL, "unknown key '%s' in [%s]", name, section);
		return 0;
	}
	r = key->parse(value, (char *)base + key->offset, p->file);
	if (r == -ENOMEM) {
		parse_error(p, r, "out of memory");
		return 0;
	}
	if (r < 0) {
		parse_error(p, -EINVAL, "bad value '%s' for key '%s' in [%s]: expected %s", value,
			    name, section, key->expected);
		return 0;
	}
	return 1;
}

/* Checks that need the whole config rather than one value. */
static int config_check(struct ttrpcd_config *cfg, char **error)
{
	/* What ttrpc_server_set_limit() refuses, said here rather than at start. */
	if (cfg->limits.message_size < MIN_MESSAGE_SIZE ||
	    cfg->limits.message_size > TTRPC_MAX_MESSAGE_SIZE)
		return asprintf(error, "[limits] message-size must be %u to %u", MIN_MESSAGE_SIZE,
				TTRPC_MAX_MESSAGE_SIZE) < 0
			       ? -ENOMEM
			       : -EINVAL;
	if (cfg->limits.output_queue == 0)
		return asprintf(error, "[limits] output-queue must be at least 1 byte") < 0
			       ? -ENOMEM
			       : -EINVAL;
	return 0;
}

/* Keep the file's name for the origins of its values. */
static const char *intern_file(struct ttrpcd_config *cfg, const char *path)
{
	char **v = realloc(cfg->files, (cfg->n_files + 1) * sizeof(*v));

	if (!v)
		return NULL;
	cfg->files = v;
	if (!(v[cfg->n_files] = strdup(path)))
		return NULL;
	return v[cfg->n_files++];
}

int ttrpcd_config_load_file(struct ttrpcd_config *cfg, const char *path, char **error)
{
	struct parse p = { .cfg = cfg };
	int r;

	*error = NULL;
	p.file = intern_file(cfg, path);
	if (!p.file)
		return -ENOMEM;
	p.f = fopen(path, "re");
	if (!p.f) {
		r = -errno;
		if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
			*error = NULL;
		return r;
	}
	r = ini_parse_stream(read_line, &p, on_value, &p);
	fclose(p.f);
	cfg->from_file = true;
	if (p.error || p.r < 0) {
		*error = p.error;
		return p.r;
	}
	if (r > 0) {
		/* libinih's own complaint: a line that is neither section nor key. */
		if (asprintf(error, "%s:%d: syntax error: expected [section] or key = value", path,
			     r) < 0)
			*error = NULL;
		return -EINVAL;
	}
	if (r < 0)
		return -ENOMEM;
	return config_check(cfg, error);
}

static int conf_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".conf") == 0;
}

int ttrpcd_config_load(struct ttrpcd_config *cfg, const char *path, bool required, char **error)
{
	struct dirent **ents = NULL;
	char *dir = NULL, *file;
	int n, r;

	*error = NULL;
	r = ttrpcd_config_load_file(cfg, path, error);
	if (r == -ENOENT && !required) {
		free(*error);
		*error = NULL;
		r = 0;
	}
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s.d", path) < 0)
		return -ENOMEM;
	n = scandir(dir, &ents, conf_filter, alphasort);
	if (n < 0) {
		r = errno == ENOENT ? 0 : -errno;
		if (r < 0 && asprintf(error, "%s: %s", dir, strerror(-r)) < 0)
			*error = NULL;
		free(dir);
		return r;
	}
	for (int i = 0; i < n; i++) {
		if (r == 0) {
			if (asprintf(&file, "%s/%s", dir, ents[i]->d_name) < 0) {
				r = -ENOMEM;
			} else {
				r = ttrpcd_config_load_file(cfg, file, error);
				free(file);
			}
		}
		free(ents[i]);
	}
	free(ents);
	free(dir);
	return r;
}

int ttrpcd_config_add_listener(struct ttrpcd_config *cfg, const char *name, const char *path)
{
	struct ttrpcd_origin origin = { .file = "command line" };
	struct ttrpcd_listener_conf *l;

	if (ttrpcd_config_find_listener(cfg, name))
		return -EEXIST;
	l = listener_get(cfg, name, &origin);
	if (!l || !(l->path = strdup(path)))
		return -ENOMEM;
	return 0;
}

int ttrpcd_config_add_module(struct ttrpcd_config *cfg, const char *name, const char *file)
{
	struct ttrpcd_origin origin = { .file = "command line" };
	struct ttrpcd_module_conf *m = module_get(cfg, name, &origin);

	if (!m)
		return -ENOMEM;
	free(m->file);
	m->file = NULL;
	if (file && !(m->file = strdup(file)))
		return -ENOMEM;
	return 0;
}

const struct ttrpcd_listener_conf *ttrpcd_config_find_listener(const struct ttrpcd_config *cfg,
							       const char *name)
{
	for (size_t i = 0; i < cfg->n_listeners; i++)
		if (strcmp(cfg->listeners[i].name, name) == 0)
			return &cfg->listeners[i];
	return NULL;
}

const struct ttrpcd_module_conf *ttrpcd_config_find_module(const struct ttrpcd_config *cfg,
							   const char *name)
{
	for (size_t i = 0; i < cfg->n_modules; i++)
		if (cfg->modules[i].name && strcmp(cfg->modules[i].name, name) == 0)
			return &cfg->modules[i];
	return NULL;
}

int ttrpcd_config_init(struct ttrpcd_config *cfg)
{
	*cfg = (struct ttrpcd_config){
		.log_level = TTRPC_LOG_INFO,
		.drain_timeout_ms = 10000,
		.slow_call_ms = 10000,
		.busy_poll_us = 50,
		.limits = {
			.message_size = TTRPC_MAX_MESSAGE_SIZE,
			.output_queue = 64u << 20,
			.frame_timeout_ms = 10000,
		},
	};
	cfg->module_dir = strdup(TTRPCD_MODULE_DIR);
	/* The control service: root, and whoever the daemon runs as. */
	cfg->control.allow_uids = calloc(2, sizeof(uid_t));
	if (!cfg->module_dir || !cfg->control.allow_uids) {
		ttrpcd_config_clear(cfg);
		return -ENOMEM;
	}
	cfg->control.allow_uids[cfg->control.n_allow_uids++] = 0;
	if (geteuid() != 0)
		cfg->control.allow_uids[cfg->control.n_allow_uids++] = geteuid();
	return 0;
}

void ttrpcd_config_clear(struct ttrpcd_config *cfg)
{
	for (size_t i = 0; i < cfg->n_listeners; i++) {
		free(cfg->listeners[i].name);
		free(cfg->listeners[i].path);
		free(cfg->listeners[i].allow_uids);
		free(cfg->listeners[i].allow_gids);
	}
	for (size_t i = 0; i < cfg->n_modules; i++) {
		struct ttrpcd_module_conf *m = &cfg->modules[i];

		for (size_t j = 0; j < m->n_settings; j++) {
			free(m->settings[j].key);
			free(m->settings[j].value);
		}
		free(m->settings);
		free(m->name);
		free(m->file);
	}
	for (size_t i = 0; i < cfg->n_files; i++)
		free(cfg->files[i]);
	free(cfg->files);
	free(cfg->listeners);
	free(cfg->modules);
	free(cfg->module_dir);
	free(cfg->control.allow_uids);
	free(cfg->control.allow_gids);
	*cfg = (struct ttrpcd_config){ 0 };
}
