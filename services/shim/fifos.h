/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A process's stdio: the fifos containerd names, opened by the shim and
 * given to runc as the process's own fds, with no copying in between.
 */
#ifndef SHIM_FIFOS_H
#define SHIM_FIFOS_H

/* The fifos of one process; "" for none. Paths owned (strdup'd). */
struct shim_stdio {
	char *stdin_path, *stdout_path, *stderr_path;
	/*
	 * A writer of the stdin fifo held by the shim until CloseIO (or the
	 * process's end), as the Go shim holds one: the process sees EOF only
	 * once containerd's writer is closed too, never before it opened. -1:
	 * none.
	 */
	int stdin_writer;
};

/*
 * shim_stdio_init() - copy the three paths (NULL counts as "").
 *
 * Return: 0 or -ENOMEM (@io is then as shim_stdio_fini() leaves it).
 */
int shim_stdio_init(struct shim_stdio *io, const char *in, const char *out, const char *err);

/* shim_stdio_fini() - free the paths, close the held writer. */
void shim_stdio_fini(struct shim_stdio *io);

/*
 * shim_stdio_open() - the process's fds 0, 1, 2: stdin read-only, stdout and
 * stderr read-write (opening neither blocks until containerd's side comes
 * nor fails with ENXIO, and the process gets no SIGPIPE when ctr leaves, as
 * the Go shim keeps a reader for the same reason); /dev/null for "". The
 * held stdin writer is opened too. @fds are the caller's to close.
 *
 * Return: 0, or a negative errno with the failing path in @failed.
 */
int shim_stdio_open(struct shim_stdio *io, int fds[3], const char **failed);

/*
 * shim_stdio_hold_stdin() - open the held stdin writer, once a reader is
 * open (a terminal's copy opens it). Return: 0 or a negative errno.
 */
int shim_stdio_hold_stdin(struct shim_stdio *io);

/* shim_stdio_close_stdin() - CloseIO: let the process see EOF once containerd closes. */
void shim_stdio_close_stdin(struct shim_stdio *io);

#endif
