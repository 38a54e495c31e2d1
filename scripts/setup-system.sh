#!/usr/bin/env bash
# Installs the system packages hrnetc needs on Debian bookworm: Mesa's lavapipe software Vulkan driver
# from bookworm-backports (bookworm's own Mesa 22 is too old for Dawn), so WebGPU runs without a GPU.
set -euo pipefail

lavapipe_icd=/usr/share/vulkan/icd.d/lvp_icd.json
if [ -f "$lavapipe_icd" ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q bpo12; then
  echo "setup-system: lavapipe from bookworm-backports is already installed"
  exit 0
fi

sudo=''
if [ "$(id -u)" -ne 0 ]; then sudo='sudo'; fi

sources=/etc/apt/sources.list.d/debian.sources
if [ -f "$sources" ] && ! grep -q 'bookworm-backports' "$sources"; then
  $sudo sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
fi
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo "setup-system: could not enable bookworm-backports (no 'Suites: bookworm bookworm-updates' line in $sources)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
test -f "$lavapipe_icd" || { echo "setup-system: $lavapipe_icd missing after install" >&2; exit 1; }
echo "setup-system: lavapipe installed"
