// Kernel::boot: disks, the root mount, /dev, consoles, and init as PID 1 (the command line it
// starts from is parsed in boot/cmdline.cpp).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <unistd.h>

#include "core/cow/cow_file.h"
#include "core/ext/ext_fs.h"
#include "core/log.h"
#include "umkernel/boot/config.h"
#include "umkernel/kernel/exec.h"
#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/kmsg.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/kernel/task_limits.h"
#include "umkernel/mgmt/disks.h"
#include "umkernel/mgmt/management.h"
#include "umkernel/net/nic.h"
#include "umkernel/vfs/devices.h"
#include "umkernel/vfs/extfs.h"
#include "umkernel/vfs/hostfs.h"
#include "umkernel/vfs/procfs.h"
#include "umkernel/vfs/procfs_system.h"
#include "umkernel/vfs/pty.h"
#include "umkernel/vfs/synthetic.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {
constexpr int kConsoles = 8;

int channel_fd(const std::string& spec) {
  if (spec.rfind("fd:", 0) != 0) return -1;
  int fd = std::stoi(spec.substr(3));
  return fcntl(fd, F_GETFD) == -1 ? -2 : fd;
}
}  // namespace

Tty* Kernel::tty(int index) {
  if (index >= kPtyIndexBase) return pty_slave_by_index(index);
  if (index == 0) return console_.get();
  if (index < 0 || index >= static_cast<int>(ttys_.size())) return nullptr;
  return ttys_[index].get();
}

std::optional<DiskMount> Kernel::disk_superblock(uint64_t rdev, bool read_only) {
  if (major(rdev) != 98 || minor(rdev) % 16 != 0) return std::nullopt;
  int index = static_cast<int>(minor(rdev) / 16);
  if (auto it = open_disks_.find(index); it != open_disks_.end()) return it->second;
  for (auto& d : disks_) {
    if (d->index != index) continue;
    DiskMount dm;
    if (!d->backing.empty()) {
      if (auto r = cow::attach_backing(d->file, d->backing); !r) {
        UM_WARN("ubd%d: %s", index, r.error().message.c_str());
        dm.err = -EIO;
        return dm;
      }
    }
    bool ro = d->read_only || read_only;
    auto fs = ext::ExtFs::open(d->file, ro ? ext::ExtFs::Mode::ReadOnly : ext::ExtFs::Mode::ReadWrite,
                               ext::ExtFs::HostLock::None);  // locked at boot or by config
    if (!fs) {
      UM_WARN("ubd%d: %s", index, fs.error().message.c_str());
      dm.err = fs.error().code == EINVAL ? -EINVAL : -EIO;
      return dm;
    }
    auto sb = std::make_shared<ExtSuperBlock>(std::move(fs.value()), rdev);
    if (ro) sb->read_only = true;
    dm.sb = sb;
    dm.root = sb->inode(ext::kRootIno);
    open_disks_[index] = dm;
    return dm;
  }
  return std::nullopt;
}

