#!/usr/bin/env bash
# Builds a root tree holding the host's own Debian userland (bash, coreutils, grep, sed, gawk,
# findutils, tar, gzip, procps, util-linux's mount/df, perl, python3 and its standard library):
# the binaries and every shared library they load, copied from this machine.
# Usage: debian_root.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"/{bin,sbin,lib,lib64,usr/bin,usr/lib,etc,tmp,proc,sys,dev,root,mnt}
chmod 1777 "$dir/tmp"
bins=(bash sh ls cat cp mv rm mkdir ln chmod touch sort uniq head tail wc tr seq sha256sum md5sum
      cut tee sleep env id uname date dd stat readlink true false echo printf test expr basename dirname
      grep sed gawk awk find xargs tar gzip gunzip ps free uptime kill pkill df mount umount
      perl python3 nproc tty)
copy() {  # copy a file with its directory, resolving symlinks into real files
  local f=$1
  [ -e "$dir$f" ] && return 0
  mkdir -p "$dir$(dirname "$f")"
  cp -L "$f" "$dir$f"
}
for b in "${bins[@]}"; do
  # Debian's own binaries, never a shim from PATH (pyenv and the like)
  p=""
  for d in /usr/bin /bin /usr/sbin /sbin; do [ -x "$d/$b" ] && { p="$d/$b"; break; }; done
  [ -n "$p" ] || continue
  case "$p" in /*) ;; *) continue ;; esac
  copy "$p"
  # usrmerge: /bin -> /usr/bin on the host; give the guest both paths
  [ -e "$dir/bin/$b" ] || ln -sf "$p" "$dir/bin/$b" 2>/dev/null || true
  for lib in $(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true); do copy "$lib"; done
done
# Interpreter standard libraries.
py=$(/usr/bin/python3 -c 'import sys; print(f"/usr/lib/python{sys.version_info[0]}.{sys.version_info[1]}")')
mkdir -p "$dir$py"
tar -C / --exclude='*/test' --exclude='*/tests' --exclude='*/idlelib' --exclude='*/tkinter' \
    --exclude='*/ensurepip' --exclude='__pycache__' -cf - "${py#/}" | tar -C "$dir" -xf -
for so in "$dir$py"/lib-dynload/*.so; do
  for lib in $(ldd "$so" 2>/dev/null | grep -o '/[^ ]*' || true); do copy "$lib"; done
done
for pdir in /usr/lib/x86_64-linux-gnu/perl-base /usr/share/perl5; do
  [ -d "$pdir" ] && { mkdir -p "$dir$pdir"; cp -a "$pdir/." "$dir$pdir/"; }
done
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$dir/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
echo debian-guest > "$dir/etc/hostname"
ln -sf /proc/self/mounts "$dir/etc/mtab"
