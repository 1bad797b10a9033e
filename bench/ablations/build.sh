#!/usr/bin/env bash
# Builds s3gate.wasm with one ablation patch applied, for `bench/run.py --compare`:
#
#   bench/ablations/build.sh NAME [COMMIT]   # prints the path of the built .wasm
#   bench/ablations/build.sh plain COMMIT    # COMMIT as it is (an older build to compare)
#
# Each patch (NAME.patch here) names the commit it was written against on its first line
# (`base: COMMIT`; git apply skips that line); COMMIT defaults to it. It is checked out into a
# temporary worktree, patched and built there (target dir target/ablations), so the working
# tree is left alone. What each one measures is in docs/benchmarks.md ("Where s3gate's time
# goes").
set -euo pipefail
NAME="$1"
HERE="$(cd "$(dirname "$0")" && pwd)"
if [ "$NAME" = plain ]; then
  COMMIT="${2:?plain needs a COMMIT}"
else
  COMMIT="${2:-$(sed -n '1s/^base: //p' "$HERE/$NAME.patch")}"
fi
REPO="$(cd "$HERE/../.." && pwd)"
TREE="$(mktemp -d)"
trap 'git -C "$REPO" worktree remove --force "$TREE" >/dev/null 2>&1 || true' EXIT
git -C "$REPO" worktree add --detach "$TREE" "$COMMIT" >/dev/null 2>&1
[ "$NAME" = plain ] || git -C "$TREE" apply "$HERE/$NAME.patch"
(cd "$TREE" && CARGO_TARGET_DIR="$REPO/target/ablations" \
  cargo build --quiet --release --target wasm32-wasip1 --lib)
OUT="$REPO/target/ablations/$NAME-$COMMIT.wasm"
cp "$REPO/target/ablations/wasm32-wasip1/release/s3gate.wasm" "$OUT"
echo "$OUT"
