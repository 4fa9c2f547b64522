/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The task events, forwarded to containerd: Events/Forward of
 * containerd.services.events.ttrpc.v1 at containerd's ttrpc address, one
 * at a time and in order, each retried as the Go shim's publisher does.
 */
#ifndef SHIM_EVENTS_H
#define SHIM_EVENTS_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <protobuf-c/protobuf-c.h>

struct shim_events;

/*
 * shim_event_pack() - an event as containerd receives it: the Envelope of
 * a ForwardRequest (timestamp, namespace, topic, and the event in an Any
 * whose type_url is "containerd.events.NAME").
 * @ret: receives the packed ForwardRequest, which the caller frees.
 *
 * Return: its length, or -ENOMEM.
 */
long shim_event_pack(const char *ns, const char *topic, const char *name,
		     const ProtobufCMessage *msg, const struct timespec *ts, uint8_t **ret);

/*
 * shim_events_new() - a publisher to containerd's ttrpc @address ("" or
 * NULL: events are dropped, a shim run by hand) for namespace @ns.
 * @address, @ns: borrowed until shim_events_free().
 * @retry_ms: the first retry's delay; the n-th waits n times as long.
 *
 * Return: 0 or -ENOMEM.
 */
int shim_events_new(struct event_base *base, const char *address, const char *ns, unsigned retry_ms,
		    struct shim_events **ret);

/* shim_events_free() - drop what is not forwarded yet; NULL is fine. */
void shim_events_free(struct shim_events *ev);

/*
 * shim_events_publish() - queue @msg, of upstream type containerd.events.
 * NAME, under @topic ("/tasks/exit"), timestamped now. Borrowed: it is
 * packed before this returns. Out of memory, the event is dropped (logged).
 */
void shim_events_publish(struct shim_events *ev, const char *topic, const char *name,
			 const ProtobufCMessage *msg);

/* shim_events_pending() - whether events wait to be forwarded. */
bool shim_events_pending(const struct shim_events *ev);

#endif
