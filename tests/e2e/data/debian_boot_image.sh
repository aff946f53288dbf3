#!/usr/bin/env bash
# Makes a bootable Debian 12 image with debootstrap (minbase + the init and a few standard
# packages) and caches it, so that a suite debootstraps once per build tree:
#   debian_boot_image.sh sysvinit|systemd OUT.img
# The image is Debian as installed, changed only as a new user would: a root password ("root"),
# a getty on the console, the standard fstab (`/dev/ubda / ext4 defaults 0 1`, fsck pass 1), a
# hostname and a DHCP stanza for eth0 (not brought up at boot: `ifup eth0`).
# Needs root (debootstrap). Exits 2 with a one-line reason when it cannot run (not root, no
# debootstrap, the archive unreachable); the callers skip with that reason.
# Environment: UM_DEBIAN_CACHE (default <repo>/build/debian): the .deb cache and the images.
#              UM_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
init=${1:?usage: debian_boot_image.sh sysvinit|systemd OUT.img}
out=${2:?usage: debian_boot_image.sh sysvinit|systemd OUT.img}
here=$(cd "$(dirname "$0")/../../.." && pwd)
cache=${UM_DEBIAN_CACHE:-$here/build/debian}
mirror=${UM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
umimage=${UMIMAGE:-$here/bin/umimage}
case "$init" in
  sysvinit) init_pkgs=sysvinit-core ;;
  systemd) init_pkgs=systemd-sysv ;;
  *) echo "unknown init '$init' (sysvinit or systemd)" >&2; exit 1 ;;
esac
pkgs="$init_pkgs,procps,iproute2,ifupdown,isc-dhcp-client,openssh-server,e2fsprogs,util-linux"
# The package list is part of the cache key: changing it rebuilds the image.
key=$(echo "bookworm $pkgs v1" | sha256sum | cut -c1-12)
img="$cache/$init-$key.img"

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ ! -s "$img" ]; then
  [ "$(id -u)" = 0 ] || { echo "debootstrap needs root" >&2; exit 2; }
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (scripts/deps.sh)" >&2; exit 2; }
  if ! timeout 20 bash -c "exec 3<>/dev/tcp/${mirror#http://}" 2>/dev/null &&
     ! curl -fsI --max-time 20 "$mirror/dists/bookworm/Release" >/dev/null 2>&1; then
    echo "the Debian archive ($mirror) cannot be reached" >&2
    exit 2
  fi
  tree=$(mktemp -d "$cache/tree.XXXXXX")
  trap 'rm -rf "$tree"' EXIT
  mkdir -p "$cache/debs"
  if ! debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$pkgs" bookworm \
       "$tree" "$mirror" >"$cache/debootstrap-$init.log" 2>&1; then
    if grep -qiE "Failed getting release file|Couldn't download|Temporary failure|unable to fetch" \
         "$cache/debootstrap-$init.log"; then
      echo "the Debian archive ($mirror) cannot be reached: $(grep -iE 'fail|couldn' "$cache/debootstrap-$init.log" | tail -1)" >&2
      exit 2
    fi
    echo "debootstrap failed (log: $cache/debootstrap-$init.log)" >&2
    tail -5 "$cache/debootstrap-$init.log" >&2
    exit 1
  fi
  # What a user does after debootstrap.
  echo root:root | chroot "$tree" chpasswd
  echo "/dev/ubda / ext4 defaults 0 1" >"$tree/etc/fstab"
  echo debian >"$tree/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tdebian\n' >"$tree/etc/hosts"
  printf 'iface eth0 inet dhcp\n' >"$tree/etc/network/interfaces.d/eth0"
  if [ "$init" = sysvinit ]; then
    echo "co:2345:respawn:/sbin/getty --noclear 38400 console" >>"$tree/etc/inittab"
  else
    ln -s /lib/systemd/system/console-getty.service "$tree/etc/systemd/system/getty.target.wants/console-getty.service"
  fi
  rm -f "$tree"/var/cache/apt/archives/*.deb
  "$umimage" -q create -s 1G -f "$tree" "$img.tmp"
  mv "$img.tmp" "$img"
fi
cp --sparse=always "$img" "$out"
