#!/usr/bin/env bash
# Looks at `rollout report` in a real browser: runs the integration test that rolls a real
# rollout back with the real CLI and writes its report, keeps the HTML, and takes a PNG of it
# with headless Chromium (Debian: `apt-get install -y chromium`). Not part of scripts/test.sh:
# CI has no Chromium. Output: target/report-screenshot/{latest.html,report.png}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z $browser ]]; then
    echo "no Chromium found: apt-get install -y chromium" >&2
    exit 1
fi
out="$PWD/target/report-screenshot"
rm -rf "$out" && mkdir -p "$out"
cargo build --quiet --workspace --bins
REPORT_SCREENSHOT_DIR="$out" cargo test --quiet -p rollout-testkit --test rollouts \
    the_report_of_a_rolled_back_rollout >/dev/null
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1100,1900 --screenshot="$out/report.png" "file://$out/latest.html" 2>/dev/null
echo "$out/report.png"
