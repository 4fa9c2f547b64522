/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A ttrpc server on a caller-supplied libevent loop.
 *
 * A server belongs to the event_base it was created on and is used from that
 * base's thread only; nothing in it locks. Its callbacks (handlers,
 * interceptors, admission, hand-off, shutdown and retire notices) run from
 * that loop, never inside the ttrpc_server_*() function that set them up;
 * the exceptions are named where they occur (ttrpc_server_free(),
 * ttrpc_server_adopt_conn(), ttrpc_server_foreach_call()). Services are
 * registered as tables of methods, the way sd-bus declares vtables, so that
 * generated code and hand-written code look alike:
 *
 *	static const struct ttrpc_method echo_methods[] = {
 *		TTRPC_UNARY("Echo", &echo_request__descriptor,
 *		            &echo_response__descriptor, on_echo),
 *		TTRPC_METHODS_END,
 *	};
 *	ttrpc_server_register(srv, "example.v1.Echo", echo_methods, state);
 *
 * When accept() fails for want of file descriptors or memory (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM), the server stops accepting on all its listeners
 * for 100 ms at a time, so that new connections wait in the backlog while
 * the open ones are served; accept failures are logged at most once every
 * 10 s, with their count.
 */
#ifndef TTRPC_SERVER_H
#define TTRPC_SERVER_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include <ttrpc/call.h>
#include <ttrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct ttrpc_server;

/*
 * A unary handler. @request is the decoded input (also available as
 * ttrpc_call_request()); @userdata is the pointer given at registration.
 */
typedef void (*ttrpc_unary_fn)(struct ttrpc_call *call, const ProtobufCMessage *request,
			       void *userdata);

/*
 * A streaming handler. For a server-streaming method @request is the decoded
 * request; for client-streaming and bidirectional methods it is NULL and the
 * client's messages arrive through ttrpc_call_on_message(), which the handler
 * registers before it returns. The handler finishes the call with
 * ttrpc_call_end() (server-streaming, bidirectional), ttrpc_call_reply()
 * (client-streaming) or ttrpc_call_fail() (any), now or later.
 */
typedef void (*ttrpc_stream_fn)(struct ttrpc_call *call, const ProtobufCMessage *request,
				void *userdata);

/* One method of a service. Tables end with TTRPC_METHODS_END. */
struct ttrpc_method {
	const char *name;
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
	enum ttrpc_method_kind kind;
	ttrpc_unary_fn unary;   /* for TTRPC_METHOD_UNARY */
	ttrpc_stream_fn stream; /* for the three streaming kinds */
};

#define TTRPC_UNARY(name_, input_, output_, fn_)                         \
	{                                                                \
		.name = (name_), .input = (input_), .output = (output_), \
		.kind = TTRPC_METHOD_UNARY, .unary = (fn_)               \
	}
#define TTRPC_SERVER_STREAM(name_, input_, output_, fn_)                 \
	{                                                                \
		.name = (name_), .input = (input_), .output = (output_), \
		.kind = TTRPC_METHOD_SERVER_STREAM, .stream = (fn_)      \
	}
#define TTRPC_CLIENT_STREAM(name_, input_, output_, fn_)                 \
	{                                                                \
		.name = (name_), .input = (input_), .output = (output_), \
		.kind = TTRPC_METHOD_CLIENT_STREAM, .stream = (fn_)      \
	}
#define TTRPC_BIDI_STREAM(name_, input_, output_, fn_)                   \
	{                                                                \
		.name = (name_), .input = (input_), .output = (output_), \
		.kind = TTRPC_METHOD_BIDI_STREAM, .stream = (fn_)        \
	}
#define TTRPC_METHODS_END    \
	{                    \
		.name = NULL \
	}

/*
 * A service bound to what its handlers get, as protoc-gen-ttrpc-c's
 * NAME_service() returns it for a typed handler table: a host that
 * registers services for a program (a ttrpcd module's
 * ttrpcd_host_register_service()) then takes no untyped pointer from it,
 * and has the descriptors to describe the service to tools. Everything is
 * borrowed.
 */
