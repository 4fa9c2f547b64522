#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# ttrpcctl.sh's cases that need root and setpriv: skipped (77) without them.
exec "$(dirname "$0")/ttrpcctl.sh" --root
