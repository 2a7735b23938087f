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
# Temporary files and folders of an interrupted run are removed, never left to be mistaken for real ones.
scratch=()
cleanup() { [ "${#scratch[@]}" -eq 0 ] || rm -rf "${scratch[@]}"; }
trap cleanup EXIT
# npm pack names a tarball <name>-<version>.tgz, a scoped @scope/name as scope-name-<version>.tgz.
tarball_of() { local name="${1%@*}" version="${1##*@}"; name="${name#@}"; echo "${name//\//-}-$version.tgz"; }

# --- Debian packages -------------------------------------------------------------------------------
# KIOSK_SETUP_SKIP_APT=1 leaves the system alone (the tests of this script use it).
# ffmpeg: capture and video; libturbojpeg0, libwebp7: JPEG and WebP decoding; npm: fetching the pinned packages;
# ca-certificates/git: ordinary clients; libmosquitto1: the MQTT client library; mosquitto: the broker the MQTT tests
# start on loopback ports (never enabled as a service by the kiosk); mosquitto-clients: mosquitto_sub, an independent
# subscriber for the outbox tests and the integrator's first check.
apt_packages=(ffmpeg libturbojpeg0 libwebp7 npm ca-certificates mosquitto mosquitto-clients libmosquitto1)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A node/npm from elsewhere (nvm, nodesource) is as good as Debian's.
if command -v npm >/dev/null 2>&1; then
  for i in "${!missing[@]}"; do [ "${missing[$i]}" = npm ] && unset 'missing[i]'; done
fi
if [ "${#missing[@]}" -gt 0 ] && [ "${KIOSK_SETUP_SKIP_APT:-0}" != 1 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The broker is for the tests, which start their own on free ports: the package's system service stays off.
  if printf '%s\n' "${missing[@]}" | grep -qx mosquitto && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now mosquitto >/dev/null 2>&1 || true
  fi
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
# First pass: the tarballs. The lock file is read on descriptor 3, so that nothing in the loop eats it.
while read -r -u 3 sha rel pkg inner; do
  case "$sha" in ''|'#'*) continue;; esac
  [ "$inner" = "-" ] || continue
  dest="$cache/$rel"
  sha_ok "$sha" "$dest" && continue
  [ -e "$dest" ] && say "$rel: hash mismatch or partial file, fetching again"
  rm -f "$dest"
  tmp="$(mktemp -d "$cache/npm/.pack.XXXXXX")"
  scratch+=("$tmp")
  say "fetching $pkg"
  (cd "$tmp" && npm pack --silent "$pkg" </dev/null >/dev/null 2>"$tmp/npm.log") || { cat "$tmp/npm.log" >&2; die "npm pack $pkg failed"; }
  got="$tmp/$(tarball_of "$pkg")"
  [ -f "$got" ] || die "npm pack $pkg did not produce $(tarball_of "$pkg")"
  sha_ok "$sha" "$got" || die "$pkg: SHA-256 of the downloaded tarball is not $sha; refusing to use it"
  mv "$got" "$dest"
done 3< "$lock"

# Second pass: files inside the tarballs, written to a temporary name and renamed only when verified.
while read -r -u 3 sha rel pkg inner; do
  case "$sha" in ''|'#'*) continue;; esac
  [ "$inner" != "-" ] || continue
  dest="$cache/$rel"
  sha_ok "$sha" "$dest" && continue
  [ -e "$dest" ] && say "$rel: hash mismatch, extracting again"
  tgz="$cache/npm/$(tarball_of "$pkg")"
  mkdir -p "$(dirname "$dest")"
  tmp="$dest.partial.$$"
  scratch+=("$tmp")
  tar -xzOf "$tgz" "$inner" > "$tmp" </dev/null || die "$inner not found in $tgz"
  sha_ok "$sha" "$tmp" || die "$rel: SHA-256 mismatch after extraction"
  mv -f "$tmp" "$dest"
  say "installed $rel"
done 3< "$lock"

say "ready: cache $cache"