struct ttrpc_service {
	const char *name;                   /* full name, "package.Service" */
	const struct ttrpc_method *methods; /* ended by TTRPC_METHODS_END */
	void *userdata;                     /* passed to every handler */
	/*
	 * A serialized google.protobuf.FileDescriptorSet: the .proto file that
	 * declares the service and every file it imports, as protoc -o
	 * --include_imports writes them, so that a tool can build and read
	 * its messages without the .proto; NULL (size 0) when there is none,
	 * as for a hand-written method table.
	 */
	const uint8_t *descriptor_set;
	size_t descriptor_set_size;
};

/* Tunable limits; see ttrpc_server_set_limit(). */
enum ttrpc_limit {
	/* Largest frame accepted or sent, at most TTRPC_MAX_MESSAGE_SIZE (default). */
	TTRPC_LIMIT_MESSAGE_SIZE,
	/* Bytes queued for one connection before it is dropped (default 64 MiB). */
	TTRPC_LIMIT_OUTPUT_QUEUE,
	/* Connections served at once; more are closed on accept, and
	 * ttrpc_server_adopt_conn() refuses them with -EMFILE (default 0: none). */
	TTRPC_LIMIT_CONNECTIONS,
	/* Calls in flight on one connection, streams included; more get
	 * RESOURCE_EXHAUSTED (default 0: none). */
	TTRPC_LIMIT_CALLS_PER_CONNECTION,
	/* Streams in flight on one connection; more get RESOURCE_EXHAUSTED
	 * (default 0: none). */
	TTRPC_LIMIT_STREAMS_PER_CONNECTION,
	/* Milliseconds a frame may take from its first byte to its last; a
	 * connection that stalls mid-frame is closed with a log line (default
	 * 10000; 0: none). Progress does not extend it. */
	TTRPC_LIMIT_FRAME_TIMEOUT_MS,
	/* Milliseconds a connection may stay idle (no call in flight, nothing
	 * being read) before it is closed (default 0: forever, as Go). */
	TTRPC_LIMIT_IDLE_TIMEOUT_MS,
};

/*
 * Decides whether a new connection is served, from its peer credentials
 * (borrowed for the call). Called from the loop for an accepted connection,
 * inside ttrpc_server_adopt_conn() for an adopted one. Return 0 to accept
 * it, or a negative errno (e.g. -EPERM) to refuse it: an accepted
 * connection is closed, an adopted one left to its caller (-EPERM). The
 * refusal is logged once with the peer's pid, uid and gid.
 */
typedef int (*ttrpc_admit_fn)(const struct ttrpc_peer *peer, void *userdata);

/*
 * Allow-lists for ttrpc_admit_allowlist(): a peer passes if its uid is in
 * @uids, or its primary gid or one of its supplementary groups is in @gids.
 * The arrays are the caller's.
 */
struct ttrpc_allowlist {
	const uid_t *uids;
	size_t n_uids;
	const gid_t *gids;
	size_t n_gids;
};

/*
 * Admission presets, as Go's UnixSocketRequire*; use with
 * ttrpc_server_set_admission().
 * ttrpc_admit_root(): root only. Return: 0 for uid 0, else -EPERM.
 */
TTRPC_EXPORT int ttrpc_admit_root(const struct ttrpc_peer *peer, void *unused);
/*
 * ttrpc_admit_same_user(): the peer's uid and gid equal the server's
 * effective ones. Return: 0 then, else -EPERM.
 */
TTRPC_EXPORT int ttrpc_admit_same_user(const struct ttrpc_peer *peer, void *unused);
/*
 * ttrpc_admit_allowlist() - admit the peers an allow-list names.
 * @list: a const struct ttrpc_allowlist *, borrowed for the server's life.
 *
 * Return: 0 when the uid, the primary gid or a supplementary group of
 * @peer is listed, else -EPERM.
 */
TTRPC_EXPORT int ttrpc_admit_allowlist(const struct ttrpc_peer *peer, void *list);

