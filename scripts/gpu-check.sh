#!/usr/bin/env bash
# On a machine with a GPU: correctness on the real driver first (the forward and training-step parity
# tests against the official PyTorch references, every kernel variant, and the tuner), then the
# timings of bench/peers (hrnetc against ONNX Runtime's WebGPU EP) with the GPU defaults and again
# with the kernels `hrnet tune` measures on this GPU. Results go to ${OUT:-gpu-check}/.
#
# The machine needs node ≥ 20, this checkout's node_modules, and a Vulkan loader with the GPU's
# driver. Where the loader is missing, put Debian's libvulkan1 .deb files in .gl/ (see the device
# tool's README); they are unpacked first. The run fails if WebGPU finds only a software adapter.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check}
mkdir -p "$out"

if compgen -G '.gl/*.deb' >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES=$nvidia_icd
fi

# Which adapter WebGPU gets; a software one means the GPU's driver was not found.
npx tsx -e "
  const { openGpu } = await import('./runtime/gpu/adapter.ts');
  const gpu = await openGpu('hardware');
  console.log('adapter:', gpu.adapterDescription, gpu.isSoftware ? '(software)' : '');
  if (gpu.isSoftware) process.exit(1);
  process.exit(0);
" 2>&1 | tee "$out/adapter.txt"

set -o pipefail
npx vitest run test/runtime/forward-parity.test.ts test/runtime/kernel-choice.test.ts \
  test/train/train-step-parity.test.ts test/codegen 2>&1 | tee "$out/parity.log"
npm run bench:peers -- --json "$out/peers.json" 2>&1 | tee "$out/peers.log"
# The same with every convolution's variant measured on this GPU, and (COCO, whose step bench/peers
# times) every training-step launch's; the tuner checks each against the GEMM on this driver first.
tuned=()
for exp in mpii/w32_256x256 coco/w32_256x192; do
  npx hrnetc "experiments/$exp.yaml" -o "$out/generated" --emit forward,backward,kernels,manifest
  name=$(basename "$exp")
  training=()
  [ "$exp" = coco/w32_256x192 ] && training=(--training)
  npx hrnet tune "$out/generated/$name" --batch 8 "${training[@]}" 2>&1 | tee -a "$out/tune.log"
  tuned+=(--tuning "$out/generated/$name/tuning.json")
done
npm run bench:peers -- --json "$out/peers-tuned.json" "${tuned[@]}" 2>&1 | tee "$out/peers-tuned.log"
npm run bench:forward 2>&1 | tee "$out/forward.log"
