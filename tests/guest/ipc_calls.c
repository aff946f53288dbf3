// System V IPC (shared memory, semaphores, message queues) and POSIX message queues as a
// program sees them: creation by key, IPC_CREAT|IPC_EXCL, permissions, attach/detach across
// fork and exec, IPC_RMID while in use, blocking calls woken by the other side, by removal
// (EIDRM) and by signals (EINTR), SEM_UNDO at exit. Prints facts only (no ids, addresses,
// pids or times), so its output natively equals its output under umkernel. Needs root for the
// permission checks (they run in a child that becomes uid 1000) and says so otherwise.
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %ld\n", what, r);
  fflush(stdout);
}
static void ok(const char* what, long r) {
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: ok\n", what);
  fflush(stdout);
}
static void fact(const char* what, int yes) {
  printf("%s: %s\n", what, yes ? "yes" : "no");
  fflush(stdout);
}

// A key of our own (the host may hold other objects): from the pid, never IPC_PRIVATE.
static key_t key_for(int n) { return (key_t)(0x5c000000 | ((getpid() & 0xfff) << 8) | n); }

// Waits (up to 10 s) until process `pid` sleeps in the kernel (state S in /proc/PID/stat).
static int wait_sleeping(pid_t pid) {
  char path[64], buf[256];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  for (int i = 0; i < 10000; i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0) {
      buf[n] = 0;
      char* p = strrchr(buf, ')');
      if (p && p[1] == ' ' && p[2] == 'S') return 1;
    }
    usleep(1000);
  }
  return 0;
}

static int exit_code(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid) return -1;
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

// The line of /proc/sysvipc/NAME for `id`: the given columns (1-based) of it.
static void sysvipc_line(const char* name, int id, const int* cols, int ncols) {
  char path[64];
  snprintf(path, sizeof path, "/proc/sysvipc/%s", name);
  FILE* f = fopen(path, "r");
  if (!f) {
    printf("%s: missing\n", path);
    return;
  }
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    char* fields[32];
    int n = 0;
    for (char* tok = strtok(line, " \t\n"); tok && n < 32; tok = strtok(NULL, " \t\n")) fields[n++] = tok;
    if (n > 1 && strcmp(fields[1], "") && atoi(fields[1]) == id && isdigit((unsigned char)fields[1][0])) {
      printf("%s:", path);
      for (int i = 0; i < ncols; i++) printf(" %s", cols[i] - 1 < n ? fields[cols[i] - 1] : "?");
      printf("\n");
      found = 1;
    }
  }
  fclose(f);
  if (!found) printf("%s: no line for the id\n", path);
  fflush(stdout);
}

static void on_usr1(int sig) { (void)sig; }

// --- shared memory ---

static int shm_nattch(int id) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) < 0) return -errno;
  return (int)ds.shm_nattch;
}

