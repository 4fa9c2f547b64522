/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroup v1 statistics, file by file as containerd's cgroups library reads
 * them (the values its Metrics carries, zero where a key is missing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

/* USER_HZ of cpuacct.stat, as the Go library assumes it. */
#define CLOCK_TICKS 100
#define NS_PER_SEC 1000000000ull

static const char *const ctrl_names[CG_N] = {
	[CG_PIDS] = "pids",     [CG_CPU] = "cpu",     [CG_CPUACCT] = "cpuacct",
	[CG_MEMORY] = "memory", [CG_BLKIO] = "blkio",
};

int shim_cgroup_parse(const char *text, struct shim_cgroup *cg)
{
	const char *p = text;

	memset(cg, 0, sizeof(*cg));
	while (*p) {
		const char *nl = strchr(p, '\n'), *c1, *c2;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[4096], *ctrls, *path, *save = NULL;

		if (len == 0 || len >= sizeof(line)) {
			if (len)
				goto bad;
			p += 1;
			continue;
		}
		memcpy(line, p, len);
		line[len] = '\0';
		p += len + (nl ? 1 : 0);
		c1 = strchr(line, ':');
		c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			goto bad;
		ctrls = line + (c1 - line) + 1;
		line[c2 - line] = '\0';
		path = line + (c2 - line) + 1;
		if (!*ctrls) {
			free(cg->unified);
			if (!(cg->unified = strdup(path)))
				goto nomem;
			continue;
		}
		for (char *n = strtok_r(ctrls, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
			for (int i = 0; i < CG_N; i++) {
				if (strcmp(n, ctrl_names[i]) != 0)
					continue;
				free(cg->path[i]);
				if (!(cg->path[i] = strdup(path)))
					goto nomem;
			}
		}
	}
	return 0;
bad:
	shim_cgroup_fini(cg);
	return -EINVAL;
nomem:
	shim_cgroup_fini(cg);
	return -ENOMEM;
}

void shim_cgroup_fini(struct shim_cgroup *cg)
{
	for (int i = 0; i < CG_N; i++) {
		free(cg->path[i]);
		cg->path[i] = NULL;
	}
	free(cg->unified);
	cg->unified = NULL;
}

bool shim_cgroup_unified(const char *root)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/cgroup.controllers", root);
	return access(path, F_OK) == 0;
}

int shim_cgroup_dir(const char *root, const struct shim_cgroup *cg, enum shim_cgroup_ctrl ctrl,
		    char *buf, size_t size)
{
	if (!cg->path[ctrl])
		return -ENOENT;
	if ((size_t)snprintf(buf, size, "%s/%s%s", root, ctrl_names[ctrl], cg->path[ctrl]) >= size)
		return -ENAMETOOLONG;
	return 0;
}

/* A whole small file, NUL-terminated; NULL (errno set) if it cannot be read. */
static char *slurp(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *b = realloc(buf, cap + 8192);

			if (!b) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = b;
			cap += 8192;
		}
		size_t k = fread(buf + n, 1, cap - n - 1, f);

		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* A number as the library reads it: a negative one (-1) counts as 0. */
static uint64_t number(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return *s == '-' ? 0 : strtoull(s, NULL, 10);
}

/* One file holding one number; -errno if it cannot be read. */
static int read_u64(const char *dir, const char *name, uint64_t *v)
{
	char *s = slurp(dir, name);

	if (!s)
		return -errno;
	*v = number(s);
	free(s);
	return 0;
}

/* The value of @key in "key value" lines, 0 if none. */
static uint64_t kv(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return number(p + klen + 1);
	}
	return 0;
}

#define NEW(type, init)                          \
	({                                       \
		type *m_ = malloc(sizeof(type)); \
		if (m_)                          \
			*m_ = (type)init;        \
		m_;                              \
	})

