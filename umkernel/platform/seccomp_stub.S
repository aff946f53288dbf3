/* The seccomp platform's stub code: bytes that umkernel copies into the stub page of every
 * guest host process (at SC_STUB_BASE + SC_CODE_OFFSET). It is position independent: it
 * refers to itself rip-relative and to the platform's pages by their fixed addresses. It is
 * never run inside umkernel (it lives in .rodata).
 *
 * Two entry points:
 *   um_sc_clone_site  the host thread that holds the address space for umkernel (ptraced,
 *                     never runs guest code) runs clone() here; the new guest thread starts
 *                     at sc_thread_start on its slot's stack: signal stack, handlers,
 *                     no-new-privs was set at exec, the seccomp filter, then its first stop.
 *   sc_handler        the handler of SIGSYS (every guest system call, trapped by the filter),
 *                     the synchronous faults and SIGUSR2 (umkernel's interrupt). It copies
 *                     the thread's state into the slot's message page, posts it, wakes
 *                     umkernel if it sleeps, spins (adaptive budget) then sleeps on a futex
 *                     until umkernel answers, copies the answer into the signal frame and
 *                     returns through rt_sigreturn.
 * The filter (seccomp_filter.cpp) lets through only the system calls at the um_sc_site_*
 * labels (the address after each syscall instruction), each with its number and arguments
 * checked; everything else traps. */
#include "umkernel/platform/seccomp_layout.h"

#define NR_write 1
#define NR_rt_sigaction 13
#define NR_rt_sigprocmask 14
#define NR_rt_sigreturn 15
#define NR_getpid 39
#define NR_sigaltstack 131
#define NR_prctl 157
#define NR_futex 202
#define NR_seccomp 317

#define UC_STACK 16
#define UC_GREGS 40
#define UC_FPSTATE 224
#define UC_SIGMASK 296
#define FP_XSTATE_MAGIC1 0x46505853
#define SA_FLAGS 0x0c000004 /* SA_SIGINFO | SA_ONSTACK | SA_RESTORER */

  .section .rodata.um_sc_stub, "a"
  .globl um_sc_stub_begin, um_sc_stub_end, um_sc_clone_site, um_sc_clone_trap
  .globl um_sc_site_write, um_sc_site_futex, um_sc_site_sigreturn, um_sc_site_die
  .globl um_sc_start_site

um_sc_stub_begin:

/* ---- the handler: rdi = signal, rsi = siginfo, rdx = ucontext, on the slot's stack ---- */
sc_handler:
  mov %rsp, %r12
  and $-SC_SLOT_SIZE, %r12            /* r12: the slot's message page */
  movabs $SC_THREAD_AREA, %rax
  cmp %rax, %r12
  jb sc_die                           /* not on a slot's stack: never post anywhere else */
  movabs $SC_THREAD_AREA_END, %rax
  cmp %rax, %r12
  jae sc_die
  mov %rdx, %r13                      /* r13: ucontext */
  mov %edi, SCM_KIND(%r12)
  lea SCM_SIGINFO(%r12), %rdi         /* siginfo: 128 bytes */
  mov $16, %ecx
  rep movsq
  lea UC_GREGS(%r13), %rsi            /* general registers: 23 words */
  lea SCM_GREGS(%r12), %rdi
  mov $23, %ecx
  rep movsq
  mov UC_FPSTATE(%r13), %rsi          /* the fxsave area */
  test %rsi, %rsi
  jz 1f
  lea SCM_FPREGS(%r12), %rdi
  mov $64, %ecx
  rep movsq
1:
  rdfsbase %rax
  mov %rax, SCM_FSBASE(%r12)
  rdgsbase %rax
  mov %rax, SCM_GSBASE(%r12)
  movl $0, SCM_FLAGS(%r12)
  mov $SC_POSTED, %eax                /* post (a full barrier: the sleeping flag is read after) */
  xchg %eax, SCM_STATE(%r12)
  movabs $SC_GLOBAL_PAGE, %r14
  cmpl $0, SCG_SLEEPING(%r14)
  je 2f
  mov $NR_write, %eax                 /* umkernel sleeps in epoll: wake it */
  mov $SC_WAKE_FD, %edi
  lea sc_one(%rip), %rsi
  mov $8, %edx
  syscall
