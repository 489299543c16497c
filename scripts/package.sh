#!/usr/bin/env bash
# Builds one deployment zip per Lambda function (every workspace crate under functions/) with
# `cargo lambda build --release`, and prints each zip's size against the 4 MB budget.
#
#   scripts/package.sh      # -> target/lambda/<function>/bootstrap.zip
#
# arm64 (what infra/template.yaml deploys) when the aarch64-unknown-linux-gnu target is
# installed; otherwise x86_64, said loudly: deploy those zips with Architectures: [x86_64].
# cargo-lambda and zig come pinned from PyPI into .venv-lambda/ (scripts/venv.sh lambda).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUDGET_BYTES=4000000

venv="$(scripts/venv.sh lambda)"
# cargo finds `cargo-lambda` on PATH; cargo-lambda finds zig as `python3 -m ziglang`.
export PATH="$venv/bin:$PATH"

if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    arch_flag=--arm64 arch=arm64
else
    arch_flag=--x86-64 arch=x86_64
    echo "note: the aarch64-unknown-linux-gnu target is not installed (rustup target add" \
        "aarch64-unknown-linux-gnu); building x86_64 zips instead" >&2
fi

mapfile -t functions < <(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, os, sys
root = os.getcwd()
for p in json.load(sys.stdin)["packages"]:
    if os.path.relpath(p["manifest_path"], root).startswith("functions" + os.sep):
        print(p["name"])
' | sort)
[[ ${#functions[@]} -gt 0 ]] || { echo "no function crates under functions/" >&2; exit 1; }

packages=()
for f in "${functions[@]}"; do packages+=(--package "$f"); done
cargo lambda build --release "$arch_flag" --output-format zip "${packages[@]}"

over=0
printf '\n%-22s %-7s %12s  %s\n' function arch "zip bytes" "MB (budget 4)"
for f in "${functions[@]}"; do
    zip="target/lambda/$f/bootstrap.zip"
    size=$(stat -c %s "$zip")
    verdict=""
    if (( size > BUDGET_BYTES )); then verdict="  OVER BUDGET"; over=1; fi
    printf '%-22s %-7s %12d  %.2f%s\n' "$f" "$arch" "$size" "$(awk -v s="$size" 'BEGIN { print s / 1000000 }')" "$verdict"
done
exit "$over"