static int pids_stat(const char *dir, Metrics *m)
{
	Io__Containerd__Cgroups__V1__PidsStat *s;
	uint64_t cur = 0;
	char *max;
	int r = read_u64(dir, "pids.current", &cur);

	if (r < 0)
		return r;
	if (!(max = slurp(dir, "pids.max")))
		return -errno;
	s = NEW(Io__Containerd__Cgroups__V1__PidsStat,
		IO__CONTAINERD__CGROUPS__V1__PIDS_STAT__INIT);
	if (!s) {
		free(max);
		return -ENOMEM;
	}
	s->current = cur;
	s->limit = strncmp(max, "max", 3) == 0 ? 0 : number(max);
	free(max);
	m->pids = s;
	return 0;
}

static int cpuacct_stat(const char *dir, Metrics *m)
{
	Io__Containerd__Cgroups__V1__CPUUsage *u = m->cpu->usage;
	char *stat = slurp(dir, "cpuacct.stat"), *percpu;
	int r;

	if (!stat)
		return -errno;
	u->user = kv(stat, "user") * NS_PER_SEC / CLOCK_TICKS;
	u->kernel = kv(stat, "system") * NS_PER_SEC / CLOCK_TICKS;
	free(stat);
	r = read_u64(dir, "cpuacct.usage", &u->total);
	if (r < 0)
		return r;
	if (!(percpu = slurp(dir, "cpuacct.usage_percpu")))
		return -errno;
	for (char *p = percpu, *end; *p; p = end) {
		uint64_t v = strtoull(p, &end, 10);
		uint64_t *a;

		if (end == p)
			break;
		a = realloc(u->per_cpu, (u->n_per_cpu + 1) * sizeof(*a));
		if (!a) {
			free(percpu);
			return -ENOMEM;
		}
		u->per_cpu = a;
		a[u->n_per_cpu++] = v;
	}
	free(percpu);
	return 0;
}

static int cpu_stat(const char *dir, Metrics *m)
{
	Io__Containerd__Cgroups__V1__Throttle *t = m->cpu->throttling;
	char *s = slurp(dir, "cpu.stat");

	if (!s)
		return -errno;
	t->periods = kv(s, "nr_periods");
	t->throttled_periods = kv(s, "nr_throttled");
	t->throttled_time = kv(s, "throttled_time");
	free(s);
	return 0;
}

