#!/usr/bin/env bash
# Checks the infrastructure code (infra/): the SAM transform of every SAM template, the state
# machine's references, cfn-lint on the templates, on what the transform produced and on the
# state machine definition (warnings fail too: fix them, or ignore one in the template's
# Metadata with the reason), and checkov (skips only where a template documents them).
# Offline: no AWS credentials, nothing downloaded but the pinned tools on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

venv="$(scripts/venv.sh infra)"
out=target/infra-check
rm -rf "$out"
templates=(infra/template.yaml infra/examples/*.yaml)
definitions=(infra/statemachine/*.asl.json)

echo "--- SAM transform, state machine references"
asl_args=()
for d in "${definitions[@]}"; do asl_args+=(--asl "$d"); done
"$venv/bin/python" scripts/check-infra.py "$out" "${templates[@]}" "${asl_args[@]}"

echo "--- cfn-lint"
"$venv/bin/cfn-lint" "${templates[@]}" "$out"/*.json
echo "no errors, no warnings"

echo "--- checkov"
# --skip-download: no guideline lookups over the network (there is none in CI).
transformed=()
for f in "$out"/*.json; do [[ $f == *.asl.template.json ]] || transformed+=("$f"); done
files=()
for f in "${templates[@]}" "${transformed[@]}"; do files+=(-f "$f"); done
"$venv/bin/checkov" --framework cloudformation --skip-download --compact --quiet "${files[@]}"
