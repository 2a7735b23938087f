#!/usr/bin/env bash
# Self-contained bundles for the kiosk's targets, each with its native ONNX Runtime library, settings and
# licences:  publish/kiosk-<version>-linux-x64.tar.gz  and  ...-linux-arm64.tar.gz (Raspberry Pi OS 64-bit).
# Usage: ./publish.sh [linux-x64] [linux-arm64]     (default: both)
# The bundle needs, on the target: Debian packages ffmpeg, libturbojpeg0, libwebp7 (the models are fetched by
# scripts/setup.sh or copied from a connected machine's cache).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
bash scripts/setup.sh
cache="${KIOSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiosk}"
version="$(git describe --tags --always --dirty 2>/dev/null || echo dev)"
rids=("$@")
[ "${#rids[@]}" -gt 0 ] || rids=(linux-x64 linux-arm64)

for rid in "${rids[@]}"; do
  case "$rid" in linux-x64|linux-arm64) ;; *) echo "publish: unsupported runtime '$rid' (linux-x64, linux-arm64)" >&2; exit 2;; esac
  out="$root/publish/$rid/kiosk"
  rm -rf "$out"
  kind="self-contained"
  if ! dotnet publish "$root/Kiosk.Host/Kiosk.Host.csproj" -c Release -r "$rid" --self-contained true \
      -p:DebugType=none -o "$out" -nologo -v:q > "$root/publish/$rid.log" 2>&1; then
    # The package feed may lack this runtime's packs (e.g. linux-arm64 on a mirror): then a framework-dependent
    # bundle (portable IL, any architecture), which needs the .NET 10 runtime on the target and starts through `dotnet`.
    grep -q "NU1101" "$root/publish/$rid.log" || { cat "$root/publish/$rid.log" >&2; exit 1; }
    echo "publish: no $rid runtime pack on the package feed; making a framework-dependent bundle (needs .NET 10 on the target)" >&2
    kind="framework-dependent"
    rm -rf "$out"
    dotnet publish "$root/Kiosk.Host/Kiosk.Host.csproj" -c Release --self-contained false \
      -p:UseAppHost=false -p:DebugType=none -o "$out" -nologo -v:q
    printf '#!/bin/sh\nexec dotnet "$(dirname "$(readlink -f "$0")")/kiosk.dll" "$@"\n' > "$out/kiosk"
    chmod 0755 "$out/kiosk"
  fi
  rm -f "$root/publish/$rid.log"
  lib="$cache/onnxruntime/1.30.0/$rid/libonnxruntime.so.1"
  [ -f "$lib" ] || { echo "publish: $lib missing (scripts/setup.sh fetches it)" >&2; exit 1; }
  # Beside the program: OrtLibrary looks there after the cache.
  install -m 0644 "$lib" "$out/libonnxruntime.so.1"
  install -m 0644 "$root/config/assets.lock" "$out/assets.lock"
  install -m 0644 "$root/README.md" "$out/README.md"
  install -m 0644 "$root/systemd/kiosk.service" "$out/kiosk.service"
  install -m 0755 "$root/systemd/install.sh" "$out/install.sh"
  # The default models travel with the program (the service's KIOSK_CACHE_DIR is /opt/kiosk/cache).
  mkdir -p "$out/cache/models/default"
  install -m 0644 "$cache"/models/default/*.onnx "$out/cache/models/default/"
  tarball="$root/publish/kiosk-$version-$rid.tar.gz"
  tar -C "$root/publish/$rid" -czf "$tarball" kiosk
  echo "publish: $tarball ($kind, $(du -h "$tarball" | cut -f1))"
done
