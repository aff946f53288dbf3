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
