/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target: ttrpcd's config loader (daemon/config.c) on arbitrary
 * file contents. The loader reads files only, so the input goes into a
 * memfd, read through /proc/self/fd: no file system is touched. Checked:
 * an error is reported with a message (unless memory ran out), a loaded
 * config is consistent, and clearing it frees everything.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/conf.h"
#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttrpcd_config cfg;
	char path[64], *error = NULL;
	int fd, r;

	fd = memfd_create("ttrpcd.conf", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, data, size) == (ssize_t)size);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

	FUZZ_CHECK(ttrpcd_config_init(&cfg) == 0);
	r = ttrpcd_config_load_file(&cfg, path, &error);
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM);
	FUZZ_CHECK(r == 0 ? error == NULL : r == -ENOMEM || error != NULL);
	if (r == 0) {
		FUZZ_CHECK(cfg.limits.message_size >= 1 && cfg.limits.message_size <= 4194304);
		for (size_t i = 0; i < cfg.n_listeners; i++) {
			const struct ttrpcd_listener_conf *l = &cfg.listeners[i];

			FUZZ_CHECK(l->name && ttrpcd_config_find_listener(&cfg, l->name) == l);
			FUZZ_CHECK(!l->path || l->path[0] == '/');
			FUZZ_CHECK(l->n_allow_uids == 0 || l->allow_uids);
			FUZZ_CHECK(l->n_allow_gids == 0 || l->allow_gids);
		}
		for (size_t i = 0; i < cfg.n_modules; i++) {
			const struct ttrpcd_module_conf *m = &cfg.modules[i];

			FUZZ_CHECK(!m->name || ttrpcd_config_find_module(&cfg, m->name) == m);
			for (size_t j = 0; j < m->n_settings; j++)
				FUZZ_CHECK(m->settings[j].key && m->settings[j].value);
		}
		FUZZ_CHECK(!cfg.module_dir || cfg.module_dir[0] == '/');
	}
	/* A second file over the first, as drop-ins are read. */
	if (r == 0) {
		free(error);
		error = NULL;
		r = ttrpcd_config_load_file(&cfg, path, &error);
		FUZZ_CHECK(r == 0 ? error == NULL : r == -ENOMEM || error != NULL);
	}
	free(error);
	ttrpcd_config_clear(&cfg);
	close(fd);
	return 0;
}
