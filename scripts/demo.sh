#!/usr/bin/env bash
# The main job, locally: builds the workspace, sets up the emulator's virtual environment,
# then runs the demo (a canary rollout that promotes, one that an alarm rolls back, one the
# canary judgement rolls back, one an operator pauses, resumes and promotes, the SNS alerts
# each produced, and the report and dashboard kept in target/demo/). Needs Rust and
# Python 3; no AWS account, no Docker.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/emulator-venv.sh >/dev/null
cargo build --quiet -p rollout-cli -p rollout-tools --bin rollout --bin demo
exec target/debug/demo
