#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ for a bounded time each (see docs/fuzzing.md).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 30 seconds, every target
#
# Exits non-zero if any target fails to build or finds a crash; crashing inputs are left in
# fuzz/artifacts/TARGET/. New inputs libFuzzer finds go to fuzz/work/TARGET (not committed);
# the seeds in fuzz/corpus/TARGET are read, never written.
#
# Sanitizer: none by default. lessor-wire forbids unsafe code, so ASan finds little that a
# plain panic would not, and without it libFuzzer runs about 7x more inputs per second.
# FUZZ_SANITIZER=address turns it on; its -Zsanitizer flag is nightly-only, and RUSTC_BOOTSTRAP=1
# lets this stable toolchain accept it.
set -euo pipefail

secs=${1:-30}
if [[ ! $secs =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS] [TARGET...]  (SECONDS must be a positive integer, got '$secs')" >&2
    exit 2
fi
[[ $# -gt 0 ]] && shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-none}
cargo_fuzz_version=0.13

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz $cargo_fuzz_version (crates.io package 'cargo-fuzz')" >&2
    if ! cargo install --locked cargo-fuzz --version "^$cargo_fuzz_version"; then
        echo "fuzz.sh: ERROR: could not install the crates.io package 'cargo-fuzz'" >&2
        exit 1
    fi
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# The same flags for build and run, so that run does not rebuild.
flags=(-O -a --sanitizer "$sanitizer")
failed=()
for target in "${targets[@]}"; do
    echo "=== fuzz target $target: build" >&2
    if ! cargo fuzz build "${flags[@]}" "$target"; then
        echo "fuzz.sh: ERROR: target '$target' does not build" >&2
        failed+=("$target (build)")
        continue
    fi
    mkdir -p "fuzz/work/$target" "fuzz/corpus/$target"
    echo "=== fuzz target $target: run ${secs}s" >&2
    # The first corpus directory is where libFuzzer writes; the seeds stay untouched.
    if ! cargo fuzz run "${flags[@]}" "$target" "fuzz/work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
        echo "fuzz.sh: ERROR: target '$target' crashed; input in fuzz/artifacts/$target/" >&2
        failed+=("$target (crash)")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "fuzz.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: all targets ran ${secs}s without a crash: ${targets[*]}" >&2
