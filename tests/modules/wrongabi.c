/* SPDX-License-Identifier: Apache-2.0 */
/* A module built for an ABI major this ttrpcd does not know. */
#include <ttrpc/module.h>

static int wrongabi_init(struct ttrpcd_host *host)
{
	return 0;
}

TTRPCD_MODULE_EXPORT const struct ttrpcd_module ttrpcd_module = {
	.abi_major = TTRPCD_MODULE_ABI_MAJOR + 1,
	.abi_minor = 0,
	.struct_size = sizeof(struct ttrpcd_module),
	.name = "wrongabi",
	.init = wrongabi_init,
};
