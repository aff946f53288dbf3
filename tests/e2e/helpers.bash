# Shared setup for the Bats suites. Source with: load helpers
: "${UM_BIN:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/bin}"
: "${UM_GUEST_BIN:=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/build/guest}"
export UM_BIN UM_GUEST_BIN
UMIMAGE="$UM_BIN/umimage"
UMKERNEL="$UM_BIN/umkernel"
UMCONSOLE="$UM_BIN/umconsole"
UMSWITCH="$UM_BIN/umswitch"
# Debian's UML kernel as a peer, through tests/tools/uml (it preloads the xstate shim that UML
# 6.1 needs on hosts with AMX); check for /usr/bin/linux before using it.
UML="$(cd "$BATS_TEST_DIRNAME/../tools" && pwd)/uml"

# The platform umkernel runs guests on here: UM_PLATFORM, else its default (umkernel --version).
um_platform() {
  if [ -n "${UM_PLATFORM:-}" ] && [ "$UM_PLATFORM" != auto ]; then echo "$UM_PLATFORM"; return; fi
  "$UMKERNEL" --version | awk '/^platform:/ { print $2 }'
}

# An unprivileged account for the "runs without root" tests (created by scripts/deps.sh).
UM_TEST_USER=umtest

# Runs a command as the unprivileged test user when we are root, else as ourselves.
as_user() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid="$UM_TEST_USER" --regid="$UM_TEST_USER" --init-groups env HOME="$BATS_TEST_TMPDIR" "$@"
  else
    "$@"
  fi
}

# A fresh directory the unprivileged test user can read and write (bats' own temp dirs are
# private to root). Callers remove it.
user_dir() {
  local d
  d=$(mktemp -d /tmp/um-user.XXXXXX)
  chmod 0777 "$d"
  echo "$d"
}

# Guest programs print facts only, so their output under umkernel must equal their native output.
# expect_native_output NATIVE ARGS...: boots umkernel with ARGS (quiet, 120 s at most, no input)
# and checks that the guest printed NATIVE and exited 0; else prints the status and a diff.
expect_native_output() {
  local native=$1
  shift
  run timeout -k 10 120 "$UMKERNEL" quiet "$@" </dev/null
  if [ "$status" -ne 0 ] || [ "$output" != "$native" ]; then
    echo "status: $status"
    diff <(echo "$native") <(echo "$output") || true
    return 1
  fi
}

# guest_program_image PROG: a busybox root image $W/root.img (W: a new directory) holding
# guest program PROG as /bin/<its name>, and an empty /tmp.
guest_program_image() {
  W=$(mktemp -d "/tmp/umkernel-$(basename "$1").XXXXXX")
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$1" "/bin/$(basename "$1")" >/dev/null
  "$UMIMAGE" mkdir -p "$W/root.img" /tmp >/dev/null
}
