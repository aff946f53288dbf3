// POSIX record locks that would wait for each other: the second F_SETLKW that would close
// the cycle gets EDEADLK (the first keeps waiting and gets its lock once the other gives
// up). OFD locks are not checked, as on Linux. Prints facts only. Usage: lock_deadlock DIR
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int lock(int fd, int cmd, short type, off_t start) {
  struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = 1};
  return fcntl(fd, cmd, &fl);
}

static const char* result(int r) { return r == 0 ? "0" : errno == EDEADLK ? "-1 EDEADLK" : strerror(errno); }

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  char path[4096];
  snprintf(path, sizeof path, "%s/lock_deadlock.dat", argv[1]);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || write(fd, "xy", 2) != 2) return 1;
  printf("parent locks byte 0: %s\n", result(lock(fd, F_SETLK, F_WRLCK, 0)));
  fflush(stdout);
  int ready[2];
  pipe(ready);
  pid_t pid = fork();
  if (pid == 0) {
    int cfd = open(path, O_RDWR);
    printf("child locks byte 1: %s\n", result(lock(cfd, F_SETLK, F_WRLCK, 1)));
    fflush(stdout);
    write(ready[1], "x", 1);
    struct timespec nap = {0, 300 * 1000 * 1000};  // let the parent block on byte 1 first
    nanosleep(&nap, NULL);
    printf("child waits for byte 0 (the parent waits for byte 1): %s\n", result(lock(cfd, F_SETLKW, F_WRLCK, 0)));
    fflush(stdout);
    _exit(0);  // its locks go, the parent gets byte 1
  }
  char c;
  read(ready[0], &c, 1);
  int r = lock(fd, F_SETLKW, F_WRLCK, 1);
  waitpid(pid, NULL, 0);
  printf("parent waits for byte 1: %s\n", result(r));
  return 0;
}