um_sc_site_write:
  /* umkernel needs a CPU to wake onto: spinning here could be what keeps it off one (this
   * host has two). Sleep at once. */
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  mov %rax, %rbx
  mov SCM_SPIN(%r12), %r15d
  jmp 51f
2:
  /* Spin for the answer within the budget (TSC cycles), then sleep on the futex. The budget
   * adapts to what the answers take: it grows a little with each answer that came while
   * spinning; after a sleep, it becomes 1.5x the wait when the wait was shorter than the
   * most it may spin (spinning would have caught it), else it halves (a call that blocks,
   * or a loaded host where umkernel is not on a CPU: spinning only steals the CPU then). */
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  mov %rax, %rbx                      /* rbx: when the post was made */
  mov SCM_SPIN(%r12), %r15d
  cmpl $0, SCG_NOSPIN(%r14)           /* a loaded host: spinning only steals a CPU */
  jne 51f
  test %r15d, %r15d
  jnz 3f
  mov $SC_SPIN_MAX, %r15d             /* a new thread starts with the most */
3:
  cmp $SC_SPIN_MIN, %r15d
  jae 31f
  mov $SC_SPIN_MIN, %r15d
31:
  cmp $SC_SPIN_MAX, %r15d
  jbe 4f
  mov $SC_SPIN_MAX, %r15d
4:
  lea (%rbx,%r15), %r9                /* r9: the end of the spin */
5:
  cmpl $SC_ANSWERED, SCM_STATE(%r12)
  je 73f
  pause
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  cmp %r9, %rax
  jb 5b
51:
  mov $1, %eax
  xchg %eax, SCM_WAITING(%r12)
6:
  cmpl $SC_ANSWERED, SCM_STATE(%r12)
  je 7f
  mov $NR_futex, %eax                 /* futex(&state, FUTEX_WAIT, SC_POSTED, NULL) */
  lea SCM_STATE(%r12), %rdi
  xor %esi, %esi
  mov $SC_POSTED, %edx
  xor %r10d, %r10d
  syscall
um_sc_site_futex:
  jmp 6b
7:
  rdtsc
  shl $32, %rdx
  or %rdx, %rax
  sub %rbx, %rax                      /* how long the answer took */
  cmp $SC_SPIN_MAX, %rax
  jae 71f
  mov %rax, %rcx
  shr %rcx
  add %rcx, %rax
  mov %eax, %r15d
  jmp 72f
71:
  shr %r15d
  jmp 72f
73:
  mov %r15d, %eax                     /* answered while spinning */
  shr $3, %eax
  add %eax, %r15d
72:
  mov %r15d, SCM_SPIN(%r12)
8:
  movl $0, SCM_WAITING(%r12)
  /* The answer: registers, maybe the fxsave area, the TLS bases. */
  lea SCM_GREGS(%r12), %rsi
  lea UC_GREGS(%r13), %rdi
  mov $23, %ecx
  rep movsq
  testl $SCF_FPREGS, SCM_FLAGS(%r12)
  jz 9f
  mov UC_FPSTATE(%r13), %rdi
  test %rdi, %rdi
  jz 9f
  lea SCM_FPREGS(%r12), %rsi
  mov $58, %ecx                       /* 464 bytes: the kernel's sw_reserved words stay */
  rep movsq
  mov UC_FPSTATE(%r13), %rdi
  cmpl $FP_XSTATE_MAGIC1, 464(%rdi)
  jne 9f
  orq $3, 512(%rdi)                   /* xstate_bv: x87 and SSE come from the frame */
