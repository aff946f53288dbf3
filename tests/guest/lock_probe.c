// lock_probe KIND ACTION FILE: takes a lock on FILE and says what happened, so that a test can
// see locks cross between host and guest processes (hostfs). KIND: flock or posix (an fcntl
// write lock on the whole file). ACTION: try (non-blocking: prints "locked" or "busy"), hold
// (waits for the lock, prints "HELD", keeps it until a line arrives on stdin) or wait (waits
// for the lock, prints "got it").
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static int lock(int fd, int posix, int wait) {
  if (!posix) return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: lock_probe flock|posix try|hold|wait FILE\n");
    return 2;
  }
  int posix = strcmp(argv[1], "posix") == 0;
  int fd = open(argv[3], O_RDWR | O_CREAT, 0644);
  if (fd < 0) {
    perror(argv[3]);
    return 1;
  }
  if (strcmp(argv[2], "try") == 0) {
    puts(lock(fd, posix, 0) == 0 ? "locked" : "busy");
    return 0;
  }
  if (lock(fd, posix, 1) != 0) {
    perror("lock");
    return 1;
  }
  if (strcmp(argv[2], "wait") == 0) {
    puts("got it");
    return 0;
  }
  puts("HELD");
  fflush(stdout);
  char line[64];
  if (!fgets(line, sizeof line, stdin)) return 0;
  return 0;
}