/*
 * A server-side interceptor, run around every call of every service,
 * streams included, in the order added.
 * @on_call: from the loop, before the handler. Return 0 to go on. To
 *           refuse, finish the call with ttrpc_call_fail() and return
 *           non-zero; a non-zero return that leaves the call open fails it
 *           with PERMISSION_DENIED.
 * @on_done: once the call's answer is decided, with the final status code:
 *           inside the ttrpc_call_reply(), ttrpc_call_fail() or
 *           ttrpc_call_end() that answers it, else from the loop (deadline,
 *           client gone, retired) or inside ttrpc_server_free(). The call is
 *           still valid; it must not be finished or answered from here.
 * Either may be NULL.
 */
struct ttrpc_server_interceptor {
	int (*on_call)(struct ttrpc_call *call, void *userdata);
	void (*on_done)(struct ttrpc_call *call, int code, void *userdata);
	void *userdata;
};

/*
 * ttrpc_server_new() - create a server.
 * @base: the event loop, borrowed; it must outlive the server.
 * @ret: receives the server, freed with ttrpc_server_free().
 *
 * Return: 0 or -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_new(struct event_base *base, struct ttrpc_server **ret);

/*
 * ttrpc_server_free() - close everything at once and free the server.
 *
 * Listeners and connections are closed; handlers of calls still in flight are
 * told through their cancel callback (TTRPC_CANCELLED), inside this call,
 * and must still finish their calls, then or later, which are then freed
 * without sending anything. Sockets the server bound by path are unlinked;
 * adopted sockets are closed. Nothing is told after this returns (no
 * shutdown or retire notice). NULL is accepted.
 */
TTRPC_EXPORT void ttrpc_server_free(struct ttrpc_server *srv);

/*
 * ttrpc_server_set_log() - route the server's log lines; NULL restores the
 * default. A sink of one's own gets levels up to INFO unless
 * ttrpc_server_set_log_level() says otherwise.
 */
TTRPC_EXPORT void ttrpc_server_set_log(struct ttrpc_server *srv, ttrpc_log_fn fn, void *userdata);

/*
 * ttrpc_server_set_log_level() - the highest level logged (enum
 * ttrpc_log_level); lines above it are not even formatted. TTRPC_LOG_DEBUG
 * logs a line per call.
 */
TTRPC_EXPORT void ttrpc_server_set_log_level(struct ttrpc_server *srv, int level);

/*
 * ttrpc_server_set_limit() - change one limit (see enum ttrpc_limit).
 *
 * Return: 0, or -EINVAL for an unknown limit or a value out of range.
 */
TTRPC_EXPORT int ttrpc_server_set_limit(struct ttrpc_server *srv, enum ttrpc_limit limit,
					uint64_t value);

/*
 * ttrpc_server_register() - serve a service.
 * @name: full name, "package.Service"; copied.
 * @methods: table ended by TTRPC_METHODS_END, borrowed for the server's life.
 * @userdata: passed to every handler of the service.
 *
 * Return: 0; -EEXIST when @name is registered already; -EINVAL for an empty
 * name, an entry without name, descriptors or handler, or a duplicate method
 * name; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_register(struct ttrpc_server *srv, const char *name,
				       const struct ttrpc_method *methods, void *userdata);

/*
 * ttrpc_server_unregister() - stop serving a service. Calls in flight finish;
 * new calls get UNIMPLEMENTED.
 *
 * Return: 0 or -ENOENT.
 */
TTRPC_EXPORT int ttrpc_server_unregister(struct ttrpc_server *srv, const char *name);

/* Called once no call of a retired service is left; @name is borrowed for the call. */
typedef void (*ttrpc_retired_fn)(struct ttrpc_server *srv, const char *name, void *userdata);

