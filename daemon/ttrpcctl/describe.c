/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Learning a method's shape and message types from descriptors; see
 * describe.h.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control.ttrpc-c.h"
#include "describe.h"

#define TO_DESCRIBE_OFFLINE                                                           \
	"give --descriptor-set FILE (the output of protoc -o FILE --include_imports " \
	"NAME.proto), or call with --raw"

static const char *kind_name(enum ttrpc_method_kind kind)
{
	static const char *const names[] = {
		[TTRPC_METHOD_UNARY] = "unary",
		[TTRPC_METHOD_SERVER_STREAM] = "server-streaming",
		[TTRPC_METHOD_CLIENT_STREAM] = "client-streaming",
		[TTRPC_METHOD_BIDI_STREAM] = "bidirectional",
	};

	return (unsigned)kind < 4 ? names[kind] : "unknown";
}

/* Append @name to the ", "-separated list in @buf. */
static void list_name(char *buf, size_t size, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s", used ? ", " : "", name);
}

/* The method of the pool's @service, resolved, or why not. */
static int from_pool(const struct pb_pool *pool, const char *service, const char *method,
		     const char *where, struct ctl_method *ret, char *err, size_t err_size)
{
	const struct pb_service *svc = pb_pool_service(pool, service);
	const struct pb_method *m;
	char names[512] = "";

	if (!svc) {
		snprintf(err, err_size, "unknown service %s: %s do not declare it", service, where);
		return -ENOENT;
	}
	m = pb_service_method(svc, method);
	if (!m) {
		for (size_t i = 0; i < svc->n_methods; i++)
			list_name(names, sizeof(names), svc->methods[i].name);
		snprintf(err, err_size, "service %s has no method %s (it has: %s)", service, method,
			 names);
		return -ENOSYS;
	}
	if (!m->input || !m->output) {
		snprintf(err, err_size, "%s/%s: type %s is not among %s", service, method,
			 m->input ? m->output_name : m->input_name, where);
		return -EPROTO;
	}
	*ret = (struct ctl_method){ .kind = m->kind, .input = m->input, .output = m->output };
	return 0;
}

static int describe_from_files(struct ctl *ctl, struct pb_pool *pool, const char *service,
			       const char *method, struct ctl_method *ret, char *err,
			       size_t err_size)
{
	int r;

	for (size_t i = 0; i < ctl->n_descriptor_sets; i++)
		if ((r = pb_pool_add_file(pool, ctl->descriptor_sets[i], err, err_size)) < 0)
			return r == -EINVAL ? -EPROTO : r;
	return from_pool(pool, service, method, "the --descriptor-set files", ret, err, err_size);
}

/* The daemon's List of @service, or why not (-ENOENT: no such service). */
static int list_service(struct ctl *ctl, const char *service, Ttrpcd__V1__ListResponse **list,
			const Ttrpcd__V1__ServiceInfo **si, char *err, size_t err_size)
{
	Ttrpcd__V1__ListRequest req = TTRPCD__V1__LIST_REQUEST__INIT;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	struct ttrpc_status st = { 0 };
	int r;

	req.service = (char *)service;
	r = ttrpcd__v1__control_list_sync(ctl->client, &req, &opts, list, &st);
	if (r == -EREMOTEIO && st.code == TTRPC_NOT_FOUND) {
		snprintf(err, err_size, "unknown service %s (`ttrpcctl list` shows the services)",
			 service);
		r = -ENOENT;
	} else if (r == -EREMOTEIO) {
		snprintf(err, err_size,
			 "cannot learn the types of %s: %s.List answered %s: %s (--raw needs no "
			 "types)",
			 service, TTRPCD__V1__CONTROL__NAME, ttrpc_code_name(st.code),
			 st.message ? st.message : "");
	} else if (r < 0) {
		snprintf(err, err_size, "%s.List: %s", TTRPCD__V1__CONTROL__NAME, strerror(-r));
	}
	ttrpc_status_clear(&st);
	if (r < 0)
		return r;
	*si = NULL;
	for (size_t i = 0; i < (*list)->n_services && !*si; i++)
		if (strcmp((*list)->services[i]->name, service) == 0)
			*si = (*list)->services[i];
	if (!*si) {
		snprintf(err, err_size, "unknown service %s (`ttrpcctl list` shows the services)",
			 service);
		protobuf_c_message_free_unpacked(&(*list)->base, NULL);
		return -ENOENT;
	}
	return 0;
}

/* Who serves @si, for messages: "module NAME (PATH)" or "ttrpcd itself". */
static void owner_of(const Ttrpcd__V1__ListResponse *list, const Ttrpcd__V1__ServiceInfo *si,
		     char *buf, size_t size)
{
	snprintf(buf, size, "ttrpcd itself");
	if (!si->module[0])
		return;
	snprintf(buf, size, "module %s", si->module);
	for (size_t i = 0; i < list->n_modules; i++)
		if (strcmp(list->modules[i]->name, si->module) == 0)
			snprintf(buf, size, "module %s (%s)", si->module, list->modules[i]->path);
}

