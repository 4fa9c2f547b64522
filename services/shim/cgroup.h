/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's cgroups, found from its init's /proc/PID/cgroup at
 * Create, and their statistics as containerd-shim-runc-v2 reports them on
 * a cgroup v1 or hybrid machine (io.containerd.cgroups.v1.Metrics: pids,
 * cpu, cpuacct, memory, blkio, read from the files of each hierarchy).
 */
#ifndef SHIM_CGROUP_H
#define SHIM_CGROUP_H

#include <stdbool.h>

#include "metrics.pb-c.h"
#include "metrics2.pb-c.h"

typedef Io__Containerd__Cgroups__V1__Metrics Metrics;
typedef Io__Containerd__Cgroups__V2__Metrics Metrics2;

/* The v1 controllers that have statistics, and the freezer. */
enum shim_cgroup_ctrl { CG_PIDS, CG_CPU, CG_CPUACCT, CG_MEMORY, CG_BLKIO, CG_N };

struct shim_cgroup {
	char *path[CG_N]; /* per v1 controller; NULL where it has none */
	char *unified;    /* the "0::" line's path, NULL if none */
};

/*
 * shim_cgroup_parse() - the paths of /proc/PID/cgroup's text ("4:memory:/ns/id",
 * "2:cpu,cpuacct:/ns/id", "0::/ns/id"). @cg is the caller's to fini.
 *
 * Return: 0, -EINVAL for a line of another form, -ENOMEM.
 */
int shim_cgroup_parse(const char *text, struct shim_cgroup *cg);

/* shim_cgroup_fini() - free the paths. */
void shim_cgroup_fini(struct shim_cgroup *cg);

/*
 * shim_cgroup_unified() - whether the machine has cgroup v2 alone:
 * @root ("/sys/fs/cgroup") is the v2 hierarchy itself.
 */
bool shim_cgroup_unified(const char *root);

/*
 * shim_cgroup_dir() - the directory of controller @ctrl, ROOT/NAME/PATH.
 * Return: 0, -ENOENT when the container has no cgroup of it, -ENAMETOOLONG.
 */
int shim_cgroup_dir(const char *root, const struct shim_cgroup *cg, enum shim_cgroup_ctrl ctrl,
		    char *buf, size_t size);

/*
 * shim_cgroup_v1_metrics() - the statistics, as the Go shim's cgroups
 * library reads them with IgnoreNotExist: a controller whose files are
 * missing is left out from there on. Device names come from
 * @partitions (/proc/partitions).
 * @ret: a message the caller frees with
 *       io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL).
 *
 * Return: 0; -ENOENT when the memory cgroup is gone (the container was
 * deleted); -ENOMEM.
 */
int shim_cgroup_v1_metrics(const char *root, const struct shim_cgroup *cg, const char *partitions,
			   Metrics **ret);

/*
 * shim_cgroup_v2_metrics() - the statistics of a cgroup v2 machine
 * (io.containerd.cgroups.v2.Metrics), from ROOT/UNIFIED-PATH: cpu.stat,
 * memory.stat, memory.current, memory.max, memory.swap.*, memory.events,
 * pids.*, io.stat, as containerd's cgroups library reads them ("max" is
 * UINT64_MAX, a missing file 0).
 * @ret: freed with io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL).
 *
 * Return: 0; -ENOENT when the cgroup is gone; -ENOMEM.
 */
int shim_cgroup_v2_metrics(const char *root, const struct shim_cgroup *cg, Metrics2 **ret);

/*
 * shim_cgroup_oom_kills() - the oom_kill count of a v2 memory.events text.
 */
uint64_t shim_cgroup_oom_kills(const char *memory_events);

#endif
