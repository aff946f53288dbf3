// umimage create IMG [--size 512M|auto] [--type ext2|ext3|ext4] [--from DIR|ARCHIVE|-]
//                    [--label L] [--busybox[=PATH]]
// Builds into a temporary file next to IMG and renames it at the end, so a failed (or
// interrupted) create leaves nothing behind.
#include <ext2fs/ext2fs.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <optional>

#include "core/cli.h"
#include "core/ext/ext_fs.h"
#include "umimage/busybox_root.h"
#include "umimage/command.h"
#include "umimage/sources.h"

namespace um::image {
namespace {

struct CreateArgs {
  std::string image, size = "auto", type = "ext4", from, label, busybox, owner;
  bool with_busybox = false;
  uint64_t inodes = 0;
};

// Temporary files to remove if we are interrupted.
char g_cleanup[2][4096];

void on_signal(int sig) {
  for (auto& p : g_cleanup)
    if (p[0]) unlink(p);
  signal(sig, SIG_DFL);
  raise(sig);
}

struct TempFile {
  std::string path;
  int slot;
  TempFile(std::string p, int s) : path(std::move(p)), slot(s) {
    snprintf(g_cleanup[slot], sizeof g_cleanup[slot], "%s", path.c_str());
  }
  ~TempFile() {
    if (!path.empty()) unlink(path.c_str());
    g_cleanup[slot][0] = 0;
  }
  void keep() {
    path.clear();
    g_cleanup[slot][0] = 0;
  }
};

std::string temp_name(const std::string& image, const char* what) {
  size_t slash = image.rfind('/');
  std::string dir = slash == std::string::npos ? "" : image.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? image : image.substr(slash + 1);
  return dir + "." + base + "." + what + "-" + std::to_string(getpid());
}

// Copies stdin into `path` (an archive on stdin has to be read twice for auto sizing).
Status spool_stdin(const std::string& path) {
  int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno(path);
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return Error::from_errno("reading stdin");
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(fd, buf.data() + off, n - off);
      if (w < 0) {
        int e = errno;
        close(fd);
        return Error::from_errno("writing " + path, e);
      }
      off += w;
    }
  }
  if (close(fd) != 0) return Error::from_errno(path);
  return {};
}

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// Content plus headroom: a quarter more than the data and metadata, 16 MiB, the journal and
// the 5% reserve; never below 64 MiB (the image is sparse, unused space costs nothing).
void auto_size(const SourceStats& s, const std::string& type, uint64_t& bytes, uint64_t& inodes) {
  inodes = std::max<uint64_t>(s.entries + s.entries / 4 + 256, 1024);
  uint64_t base = s.block_bytes + inodes * 256 + s.entries * 64;
  uint64_t size = base + base / 4 + (16 << 20);
  if (type != "ext2") {
    int jblocks = ext2fs_default_journal_size(size / 4096);
    if (jblocks > 0) size += uint64_t(jblocks) * 4096;
  }
  size = size * 100 / 95;
  bytes = std::max<uint64_t>(round_up(size, 1 << 20), 64 << 20);
  inodes = std::max<uint64_t>(inodes, bytes / 8192);
}

