#!/usr/bin/env bash
# Runs cargo on the madsim build: the async host (host/) compiled with `--cfg madsim`, so its
# nodes run in madsim's deterministic simulator. It has its own target directory, so it never
# invalidates the normal build, and the normal `cargo test --workspace` stays fast.
#
#   scripts/madsim.sh test                   # the madsim tests, as CI runs them: tests/madsim.rs
#                                            # and the example crate's (a user's own binary)
#   scripts/madsim.sh run -- madsim FILE --seed 3
#   scripts/madsim.sh bench                  # native engine vs madsim, events per second
#   scripts/madsim.sh <cargo args...>        # anything else, e.g. `build --release`
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} --cfg madsim"
export CARGO_TARGET_DIR="${MADSIM_TARGET_DIR:-target/madsim}"
# A clean build (as in CI) gains nothing from incremental compilation.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
case "${1:-test}" in
    # Lighter optimisation and no debug info for the test build: it is built from clean in CI,
    # where its compile time, not its 30 s of runs, is what counts.
    test) shift || true; exec cargo test --config 'profile.dev.package."*".opt-level=1' \
        --config 'profile.dev.debug=false' -p syncsim -p chain-replication --test madsim "$@" ;;
    run) shift; exec cargo run --release --bin syncsim "$@" ;;
    bench) shift; exec cargo bench --bench host "$@" ;;
    *) exec cargo "$@" ;;
esac
