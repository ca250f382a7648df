#!/usr/bin/env bash
# Configures and builds foresight in build/<name> (default build/release) with the
# given CFLAGS, bootstrapping autotools first when configure is missing.
# Usage: scripts/build.sh [NAME [CFLAGS [LDFLAGS]]]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-release}
cflags=${2:--O2 -g}
ldflags=${3:-}
cd "$top"
[ -x configure ] || autoreconf -fi
mkdir -p "build/$name"
cd "build/$name"
if [ ! -f Makefile ] || [ "$(cat .cflags 2>/dev/null)" != "$cflags|$ldflags" ]; then
  "$top/configure" --quiet CFLAGS="$cflags" LDFLAGS="$ldflags"
  echo "$cflags|$ldflags" > .cflags
fi
make -s -j"$(nproc)"
