#!/usr/bin/env bats
# Extended attributes on the guest's ext4 root: who may change them (Linux's
# xattr_permission). The expected lines are what Linux answers on ext4 (tmpfs on the test
# host's kernel may not take user.* attributes, so there is no native run to compare with).
load helpers

setup_file() {
  [ -x "$UM_GUEST_BIN/xattr_perm" ] || skip "guest program xattr_perm not built (target guest_xattr_perm)"
  W=$(mktemp -d /tmp/umkernel-xattr.XXXXXX)
  export W
  "$UMIMAGE" create "$W/root.img" --busybox >/dev/null
  "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/xattr_perm" /bin/xattr_perm >/dev/null
  if [ -x "$UM_GUEST_BIN/acl_mode" ]; then
    "$UMIMAGE" put "$W/root.img" "$UM_GUEST_BIN/acl_mode" /bin/acl_mode >/dev/null
    "$UMIMAGE" mkdir -p "$W/root.img" /acltest >/dev/null
  fi
}

teardown_file() {
  [ -n "${W:-}" ] && rm -rf "$W"
}

@test "user.* attributes need write permission to be set and removed; trusted.* the owner or root" {
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/xattr_perm -- /xattr_file
  [ "$status" -eq 0 ]
  [ "$output" = "root setxattr user.a: 0 
root setxattr user.b: 0 
uid 1000 getxattr user.a: 1 
uid 1000 setxattr user.a (no write permission): -1 EACCES
uid 1000 removexattr user.b (no write permission): -1 EACCES
uid 1000 removexattr trusted.c (not owner): -1 EPERM" ]
}

@test "POSIX ACL attributes and the mode bits (GNU cp -a keeps 755/644): the same as natively" {
  [ -x "$UM_GUEST_BIN/acl_mode" ] || skip "guest program acl_mode not built (target guest_acl_mode)"
  [ "$(id -u)" = 0 ] || skip "the native run needs root (it drops to uid 1000)"
  mkdir "$W/native"
  chmod 755 "$W" "$W/native"  # uid 1000 reaches the file, as in the guest
  native=$("$UM_GUEST_BIN/acl_mode" "$W/native" 2>&1)
  [[ "$native" == *"mode of file: 644"* ]] || skip "the host's $W does not keep POSIX ACLs: $native"
  run timeout 60 "$UMKERNEL" quiet "ubd0=$W/root.img" init=/bin/acl_mode -- /acltest
  diff <(echo "$native") <(echo "$output")
  [ "$status" -eq 0 ]
}