bool Kernel::boot(const BootConfig& cfg, std::string* error) {
  kmsg_capture_log();
  ext::set_clock([] {
    timespec ts;
    guest_clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
  });
  kmsg(5, "Linux version 6.1.0-um (umkernel) #1 SMP umkernel");
  kmsg(6, "Memory: %lluK available", static_cast<unsigned long long>(cfg.mem / 1024));
  // The host trees hostfs may mount: a missing one fails the boot before anything is made.
  std::vector<HostfsRoot> hostfs;
  for (const auto& h : cfg.hostfs) hostfs.push_back({h.dir, h.read_only});
  if (!hostfs_configure(hostfs, error)) return false;
  // The run directory (umid), mconsole and host signals first: console sockets live there.
  if (!mgmt::start(*this, cfg, error)) return false;
  if (!start_platform(cfg.platform, error)) return false;
  UM_INFO("platform: %s", platform_->name());
  kmsg(6, "platform: %s", platform_->name());
  mgmt::Management* mgmt = management.get();
  if (!net::boot_network(cfg, mgmt ? mgmt->umid() : cfg.umid, error)) return false;
  for (const DiskSpec& d : cfg.disks) {
    disks_.push_back(std::make_shared<DiskSpec>(d));
    disk_indices_.push_back(d.index);
  }
  if (!cfg.strace.empty()) {
    strace_ = cfg.strace == "-" ? stderr : fopen(cfg.strace.c_str(), "we");
    if (!strace_) {
      *error = "cannot open strace file " + cfg.strace + ": " + strerror(errno);
      return false;
    }
  }
  set_proc_memory_total(cfg.mem);
  set_memory_limit(cfg.mem);
  set_proc_cmdline(cfg.cmdline);
  if (!cfg.hostname.empty()) set_hostname(cfg.hostname);
  else if (cfg.has_ip && !cfg.ip.hostname.empty()) set_hostname(cfg.ip.hostname);

  // Disks: COW files are made (or pointed at their backing file) and every disk is locked on
  // the host as UML's ubd driver does (mgmt/disks.h), all at boot: an image another VM holds
  // is refused now rather than at its first mount. The root disk is mounted at /; the others
  // wait for mount(2).
  int root_index = cfg.root_dev.back() - 'a';
  for (const DiskSpec& d : cfg.disks) {
    if (!d.backing.empty()) {
      if (auto r = cow::attach_backing(d.file, d.backing); !r) {
        *error = "ubd" + std::to_string(d.index) + ": " + r.error().message;
        return false;
      }
    }
    bool write = !d.read_only && !(d.index == root_index && cfg.root_ro);
    auto locks = lock_disk(d, write);
    if (!locks) {
      *error = locks.error().message;
      return false;
    }
    hold_disk_locks(d.index, std::move(*locks));
  }
  for (const DiskSpec& d : cfg.disks) {
    if (d.index != root_index) continue;
    bool ro = d.read_only || cfg.root_ro;
    auto fs = ext::ExtFs::open(d.file, ro ? ext::ExtFs::Mode::ReadOnly : ext::ExtFs::Mode::ReadWrite,
                               ext::ExtFs::HostLock::None);  // locked above
    if (!fs) {
      *error = "ubd" + std::to_string(d.index) + ": " + fs.error().message;
      return false;
    }
    auto sb = std::make_shared<ExtSuperBlock>(std::move(fs.value()), makedev(98, d.index * 16));
    if (ro) sb->read_only = true;
    open_disks_[d.index] = DiskMount{sb, sb->inode(ext::kRootIno), 0};
    root_mount_ = std::make_shared<Mount>();
    root_mount_->sb = sb;
    root_mount_->root = sb->inode(ext::kRootIno);
    root_mount_->path = "/";
    root_mount_->source = "/dev/ubd" + std::string(1, static_cast<char>('a' + d.index));
    root_mount_->options = ro ? "ro" : "rw";
    mounts_.push_back(root_mount_);
    kmsg(6, "ubd%c: %s%s", 'a' + d.index, d.file.c_str(), ro ? " (read-only)" : "");
    kmsg(6, "VFS: Mounted root (%s filesystem)%s on device 98:%d.", sb->type().c_str(),
         ro ? " readonly" : "", d.index * 16);
  }

  // Consoles: con0 is /dev/console and /dev/tty0, conN is /dev/ttyN; serial line sslN is
  // /dev/ttySN (tty index 64+N).
  ttys_.resize(mgmt::kSerialTtyBase + kSerialLines);
  for (int n = 0; n < kConsoles + kSerialLines; n++) {
    bool serial = n >= kConsoles;
    int line = serial ? n - kConsoles : n;
    int index = serial ? mgmt::kSerialTtyBase + line : n;
    const auto& specs = serial ? cfg.serials : cfg.consoles;
    ChannelSpec ch;
    if (auto it = specs.find(line); it != specs.end()) ch = it->second;
    std::unique_ptr<Tty> tty = mgmt::make_console(line, ch, error, serial);  // pty, port:, file:, socket
    if (!tty) {
      if (!error->empty()) return false;
      int in = channel_fd(ch.in), out = channel_fd(ch.out);
      if (in == -2 || out == -2) {
        *error = (serial ? "ssl" : "con") + std::to_string(line) + ": host file descriptor in '" +
                 (in == -2 ? ch.in : ch.out) + "' is not open";
        return false;
      }
      tty = std::make_unique<Tty>(index, in, out);
    }
    if (index == 0) console_ = std::move(tty);
    else ttys_[index] = std::move(tty);
  }

  PathRef root{root_mount_, root_mount_->root, "/"};
  // /dev is a devfs over the image's /dev directory, when there is one.
  InodePtr dev_dir;
  if (root_mount_->root->lookup("dev", dev_dir) == 0) {
    Stat st;
    if (dev_dir->getattr(st) == 0 && S_ISDIR(st.mode)) {
      auto devfs = make_devfs(makedev(0, 5), kConsoles, disk_indices_);
      devfs->parent = root_mount_;
      devfs->mountpoint = dev_dir;
      devfs->path = "/dev";
      InodePtr node;
      for (int n = 0; n < kSerialLines; n++)  // serial lines: 4:64+N, as Linux
        devfs->root->mknod("ttyS" + std::to_string(n), S_IFCHR | 0660, 0, 0, makedev(4, mgmt::kSerialTtyBase + n), node);
      mounts_.push_back(devfs);
      if (auto pts = devpts_boot_mount(devfs)) mounts_.push_back(pts);  // /dev/pts
    }
  }

  // init: PID 1, root, with /dev/console on fds 0, 1 and 2.
  std::string err;
  std::unique_ptr<platform::Context> ctx = platform_->new_process(&err);
  if (!ctx) {
    *error = "cannot start init: " + err;
    return false;
  }
  limit_host_process(*ctx->address_space());  // every guest process descends from it: mem= holds for all
  auto p = std::make_shared<Process>();
  p->pid = alloc_pid();
  p->mm_id = new_mm_id();
  p->memory = ctx->address_space();
  p->fds = std::make_shared<FdTable>();
  p->fs = std::make_shared<FsContext>();
  p->fs->root = root;
  p->fs->cwd = root;
  p->sighand = std::make_shared<SignalHandlers>();
  p->unkillable = true;
  set_tasks_max(cfg.tasks_max ? cfg.tasks_max : default_tasks_max(cfg.mem));
  // Linux's init gets RLIMIT_NPROC = threads-max / 2 (kernel/fork.c, set_max_threads).
  p->rlimits[RLIMIT_NPROC] = {static_cast<rlim_t>(tasks_max() / 2), static_cast<rlim_t>(tasks_max() / 2)};
  p->start_time_ns = monotonic_ns();
  register_process(p);
  pid_t host = ctx->host_id();
  Task* t = add_task(p->pid, std::move(ctx), p);
  start_oom_killer();

  auto console_sb = std::make_shared<SyntheticSuperBlock>("devtmpfs", makedev(0, 6), 0x1373);
  auto console_node = std::make_shared<DeviceNode>(console_sb.get(), 1, makedev(5, 1), 0600);
  FilePtr con;
  if (console_->open(*t, console_node, O_RDWR | O_NOCTTY, con) == 0) {
    con->path = "/dev/console";
    for (int fd = 0; fd < 3; fd++) p->fds->install(con, false);
  }
  console_keepalive_ = console_sb;

  std::vector<std::string> env = {"HOME=/", "TERM=linux"};
  for (auto& e : cfg.init_env) env.push_back(e);
  std::vector<std::string> candidates;
  if (!cfg.init.empty()) candidates.push_back(cfg.init);
  else candidates = {"/sbin/init", "/etc/init", "/bin/init", "/bin/sh"};
  int64_t r = -ENOENT;
  std::string used;
  for (auto& path : candidates) {
    std::vector<std::string> argv = {path};
    argv.insert(argv.end(), cfg.init_args.begin(), cfg.init_args.end());
    r = do_execve(*t, AT_FDCWD, path, argv, env, 0);
    if (r == 0) { used = path; break; }
    if (r == kTaskGone) break;
    if (!cfg.init.empty()) break;
  }
  if (r != 0) {
    *error = cfg.init.empty() ? "no init found (tried /sbin/init, /etc/init, /bin/init, /bin/sh)"
                              : "cannot run init " + cfg.init + ": " + strerror(static_cast<int>(r == kTaskGone ? ENOEXEC : -r));
    return false;
  }
  UM_DEBUG("init %s started as host pid %d", used.c_str(), host);
  kmsg(6, "Run %s as init process", used.c_str());
  t->ctx->resume();
  return true;
}

}  // namespace um::kernel
