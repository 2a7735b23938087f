#!/usr/bin/env bash
# Checks the layouts, enum values and function signatures the C# OpenVINO binding assumes against real OpenVINO
# headers, at compile time (scripts/openvino-abi-check.c; headers only, nothing is linked or run).
#
#   scripts/check-openvino-abi.sh DIR [RELEASE]
#
# DIR: an OpenVINO source tree (src/bindings/c/include is used), an install's runtime/include, a wheel's
# openvino/include, or any directory holding openvino/c/openvino.h. RELEASE (e.g. 2022.3) is read from
# openvino/core/version.hpp (OPENVINO_VERSION_MAJOR/MINOR) when not given.
set -euo pipefail

usage() { echo "usage: $0 OPENVINO_SOURCE_OR_INCLUDE_DIR [RELEASE, e.g. 2022.3]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage
dir=$(cd "$1" && pwd) || usage
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cc=${CC:-gcc}

include=
for candidate in "$dir/src/bindings/c/include" "$dir/runtime/include" "$dir/include" "$dir"; do
    if [[ -f "$candidate/openvino/c/openvino.h" ]]; then include=$candidate; break; fi
done
[[ -n $include ]] || { echo "no openvino/c/openvino.h under $dir" >&2; exit 2; }

release=${2:-}
if [[ -z $release ]]; then
    hpp=
    for candidate in "$include/openvino/core/version.hpp" "$dir/src/core/include/openvino/core/version.hpp" \
                     "$dir/runtime/include/openvino/core/version.hpp"; do
        if [[ -f $candidate ]]; then hpp=$candidate; break; fi
    done
    [[ -n $hpp ]] || { echo "no openvino/core/version.hpp found: give the release, e.g. $0 $1 2022.3" >&2; exit 2; }
    major=$(sed -n 's/^#define OPENVINO_VERSION_MAJOR \([0-9]*\).*/\1/p' "$hpp")
    minor=$(sed -n 's/^#define OPENVINO_VERSION_MINOR \([0-9]*\).*/\1/p' "$hpp")
    [[ -n $major && -n $minor ]] || { echo "cannot read the version from $hpp: give the release" >&2; exit 2; }
    release="$major.$minor"
fi
[[ $release =~ ^([0-9]{4})\.([0-9]+) ]] || { echo "release '$release' is not YYYY.R" >&2; exit 2; }
ovk_release=$(( BASH_REMATCH[1] * 100 + BASH_REMATCH[2] ))

echo "OpenVINO $release headers: $include"
"$cc" -std=c11 -fsyntax-only -Wall -Wextra -Werror=incompatible-pointer-types -Werror=int-conversion \
    -Werror=discarded-qualifiers -Wno-unused-variable -DOVK_RELEASE="$ovk_release" \
    -I"$include" "$here/openvino-abi-check.c"
echo "OK: every layout, enum value and signature the binding assumes matches OpenVINO $release"
