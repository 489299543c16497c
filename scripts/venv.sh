#!/usr/bin/env bash
# Creates (idempotently) one of the project's virtual environments of pinned tools and
# prints its path.
#
#   scripts/venv.sh emulator   # <repo>/.venv-emulator: ministack and cbor2, for tests and the demo
#   scripts/venv.sh infra      # <repo>/.venv-infra: cfn-lint, the SAM translator, checkov
#   scripts/venv.sh lambda     # <repo>/.venv-lambda: cargo-lambda and zig, for packaging
#
# Exact pins, so that a check that passes today passes in CI tomorrow; the stamp file
# records them, and a changed pin reinstalls. ministack and cbor2 go together: without
# cbor2, ministack silently drops the CloudWatch requests the Rust SDK sends (CBOR).
set -euo pipefail

case "${1:-infra}" in
    emulator) name=.venv-emulator PINS=(ministack==1.5.33 cbor2==6.3.0) ;;
    infra) name=.venv-infra PINS=(cfn-lint==1.58.0 aws-sam-translator==1.115.0 checkov==3.3.30) ;;
    lambda) name=.venv-lambda PINS=(cargo-lambda==1.9.2 ziglang==0.17.1) ;;
    *) echo "usage: $0 [emulator|infra|lambda]" >&2; exit 2 ;;
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
