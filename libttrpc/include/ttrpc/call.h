/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server side of one call: what a handler reads and how it answers.
 *
 * A handler receives a struct ttrpc_call and must finish it exactly once,
 * with ttrpc_call_reply(), ttrpc_call_end() (the methods whose server
 * streams) or ttrpc_call_fail(), either before it returns or later from the
 * same event loop (a timer, another socket). The call object stays valid
 * until it is finished, even if the client goes away or the deadline passes
 * first: then the handler is told through the cancel callback, and its
 * answer is dropped when it comes.
 *
 * Everything runs on the server's loop thread. The callbacks of a call
 * (cancel, messages, end, writable) run from the loop, never inside a
 * ttrpc_call_*() function, except the cancel callbacks that
 * ttrpc_server_free() runs before it returns. So a handler may answer, send
 * or fail from any of them, and needs no guard against being called back
 * while it is inside the library.
 */
#ifndef TTRPC_CALL_H
#define TTRPC_CALL_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include <ttrpc/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct event_base;
struct ttrpc_call;

/*
 * Called once when a call is cancelled before it was answered.
 * @code: the status the client has been answered with:
 *        TTRPC_DEADLINE_EXCEEDED when the deadline passed; TTRPC_UNAVAILABLE
 *        when the time of ttrpc_server_shutdown() or ttrpc_server_retire()
 *        ran out; TTRPC_INVALID_ARGUMENT or TTRPC_INTERNAL when the client
 *        broke the protocol of a stream (a message after its end, one that
 *        does not decode). TTRPC_CANCELLED when nobody can be answered: the
 *        connection closed (client gone, server freed, output over its
 *        limit).
 * The handler must still finish the call, typically from this callback;
 * what it sends is dropped.
 */
typedef void (*ttrpc_cancel_fn)(struct ttrpc_call *call, int code, void *userdata);

/* Full service name ("package.Service"), borrowed from the call. */
TTRPC_EXPORT const char *ttrpc_call_service(const struct ttrpc_call *call);

/* Bare method name ("Echo"), borrowed from the call. */
TTRPC_EXPORT const char *ttrpc_call_method(const struct ttrpc_call *call);

/*
 * The decoded request, of the method's input descriptor, borrowed from the
 * call until it is finished. NULL for client-streaming and bidirectional calls.
 */
TTRPC_EXPORT const ProtobufCMessage *ttrpc_call_request(const struct ttrpc_call *call);

/* Number of metadata pairs the client sent. */
TTRPC_EXPORT size_t ttrpc_call_metadata_count(const struct ttrpc_call *call);

/*
 * ttrpc_call_metadata_at() - one metadata pair, in the order received.
 * @call: the call.
 * @index: 0 to ttrpc_call_metadata_count() - 1.
 * @kv: filled with pointers borrowed from the call.
 *
 * Return: 0, or -ERANGE when @index is out of range.
 */
TTRPC_EXPORT int ttrpc_call_metadata_at(const struct ttrpc_call *call, size_t index,
					struct ttrpc_kv *kv);

/*
 * ttrpc_call_metadata_get() - the first value of a metadata key.
 * @key: compared case-insensitively, as Go's MD.Get lower-cases keys.
 *
 * Return: the value borrowed from the call, or NULL when absent.
 */
TTRPC_EXPORT const char *ttrpc_call_metadata_get(const struct ttrpc_call *call, const char *key);

/*
 * ttrpc_call_deadline() - when the call's deadline passes.
 *
 * Return: the CLOCK_MONOTONIC time in microseconds computed from the
 * request's timeout_nano on arrival, or 0 when the client set none.
 */
TTRPC_EXPORT uint64_t ttrpc_call_deadline(const struct ttrpc_call *call);

/* When the request arrived, CLOCK_MONOTONIC in microseconds (for latency). */
TTRPC_EXPORT uint64_t ttrpc_call_arrival(const struct ttrpc_call *call);

/*
 * Credentials of the connection's peer (SO_PEERCRED, SO_PEERGROUPS),
 * borrowed: valid, supplementary groups included, until the call is freed.
 */
TTRPC_EXPORT const struct ttrpc_peer *ttrpc_call_peer(const struct ttrpc_call *call);

/* The event_base the call's server runs on. */
TTRPC_EXPORT struct event_base *ttrpc_call_base(const struct ttrpc_call *call);

