#!/usr/bin/env bats
# A local client against umswitch (tests/security/umswitch_attacks.py): unpredictable port
# names, data addresses that are the switch's own ports, its stream sockets, another user's
# datagram socket (a VM's mconsole) or nothing at all are refused, and legitimate clients are
# still served. The switch and the attacker run as the unprivileged test user; the victim's
# socket belongs to root.
load helpers

setup() {
  [ "$(id -u)" = 0 ] || skip "needs root to play two users"
  D=$(user_dir)
  python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1])' "$D/victim.sock"
  chmod 666 "$D/victim.sock"
  # as_user runs the switch as a child of a subshell: its own pid file says which to stop.
  as_user "$UMSWITCH" --unix "$D/sw.ctl" --pidfile "$D/sw.pid" 2>"$D/sw.err" 3>&- &
  for _ in $(seq 50); do [ -S "$D/sw.ctl" ] && [ -s "$D/sw.pid" ] && break; sleep 0.1; done
  SW=$(cat "$D/sw.pid")
}

teardown() {
  if [ -n "${SW:-}" ]; then
    kill "$SW" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SW" 2>/dev/null || break; sleep 0.1; done
  fi
  [ -n "${D:-}" ] && rm -rf "$D"
}

@test "umswitch refuses data addresses that are not the client's own, with names no one can predict" {
  run as_user /usr/bin/python3 "$BATS_TEST_DIRNAME/../security/umswitch_attacks.py" "$D/sw.ctl" "$D/victim.sock"
  echo "$output"
  cat "$D/sw.err"
  [ "$status" -eq 0 ]
  [[ "$output" != *FAIL* ]]
  [ "$(grep -c '^ok:' <<<"$output")" -ge 14 ]
  grep -q "is one of the switch's own ports" "$D/sw.err"
  grep -q "belongs to uid 0, not to the client" "$D/sw.err"
  kill -0 "$SW"  # still up
}