/* Control.Describe of @service into @pool. */
static int describe_service(struct ctl *ctl, struct pb_pool *pool, const char *service,
			    const char *owner, char *err, size_t err_size)
{
	Ttrpcd__V1__DescribeRequest req = TTRPCD__V1__DESCRIBE_REQUEST__INIT;
	struct ttrpc_call_opts opts = ctl_call_opts(ctl, false);
	Ttrpcd__V1__DescribeResponse *resp = NULL;
	struct ttrpc_status st = { 0 };
	char what[1024];
	int r;

	req.service = (char *)service;
	r = ttrpcd__v1__control_describe_sync(ctl->client, &req, &opts, &resp, &st);
	if (r == -EREMOTEIO && st.code == TTRPC_UNIMPLEMENTED) {
		snprintf(err, err_size,
			 "this ttrpcd cannot describe its services (it has no %s/Describe): "
			 "" TO_DESCRIBE_OFFLINE,
			 TTRPCD__V1__CONTROL__NAME);
		r = -EPROTO;
	} else if (r == -EREMOTEIO) {
		snprintf(err, err_size, "cannot learn the types of %s: %s.Describe answered %s: %s",
			 service, TTRPCD__V1__CONTROL__NAME, ttrpc_code_name(st.code),
			 st.message ? st.message : "");
	} else if (r < 0) {
		snprintf(err, err_size, "%s.Describe: %s", TTRPCD__V1__CONTROL__NAME, strerror(-r));
	} else if (resp->file_descriptor_set.len == 0) {
		snprintf(err, err_size,
			 "ttrpcctl cannot describe %s: %s serves it without descriptors (built "
			 "before protoc-gen-ttrpc-c embedded them, or from a hand-written method "
			 "table): rebuild it, or " TO_DESCRIBE_OFFLINE,
			 service, owner);
		r = -EPROTO;
	} else {
		snprintf(what, sizeof(what), "the descriptors of %s from %s", service, owner);
		r = pb_pool_add(pool, resp->file_descriptor_set.data, resp->file_descriptor_set.len,
				what, err, err_size);
		if (r == -EINVAL)
			r = -EPROTO;
	}
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	ttrpc_status_clear(&st);
	return r;
}

/* The descriptors must say what the daemon serves: the same kind and types. */
static int check_same(const Ttrpcd__V1__MethodInfo *mi, const struct ctl_method *m,
		      const char *service, char *err, size_t err_size)
{
	if ((int)mi->kind == (int)m->kind && strcmp(mi->input_type, m->input->name) == 0 &&
	    strcmp(mi->output_type, m->output->name) == 0)
		return 0;
	snprintf(err, err_size,
		 "the descriptors of %s declare %s %s(%s) returns (%s), the daemon serves %s "
		 "%s(%s) returns (%s)",
		 service, kind_name(m->kind), mi->name, m->input->name, m->output->name,
		 kind_name((enum ttrpc_method_kind)mi->kind), mi->name, mi->input_type,
		 mi->output_type);
	return -EPROTO;
}

static int describe_from_daemon(struct ctl *ctl, struct pb_pool *pool, const char *service,
				const char *method, struct ctl_method *ret, char *err,
				size_t err_size)
{
	Ttrpcd__V1__ListResponse *list;
	const Ttrpcd__V1__ServiceInfo *si;
	const Ttrpcd__V1__MethodInfo *mi = NULL;
	char names[512] = "", owner[512], where[600];
	int r;

	r = list_service(ctl, service, &list, &si, err, err_size);
	if (r < 0)
		return r;
	for (size_t i = 0; i < si->n_methods; i++) {
		if (strcmp(si->methods[i]->name, method) == 0)
			mi = si->methods[i];
		list_name(names, sizeof(names), si->methods[i]->name);
	}
	owner_of(list, si, owner, sizeof(owner));
	if (!mi) {
		snprintf(err, err_size, "service %s has no method %s (it has: %s)", service, method,
			 names);
		r = -ENOSYS;
	} else if ((r = describe_service(ctl, pool, service, owner, err, err_size)) == 0) {
		snprintf(where, sizeof(where), "the descriptors %s gives", owner);
		r = from_pool(pool, service, method, where, ret, err, err_size);
		if (r == -ENOENT || r == -ENOSYS)
			r = -EPROTO;
		if (r == 0)
			r = check_same(mi, ret, service, err, err_size);
	}
	protobuf_c_message_free_unpacked(&list->base, NULL);
	return r;
}

int ctl_describe(struct ctl *ctl, struct pb_pool *pool, const char *service, const char *method,
		 struct ctl_method *ret, char *err, size_t err_size)
{
	if (ctl->n_descriptor_sets > 0)
		return describe_from_files(ctl, pool, service, method, ret, err, err_size);
	return describe_from_daemon(ctl, pool, service, method, ret, err, err_size);
}

int ctl_service_methods(struct ctl *ctl, const struct pb_pool *pool, const char *name, char *buf,
			size_t size)
{
	Ttrpcd__V1__ListResponse *list;
	const Ttrpcd__V1__ServiceInfo *si;
	const struct pb_service *svc;
	char err[256];

	buf[0] = '\0';
	if (ctl->n_descriptor_sets > 0) {
		svc = pb_pool_service(pool, name);
		if (!svc)
			return -ENOENT;
		for (size_t i = 0; i < svc->n_methods; i++)
			list_name(buf, size, svc->methods[i].name);
		return 0;
	}
	if (list_service(ctl, name, &list, &si, err, sizeof(err)) < 0)
		return -ENOENT;
	for (size_t i = 0; i < si->n_methods; i++)
		list_name(buf, size, si->methods[i]->name);
	protobuf_c_message_free_unpacked(&list->base, NULL);
	return 0;
}
