/* Attacks on umkernel's platform (issue 12), each printing one line of what happened. Under
 * umkernel none of them may reach the host: a 32-bit system call is never served as a 64-bit
 * one (int 0x80 and calls from 32-bit code get SIGSEGV, as on Linux without IA32 emulation),
 * memory calls made after a switch to 32-bit mode do not hang umkernel, a jump into any
 * syscall instruction of the platform's stub makes the guest's own call (never a host one),
 * scribbling over the seccomp platform's thread slots from a second thread harms only the
 * guest process doing it, and the platform's pages tell the guest nothing of the host (no
 * umkernel pid, no host path).
 * Natively (with IA32 emulation) int 0x80 works, so the e2e test checks fixed output.
 * Usage: platform_escape FILE   (FILE: a writable path for a shared mapping) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got_sig;

static void on_signal(int sig) {
  got_sig = sig;
  siglongjmp(jb, 1);
}

static const char *signame(int s) {
  return s == SIGSEGV ? "SIGSEGV" : s == SIGILL ? "SIGILL" : s == SIGBUS ? "SIGBUS" : "other";
}

/* int 0x80 from 64-bit code: i386 getpid (20) if served, a signal if not. */
static void int80(void) {
  long r = 0;
  got_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "rcx", "r11");
    printf("int80: returned %s\n", r == getpid() ? "the pid" : "something");
  } else {
    printf("int80: %s\n", signame(got_sig));
  }
}

/* Far return into 32-bit code (segment 0x23) at a low address that asks for i386 brk (45)
 * through int 0x80, then mmap2 (192): umkernel must neither serve them nor hang. */
static void compat_mode(int use_mmap) {
  uint8_t *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (code == MAP_FAILED) { printf("compat: no low memory\n"); return; }
  uint8_t *p = code;
  /* mov $nr,%eax ; xor %ebx,%ebx ; int $0x80 ; ud2 (SIGILL if the call was served) */
  int nr = use_mmap ? 192 : 45;
  *p++ = 0xb8; memcpy(p, &nr, 4); p += 4;
  *p++ = 0x31; *p++ = 0xdb;
  *p++ = 0xcd; *p++ = 0x80;
  *p++ = 0x0f; *p++ = 0x0b;
  got_sig = 0;
  if (sigsetjmp(jb, 1) == 0) {
    uint64_t target = (uint64_t)(uintptr_t)code;
    __asm__ volatile(
        "pushq $0x23\n\t"
        "pushq %0\n\t"
        "lretq\n\t" ::"r"(target) : "memory");
    printf("compat: came back\n");
  } else {
    printf("compat %s: %s\n", use_mmap ? "mmap2" : "brk", signame(got_sig));
  }
  munmap(code, 4096);
}

/* After shared and read-only mappings of a file, the platform's pages (the stub at the top of
 * user space) must hold nothing of the host: no "/proc/<digits>" path. */
static void stub_pages(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 4096) != 0) { perror("open"); exit(1); }
  void *rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int rofd = open(path, O_RDONLY);
  void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rofd, 0);
  close(fd);
  close(rofd);
  if (rw == MAP_FAILED || ro == MAP_FAILED) { printf("stub: mmap failed\n"); return; }
  ((char *)rw)[0] = 'x';
  int leak = 0;
  FILE *maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps && fgets(line, sizeof line, maps)) {
    unsigned long a, b;
    char perms[5];
    if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) != 3 || perms[0] != 'r') continue;
    if (a < 0x7ff000000000ul) continue; /* only the top of user space: stack, stub */
    for (unsigned long q = a; q + 8 < b; q++)
      if (memcmp((char *)q, "/proc/", 6) == 0 && ((char *)q)[6] >= '0' && ((char *)q)[6] <= '9') leak = 1;
  }
  if (maps) fclose(maps);
  /* The stub itself (not in maps under umkernel): read it directly when it is there. */
  int fds[2];
  pipe(fds);
  for (unsigned long q = 0x7ffffffe0000ul; q < 0x7ffffffe2000ul; q += 4096) {
    if (write(fds[1], (void *)q, 1) != 1) continue; /* not mapped here */
    char tmp;
    read(fds[0], &tmp, 1);
    for (unsigned long k = q; k + 8 < q + 4096; k++)
      if (memcmp((char *)k, "/proc/", 6) == 0 && ((char *)k)[6] >= '0' && ((char *)k)[6] <= '9') leak = 1;
  }
  printf("stub pages: %s\n", leak ? "name a host path" : "clean");
  printf("shared mapping reads back: %c\n", ((char *)ro)[0]);
  /* A shared mapping of a file opened read-only stays read-only. */
  printf("mprotect of a shared mapping of a read-only file: %s\n",
         mprotect(ro, 4096, PROT_READ | PROT_WRITE) == 0 ? "allowed" : "refused");
}

