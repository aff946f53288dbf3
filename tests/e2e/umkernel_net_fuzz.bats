#!/usr/bin/env bats
# Bad input from the network: a machine on a umswitch takes thousands of random frames (from
# another guest through AF_PACKET, and malformed datagrams straight from the switch) and keeps
# serving: it still answers ping and HTTP afterwards, and its counters show the bad frames.
load helpers

FUZZ="$UM_GUEST_BIN/frame_fuzz"
INET_FUZZ="$UM_GUEST_BIN/inet_fuzz"
MAC_B=02:00:00:00:00:0b

setup_file() {
  [ -x "$FUZZ" ] || skip "guest program frame_fuzz not built"
  W=$(mktemp -d /tmp/umnetfuzz.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$FUZZ" /bin/frame_fuzz >/dev/null
  "$UMIMAGE" put "$W/root.img" "$INET_FUZZ" /bin/inet_fuzz >/dev/null
  cp "$W/root.img" "$W/b.img"
  "$UMSWITCH" --unix "$W/sw.ctl" -q </dev/null >/dev/null 2>&1 &
  echo $! > "$W/sw.pid"
  for _ in $(seq 50); do [ -S "$W/sw.ctl" ] && break; sleep 0.1; done
}

teardown_file() {
  [ -n "${W:-}" ] || return 0
  [ -f "$W/sw.pid" ] && kill "$(cat "$W/sw.pid")" 2>/dev/null
  [ -f "$W/b.pid" ] && kill "$(cat "$W/b.pid")" 2>/dev/null
  rm -rf "$W"
}

@test "random frames from a guest and malformed datagrams from the switch do not take a machine down" {
  # B serves HTTP and, when told (a file appears), reports its counters and exits.
  timeout 240 "$UMKERNEL" quiet "ubd0=$W/b.img" umid=fuzzb "eth0=daemon,$MAC_B,unix,$W/sw.ctl" \
    ip=10.0.0.2:::255.255.255.0::eth0 init=/bin/sh -- -c '
      mount -t proc proc /proc; mount -t tmpfs t /tmp; mkdir /tmp/w; echo alive > /tmp/w/index.html
      httpd -p 80 -h /tmp/w
      nc -l -p 7000 >/dev/null
      grep eth0 /proc/net/dev; echo B-DONE' > "$W/b.log" 2>&1 &
  echo $! > "$W/b.pid"
  sleep 1
  # Malformed datagrams at the switch (too short, too long: it must not pass them on), then a
  # valid broadcast.
  printf 'port junk\nraw junk 3\nraw junk 13\nraw junk 1600\nraw junk 9000\nsend junk broadcast 60\nsleep 200\n' |
    timeout 20 "$UM_BUILD/tests/tools/umswitch-peer" script "$W/sw.ctl"
  run timeout 240 "$UMKERNEL" quiet "ubd0=$W/root.img" umid=fuzza eth0=daemon,,unix,"$W/sw.ctl" \
    ip=10.0.0.1:::255.255.255.0::eth0 init=/bin/sh -- -c "
      mount -t tmpfs t /tmp
      ping -c 1 -w 10 10.0.0.2 >/dev/null && echo PING-BEFORE
      /bin/frame_fuzz eth0 $MAC_B 10.0.0.2 25000 7
      ping -c 2 -w 10 10.0.0.2 >/dev/null && echo PING-AFTER
      wget -q -O - http://10.0.0.2/index.html
      echo bye | nc 10.0.0.2 7000"
  echo "$output"
  [ "$status" -eq 0 ]
  [[ "$output" == *PING-BEFORE* ]]
  # A full switch socket refuses some (many when the host is loaded): thousands must go out.
  sent=$(sed -n 's/^sent \([0-9]*\)$/\1/p' <<<"$output")
  [ -n "$sent" ] && [ "$sent" -ge 2000 ]
  [[ "$output" == *PING-AFTER* ]]
  [[ "$output" == *alive* ]]
  wait "$(cat "$W/b.pid")" || true
  cat "$W/b.log"
  grep -q B-DONE "$W/b.log"
  # /proc/net/dev: rx bytes, packets, errs, drop...: the frames went in; the UDP-Lite ones
  # (protocol 136, which would abort inside lwIP) were dropped before it.
  line=$(grep eth0 "$W/b.log")
  packets=$(echo "$line" | awk -F'[: ]+' '{print $4}')
  drops=$(echo "$line" | awk -F'[: ]+' '{print $6}')
  [ "$packets" -ge $((sent / 2)) ]  # the switch may drop some too when the host is loaded
  [ "$drops" -ge 1 ]
}

@test "random socket calls on AF_INET, AF_INET6, ping, raw, rtnetlink and AF_PACKET sockets never take the kernel down" {
  for seed in 11 12; do
    run timeout 300 "$UMKERNEL" quiet "ubd0=$W/root.img" eth0=slirp init=/bin/inet_fuzz -- 20 500 "$seed" </dev/null
    echo "seed $seed: $output"
    [ "$status" -eq 0 ]
    [ "$output" = "inet_fuzz: 20 rounds done" ]
  done
}
