// UML-style whole-file host locks, as open-file-description locks (see cow_file.h).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/cow/cow_file.h"
#include "core/log.h"

namespace um::cow {
namespace {

// F_OFD_GETLK reports pid -1 for an OFD lock holder; /proc/locks names the creator.
pid_t holder_from_proc_locks(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return -1;
  char want[64];
  snprintf(want, sizeof want, "%02x:%02x:%lu", major(st.st_dev), minor(st.st_dev),
           static_cast<unsigned long>(st.st_ino));
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("->") != std::string::npos) continue;  // a blocked waiter, not a holder
    std::istringstream words(line);
    std::string id, kind, mode, type, pid, dev;
    if (!(words >> id >> kind >> mode >> type >> pid >> dev)) continue;
    if (dev == want) return static_cast<pid_t>(atol(pid.c_str()));
  }
  return -1;
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
  if (pid <= 0) pid = holder_from_proc_locks(fd);
  std::string who = pid > 0 ? "pid " + std::to_string(pid) : "another process";
  return Error::make(EAGAIN, path + " is locked by " + who + " (in use by a VM or another tool)");
}

}  // namespace um::cow
