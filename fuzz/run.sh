#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 60) on stable Rust (see README.md).
# Usage: fuzz/run.sh [target...]   (default: all targets)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
DATA=../crates/gep-core/data
# Stable Rust has no -Zsanitizer: build without a sanitizer (safe Rust needs none; panics,
# overflow checks and debug assertions still abort the run).
FUZZ_FLAGS=(--sanitizer none)

seeds() {
    case "$1" in
        coefficients_csv) echo "$DATA/coefficients" ;;
        crosswalk_csv) echo "$DATA/crosswalks" ;;
        deflator_csv) echo "seeds/deflator_csv" ;;
        catalog_toml) echo "seed-catalog" ;;
        coverage) ;;
    esac
}

mkdir -p seed-catalog && cp "$DATA/catalog.toml" seed-catalog/
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(coefficients_csv crosswalk_csv deflator_csv catalog_toml coverage)

cargo fuzz build "${FUZZ_FLAGS[@]}"
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "== $t: ${SECONDS_PER_TARGET} s"
    # shellcheck disable=SC2046
    if ! cargo fuzz run "${FUZZ_FLAGS[@]}" "$t" "corpus/$t" $(seeds "$t") -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 -print_final_stats=1; then
        echo "== $t: FAILED (crash input under fuzz/artifacts/$t/)"
        status=1
    fi
done
exit $status
