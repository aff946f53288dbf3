#!/usr/bin/env bats
# umkernel boots Debian 12 as debootstrap installs it (tests/e2e/data/debian_boot_image.sh:
# minbase + the init, openssh-server, ifupdown, isc-dhcp-client; only a root password, a getty on
# the console, the standard fstab with fsck pass 1, a hostname and an eth0 DHCP stanza added),
# with sysvinit and with systemd, to a login prompt; root logs in on the console and works.
# The images are made once per build tree (build/debian, needs root and deb.debian.org); the
# suite skips with the reason when that cannot be done.
load helpers

setup_file() {
  export IMG_DIR="$BATS_FILE_TMPDIR"
}

# The INIT image, made on first use (debootstrap once per build tree, then cached). Only an
# archive that cannot be reached (or no root, no debootstrap) is a reason to skip.
debian_image() {  # INIT
  local init=$1 why="$IMG_DIR/why-$init"
  [ -f "$IMG_DIR/$init.base" ] && return 0
  if [ ! -f "$why" ]; then
    if UMIMAGE="$UMIMAGE" UM_DEBIAN_CACHE="${UM_BUILD:-$BATS_TEST_DIRNAME/../../build}/debian" \
       "$BATS_TEST_DIRNAME/data/debian_boot_image.sh" "$init" "$IMG_DIR/$init.base" >"$why" 2>&1; then
      return 0
    fi
  fi
  grep -qE "cannot be reached|needs root|not installed" "$why" && skip "$(tail -1 "$why")"
  cat "$why"
  return 1
}

setup() {
  VM_PID=""
  HTTP_PID=""
}

teardown() {
  [ -z "$HTTP_PID" ] || kill "$HTTP_PID" 2>/dev/null || true
  if [ -n "$VM_PID" ] && kill -0 "$VM_PID" 2>/dev/null; then
    kill "$VM_PID" 2>/dev/null || true
    wait "$VM_PID" 2>/dev/null || true
  fi
  exec 5>&- 2>/dev/null || true
}

# Boots a fresh copy of the INIT image with the console on a FIFO (input) and a file (output).
boot_debian() {  # INIT [umkernel args...]
  local init=$1
  shift
  debian_image "$init"
  IMG="$BATS_TEST_TMPDIR/root.img"
  cp --sparse=always "$IMG_DIR/$init.base" "$IMG"
  CON_IN="$BATS_TEST_TMPDIR/con.in"
  CON_OUT="$BATS_TEST_TMPDIR/con.out"
  mkfifo "$CON_IN"
  : >"$CON_OUT"
  "$UMKERNEL" ubd0="$IMG" mem=512M con0=fd:3,fd:4 "$@" 3<>"$CON_IN" 4>"$CON_OUT" 2>"$BATS_TEST_TMPDIR/stderr" </dev/null &
  VM_PID=$!
  exec 5>"$CON_IN"
  SEEN=0  # console output before this byte offset has been matched already
}

# Waits until the console shows PATTERN (an extended regex) after what was already matched.
expect_console() {  # PATTERN [SECONDS]
  local pattern=$1 deadline=$((SECONDS + ${2:-180}))
  while (( SECONDS < deadline )); do
    if tail -c +$((SEEN + 1)) "$CON_OUT" | grep -aqE "$pattern"; then
      SEEN=$(stat -c %s "$CON_OUT")
      return 0
    fi
    if ! kill -0 "$VM_PID" 2>/dev/null; then
      tail -c +$((SEEN + 1)) "$CON_OUT" | grep -aqE "$pattern" && return 0
      echo "umkernel exited while waiting for '$pattern'"; break
    fi
    sleep 0.1
  done
  echo "--- console (waiting for '$pattern') ---"
  tail -c 4000 "$CON_OUT"
  echo "--- stderr ---"
  cat "$BATS_TEST_TMPDIR/stderr"
  return 1
}

type_line() { printf '%s\n' "$1" >&5; }

login_root() {
  expect_console 'login: ' 300
  type_line root
  expect_console 'Password: ' 60
  type_line root
  expect_console 'root@debian:~# ' 120
}

N=0
# Runs a shell command line on the logged-in console; its output lands in $output and its exit
# status in $rc. The marker is computed by the shell so that the echoed command never matches.
run_console() {  # COMMAND [SECONDS]
  N=$((N + 1))
  local start
  start=$(stat -c %s "$CON_OUT")
  type_line "$1; echo \"@@\$((1000 + $N))@@\$?@@\""
  expect_console "@@$((1000 + N))@@[0-9]+@@" "${2:-120}"
  output=$(tail -c +$((start + 1)) "$CON_OUT" | tr -d '\r' | sed -n '2,$p' | sed "/@@$((1000 + N))@@/,\$d")
  rc=$(tail -c +$((start + 1)) "$CON_OUT" | tr -d '\r' | grep -aoE "@@$((1000 + N))@@[0-9]+@@" | tail -1 | cut -d@ -f5)
}

halt_and_wait() {
  type_line halt
  local deadline=$((SECONDS + 120))
  while kill -0 "$VM_PID" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
  ! kill -0 "$VM_PID" 2>/dev/null || { echo "still running after halt"; tail -c 2000 "$CON_OUT"; return 1; }
  wait "$VM_PID" || true
  VM_PID=""
}

