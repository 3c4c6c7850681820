#!/usr/bin/env bash
# The one list of Debian 12 packages cstatsd needs to build, test and benchmark.
# Quick when everything is present: it only calls apt-get when a package is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  # libraries
  libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libxxhash-dev zlib1g-dev liblz4-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev
  libprotobuf-dev protobuf-compiler libre2-dev libpugixml-dev
  libmicrohttpd-dev  # the HTTP servers (docs/adr/0003-http-server-on-libmicrohttpd.md)
  libsnappy-dev  # prometheus-remote-write's snappy block compression
  # real services the end-to-end tests run on loopback
  graphite-carbon python3-whisper influxdb prometheus
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev netcat-openbsd python3 procps openssl
  lz4  # the forwarder integration test decodes lz4 frames with the CLI
  # real statsd clients of tests/e2e/test_real_clients.py (hot-shots itself comes from npm)
  nodejs npm python3-statsd python3-aiodogstatsd
)

missing=()
for p in "${PACKAGES[@]}"; do
  # NodeSource's nodejs package bundles npm (and conflicts with Debian's).
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
