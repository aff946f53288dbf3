// The seccomp platform's stub code and filter, as bytes for the stub image (stub.cpp).
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace um::kernel::platform {

// Copies the stub code (seccomp_stub.S) into the stub's code page (at SC_CODE_OFFSET) and
// writes the seccomp filter program (a sock_fprog then its instructions) into the filter page.
void seccomp_stub_fill(uint8_t* code_page, uint8_t* filter_page);

// Guest addresses of the stub's entry points that umkernel uses.
uint64_t seccomp_clone_site();   // T0 runs clone() here
uint64_t seccomp_clone_trap();   // rip of T0 after the int3 that follows
uint64_t seccomp_start_site();   // rip of a new thread's first stop
bool seccomp_in_stub_code(uint64_t rip);

// The filter program (what seccomp_stub_fill writes) and the stub code's size (for tests).
std::vector<sock_filter> seccomp_filter_program();
size_t seccomp_stub_code_size();

}  // namespace um::kernel::platform