/*
 * ttrpc_server_retire() - stop serving a service, as ttrpc_server_unregister()
 * (new calls get UNIMPLEMENTED), and be told once no call of it is left:
 * every call has been answered and finished by its handler, so that the
 * library holds nothing of the service's handlers, table or userdata any
 * more (a program can then unload the code they live in).
 * @timeout_ms: how long calls in flight may take; then those not answered
 *              yet are cancelled with UNAVAILABLE (their handlers are told
 *              through their cancel callbacks and must still finish them).
 *              0 waits forever.
 * @done: called once, from the loop, never inside this call (not even when
 *        no call is in flight); never when the server is freed first.
 * @userdata: passed to @done, borrowed.
 *
 * Return: 0; -ENOENT when @name is not registered; -EINVAL for no @done;
 * -ENOMEM (the service is then still served).
 */
TTRPC_EXPORT int ttrpc_server_retire(struct ttrpc_server *srv, const char *name,
				     unsigned timeout_ms, ttrpc_retired_fn done, void *userdata);

/*
 * ttrpc_server_listen_unix() - bind, chmod and listen on a unix socket path.
 * @path: the socket path, copied; a stale socket file nobody listens on is
 *        replaced, a live one gives -EADDRINUSE.
 * @mode: file mode of the socket, e.g. 0660.
 *
 * The path is unlinked when the server is freed or shut down.
 * Return: 0 or a negative errno from socket(2), bind(2), chmod(2), listen(2);
 * -EADDRINUSE; -ENAMETOOLONG when @path does not fit sockaddr_un; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_listen_unix(struct ttrpc_server *srv, const char *path, mode_t mode);

/*
 * ttrpc_unix_listen() - make a listening unix stream socket at a path, for
 * programs that bind their sockets themselves (and hand them to
 * ttrpc_server_adopt_listener()). A stale socket file nobody accepts on is
 * replaced; a live one gives -EADDRINUSE. The mode and, unless they are
 * (uid_t)-1 / (gid_t)-1, the owner and group are set before listen(), so
 * nobody can connect in between; chown(2) is called only when the file's
 * owner or group differs from those asked for (a sandbox may deny it).
 * @fd: receives the listening socket (non-blocking, close-on-exec), the caller's.
 *
 * Return: 0, or a negative errno of socket(2), bind(2), chmod(2), chown(2),
 * listen(2); -EADDRINUSE; -ENAMETOOLONG when @path does not fit
 * sockaddr_un. On error nothing made by the call is left at @path.
 */
TTRPC_EXPORT int ttrpc_unix_listen(const char *path, mode_t mode, uid_t owner, gid_t group,
				   int *fd);

/*
 * ttrpc_server_adopt_listener() - serve an already listening socket, as
 * systemd socket activation passes it (it may be blocking; it is made
 * non-blocking and close-on-exec).
 * @fd: taken on success: the server closes it when freed, and never unlinks
 *      its path. On error it is left open and still the caller's, as for
 *      every function of libttrpc that takes an fd.
 *
 * Return: 0; -ENOTSOCK (or -EBADF) when @fd is not a socket; -EINVAL when it
 * is not a listening stream socket; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_adopt_listener(struct ttrpc_server *srv, int fd);

/*
 * ttrpc_server_adopt_conn() - serve an already connected unix stream socket
 * (one a hand-off hook kept, say). Admission and the connection limit apply
 * as for accepted connections: the admission hook runs inside this call.
 * @fd: taken on success: the server closes it with the connection. On
 *      error it is left open and still the caller's, who closes it (or
 *      tries again).
 *
 * Return: 0; -EPERM when the admission hook refused it; -EMFILE when
 * TTRPC_LIMIT_CONNECTIONS connections are served already; -ENOTSOCK (or
 * -EBADF) when @fd is not a socket; -EINVAL when it is not a connected
 * stream socket; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_adopt_conn(struct ttrpc_server *srv, int fd);

/*
 * ttrpc_server_set_admission() - install the admission hook (NULL: accept all).
 * @userdata: borrowed for the server's life.
 */
TTRPC_EXPORT void ttrpc_server_set_admission(struct ttrpc_server *srv, ttrpc_admit_fn fn,
					     void *userdata);

