#!/usr/bin/env bash
# The one list of Debian 12 packages cstatsd needs.
#   scripts/install-deps.sh           everything: build, test, benchmark (`make test`)
#   scripts/install-deps.sh --server  only what building the server takes (`make run`, `make install`)
#   ... --print                       the missing packages, installing nothing
# Quick when everything is present: it only calls apt-get when a package is missing. Services
# that a package would start and enable (the real carbon-cache, influxd and prometheus the
# end-to-end tests run on loopback themselves) are neither started nor left enabled.
set -euo pipefail

SERVER=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries
  libfmt-dev libspdlog-dev libtomlplusplus-dev libcli11-dev libyaml-cpp-dev nlohmann-json3-dev
  libxxhash-dev zlib1g-dev liblz4-dev libssl-dev libcurl4-openssl-dev libcpp-httplib-dev
  libprotobuf-dev protobuf-compiler libre2-dev libpugixml-dev
  libmicrohttpd-dev  # the HTTP servers (docs/adr/0003-http-server-on-libmicrohttpd.md)
  libsnappy-dev  # prometheus-remote-write's snappy block compression
  libc-ares-dev  # [http-transport] api-endpoints-dns asked of a dns-server (docs/scaling.md)
)
TESTS=(
  # fuzzing (the clang preset), formatting
  clang libclang-rt-14-dev clang-format
  # real services the end-to-end tests run on loopback
  graphite-carbon python3-whisper influxdb prometheus
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev netcat-openbsd python3 procps openssl
  lz4  # the forwarder integration test decodes lz4 frames with the CLI
  dnsmasq-base  # tests/e2e/test_scaling.py's DNS server (the binary only, no service)
  # real statsd clients of tests/e2e/test_real_clients.py (hot-shots itself comes from npm)
  nodejs npm python3-statsd python3-aiodogstatsd
  # `make package` and its test (docs/packaging.md): man pages from --help, a clean Debian 12 chroot
  help2man mmdebstrap
  # tests/e2e/test_status_page.py renders /status in a real browser (headless, no service)
  chromium
)
# The system services those packages bring, by package.
declare -A SERVICES=([graphite-carbon]=carbon-cache [influxdb]=influxdb [prometheus]=prometheus)

server_only=0
print_only=0
for arg in "$@"; do
  case "$arg" in
    --server) server_only=1 ;;
    --print) print_only=1 ;;
    *) echo "install-deps: unknown argument $arg (--server, --print)" >&2; exit 2 ;;
  esac
done

PACKAGES=("${SERVER[@]}")
if [ "$server_only" -eq 0 ]; then PACKAGES+=("${TESTS[@]}"); fi

missing=()
for p in "${PACKAGES[@]}"; do
  # NodeSource's nodejs package bundles npm (and conflicts with Debian's).
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "$print_only" -eq 1 ]; then
  if [ ${#missing[@]} -gt 0 ]; then printf '%s\n' "${missing[@]}"; fi
  exit 0
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# invoke-rc.d asks policy-rc.d whether a package may start its service: 101 is "no". Only when no
# policy exists already, and removed again whatever happens.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ "$own_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# A package installed now leaves its service disabled (and stopped, should it have started): the
# tests start their own instances on 127.0.0.1, nothing listens on every interface after
# `make test`. Services of packages that were already installed are left as they are.
for p in "${missing[@]}"; do
  svc="${SERVICES[$p]:-}"
  if [ -z "$svc" ]; then continue; fi
  if command -v systemctl >/dev/null; then
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || $SUDO systemctl disable "$svc" >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null && [ -e "/etc/init.d/$svc" ]; then
    $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
  fi
done