static int memory_stat(const char *dir, Metrics *m)
{
	static const struct {
		const char *key;
		size_t offset;
	} keys[] = {
#define K(k, f) { k, offsetof(Io__Containerd__Cgroups__V1__MemoryStat, f) }
		K("cache", cache),
		K("rss", rss),
		K("rss_huge", rss_huge),
		K("mapped_file", mapped_file),
		K("dirty", dirty),
		K("writeback", writeback),
		K("pgpgin", pg_pg_in),
		K("pgpgout", pg_pg_out),
		K("pgfault", pg_fault),
		K("pgmajfault", pg_maj_fault),
		K("inactive_anon", inactive_anon),
		K("active_anon", active_anon),
		K("inactive_file", inactive_file),
		K("active_file", active_file),
		K("unevictable", unevictable),
		K("hierarchical_memory_limit", hierarchical_memory_limit),
		K("hierarchical_memsw_limit", hierarchical_swap_limit),
		K("total_cache", total_cache),
		K("total_rss", total_rss),
		K("total_rss_huge", total_rss_huge),
		K("total_mapped_file", total_mapped_file),
		K("total_dirty", total_dirty),
		K("total_writeback", total_writeback),
		K("total_pgpgin", total_pg_pg_in),
		K("total_pgpgout", total_pg_pg_out),
		K("total_pgfault", total_pg_fault),
		K("total_pgmajfault", total_pg_maj_fault),
		K("total_inactive_anon", total_inactive_anon),
		K("total_active_anon", total_active_anon),
		K("total_inactive_file", total_inactive_file),
		K("total_active_file", total_active_file),
		K("total_unevictable", total_unevictable),
#undef K
	};
	static const char *const modules[] = { "", "memsw.", "kmem.", "kmem.tcp." };
	Io__Containerd__Cgroups__V1__MemoryStat *s;
	Io__Containerd__Cgroups__V1__MemoryOomControl *oom;
	char *stat = slurp(dir, "memory.stat"), *oc;

	if (!stat)
		return -errno;
	s = NEW(Io__Containerd__Cgroups__V1__MemoryStat,
		IO__CONTAINERD__CGROUPS__V1__MEMORY_STAT__INIT);
	if (!s) {
		free(stat);
		return -ENOMEM;
	}
	m->memory = s;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		*(uint64_t *)((char *)s + keys[i].offset) = kv(stat, keys[i].key);
	free(stat);
	Io__Containerd__Cgroups__V1__MemoryEntry **entries[] = { &s->usage, &s->swap, &s->kernel,
								 &s->kernel_tcp };
	for (int i = 0; i < 4; i++) {
		*entries[i] = NEW(Io__Containerd__Cgroups__V1__MemoryEntry,
				  IO__CONTAINERD__CGROUPS__V1__MEMORY_ENTRY__INIT);
		if (!*entries[i])
			return -ENOMEM;
	}
	for (int i = 0; i < 4; i++) {
		Io__Containerd__Cgroups__V1__MemoryEntry *e = *entries[i];
		const struct {
			const char *name;
			uint64_t *v;
		} files[] = {
			{ "usage_in_bytes", &e->usage },
			{ "max_usage_in_bytes", &e->max },
			{ "failcnt", &e->failcnt },
			{ "limit_in_bytes", &e->limit },
		};
		for (int k = 0; k < 4; k++) {
			char name[64];
			int r;

			snprintf(name, sizeof(name), "memory.%s%s", modules[i], files[k].name);
			r = read_u64(dir, name, files[k].v);
			if (r < 0)
				return r;
		}
	}
	if (!(oc = slurp(dir, "memory.oom_control")))
		return -errno;
	oom = NEW(Io__Containerd__Cgroups__V1__MemoryOomControl,
		  IO__CONTAINERD__CGROUPS__V1__MEMORY_OOM_CONTROL__INIT);
	if (oom) {
		oom->oom_kill_disable = kv(oc, "oom_kill_disable");
		oom->under_oom = kv(oc, "under_oom");
		oom->oom_kill = kv(oc, "oom_kill");
	}
	free(oc);
	m->memory_oom_control = oom;
	return oom ? 0 : -ENOMEM;
}

/* The name of device MAJ:MIN in /proc/partitions' text, "" if none. */
static void device_name(const char *partitions, uint64_t major, uint64_t minor, char *buf,
			size_t size)
{
	buf[0] = '\0';
	for (const char *p = partitions; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		unsigned long long ma, mi, blocks;
		char name[64];

		if (sscanf(p, " %llu %llu %llu %63s", &ma, &mi, &blocks, name) == 4 &&
		    ma == major && mi == minor) {
			snprintf(buf, size, "/dev/%s", name);
			return;
		}
	}
}

