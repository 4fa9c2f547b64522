/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What ttrpcctl knows of a method before calling it in JSON: its shape and
 * its message types, from descriptors, never from a module's code: the
 * daemon's (ttrpcd.v1.Control's List says what it serves, Describe gives
 * the FileDescriptorSet the module's generated code embeds), or the files
 * of --descriptor-set (protoc -o FILE --include_imports) for a daemon that
 * cannot say.
 */
#ifndef TTRPCCTL_DESCRIBE_H
#define TTRPCCTL_DESCRIBE_H

#include <stddef.h>

#include "pool.h"
#include "ttrpcctl.h"

struct ctl_method {
	enum ttrpc_method_kind kind;
	const struct pb_message *input;
	const struct pb_message *output;
};

/*
 * ctl_describe() - learn @service/@method: from the --descriptor-set files
 * of @ctl when it has some, else from the daemon through ctl->client.
 * @pool: receives the descriptors; @ret points into it.
 * @err: on failure, why, for the user, with what to do about it.
 *
 * Return: 0; -ENOENT for an unknown service; -ENOSYS for a service without
 * that method; -EPROTO when no descriptors of the service can be had or
 * they do not fit what the daemon serves; -EREMOTEIO when the control
 * service failed the call; another negative errno for a transport failure.
 */
int ctl_describe(struct ctl *ctl, struct pb_pool *pool, const char *service, const char *method,
		 struct ctl_method *ret, char *err, size_t err_size);

/*
 * ctl_service_methods() - whether @name is a service, and its methods, as
 * ", "-separated names in @buf: for "call kv.v1.Store", which names a
 * service without a method. @pool holds the --descriptor-set files already
 * (ctl_describe() loaded them).
 *
 * Return: 0 when @name is a service; a negative errno otherwise.
 */
int ctl_service_methods(struct ctl *ctl, const struct pb_pool *pool, const char *name, char *buf,
			size_t size);

#endif
