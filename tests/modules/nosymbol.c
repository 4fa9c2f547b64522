/* SPDX-License-Identifier: Apache-2.0 */
/* A shared object that is no ttrpcd module: it lacks the ttrpcd_module symbol. */
__attribute__((visibility("default"))) int not_a_module = 1;
