#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, compile an experiment (IR dump, graph picture,
# kernels, forward program), make weights and predict on an image, writing its picture.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
npm ci --no-audit --no-fund

experiment=experiments/tiny/w8_64x64.yaml
out=demo
npx hrnetc "$experiment" -o "$out/generated"
npx hrnet init-weights "$out/generated/w8_64x64" -o "$out/w8_64x64-init.safetensors" --seed 0
node scripts/demo-image.mjs "$out/person.png"
npx hrnet predict "$out/generated/w8_64x64" "$out/person.png" --weights "$out/w8_64x64-init.safetensors" -o "$out/predictions"
echo
echo "IR dump:        $out/generated/w8_64x64/model.ir"
echo "graph picture:  $out/generated/w8_64x64/graph.svg"
echo "prediction:     $out/predictions/person.png and person.json"
