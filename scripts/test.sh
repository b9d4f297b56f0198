#!/usr/bin/env bash
# Sets up what the tests need and runs every test: the README's test command, and what CI runs.
#   - cargo-machete (installed when missing): no crate declares a dependency it does not use;
#   - as root: installs the Debian/Python packages of the end-to-end suite (idempotent);
#   - cargo tests of every crate (unit, integration, property, differential, test vectors);
#   - as root: the tests marked #[ignore = "needs root"] (network namespaces, SO_BINDTODEVICE,
#     SIOCSARP), which then must pass rather than be skipped;
#   - every fuzz target for a bounded time (FUZZ_SECONDS, default 20 s each);
#   - as root: the end-to-end suite in network namespaces (tests/e2e). LESSOR_E2E_REQUIRE=1
#     (CI sets it) turns a missing tool into an error instead of a skipped suite.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzz_seconds=${FUZZ_SECONDS:-20}
root=false
[ "$(id -u)" = 0 ] && root=true
if ! $root && [ "${LESSOR_E2E_REQUIRE:-}" = 1 ]; then
    echo "LESSOR_E2E_REQUIRE=1: the end-to-end suite and the tests that need root must run: run as root" >&2
    exit 1
fi

if ! cargo machete --version >/dev/null 2>&1; then
    echo "== installing cargo-machete (unused dependency check)"
    cargo install cargo-machete --locked ||
        { echo "cannot install cargo-machete from crates.io" >&2; exit 1; }
fi
echo "== cargo machete"
cargo machete

if $root && [ -x scripts/e2e-deps.sh ]; then
    echo "== installing end-to-end dependencies"
    scripts/e2e-deps.sh
fi

echo "== cargo test"
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked

if $root; then
    echo "== cargo test: the tests that need root"
    cargo test --workspace --all-targets --locked -- --ignored
else
    echo "== tests marked 'needs root' skipped: run as root to include them"
fi

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
