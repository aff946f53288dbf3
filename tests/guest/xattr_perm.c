// Who may change extended attributes (Linux's xattr_permission): user.* needs write
// permission on the file for setxattr and removexattr alike; other namespaces the owner or
// root. Run as root inside the guest: it makes a file, then drops to uid 1000.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static void report(const char* what, int r) { printf("%s: %d %s\n", what, r, r < 0 ? strerrorname_np(errno) : ""); }

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "/tmp/xattr_perm";
  setvbuf(stdout, NULL, _IOLBF, 0);
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  close(fd);
  report("root setxattr user.a", setxattr(path, "user.a", "1", 1, 0));
  report("root setxattr user.b", setxattr(path, "user.b", "2", 1, 0));
  if (setuid(1000) != 0) return 1;
  report("uid 1000 getxattr user.a", (int)getxattr(path, "user.a", NULL, 0));
  report("uid 1000 setxattr user.a (no write permission)", setxattr(path, "user.a", "x", 1, 0));
  report("uid 1000 removexattr user.b (no write permission)", removexattr(path, "user.b"));
  report("uid 1000 removexattr trusted.c (not owner)", removexattr(path, "trusted.c"));
  return 0;
}
