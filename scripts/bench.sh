#!/usr/bin/env bash
# Measures the budgets (a report, not a test): AWS calls per rollout step (and of an
# operator's pause and the checks it holds), each function's
# init time and peak RSS from its release build (and as a ratio against hello-lambda, a
# hello-world lambda_runtime function built with the same profile: the floor),
# alarm-rollback latency over 100 events.
# Zip sizes come from scripts/package.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/emulator-venv.sh >/dev/null
functions=()
for dir in functions/*/; do functions+=("$(basename "$dir")"); done
cargo build --release --quiet $(printf -- '-p %s ' "${functions[@]}") -p hello-lambda
cargo build --quiet -p rollout-tools --bin bench
exec target/debug/bench hello-lambda "${functions[@]}"
