/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rootfs mounts: the options of containerd.types.Mount turned into mount(2)
 * flags and data.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "mount.h"

static const struct mount_flag {
	const char *name;
	unsigned long flag;
	bool clear;
} mount_flags[] = {
	{ "ro", MS_RDONLY, false },
	{ "rw", MS_RDONLY, true },
	{ "nosuid", MS_NOSUID, false },
	{ "suid", MS_NOSUID, true },
	{ "nodev", MS_NODEV, false },
	{ "dev", MS_NODEV, true },
	{ "noexec", MS_NOEXEC, false },
	{ "exec", MS_NOEXEC, true },
	{ "sync", MS_SYNCHRONOUS, false },
	{ "async", MS_SYNCHRONOUS, true },
	{ "noatime", MS_NOATIME, false },
	{ "atime", MS_NOATIME, true },
	{ "relatime", MS_RELATIME, false },
	{ "norelatime", MS_RELATIME, true },
	{ "nodiratime", MS_NODIRATIME, false },
	{ "diratime", MS_NODIRATIME, true },
	{ "strictatime", MS_STRICTATIME, false },
	{ "bind", MS_BIND, false },
	{ "rbind", MS_BIND | MS_REC, false },
	{ "defaults", 0, false },
};

int shim_mount_options(const char *const *options, size_t n, unsigned long *flags, char *data,
		       size_t size)
{
	size_t dlen = 0;

	*flags = 0;
	if (size == 0)
		return -E2BIG;
	data[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const char *o = options[i];
		const struct mount_flag *f = NULL;

		for (size_t k = 0; k < sizeof(mount_flags) / sizeof(mount_flags[0]); k++) {
			if (strcmp(o, mount_flags[k].name) == 0)
				f = &mount_flags[k];
		}
		if (f) {
			if (f->clear)
				*flags &= ~f->flag;
			else
				*flags |= f->flag;
			continue;
		}
		int k = snprintf(data + dlen, size - dlen, "%s%s", dlen ? "," : "", o);

		if (k < 0 || (size_t)k >= size - dlen) {
			data[dlen] = '\0';
			return -E2BIG;
		}
		dlen += (size_t)k;
	}
	return 0;
}

int shim_mount(const char *type, const char *source, const char *const *options, size_t n,
	       const char *target)
{
	unsigned long flags;
	char data[4096];
	int r = shim_mount_options(options, n, &flags, data, sizeof(data));

	if (r < 0)
		return r;
	/* A bind mount takes MS_RDONLY only on a remount. */
	if (mount(source, target, type, flags & MS_BIND ? flags & ~MS_RDONLY : flags,
		  *data ? data : NULL) < 0)
		return -errno;
	if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
	    mount(source, target, type, flags | MS_REMOUNT, NULL) < 0) {
		r = -errno;
		umount2(target, MNT_DETACH);
		return r;
	}
	return 0;
}

void shim_unmount_all(const char *target)
{
	while (umount2(target, MNT_DETACH) == 0)
		;
}
