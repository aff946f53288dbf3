// Copying to and from guest memory. Guest addresses are plain uint64_t values that never get
// dereferenced on the host: every access goes through these functions, which read and write
// the guest's memory through its platform::AddressSpace (writes also reach read-only pages,
// which the ELF loader needs; never the platform's own pages). Results are 0 or -EFAULT.
#pragma once
#include <cstdint>
#include <string>

#include "umkernel/kernel/task.h"

namespace um::kernel {

[[nodiscard]] int64_t copy_from_user(Task& t, void* dst, uint64_t src, size_t n);
[[nodiscard]] int64_t copy_to_user(Task& t, uint64_t dst, const void* src, size_t n);
[[nodiscard]] int64_t clear_user(Task& t, uint64_t dst, size_t n);
// Reads a NUL-terminated string of at most `max` bytes (without NUL): -EFAULT, -ENAMETOOLONG.
[[nodiscard]] int64_t string_from_user(Task& t, uint64_t src, std::string& out, size_t max = 4096);
// Reads a NULL-terminated array of string pointers (argv, envp).
[[nodiscard]] int64_t string_array_from_user(Task& t, uint64_t src, std::vector<std::string>& out);

template <class T>
[[nodiscard]] int64_t get_user(Task& t, uint64_t addr, T& v) { return copy_from_user(t, &v, addr, sizeof(T)); }
template <class T>
[[nodiscard]] int64_t put_user(Task& t, uint64_t addr, const T& v) { return copy_to_user(t, addr, &v, sizeof(T)); }

}  // namespace um::kernel
