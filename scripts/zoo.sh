#!/usr/bin/env bash
# The model zoo's recipe: one foley-small model per Foley category, each fine-tuned from the bundled `foley` model
# on its own corpus, exported (streaming, nn~-compatible) into src/foleyvae/assets/<name>/ with a model card and an
# evaluation report. Runs on a CPU (a GPU is used when present: --device auto).
# Usage: scripts/zoo.sh [MINUTES] [NAME ...]   (training minutes per model, default 20; names default to all)
#        SKIP_TRAIN=1 scripts/zoo.sh MINUTES NAME   (only export, evaluate and write the card of runs/zoo-NAME)
#   footsteps  impacts  water  electromagnetic  scifi
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-20}
shift || true
NAMES=${*:-footsteps impacts water electromagnetic scifi}
FV=.venv/bin/foleyvae
PY=.venv/bin/python
R=data/raw
for c in minetest 0ad openarena; do
  [ -f $R/$c/manifest.jsonl ] || $FV data fetch $c -o $R/$c
done
for k in electromagnetic scifi water; do
  [ -f data/synth_$k/manifest.jsonl ] || $FV data synth $k -o data/synth_$k --minutes 4 --seed 0
done
LIMIT_CPU="Fine-tuned for minutes on a 2-core CPU: a sketch of the category, not studio quality."
for name in $NAMES; do
  case $name in
    footsteps)
      src=($R/minetest/footsteps $R/0ad/footsteps $R/openarena/footsteps)
      corpora=(--corpus $R/minetest:footsteps --corpus $R/0ad:footsteps --corpus $R/openarena:footsteps)
      title="Footsteps on many materials"
      desc="Footsteps on wood, metal, stone, gravel, grass, sand, snow, ice, dirt, glass, water; materials are labelled, so the studio's 'towards' control moves to a material's centroid."
      limit="Materials with few files (glass, ice, dirt) are barely learned." ;;
    impacts)
      src=($R/minetest/impacts $R/0ad/impacts)
      corpora=(--corpus $R/minetest:impacts --corpus $R/0ad:impacts)
      title="Impacts: hits, digs and placements on many materials"
      desc="Arrow and shield hits, digging and placing on wood, metal, stone, dirt, gravel, glass, ice, foliage."
      limit="Short one-shots only; no long crashes or debris tails." ;;
    water)
      src=($R/minetest/water $R/minetest/footsteps/water $R/openarena/footsteps/water data/synth_water)
      corpora=(--corpus $R/minetest:water,footsteps/water --corpus $R/openarena:footsteps/water --corpus data/synth_water)
      title="Water: drips, streams, rain, splashes, pouring"
      desc="Recorded game water (flow, sizzle, wading steps) plus a procedural bubble-physics corpus (foleyvae data synth water)."
      limit="Most of the corpus is procedural (Minnaert bubbles); real recordings are about 40 s." ;;
    electromagnetic)
      src=(data/synth_electromagnetic)
      corpora=(--corpus data/synth_electromagnetic)
      title="Electromagnetic: hum, arcing, Tesla zaps, transformer buzz, interference"
      desc="Procedural electromagnetic corpus (foleyvae data synth electromagnetic, seed 0, CC0)."
      limit="Trained on procedural sounds only; real recordings of arcs and hum will differ." ;;
    scifi)
      src=(data/synth_scifi)
      corpora=(--corpus data/synth_scifi)
      title="Sci-fi: servos, force fields, lasers, FM textures, glitches"
      desc="Procedural sci-fi corpus (foleyvae data synth scifi, seed 0, CC0)."
      limit="Trained on procedural sounds only." ;;
    *) echo "unknown zoo model $name (footsteps impacts water electromagnetic scifi)" >&2; exit 2 ;;
  esac
  if [ -z "${SKIP_TRAIN:-}" ]; then  # SKIP_TRAIN=1: export/evaluate an existing runs/zoo-NAME again
    $FV prepare "${src[@]}" -o data/datasets/$name --force
    $FV train --data data/datasets/$name --preset foley-small --out runs/zoo-$name --force --threads "$(nproc)" \
      --init-from foley --time-budget "$MIN" --set train.lr=0.0005 --set train.beta_warmup_steps=0 \
      --set train.phase1_steps=20000 --set train.max_steps=20000 --set train.val_every=250 \
      --set train.checkpoint_every=100 --set train.log_every=50 --no-progress
  fi
  [ -f runs/zoo-$name/latent.json ] || $FV analyze runs/zoo-$name --data data/datasets/$name
  $PY scripts/finish_model.py runs/zoo-$name data/datasets/$name src/foleyvae/assets/$name --name $name \
    --title "$title" --description "$desc" "${corpora[@]}" --budget "$MIN" --command "make zoo (scripts/zoo.sh)" \
    --limit "$LIMIT_CPU" --limit "$limit" --limit "Mono, 44.1 kHz; other rates are resampled."
done
