#!/usr/bin/env bash
# The main job on a fresh Debian machine: install; compile an experiment (IR dump, graph picture,
# kernels, forward and training programs); train it briefly on generated synthetic data with a
# progress bar; predict on a held-out synthetic image, writing its picture. A few minutes on lavapipe.
# Everything goes to demo/ (set DEMO_OUT to change), which each run rewrites.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-system.sh
# onnxruntime-node (a test and benchmark peer) would fetch CUDA binaries from nuget.org at install
# time; its CPU and WebGPU back ends ship in the npm package, which is all this project uses.
ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund

experiment=experiments/tiny/w8_64x64.yaml
name=w8_64x64
out=${DEMO_OUT:-demo}
compiled="$out/generated/$name"
mkdir -p "$out"

npx hrnetc "$experiment" -o "$out/generated"

# 768 generated training images (and 192 for validation), 3 epochs: about 2 minutes of training.
npx hrnet train "$compiled" --synthetic 768 --seed 0 \
  OUTPUT_DIR "$out/output" LOG_DIR "$out/log" AUTO_RESUME False \
  TRAIN.END_EPOCH 3 TRAIN.LR_STEP "[10]" DATASET.ROT_FACTOR 0 DATASET.SCALE_FACTOR 0.1
trained="$out/output/mpii/pose_hrnet/$name"

# Held out: another seed, so none of these figures was seen in training.
npx hrnet synth --format mpii -n 0 --val 8 --seed 1000 -o "$out/held-out"
# The person's box from its annotation (MPII center and scale: a square of scale × 200 pixels).
box=$(node -e 'const a = require(process.argv[1])[0]; const s = a.scale * 200;
  console.log([a.center[0] - s / 2, a.center[1] - s / 2, s, s].map((v) => v.toFixed(1)).join(","))' \
  "$(realpath "$out")/held-out/annot/valid.json")
npx hrnet predict "$compiled" "$out/held-out/images/valid_000001.jpg" --bbox "$box" \
  --weights "$trained/final_state.safetensors" -o "$out/predictions"

echo
echo "IR dump:          $compiled/model.ir (train step: $compiled/train-step.ir)"
echo "graph picture:    $compiled/graph.svg"
echo "training:         $trained/train-log.jsonl, training-curves.png, final_state.safetensors"
echo "prediction:       $out/predictions/valid_000001.png and valid_000001.json"
