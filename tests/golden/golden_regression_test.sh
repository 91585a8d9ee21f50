#!/bin/bash
# Regenerates the checked-in golden set (tests/golden/README.md) with the
# command recorded in its manifest and compares every file byte for byte.
# A difference means the emulator's numerics (or the vector format)
# changed: if that was deliberate, regenerate the set with the command in
# the README and commit it with the change.
set -euo pipefail
GOLDEN="$1"
SET=tests/golden/tiny_vgg8
OUT="${TEST_TMPDIR:-$(mktemp -d)}/regenerated"
"$GOLDEN" --model="$SET/model.pb" --pixels="$SET/pixels.bin" --sigma=0.1 --seed=7 --images=2 \
  --out="$OUT"
# Same file list, same bytes.
(cd "$SET/vectors" && find -L . -type f | sort) > "$OUT.expected_files"
(cd "$OUT" && find -L . -type f | sort) > "$OUT.actual_files"
if ! diff "$OUT.expected_files" "$OUT.actual_files"; then
  echo "FAIL: the regenerated set has different files (< checked in, > regenerated)"
  exit 1
fi
n=0
while read -r f; do
  if ! cmp "$SET/vectors/$f" "$OUT/$f"; then
    echo "FAIL: $f differs from the checked-in golden set; first differing lines:"
    diff "$SET/vectors/$f" "$OUT/$f" | head -10 || true
    exit 1
  fi
  n=$((n + 1))
done < "$OUT.expected_files"
echo "PASS: $n files byte-identical to tests/golden/tiny_vgg8/vectors"