image_clean() {
  run e2fsck -fn "$IMG"
  echo "$output"
  [ "$status" -eq 0 ]
}

@test "sysvinit: the unmodified image boots to login; fsck of /dev/ubda, mkfs and mount of a second disk, halt leaves it clean" {
  truncate -s 64M "$BATS_TEST_TMPDIR/disk2.img"
  boot_debian sysvinit ubd1="$BATS_TEST_TMPDIR/disk2.img"
  login_root
  run_console 'grep -c . /proc/cmdline; cat /proc/1/comm; runlevel'
  echo "$output"
  [ "$rc" = 0 ]
  [[ "$output" == *"init"* ]]
  [[ "$output" == *"N 2"* ]]
  run_console 'fsck -n /dev/ubda'
  echo "$output"
  [ "$rc" = 0 ]
  [[ "$output" == *"/dev/ubda"* ]]
  run_console 'mkfs.ext4 -q -L second /dev/ubdb && mount /dev/ubdb /mnt && echo hello > /mnt/f && cat /mnt/f && umount /mnt && blkid /dev/ubdb'
  echo "$output"
  [ "$rc" = 0 ]
  [[ "$output" == *hello* ]]
  [[ "$output" == *'LABEL="second"'* ]]
  halt_and_wait
  [ -z "${UM_SHOW_CONSOLE:-}" ] || cat "$CON_OUT" >&3
  image_clean
  run e2fsck -fn "$BATS_TEST_TMPDIR/disk2.img"
  [ "$status" -eq 0 ]
}

# A free TCP port on the host's loopback.
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

@test "sysvinit: ifup eth0 over slirp DHCP, ssh in through hostfwd, apt-get install from a repository on the host" {
  command -v ssh >/dev/null && command -v dpkg-scanpackages >/dev/null || skip "needs ssh and dpkg-scanpackages (openssh-client, dpkg-dev)"
  # A one-package repository served on the host's loopback (the guest reaches it as 10.0.2.2).
  local repo="$BATS_TEST_TMPDIR/repo" pkg="$BATS_TEST_TMPDIR/pkg"
  mkdir -p "$repo" "$pkg/DEBIAN" "$pkg/usr/bin"
  printf 'Package: um-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: um <um@localhost>\nDescription: says hello\n' >"$pkg/DEBIAN/control"
  printf '#!/bin/sh\necho hello from um-hello\n' >"$pkg/usr/bin/um-hello"
  chmod 0755 "$pkg/usr/bin/um-hello"
  dpkg-deb --root-owner-group --build "$pkg" "$repo/um-hello_1.0_all.deb" >/dev/null
  (cd "$repo" && dpkg-scanpackages -m . 2>/dev/null >Packages)
  local http_port ssh_port
  http_port=$(free_port)
  ssh_port=$(free_port)
  /usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$repo" "$http_port" >/dev/null 2>&1 &
  HTTP_PID=$!
  ssh-keygen -q -t ed25519 -N "" -f "$BATS_TEST_TMPDIR/key"

  boot_debian sysvinit eth0=slirp,,hostfwd=tcp:127.0.0.1:$ssh_port-:22
  login_root
  run_console 'ifup eth0 && ip -4 addr show eth0 && ip route' 180
  echo "$output"
  [ "$rc" = 0 ]
  [[ "$output" == *"inet 10.0.2.15/24"* ]]
  [[ "$output" =~ valid_lft\ [0-9]+sec ]]   # the lease time, from dhclient-script
  [[ "$output" == *"default via 10.0.2.2"* ]]
  run_console "mkdir -p -m 700 /root/.ssh && echo '$(cat "$BATS_TEST_TMPDIR/key.pub")' > /root/.ssh/authorized_keys"
  [ "$rc" = 0 ]
  run timeout 60 ssh -i "$BATS_TEST_TMPDIR/key" -p "$ssh_port" -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o BatchMode=yes root@127.0.0.1 'hostname; id -u; cat /proc/1/comm'
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *debian*0*init* ]]
  run_console "echo 'deb [trusted=yes] http://10.0.2.2:$http_port ./' > /etc/apt/sources.list.d/host.list && apt-get -q update && apt-get -q install -y um-hello && um-hello" 300
  echo "$output"
  kill "$HTTP_PID" 2>/dev/null || true
  [ "$rc" = 0 ]
  [[ "$output" == *"hello from um-hello"* ]]
  halt_and_wait
  image_clean
}

@test "systemd: the unmodified image boots to login with no failed units; halt leaves it clean" {
  boot_debian systemd
  login_root
  run_console 'systemctl is-system-running --wait; systemctl --failed --no-legend | wc -l'
  echo "$output"
  [ "$rc" = 0 ]
  echo "$output" | grep -q 'running$'   # is-system-running: not "degraded"
  [ "$(echo "$output" | tail -1)" = 0 ]
  # What it runs on, as UML says it (not the host's hypervisor); the mount table as systemd
  # keeps it (its mount units follow /proc/self/mountinfo).
  run_console 'systemd-detect-virt; systemctl is-active -- -.mount sys-fs-cgroup.mount dev-pts.mount'
  echo "$output"
  [[ "$output" == *uml*active*active*active* ]]
  halt_and_wait
  image_clean
}