9:
  mov SCM_FSBASE(%r12), %rax
  wrfsbase %rax
  mov SCM_GSBASE(%r12), %rax
  wrgsbase %rax
  movq $0, UC_SIGMASK(%r13)           /* the guest's host mask is always empty */
  lea SC_MSG_SIZE(%r12), %rax         /* and its signal stack always this slot's */
  mov %rax, UC_STACK(%r13)
  movl $0, UC_STACK+8(%r13)
  movq $(SC_SLOT_SIZE - SC_MSG_SIZE), UC_STACK+16(%r13)
  movl $SC_RUNNING, SCM_STATE(%r12)
  ret                                 /* to sc_restorer */

sc_restorer:
  mov $NR_rt_sigreturn, %eax
  syscall
um_sc_site_sigreturn:
  /* fall through: rt_sigreturn does not return */

sc_die:                               /* the stub gives up: the thread sleeps until killed */
  mov $NR_futex, %eax                 /* futex(&zero, FUTEX_WAIT, 0, NULL) */
  lea sc_zero(%rip), %rdi
  xor %esi, %esi
  xor %edx, %edx
  xor %r10d, %r10d
  syscall
um_sc_site_die:
  jmp sc_die

/* ---- clone in the address space's host thread: rax = 0 in the new guest thread ---- */
um_sc_clone_site:
  syscall
  test %rax, %rax
  jz sc_thread_start
  int3
um_sc_clone_trap:

sc_thread_start:
  mov %rsp, %r12
  and $-SC_SLOT_SIZE, %r12
  sub $64, %rsp                       /* stack_t for sigaltstack */
  lea SC_MSG_SIZE(%r12), %rax
  mov %rax, 0(%rsp)
  movq $0, 8(%rsp)
  movq $(SC_SLOT_SIZE - SC_MSG_SIZE), 16(%rsp)
  mov $NR_sigaltstack, %eax
  mov %rsp, %rdi
  xor %esi, %esi
  syscall
  test %rax, %rax
  jnz sc_die
  lea sc_handler(%rip), %rax          /* the kernel's struct sigaction */
  mov %rax, 0(%rsp)
  movq $SA_FLAGS, 8(%rsp)
  lea sc_restorer(%rip), %rax
  mov %rax, 16(%rsp)
  movq $-1, 24(%rsp)                  /* every signal blocked while the handler runs */
  lea sc_signals(%rip), %rbx
10:
  movzbl (%rbx), %edi
  test %edi, %edi
  jz 11f
  mov $NR_rt_sigaction, %eax
  mov %rsp, %rsi
  xor %edx, %edx
  mov $8, %r10d
  syscall
  test %rax, %rax
  jnz sc_die
  inc %rbx
  jmp 10b
11:
  mov $NR_prctl, %eax                 /* PR_SET_PDEATHSIG, SIGKILL: never outlive umkernel */
  mov $1, %edi
  mov $9, %esi
  syscall
  movq $0, 0(%rsp)                    /* unblock every signal (a blocked SIGSYS would kill) */
  mov $NR_rt_sigprocmask, %eax
  mov $2, %edi
  mov %rsp, %rsi
  xor %edx, %edx
  mov $8, %r10d
  syscall
  mov $NR_seccomp, %eax               /* seccomp(SECCOMP_SET_MODE_FILTER, 0, filter) */
  mov $1, %edi
  xor %esi, %esi
  movabs $SC_FILTER_PAGE, %rdx
  syscall
  test %rax, %rax
  jnz sc_die
  mov $NR_getpid, %eax                /* trapped: the first stop; umkernel's answer starts */
  syscall                             /* the guest thread */
um_sc_start_site:
  jmp sc_die

sc_signals:
  .byte 31, 11, 7, 8, 4, 5, 12, 0     /* SYS SEGV BUS FPE ILL TRAP USR2 */
  .balign 8
sc_one:
  .quad 1
sc_zero:
  .quad 0

um_sc_stub_end:
  .section .note.GNU-stack, "", @progbits
