/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Learning a method's shape and message types from the running daemon; see
 * describe.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <ttrpc/module.h>

#include "control.ttrpc-c.h"
#include "describe.h"
#include "health.ttrpc-c.h"

/* The services whose descriptors ttrpcctl carries, for the daemon's built-in ones. */
static const struct {
	const char *name;
	const struct ttrpc_method *methods;
} builtins[] = {
	{ TTRPCD__V1__CONTROL__NAME, ttrpcd__v1__control_methods },
	{ GRPC__HEALTH__V1__HEALTH__NAME, grpc__health__v1__health_methods },
};

static int from_table(const struct ttrpc_method *m, const char *method, struct ctl_method *ret)
{
	for (; m->name; m++) {
		if (strcmp(m->name, method) != 0)
			continue;
		*ret = (struct ctl_method){ .kind = m->kind,
					    .input = m->input,
					    .output = m->output };
		return 0;
	}
	return -ENOENT;
}

int ctl_builtin_method(const char *service, const char *method, struct ctl_method *ret)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, service) == 0)
			return from_table(builtins[i].methods, method, ret);
	return -ENOENT;
}

#if TTRPCD_MODULE_ABI_MINOR >= 1
/* ABI 1.0 ends with fini; services is the first field of 1.1. */
#define ABI_1_1_SIZE (offsetof(struct ttrpcd_module, services) + sizeof(void *))

int ctl_module_method(const char *path, const char *service, const char *method,
		      struct ctl_method *ret, char *err, size_t err_size)
{
	const struct ttrpcd_module *mod;
	const struct ttrpcd_service_decl *s;
	void *dl;

	/*
	 * RTLD_LAZY: the module's calls of the daemon's ttrpcd_host_* stay
	 * unresolved, which is fine as long as none of them runs, and none
	 * does: nothing of the module is called, only its data is read.
	 * RTLD_LOCAL keeps its symbols out of ttrpcctl's namespace.
	 */
	dl = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!dl) {
		snprintf(err, err_size, "cannot open module %s: %s", path, dlerror());
		return -EPROTO;
	}
	mod = dlsym(dl, TTRPCD_MODULE_SYMBOL);
	if (!mod) {
		snprintf(err, err_size, "%s is no ttrpcd module: no symbol %s", path,
			 TTRPCD_MODULE_SYMBOL);
		return -EPROTO;
	}
	/* The daemon's checks first: nothing past them is read from another ABI. */
	if (mod->abi_major != TTRPCD_MODULE_ABI_MAJOR) {
		snprintf(err, err_size, "module %s is built for ABI %u.%u; ttrpcctl reads %u.x",
			 path, mod->abi_major, mod->abi_minor, TTRPCD_MODULE_ABI_MAJOR);
		return -EPROTO;
	}
	if (mod->abi_minor < 1 || mod->struct_size < ABI_1_1_SIZE || !mod->services) {
		snprintf(err, err_size,
			 "module %s declares no services (ABI %u.%u; the declarations came with "
			 "1.1): rebuild it with .services, or call with --raw",
			 path, mod->abi_major, mod->abi_minor);
		return -EPROTO;
	}
	for (s = mod->services; s->name; s++) {
		if (strcmp(s->name, service) != 0)
			continue;
		if (s->methods && from_table(s->methods, method, ret) == 0)
			return 0;
		break;
	}
	snprintf(err, err_size, "module %s does not declare %s/%s", path, service, method);
	return -ENOENT;
}
#else
int ctl_module_method(const char *path, const char *service, const char *method,
		      struct ctl_method *ret, char *err, size_t err_size)
{
	snprintf(err, err_size,
		 "ttrpcctl is built against module ABI 1.0, which declares no "
		 "services: call with --raw");
	return -EPROTO;
}
#endif

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

