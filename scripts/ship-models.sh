#!/usr/bin/env bash
# Copies the chosen student runs of `turborank distill pack` into models/ as the shipped
# turborank-turbo-en and turborank-tiny-en (config.json, tokenizer.json, float16
# model.safetensors), leaving each folder's model card (README.md) as it is.
#
#   bash scripts/ship-models.sh TURBO_RUN TINY_RUN [PACK_DIR]
#   e.g. bash scripts/ship-models.sh turbo-margin-mse tiny-margin-mse
#
# Which run ships is the better loss by scripts/distill-results.sh (docs/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash scripts/ship-models.sh TURBO_RUN TINY_RUN [PACK_DIR]" >&2; exit 2; }
PACK=${3:-data/build/distill/pack}
ship() {
  local run=$1 name=$2 src="$PACK/$1" dest="models/$2"
  [ -f "$src/model.safetensors" ] || { echo "ship-models: no $src/model.safetensors: run \`turborank distill pack\` first" >&2; exit 1; }
  mkdir -p "$dest"
  cp "$src/model.safetensors" "$src/tokenizer.json" "$dest/"
  # the config as trained, named after what it ships as
  node -e '
    const fs = require("fs"); const [src, dest, name, run] = process.argv.slice(1);
    const c = JSON.parse(fs.readFileSync(src, "utf8"));
    c._name_or_path = name; c.turborank_run = run;
    fs.writeFileSync(dest, JSON.stringify(c, null, 2) + "\n");' "$src/config.json" "$dest/config.json" "$name" "$run"
  echo "ship-models: $src → $dest ($(du -h "$dest/model.safetensors" | cut -f1))" >&2
}
ship "$1" turborank-turbo-en
ship "$2" turborank-tiny-en
