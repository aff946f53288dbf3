#!/usr/bin/env bash
# Builds and runs every test: unit tests (GoogleTest) and end-to-end suites (Bats), via ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# The build tree must be readable by the unprivileged test user.
chmod -R a+rX build bin 2>/dev/null || true
ctest --test-dir build --output-on-failure -j2 "$@"
