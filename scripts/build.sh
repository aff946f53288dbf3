#!/usr/bin/env bash
# Configures and builds everything into ./build; the tools land in ./bin.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
