// umimage umount DIR: unmounts an `umimage mount` (fusermount3 -u) and waits until the
// mount's process has flushed and closed the image.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <thread>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "core/log.h"
#include "umimage/command.h"
#include "umimage/mount_table.h"

extern char** environ;

namespace um::image {
namespace {

bool is_umimage_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  if (line[close + 2] == 'Z') return false;
  return line.find("(umimage)") != std::string::npos;
}

Status run_fusermount(const std::string& dir) {
  const char* argv[] = {"fusermount3", "-u", dir.c_str(), nullptr};
  pid_t pid;
  int err = posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ);
  if (err != 0) return Error::from_errno("cannot run fusermount3", err);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::make(EIO, "fusermount3 -u " + dir + " failed");
  return {};
}

int run_umount(const std::string& dir_arg) {
  std::string dir = absolute_lexical(dir_arg);
  char buf[PATH_MAX];
  if (realpath(dir.c_str(), buf)) dir = buf;  // fails (ENOTCONN) on a dead mount: keep lexical
  auto mount = find_mount(dir);
  if (!mount) return cli::fail(dir + " is not mounted");
  // fusermount3 run by root would unmount anything; only FUSE mounts are ours to undo.
  if (mount->fstype != "fuse" && !mount->fstype.starts_with("fuse."))
    return cli::fail(dir + " is not a FUSE mount (it is " + mount->fstype + ")");
  std::vector<pid_t> daemons;
  if (mount->fstype == "fuse.umimage")
    for (pid_t pid : cow::lock_holders(mount->source))
      if (pid != getpid() && is_umimage_alive(pid)) daemons.push_back(pid);
  for (pid_t pid : daemons) UM_DEBUG("waiting for umimage pid %d to close %s", pid, mount->source.c_str());
  if (auto st = run_fusermount(dir); !st) return cli::fail(st.error());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (pid_t pid : daemons) {
    while (is_umimage_alive(pid)) {
      if (std::chrono::steady_clock::now() > deadline)
        return cli::fail(dir + " is unmounted but umimage (pid " + std::to_string(pid) +
                         ") is still writing " + mount->source);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return kExitOk;
}

Registrar reg("umount", "unmount a directory mounted with `umimage mount`", 91, [](CLI::App& sub) {
  auto dir = std::make_shared<std::string>();
  sub.add_option("dir", *dir, "mount point")->required();
  return [dir] { return run_umount(*dir); };
});

}  // namespace
}  // namespace um::image
