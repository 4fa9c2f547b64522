/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Definitions shared by every part of the libttrpc API: export macro,
 * status codes, log levels, peer credentials and metadata pairs.
 */
#ifndef TTRPC_COMMON_H
#define TTRPC_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TTRPC_BUILDING_LIBRARY)
#define TTRPC_EXPORT __attribute__((visibility("default")))
#else
#define TTRPC_EXPORT
#endif

#if defined(__GNUC__)
#define TTRPC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TTRPC_PRINTF(fmt, args)
#endif

/* The largest frame payload the protocol allows (4 MiB, inclusive). */
#define TTRPC_MAX_MESSAGE_SIZE 4194304u

/* google.rpc.Code, the status codes ttrpc carries in every Response. */
enum ttrpc_code {
	TTRPC_OK = 0,
	TTRPC_CANCELLED = 1,
	TTRPC_UNKNOWN = 2,
	TTRPC_INVALID_ARGUMENT = 3,
	TTRPC_DEADLINE_EXCEEDED = 4,
	TTRPC_NOT_FOUND = 5,
	TTRPC_ALREADY_EXISTS = 6,
	TTRPC_PERMISSION_DENIED = 7,
	TTRPC_RESOURCE_EXHAUSTED = 8,
	TTRPC_FAILED_PRECONDITION = 9,
	TTRPC_ABORTED = 10,
	TTRPC_OUT_OF_RANGE = 11,
	TTRPC_UNIMPLEMENTED = 12,
	TTRPC_INTERNAL = 13,
	TTRPC_UNAVAILABLE = 14,
	TTRPC_DATA_LOSS = 15,
	TTRPC_UNAUTHENTICATED = 16,
};

/*
 * ttrpc_code_name() - the canonical upper-case name of a status code.
 * @code: a google.rpc.Code value.
 *
 * Return: a static string such as "DEADLINE_EXCEEDED", or "INVALID_CODE"
 * for values outside google.rpc.Code. Never NULL.
 */
TTRPC_EXPORT const char *ttrpc_code_name(int code);

/*
 * An RPC status as a caller receives it. @message is owned by the struct and
 * released by ttrpc_status_clear().
 */
struct ttrpc_status {
	int code;
	char *message;
};

/*
 * ttrpc_status_clear() - free the message of @st and reset it to OK.
 * @st: a status filled by the library, or zeroed; NULL is accepted.
 */
TTRPC_EXPORT void ttrpc_status_clear(struct ttrpc_status *st);

/* The four shapes of a method, as a .proto declares them. */
enum ttrpc_method_kind {
	TTRPC_METHOD_UNARY = 0,         /* rpc M(Req) returns (Resp) */
	TTRPC_METHOD_SERVER_STREAM = 1, /* rpc M(Req) returns (stream Resp) */
	TTRPC_METHOD_CLIENT_STREAM = 2, /* rpc M(stream Req) returns (Resp) */
	TTRPC_METHOD_BIDI_STREAM = 3,   /* rpc M(stream Req) returns (stream Resp) */
};

/* Log levels, numbered as syslog(3) and sd-daemon(3) number them. */
enum ttrpc_log_level {
	TTRPC_LOG_ERR = 3,
	TTRPC_LOG_WARNING = 4,
	TTRPC_LOG_NOTICE = 5,
	TTRPC_LOG_INFO = 6,
	TTRPC_LOG_DEBUG = 7,
};

/*
 * A log sink. @msg is one line without a trailing newline, borrowed for the
 * duration of the call. Called wherever the library logs, inside any of its
 * functions as from the loop: it must not call libttrpc functions. The
 * default sink writes levels up to WARNING to stderr as "<N>ttrpc: msg".
 */
typedef void (*ttrpc_log_fn)(int level, const char *msg, void *userdata);

/*
 * Credentials of a unix-socket peer as they were when it connected: pid,
 * uid and primary gid from SO_PEERCRED, the supplementary groups from
 * SO_PEERGROUPS. The library fills it and owns @groups, which stays valid
 * as long as the struct it came in: during the admission or hand-off
 * callback, or until the call of ttrpc_call_peer() is freed. A struct a
 * caller fills itself (say, to ask ttrpc_admit_allowlist()) may leave
 * @groups NULL and @n_groups 0.
 */
struct ttrpc_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups; may hold @gid too */
	size_t n_groups;
};

/*
 * Tells the owner of lent memory (ttrpc_call_lend(), ttrpc_client_lend())
 * that the library no longer refers to it. Called once, from the event loop
 * or from the libttrpc function that drops the last reference; it must not
 * call libttrpc functions. free(3) fits, with the memory as @userdata.
 */
typedef void (*ttrpc_release_fn)(void *userdata);

/* One metadata pair. Keys may repeat; order is preserved on the wire. */
struct ttrpc_kv {
	const char *key;
	const char *value;
};

#ifdef __cplusplus
}
#endif

#endif
