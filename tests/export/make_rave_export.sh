#!/usr/bin/env bash
# Build the RAVE venv (once) and a random-weight RAVE v2_small export, for tests/export/test_rave_interop.py.
# Usage: tests/export/make_rave_export.sh [OUT_DIR]   (default .cache/rave-export; venv in .cache/rave-venv)
# acids-rave pulls a torchaudio that cannot load beside torch 2.13: it is uninstalled and replaced by the
# stand-in in tests/export/rave_stub (RAVE imports torchaudio at import time but v2_small's export never uses it).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VENV="${RAVE_VENV:-$ROOT/.cache/rave-venv}"
OUT="${1:-$ROOT/.cache/rave-export}"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import rave" >/dev/null 2>&1 && \
   ! PYTHONPATH="$ROOT/tests/export/rave_stub" "$VENV/bin/python" -c "import rave" >/dev/null 2>&1; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "torch==2.13.0" acids-rave "setuptools<81"
fi
"$VENV/bin/pip" uninstall -y -q torchaudio >/dev/null 2>&1 || true
mkdir -p "$OUT"
cd "$OUT"
export PYTHONPATH="$ROOT/tests/export/rave_stub:$VENV/lib/python3.11/site-packages/rave/configs"
"$VENV/bin/python" "$ROOT/tests/export/make_rave_export.py" "$OUT/rave_v2_small_streaming.ts"
"$VENV/bin/python" "$ROOT/tests/export/make_rave_export.py" "$OUT/rave_v2_small.ts" --no-streaming
