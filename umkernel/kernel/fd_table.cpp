#include <algorithm>

#include "umkernel/kernel/task.h"

namespace um::kernel {

bool Credentials::in_group(uint32_t g) const {
  return g == fsgid || std::find(groups.begin(), groups.end(), g) != groups.end();
}

void Process::note_mapping(uint64_t start, uint64_t end, const std::string& path) {
  forget_mappings(start, end);
  mapped_files[start] = {end, path};
}

void Process::forget_mappings(uint64_t start, uint64_t end) {
  // Overlapping entries are trimmed: the parts outside [start, end) keep their names.
  std::vector<std::pair<uint64_t, std::pair<uint64_t, std::string>>> keep;
  for (auto it = mapped_files.begin(); it != mapped_files.end();) {
    uint64_t s = it->first, e = it->second.first;
    if (s < end && e > start) {
      if (s < start) keep.push_back({s, {start, it->second.second}});
      if (e > end) keep.push_back({end, {e, it->second.second}});
      it = mapped_files.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& k : keep) mapped_files.insert(k);
}

uint64_t new_mm_id() {
  static uint64_t next = 1;
  return next++;
}

std::array<rlimit, RLIM_NLIMITS> Process::default_rlimits() {
  std::array<rlimit, RLIM_NLIMITS> r;
  for (auto& l : r) l = {RLIM_INFINITY, RLIM_INFINITY};
  r[RLIMIT_STACK] = {8 << 20, RLIM_INFINITY};
  r[RLIMIT_NOFILE] = {FdTable::kMaxFds, FdTable::kMaxFds};
  r[RLIMIT_CORE] = {0, RLIM_INFINITY};
  r[RLIMIT_NPROC] = {4096, 4096};
  r[RLIMIT_SIGPENDING] = {4096, 4096};
  r[RLIMIT_MEMLOCK] = {8 << 20, 8 << 20};
  r[RLIMIT_MSGQUEUE] = {819200, 819200};
  return r;
}

namespace {
int g_caller_limit = FdTable::kMaxFds;
}

void FdTable::set_caller_limit(uint64_t rlim_cur) {
  g_caller_limit = static_cast<int>(std::min<uint64_t>(rlim_cur, kMaxFds));
}

bool FdTable::has_free_fd() const {
  for (int fd = 0; fd < g_caller_limit; fd++)
    if (fd >= static_cast<int>(fds_.size()) || !fds_[fd].file) return true;
  return false;
}

FilePtr FdTable::get(int fd) const {
  if (fd < 0 || fd >= static_cast<int>(fds_.size())) return nullptr;
  return fds_[fd].file;
}

int FdTable::install(FilePtr f, bool cloexec, int min_fd) {
  if (min_fd < 0) return -EINVAL;
  if (min_fd >= g_caller_limit) return min_fd == 0 ? -EMFILE : -EINVAL;
  for (int fd = min_fd; fd < g_caller_limit; fd++) {
    if (fd >= static_cast<int>(fds_.size())) fds_.resize(fd + 1);
    if (!fds_[fd].file) {
      fds_[fd] = FdEntry{std::move(f), cloexec};
      return fd;
    }
  }
  return -EMFILE;
}

int FdTable::install_at(int fd, FilePtr f, bool cloexec) {
  if (fd < 0 || fd >= g_caller_limit) return -EBADF;
  if (fd >= static_cast<int>(fds_.size())) fds_.resize(fd + 1);
  FdEntry old = std::move(fds_[fd]);  // released after the new one is in place
  fds_[fd] = FdEntry{std::move(f), cloexec};
  return fd;
}

int FdTable::close(int fd) {
  if (fd < 0 || fd >= static_cast<int>(fds_.size()) || !fds_[fd].file) return -EBADF;
  FilePtr f = std::move(fds_[fd].file);
  fds_[fd].cloexec = false;
  while (!fds_.empty() && !fds_.back().file) fds_.pop_back();
  f.reset();  // may wake pipe peers
  return 0;
}

bool FdTable::cloexec(int fd) const {
  return fd >= 0 && fd < static_cast<int>(fds_.size()) && fds_[fd].cloexec;
}

void FdTable::set_cloexec(int fd, bool on) {
  if (fd >= 0 && fd < static_cast<int>(fds_.size())) fds_[fd].cloexec = on;
}

void FdTable::close_on_exec() {
  for (int fd = 0; fd < static_cast<int>(fds_.size()); fd++)
    if (fds_[fd].file && fds_[fd].cloexec) close(fd);
}

void FdTable::close_all() {
  auto old = std::move(fds_);
  fds_.clear();
  old.clear();
}

}  // namespace um::kernel