/*
 * ttrpc_server_add_interceptor() - append an interceptor; @ic is copied,
 * its userdata borrowed.
 *
 * Return: 0 or -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_server_add_interceptor(struct ttrpc_server *srv,
					      const struct ttrpc_server_interceptor *ic);

/* Called when a graceful shutdown has finished (@drained: no call was cut off). */
typedef void (*ttrpc_shutdown_fn)(struct ttrpc_server *srv, bool drained, void *userdata);

/*
 * ttrpc_server_shutdown() - stop gracefully.
 * @timeout_ms: how long calls in flight may take; 0 waits forever.
 * @cb: called once, from the event loop, when every connection is closed.
 *
 * Listeners close at once. Connections stop reading new requests (a request
 * not yet read stays in the socket); each is closed, from the loop, once its
 * calls are answered and its answers written (the hand-off hook sees it
 * then). When the timeout passes, each call still unanswered is logged
 * (its method, peer and age), answered UNAVAILABLE "the server is stopping:
 * ..." and cancelled (its handler is told, and must still finish it); its
 * connection is closed once those answers are written, or 1 s later for a
 * peer that does not read them. The server stays allocated: free it after
 * @cb.
 *
 * Return: 0; -EALREADY when a shutdown is under way; -ENOMEM. On error @cb
 * is not called.
 */
TTRPC_EXPORT int ttrpc_server_shutdown(struct ttrpc_server *srv, unsigned timeout_ms,
				       ttrpc_shutdown_fn cb, void *userdata);

/*
 * Called from the loop during a graceful shutdown for each connection that
 * has become idle (no call in flight, nothing half-read, everything
 * written), just before it is closed. @fd is borrowed: dup(2) it to keep
 * the connection, e.g. to hand it to the service manager's fd store so that
 * the next process serves the same client connection (and adopts it with
 * ttrpc_server_adopt_conn()). Requests the client sends meanwhile wait in
 * the socket.
 */
typedef void (*ttrpc_handoff_fn)(struct ttrpc_server *srv, int fd, const struct ttrpc_peer *peer,
				 void *userdata);

/* ttrpc_server_set_handoff() - install the hand-off hook (NULL: none). */
TTRPC_EXPORT void ttrpc_server_set_handoff(struct ttrpc_server *srv, ttrpc_handoff_fn fn,
					   void *userdata);

/* Counters, for status lines and tests. */
struct ttrpc_server_stats {
	uint64_t connections;         /* open now */
	uint64_t connections_total;   /* accepted or adopted since start */
	uint64_t connections_refused; /* by admission or the connection limit */
	uint64_t calls_in_flight;     /* dispatched and not yet finished by their handlers */
	uint64_t calls_total;         /* answered, whatever the status */
	uint64_t calls_failed;        /* answered with a status other than OK */
	uint64_t bytes_queued;        /* in the output queues of all connections now */
};

/*
 * Visits one call of ttrpc_server_foreach_call(). @call is borrowed for the
 * visit: read it with the ttrpc_call_*() getters (service, method, kind,
 * peer, arrival, ttrpc_call_is_cancelled()), and never finish it or call
 * into the server from here. Return true to go on, false to stop.
 */
typedef bool (*ttrpc_call_visit_fn)(const struct ttrpc_call *call, void *userdata);

/*
 * ttrpc_server_foreach_call() - visit every call in flight, in no order:
 * each call dispatched to a handler that the handler has not finished yet,
 * as calls_in_flight counts them. A call already answered by its deadline,
 * or cancelled because its client left, is one until its handler finishes
 * it (then ttrpc_call_is_cancelled() is true): a handler that never does is
 * visible here. For a program that shows or logs what hangs.
 * @userdata: passed to @fn, borrowed.
 */
TTRPC_EXPORT void ttrpc_server_foreach_call(const struct ttrpc_server *srv, ttrpc_call_visit_fn fn,
					    void *userdata);

/* ttrpc_server_get_stats() - copy the current counters into @stats. */
TTRPC_EXPORT void ttrpc_server_get_stats(const struct ttrpc_server *srv,
					 struct ttrpc_server_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
