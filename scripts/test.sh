#!/usr/bin/env bash
# Every check the project has: formatting, lints, unit and property tests, and the
# integration tests against a private ministack per test (installed here if missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/emulator-venv.sh >/dev/null
cargo fmt --all --check
scripts/check-infra.sh  # infra/: SAM transform, cfn-lint, checkov (pinned tools, offline)
cargo clippy --workspace --all-targets -- -D warnings
# The layers hold: the pure core depends on neither tokio nor the AWS SDK, and the use cases
# on neither the AWS SDK nor the Lambda runtime (the functions hold their handlers).
if cargo tree -p rollout-core -e normal --prefix none | grep -E '^(tokio|aws-)'; then
    echo "rollout-core must stay pure (no tokio, no AWS SDK)" >&2
    exit 1
fi
if cargo tree -p rollout-usecases -e normal --prefix none |
    grep -E '^(aws-|aws_lambda_events|lambda_runtime)'; then
    echo "rollout-usecases must stay off the AWS SDK and the Lambda runtime" >&2
    exit 1
fi
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# Integration tests run the built binaries (the CLI, and the functions inside ministack).
cargo build --workspace --bins
cargo test --workspace --exclude rollout-testkit
# The integration tests mostly wait (on the emulator, on backoffs, on holds): three at a time
# on two cores takes a third off their time, with every emulator still private to its test.
cargo test -p rollout-testkit -- --test-threads=3