/* Every syscall instruction in the stub's code page (wherever its bytes are, even inside
 * other instructions), jumped to with exit_group(77) of the guest's choosing, in a child:
 * umkernel must serve it as the guest's call (status 77). Run on the host, the child's host
 * thread would vanish and umkernel would kill the child (SIGKILL). */
static void stub_jumps(void) {
  static unsigned char copy[4096];
  const unsigned long base = 0x7ffffffe0000ul;
  got_sig = 0;
  if (sigsetjmp(jb, 1) != 0) {
    printf("stub jumps: no stub page\n");
    return;
  }
  memcpy(copy, (const void *)base, sizeof copy);
  int sites = 0, bad = 0;
  for (int off = 0; off + 1 < (int)sizeof copy; off++) {
    if (copy[off] != 0x0f || copy[off + 1] != 0x05) continue;
    sites++;
    pid_t pid = fork();
    if (pid == 0) {
      unsigned long target = base + off;
      __asm__ volatile(
          "mov %0, %%r11\n\t"
          "xor %%ebx, %%ebx\n\t xor %%ecx, %%ecx\n\t xor %%edx, %%edx\n\t xor %%esi, %%esi\n\t"
          "xor %%r8d, %%r8d\n\t xor %%r9d, %%r9d\n\t xor %%r10d, %%r10d\n\t xor %%r12d, %%r12d\n\t"
          "mov $231, %%eax\n\t mov $77, %%edi\n\t"
          "jmp *%%r11" ::"r"(target) : "memory");
      _exit(1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 77) bad++;
  }
  printf("stub jumps: %s\n", sites == 0 ? "no syscall instruction found"
                             : bad     ? "some reached the host"
                                       : "every syscall instruction serves the guest's own call");
}

/* A second thread scribbles over the seccomp platform's thread slots (registers, the post
 * word) while the first makes system calls. Whatever that does to this guest process, the VM
 * goes on: a new child runs and exits normally. On ptrace there are no slots. */
static volatile int tamper_stop;
static void *tamper(void *arg) {
  (void)arg;
  for (int round = 0; round < 2000 && !tamper_stop; round++) {
    for (int slot = 0; slot < 4; slot++) {
      volatile unsigned char *p = (volatile unsigned char *)(0x7ff000000000ul + slot * 0x10000ul);
      if (sigsetjmp(jb, 1) != 0) break; /* not mapped, or a slot no thread uses */
      for (int k = 64; k < 64 + 184; k++) p[k] = 0x41;
      *(volatile unsigned int *)p = 1; /* "posted" */
    }
    sched_yield();
  }
  return NULL;
}

static void slot_tampering(void) {
  pid_t pid = fork();
  if (pid == 0) {
    pthread_t th;
    pthread_create(&th, NULL, tamper, NULL);
    for (int i = 0; i < 20000; i++) getppid();
    tamper_stop = 1;
    pthread_join(th, NULL);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  pid = fork();
  if (pid == 0) _exit(5);
  waitpid(pid, &st, 0);
  printf("slot tampering: %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 5 ? "the VM goes on" : "the VM is broken");
}

int main(int argc, char **argv) {
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
  sigaltstack(&ss, NULL);
  struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_ONSTACK | SA_NODEFER};
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  setvbuf(stdout, NULL, _IONBF, 0);
  int80();
  compat_mode(0);
  compat_mode(1);
  /* The same in a child, whose exit status the parent reports: no hang, no host call. */
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGSEGV, SIG_DFL);
    __asm__ volatile("int $0x80" ::"a"(20L) : "memory", "rcx", "r11");
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  printf("child int80 without handler: %s\n",
         WIFSIGNALED(st) ? signame(WTERMSIG(st)) : "exited");
  stub_jumps();
  slot_tampering();
  if (argc > 1) stub_pages(argv[1]);
  printf("done\n");
  return 0;
}
