#!/usr/bin/env bash
# Installs the system packages hrnetc needs on Debian bookworm: Mesa's lavapipe software Vulkan driver
# from bookworm-backports (bookworm's own Mesa 22 is too old for Dawn), so WebGPU runs without a GPU, and
# Debian's chromium, the browser `hrnet serve`'s page is tested in (headless, WebGPU on SwiftShader).
# Each package is checked on its own, so a machine that has both is done in a fraction of a second.
set -euo pipefail

lavapipe_icd=/usr/share/vulkan/icd.d/lvp_icd.json
chromium_binary=/usr/bin/chromium

have_lavapipe() {
  [ -f "$lavapipe_icd" ] && dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | grep -q bpo12
}
have_chromium() {
  [ -x "$chromium_binary" ]
}

if have_lavapipe && have_chromium; then
  echo "setup-system: lavapipe from bookworm-backports and chromium are already installed"
  exit 0
fi

sudo=''
if [ "$(id -u)" -ne 0 ]; then sudo='sudo'; fi
export DEBIAN_FRONTEND=noninteractive

if ! have_lavapipe; then
  sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ] && ! grep -q 'bookworm-backports' "$sources"; then
    $sudo sed -i 's/^Suites: bookworm bookworm-updates$/Suites: bookworm bookworm-updates bookworm-backports/' "$sources"
  fi
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup-system: could not enable bookworm-backports (no 'Suites: bookworm bookworm-updates' line in $sources)" >&2
    exit 1
  fi
fi

# One index update serves both installs.
$sudo apt-get update -q

if ! have_lavapipe; then
  $sudo apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers
  test -f "$lavapipe_icd" || { echo "setup-system: $lavapipe_icd missing after install" >&2; exit 1; }
  echo "setup-system: lavapipe installed"
fi

if ! have_chromium; then
  # --no-install-recommends: the headless page tests need the browser, not its desktop extras.
  $sudo apt-get install -y -q --no-install-recommends chromium
  have_chromium || { echo "setup-system: $chromium_binary missing after install" >&2; exit 1; }
  echo "setup-system: chromium installed ($("$chromium_binary" --version 2>/dev/null || echo 'version unknown'))"
fi
