#!/usr/bin/env bash
# Node.js reference benchmark: runs the kiosk's models through onnxruntime-node 1.30.0, i.e. the same
# libonnxruntime.so.1 build that the C# project binds, so the C# benchmark can report ratios against it.
#
#   bench/node-reference/run.sh [--runs N] [--json FILE] [other bench.js options, see bench.js --help]
#
# Prepares (idempotently) $cache/node-reference/node_modules/{onnxruntime-node,onnxruntime-common}:
#   - onnxruntime-node comes ONLY from the cached tarball $cache/npm/onnxruntime-node-1.30.0.tgz
#     (fetched and verified by scripts/setup.sh); it is never downloaded here, and its postinstall
#     script (which needs the internet) is never run.
#   - onnxruntime-common (pure JS) is fetched once with `npm pack` and kept in $cache/node-reference/.
# Both tarballs are checked against the SHA-256 pinned below; a mismatch is refused. The extracted
# libonnxruntime.so.1 is checked against the hash config/assets.lock pins for the C# project's copy.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${KIOSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiosk}"
prep="$cache/node-reference"
lock="$root/config/assets.lock"

ORT_VERSION=1.30.0
ORT_NODE_TGZ="$cache/npm/onnxruntime-node-$ORT_VERSION.tgz"
ORT_NODE_SHA256=6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
# npm pack onnxruntime-common@1.30.0 (registry integrity sha512-7fdVWjAID1dVhH/G8qK3APARunV4VkBFoCQAP7qp4Wkab0mrorvmc+sqiT+mKXOzDqdjN5j+/Z9nb4gzNPWcyA==)
ORT_COMMON_SHA256=7906c439e0d3e0f4048caa23b64cdfadc0f455c377f579ce1ab2a4b778f07d5f
ORT_COMMON_TGZ="$prep/onnxruntime-common-$ORT_VERSION.tgz"

say() { printf 'node-reference: %s\n' "$*" >&2; }
die() { printf 'node-reference: error: %s\n' "$*" >&2; exit 1; }
sha_of() { sha256sum "$1" | cut -d' ' -f1; }
sha_ok() { [ -f "$2" ] && [ "$(sha_of "$2")" = "$1" ]; }

command -v node >/dev/null 2>&1 || die "node not found (Node.js 20 or later is needed)"
command -v npm  >/dev/null 2>&1 || die "npm not found"
[ "$(node -p process.platform)" = linux ] || die "only Linux is supported"
arch="$(node -p process.arch)"                      # x64 | arm64, as the binding's own loader names it
case "$arch" in x64|arm64) ;; *) die "unsupported architecture: $arch";; esac

# The hash of the C# project's libonnxruntime.so.1 for this architecture, from config/assets.lock.
[ -f "$lock" ] || die "$lock not found"
lib_sha="$(awk -v p="onnxruntime/$ORT_VERSION/linux-$arch/libonnxruntime.so.1" '$2 == p { print $1 }' "$lock")"
[ -n "$lib_sha" ] || die "config/assets.lock pins no onnxruntime/$ORT_VERSION/linux-$arch/libonnxruntime.so.1"

# --- onnxruntime-node: the cached tarball only ------------------------------------------------------
[ -f "$ORT_NODE_TGZ" ] || die "$ORT_NODE_TGZ missing: run scripts/setup.sh first (this script never downloads it)"
sha_ok "$ORT_NODE_SHA256" "$ORT_NODE_TGZ" \
  || die "$ORT_NODE_TGZ: SHA-256 is $(sha_of "$ORT_NODE_TGZ"), expected $ORT_NODE_SHA256; refusing it (scripts/setup.sh fetches it again)"

stamp="$prep/.ready"
want_stamp="onnxruntime-node=$ORT_NODE_SHA256 onnxruntime-common=$ORT_COMMON_SHA256 arch=$arch lib=$lib_sha"
nm="$prep/node_modules"
libpath="$nm/onnxruntime-node/bin/napi-v6/linux/$arch/libonnxruntime.so.1"

