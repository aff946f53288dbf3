// umimage mount IMG DIR: the image (or COW file) as a live host directory, over FUSE, rootless.
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "core/log.h"
#include "core/unique_fd.h"
#include "umimage/command.h"
#ifdef UM_HAVE_FUSE
#include "umimage/fuse_ops.h"
#endif
#include "umimage/mount_table.h"

namespace um::image {
namespace {

struct MountArgs {
  std::string image, dir;
  bool read_only = false, foreground = false, debug = false;
};

#ifdef UM_HAVE_FUSE

// fuse_opt splits -o values at commas; a backslash escapes the next character.
std::string escape_option(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

Result<std::string> canonical(const std::string& path, const char* what) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return Error::from_errno(std::string("cannot access ") + what + " " + path);
  return std::string(buf);
}

// Takes the image's UML-style host lock for the life of the mount, before the image is
// opened, so a running VM (or a second mount) is refused and `umimage umount` can find and
// wait for this process. COW files need none here: their io_manager locks them on open.
Result<UniqueFd> take_image_lock(const std::string& image, bool write) {
  if (cow::is_cow_file(image)) return UniqueFd();
  UniqueFd fd(::open(image.c_str(), (write ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (!fd) return Error::from_errno("cannot open " + image);
  UM_TRY(cow::lock_file(fd.get(), write, image));
  return fd;
}

Result<std::unique_ptr<ext::ExtFs>> open_image(const std::string& image, bool read_only, UniqueFd& lock) {
  auto mode = read_only ? ext::ExtFs::Mode::ReadOnly : ext::ExtFs::Mode::ReadWrite;
  // A plain image's lock is ours already (take_image_lock); a COW's is taken by its io manager.
  return ext::ExtFs::open(image, mode, lock ? ext::ExtFs::HostLock::None : ext::ExtFs::HostLock::Uml);
}

// Owns the FUSE session pieces so that every exit path releases them in order.
class FuseSession {
 public:
  ~FuseSession() {
    if (mounted_) fuse_session_unmount(se_);
    if (handlers_) fuse_remove_signal_handlers(se_);
    if (se_) fuse_session_destroy(se_);
    fuse_opt_free_args(&args_);
  }
  Status start(const MountArgs& a, const std::string& image, const std::string& dir,
               fusefs::MountState& state) {
    fuse_opt_add_arg(&args_, "umimage");
    if (a.debug) fuse_opt_add_arg(&args_, "-d");
    // auto_unmount: if this process dies, fusermount3 removes the mount instead of leaving a
    // dead "Transport endpoint is not connected" directory behind.
    std::string opts = "fsname=" + escape_option(image) + ",subtype=umimage,auto_unmount";
    if (a.read_only) opts += ",ro";
    fuse_opt_add_arg(&args_, "-o");
    fuse_opt_add_arg(&args_, opts.c_str());
    const fuse_lowlevel_ops& ops = fusefs::operations();
    se_ = fuse_session_new(&args_, &ops, sizeof ops, &state);
    if (!se_) return Error::make(EIO, "cannot start a FUSE session");
    if (fuse_set_signal_handlers(se_) != 0) return Error::make(EIO, "cannot install signal handlers");
    handlers_ = true;
    if (fuse_session_mount(se_, dir.c_str()) != 0)
      return Error::make(EIO, "cannot mount " + image + " on " + dir +
                                  " (needs /dev/fuse and a working fusermount3)");
    mounted_ = true;
    return {};
  }
  int loop() { return fuse_session_loop(se_); }
  void unmount() {
    if (mounted_) fuse_session_unmount(se_);
    mounted_ = false;
  }

 private:
  fuse_args args_ = FUSE_ARGS_INIT(0, nullptr);
  fuse_session* se_ = nullptr;
  bool handlers_ = false, mounted_ = false;
};

int run_mount(const MountArgs& a) {
  auto image = canonical(a.image, "image");
  if (!image) return cli::fail(image.error());
  auto dir = canonical(a.dir, "mount point");
  if (!dir) return cli::fail(dir.error());
  struct stat st;
  if (stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return cli::fail(*dir + " is not a directory");
  if (auto m = find_mount(*dir); m && m->fstype == "fuse.umimage")
    return cli::fail(*dir + " is already an umimage mount (of " + m->source + ")");

  auto lock = take_image_lock(*image, !a.read_only);
  if (!lock) return cli::fail(lock.error());
  auto fs = open_image(*image, a.read_only, *lock);
  if (!fs) return cli::fail(fs.error());
  fusefs::MountState state;
  state.fs = fs->get();

  int rc = kExitOk;
  {
    FuseSession session;
    if (auto st = session.start(a, *image, *dir, state); !st) return cli::fail(st.error());
    UM_DEBUG("mounted %s on %s", image->c_str(), dir->c_str());
    // The mount is live before the parent returns, so scripts can use DIR right away.
    const bool daemon = !(a.foreground || a.debug);
    fuse_daemonize(daemon ? 0 : 1);
    if (daemon) openlog("umimage", LOG_PID, LOG_USER);  // stderr is /dev/null from here on
    // libfuse reports an exit by SIGTERM/SIGINT/SIGHUP as the signal number: a clean stop.
    int loop = session.loop();
    if (loop != 0 && loop != SIGTERM && loop != SIGINT && loop != SIGHUP) {
      UM_ERROR("FUSE session ended with error %d", loop);
      if (daemon) syslog(LOG_ERR, "%s: FUSE session ended with error %d", dir->c_str(), loop);
      rc = kExitFailure;
    }
    if (auto st = fusefs::finish(state); !st) {
      if (daemon) syslog(LOG_ERR, "%s: %s", image->c_str(), st.error().message.c_str());
      rc = cli::fail(st.error());
    }
    session.unmount();
  }
  fs->reset();  // flushes and closes the image
  lock->reset();  // `umimage umount` waits for this process to let go of the image
  return rc;
}

#else
int run_mount(const MountArgs&) { return cli::fail("this umimage was built without FUSE (libfuse3-dev)"); }
#endif

Registrar reg("mount", "mount an image or COW file on a host directory (FUSE, no root needed)", 90,
              [](CLI::App& sub) {
  auto args = std::make_shared<MountArgs>();
  sub.add_option("image", args->image, "ext2/3/4 image or UML COW file")->required();
  sub.add_option("dir", args->dir, "existing directory to mount it on")->required();
  sub.add_flag("--ro", args->read_only, "mount read-only");
  sub.add_flag("-f,--foreground", args->foreground, "stay in the foreground until unmounted");
  sub.add_flag("--fuse-debug", args->debug, "print FUSE requests on stderr (implies --foreground)");
  sub.footer("Only the mounting user sees the directory and may change anything in it (no permission\n"
             "checks: it is your image); new files get that user's uid/gid. Runs in the background\n"
             "once the directory is usable. Unmount with `umimage umount DIR`, which returns after the\n"
             "image is flushed and closed.");
  return [args] { return run_mount(*args); };
});

}  // namespace
}  // namespace um::image
