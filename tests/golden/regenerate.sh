#!/bin/bash
# Regenerates every checked-in golden set with the command recorded in its
# manifest (command_line), so the manifest is the one place a set's command
# lives.
#   bash tests/golden/regenerate.sh                 # in place, after a deliberate change
#   tests/golden/regenerate.sh GOLDEN OUT_ROOT      # into OUT_ROOT/NAME (the regression test)
# Run from the repository root (the recorded paths are relative to it).
set -euo pipefail
GOLDEN="${1:-}"
OUT_ROOT="${2:-}"
if [ -z "$GOLDEN" ]; then
  bazel build //emulator:golden
  GOLDEN="$(bazel info bazel-bin)/firmware_model/golden"  # //emulator:golden is an alias of it
fi
for manifest in tests/golden/*/vectors/manifest.textproto; do
  set_dir=$(dirname "$manifest")
  name=$(basename "$(dirname "$set_dir")")
  cmdline=$(sed -n 's/^command_line: "\(.*\)"$/\1/p' "$manifest")
  case "$cmdline" in
    "bazel run //emulator:golden -- "*" --out=DIR") ;;
    *) echo "$manifest: unexpected command_line '$cmdline'" >&2; exit 1 ;;
  esac
  args=${cmdline#"bazel run //emulator:golden -- "}
  args=${args%" --out=DIR"}
  if [ -z "$OUT_ROOT" ]; then
    out="$set_dir"
    rm -rf "$out"   # no stale files: --verify would report them
  else
    out="$OUT_ROOT/$name"
    rm -rf "$out"
  fi
  # shellcheck disable=SC2086  # the recorded flags hold no spaces
  "$GOLDEN" $args --out="$out"
  echo "$name: $args"
done
