#!/usr/bin/env bash
# The bundled model's recipe: fetch the free Foley corpora (Debian game data: every source of `foleyvae data fetch`,
# whose labellers keep Foley only), prepare at 48 kHz with the first model's held-out clips kept held out
# (benchmarks/heldout/foley_v1.txt), train foley-lowlat-48k (hop 128: one 128-sample block is one latent frame),
# export (streaming, nn~-compatible) into src/foleyvae/assets/foley, evaluate, write the model card.
# Usage: scripts/bundled_model.sh [MINUTES]   (training time budget; default 60; runs on CPU, or GPU if present)
# The schedule is fitted to the budget (train --time-budget). Compare with the previous model on the fixed clips:
#   .venv/bin/python benchmarks/heldout_quality.py --model foley
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-60}
FV=.venv/bin/foleyvae
PY=.venv/bin/python
CORPORA="minetest 0ad openarena teeworlds megaglest widelands freedroidrpg nexuiz warzone2100"
DIRS=()
CREDITS=()
for c in $CORPORA; do
  [ -f data/raw/$c/manifest.jsonl ] || $FV data fetch $c -o data/raw/$c
  DIRS+=("data/raw/$c")
  CREDITS+=(--corpus "data/raw/$c")
done
$FV prepare "${DIRS[@]}" -o data/datasets/foley48 --sample-rate 48000 \
  --fixed-valid benchmarks/heldout/foley_v1.txt --force
THREADS=$(nproc)
$FV train --data data/datasets/foley48 --preset foley-lowlat-48k --out runs/foley-bundled --force --threads "$THREADS" \
  --time-budget "$MIN" --set train.checkpoint_every=100 --set train.log_every=50 --no-progress
$PY scripts/finish_model.py runs/foley-bundled data/datasets/foley48 src/foleyvae/assets/foley --name foley \
  --title "Foley-VAE bundled model: footsteps, impacts, water, doors, handling and machines" \
  --description "foley-lowlat-48k waveform VAE (48 kHz, hop 128) trained on free game Foley from nine Debian packages." \
  "${CREDITS[@]}" --budget "$MIN" --command "make bundled-model" \
  --limit "Trained on a CPU for about an hour: a sketch of the sound, not studio quality yet." \
  --limit "About 16 minutes of training audio; rare labels (glass, ice) are barely learned." \
  --limit "Mono, 48 kHz; other rates (44.1 kHz devices and files) are resampled."