/* The module's descriptors must be those the daemon serves: the same kind and types. */
static int check_same(const Ttrpcd__V1__MethodInfo *mi, const struct ctl_method *m,
		      const char *where, char *err, size_t err_size)
{
	if ((int)mi->kind == (int)m->kind && strcmp(mi->input_type, m->input->name) == 0 &&
	    strcmp(mi->output_type, m->output->name) == 0)
		return 0;
	snprintf(err, err_size,
		 "%s declares %s %s(%s) returns (%s), the daemon serves %s %s(%s) returns (%s): "
		 "was it rebuilt since ttrpcd loaded it?",
		 where, kind_name(m->kind), mi->name, m->input->name, m->output->name,
		 kind_name((enum ttrpc_method_kind)mi->kind), mi->name, mi->input_type,
		 mi->output_type);
	return -EPROTO;
}

static int describe(const Ttrpcd__V1__ListResponse *list, const char *service, const char *method,
		    struct ctl_method *ret, char *err, size_t err_size)
{
	const Ttrpcd__V1__ServiceInfo *si = NULL;
	const Ttrpcd__V1__MethodInfo *mi = NULL;
	char names[512] = "";
	int r;

	for (size_t i = 0; i < list->n_services && !si; i++)
		if (strcmp(list->services[i]->name, service) == 0)
			si = list->services[i];
	if (!si) {
		snprintf(err, err_size, "unknown service %s (`ttrpcctl list` shows the services)",
			 service);
		return -ENOENT;
	}
	for (size_t i = 0; i < si->n_methods; i++) {
		if (strcmp(si->methods[i]->name, method) == 0)
			mi = si->methods[i];
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 i ? ", " : "", si->methods[i]->name);
	}
	if (!mi) {
		snprintf(err, err_size, "service %s has no method %s (it has: %s)", service, method,
			 names);
		return -ENOENT;
	}
	if (!si->module[0]) {
		if (ctl_builtin_method(service, method, ret) < 0) {
			snprintf(err, err_size,
				 "%s is a built-in service of ttrpcd that this "
				 "ttrpcctl does not know: call it with --raw",
				 service);
			return -ENOENT;
		}
		return check_same(mi, ret, "ttrpcctl", err, err_size);
	}
	for (size_t i = 0; i < list->n_modules; i++) {
		const Ttrpcd__V1__ModuleInfo *mod = list->modules[i];

		if (strcmp(mod->name, si->module) != 0)
			continue;
		r = ctl_module_method(mod->path, service, method, ret, err, err_size);
		return r < 0 ? r : check_same(mi, ret, mod->path, err, err_size);
	}
	snprintf(err, err_size,
		 "the control service names module %s for %s, but lists no such "
		 "module",
		 si->module, service);
	return -EPROTO;
}

int ctl_describe(struct ttrpc_client *client, const struct ttrpc_call_opts *opts,
		 const char *service, const char *method, struct ctl_method *ret, char *err,
		 size_t err_size)
{
	Ttrpcd__V1__ListRequest req = TTRPCD__V1__LIST_REQUEST__INIT;
	Ttrpcd__V1__ListResponse *list = NULL;
	struct ttrpc_status st = { 0 };
	int r;

	req.service = (char *)service;
	r = ttrpcd__v1__control_list_sync(client, &req, opts, &list, &st);
	if (r == -EREMOTEIO && st.code == TTRPC_NOT_FOUND) {
		snprintf(err, err_size, "unknown service %s (`ttrpcctl list` shows the services)",
			 service);
		r = -ENOENT;
	} else if (r == -EREMOTEIO) {
		snprintf(err, err_size,
			 "cannot learn the types of %s/%s: %s.List answered %s: %s "
			 "(--raw needs no types)",
			 service, method, TTRPCD__V1__CONTROL__NAME, ttrpc_code_name(st.code),
			 st.message ? st.message : "");
	} else if (r < 0) {
		snprintf(err, err_size, "%s.List: %s", TTRPCD__V1__CONTROL__NAME, strerror(-r));
	} else {
		r = describe(list, service, method, ret, err, err_size);
		protobuf_c_message_free_unpacked(&list->base, NULL);
	}
	ttrpc_status_clear(&st);
	return r;
}
