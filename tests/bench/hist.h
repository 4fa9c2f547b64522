/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A log-linear latency histogram: 64 buckets per power of two, so any
 * quantile is within 1.6% of the recorded value, in 30 KiB, with no
 * allocation per sample. Values are nanoseconds.
 */
#ifndef TTRPC_BENCH_HIST_H
#define TTRPC_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (2 * HIST_SUB + (64 - HIST_SUB_BITS - 1) * HIST_SUB)

struct hist {
	uint64_t count;
	uint64_t buckets[HIST_BUCKETS];
};

void hist_reset(struct hist *h);
void hist_add(struct hist *h, uint64_t ns);
/* Add every sample of @from to @to. */
void hist_merge(struct hist *to, const struct hist *from);
/* The value at quantile @q (0..1], the middle of its bucket; 0 when empty. */
double hist_quantile(const struct hist *h, double q);

#endif
