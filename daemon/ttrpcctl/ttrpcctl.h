/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the commands of ttrpcctl share: the parsed command line, the
 * connection, and how failures and messages are printed.
 */
#ifndef TTRPCCTL_H
#define TTRPCCTL_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>
#include <ttrpc/ttrpc.h>

#define EXIT_USAGE 2
#define MAX_HEADERS 64
#define MAX_DESCRIPTOR_SETS 16

/* Options, each allowed by the commands whose mask has its bit. */
enum {
	OPT_WATCH = 1u << 0,
	OPT_JSON = 1u << 1,
	OPT_DATA = 1u << 2,
	OPT_TIMEOUT = 1u << 3,
	OPT_HEADER = 1u << 4,
	OPT_RAW = 1u << 5,
	OPT_DESCRIPTOR_SET = 1u << 6,
};

struct pb_pool;
struct pb_message;

struct ctl {
	const char *socket;
	unsigned given;      /* OPT_* seen on the command line */
	const char *data;    /* -d */
	uint64_t timeout_us; /* --timeout, else the command's default */
	struct ttrpc_kv headers[MAX_HEADERS];
	size_t n_headers;
	const char *descriptor_sets[MAX_DESCRIPTOR_SETS]; /* --descriptor-set */
	size_t n_descriptor_sets;
	struct ttrpc_client *client;
	struct pb_pool *builtin; /* the control service's types, made on first use */
};

/* ctl_error() - "ERROR: ..." on stderr. Return: EXIT_FAILURE. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * ctl_call_error() - report a failed call: its status (@r -EREMOTEIO), or
 * what happened to the connection; @st is cleared. Return: EXIT_FAILURE.
 */
int ctl_call_error(const struct ctl *ctl, int r, struct ttrpc_status *st);

/* ctl_call_opts() - the deadline of the command, and -H headers if @with_headers. */
struct ttrpc_call_opts ctl_call_opts(const struct ctl *ctl, bool with_headers);

/*
 * ctl_print_wire() - print the message of type @type in @data in the proto3
 * JSON mapping, on a line of its own (indented when @pretty), and flush.
 * Return: 0 or EXIT_FAILURE.
 */
int ctl_print_wire(const struct pb_pool *pool, const struct pb_message *type, const uint8_t *data,
		   size_t len, bool pretty);

/*
 * ctl_print_message() - print @msg, a message of the control service's
 * .proto, as ctl_print_wire().
 */
int ctl_print_message(struct ctl *ctl, const ProtobufCMessage *msg, bool pretty);

/*
 * ctl_pack() - the bytes of @msg, which the caller frees; NULL for -ENOMEM.
 */
uint8_t *ctl_pack(const ProtobufCMessage *msg, size_t *len);

/* cmd_call() - `call SERVICE/METHOD` (call.c). Return: the exit status. */
int cmd_call(struct ctl *ctl, int argc, char **argv);

#endif
