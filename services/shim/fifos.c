/* SPDX-License-Identifier: Apache-2.0 */
/* The fifos of a process's stdio. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fifos.h"

static char *dup_path(const char *p)
{
	return strdup(p ? p : "");
}

int shim_stdio_init(struct shim_stdio *io, const char *in, const char *out, const char *err)
{
	io->stdin_writer = -1;
	io->stdin_path = dup_path(in);
	io->stdout_path = dup_path(out);
	io->stderr_path = dup_path(err);
	if (!io->stdin_path || !io->stdout_path || !io->stderr_path) {
		shim_stdio_fini(io);
		return -ENOMEM;
	}
	return 0;
}

void shim_stdio_fini(struct shim_stdio *io)
{
	free(io->stdin_path);
	free(io->stdout_path);
	free(io->stderr_path);
	io->stdin_path = io->stdout_path = io->stderr_path = NULL;
	shim_stdio_close_stdin(io);
}

static int open_one(const char *path, int which)
{
	int fd;

	if (!*path)
		return open("/dev/null", O_RDWR | O_CLOEXEC);
	if (which > 0)
		return open(path, O_RDWR | O_CLOEXEC);
	/* Not blocking in open until a writer comes; the process's reads block. */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && fcntl(fd, F_SETFL, 0) < 0) {
		int r = -errno;

		close(fd);
		errno = -r;
		return -1;
	}
	return fd;
}

int shim_stdio_open(struct shim_stdio *io, int fds[3], const char **failed)
{
	const char *paths[3] = { io->stdin_path, io->stdout_path, io->stderr_path };
	int r;

	fds[0] = fds[1] = fds[2] = -1;
	for (int i = 0; i < 3; i++) {
		fds[i] = open_one(paths[i], i);
		if (fds[i] < 0) {
			r = -errno;
			*failed = paths[i];
			goto fail;
		}
	}
	r = shim_stdio_hold_stdin(io);
	if (r < 0) {
		*failed = io->stdin_path;
		goto fail;
	}
	return 0;
fail:
	for (int i = 0; i < 3; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
	return r;
}

int shim_stdio_hold_stdin(struct shim_stdio *io)
{
	/* A reader is open: this neither blocks nor fails with ENXIO. */
	if (*io->stdin_path && io->stdin_writer < 0) {
		io->stdin_writer = open(io->stdin_path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (io->stdin_writer < 0)
			return -errno;
	}
	return 0;
}

void shim_stdio_close_stdin(struct shim_stdio *io)
{
	if (io->stdin_writer >= 0)
		close(io->stdin_writer);
	io->stdin_writer = -1;
}
