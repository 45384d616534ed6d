#!/usr/bin/env bash
# A 48 kHz `foley` for film devices (issues 21, 23): the bundled 44.1 kHz `foley` fine-tuned at 48 kHz on the nine
# Debian corpora (data/datasets/foley48: 799 files, 978 s, the bundled model's 38 fixed held-out clips kept out),
# with its 13 material channels and the swap terms of its material stage, so steering survives. Same architecture
# and speed as `foley`; played on a 48 kHz device it needs no resampling, so the monitor path loses the resampler's
# delay and its block buffering. Exported with a card into ASSET (default runs/foley-48k/export).
# Usage: scripts/foley48_model.sh [MINUTES] [ASSET]   (training time budget; default 35; CPU)
# Compare on the fixed clips:
#   .venv/bin/python benchmarks/heldout_quality.py --model foley --model runs/foley-48k/export/model.ts
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-35}
ASSET=${2:-runs/foley-48k/export}
FV=${FV:-.venv/bin/foleyvae}
PY=${PY:-.venv/bin/python}
source scripts/corpora48.sh  # DIRS, CREDITS
[ -f data/datasets/foley48/dataset.json ] || $FV prepare "${DIRS[@]}" -o data/datasets/foley48 --sample-rate 48000 \
  --fixed-valid benchmarks/heldout/foley_v1.txt --force
$FV train --data data/datasets/foley48 --preset foley-small-48k --init-from foley --out runs/foley-48k --force \
  --threads "${THREADS:-$(nproc)}" --time-budget "$MIN" \
  --set train.material_critic=0.5 --set train.material_judge=1.0 --set train.material_envelope=0.1 \
  --set train.checkpoint_every=100 --set train.log_every=50 --no-progress
$PY scripts/finish_model.py runs/foley-48k data/datasets/foley48 "$ASSET" --name foley-48k \
  --title "Foley-VAE 48 kHz model: footsteps, impacts, water, doors, handling, machines" \
  --description "The bundled foley (foley-small) fine-tuned at 48 kHz on free game Foley from nine Debian packages." \
  "${CREDITS[@]}" --budget "$MIN" --command "scripts/foley48_model.sh $MIN" \
  --limit "Fine-tuned on a CPU from the 44.1 kHz foley: a sketch of the sound, not studio quality yet." \
  --limit "About 16 minutes of training audio; rare labels (glass, ice) are barely learned." \
  --limit "Mono, 48 kHz; other rates (44.1 kHz devices and files) are resampled."
