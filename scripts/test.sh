#!/usr/bin/env bash
# Sets up what the tests need and runs every test: the README's test command, and what CI runs.
#   - as root: installs the Debian/Python packages of the end-to-end suite (idempotent);
#   - cargo tests of every crate (unit, integration, property, differential, test vectors);
#   - every fuzz target for a bounded time (FUZZ_SECONDS, default 20 s each);
#   - as root: the end-to-end suite in network namespaces (tests/e2e).
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-20}
root=false
[ "$(id -u)" = 0 ] && root=true

if $root && [ -x scripts/e2e-deps.sh ]; then
    echo "== installing end-to-end dependencies"
    scripts/e2e-deps.sh
fi

echo "== cargo test"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

if [ -x scripts/fuzz.sh ] && [ "$fuzz_seconds" != 0 ]; then
    echo "== fuzzing, ${fuzz_seconds}s per target"
    scripts/fuzz.sh "$fuzz_seconds"
fi

if [ -d tests/e2e ]; then
    if $root; then
        echo "== end-to-end suite"
        python3 -m pytest tests/e2e -q
    else
        echo "== end-to-end suite skipped: it needs root (network namespaces)"
    fi
fi