/* Whether the call was cancelled (deadline passed or client gone). */
TTRPC_EXPORT bool ttrpc_call_is_cancelled(const struct ttrpc_call *call);

/*
 * ttrpc_call_on_cancel() - ask to be told when the call is cancelled.
 * @cb: called at most once, from the event loop (or inside
 *      ttrpc_server_free()), never after the call is answered; NULL
 *      removes it. A new one replaces the old.
 *
 * If the call is already cancelled, @cb is not called: check
 * ttrpc_call_is_cancelled() after registering.
 */
TTRPC_EXPORT void ttrpc_call_on_cancel(struct ttrpc_call *call, ttrpc_cancel_fn cb, void *userdata);

/*
 * ttrpc_call_reply() - finish a unary or client-streaming call with a response message.
 * @call: the call; it is freed before this returns and must not be used again.
 * @response: a message of the method's output descriptor, borrowed (it is
 *            serialized before this returns). Its bytes fields of 4 KiB or
 *            more are sent without a copy when they point into the call's
 *            request, or into memory lent with ttrpc_call_lend().
 *
 * A response that serializes to more than the message size limit is not
 * sent: the client gets RESOURCE_EXHAUSTED instead and the connection is
 * kept.
 *
 * Return: 0 when the answer was queued; -ECANCELED when the call had been
 * cancelled and the answer was dropped; -EMSGSIZE when it was replaced by
 * RESOURCE_EXHAUSTED; -ENOMEM when it could not be serialized (the client
 * gets RESOURCE_EXHAUSTED); -EINVAL when @response is NULL or of another
 * type, or the call is server-streaming or bidirectional (the client gets
 * INTERNAL). The call is finished in every case.
 */
TTRPC_EXPORT int ttrpc_call_reply(struct ttrpc_call *call, const ProtobufCMessage *response);

/*
 * ttrpc_call_fail() - finish the call with an error status.
 * @call: the call; freed before this returns.
 * @code: a google.rpc.Code other than TTRPC_OK (OK is turned into UNKNOWN).
 * @fmt: printf-style message sent to the client (cut at 1023 bytes).
 *
 * Return: 0; -ECANCELED when the call had been cancelled (nothing sent);
 * -ENOMEM when the status could not be queued. The call is finished in
 * every case.
 */
TTRPC_EXPORT int ttrpc_call_fail(struct ttrpc_call *call, int code, const char *fmt, ...)
	TTRPC_PRINTF(3, 4);

/*
 * ttrpc_call_lend() - let the answers of @call be sent from memory instead
 * of copies of it. A bytes field of 4 KiB or more of a later reply or
 * stream message that lies within [@data, @data + @len) goes to the socket
 * from there; everything else is copied, as without lending. A message is
 * still borrowed only while ttrpc_call_reply() or ttrpc_call_send() runs:
 * only the lent memory is kept.
 * @data, @len: memory that must stay valid and unchanged until @release.
 * @release: called once with @userdata when the library refers to the
 *           memory no more: once the call is finished (possibly inside the
 *           function that finishes it) and what was queued from the memory
 *           has been written or dropped with the connection (see
 *           ttrpc_release_fn).
 *
 * Return: 0; -EINVAL without @release; -ENOMEM (@release is not called).
 */
TTRPC_EXPORT int ttrpc_call_lend(struct ttrpc_call *call, const void *data, size_t len,
				 ttrpc_release_fn release, void *userdata);

/* ---- streams (ttrpc protocol 1.2) ---- */

/* The method's shape; a stream call is a struct ttrpc_call like any other. */
TTRPC_EXPORT enum ttrpc_method_kind ttrpc_call_kind(const struct ttrpc_call *call);

/*
 * One message from the client, borrowed for the duration of the callback (a
 * large message's bytes fields point into the frame it came in, and are
 * sent on without a copy by ttrpc_call_send() from within the callback).
 */
typedef void (*ttrpc_message_fn)(struct ttrpc_call *call, const ProtobufCMessage *msg,
				 void *userdata);
/* The client closed its sending side: no more messages will come. */
typedef void (*ttrpc_end_fn)(struct ttrpc_call *call, void *userdata);

