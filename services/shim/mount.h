/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rootfs mounts of a Create request (the snapshotter's: overlay, bind),
 * mounted on the bundle's rootfs and taken off at Delete.
 */
#ifndef SHIM_MOUNT_H
#define SHIM_MOUNT_H

#include <stddef.h>

/*
 * shim_mount_options() - split mount(8)-style options into the flags of
 * mount(2) and the filesystem's data (the options it does not know, comma
 * separated, in their order: "lowerdir=...,upperdir=...").
 * @options: @n strings, borrowed.
 * @flags: receives the MS_* flags.
 * @data: receives the data, NUL-terminated ("" for none).
 *
 * Return: 0, or -E2BIG when the data does not fit @size.
 */
int shim_mount_options(const char *const *options, size_t n, unsigned long *flags, char *data,
		       size_t size);

/*
 * shim_mount() - mount @source of @type with @options on @target, as
 * containerd's mount.All: a read-only bind is remounted read-only.
 *
 * Return: 0 or a negative errno (nothing is left mounted then).
 */
int shim_mount(const char *type, const char *source, const char *const *options, size_t n,
	       const char *target);

/* shim_unmount_all() - take every mount off @target, the stacked ones too. */
void shim_unmount_all(const char *target);

#endif
