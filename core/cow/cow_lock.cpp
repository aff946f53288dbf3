// UML-style whole-file host locks, as open-file-description locks (see cow_file.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/cow/cow_file.h"
#include "core/log.h"

namespace um::cow {
namespace {

// F_OFD_GETLK and /proc/locks report pid -1 for an OFD lock holder; the holder's
// /proc/PID/fdinfo/FD lists the lock ("lock:\t1: OFDLCK ADVISORY WRITE -1 fe:00:1234 0 EOF").
// Only processes we may inspect are found (our own user's), which is the usual case.
std::vector<pid_t> holders_of(const struct stat& st) {
  char want[64];
  snprintf(want, sizeof want, " %02x:%02x:%lu ", major(st.st_dev), minor(st.st_dev),
           static_cast<unsigned long>(st.st_ino));
  std::vector<pid_t> pids;
  std::error_code ec;
  try {  // processes come and go while we look
    for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
      const std::string pid = proc.path().filename();
      if (pid.empty() || !isdigit(static_cast<unsigned char>(pid[0]))) continue;
      std::error_code ec2;
      bool found = false;
      for (const auto& info : std::filesystem::directory_iterator(proc.path() / "fdinfo", ec2)) {
        std::ifstream in(info.path());
        std::string line;
        while (!found && std::getline(in, line))
          found = line.starts_with("lock:") && line.find(want) != std::string::npos;
        if (found) break;
      }
      if (found) pids.push_back(static_cast<pid_t>(atol(pid.c_str())));
    }
  } catch (const std::exception&) {
  }
  return pids;
}

}  // namespace

Status lock_file(int fd, bool write, const std::string& path) {
  struct flock fl {};
  fl.l_type = write ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return {};
  int err = errno;
  if (err != EAGAIN && err != EACCES) {
    // File systems without lock support (some network ones): UML would fail; being usable
    // there matters more than exclusion.
    UM_DEBUG("cannot lock %s: %s; continuing without a lock", path.c_str(), strerror(err));
    return {};
  }
  struct flock q {};
  q.l_type = write ? F_WRLCK : F_RDLCK;
  q.l_whence = SEEK_SET;
  pid_t pid = -1;
  if (fcntl(fd, F_OFD_GETLK, &q) == 0 && q.l_type != F_UNLCK) pid = q.l_pid;
  struct stat st;
  if (pid <= 0 && fstat(fd, &st) == 0) {
    auto pids = holders_of(st);
    if (!pids.empty()) pid = pids.front();
  }
  std::string who = "another process";
  if (pid > 0) {
    who = "pid " + std::to_string(pid);
    std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
    std::string name;
    if (std::getline(comm, name) && !name.empty()) who += " (" + name + ")";
  }
  return Error::make(EAGAIN, path + " is locked by " + who + ": in use by a VM or another tool");
}

std::vector<pid_t> lock_holders(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {};
  return holders_of(st);
}

}  // namespace um::cow
