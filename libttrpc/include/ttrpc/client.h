/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A ttrpc client: many calls in flight on one connection, matched by stream
 * id, on a caller-supplied libevent loop; and a small blocking API on top.
 *
 * Outcomes are kept apart: a transport failure (the connection is gone, the
 * request could not be written) is a negative errno; everything the server
 * or the call's own deadline decided is a status code.
 *
 * Threads: a client belongs to the event_base it was made on and is used
 * from the thread that runs that loop only; nothing in it locks. Clients on
 * different loops are independent, so a program may run one loop and its
 * clients per thread.
 *
 * Callbacks (completions, stream handlers, interceptors' on_done) run from
 * the loop, except where a function says it runs them before it returns:
 * ttrpc_client_cancel(), ttrpc_client_stream_cancel() and
 * ttrpc_client_free() complete what they end, and the blocking (_sync)
 * functions run the loop themselves. Any callback may free its own client
 * with ttrpc_client_free(), which completes the client's other calls
 * (-ECANCELED) before it returns; the client's memory goes once the
 * callbacks on the stack have returned. A client of ttrpc_client_open()
 * must not be freed while a _sync function of it waits.
 */
#ifndef TTRPC_CLIENT_H
#define TTRPC_CLIENT_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include <ttrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct ttrpc_client;
struct ttrpc_client_call;

/* Per-call options; a NULL pointer means all defaults. */
struct ttrpc_call_opts {
	/* Relative deadline in microseconds, sent as timeout_nano and enforced
	 * locally; 0 for none. */
	uint64_t timeout_us;
	/* Metadata pairs sent with the request, borrowed during the call to
	 * ttrpc_client_call() only. */
	const struct ttrpc_kv *metadata;
	size_t n_metadata;
};

/* What a completed call delivers to its callback; everything is borrowed. */
struct ttrpc_result {
	/* 0, or a negative errno for a transport failure: -ECONNRESET when the
	 * connection closed, -EPIPE when it could not be written, -EPROTO when
	 * the peer does not speak ttrpc, -ECANCELED when the client was
	 * freed. */
	int error;
	/* With error == 0: the RPC status. TTRPC_DEADLINE_EXCEEDED also when
	 * the local deadline passed, TTRPC_CANCELLED after ttrpc_client_cancel(). */
	int code;
	const char *message; /* never NULL; "" for OK */
	/* With error == 0 and code == TTRPC_OK: the decoded response. */
	const ProtobufCMessage *response;
};

/*
 * Called exactly once per call that ttrpc_client_call() accepted, from the
 * event loop (or inside ttrpc_client_cancel()/ttrpc_client_free()).
 */
typedef void (*ttrpc_client_cb)(const struct ttrpc_result *result, void *userdata);

/*
 * A client-side interceptor, run for every call, streams included, in the
 * order added.
 * @on_call: inside ttrpc_client_call() or ttrpc_client_stream_open(),
 *           before the request is written; it may add metadata with
 *           ttrpc_client_call_add_metadata(). Return 0 to go on, or a
 *           negative errno to refuse: the function then returns it.
 * @on_done: with the result, just before the call's callback (on_done of a
 *           stream), wherever that runs.
 */
struct ttrpc_client_interceptor {
	int (*on_call)(struct ttrpc_client_call *cc, void *userdata);
	void (*on_done)(struct ttrpc_client_call *cc, const struct ttrpc_result *result,
			void *userdata);
	void *userdata;
};

/* Service and method of a call seen by an interceptor, borrowed. */
TTRPC_EXPORT const char *ttrpc_client_call_service(const struct ttrpc_client_call *cc);
TTRPC_EXPORT const char *ttrpc_client_call_method(const struct ttrpc_client_call *cc);

/*
 * ttrpc_client_call_add_metadata() - add a pair to the request (both copied).
 * Return: 0 or -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_call_add_metadata(struct ttrpc_client_call *cc, const char *key,
						const char *value);

/*
 * ttrpc_client_new() - a client over a connected unix stream socket.
 * @base: the loop, borrowed; it must outlive the client.
 * @fd: made non-blocking and taken on success: ttrpc_client_free() closes
 *      it. On error it is left open and still the caller's, as for every
 *      function of libttrpc that takes an fd.
 * @ret: receives the client, freed with ttrpc_client_free().
 *
 * Return: 0; -ENOTSOCK (or -EBADF) when @fd is not a socket; -EINVAL when it
 * is not a connected stream socket; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_new(struct event_base *base, int fd, struct ttrpc_client **ret);

/*
 * ttrpc_client_connect() - connect to a unix socket path and make a client.
 *
 * Return: 0; -ENOENT, -ECONNREFUSED, -EACCES... from socket(2) and
 * connect(2); -ENAMETOOLONG when @path does not fit sockaddr_un; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_connect(struct event_base *base, const char *path,
				      struct ttrpc_client **ret);

/*
 * ttrpc_client_free() - close the connection and free the client. Calls in
 * flight (streams included) complete with error -ECANCELED before this
 * returns. Allowed from the client's own callbacks. NULL is accepted.
 */
TTRPC_EXPORT void ttrpc_client_free(struct ttrpc_client *client);

/* ttrpc_client_set_log() - route the client's log lines; NULL restores the default. */
TTRPC_EXPORT void ttrpc_client_set_log(struct ttrpc_client *client, ttrpc_log_fn fn,
				       void *userdata);

/* ttrpc_client_set_log_level() - the highest level logged, as for servers. */
TTRPC_EXPORT void ttrpc_client_set_log_level(struct ttrpc_client *client, int level);

/*
 * ttrpc_client_add_interceptor() - append an interceptor (@ic copied).
 * Return: 0 or -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_add_interceptor(struct ttrpc_client *client,
					      const struct ttrpc_client_interceptor *ic);

/* Whether the connection is still open (false after the peer closed it). */
TTRPC_EXPORT bool ttrpc_client_is_connected(const struct ttrpc_client *client);

/*
 * ttrpc_client_call() - start a unary call.
 * @service: full service name; @method: bare method name (both copied).
 * @request: the input message, borrowed (serialized before return).
 * @response_type: descriptor of the expected output message.
 * @opts: NULL for defaults.
 * @cb: completion callback; never called when this returns an error.
 * @id: if not NULL, receives the call's stream id for ttrpc_client_cancel().
 *
 * Return: 0; -ENOTCONN when the connection is closed; -EMSGSIZE when the
 * request would exceed the 4 MiB message limit (nothing is sent and the
 * connection is kept); -ENOMEM; an interceptor's refusal.
 */
TTRPC_EXPORT int ttrpc_client_call(struct ttrpc_client *client, const char *service,
				   const char *method, const ProtobufCMessage *request,
				   const ProtobufCMessageDescriptor *response_type,
				   const struct ttrpc_call_opts *opts, ttrpc_client_cb cb,
				   void *userdata, uint32_t *id);

/*
 * ttrpc_client_cancel() - give up on a call. Its callback runs before this
 * returns, with TTRPC_CANCELLED; a late response is read and dropped, so the
 * connection stays usable.
 *
 * Return: 0, or -ENOENT when no call with @id is in flight.
 */
TTRPC_EXPORT int ttrpc_client_cancel(struct ttrpc_client *client, uint32_t id);

/* Number of calls in flight. */
TTRPC_EXPORT size_t ttrpc_client_pending(const struct ttrpc_client *client);

/*
 * ttrpc_client_lend() - let requests and stream messages be sent from
 * memory instead of copies of it. A bytes field of 4 KiB or more that lies
 * within [@data, @data + @len) goes to the socket from there; everything
 * else is copied, as without lending. A message is still borrowed only
 * while the function that sends it runs: only the lent memory is kept.
 * @data, @len: memory that must stay valid and unchanged until @release.
 * @release: called once with @userdata when the library refers to the
 *           memory no more: after ttrpc_client_unlend() or
 *           ttrpc_client_free(), once what was queued from it has been
 *           written or dropped with the connection (see ttrpc_release_fn).
 *
 * Meant for a few long-lived buffers: each send looks through the list.
 * Return: 0; -EINVAL without @release; -ENOMEM (@release is not called).
 */
TTRPC_EXPORT int ttrpc_client_lend(struct ttrpc_client *client, const void *data, size_t len,
				   ttrpc_release_fn release, void *userdata);

/*
 * ttrpc_client_unlend() - end the lending of the memory lent at @data; its
 * release runs once nothing queued refers to it, maybe before this returns.
 * Return: 0, or -ENOENT when nothing is lent at @data.
 */
TTRPC_EXPORT int ttrpc_client_unlend(struct ttrpc_client *client, const void *data);

/*
 * ttrpc_client_open() - a blocking client: connect to @path with a private
 * event loop owned by the client (freed with it). Use it with
 * ttrpc_client_call_sync().
 *
 * Return: as ttrpc_client_connect().
 */
TTRPC_EXPORT int ttrpc_client_open(const char *path, struct ttrpc_client **ret);

/*
 * ttrpc_client_call_sync() - make a call and wait for its outcome by running
 * the client's loop. Only for clients made by ttrpc_client_open(), or whose
 * loop nothing else is running.
 * @response: on success receives the decoded response, which the caller
 *            frees with protobuf_c_message_free_unpacked(*response, NULL).
 * @status: if not NULL, receives the status when the call fails with one;
 *          free with ttrpc_status_clear().
 *
 * Return: 0 on OK; -EREMOTEIO when the call ended with a status other than
 * OK (see @status); a negative errno for a transport failure or an error of
 * ttrpc_client_call().
 */
TTRPC_EXPORT int ttrpc_client_call_sync(struct ttrpc_client *client, const char *service,
					const char *method, const ProtobufCMessage *request,
					const ProtobufCMessageDescriptor *response_type,
					const struct ttrpc_call_opts *opts,
					ProtobufCMessage **response, struct ttrpc_status *status);

/* ---- streams (ttrpc protocol 1.2) ---- */

struct ttrpc_client_stream;

/*
 * What a stream tells its owner, from the event loop (on_done also inside
 * ttrpc_client_stream_cancel() and ttrpc_client_free()).
 */
struct ttrpc_stream_handlers {
	/* One message from the server, borrowed for the duration of the call
	 * (a large message's bytes fields point into the frame it came in). */
	void (*on_message)(struct ttrpc_client_stream *s, const ProtobufCMessage *msg,
			   void *userdata);
	/* The end, exactly once: OK when the server ended the stream, its
	 * status otherwise; result->response is the reply of a
	 * client-streaming call. The stream is freed when this returns. */
	void (*on_done)(struct ttrpc_client_stream *s, const struct ttrpc_result *result,
			void *userdata);
	/* Room again in the output queue after ttrpc_client_stream_send()
	 * returned -EAGAIN. May be NULL. */
	void (*on_writable)(struct ttrpc_client_stream *s, void *userdata);
};

/*
 * ttrpc_client_stream_open() - start a streaming call.
 * @kind: the method's shape; decides the Request flags (remote open when the
 *        client streams, remote closed otherwise, as Go sends them).
 * @request: the request of a server-streaming call (required); must be NULL
 *           for client-streaming and bidirectional calls.
 * @response_type: descriptor of the server's messages (or client-streaming reply).
 * @opts: metadata and deadline travel with the Request (unlike Go's NewStream).
 * @handlers: copied; on_done is required.
 * @ret: receives the stream, valid until its on_done returns.
 *
 * Return: 0; -EINVAL; -ENOTCONN; -EMSGSIZE; -ENOMEM; an interceptor's
 * refusal. On error no handler is ever called.
 */
TTRPC_EXPORT int ttrpc_client_stream_open(struct ttrpc_client *client, const char *service,
					  const char *method, enum ttrpc_method_kind kind,
					  const ProtobufCMessage *request,
					  const ProtobufCMessageDescriptor *response_type,
					  const struct ttrpc_call_opts *opts,
					  const struct ttrpc_stream_handlers *handlers,
					  void *userdata, struct ttrpc_client_stream **ret);

/*
 * ttrpc_client_stream_send() - send one message (a Data frame) of a
 * client-streaming or bidirectional call; @msg is borrowed.
 *
 * Return: 0; -EAGAIN when the output queue is over its high watermark
 * (nothing queued; on_writable follows); -EPIPE after close_send, or once a
 * blocking stream has ended; -EINVAL for a server-streaming call or no
 * @msg; -EMSGSIZE; -ENOTCONN; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_stream_send(struct ttrpc_client_stream *s,
					  const ProtobufCMessage *msg);

/*
 * ttrpc_client_stream_close_send() - no more messages from this side (a Data
 * frame with the remote-closed and no-data flags).
 * Return: 0; -EPIPE when closed already, or once a blocking stream has
 * ended; -EINVAL for a server-streaming call; -ENOTCONN; -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_client_stream_close_send(struct ttrpc_client_stream *s);

/*
 * ttrpc_client_stream_cancel() - give up on the stream: on_done runs with
 * TTRPC_CANCELLED before this returns and the stream is freed. The protocol
 * has no cancel frame: what the server still sends on it is read and
 * dropped, and the connection stays usable.
 */
TTRPC_EXPORT void ttrpc_client_stream_cancel(struct ttrpc_client_stream *s);

/* The stream id on the wire. */
TTRPC_EXPORT uint32_t ttrpc_client_stream_id(const struct ttrpc_client_stream *s);

/*
 * Blocking streams, for tools: on a client made by ttrpc_client_open(). The
 * server's messages are queued until read. ttrpc_client_stream_close_send()
 * works on them too; ttrpc_client_stream_cancel() does not (free instead).
 */

/* ttrpc_client_stream_open_sync() - as ttrpc_client_stream_open(), without
 * handlers; the request is written to the socket before it returns, as far
 * as the socket takes it without waiting (the rest when the loop runs). No
 * callback runs inside it. The stream stays valid after its end until
 * ttrpc_client_stream_free_sync(). */
TTRPC_EXPORT int ttrpc_client_stream_open_sync(struct ttrpc_client *client, const char *service,
					       const char *method, enum ttrpc_method_kind kind,
					       const ProtobufCMessage *request,
					       const ProtobufCMessageDescriptor *response_type,
					       const struct ttrpc_call_opts *opts,
					       struct ttrpc_client_stream **ret);

/* ttrpc_client_stream_send_sync() - send, waiting for room (running the
 * loop); the message is then written as ttrpc_client_stream_open_sync()
 * writes its request. Return: as send, never -EAGAIN. */
TTRPC_EXPORT int ttrpc_client_stream_send_sync(struct ttrpc_client_stream *s,
					       const ProtobufCMessage *msg);

/*
 * ttrpc_client_stream_recv_sync() - wait for the next message or the end.
 * @msg: receives a message the caller frees with
 *       protobuf_c_message_free_unpacked(); at the end of a client-streaming
 *       call, its reply.
 * @status: filled when the stream ended with a status other than OK.
 *
 * Return: 1 with a message; 0 at the end of the stream (OK; *msg set only for
 * a client-streaming reply); -EREMOTEIO with @status; a negative errno for a
 * transport failure.
 */
TTRPC_EXPORT int ttrpc_client_stream_recv_sync(struct ttrpc_client_stream *s,
					       ProtobufCMessage **msg, struct ttrpc_status *status);

/* ttrpc_client_stream_free_sync() - cancel if still open, then free. NULL is accepted. */
TTRPC_EXPORT void ttrpc_client_stream_free_sync(struct ttrpc_client_stream *s);

#ifdef __cplusplus
}
#endif

#endif
