#!/usr/bin/env bash
# Installs everything qecloud needs to build and test, from Debian 12's archive only. Idempotent: packages
# already present are not fetched again. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  # libraries (headers from -dev packages; nothing is vendored or downloaded at build time)
  libcli11-dev libfmt-dev nlohmann-json3-dev libpugixml-dev libtomlplusplus-dev libsymspg-dev
  libgtest-dev libgmock-dev zlib1g-dev libhwloc-dev libsqlite3-dev libcairo2-dev
  libcurl4-openssl-dev libssl-dev
  # the real parts: Quantum ESPRESSO's pw.x + pseudopotentials, OpenMPI
  quantum-espresso quantum-espresso-data openmpi-bin
  # multi-node rehearsals and tests: network namespaces, veth, bridge
  iproute2
  # peers for tests and benchmarks: ASE's pw.x output reader; GNU time (peak memory in the e2e tests)
  python3 python3-ase time
  # a real Slurm (22.05) for the Slurm backend's tests: started by tests/integration/slurm, never as services
  slurm-wlm munge
  # OpenBLAS for pw.x, instead of the reference BLAS libblas.so.3 points at otherwise (bench/blas); the image
  # ships it too
  libopenblas0-serial
  # container images (qecloud image): podman/buildah build and run them (runc: Debian's OCI runtime),
  # skopeo reads registries, mmdebstrap makes the Debian 12 base where Docker Hub is not reachable, and
  # docker-registry with apache2-utils' htpasswd stands in for ECR's registry in the tests
  podman buildah runc skopeo mmdebstrap docker-registry apache2-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
