#include "core/rundir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace um::rundir {

std::string root() {
  if (const char* d = getenv("UML_DIR"); d && *d) {
    std::string s(d);
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  }
  const char* home = getenv("HOME");
  std::string h = home && *home ? home : "/tmp";
  return h + "/.uml";
}

std::string vm_dir(const std::string& umid) { return root() + "/" + umid; }
std::string mconsole_path(const std::string& umid) { return vm_dir(umid) + "/mconsole"; }
std::string console_path(const std::string& umid, int n) {
  return vm_dir(umid) + "/con" + std::to_string(n);
}
std::string serial_path(const std::string& umid, int n) {
  return vm_dir(umid) + "/ssl" + std::to_string(n);
}

Status validate_umid(const std::string& umid) {
  if (umid.empty() || umid.size() > 63)
    return Error::make(EINVAL, "umid must be 1 to 63 characters");
  if (umid[0] == '.') return Error::make(EINVAL, "umid must not start with '.'");
  for (char c : umid) {
    bool ok = isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
    if (!ok) return Error::make(EINVAL, "umid '" + umid + "' may only contain letters, digits, '.', '_' and '-'");
  }
  return {};
}

std::string random_umid() {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char bytes[6];
  if (getrandom(bytes, sizeof bytes, 0) != sizeof bytes) {
    for (auto& b : bytes) b = static_cast<unsigned char>(rand());
  }
  std::string s;
  for (unsigned char b : bytes) s += kChars[b % (sizeof kChars - 1)];
  return s;
}

std::optional<pid_t> read_pid(const std::string& umid) {
  std::ifstream f(vm_dir(umid) + "/pid");
  long pid = 0;
  if (!(f >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool pid_alive(pid_t pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

static void remove_contents(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    unlink((dir + "/" + n).c_str());
  }
  closedir(d);
}

Status claim(const std::string& umid) {
  UM_TRY(validate_umid(umid));
  std::string r = root();
  if (mkdir(r.c_str(), 0700) != 0 && errno != EEXIST)
    return Error::from_errno("cannot create run directory " + r);
  std::string dir = vm_dir(umid);
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST) return Error::from_errno("cannot create " + dir);
    if (auto pid = read_pid(umid); pid && *pid != getpid() && pid_alive(*pid))
      return Error::make(EADDRINUSE, "umid '" + umid + "' is already in use by pid " + std::to_string(*pid));
    remove_contents(dir);  // stale: reclaim
    chmod(dir.c_str(), 0700);
  }
  std::string pidfile = dir + "/pid";
  int fd = open(pidfile.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno("cannot write " + pidfile);
  std::string text = std::to_string(getpid()) + "\n";
  ssize_t n = write(fd, text.data(), text.size());
  close(fd);
  if (n != static_cast<ssize_t>(text.size())) return Error::from_errno("cannot write " + pidfile);
  return {};
}

void release(const std::string& umid) {
  std::string dir = vm_dir(umid);
  remove_contents(dir);
  rmdir(dir.c_str());
}

std::vector<VmEntry> list_running() {
  std::vector<VmEntry> out;
  DIR* d = opendir(root().c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (auto pid = read_pid(n); pid && pid_alive(*pid)) out.push_back({n, *pid});
  }
  closedir(d);
  return out;
}

}  // namespace um::rundir
