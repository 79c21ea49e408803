#!/usr/bin/env bash
# Installs the Debian packages detforge needs, only those missing. Needs root (or sudo).
#   scripts/install_deps.sh            build + test dependencies
#   scripts/install_deps.sh --fixtures also python3-torch/torchvision (regenerating golden fixtures,
#                                      CPU comparisons with PyTorch)
set -euo pipefail
pkgs=(cmake ninja-build g++ pkg-config googletest libgtest-dev libgmock-dev libbenchmark-dev
      nlohmann-json3-dev libstb-dev libdnnl-dev zlib1g-dev libcli11-dev libspdlog-dev libfmt-dev
      libomp-dev libpugixml-dev dataset-fashion-mnist)
if [[ "${1:-}" == "--fixtures" ]]; then pkgs+=(python3-torch python3-torchvision python3-numpy); fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install_deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install_deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) != 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
