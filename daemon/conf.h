/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ttrpcd's configuration: the INI file, its drop-ins, and the values they
 * set, checked as they are read.
 */
#ifndef TTRPCD_CONF_H
#define TTRPCD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where a value came from, for error messages. */
struct ttrpcd_origin {
	const char *file; /* interned in the config; lives as long as it */
	unsigned line;
};

/* One setting of a module section, handed to the module as is. */
struct ttrpcd_setting {
	char *key;
	char *value;
	struct ttrpcd_origin origin;
};

/* [listener NAME]: a unix socket, bound by ttrpcd or inherited by NAME. */
struct ttrpcd_listener_conf {
	char *name; /* also the FileDescriptorName= it matches */
	char *path; /* NULL: only served when inherited */
	mode_t mode;
	uid_t owner; /* (uid_t)-1: unchanged */
	gid_t group; /* (gid_t)-1: unchanged */
	uid_t *allow_uids;
	size_t n_allow_uids;
	gid_t *allow_gids;
	size_t n_allow_gids;
	bool fallback; /* the built-in default: not bound when sockets are inherited */
	struct ttrpcd_origin origin;
};

/*
 * [module NAME]: a shared object to load and its settings. The section
 * enables the module; "enabled = no" (in a later drop-in, say) disables it
 * again, settings kept.
 */
struct ttrpcd_module_conf {
	char *name;
	/* A path as given with a '/' (a relative one was made relative to the
	 * file that set it when it was read), or a file name in module_dir;
	 * NULL: NAME.so in module_dir. */
	char *file;
	bool optional; /* a failure to load is a warning, not fatal */
	bool enabled;  /* default yes */
	/* The built-in default of a daemon without a config file: loaded after
	 * the others, and not at all when one of them has its name. */
	bool fallback;
	struct ttrpcd_setting *settings;
	size_t n_settings;
	struct ttrpcd_origin origin;
};

/* Server limits, as ttrpc_server_set_limit() takes them (per listener). */
struct ttrpcd_limits {
	uint64_t connections;
	uint64_t message_size;
	uint64_t calls_per_connection;
	uint64_t output_queue;
	uint64_t streams_per_connection;
	uint64_t frame_timeout_ms; /* first byte of a frame to its last; 0: none */
	uint64_t idle_timeout_ms;  /* no call in flight, nothing being read; 0: none */
};

/*
 * [control]: who may call the daemon's control service, ttrpcd.v1.Control,
 * on any listener; other callers get PERMISSION_DENIED. A peer passes when
 * its uid, its primary gid or one of its supplementary groups is listed.
 * Applied on reload.
 */
struct ttrpcd_control_conf {
	uid_t *allow_uids; /* default: root and the daemon's effective user */
	size_t n_allow_uids;
	gid_t *allow_gids; /* default: none */
	size_t n_allow_gids;
};

struct ttrpcd_config {
	int log_level;             /* enum ttrpc_log_level */
	unsigned drain_timeout_ms; /* 0: wait for calls forever */
	unsigned slow_call_ms;     /* a unary call in flight this long is logged; 0: never */
	uint64_t busy_poll_us;     /* polling after a wake-up before sleeping again */
	char *module_dir;
	struct ttrpcd_limits limits;
	struct ttrpcd_control_conf control;
	struct ttrpcd_listener_conf *listeners;
	size_t n_listeners;
	struct ttrpcd_module_conf *modules;
	size_t n_modules;
	bool from_file; /* at least one file was read */
	char **files;   /* names of the files read, for origins */
	size_t n_files;
};

/*
 * ttrpcd_config_init() - fill @cfg with the built-in defaults: log level
 * info, drain timeout 10 s, slow call 10 s, the installed module directory, the library's
 * default limits, the control service for root and the effective user, no
 * listener, no module.
 *
 * Return: 0 or -ENOMEM (then @cfg holds nothing to clear).
 */
int ttrpcd_config_init(struct ttrpcd_config *cfg);

/* ttrpcd_config_clear() - free everything @cfg owns; it can be inited again. */
void ttrpcd_config_clear(struct ttrpcd_config *cfg);

/*
 * ttrpcd_config_load() - read a config file and then its drop-ins,
 * @path.d/ *.conf in name order, over the values already in @cfg; a later
 * value of a key replaces an earlier one.
 * @path: the main file; when @required is false a missing file (and
 *        drop-in directory) is no error.
 * @error: on failure, receives a malloc'd message "FILE:LINE: ..." naming
 *         the key; the caller frees it.
 *
 * Return: 0; -EINVAL for a syntax error, an unknown section or key, a bad
 * value, or a line longer than libinih takes; -ENOENT; -ENOMEM.
 */
int ttrpcd_config_load(struct ttrpcd_config *cfg, const char *path, bool required, char **error);

/*
 * ttrpcd_config_load_file() - read one file over @cfg, without drop-ins.
 * Return and @error: as ttrpcd_config_load().
 */
int ttrpcd_config_load_file(struct ttrpcd_config *cfg, const char *path, char **error);

/*
 * ttrpcd_config_add_listener() - a listener with default settings (mode
 * 0660, no owner change, everyone admitted) at @path, named @name.
 *
 * Return: 0, -EEXIST when @name is taken, -ENOMEM.
 */
int ttrpcd_config_add_listener(struct ttrpcd_config *cfg, const char *name, const char *path);

/*
 * ttrpcd_config_add_module() - a module to load from @file (NULL: NAME.so
 * of the module directory), named @name (NULL: the module's own name,
 * known once it is loaded).
 *
 * Return: 0 or -ENOMEM.
 */
int ttrpcd_config_add_module(struct ttrpcd_config *cfg, const char *name, const char *file);

/* ttrpcd_config_find_listener() - the listener named @name, or NULL. */
const struct ttrpcd_listener_conf *ttrpcd_config_find_listener(const struct ttrpcd_config *cfg,
							       const char *name);

/* ttrpcd_config_find_module() - the module section named @name, enabled or not, or NULL. */
const struct ttrpcd_module_conf *ttrpcd_config_find_module(const struct ttrpcd_config *cfg,
							   const char *name);

#endif