int run(const CreateArgs& a) {
  struct stat st;
  if (lstat(a.image.c_str(), &st) == 0)
    return cli::fail(a.image + ": already exists (remove it first)");
  {
    size_t slash = a.image.rfind('/');
    std::string dir = slash == std::string::npos ? "." : a.image.substr(0, slash + 1);
    if (access(dir.c_str(), W_OK) != 0)
      return cli::fail(Error::from_errno("cannot create " + a.image));
  }
  if (a.type != "ext2" && a.type != "ext3" && a.type != "ext4")
    return cli::fail("unknown --type '" + a.type + "' (ext2, ext3 or ext4)");
  if (a.label.size() > 16) return cli::fail("--label: at most 16 bytes");

  // What goes in, and how big it is.
  enum class Kind { None, Dir, Archive } kind = Kind::None;
  std::string source = a.from;
  if (!a.from.empty()) {
    if (a.from == "-") {
      kind = Kind::Archive;
    } else if (stat(a.from.c_str(), &st) != 0) {
      return cli::fail(Error::from_errno(a.from));
    } else {
      kind = S_ISDIR(st.st_mode) ? Kind::Dir : Kind::Archive;
    }
  }
  std::optional<std::pair<uint32_t, uint32_t>> owner;
  if (!a.owner.empty()) {
    unsigned u = 0, g = 0;
    char extra;
    int n = sscanf(a.owner.c_str(), "%u:%u%c", &u, &g, &extra);
    if (!isdigit(static_cast<unsigned char>(a.owner[0])) ||
        !(n == 2 || (n == 1 && a.owner.find(':') == std::string::npos)))
      return cli::fail("--owner: expected numeric UID[:GID], got '" + a.owner + "'");
    owner = {u, n == 2 ? g : u};
  }
  std::vector<std::string> applets;
  std::string busybox = a.busybox.empty() ? "/bin/busybox" : a.busybox;
  if (a.with_busybox) {
    auto r = busybox_applets(busybox);
    if (!r.ok()) return cli::fail(r.error());
    applets = std::move(*r);
  }

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaction(sig, &sa, nullptr);

  std::unique_ptr<TempFile> spool;
  if (a.from == "-") {
    spool = std::make_unique<TempFile>(temp_name(a.image, "stdin"), 1);
    if (auto s = spool_stdin(spool->path); !s) return cli::fail(s.error());
    source = spool->path;
  }

  bool auto_sized = a.size == "auto";
  ext::CreateOptions opts;
  opts.type = a.type;
  opts.label = a.label;
  SourceStats stats;
  if (kind == Kind::Dir) {
    auto r = scan_directory(source);
    if (!r.ok()) return cli::fail(r.error());
    stats = *r;
  } else if (kind == Kind::Archive) {
    // Also validates the whole archive (truncation, format) before anything is written.
    auto r = scan_archive(source);
    if (!r.ok()) return cli::fail(r.error());
    stats = *r;
  }
  if (a.with_busybox) {
    if (stat(busybox.c_str(), &st) == 0) stats.block_bytes += round_up(st.st_size, 4096);
    stats.entries += applets.size() + 40;
    stats.block_bytes += 40 * 4096;
  }
  if (auto_sized) {
    auto_size(stats, a.type, opts.size_bytes, opts.inode_count);
  } else {
    auto r = cli::parse_size(a.size);
    if (!r.ok()) return cli::fail("--size: " + r.error().message);
    opts.size_bytes = *r;
    uint64_t need = stats.entries + stats.entries / 8 + 64;
    if (need > opts.size_bytes / 8192) opts.inode_count = need;
  }
  if (a.inodes) opts.inode_count = a.inodes;

  TempFile tmp(temp_name(a.image, "tmp"), 0);
  auto created = ext::ExtFs::create(tmp.path, opts);
  if (!created.ok()) {
    Error e = std::move(created).error();
    return cli::fail(a.image + ": " + e.message);
  }
  auto fs = std::move(*created);
  TreeWriter w(*fs, fs->root());
  Progress progress("creating " + a.image, stats.data_bytes, stats.entries);
  Status st2;
  if (a.with_busybox) st2 = write_busybox_root(w, busybox, applets, a.type);
  if (owner) w.force_owner(owner->first, owner->second);
  if (st2 && kind == Kind::Dir) st2 = copy_directory(source, w, &progress);
  if (st2 && kind == Kind::Archive) st2 = copy_archive(source, w, &progress);
  if (st2) st2 = w.finish();
  progress.done();
  if (!st2) {
    Error e = std::move(st2).error();
    if (e.code == ENOSPC && !auto_sized)
      e.message += " (the content does not fit: use a larger --size or --size auto)";
    return cli::fail(e);
  }
  fs.reset();  // closes and writes everything
  // RENAME_NOREPLACE: never clobber a file that appeared meanwhile.
  if (renameat2(AT_FDCWD, tmp.path.c_str(), AT_FDCWD, a.image.c_str(), RENAME_NOREPLACE) != 0)
    return cli::fail(Error::from_errno(a.image));
  tmp.keep();
  return kExitOk;
}

Registrar reg("create", "make a new ext2/3/4 image, empty or from a directory, an archive or busybox", 10,
              [](CLI::App& sub) {
                auto a = std::make_shared<CreateArgs>();
                sub.add_option("image", a->image, "image file to create (must not exist)")->required();
                sub.add_option("-s,--size", a->size, "image size (512M, 2G, ...) or auto: content plus headroom")
                    ->capture_default_str();
                sub.add_option("-t,--type", a->type, "file system type: ext2, ext3 or ext4")
                    ->capture_default_str();
                sub.add_option("-f,--from", a->from,
                               "content: a directory, an archive (tar[.gz|.xz|.zst|.bz2], zip, cpio) or - for a tar stream on stdin");
                sub.add_option("-L,--label", a->label, "volume label (up to 16 bytes)");
                sub.add_option("-N,--inodes", a->inodes, "number of inodes (default: from size and content)");
                sub.add_option("-o,--owner", a->owner,
                               "give everything from --from this numeric owner UID[:GID] (e.g. 0:0)");
                auto* bb = sub.add_option("--busybox", a->busybox,
                                          "add the default root: busybox (default /bin/busybox), applet links, /etc, /dev...")
                               ->expected(0, 1);
                return [a, bb] {
                  a->with_busybox = bb->count() > 0;
                  return run(*a);
                };
              });

}  // namespace
}  // namespace um::image
