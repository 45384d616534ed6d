# Sourced by the 48 kHz recipes (lowlat_model.sh, foley48_model.sh): fetches the nine free Foley corpora (Debian game
# data, `foleyvae data fetch`) when missing and sets DIRS (their folders) and CREDITS (--corpus options for
# finish_model.py). Needs FV (the foleyvae command); run from the repository root.
CORPORA="minetest 0ad openarena teeworlds megaglest widelands freedroidrpg nexuiz warzone2100"
DIRS=()
CREDITS=()
for c in $CORPORA; do
  [ -f data/raw/$c/manifest.jsonl ] || $FV data fetch $c -o data/raw/$c
  DIRS+=("data/raw/$c")
  CREDITS+=(--corpus "data/raw/$c")
done
