#!/bin/bash
# For every checked-in golden set (tests/golden/README.md):
# 1. regenerates it with the command recorded in its manifest and compares
#    every file byte for byte (tests/golden/regenerate.sh; a difference means
#    the emulator's numerics or the vector format changed: if that was
#    deliberate, regenerate the sets in place with that script and commit
#    them with the change);
# 2. runs `golden --verify` on the checked-in set (with its model) and on
#    the fresh export;
# 3. shows that --verify fails, naming the file, on a copy with one changed
#    byte, a missing file, an extra file, and against a different model.
set -euo pipefail
GOLDEN="$1"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
bash tests/golden/regenerate.sh "$GOLDEN" "$TMP" > "$TMP/regenerate.log" \
  || { cat "$TMP/regenerate.log"; echo "FAIL: regenerating the sets"; exit 1; }
sets=0
for manifest in tests/golden/*/vectors/manifest.textproto; do
  SET=$(dirname "$manifest")
  name=$(basename "$(dirname "$SET")")
  OUT="$TMP/$name"
  args=$(sed -n "s/^$name: //p" "$TMP/regenerate.log")
  (cd "$SET" && find -L . -type f | sort) > "$OUT.expected_files"
  (cd "$OUT" && find -L . -type f | sort) > "$OUT.actual_files"
  if ! diff "$OUT.expected_files" "$OUT.actual_files"; then
    echo "FAIL: $name: the regenerated set has different files (< checked in, > regenerated)"
    exit 1
  fi
  n=0
  while read -r f; do
    if ! cmp "$SET/$f" "$OUT/$f"; then
      echo "FAIL: $name: $f differs from the checked-in set; first differing lines:"
      diff "$SET/$f" "$OUT/$f" | head -10 || true
      exit 1
    fi
    n=$((n + 1))
  done < "$OUT.expected_files"
  echo "PASS: $name: $n files byte-identical to $SET (regenerated with: $args)"

  model=$(sed -n 's/^model: "\(.*\)"$/\1/p' "$manifest")
  for dir in "$SET" "$OUT"; do
    "$GOLDEN" --verify="$dir" --model="$model" > "$OUT.verify.log" 2>&1 \
      || { cat "$OUT.verify.log"; echo "FAIL: $name: --verify=$dir"; exit 1; }
    grep -q "model matches" "$OUT.verify.log" || { cat "$OUT.verify.log"; echo "FAIL: model not checked"; exit 1; }
    grep -q "programming checksum recomputed" "$OUT.verify.log" \
      || { cat "$OUT.verify.log"; echo "FAIL: programming checksum not recomputed"; exit 1; }
  done
  echo "PASS: $name: --verify $(tail -2 "$OUT.verify.log" | head -1)"
  sets=$((sets + 1))
done
[ "$sets" -ge 4 ] || { echo "FAIL: expected at least 4 checked-in sets, found $sets"; exit 1; }

# --verify must fail (exit 1) and name what differs.
expect_failure() {  # label, expected text, verify arguments...
  local label="$1" text="$2"
  shift 2
  if "$GOLDEN" "$@" > "$TMP/neg.log" 2>&1; then
    cat "$TMP/neg.log"; echo "FAIL: --verify passed on $label"; exit 1
  fi
  grep -qF -- "$text" "$TMP/neg.log" || { cat "$TMP/neg.log"; echo "FAIL: $label: no '$text'"; exit 1; }
  echo "PASS: --verify fails on $label: $(grep -F -- "$text" "$TMP/neg.log" | head -1)"
}
BASE=tests/golden/tiny_vgg8
copy() { rm -rf "$TMP/copy" && cp -rL "$BASE/vectors" "$TMP/copy" && chmod -R u+w "$TMP/copy"; }
copy
# One changed byte: a digit of one value in the middle of a conv layer's
# accumulations (still a valid hex file of the same size).
f="$TMP/copy/layer03_conv3/acc.hex"
c=$(head -c 1 <(tail -c +10 "$f"))
printf '%s' "$([ "$c" = 0 ] && echo 1 || echo 0)" | dd of="$f" bs=1 seek=9 conv=notrunc status=none
expect_failure "one changed byte" "layer03_conv3/acc.hex: SHA-256" --verify="$TMP/copy" --model=$BASE/model.pb
copy
rm "$TMP/copy/layer10_fc1/gneg.hex"
expect_failure "a missing file" "layer10_fc1/gneg.hex: cannot be read" --verify="$TMP/copy" --model=$BASE/model.pb
copy
echo 00 > "$TMP/copy/layer02_pool1/stale.hex"
expect_failure "an extra file" "layer02_pool1/stale.hex: not in the manifest's inventory" \
  --verify="$TMP/copy" --model=$BASE/model.pb
expect_failure "a different model" "not the model this set was generated from" \
  --verify=$BASE/vectors --model=tests/golden/tiny_resnet18/model.pb
echo "ALL PASS"
