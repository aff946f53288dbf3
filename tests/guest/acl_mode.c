// POSIX ACL attributes and the mode bits, as Linux's VFS keeps them on ext4 (what GNU cp -a,
// setfacl and getfacl rely on): mkdir keeps only the permission and sticky bits it is given,
// an access ACL the mode can say becomes the mode and is not stored, an extended one sets the
// group bits from its mask, chmod rewrites a stored ACL, malformed ACLs are refused, default
// ACLs are for directories, and only the owner may set an ACL. Prints facts only: its output
// natively (on ext4) and under umkernel must be the same.
//   acl_mode DIR   (DIR: an empty directory on ext4, run as root)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char* kAccess = "system.posix_acl_access";
static const char* kDefault = "system.posix_acl_default";

struct entry {
  uint16_t tag, perm;
  uint32_t id;
};

static size_t acl(char* out, const struct entry* e, int n, uint32_t version) {
  memcpy(out, &version, 4);
  memcpy(out + 4, e, n * sizeof *e);
  return 4 + n * sizeof *e;
}

static void report(const char* what, long r) {
  printf("%s: %ld %s\n", what, r, r < 0 ? strerrorname_np(errno) : "");
}

static void mode(const char* path) {
  struct stat st;
  if (stat(path, &st) == 0) printf("  mode of %s: %o\n", strrchr(path, '/') + 1, st.st_mode & 07777);
}

static void show_acl(const char* path) {
  char buf[256];
  long n = getxattr(path, kAccess, buf, sizeof buf);
  if (n < 0) {
    printf("  acl of %s: %s\n", strrchr(path, '/') + 1, strerrorname_np(errno));
    return;
  }
  printf("  acl of %s:", strrchr(path, '/') + 1);
  for (long off = 4; off + 8 <= n; off += 8) {
    struct entry e;
    memcpy(&e, buf + off, sizeof e);
    printf(" %x:%o", e.tag, e.perm);
  }
  printf("\n");
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  setvbuf(stdout, NULL, _IOLBF, 0);
  umask(022);
  char dir[512], file[600], sub[600], sgid[600];
  snprintf(dir, sizeof dir, "%s/acl", argv[1]);
  snprintf(file, sizeof file, "%s/file", dir);
  snprintf(sub, sizeof sub, "%s/sub", dir);
  snprintf(sgid, sizeof sgid, "%s/sgid", dir);
  char v[256];
  size_t n;

  report("mkdir(02700)", mkdir(dir, 02700));
  mode(dir);
  report("chmod(02755)", chmod(dir, 02755));
  report("mkdir(0700) in a setgid directory", mkdir(sgid, 0700));
  mode(sgid);
  report("mkdir(01777)", mkdir(sub, 01777));
  mode(sub);
  int fd = open(file, O_CREAT | O_WRONLY, 0600);
  close(fd);

  struct entry minimal[] = {{1, 6, ~0u}, {4, 4, ~0u}, {0x20, 4, ~0u}};
  n = acl(v, minimal, 3, 2);
  report("setxattr(minimal ACL rw-r--r--)", setxattr(file, kAccess, v, n, 0));
  mode(file);
  show_acl(file);

  struct entry ext[] = {{1, 7, ~0u}, {2, 7, 1000}, {4, 4, ~0u}, {0x10, 5, ~0u}, {0x20, 0, ~0u}};
  n = acl(v, ext, 5, 2);
  report("setxattr(named user, mask r-x)", setxattr(file, kAccess, v, n, 0));
  mode(file);
  show_acl(file);
  report("chmod(0640)", chmod(file, 0640));
  mode(file);
  show_acl(file);
  n = acl(v, minimal, 3, 2);
  report("setxattr(minimal again)", setxattr(file, kAccess, v, n, 0));
  mode(file);
  show_acl(file);

  n = acl(v, minimal, 3, 1);
  report("setxattr(version 1)", setxattr(file, kAccess, v, n, 0));
  struct entry unordered[] = {{4, 4, ~0u}, {1, 6, ~0u}, {0x20, 4, ~0u}};
  n = acl(v, unordered, 3, 2);
  report("setxattr(entries out of order)", setxattr(file, kAccess, v, n, 0));
  struct entry nomask[] = {{1, 6, ~0u}, {2, 6, 7}, {4, 4, ~0u}, {0x20, 4, ~0u}};
  n = acl(v, nomask, 4, 2);
  report("setxattr(named user, no mask)", setxattr(file, kAccess, v, n, 0));
  report("setxattr(odd size)", setxattr(file, kAccess, v, 7, 0));
  n = acl(v, minimal, 3, 2);
  report("setxattr(default ACL on a file)", setxattr(file, kDefault, v, n, 0));
  report("setxattr(default ACL on a directory)", setxattr(sub, kDefault, v, n, 0));
  report("getxattr(default ACL) size", getxattr(sub, kDefault, NULL, 0));
  n = acl(v, NULL, 0, 2);
  report("setxattr(empty default ACL)", setxattr(sub, kDefault, v, n, 0));
  report("getxattr(default ACL) after", getxattr(sub, kDefault, NULL, 0));

  report("chmod(0666)", chmod(file, 0666));
  if (setuid(1000) != 0) return 1;
  n = acl(v, minimal, 3, 2);
  report("uid 1000 setxattr(ACL) on root's file", setxattr(file, kAccess, v, n, 0));
  mode(file);
  return 0;
}
