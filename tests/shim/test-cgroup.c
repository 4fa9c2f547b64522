/* SPDX-License-Identifier: Apache-2.0 */
/*
 * services/shim/cgroup.c: /proc/PID/cgroup parsed, and the v1 and v2 statistics
 * read from a cgroup tree written here file by file as the kernel shows
 * them (memory.stat, cpuacct.stat, blkio's recursive files...), compared
 * field by field with what containerd's cgroups library makes of them.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/shim/cgroup.h"
#include "services/shim/shim.h"

void shim_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

static char root[64];

static void put(const char *ctrl, const char *file, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/ns/c1", root, ctrl);
	for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	mkdir(path, 0755);
	if (!file)
		return;
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/%s", file);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/test-cgroup.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(parse)
{
	struct shim_cgroup cg;

	ck_assert_int_eq(shim_cgroup_parse("12:pids:/ns/c1\n"
					   "4:memory:/ns/c1\n"
					   "3:cpu,cpuacct:/ns/c1\n"
					   "2:name=systemd:/ns/c1\n"
					   "0::/ns/c1\n",
					   &cg),
			 0);
	ck_assert_str_eq(cg.path[CG_PIDS], "/ns/c1");
	ck_assert_str_eq(cg.path[CG_MEMORY], "/ns/c1");
	ck_assert_str_eq(cg.path[CG_CPU], "/ns/c1");
	ck_assert_str_eq(cg.path[CG_CPUACCT], "/ns/c1");
	ck_assert_ptr_null(cg.path[CG_BLKIO]);
	ck_assert_str_eq(cg.unified, "/ns/c1");
	shim_cgroup_fini(&cg);
	ck_assert_int_eq(shim_cgroup_parse("garbage\n", &cg), -EINVAL);
	ck_assert_ptr_null(cg.path[CG_PIDS]);
	ck_assert_int_eq(shim_cgroup_parse("", &cg), 0);
	ck_assert_ptr_null(cg.unified);
	shim_cgroup_fini(&cg);
}
END_TEST

START_TEST(metrics)
{
	struct shim_cgroup cg;
	char parts[128], dir[256];
	Metrics *m;
	FILE *f;

	ck_assert(!shim_cgroup_unified(root));
	ck_assert_int_eq(shim_cgroup_parse("1:pids:/ns/c1\n2:cpu:/ns/c1\n3:cpuacct:/ns/c1\n"
					   "4:memory:/ns/c1\n5:blkio:/ns/c1\n",
					   &cg),
			 0);
	ck_assert_int_eq(shim_cgroup_dir(root, &cg, CG_MEMORY, dir, sizeof(dir)), 0);
	ck_assert(strstr(dir, "/memory/ns/c1"));
	put("pids", "pids.current", "3\n");
	put("pids", "pids.max", "max\n");
	put("cpu", "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 300\nnr_bursts 0\n");
	put("cpuacct", "cpuacct.stat", "user 5\nsystem 2\n");
	put("cpuacct", "cpuacct.usage", "123456789\n");
	put("cpuacct", "cpuacct.usage_percpu", "100 200 \n");
	put("memory", "memory.stat",
	    "cache 4096\nrss 8192\nrss_huge 0\nshmem 0\nmapped_file 12\npgpgin 7\n"
	    "pgmajfault 1\nhierarchical_memory_limit 9223372036854771712\n"
	    "hierarchical_memsw_limit 9223372036854771712\ntotal_cache 4096\ntotal_rss 8192\n"
	    "total_unevictable 5\n");
	const char *mods[] = { "", "memsw.", "kmem.", "kmem.tcp." };
	for (int i = 0; i < 4; i++) {
		char name[64], val[32];
		const char *files[] = { "usage_in_bytes", "max_usage_in_bytes", "failcnt",
					"limit_in_bytes" };

		for (int k = 0; k < 4; k++) {
			snprintf(name, sizeof(name), "memory.%s%s", mods[i], files[k]);
			snprintf(val, sizeof(val), "%d\n", 1000 * (i + 1) + k);
			put("memory", name, val);
		}
	}
	put("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	put("blkio", "blkio.io_serviced_recursive", "8:0 Read 4\n8:0 Write 6\nTotal 10\n");
	put("blkio", "blkio.sectors_recursive", "8:0 80\n");
	const char *empty[] = { "io_service_bytes_recursive", "io_queued_recursive",
				"io_service_time_recursive",  "io_wait_time_recursive",
				"io_merged_recursive",        "time_recursive" };
	for (int i = 0; i < 6; i++) {
		char name[64];

		snprintf(name, sizeof(name), "blkio.%s", empty[i]);
		put("blkio", name, "Total 0\n");
	}
	snprintf(parts, sizeof(parts), "%s/partitions", root);
	f = fopen(parts, "w");
	fputs("major minor  #blocks  name\n\n 254        0  268435456 vda\n   8        0  1000 sda\n",
	      f);
	fclose(f);

	ck_assert_int_eq(shim_cgroup_v1_metrics(root, &cg, parts, &m), 0);
	ck_assert_uint_eq(m->pids->current, 3);
	ck_assert_uint_eq(m->pids->limit, 0);
	ck_assert_uint_eq(m->cpu->throttling->periods, 10);
	ck_assert_uint_eq(m->cpu->throttling->throttled_periods, 2);
	ck_assert_uint_eq(m->cpu->throttling->throttled_time, 300);
	ck_assert_uint_eq(m->cpu->usage->total, 123456789);
	ck_assert_uint_eq(m->cpu->usage->user, 50000000);
	ck_assert_uint_eq(m->cpu->usage->kernel, 20000000);
	ck_assert_uint_eq(m->cpu->usage->n_per_cpu, 2);
	ck_assert_uint_eq(m->cpu->usage->per_cpu[1], 200);
	ck_assert_uint_eq(m->memory->cache, 4096);
	ck_assert_uint_eq(m->memory->rss, 8192);
	ck_assert_uint_eq(m->memory->mapped_file, 12);
	ck_assert_uint_eq(m->memory->pg_pg_in, 7);
	ck_assert_uint_eq(m->memory->pg_maj_fault, 1);
	ck_assert_uint_eq(m->memory->hierarchical_swap_limit, 9223372036854771712ull);
	ck_assert_uint_eq(m->memory->total_unevictable, 5);
	ck_assert_uint_eq(m->memory->usage->usage, 1000);
	ck_assert_uint_eq(m->memory->usage->max, 1001);
	ck_assert_uint_eq(m->memory->usage->failcnt, 1002);
	ck_assert_uint_eq(m->memory->usage->limit, 1003);
	ck_assert_uint_eq(m->memory->swap->usage, 2000);
	ck_assert_uint_eq(m->memory->kernel->limit, 3003);
	ck_assert_uint_eq(m->memory->kernel_tcp->usage, 4000);
	ck_assert_uint_eq(m->memory_oom_control->oom_kill, 2);
	ck_assert_uint_eq(m->blkio->n_io_serviced_recursive, 2);
	ck_assert_str_eq(m->blkio->io_serviced_recursive[1]->op, "Write");
	ck_assert_str_eq(m->blkio->io_serviced_recursive[1]->device, "/dev/sda");
	ck_assert_uint_eq(m->blkio->io_serviced_recursive[1]->major, 8);
	ck_assert_uint_eq(m->blkio->io_serviced_recursive[1]->value, 6);
	ck_assert_uint_eq(m->blkio->n_sectors_recursive, 1);
	ck_assert_str_eq(m->blkio->sectors_recursive[0]->op, "");
	ck_assert_uint_eq(m->blkio->sectors_recursive[0]->value, 80);
	ck_assert_ptr_null(m->hugetlb);
	/* It packs: what Stats answers. */
	ck_assert_uint_gt(protobuf_c_message_get_packed_size(&m->base), 100);
	io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);

	/* A controller whose files are missing is left out (IgnoreNotExist). */
	snprintf(dir, sizeof(dir), "%s/memory/ns/c1/memory.memsw.usage_in_bytes", root);
	unlink(dir);
	snprintf(dir, sizeof(dir), "%s/pids/ns/c1/pids.current", root);
	unlink(dir);
	ck_assert_int_eq(shim_cgroup_v1_metrics(root, &cg, parts, &m), 0);
	ck_assert_ptr_null(m->pids);
	ck_assert_uint_eq(m->memory->usage->usage, 1000);
	ck_assert_uint_eq(m->memory->swap->usage, 0);
	ck_assert_ptr_null(m->memory_oom_control);
	io__containerd__cgroups__v1__metrics__free_unpacked(m, NULL);
	shim_cgroup_fini(&cg);

	/* The container deleted: its memory cgroup gone. */
	ck_assert_int_eq(shim_cgroup_parse("4:memory:/ns/gone\n", &cg), 0);
	ck_assert_int_eq(shim_cgroup_v1_metrics(root, &cg, parts, &m), -ENOENT);
	shim_cgroup_fini(&cg);
}
END_TEST