/* One blkio file: "MAJ:MIN Op Value" or "MAJ:MIN Value" lines, a "Total N" line skipped. */
static int blkio_entries(const char *dir, const char *name, const char *partitions,
			 Io__Containerd__Cgroups__V1__BlkIOEntry ***list, size_t *n)
{
	char *text = slurp(dir, name);
	int r = 0;

	if (!text)
		return -errno;
	for (char *line = text, *next; line && *line; line = next) {
		unsigned long long ma, mi, v;
		char op[32] = "", dev[128];
		Io__Containerd__Cgroups__V1__BlkIOEntry *e, **a;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "Total ", 6) == 0)
			continue;
		if (sscanf(line, "%llu:%llu %31s %llu", &ma, &mi, op, &v) != 4) {
			op[0] = '\0';
			if (sscanf(line, "%llu:%llu %llu", &ma, &mi, &v) != 3) {
				r = -EINVAL;
				break;
			}
		}
		device_name(partitions, ma, mi, dev, sizeof(dev));
		e = NEW(Io__Containerd__Cgroups__V1__BlkIOEntry,
			IO__CONTAINERD__CGROUPS__V1__BLK_IOENTRY__INIT);
		a = e ? realloc(*list, (*n + 1) * sizeof(*a)) : NULL;
		if (e && a && (!*op || (e->op = strdup(op))) &&
		    (!*dev || (e->device = strdup(dev)))) {
			e->major = ma;
			e->minor = mi;
			e->value = v;
			*list = a;
			a[(*n)++] = e;
			continue;
		}
		if (a)
			*list = a;
		if (e) {
			if (e->op != protobuf_c_empty_string)
				free(e->op);
			free(e);
		}
		r = -ENOMEM;
		break;
	}
	free(text);
	return r;
}

static int blkio_stat(const char *dir, const char *partitions, Metrics *m)
{
	Io__Containerd__Cgroups__V1__BlkIOStat *s = NEW(
		Io__Containerd__Cgroups__V1__BlkIOStat,
		IO__CONTAINERD__CGROUPS__V1__BLK_IOSTAT__INIT);
	char probe[4200];
	struct stat st;

	if (!s)
		return -ENOMEM;
	m->blkio = s;
	const struct {
		const char *name;
		Io__Containerd__Cgroups__V1__BlkIOEntry ***list;
		size_t *n;
	} cfq[] = {
		{ "blkio.sectors_recursive", &s->sectors_recursive, &s->n_sectors_recursive },
		{ "blkio.io_service_bytes_recursive", &s->io_service_bytes_recursive,
		  &s->n_io_service_bytes_recursive },
		{ "blkio.io_serviced_recursive", &s->io_serviced_recursive,
		  &s->n_io_serviced_recursive },
		{ "blkio.io_queued_recursive", &s->io_queued_recursive, &s->n_io_queued_recursive },
		{ "blkio.io_service_time_recursive", &s->io_service_time_recursive,
		  &s->n_io_service_time_recursive },
		{ "blkio.io_wait_time_recursive", &s->io_wait_time_recursive,
		  &s->n_io_wait_time_recursive },
		{ "blkio.io_merged_recursive", &s->io_merged_recursive, &s->n_io_merged_recursive },
		{ "blkio.time_recursive", &s->io_time_recursive, &s->n_io_time_recursive },
	},
	  throttle[] = {
		  { "blkio.throttle.io_serviced", &s->io_serviced_recursive,
		    &s->n_io_serviced_recursive },
		  { "blkio.throttle.io_service_bytes", &s->io_service_bytes_recursive,
		    &s->n_io_service_bytes_recursive },
	  };
	/* The CFQ files where the kernel has them, else the throttling ones. */
	snprintf(probe, sizeof(probe), "%s/blkio.io_serviced_recursive", dir);
	bool has_cfq = lstat(probe, &st) == 0;
	size_t n = has_cfq ? sizeof(cfq) / sizeof(cfq[0]) : sizeof(throttle) / sizeof(throttle[0]);

	for (size_t i = 0; i < n; i++) {
		int r = has_cfq ? blkio_entries(dir, cfq[i].name, partitions, cfq[i].list, cfq[i].n)
				: blkio_entries(dir, throttle[i].name, partitions, throttle[i].list,
						throttle[i].n);

		if (r < 0)
			return r;
	}
	return 0;
}

