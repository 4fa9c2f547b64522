/* SPDX-License-Identifier: Apache-2.0 */
/* What every fuzz target shares. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

/* Fatal in a fuzz target: a crash that libFuzzer records with its input. */
#define FUZZ_CHECK(cond)                  \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

#endif
