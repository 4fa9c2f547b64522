/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What ttrpcctl knows of a method before calling it in JSON: its shape and
 * the protobuf-c descriptors of its messages, learnt from the running
 * daemon without a .proto: the control service names the module that
 * serves the method, and the module's ABI 1.1 service declarations hold the
 * descriptors.
 */
#ifndef TTRPCCTL_DESCRIBE_H
#define TTRPCCTL_DESCRIBE_H

#include <stddef.h>

#include <ttrpc/ttrpc.h>

struct ctl_method {
	enum ttrpc_method_kind kind;
	const ProtobufCMessageDescriptor *input;
	const ProtobufCMessageDescriptor *output;
};

/*
 * ctl_describe() - ask the control service about @service/@method, then find
 * its descriptors: in the module that serves it, or linked into ttrpcctl for
 * the daemon's built-in services.
 * @client: a blocking client (ttrpc_client_open()).
 * @err: on failure, why, for the user.
 *
 * Return: 0; -ENOENT for an unknown service or method; -EREMOTEIO when the
 * control service failed the call; -EPROTO when the module cannot be read;
 * another negative errno for a transport failure.
 */
int ctl_describe(struct ttrpc_client *client, const struct ttrpc_call_opts *opts,
		 const char *service, const char *method, struct ctl_method *ret, char *err,
		 size_t err_size);

/*
 * ctl_module_method() - the descriptors of @service/@method as the module
 * file at @path declares them, read with dlopen(RTLD_LAZY | RTLD_LOCAL)
 * without running the module. The module stays loaded.
 *
 * Return: 0; -ENOENT when the module does not declare them; -EPROTO when
 * the file is no module of ABI 1.1 or later.
 */
int ctl_module_method(const char *path, const char *service, const char *method,
		      struct ctl_method *ret, char *err, size_t err_size);

/*
 * ctl_builtin_method() - the descriptors of a method of a service whose
 * .proto ttrpcctl is built with (ttrpcd.v1.Control, grpc.health.v1.Health).
 *
 * Return: 0, or -ENOENT.
 */
int ctl_builtin_method(const char *service, const char *method, struct ctl_method *ret);

#endif
