/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/mount.c: mount(8)-style options into mount(2) flags and
 * data; as root, a real read-only bind mount and its removal.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check-parts.h"
#include "services/shim/mount.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static const struct {
	const char *options[6];
	unsigned long flags;
	const char *data;
} cases[] = {
	/* What the overlayfs snapshotter sends. */
	{ { "index=off", "workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2" },
	  0,
	  "index=off,workdir=/w,upperdir=/u,lowerdir=/l1:/l2" },
	/* What the native snapshotter and --mount bind send. */
	{ { "rbind", "ro" }, MS_BIND | MS_REC | MS_RDONLY, "" },
	{ { "bind", "rw" }, MS_BIND, "" },
	{ { "ro", "rw" }, 0, "" },
	{ { "nosuid", "nodev", "noexec", "mode=755" },
	  MS_NOSUID | MS_NODEV | MS_NOEXEC,
	  "mode=755" },
	{ { "noatime", "atime", "relatime", "sync" }, MS_RELATIME | MS_SYNCHRONOUS, "" },
	{ { "defaults", "size=64k" }, 0, "size=64k" },
	{ { NULL }, 0, "" },
};

START_TEST(options)
{
	size_t n = 0;
	unsigned long flags = 12345;
	char data[256];

	while (n < 6 && cases[_i].options[n])
		n++;
	ck_assert_int_eq(shim_mount_options(cases[_i].options, n, &flags, data, sizeof(data)), 0);
	ck_assert_uint_eq(flags, cases[_i].flags);
	ck_assert_str_eq(data, cases[_i].data);
}
END_TEST

START_TEST(too_long)
{
	const char *opts[] = { "lowerdir=/a/very/long/path", "upperdir=/u" };
	unsigned long flags;
	char data[16];

	ck_assert_int_eq(shim_mount_options(opts, 2, &flags, data, sizeof(data)), -E2BIG);
	ck_assert_int_eq(shim_mount_options(opts, 2, &flags, data, 0), -E2BIG);
}
END_TEST

/* As root: a read-only bind is read-only, and every mount comes off. */
START_TEST(bind_ro)
{
	char dir[] = "/tmp/test-mount.XXXXXX", src[64], dst[64], file[80];
	const char *opts[] = { "rbind", "ro" };
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	ck_assert_int_eq(mkdir(src, 0700), 0);
	ck_assert_int_eq(mkdir(dst, 0700), 0);
	ck_assert_int_eq(shim_mount("none", src, opts, 2, dst), 0);
	ck_assert_int_eq(shim_mount("none", src, opts, 2, dst), 0);
	snprintf(file, sizeof(file), "%s/f", dst);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, EROFS);
	shim_unmount_all(dst);
	fd = open(file, O_WRONLY | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(file);
	ck_assert_int_eq(shim_mount("nosuchfs", src, NULL, 0, dst), -ENODEV);
	rmdir(dst);
	rmdir(src);
	rmdir(dir);
}
END_TEST

static Suite *mount_suite(void)
{
	Suite *s = suite_create("shim-mount");
	TCase *tc = tcase_create("mount");

	tcase_add_loop_test(tc, options, 0, sizeof(cases) / sizeof(cases[0]));
	tcase_add_test(tc, too_long);
	suite_add_tcase(s, tc);
	return s;
}

/* Real mounts. */
static Suite *mount_root_suite(void)
{
	Suite *s = suite_create("shim-mount-root");
	TCase *tc = tcase_create("mount");

	tcase_add_test(tc, bind_ro);
	suite_add_tcase(s, tc);
	return s;
}

static const struct check_part parts[] = {
	{ "test-mount", mount_suite, NULL },
	{ "test-mount-root", mount_root_suite, check_need_root },
};

int main(int argc, char **argv)
{
	(void)argc;
	return check_parts_main(argv[0], parts, sizeof(parts) / sizeof(parts[0]));
}
