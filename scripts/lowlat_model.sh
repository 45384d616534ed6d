#!/usr/bin/env bash
# The 48 kHz low-latency model's recipe (issue 23): fetch the free Foley corpora (Debian game data: every source of
# `foleyvae data fetch`, whose labellers keep Foley only), prepare at 48 kHz with the bundled model's held-out clips
# kept held out (benchmarks/heldout/foley_v1.txt), train foley-lowlat-48k (hop 128: one 128-sample block is one
# latent frame), export (streaming, nn~-compatible) into ASSET (default runs/foley-lowlat-48k/export), evaluate,
# write the model card. Not bundled yet: after 60 CPU minutes it does not reach the bundled `foley` on the fixed clips.
# Usage: scripts/lowlat_model.sh [MINUTES] [ASSET]   (training time budget; default 60; CPU, or GPU if present)
# Compare with the bundled model on the fixed clips:
#   .venv/bin/python benchmarks/heldout_quality.py --model foley --model runs/foley-lowlat-48k
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-60}
ASSET=${2:-runs/foley-lowlat-48k/export}
FV=.venv/bin/foleyvae
PY=.venv/bin/python
source scripts/corpora48.sh  # DIRS, CREDITS
$FV prepare "${DIRS[@]}" -o data/datasets/foley48 --sample-rate 48000 \
  --fixed-valid benchmarks/heldout/foley_v1.txt --force
THREADS=$(nproc)
$FV train --data data/datasets/foley48 --preset foley-lowlat-48k --out runs/foley-lowlat-48k --force --threads "$THREADS" \
  --time-budget "$MIN" --set train.checkpoint_every=100 --set train.log_every=50 --no-progress
$PY scripts/finish_model.py runs/foley-lowlat-48k data/datasets/foley48 "$ASSET" --name foley-lowlat-48k \
  --title "Foley-VAE low-latency model (48 kHz, hop 128): footsteps, impacts, water, doors, handling, machines" \
  --description "foley-lowlat-48k waveform VAE (48 kHz, hop 128) trained on free game Foley from nine Debian packages." \
  "${CREDITS[@]}" --budget "$MIN" --command "scripts/lowlat_model.sh $MIN" \
  --limit "Trained on a CPU for about an hour: a sketch of the sound, not studio quality yet." \
  --limit "About 16 minutes of training audio; rare labels (glass, ice) are barely learned." \
  --limit "Mono, 48 kHz; other rates (44.1 kHz devices and files) are resampled."
