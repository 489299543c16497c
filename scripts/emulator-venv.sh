#!/usr/bin/env bash
# The emulator's virtual environment (ministack + cbor2, pinned), as the tests, the demo and
# the benchmark use it; prints its path. See scripts/venv.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/venv.sh" emulator
