/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Terminals: runc's console socket (--console-socket), on which runc init
 * sends the pty master it made in the container (SCM_RIGHTS), and the copy
 * between that master and containerd's fifos on the event loop: stdin fifo
 * to master, master to stdout fifo, non-blocking, each direction paused
 * while the other side does not take more.
 */
#ifndef SHIM_CONSOLE_H
#define SHIM_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

struct shim_console_socket;
struct shim_console;

/*
 * shim_console_socket_new() - a listening unix socket in a directory of its
 * own (mode 0700) under @tmpdir, for runc's --console-socket.
 *
 * Return: 0 or a negative errno.
 */
int shim_console_socket_new(const char *tmpdir, struct shim_console_socket **ret);

/* shim_console_socket_path() - its path, borrowed until it is freed. */
const char *shim_console_socket_path(const struct shim_console_socket *s);

/*
 * shim_console_socket_recv() - the master runc sent, once runc exited: the
 * connection is accepted and read without blocking.
 * @master: receives the fd (close-on-exec, non-blocking), the caller's.
 *
 * Return: 0; -EAGAIN when nothing was sent; -EPROTO for a message without
 * exactly one fd; another negative errno.
 */
int shim_console_socket_recv(struct shim_console_socket *s, int *master);

/* shim_console_socket_free() - close it and remove its directory; NULL is fine. */
void shim_console_socket_free(struct shim_console_socket *s);

/* Told once the copy is over (see shim_console_new()). */
typedef void (*shim_console_done_fn)(struct shim_console *c, void *arg);

/*
 * shim_console_new() - copy between @master (taken) and the fifos: @stdin
 * ("" none) into the master, the master into @stdout. The copy ends when
 * the master says the terminal is gone (EIO: no process holds it) and
 * what it said is written, or when stdin ends (as the Go shim, the
 * terminal is then shut down); the stdout fifo is closed then and @done
 * called, from the loop.
 *
 * Return: 0 or a negative errno (@master closed then).
 */
int shim_console_new(struct event_base *base, int master, const char *stdin_path,
		     const char *stdout_path, shim_console_done_fn done, void *arg,
		     struct shim_console **ret);

/* shim_console_resize() - the terminal's size (TIOCSWINSZ). Return: 0 or -errno. */
int shim_console_resize(struct shim_console *c, uint32_t width, uint32_t height);

/* shim_console_done() - whether the copy is over. */
bool shim_console_done(const struct shim_console *c);

/* shim_console_free() - stop copying, close everything; NULL is fine. */
void shim_console_free(struct shim_console *c);

#endif
