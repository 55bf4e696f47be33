#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Install the Debian packages ampvq's build, demo and tests need, if missing.
# Usage: tools/install-deps.sh [demo|test]
set -euo pipefail
what=${1:-test}

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_cmd cmake || need+=(cmake)
have_cmd make || need+=(make)
have_cmd cc || need+=(gcc)
if [ "$what" = test ]; then
  have_cmd clang || need+=(clang)
  [ -f /usr/include/cmocka.h ] || need+=(libcmocka-dev)
  have_cmd pkg-config || need+=(pkg-config)
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "ampvq: installing ${need[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
