#!/usr/bin/env bash
# Installs what building and testing um needs on Debian 12 (uses sudo when not root), and the
# unprivileged account the tests use to prove that nothing needs root.
set -euo pipefail
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
PKGS=(build-essential cmake ninja-build pkg-config libcli11-dev libarchive-dev libext2fs-dev
      e2fsprogs libfuse3-dev fuse3 googletest libgtest-dev bats busybox-static
      user-mode-linux uml-utilities vde2 python3 python3.11 libpython3.11-testsuite perl gawk procps tmux tshark libslirp-dev liblwip-dev
      libvdeplug-dev vdeplug gnuplot-nox debootstrap time strace gdb)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "$(id -u)" = 0 ] && ! id umtest >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin umtest
fi
# Rootless FUSE (umimage mount): fusermount3 opens /dev/fuse as the calling user. Debian's udev
# makes it 0666; containers often leave it 0600.
if [ "$(id -u)" = 0 ] && [ -c /dev/fuse ]; then chmod 0666 /dev/fuse; fi