int shim_cgroup_v1_metrics(const char *root, const struct shim_cgroup *cg, const char *partitions,
			   Metrics **ret)
{
	Metrics *m = NEW(Metrics, IO__CONTAINERD__CGROUPS__V1__METRICS__INIT);
	char dir[4096], *parts = NULL;
	struct stat st;
	int r = -ENOMEM;

	if (!m)
		return -ENOMEM;
	/* The library starts with these, whatever the controllers say. */
	m->cpu = NEW(Io__Containerd__Cgroups__V1__CPUStat,
		     IO__CONTAINERD__CGROUPS__V1__CPUSTAT__INIT);
	if (!m->cpu)
		goto fail;
	m->cpu->usage = NEW(Io__Containerd__Cgroups__V1__CPUUsage,
			    IO__CONTAINERD__CGROUPS__V1__CPUUSAGE__INIT);
	m->cpu->throttling = NEW(Io__Containerd__Cgroups__V1__Throttle,
				 IO__CONTAINERD__CGROUPS__V1__THROTTLE__INIT);
	if (!m->cpu->usage || !m->cpu->throttling)
		goto fail;
	if (shim_cgroup_dir(root, cg, CG_MEMORY, dir, sizeof(dir)) == 0 && stat(dir, &st) < 0) {
		r = -ENOENT;
		goto fail;
	}
	{
		FILE *f = fopen(partitions, "re");

		if (f) {
			size_t cap = 0;

			if (getdelim(&parts, &cap, '\0', f) < 0) {
				free(parts);
				parts = NULL;
			}
			fclose(f);
		}
	}
	for (int c = 0; c < CG_N; c++) {
		if (shim_cgroup_dir(root, cg, (enum shim_cgroup_ctrl)c, dir, sizeof(dir)) < 0 ||
		    stat(dir, &st) < 0)
			continue;
		switch (c) {
		case CG_PIDS:
			r = pids_stat(dir, m);
			break;
		case CG_CPU:
			r = cpu_stat(dir, m);
			break;
		case CG_CPUACCT:
			r = cpuacct_stat(dir, m);
			break;
		case CG_MEMORY:
			r = memory_stat(dir, m);
			break;
		default:
			r = blkio_stat(dir, parts ? parts : "", m);
			break;
		}
		/* IgnoreNotExist: a missing file ends that controller, not the answer. */
		if (r == -ENOMEM)
			goto fail;
	}
	free(parts);
	*ret = m;
	return 0;
fail:
	free(parts);
	io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
	return r;
}

/* ---- cgroup v2 ---- */

uint64_t shim_cgroup_oom_kills(const char *memory_events)
{
	return kv(memory_events, "oom_kill");
}

/* A number, or UINT64_MAX for "max"; 0 when the file cannot be read. */
static uint64_t read_limit(const char *dir, const char *name)
{
	char *s = slurp(dir, name);
	uint64_t v;

	if (!s)
		return 0;
	v = strncmp(s, "max", 3) == 0 ? UINT64_MAX : number(s);
	free(s);
	return v;
}

/* Each "key value" line of @name into the uint64 field of @msg named key, if any. */
static void read_fields(const char *dir, const char *name, ProtobufCMessage *msg)
{
	char *text = slurp(dir, name);

	for (char *line = text, *next; line && *line; line = next) {
		const ProtobufCFieldDescriptor *f;
		char *sp = strchr(line, ' ');

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!sp)
			continue;
		*sp = '\0';
		f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, line);
		if (f && f->type == PROTOBUF_C_TYPE_UINT64 && f->label == PROTOBUF_C_LABEL_NONE)
			*(uint64_t *)((char *)msg + f->offset) = number(sp + 1);
	}
	free(text);
}