static void shm_perm_child(int id, key_t key) {
  setgid(1000);
  setuid(1000);
  show("uid 1000: shmat(0600 root segment)", (long)shmat(id, NULL, 0));
  show("uid 1000: shmget(key, 0, 0)", shmget(key, 0, 0) == id ? 0 : -1);
  show("uid 1000: shmget(key, 0, 0600)", shmget(key, 0, 0600) == id ? 0 : -1);
  struct shmid_ds ds;
  show("uid 1000: IPC_STAT", shmctl(id, IPC_STAT, &ds));
  show("uid 1000: SHM_STAT_ANY finds it", shmctl(id % 32768, SHM_STAT_ANY, &ds) == id ? 0 : -1);
  show("uid 1000: IPC_RMID", shmctl(id, IPC_RMID, NULL));
  show("uid 1000: SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
}

static void shm_perm_child2(int id) {
  setgid(1000);
  setuid(1000);
  void* p = shmat(id, NULL, SHM_RDONLY);
  ok("uid 1000: shmat(0644, SHM_RDONLY)", p == (void*)-1 ? -1 : 0);
  if (p != (void*)-1) printf("uid 1000 reads: %s\n", (char*)p);
  show("uid 1000: shmat(0644, read-write)", (long)shmat(id, NULL, 0));
}

static void shm_tests(void) {
  key_t key = key_for(1);
  show("shmget(PRIVATE, 0)", shmget(IPC_PRIVATE, 0, IPC_CREAT | 0600));
  show("shmget(key, no IPC_CREAT)", shmget(key, 4096, 0600));
  int id = shmget(key, 10000, IPC_CREAT | 0600);
  ok("shmget(key, 10000, IPC_CREAT)", id);
  show("shmget(key, IPC_CREAT|IPC_EXCL)", shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
  show("shmget(key, larger size)", shmget(key, 20000, 0600));
  show("shmget(key, smaller size) is the same id", shmget(key, 100, 0) == id ? 0 : -1);

  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  printf("IPC_STAT: segsz %zu mode %o nattch %lu cpid is me %d lpid %d key matches %d\n", ds.shm_segsz,
         ds.shm_perm.mode, (unsigned long)ds.shm_nattch, ds.shm_cpid == getpid(), ds.shm_lpid,
         ds.shm_perm.__key == key);

  char* p = shmat(id, NULL, 0);
  ok("shmat", p == (void*)-1 ? -1 : 0);
  strcpy(p, "hello");
  shmctl(id, IPC_STAT, &ds);
  printf("after shmat: nattch %lu lpid is me %d atime set %d\n", (unsigned long)ds.shm_nattch,
         ds.shm_lpid == getpid(), ds.shm_atime != 0);
  fact("the memory past 10000 bytes up to the page end is there", p[12287] == 0);

  // fork shares it; the child's exit detaches
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    printf("child reads: %s, nattch %d\n", p, shm_nattch(id));
    strcpy(p, "from the child");
    fflush(stdout);
    _exit(0);
  }
  exit_code(c);
  printf("parent reads: %s, nattch after the child exited %d\n", p, shm_nattch(id));

  // exec detaches: the new program sees only the parent's attachment
  fflush(stdout);
  c = fork();
  if (c == 0) {
    char arg[32];
    snprintf(arg, sizeof arg, "%d", id);
    execl("/proc/self/exe", "ipc_calls", "shm_after_exec", arg, (char*)NULL);
    _exit(99);
  }
  printf("exec'd child exit: %d\n", exit_code(c));

  // a second attachment: same memory, counted, detached alone
  char* q = shmat(id, NULL, 0);
  fact("a second attachment is elsewhere and shares the data", q != p && strcmp(q, "from the child") == 0);
  printf("nattch with two: %d\n", shm_nattch(id));
  show("shmdt(second)", shmdt(q));
  printf("nattch: %d\n", shm_nattch(id));
  show("shmdt(second) again", shmdt(q));
  show("shmdt(unaligned)", shmdt(p + 1));
  show("shmdt(never attached)", shmdt((char*)0x10000));

  // fixed addresses: SHM_RND, occupied ranges, SHM_REMAP
  char* area = mmap(NULL, 5 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  show("shmat(unaligned, no SHM_RND)", (long)shmat(id, area + 4096 + 10, 0));
  show("shmat(occupied, no SHM_REMAP)", (long)shmat(id, area + 4096, 0));
  char* r = shmat(id, area + 4096 + 10, SHM_RND | SHM_REMAP);
  fact("shmat(SHM_RND|SHM_REMAP) lands on the rounded address", r == area + 4096);
  fact("and shares the data", r != (void*)-1 && strcmp(r, "from the child") == 0);
  show("shmat(NULL, SHM_REMAP)", (long)shmat(id, NULL, SHM_REMAP));
  printf("nattch: %d\n", shm_nattch(id));
  show("munmap(the attachment)", munmap(r, 3 * 4096));
  printf("nattch after munmap: %d\n", shm_nattch(id));
  munmap(area, 5 * 4096);

  // a split attachment counts twice; shmdt takes both pieces
  r = shmat(id, NULL, 0);
  munmap(r + 4096, 4096);
  printf("nattch after unmapping the middle page: %d\n", shm_nattch(id));
  show("shmdt(split attachment)", shmdt(r));
  printf("nattch: %d\n", shm_nattch(id));

  // read-only attachments fault on writes
  fflush(stdout);
  c = fork();
  if (c == 0) {
    char* ro = shmat(id, NULL, SHM_RDONLY);
    printf("read-only attachment reads: %s\n", ro);
    fflush(stdout);
    ro[0] = 'x';
    _exit(0);
  }
  printf("child writing a read-only attachment: %d\n", exit_code(c));

  // IPC_SET, permissions
  shmctl(id, IPC_STAT, &ds);
  ds.shm_perm.mode = 0640;
  show("IPC_SET mode 0640", shmctl(id, IPC_SET, &ds));
  shmctl(id, IPC_STAT, &ds);
  printf("mode now %o\n", ds.shm_perm.mode);
  ds.shm_perm.mode = 0600;
  shmctl(id, IPC_SET, &ds);
  if (geteuid() == 0) {
    fflush(stdout);
    c = fork();
    if (c == 0) {
      shm_perm_child(id, key);
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
    ds.shm_perm.mode = 0644;
    shmctl(id, IPC_SET, &ds);
    fflush(stdout);
    c = fork();
    if (c == 0) {
      shm_perm_child2(id);
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
  } else {
    printf("root-only shm checks: skipped\n");
  }
  show("SHM_LOCK", shmctl(id, SHM_LOCK, NULL));
  shmctl(id, IPC_STAT, &ds);
  printf("mode has SHM_LOCKED: %d\n", (ds.shm_perm.mode & SHM_LOCKED) != 0);
  show("SHM_UNLOCK", shmctl(id, SHM_UNLOCK, NULL));

  // info and errors
  struct shminfo info;
  fact("IPC_INFO answers the highest index", shmctl(0, IPC_INFO, (struct shmid_ds*)&info) >= 0);
  printf("shmmin %lu\n", info.shmmin);
  struct shm_info sinfo;
  fact("SHM_INFO counts segments", shmctl(0, SHM_INFO, (struct shmid_ds*)&sinfo) >= 0 && sinfo.used_ids >= 1);
  fact("SHM_STAT by index gives the id", shmctl(id % 32768, SHM_STAT, &ds) == id);
  show("shmctl(bad command)", shmctl(id, 77, &ds));
  show("shmctl(-1, IPC_STAT)", shmctl(-1, IPC_STAT, &ds));
  show("shmctl(IPC_STAT, bad buffer)", shmctl(id, IPC_STAT, (struct shmid_ds*)16));
  show("shmctl(stale id)", shmctl(id + 32768 * 7, IPC_STAT, &ds));
  {
    int cols[] = {3, 4, 7};
    sysvipc_line("shm", id, cols, 3);
  }

  // IPC_RMID while attached: marked, key gone, still attachable by id until the last detach
  show("IPC_RMID (attached)", shmctl(id, IPC_RMID, NULL));
  shmctl(id, IPC_STAT, &ds);
  printf("after IPC_RMID: SHM_DEST %d key %d nattch %lu\n", (ds.shm_perm.mode & SHM_DEST) != 0,
         ds.shm_perm.__key, (unsigned long)ds.shm_nattch);
  show("shmget(key) after IPC_RMID", shmget(key, 0, 0));
  q = shmat(id, NULL, 0);
  fact("shmat by id after IPC_RMID still works", q != (void*)-1 && strcmp(q, "from the child") == 0);
  shmdt(q);
  fact("still there with one attachment", shm_nattch(id) == 1);
  shmdt(p);
  show("IPC_STAT after the last detach", shmctl(id, IPC_STAT, &ds));
  int id2 = shmget(IPC_PRIVATE, 4096, 0600);
  show("IPC_RMID (unattached) destroys at once", shmctl(id2, IPC_RMID, NULL) == 0 && shmctl(id2, IPC_STAT, &ds) < 0 ? 0 : -1);
}

static void shm_after_exec(int id) { printf("after exec: nattch %d\n", shm_nattch(id)); }

// --- semaphores ---

static int semval(int id, int n) { return semctl(id, n, GETVAL); }

static int semop1(int id, int num, int op, int flg) {
  struct sembuf b = {(unsigned short)num, (short)op, (short)flg};
  return semop(id, &b, 1);
}

static void sem_perm_child(int id) {
  setgid(1000);
  setuid(1000);
  show("uid 1000: semop", semop1(id, 0, 1, 0));
  show("uid 1000: GETVAL", semctl(id, 0, GETVAL));
  show("uid 1000: IPC_RMID", semctl(id, 0, IPC_RMID));
}

static void sem_tests(void) {
  key_t key = key_for(2);
  show("semget(PRIVATE, 0)", semget(IPC_PRIVATE, 0, 0600));
  show("semget(PRIVATE, -1)", semget(IPC_PRIVATE, -1, 0600));
  show("semget(key, no IPC_CREAT)", semget(key, 2, 0600));
  int id = semget(key, 3, IPC_CREAT | 0600);
  ok("semget(key, 3)", id);
  show("semget(key, IPC_EXCL)", semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
  show("semget(key, 4 sems)", semget(key, 4, 0600));
  show("semget(key, 0 sems) is the same id", semget(key, 0, 0) == id ? 0 : -1);
  struct semid_ds ds;
  semctl(id, 0, IPC_STAT, &ds);
  printf("IPC_STAT: nsems %lu mode %o otime %ld\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode, (long)ds.sem_otime);

  show("SETVAL 5", semctl(id, 0, SETVAL, 5));
  show("GETVAL", semctl(id, 0, GETVAL));
  fact("GETPID is me", semctl(id, 0, GETPID) == getpid());
  show("GETPID of an untouched one", semctl(id, 1, GETPID));
  show("SETVAL 32768", semctl(id, 0, SETVAL, 32768));
  show("SETVAL -1", semctl(id, 0, SETVAL, -1));
  show("SETVAL semnum 3", semctl(id, 3, SETVAL, 1));
  unsigned short all[3] = {1, 2, 3};
  show("SETALL", semctl(id, 0, SETALL, all));
  memset(all, 0, sizeof all);
  show("GETALL", semctl(id, 0, GETALL, all));
  printf("values %d %d %d\n", all[0], all[1], all[2]);
  unsigned short big[3] = {1, 40000, 3};
  show("SETALL (a value above SEMVMX)", semctl(id, 0, SETALL, big));
  show("GETALL (bad buffer)", semctl(id, 0, GETALL, (void*)16));

  // semop: all or nothing
  struct sembuf two[2] = {{0, -1, IPC_NOWAIT}, {1, -5, IPC_NOWAIT}};
  show("semop(two, second must wait, IPC_NOWAIT)", semop(id, two, 2));
  printf("values unchanged: %d %d\n", semval(id, 0), semval(id, 1));
  two[1].sem_op = -2;
  show("semop(two)", semop(id, two, 2));
  printf("values: %d %d\n", semval(id, 0), semval(id, 1));
  show("semop(wait for zero on 2, IPC_NOWAIT)", semop1(id, 2, 0, IPC_NOWAIT));
  show("semop(wait for zero on 0)", semop1(id, 0, 0, 0));
  struct sembuf seq[3] = {{2, -3, 0}, {2, 1, 0}, {2, -1, 0}};
  show("semop(the same semaphore three times)", semop(id, seq, 3));
  printf("value: %d\n", semval(id, 2));
  show("semop(sem_num 3)", semop1(id, 3, 1, 0));
  show("semop(nsops 0)", semop(id, two, 0));
  show("semop(nsops 501)", semop(id, two, 501));
  semctl(id, 0, SETVAL, 32767);
  show("semop(above SEMVMX)", semop1(id, 0, 1, 0));
  show("semop(bad sops)", semop(id, (struct sembuf*)16, 1));
  show("semop(stale id)", semop1(id + 32768 * 5, 0, 1, 0));
  semctl(id, 0, SETVAL, 0);
  struct timespec ts = {0, 20 * 1000 * 1000};
  show("semtimedop(20 ms, must wait)", semtimedop(id, two, 1, &ts));
  ts.tv_nsec = 1000000000;
  show("semtimedop(tv_nsec 1e9)", semtimedop(id, two, 1, &ts));

  // a blocked semop, counted in GETNCNT, woken by an increment
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    int r = semop1(id, 0, -2, 0);
    printf("child: semop(-2) after waiting: %d, value %d\n", r, semval(id, 0));
    fflush(stdout);
    _exit(0);
  }
  wait_sleeping(c);
  printf("GETNCNT %d GETZCNT %d\n", semctl(id, 0, GETNCNT), semctl(id, 0, GETZCNT));
  semop1(id, 0, 1, 0);
  printf("after +1: GETNCNT %d\n", semctl(id, 0, GETNCNT));
  semop1(id, 0, 1, 0);
  exit_code(c);

  // wait for zero
  semctl(id, 1, SETVAL, 1);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int r = semop1(id, 1, 0, 0);
    printf("child: wait-for-zero returned %d\n", r);
    fflush(stdout);
    _exit(0);
  }
  wait_sleeping(c);
  printf("GETZCNT %d\n", semctl(id, 1, GETZCNT));
  semop1(id, 1, -1, 0);
  exit_code(c);

  // SEM_UNDO: undone at exit, clamped, reset by SETVAL
  semctl(id, 0, SETVAL, 1);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    semop1(id, 0, 2, SEM_UNDO);
    semop1(id, 0, -1, SEM_UNDO);
    printf("child: value %d\n", semval(id, 0));
    fflush(stdout);
    _exit(0);
  }
  exit_code(c);
  printf("after the child's exit: %d\n", semval(id, 0));
  int to_parent[2], to_child[2];
  pipe(to_parent);
  pipe(to_child);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    semop1(id, 0, 3, SEM_UNDO);
    write(to_parent[1], "x", 1);
    char b;
    read(to_child[0], &b, 1);
    _exit(0);
  }
  char b;
  read(to_parent[0], &b, 1);
  semctl(id, 0, SETVAL, 0);  // resets the child's adjustment
  semop1(id, 0, 2, 0);
  write(to_child[1], "y", 1);
  exit_code(c);
  printf("after SETVAL and the child's exit: %d\n", semval(id, 0));
  fflush(stdout);
  c = fork();
  if (c == 0) {
    semop1(id, 0, -2, SEM_UNDO);  // adjustment +2
    semctl(id, 0, SETVAL, 32767);
    _exit(0);
  }
  exit_code(c);
  printf("undo past SEMVMX is clamped: %d\n", semval(id, 0));
  // threads share the undo list: a vfork child (CLONE_VM, not CLONE_SYSVSEM) does not
  semctl(id, 0, SETVAL, 0);
  c = vfork();
  if (c == 0) {
    semop1(id, 0, 1, SEM_UNDO);
    _exit(0);
  }
  exit_code(c);
  printf("a vfork child's undo is applied at its exit: %d\n", semval(id, 0));

  // a signal ends a wait with EINTR, SA_RESTART or not
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  semctl(id, 0, SETVAL, 0);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int r = semop1(id, 0, -1, 0);
    printf("child: semop interrupted: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    fflush(stdout);
    _exit(0);
  }
  wait_sleeping(c);
  kill(c, SIGUSR1);
  exit_code(c);
  printf("GETNCNT after the interrupted wait: %d\n", semctl(id, 0, GETNCNT));

  // permissions
  if (geteuid() == 0) {
    fflush(stdout);
    c = fork();
    if (c == 0) {
      sem_perm_child(id);
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
  } else {
    printf("root-only sem checks: skipped\n");
  }
  semctl(id, 0, IPC_STAT, &ds);
  ds.sem_perm.mode = 0666;
  show("IPC_SET", semctl(id, 0, IPC_SET, &ds));
  semctl(id, 0, IPC_STAT, &ds);
  printf("mode %o otime set %d\n", ds.sem_perm.mode, ds.sem_otime != 0);
  struct seminfo si;
  fact("IPC_INFO", semctl(0, 0, IPC_INFO, &si) >= 0);
  printf("semvmx %d semmsl %d\n", si.semvmx, si.semmsl);
  fact("SEM_INFO counts sets", semctl(0, 0, SEM_INFO, &si) >= 0 && si.semusz >= 1);
  fact("SEM_STAT by index gives the id", semctl(id % 32768, 0, SEM_STAT, &ds) == id);
  show("semctl(bad command)", semctl(id, 0, 99));
  {
    int cols[] = {3, 4};
    sysvipc_line("sem", id, cols, 2);
  }

  // removal wakes waiters with EIDRM
  fflush(stdout);
  c = fork();
  if (c == 0) {
    int r = semop1(id, 2, -1, 0);
    printf("child: semop on a removed set: %d %s\n", r, r < 0 ? strerrorname_np(errno) : "");
    fflush(stdout);
    _exit(0);
  }
  wait_sleeping(c);
  long rm = semctl(id, 0, IPC_RMID);
  exit_code(c);
  show("IPC_RMID", rm);
  show("GETVAL after IPC_RMID", semctl(id, 0, GETVAL));
}

// --- message queues ---

struct msg {
  long type;
  char text[64];
};

static int snd(int id, long type, const char* text, int flg) {
  struct msg m = {type, ""};
  strncpy(m.text, text, sizeof m.text - 1);
  return msgsnd(id, &m, strlen(text) + 1, flg);
}

static void rcv(int id, long type, size_t size, int flg, const char* what) {
  struct msg m = {0, ""};
  ssize_t r = msgrcv(id, &m, size, type, flg);
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %zd type %ld \"%.*s\"\n", what, r, m.type, (int)r, m.text);
  fflush(stdout);
}

static void msg_perm_child(int id) {
  setgid(1000);
  setuid(1000);
  show("uid 1000: msgsnd(0600 root queue)", snd(id, 1, "x", IPC_NOWAIT));
  rcv(id, 0, 64, IPC_NOWAIT, "uid 1000: msgrcv");
  show("uid 1000: IPC_RMID", msgctl(id, IPC_RMID, NULL));
}

static void msg_tests(void) {
  key_t key = key_for(3);
  show("msgget(key, no IPC_CREAT)", msgget(key, 0600));
  int id = msgget(key, IPC_CREAT | 0600);
  ok("msgget(key, IPC_CREAT)", id);
  show("msgget(key, IPC_EXCL)", msgget(key, IPC_CREAT | IPC_EXCL | 0600));
  show("msgget(key) is the same id", msgget(key, 0) == id ? 0 : -1);
  show("msgsnd(type 0)", snd(id, 0, "zero", 0));
  struct msg m = {1, ""};
  show("msgsnd(size 8193)", msgsnd(id, &m, 8193, 0));
  show("msgsnd(bad buffer)", msgsnd(id, (void*)16, 4, 0));
  snd(id, 3, "three", 0);
  snd(id, 1, "one", 0);
  snd(id, 2, "two", 0);
  snd(id, 1, "one again", 0);
  struct msqid_ds ds;
  msgctl(id, IPC_STAT, &ds);
  printf("IPC_STAT: qnum %lu cbytes %lu qbytes %lu lspid is me %d lrpid %d\n", (unsigned long)ds.msg_qnum,
         (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes, ds.msg_lspid == getpid(), ds.msg_lrpid);
  rcv(id, 0, 64, MSG_COPY | IPC_NOWAIT, "msgrcv(MSG_COPY index 0)");
  rcv(id, 2, 64, MSG_COPY | IPC_NOWAIT, "msgrcv(MSG_COPY index 2)");
  rcv(id, 9, 64, MSG_COPY | IPC_NOWAIT, "msgrcv(MSG_COPY index 9)");
  rcv(id, 0, 64, MSG_COPY, "msgrcv(MSG_COPY without IPC_NOWAIT)");
  rcv(id, 2, 2, 0, "msgrcv(type 2, 2-byte buffer)");
  rcv(id, 2, 2, MSG_NOERROR, "msgrcv(type 2, MSG_NOERROR)");
  rcv(id, -2, 64, 0, "msgrcv(type -2)");
  rcv(id, 1, 64, MSG_EXCEPT, "msgrcv(MSG_EXCEPT 1)");
  rcv(id, 0, 64, 0, "msgrcv(type 0)");
  rcv(id, 0, 64, IPC_NOWAIT, "msgrcv(empty, IPC_NOWAIT)");
  rcv(id, 0, (size_t)-1, IPC_NOWAIT, "msgrcv(size -1)");
  msgctl(id, IPC_STAT, &ds);
  printf("IPC_STAT: qnum %lu cbytes %lu lrpid is me %d\n", (unsigned long)ds.msg_qnum,
         (unsigned long)ds.__msg_cbytes, ds.msg_lrpid == getpid());

  // a blocked receiver gets the message sent later
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    rcv(id, 5, 64, 0, "child: msgrcv(type 5) after waiting");
    _exit(0);
  }
  wait_sleeping(c);
  snd(id, 4, "four", 0);
  snd(id, 5, "five", 0);
  exit_code(c);
  rcv(id, 0, 64, IPC_NOWAIT, "left");

  // a full queue: EAGAIN, or a wait until a receiver makes room
  msgctl(id, IPC_STAT, &ds);
  ds.msg_qbytes = 10;
  show("IPC_SET qbytes 10", msgctl(id, IPC_SET, &ds));
  show("msgsnd 6 bytes", snd(id, 1, "abcde", 0));
  show("msgsnd 6 more, IPC_NOWAIT", snd(id, 1, "fghij", IPC_NOWAIT));
  fflush(stdout);
  c = fork();
  if (c == 0) {
    show("child: msgsnd after waiting", snd(id, 1, "fghij", 0));
    _exit(0);
  }
  wait_sleeping(c);
  struct msg room;
  ssize_t got = msgrcv(id, &room, sizeof room.text, 0, 0);
  exit_code(c);  // (printed after the child's line: the order is otherwise a race)
  printf("msgrcv made room: %zd \"%s\"\n", got, room.text);
  rcv(id, 0, 64, IPC_NOWAIT, "then");
  ds.msg_qbytes = 16384;
  msgctl(id, IPC_SET, &ds);

  // signals: EINTR even with SA_RESTART
  struct sigaction sa = {0};
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    rcv(id, 0, 64, 0, "child: msgrcv interrupted");
    _exit(0);
  }
  wait_sleeping(c);
  kill(c, SIGUSR1);
  exit_code(c);

  if (geteuid() == 0) {
    fflush(stdout);
    c = fork();
    if (c == 0) {
      msg_perm_child(id);
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
    // raising qbytes above msgmnb needs CAP_SYS_RESOURCE
    msgctl(id, IPC_STAT, &ds);
    ds.msg_perm.uid = 1000;
    msgctl(id, IPC_SET, &ds);
    fflush(stdout);
    c = fork();
    if (c == 0) {
      setgid(1000);
      setuid(1000);
      struct msqid_ds d;
      msgctl(id, IPC_STAT, &d);
      d.msg_qbytes = 100000;
      show("uid 1000 (owner): IPC_SET qbytes above msgmnb", msgctl(id, IPC_SET, &d));
      d.msg_qbytes = 100;
      show("uid 1000 (owner): IPC_SET qbytes 100", msgctl(id, IPC_SET, &d));
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
  } else {
    printf("root-only msg checks: skipped\n");
  }
  struct msginfo mi;
  fact("IPC_INFO", msgctl(0, IPC_INFO, (struct msqid_ds*)&mi) >= 0);
  printf("msgmax %d msgmnb %d\n", mi.msgmax, mi.msgmnb);
  fact("MSG_STAT by index gives the id", msgctl(id % 32768, MSG_STAT, &ds) == id);
  show("msgctl(bad command)", msgctl(id, 99, &ds));
  snd(id, 7, "queued", 0);
  {
    int cols[] = {3, 4, 5};
    sysvipc_line("msg", id, cols, 3);
  }

  // removal wakes receivers with EIDRM
  fflush(stdout);
  c = fork();
  if (c == 0) {
    rcv(id, 8, 64, 0, "child: msgrcv on a removed queue");
    _exit(0);
  }
  wait_sleeping(c);
  long rm = msgctl(id, IPC_RMID, NULL);
  exit_code(c);
  show("IPC_RMID", rm);
  show("msgsnd after IPC_RMID", snd(id, 1, "x", 0));
}


// --- POSIX message queues ---

static char mq_name[64];

static void mq_show_attr(mqd_t q, const char* when) {
  struct mq_attr a;
  if (mq_getattr(q, &a) < 0) {
    printf("%s: mq_getattr -1 %s\n", when, strerrorname_np(errno));
    return;
  }
  printf("%s: flags %s maxmsg %ld msgsize %ld curmsgs %ld\n", when, a.mq_flags & O_NONBLOCK ? "O_NONBLOCK" : "0",
         a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs);
  fflush(stdout);
}

static void mq_rcv(mqd_t q, size_t len, const struct timespec* abs, const char* what) {
  char buf[256] = "";
  unsigned prio = 99;
  ssize_t r = abs ? mq_timedreceive(q, buf, len, &prio, abs) : mq_receive(q, buf, len, &prio);
  if (r < 0) printf("%s: -1 %s\n", what, strerrorname_np(errno));
  else printf("%s: %zd prio %u \"%.*s\"\n", what, r, prio, (int)r, buf);
  fflush(stdout);
}

static struct timespec after_ms(int ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_nsec += (long)ms * 1000000;
  ts.tv_sec += ts.tv_nsec / 1000000000;
  ts.tv_nsec %= 1000000000;
  return ts;
}

static const char* poll_names(short ev) {
  static char out[64];
  snprintf(out, sizeof out, "%s%s%s", ev & POLLIN ? "IN " : "", ev & POLLOUT ? "OUT " : "", ev ? "" : "none");
  return out;
}

static int pipe_fds[2];
static void mq_thread_fn(union sigval v) {
  char b = (char)v.sival_int;
  write(pipe_fds[1], &b, 1);
}

static volatile sig_atomic_t got_usr1;
static void count_usr1(int sig) { got_usr1++; }

static void mq_perm_child(void) {
  setgid(1000);
  setuid(1000);
  ok("uid 1000: mq_open(0644 root queue, O_RDONLY)", mq_open(mq_name, O_RDONLY));
  show("uid 1000: mq_open(0644 root queue, O_WRONLY)", mq_open(mq_name, O_WRONLY));
  show("uid 1000: mq_unlink(root's queue)", mq_unlink(mq_name));
  // RLIMIT_MSGQUEUE: what one user's queues may hold
  struct rlimit rl = {100000, 100000};
  setrlimit(RLIMIT_MSGQUEUE, &rl);
  char n1[80], n2[80];
  snprintf(n1, sizeof n1, "%s_u1", mq_name);
  snprintf(n2, sizeof n2, "%s_u2", mq_name);
  struct mq_attr a = {0, 10, 8192, 0};
  mqd_t q1 = mq_open(n1, O_CREAT | O_RDWR, 0600, &a);
  ok("uid 1000: first 10x8192 queue under RLIMIT_MSGQUEUE 100000", q1);
  show("uid 1000: a second one", mq_open(n2, O_CREAT | O_RDWR, 0600, &a));
  a.mq_maxmsg = 11;
  show("uid 1000: maxmsg above msg_max", mq_open(n2, O_CREAT | O_RDWR, 0600, &a));
  mq_unlink(n1);
  mq_unlink(n2);
}

static void mq_tests(void) {
  snprintf(mq_name, sizeof mq_name, "/um_ipc_test_%d", getpid());
  mq_unlink(mq_name);
  show("mq_open(missing, no O_CREAT)", mq_open(mq_name, O_RDWR));
  show("mq_open(no leading slash)", mq_open("abc", O_RDWR | O_CREAT, 0600, NULL));
  show("mq_open syscall(\"a/b\")", syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL));
  show("mq_open syscall(\"\")", syscall(SYS_mq_open, "", O_RDWR | O_CREAT, 0600, NULL));
  show("mq_open syscall(\"..\")", syscall(SYS_mq_open, "..", O_RDWR | O_CREAT, 0600, NULL));
  char longname[300];
  memset(longname, 'x', sizeof longname);
  longname[0] = '/';
  longname[257] = 0;
  show("mq_open(256-byte name)", mq_open(longname, O_RDWR | O_CREAT, 0600, NULL));
  struct mq_attr a = {0, 0, 64, 0};
  show("mq_open(maxmsg 0)", mq_open(mq_name, O_RDWR | O_CREAT, 0600, &a));
  a.mq_maxmsg = 4;
  a.mq_msgsize = 17 * 1024 * 1024;
  show("mq_open(msgsize 17 MiB)", mq_open(mq_name, O_RDWR | O_CREAT, 0600, &a));
  a.mq_msgsize = 64;
  mode_t old = umask(022);
  mqd_t q = mq_open(mq_name, O_RDWR | O_CREAT | O_EXCL, 0666, &a);
  umask(old);
  ok("mq_open(O_CREAT|O_EXCL, maxmsg 4, msgsize 64)", q);
  show("mq_open(O_CREAT|O_EXCL) again", mq_open(mq_name, O_RDWR | O_CREAT | O_EXCL, 0600, &a));
  show("mq_open(existing, access mode 3)", mq_open(mq_name, 3));
  mq_show_attr(q, "new queue");
  struct pollfd pfd = {q, POLLIN | POLLOUT, 0};
  poll(&pfd, 1, 0);
  printf("poll, empty: %s\n", poll_names(pfd.revents));

  mq_send(q, "a", 1, 1);
  mq_send(q, "b", 1, 5);
  mq_send(q, "c", 1, 1);
  show("mq_send 4th", mq_send(q, "d", 1, 5));
  poll(&pfd, 1, 0);
  printf("poll, full: %s\n", poll_names(pfd.revents));
  struct timespec ts = after_ms(20);
  show("mq_timedsend(full, 20 ms)", mq_timedsend(q, "e", 1, 0, &ts));
  struct mq_attr nb = {O_NONBLOCK, 0, 0, 0}, prev;
  show("mq_setattr(O_NONBLOCK)", mq_setattr(q, &nb, &prev));
  printf("previous flags: %ld\n", prev.mq_flags);
  show("mq_send(full, O_NONBLOCK)", mq_send(q, "e", 1, 0));
  mq_show_attr(q, "full queue");
  struct mq_attr bad = {O_NONBLOCK | O_APPEND, 0, 0, 0};
  show("mq_setattr(O_APPEND)", mq_setattr(q, &bad, NULL));
  nb.mq_flags = 0;
  mq_setattr(q, &nb, NULL);

  char big[65] = {0};
  show("mq_send(65 bytes)", mq_send(q, big, 65, 0));
  show("mq_send(prio 32768)", mq_send(q, "x", 1, 32768));
  ts.tv_nsec = 1000000000;
  show("mq_timedsend(tv_nsec 1e9)", mq_timedsend(q, "x", 1, 0, &ts));
  mq_rcv(q, 63, NULL, "mq_receive(63-byte buffer)");
  for (int i = 0; i < 4; i++) mq_rcv(q, 64, NULL, "mq_receive");
  ts = after_ms(20);
  mq_rcv(q, 64, &ts, "mq_timedreceive(empty, 20 ms)");
  mq_send(q, "z", 1, 0);
  poll(&pfd, 1, 0);
  printf("poll, one message: %s\n", poll_names(pfd.revents));
  mq_rcv(q, 64, NULL, "mq_receive");
  show("mq_send(bad buffer)", mq_send(q, (char*)16, 4, 0));
  mqd_t wo = mq_open(mq_name, O_WRONLY);
  mq_rcv(wo, 64, NULL, "mq_receive on O_WRONLY");
  show("mq_send on a pipe", mq_send(0, "x", 1, 0));
  mq_close(wo);

  // /proc/self/fd names it; the mqueue file system shows it
  char link[128] = "", path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", q);
  ssize_t n = readlink(path, link, sizeof link - 1);
  if (n > 0) link[n] = 0;
  fact("readlink of the fd is the name", strcmp(link, mq_name) == 0);
  char dir[] = "/tmp/um_mq_mnt";
  mkdir(dir, 0755);
  ok("mount -t mqueue", mount("mqueue", dir, "mqueue", 0, NULL));
  char file[128];
  snprintf(file, sizeof file, "%s%s", dir, mq_name);
  struct stat st;
  if (stat(file, &st) == 0) printf("stat: mode %o size %lld\n", st.st_mode, (long long)st.st_size);
  mq_send(q, "status", 6, 3);
  int fd = open(file, O_RDONLY);
  char text[200] = "";
  n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n > 0) text[n] = 0;
  printf("reading the file: %s", text);
  struct sigevent sev = {0};
  sev.sigev_notify = SIGEV_SIGNAL;
  sev.sigev_signo = SIGUSR2;
  mq_rcv(q, 64, NULL, "mq_receive");
  show("mq_notify(SIGEV_SIGNAL SIGUSR2)", mq_notify(q, &sev));
  fd = open(file, O_RDONLY);
  n = read(fd, text, sizeof text - 1);
  close(fd);
  if (n > 0) text[n] = 0;
  char* np = strstr(text, "NOTIFY_PID:");
  if (np) *np = 0;  // the pid differs
  printf("with a notification: %s\n", text);
  struct statfs sfs;
  statfs(dir, &sfs);
  printf("statfs type %#lx\n", (unsigned long)sfs.f_type);

  // notifications: once, to an empty queue, with the sender's pid
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_BLOCK, &set, NULL);
  fflush(stdout);
  pid_t c = fork();
  if (c == 0) {
    show("child: mq_notify while another process is registered", mq_notify(q, &sev));
    _exit(0);
  }
  exit_code(c);
  mq_send(q, "n1", 2, 0);
  siginfo_t si;
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&set, &si, &zero);
  printf("notified: %s code SI_MESGQ %d pid is me %d\n", sig == SIGUSR2 ? "SIGUSR2" : "nothing",
         si.si_code == SI_MESGQ, si.si_pid == getpid());
  mq_send(q, "n2", 2, 0);
  printf("again without registering: %s\n", sigtimedwait(&set, &si, &zero) < 0 ? "nothing" : "a signal");
  show("mq_notify(register, queue not empty)", mq_notify(q, &sev));
  mq_send(q, "n3", 2, 0);
  printf("a message to a non-empty queue: %s\n", sigtimedwait(&set, &si, &zero) < 0 ? "nothing" : "a signal");
  show("mq_notify(NULL)", mq_notify(q, NULL));
  show("mq_notify(register)", mq_notify(q, &sev));
  show("mq_notify(NULL)", mq_notify(q, NULL));
  for (int i = 0; i < 3; i++) mq_rcv(q, 64, NULL, "drain");
  mq_notify(q, &sev);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    mq_send(q, "from child", 10, 0);
    _exit(0);
  }
  exit_code(c);
  sig = sigtimedwait(&set, &si, &zero);
  printf("notified by the child's send: %s pid is the child %d\n", sig == SIGUSR2 ? "yes" : "no", si.si_pid == c);
  mq_rcv(q, 64, NULL, "mq_receive");
  sev.sigev_signo = 0;
  show("mq_notify(signal 0)", mq_notify(q, &sev));
  show("mq_notify(NULL)", mq_notify(q, NULL));
  sev.sigev_signo = 65;
  show("mq_notify(signal 65)", mq_notify(q, &sev));
  sev.sigev_notify = 77;
  show("mq_notify(sigev_notify 77)", mq_notify(q, &sev));
  sigprocmask(SIG_UNBLOCK, &set, NULL);

  // SIGEV_THREAD: glibc's helper thread runs the function (the kernel writes to its netlink socket)
  pipe(pipe_fds);
  struct sigevent tev = {0};
  tev.sigev_notify = SIGEV_THREAD;
  tev.sigev_notify_function = mq_thread_fn;
  tev.sigev_value.sival_int = 'T';
  show("mq_notify(SIGEV_THREAD)", mq_notify(q, &tev));
  mq_send(q, "t", 1, 0);
  char tb = 0;
  struct pollfd tp = {pipe_fds[0], POLLIN, 0};
  if (poll(&tp, 1, 10000) == 1) read(pipe_fds[0], &tb, 1);
  printf("the notification thread ran: %c\n", tb ? tb : '-');
  mq_rcv(q, 64, NULL, "mq_receive");

  // blocking: a receiver woken by a send, a sender woken by a receive
  fflush(stdout);
  c = fork();
  if (c == 0) {
    mq_rcv(q, 64, NULL, "child: mq_receive after waiting");
    _exit(0);
  }
  wait_sleeping(c);
  mq_send(q, "wake", 4, 2);
  exit_code(c);
  for (int i = 0; i < 4; i++) mq_send(q, "f", 1, 0);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    show("child: mq_send after waiting", mq_send(q, "late", 4, 9));
    _exit(0);
  }
  wait_sleeping(c);
  char rb[64];
  unsigned rp;
  ssize_t got = mq_receive(q, rb, 64, &rp);
  exit_code(c);
  printf("the receive that made room: %zd\n", got);
  mq_rcv(q, 64, NULL, "next (the late one, prio 9)");
  for (int i = 0; i < 3; i++) mq_receive(q, rb, 64, &rp);

  // signals: EINTR without SA_RESTART; with it, the receive goes on
  struct sigaction sa = {0};
  sa.sa_handler = count_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    mq_rcv(q, 64, NULL, "child: mq_receive interrupted (no SA_RESTART)");
    _exit(0);
  }
  wait_sleeping(c);
  kill(c, SIGUSR1);
  exit_code(c);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, NULL);
  fflush(stdout);
  c = fork();
  if (c == 0) {
    mq_rcv(q, 64, NULL, "child: mq_receive with SA_RESTART");
    printf("child: handler ran %d\n", (int)got_usr1);
    fflush(stdout);
    _exit(0);
  }
  wait_sleeping(c);
  kill(c, SIGUSR1);
  usleep(20000);
  mq_send(q, "after the signal", 16, 0);
  exit_code(c);
  sa.sa_handler = SIG_DFL;
  sigaction(SIGUSR1, &sa, NULL);

  if (geteuid() == 0) {
    fflush(stdout);
    c = fork();
    if (c == 0) {
      mq_perm_child();
      fflush(stdout);
      _exit(0);
    }
    exit_code(c);
  } else {
    printf("root-only mq checks: skipped\n");
  }

  // unlink: the name goes, open descriptors keep the queue
  show("mq_unlink", mq_unlink(mq_name));
  fact("gone from the file system", access(file, F_OK) < 0 && errno == ENOENT);
  show("mq_open after unlink", mq_open(mq_name, O_RDWR));
  show("mq_unlink again", mq_unlink(mq_name));
  mq_send(q, "kept", 4, 0);
  mq_rcv(q, 64, NULL, "the open queue still works");
  mq_close(q);
  // a queue made with open(2) in the file system
  snprintf(file, sizeof file, "%s/um_created_%d", dir, getpid());
  fd = open(file, O_CREAT | O_RDWR, 0600);
  ok("open(O_CREAT) in the mqueue file system", fd);
  snprintf(path, sizeof path, "/um_created_%d", getpid());
  q = mq_open(path, O_RDWR);
  mq_show_attr(q, "made by open(2)");
  mq_close(q);
  close(fd);
  show("unlink in the file system", unlink(file));
  show("mkdir in the file system", mkdir(file, 0755));
  umount(dir);
  rmdir(dir);
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (access("/proc/self/stat", F_OK) != 0) {
    mkdir("/proc", 0555);
    mount("proc", "/proc", "proc", 0, NULL);
  }
  const char* only = argc > 1 ? argv[1] : NULL;
  if (only && strcmp(only, "shm_after_exec") == 0 && argc > 2) {
    shm_after_exec(atoi(argv[2]));
    return 0;
  }
  struct { const char* name; void (*fn)(void); } parts[] = {
      {"shm", shm_tests}, {"sem", sem_tests}, {"msg", msg_tests}, {"mq", mq_tests},
  };
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
    if (!only || strcmp(only, parts[i].name) == 0) parts[i].fn();
  printf("done\n");
  return 0;
}
