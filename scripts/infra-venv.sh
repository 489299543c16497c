#!/usr/bin/env bash
# Creates (idempotently) a virtual environment with pinned tools and prints its path.
#
#   scripts/infra-venv.sh          # <repo>/.venv-infra: cfn-lint, the SAM translator, checkov
#   scripts/infra-venv.sh lambda   # <repo>/.venv-lambda: cargo-lambda and zig, for packaging
#
# Exact pins, so that a check that passes today passes in CI tomorrow; the stamp file
# records them, and a changed pin reinstalls.
set -euo pipefail

case "${1:-infra}" in
    infra) name=.venv-infra PINS=(cfn-lint==1.58.0 aws-sam-translator==1.115.0 checkov==3.3.30) ;;
    lambda) name=.venv-lambda PINS=(cargo-lambda==1.9.2 ziglang==0.17.1) ;;
    *) echo "usage: $0 [infra|lambda]" >&2; exit 2 ;;
esac

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/$name"
stamp="$venv/.pins"
wanted="$(printf '%s\n' "${PINS[@]}")"

if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    echo "$venv"
    exit 0
fi

python="${PYTHON:-python3}"
if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv" >&2
fi

rm -f "$stamp"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${PINS[@]}" >&2
printf '%s\n' "$wanted" > "$stamp"
echo "$venv"
