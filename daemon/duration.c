/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durations in integer arithmetic: "0.1s" is exactly 100000 us, which a
 * double would not promise, and values past 64 bits are refused, not wrapped.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include "daemon/duration.h"

static const struct {
	const char *suffix;
	uint64_t us;
} units[] = {
	{ "", 1000000 },   { "s", 1000000 },    { "ms", 1000 },         { "us", 1 },
	{ "m", 60000000 }, { "min", 60000000 }, { "h", 3600000000ULL },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int ttrpcd_duration_parse(const char *s, uint64_t *us)
{
	const char *p = s, *frac = NULL;
	uint64_t whole = 0, scale = 0, part = 0, div = 1;
	size_t n_frac = 0;

	while (is_digit(*p)) {
		uint64_t d = (uint64_t)(*p++ - '0');

		if (whole > (UINT64_MAX - d) / 10)
			return -ERANGE;
		whole = whole * 10 + d;
	}
	if (*p == '.') {
		for (frac = ++p; is_digit(*p); p++)
			;
		n_frac = (size_t)(p - frac);
		if (n_frac == 0)
			return -EINVAL;
	} else if (p == s) {
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].suffix) == 0)
			scale = units[i].us;
	if (!scale)
		return -EINVAL;
	if (whole > UINT64_MAX / scale)
		return -ERANGE;
	/* Nine digits of fraction keep part * scale within 64 bits for every unit. */
	for (size_t i = 0; i < n_frac && i < 9; i++) {
		part = part * 10 + (uint64_t)(frac[i] - '0');
		div *= 10;
	}
	part = part * scale / div;
	if (whole * scale > UINT64_MAX - part)
		return -ERANGE;
	*us = whole * scale + part;
	return 0;
}

uint64_t ttrpcd_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
