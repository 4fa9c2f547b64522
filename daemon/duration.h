/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durations as ttrpcd's config and ttrpcctl's --timeout write them: one
 * syntax for both, the units of systemd.time(7); and the clock they run on.
 */
#ifndef TTRPCD_DURATION_H
#define TTRPCD_DURATION_H

#include <stdint.h>

/*
 * ttrpcd_duration_parse() - a number, with an optional fraction, followed by
 * a unit: us, ms, s, m or min, h; a bare number is seconds. "1.5s", "500ms",
 * "2min", "50us", "10". No sign, no spaces.
 * @us: receives the duration in microseconds (a fraction below one
 *      microsecond is dropped).
 *
 * Return: 0; -EINVAL when @s is not such a duration; -ERANGE when it does
 * not fit in 64 bits of microseconds.
 */
int ttrpcd_duration_parse(const char *s, uint64_t *us);

/*
 * ttrpcd_now_us() - CLOCK_MONOTONIC in microseconds, the clock durations
 * are measured on (and libttrpc's ttrpc_call_arrival()).
 */
uint64_t ttrpcd_now_us(void);

#endif
