/* The seccomp platform's memory layout, shared by its stub code (seccomp_stub.S, which the
 * guest's host threads run) and umkernel (seccomp.cpp). Plain macros: the assembler reads it.
 *
 * Top of every guest host process:
 *   SC_THREAD_AREA (+256 MB)         SC_SLOTS slots of SC_SLOT_SIZE bytes, one per guest
 *                                    thread: a message page (registers, siginfo, fxsave area,
 *                                    the hand-off words) then the thread's signal stack.
 *                                    A memfd of the address space, also mapped by umkernel.
 *   SC_STUB_BASE + 0x0000            stub code (stub.h: ptrace's "syscall; int3" + this code)
 *   SC_STUB_BASE + 0x1000            scratch page (read-only)
 *   SC_STUB_BASE + 0x2000            the seccomp filter (read-only)
 *   SC_STUB_BASE + 0x3000            the VM-wide page umkernel writes (read-only for guests)
 * The slot of the running handler is found from its stack pointer: rsp & ~(SC_SLOT_SIZE-1). */
#pragma once

#define SC_STUB_BASE 0x7ffffffe0000
#define SC_SLOT_SHIFT 16
#define SC_SLOT_SIZE 0x10000
#define SC_SLOTS 4096
#define SC_THREAD_AREA 0x7ff000000000 /* far below the stack and the host's mmap base */
#define SC_THREAD_AREA_END (SC_THREAD_AREA + SC_SLOTS * SC_SLOT_SIZE)
#define SC_MSG_SIZE 0x1000
#define SC_CODE_OFFSET 0x40 /* the seccomp stub's code, after ptrace's few bytes */
#define SC_FILTER_PAGE (SC_STUB_BASE + 0x2000)
#define SC_GLOBAL_PAGE (SC_STUB_BASE + 0x3000)

/* The descriptor the stub writes to wake umkernel (an eventfd; nothing else is open). */
#define SC_WAKE_FD 3

/* The VM-wide page. */
#define SCG_SLEEPING 0 /* u32: umkernel waits in epoll: write SC_WAKE_FD after posting */
#define SCG_NOSPIN 4   /* u32: the host has more runnable tasks than CPUs: never spin */

/* A slot's message page. */
#define SCM_STATE 0    /* u32: SC_RUNNING, SC_POSTED (stub), SC_ANSWERED (umkernel) */
#define SCM_WAITING 4  /* u32: 1 while the stub sleeps on SCM_STATE (futex) */
#define SCM_KIND 8     /* u32: the host signal that stopped the thread */
#define SCM_FLAGS 12   /* u32: umkernel -> stub: SCF_FPREGS */
#define SCM_FSBASE 16  /* u64 */
#define SCM_GSBASE 24  /* u64 */
#define SCM_SPIN 32    /* u32: the stub's spin budget (pause loops), adapted by the stub */
#define SCM_GREGS 64   /* 23 u64: the ucontext's gregs (REG_R8 .. REG_CR2) */
#define SCM_SIGINFO 256 /* 128 bytes */
#define SCM_FPREGS 512  /* 512 bytes: the fxsave area */

#define SC_RUNNING 0
#define SC_POSTED 1
#define SC_ANSWERED 2

#define SCF_FPREGS 1

/* The stub's spin budget for an answer, in TSC cycles (~2-3 GHz): adapted per thread by the
 * stub between these bounds. */
#define SC_SPIN_MIN 2000
#define SC_SPIN_MAX 200000