if [ "$(cat "$stamp" 2>/dev/null)" = "$want_stamp" ] && sha_ok "$lib_sha" "$libpath" \
   && [ -f "$nm/onnxruntime-node/bin/napi-v6/linux/$arch/onnxruntime_binding.node" ] \
   && [ -f "$nm/onnxruntime-common/package.json" ]; then
  : # already prepared
else
  say "preparing $prep"
  mkdir -p "$prep"
  rm -f "$stamp"

  # --- onnxruntime-common: npm pack once, verified ---------------------------------------------------
  if [ -e "$ORT_COMMON_TGZ" ] && ! sha_ok "$ORT_COMMON_SHA256" "$ORT_COMMON_TGZ"; then
    say "$(basename "$ORT_COMMON_TGZ"): hash mismatch, fetching again"
    rm -f "$ORT_COMMON_TGZ"
  fi
  if [ ! -f "$ORT_COMMON_TGZ" ]; then
    tmp="$(mktemp -d "$prep/.pack.XXXXXX")"
    say "fetching onnxruntime-common@$ORT_VERSION (npm pack)"
    (cd "$tmp" && npm pack --silent "onnxruntime-common@$ORT_VERSION" >/dev/null 2>"$tmp/npm.log") \
      || { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack onnxruntime-common@$ORT_VERSION failed"; }
    got="$tmp/onnxruntime-common-$ORT_VERSION.tgz"
    [ -f "$got" ] || { rm -rf "$tmp"; die "npm pack produced no onnxruntime-common-$ORT_VERSION.tgz"; }
    if ! sha_ok "$ORT_COMMON_SHA256" "$got"; then
      bad="$(sha_of "$got")"; rm -rf "$tmp"
      die "onnxruntime-common@$ORT_VERSION: SHA-256 is $bad, expected $ORT_COMMON_SHA256; refusing it"
    fi
    mv "$got" "$ORT_COMMON_TGZ"; rm -rf "$tmp"
  fi

  # --- extract both into a fresh tree, then swap it in -----------------------------------------------
  new="$(mktemp -d "$prep/.node_modules.XXXXXX")"
  trap 'rm -rf "$new"' EXIT
  mkdir -p "$new/onnxruntime-node" "$new/onnxruntime-common"
  # Only what this platform loads: package.json, dist/ and the Linux binaries for this architecture
  # (the Windows and macOS binaries are ~70 MB of the tarball).
  tar -xzf "$ORT_NODE_TGZ" -C "$new/onnxruntime-node" --strip-components=1 --wildcards \
      package/package.json 'package/dist/*' "package/bin/napi-v6/linux/$arch/*" \
    || die "extracting $ORT_NODE_TGZ failed"
  tar -xzf "$ORT_COMMON_TGZ" -C "$new/onnxruntime-common" --strip-components=1 \
    || die "extracting $ORT_COMMON_TGZ failed"
  sha_ok "$lib_sha" "$new/onnxruntime-node/bin/napi-v6/linux/$arch/libonnxruntime.so.1" \
    || die "libonnxruntime.so.1 in the onnxruntime-node tarball is not the build config/assets.lock pins ($lib_sha)"
  rm -rf "$nm"
  chmod 755 "$new"
  mv "$new" "$nm"
  trap - EXIT
  printf '%s\n' "$want_stamp" > "$stamp"
  say "ready: $nm"
fi

# The binding finds libonnxruntime.so.1 through its RUNPATH ($ORIGIN/); LD_LIBRARY_PATH would take
# precedence over that, so it is cleared. bench.js checks which library was mapped all the same.
exec env -u LD_LIBRARY_PATH node "$here/bench.js" \
  --ort-dir "$nm/onnxruntime-node" \
  --expect-version "$ORT_VERSION" \
  --expect-lib-sha256 "$lib_sha" \
  --models "$cache/models/default" \
  "$@"
