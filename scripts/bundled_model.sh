#!/usr/bin/env bash
# The bundled model's recipe: fetch the free Foley corpora (Debian game data), prepare, train foley-small,
# export (streaming, nn~-compatible) into src/foleyvae/assets/foley, evaluate, write the model card.
# Usage: scripts/bundled_model.sh [MINUTES]   (training time budget; default 60; runs on CPU, or GPU if present)
#        MAT_MIN=35 (minutes of the material stage, scripts/material_stage.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-60}
FV=.venv/bin/foleyvae
PY=.venv/bin/python
for c in minetest 0ad openarena; do
  [ -f data/raw/$c/manifest.jsonl ] || $FV data fetch $c -o data/raw/$c
done
rm -rf data/bundled_src && mkdir -p data/bundled_src
for c in minetest 0ad openarena; do
  mkdir -p data/bundled_src/$c
  for cat in footsteps impacts water; do
    [ -d data/raw/$c/$cat ] && cp -r data/raw/$c/$cat data/bundled_src/$c/
  done
done
$FV prepare data/bundled_src/minetest data/bundled_src/0ad data/bundled_src/openarena -o data/datasets/foley --force
THREADS=$(nproc)
$FV train --data data/datasets/foley --preset foley-small --out runs/foley-bundled --force --threads "$THREADS" \
  --time-budget "$MIN" --fixed-schedule --set train.phase1_steps=4000 --set train.max_steps=5000 --set train.beta_warmup_steps=2000 \
  --set train.val_every=500 --set train.checkpoint_every=100 --set train.log_every=50 --no-progress
# the material stage (issue #20): 35 more minutes with material conditioning, from the run above
scripts/material_stage.sh runs/foley-bundled data/datasets/foley runs/foley-materials "${MAT_MIN:-35}"
$PY scripts/finish_model.py runs/foley-materials data/datasets/foley src/foleyvae/assets/foley --name foley \
  --title "Foley-VAE bundled model: footsteps, impacts and water" \
  --description "foley-small waveform VAE trained on free game Foley (minetest, 0 A.D., OpenArena)." \
  --corpus data/raw/minetest:footsteps,impacts,water --corpus data/raw/0ad:footsteps,impacts,water \
  --corpus data/raw/openarena:footsteps,impacts,water --budget "$MIN" --command "make bundled-model" \
  --limit "Trained on a CPU for about an hour: a sketch of the sound, not studio quality yet." \
  --limit "About 2.5 minutes of training audio; rare labels (glass, ice) are barely learned." \
  --limit "Mono, 44.1 kHz; other rates are resampled."
