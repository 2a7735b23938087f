#!/usr/bin/env bash
# The two entry points of the README. Both run the idempotent set-up first.
#   ./kiosk.sh demo   the kiosk's main job on its embedded default (demo clip, default models, SQLite, simulated door)
#   ./kiosk.sh test   the whole test suite
# Anything else is passed to the kiosk CLI:  ./kiosk.sh compare a.jpg b.jpg
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
[ -x "$HOME/.dotnet/dotnet" ] && export PATH="$HOME/.dotnet:$PATH"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

bash scripts/setup.sh

shared="${KIOSK_SHARED_DIR:-$root/../shared}"
cli() { dotnet "$root/Kiosk.Host/bin/Release/net10.0/kiosk.dll" "$@"; }
build() {
  # Quiet on success; the whole log on failure.
  local log; log="$(mktemp)"
  if ! dotnet build "$root/Kiosk.sln" -c Release -nologo -v:q > "$log" 2>&1; then cat "$log" >&2; rm -f "$log"; exit 1; fi
  rm -f "$log"
}

case "${1:-demo}" in
  demo)
    build
    photos="$shared/datasets/pairs-dev"
    [ -d "$photos" ] || { echo "demo photos not found at $photos (set KIOSK_SHARED_DIR)" >&2; exit 1; }
    # The kiosk's main job on its embedded default: a clip made from the photos, three people enrolled, a stranger,
    # the default models, a SQLite gallery and event log in a temporary folder, a simulated door.
    cli demo --photos "$photos"
    ;;
  test)
    shift || true
    results="$root/TestResults"
    rm -rf "$results"
    build
    set +e
    dotnet test "$root/Kiosk.sln" -c Release --no-build --logger "trx;LogFileName=kiosk.trx" \
      --logger "console;verbosity=normal" --results-directory "$results" "$@"
    status=$?
    set -e
    trx="$(find "$results" -name '*.trx' | head -n 1)"
    if [ -n "$trx" ]; then
      counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1 || true)"
      get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" || true; }
      total="$(get total)"; passed="$(get passed)"; failed="$(get failed)"; executed="$(get executed)"
      skipped=$(( ${total:-0} - ${executed:-0} ))
      echo "${passed:-0} passed, ${failed:-0} failed, ${skipped} skipped"
    fi
    exit "$status"
    ;;
  *)
    build
    cli "$@"
    ;;
esac