/* io.stat: "MAJ:MIN rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" a device. */
static int io_stat(const char *dir, Io__Containerd__Cgroups__V2__IOStat *io)
{
	char *text = slurp(dir, "io.stat");
	int r = 0;

	for (char *line = text, *next; line && *line; line = next) {
		Io__Containerd__Cgroups__V2__IOEntry *e, **a;
		unsigned long long ma, mi;
		int off = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (sscanf(line, "%llu:%llu%n", &ma, &mi, &off) != 2)
			continue;
		e = NEW(Io__Containerd__Cgroups__V2__IOEntry,
			IO__CONTAINERD__CGROUPS__V2__IOENTRY__INIT);
		a = e ? realloc(io->usage, (io->n_usage + 1) * sizeof(*a)) : NULL;
		if (!a) {
			free(e);
			r = -ENOMEM;
			break;
		}
		io->usage = a;
		a[io->n_usage++] = e;
		e->major = ma;
		e->minor = mi;
		for (char *save = NULL, *kvp = strtok_r(line + off, " ", &save); kvp;
		     kvp = strtok_r(NULL, " ", &save)) {
			char *eq = strchr(kvp, '=');

			if (!eq)
				continue;
			*eq = '\0';
			if (strcmp(kvp, "rbytes") == 0)
				e->rbytes = number(eq + 1);
			else if (strcmp(kvp, "wbytes") == 0)
				e->wbytes = number(eq + 1);
			else if (strcmp(kvp, "rios") == 0)
				e->rios = number(eq + 1);
			else if (strcmp(kvp, "wios") == 0)
				e->wios = number(eq + 1);
		}
	}
	free(text);
	return r;
}

int shim_cgroup_v2_metrics(const char *root, const struct shim_cgroup *cg, Metrics2 **ret)
{
	Metrics2 *m;
	char dir[4096], *events;
	struct stat st;

	if (!cg->unified ||
	    (size_t)snprintf(dir, sizeof(dir), "%s%s", root, cg->unified) >= sizeof(dir) ||
	    stat(dir, &st) < 0)
		return -ENOENT;
	m = NEW(Metrics2, IO__CONTAINERD__CGROUPS__V2__METRICS__INIT);
	if (!m)
		return -ENOMEM;
	m->pids = NEW(Io__Containerd__Cgroups__V2__PidsStat,
		      IO__CONTAINERD__CGROUPS__V2__PIDS_STAT__INIT);
	m->cpu = NEW(Io__Containerd__Cgroups__V2__CPUStat,
		     IO__CONTAINERD__CGROUPS__V2__CPUSTAT__INIT);
	m->memory = NEW(Io__Containerd__Cgroups__V2__MemoryStat,
			IO__CONTAINERD__CGROUPS__V2__MEMORY_STAT__INIT);
	m->io = NEW(Io__Containerd__Cgroups__V2__IOStat, IO__CONTAINERD__CGROUPS__V2__IOSTAT__INIT);
	m->rdma = NEW(Io__Containerd__Cgroups__V2__RdmaStat,
		      IO__CONTAINERD__CGROUPS__V2__RDMA_STAT__INIT);
	if (!m->pids || !m->cpu || !m->memory || !m->io || !m->rdma)
		goto nomem;
	m->pids->current = read_limit(dir, "pids.current");
	m->pids->limit = read_limit(dir, "pids.max");
	read_fields(dir, "cpu.stat", &m->cpu->base);
	read_fields(dir, "memory.stat", &m->memory->base);
	m->memory->usage = read_limit(dir, "memory.current");
	m->memory->usage_limit = read_limit(dir, "memory.max");
	m->memory->swap_usage = read_limit(dir, "memory.swap.current");
	m->memory->swap_limit = read_limit(dir, "memory.swap.max");
	events = slurp(dir, "memory.events");
	if (events) {
		m->memory_events = NEW(Io__Containerd__Cgroups__V2__MemoryEvents,
				       IO__CONTAINERD__CGROUPS__V2__MEMORY_EVENTS__INIT);
		if (!m->memory_events) {
			free(events);
			goto nomem;
		}
		read_fields(dir, "memory.events", &m->memory_events->base);
		free(events);
	}
	if (io_stat(dir, m->io) < 0)
		goto nomem;
	*ret = m;
	return 0;
nomem:
	io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
	return -ENOMEM;
}
