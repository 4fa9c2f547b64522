/* SPDX-License-Identifier: Apache-2.0 */
/* The log-linear histogram of hist.h. */
#include <math.h>
#include <string.h>

#include "hist.h"

/*
 * Values below 2 * HIST_SUB have a bucket each; above, the bucket of v is
 * its top HIST_SUB_BITS + 1 bits, which starts with a one, so the exponent
 * and the bits after the leading one index it.
 */
static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	e = 63 - (unsigned)__builtin_clzll(v) - HIST_SUB_BITS;
	return 2 * HIST_SUB + (e - 1) * HIST_SUB + (unsigned)((v >> e) - HIST_SUB);
}

static double bucket_mid(unsigned i)
{
	unsigned e;

	if (i < 2 * HIST_SUB)
		return i;
	e = (i - 2 * HIST_SUB) / HIST_SUB + 1;
	return ldexp((double)((i - 2 * HIST_SUB) % HIST_SUB + HIST_SUB) + 0.5, (int)e);
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t ns)
{
	h->buckets[bucket_of(ns)]++;
	h->count++;
}

void hist_merge(struct hist *to, const struct hist *from)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		to->buckets[i] += from->buckets[i];
	to->count += from->count;
}

double hist_quantile(const struct hist *h, double q)
{
	uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;

	if (h->count == 0)
		return 0;
	if (rank == 0)
		rank = 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= rank)
			return bucket_mid(i);
	}
	return 0;
}