/*
 * ttrpc_call_on_message() - receive the messages of a client-streaming or
 * bidirectional call. Messages are delivered from the loop as they arrive,
 * so a stream that is slow to consume never holds up the other streams of
 * its connection. Register from the handler, before it returns. Nothing is
 * delivered once the call is answered or cancelled.
 * @on_message: each message, in order.
 * @on_end: once, when the client has closed its side (CloseSend); may be
 *          NULL.
 */
TTRPC_EXPORT void ttrpc_call_on_message(struct ttrpc_call *call, ttrpc_message_fn on_message,
					ttrpc_end_fn on_end, void *userdata);

/*
 * A function pointer of any type, kept by the library and handed back
 * unchanged: convert it back to its own type before calling it (C11
 * 6.3.2.3p8 defines that round trip; a call through another type is
 * undefined).
 */
typedef void (*ttrpc_any_fn)(void);

/*
 * The trampoline of ttrpc_call_on_message_typed(): one message, with the
 * typed callback and the userdata given at registration.
 */
typedef void (*ttrpc_message_trampoline_fn)(struct ttrpc_call *call, const ProtobufCMessage *msg,
					    ttrpc_any_fn typed, void *userdata);

/*
 * ttrpc_call_on_message_typed() - ttrpc_call_on_message() for a callback
 * that takes the method's own message type, as generated code offers it:
 * @trampoline gets each message with @typed, and converts both back before
 * calling it. No closure is allocated, so none outlives the call.
 * @typed: the typed callback, converted to ttrpc_any_fn; passed to
 *         @trampoline, never called by the library.
 * @on_end, @userdata: as for ttrpc_call_on_message().
 */
TTRPC_EXPORT void ttrpc_call_on_message_typed(struct ttrpc_call *call,
					      ttrpc_message_trampoline_fn trampoline,
					      ttrpc_any_fn typed, ttrpc_end_fn on_end,
					      void *userdata);

/*
 * ttrpc_call_send() - send one message of a server-streaming or bidirectional
 * call (a Data frame).
 * @msg: of the method's output type, borrowed (serialized before return;
 *       large bytes fields without a copy, as for ttrpc_call_reply()).
 *
 * Return: 0 when queued; -EAGAIN when the connection's output queue is over
 * its high watermark (the client reads slower than the call sends): nothing
 * was queued, and ttrpc_call_on_writable() tells when to try again;
 * -ECANCELED when the call was cancelled (see ttrpc_call_on_cancel());
 * -EINVAL for a unary or client-streaming call or a message of another
 * type; -EMSGSIZE for a message over the size limit (not sent, the call
 * goes on); -ENOMEM.
 */
TTRPC_EXPORT int ttrpc_call_send(struct ttrpc_call *call, const ProtobufCMessage *msg);

/* Room again in the output queue of the call's connection. */
typedef void (*ttrpc_writable_fn)(struct ttrpc_call *call, void *userdata);

/*
 * ttrpc_call_on_writable() - be called once, from the loop, when the
 * connection's output queue is below its low watermark again: register it
 * when ttrpc_call_send() returns -EAGAIN, and send again from it. One
 * callback per call; a new one replaces the old; NULL removes it. Not
 * called after the call is finished or cancelled. Calls that wait on one
 * connection are told in turn, each while there is room.
 */
TTRPC_EXPORT void ttrpc_call_on_writable(struct ttrpc_call *call, ttrpc_writable_fn cb,
					 void *userdata);

/*
 * ttrpc_call_end() - finish a server-streaming or bidirectional call with OK:
 * the client reads the end of the stream (a Data frame with the
 * remote-closed and no-data flags, as Go sends it). Frees the call.
 *
 * Return: 0; -ECANCELED when the call had been cancelled (nothing sent);
 * -EINVAL for a unary or client-streaming call, which is then failed with
 * INTERNAL. The call is finished in every case.
 */
TTRPC_EXPORT int ttrpc_call_end(struct ttrpc_call *call);

/*
 * ttrpc_call_set_userdata() / ttrpc_call_get_userdata() - one pointer a
 * handler or interceptor may attach to the call. Not freed by the library.
 */
TTRPC_EXPORT void ttrpc_call_set_userdata(struct ttrpc_call *call, void *userdata);
TTRPC_EXPORT void *ttrpc_call_get_userdata(const struct ttrpc_call *call);

#ifdef __cplusplus
}
#endif

#endif
