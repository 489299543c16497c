#!/usr/bin/env bash
# Creates (idempotently) the virtual environment that holds the local AWS emulator
# used by the tests and the demo, and prints its path.
#
#   scripts/emulator-venv.sh          # create or reuse <repo>/.venv-emulator
#
# The versions are pinned together: without cbor2, ministack silently drops the
# CloudWatch requests the Rust SDK sends (they are CBOR-encoded).
set -euo pipefail

PINS=(ministack==1.5.33 cbor2==6.3.0)

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-emulator"
stamp="$venv/.pins"
wanted="$(printf '%s\n' "${PINS[@]}")"

if [[ -x "$venv/bin/ministack" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
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