/* cgroup v2: one directory, the files as the kernel writes them. */
START_TEST(metrics_v2)
{
	struct shim_cgroup cg;
	Metrics2 *m;

	ck_assert_int_eq(shim_cgroup_parse("0::/ns/c1\n", &cg), 0);
	put("", "cgroup.controllers", "cpu io memory pids\n");
	put("", "pids.current", "2\n");
	put("", "pids.max", "max\n");
	put("", "cpu.stat",
	    "usage_usec 900\nuser_usec 600\nsystem_usec 300\nnr_periods 4\n"
	    "nr_throttled 1\nthrottled_usec 50\nnr_bursts 0\n");
	put("", "memory.stat",
	    "anon 4096\nfile 8192\nkernel_stack 16384\nfile_mapped 12\n"
	    "pgfault 77\nthp_collapse_alloc 3\nsomething_new 5\n");
	put("", "memory.current", "65536\n");
	put("", "memory.max", "max\n");
	put("", "memory.swap.current", "0\n");
	put("", "memory.swap.max", "1048576\n");
	put("", "memory.events", "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n");
	put("", "io.stat", "8:0 rbytes=1024 wbytes=2048 rios=3 wios=4 dbytes=0 dios=0\n");

	ck_assert_int_eq(shim_cgroup_v2_metrics(root, &cg, &m), 0);
	ck_assert_uint_eq(m->pids->current, 2);
	ck_assert_uint_eq(m->pids->limit, UINT64_MAX);
	ck_assert_uint_eq(m->cpu->usage_usec, 900);
	ck_assert_uint_eq(m->cpu->system_usec, 300);
	ck_assert_uint_eq(m->cpu->throttled_usec, 50);
	ck_assert_uint_eq(m->memory->anon, 4096);
	ck_assert_uint_eq(m->memory->kernel_stack, 16384);
	ck_assert_uint_eq(m->memory->file_mapped, 12);
	ck_assert_uint_eq(m->memory->pgfault, 77);
	ck_assert_uint_eq(m->memory->thp_collapse_alloc, 3);
	ck_assert_uint_eq(m->memory->usage, 65536);
	ck_assert_uint_eq(m->memory->usage_limit, UINT64_MAX);
	ck_assert_uint_eq(m->memory->swap_limit, 1048576);
	ck_assert_uint_eq(m->memory_events->max, 2);
	ck_assert_uint_eq(m->memory_events->oom_kill, 1);
	ck_assert_uint_eq(m->io->n_usage, 1);
	ck_assert_uint_eq(m->io->usage[0]->major, 8);
	ck_assert_uint_eq(m->io->usage[0]->wbytes, 2048);
	ck_assert_uint_eq(m->io->usage[0]->wios, 4);
	ck_assert_ptr_nonnull(m->rdma);
	ck_assert_uint_gt(protobuf_c_message_get_packed_size(&m->base), 40);
	io__containerd__cgroups__v2__metrics__free_unpacked(m, NULL);
	ck_assert_uint_eq(shim_cgroup_oom_kills("oom 3\noom_kill 2\n"), 2);
	shim_cgroup_fini(&cg);

	ck_assert_int_eq(shim_cgroup_parse("0::/ns/gone\n", &cg), 0);
	ck_assert_int_eq(shim_cgroup_v2_metrics(root, &cg, &m), -ENOENT);
	shim_cgroup_fini(&cg);
	ck_assert_int_eq(shim_cgroup_parse("4:memory:/ns/c1\n", &cg), 0);
	ck_assert_int_eq(shim_cgroup_v2_metrics(root, &cg, &m), -ENOENT);
	shim_cgroup_fini(&cg);
}
END_TEST

START_TEST(unified)
{
	put("x", NULL, NULL);
	ck_assert(!shim_cgroup_unified(root));
	char p[128];
	snprintf(p, sizeof(p), "%s/cgroup.controllers", root);
	FILE *f = fopen(p, "w");
	fputs("cpu memory pids\n", f);
	fclose(f);
	ck_assert(shim_cgroup_unified(root));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("shim-cgroup");
	TCase *tc = tcase_create("cgroup");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, parse);
	tcase_add_test(tc, metrics);
	tcase_add_test(tc, metrics_v2);
	tcase_add_test(tc, unified);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
