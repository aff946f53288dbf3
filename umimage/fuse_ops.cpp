// FUSE low-level operations over um::ext::ExtFs (see fuse_ops.h).
#ifdef UM_HAVE_FUSE
#include "umimage/fuse_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/log.h"

namespace um::image::fusefs {
namespace {

using ext::Ino;

MountState& state_of(fuse_req_t req) { return *static_cast<MountState*>(fuse_req_userdata(req)); }
ext::ExtFs& fs_of(fuse_req_t req) { return *state_of(req).fs; }

// FUSE calls the root 1; ext calls it 2 (ext inode 1, the bad-blocks inode, is never exposed).
Ino to_ext(fuse_ino_t ino) { return ino == FUSE_ROOT_ID ? ext::kRootIno : static_cast<Ino>(ino); }
fuse_ino_t to_fuse(Ino ino) { return ino == ext::kRootIno ? FUSE_ROOT_ID : ino; }

void reply_error(fuse_req_t req, const Error& e) { fuse_reply_err(req, e.code > 0 ? e.code : EIO); }

struct stat to_stat(const ext::Attr& a) {
  struct stat st {};
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_size = static_cast<off_t>(a.size);
  st.st_blocks = static_cast<blkcnt_t>(a.blocks);
  st.st_blksize = 4096;
  st.st_rdev = a.rdev;
  st.st_atim = a.atime;
  st.st_mtim = a.mtime;
  st.st_ctim = a.ctime;
  return st;
}

void add_lookup(MountState& s, Ino ino, uint64_t n = 1) {
  if (ino == ext::kRootIno) return;
  uint64_t& count = s.lookups[ino];
  if (count == 0) s.fs->open_ref(ino);
  count += n;
}

void forget_one(MountState& s, Ino ino, uint64_t n) {
  auto it = s.lookups.find(ino);
  if (it == s.lookups.end()) return;
  if (it->second > n) {
    it->second -= n;
    return;
  }
  s.lookups.erase(it);
  s.fs->close_ref(ino);
}

bool fill_entry(fuse_req_t req, Ino ino, fuse_entry_param& e) {
  auto attr = fs_of(req).getattr(ino);
  if (!attr) {
    reply_error(req, attr.error());
    return false;
  }
  e = fuse_entry_param{};
  e.ino = to_fuse(ino);
  e.generation = attr->generation;
  e.attr = to_stat(*attr);
  e.attr_timeout = e.entry_timeout = state_of(req).timeout;
  return true;
}

void reply_entry(fuse_req_t req, Result<Ino> ino) {
  if (!ino) return reply_error(req, ino.error());
  fuse_entry_param e;
  if (!fill_entry(req, *ino, e)) return;
  MountState& state = state_of(req);  // a reply frees req
  if (fuse_reply_entry(req, &e) == 0) add_lookup(state, *ino);
}

void reply_status(fuse_req_t req, const Status& st) {
  if (!st) return reply_error(req, st.error());
  fuse_reply_err(req, 0);
}

const fuse_ctx& caller(fuse_req_t req) { return *fuse_req_ctx(req); }

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_entry(req, fs_of(req).lookup(to_ext(parent), name));
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  forget_one(state_of(req), to_ext(ino), nlookup);
  fuse_reply_none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) forget_one(state_of(req), to_ext(forgets[i].ino), forgets[i].nlookup);
  fuse_reply_none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto attr = fs_of(req).getattr(to_ext(ino));
  if (!attr) return reply_error(req, attr.error());
  struct stat st = to_stat(*attr);
  fuse_reply_attr(req, &st, state_of(req).timeout);
}

timespec now() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

void op_setattr(fuse_req_t req, fuse_ino_t fino, struct stat* attr, int to_set, fuse_file_info*) {
  ext::ExtFs& fs = fs_of(req);
  Ino ino = to_ext(fino);
  if (to_set & FUSE_SET_ATTR_SIZE) {
    if (auto st = fs.truncate(ino, static_cast<uint64_t>(attr->st_size)); !st) return reply_error(req, st.error());
  }
  ext::SetAttr c;
  if (to_set & FUSE_SET_ATTR_MODE) c.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) c.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) c.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) c.atime = now();
  else if (to_set & FUSE_SET_ATTR_ATIME) c.atime = attr->st_atim;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) c.mtime = now();
  else if (to_set & FUSE_SET_ATTR_MTIME) c.mtime = attr->st_mtim;
  if (to_set & FUSE_SET_ATTR_CTIME) c.ctime = attr->st_ctim;
  if (c.mode || c.uid || c.gid || c.atime || c.mtime || c.ctime) {
    if (auto st = fs.setattr(ino, c); !st) return reply_error(req, st.error());
  }
  op_getattr(req, fino, nullptr);
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto target = fs_of(req).readlink(to_ext(ino));
  if (!target) return reply_error(req, target.error());
  fuse_reply_readlink(req, target->c_str());
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  const fuse_ctx& who = caller(req);
  reply_entry(req, fs_of(req).mknod(to_ext(parent), name, mode, who.uid, who.gid, rdev));
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  const fuse_ctx& who = caller(req);
  reply_entry(req, fs_of(req).mkdir(to_ext(parent), name, S_IFDIR | (mode & 07777), who.uid, who.gid));
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  const fuse_ctx& who = caller(req);
  reply_entry(req, fs_of(req).symlink(to_ext(parent), name, target, who.uid, who.gid));
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  if (auto st = fs_of(req).link(to_ext(newparent), newname, to_ext(ino)); !st) return reply_error(req, st.error());
  reply_entry(req, to_ext(ino));
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs_of(req).unlink(to_ext(parent), name));
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  reply_status(req, fs_of(req).rmdir(to_ext(parent), name));
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned int flags) {
  reply_status(req, fs_of(req).rename(to_ext(parent), name, to_ext(newparent), newname, flags));
}

void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  // libfuse enables FUSE_CAP_ATOMIC_O_TRUNC, so O_TRUNC arrives here, not as a setattr.
  if (fi->flags & O_TRUNC) {
    if (auto st = fs_of(req).truncate(to_ext(ino), 0); !st) return reply_error(req, st.error());
  }
  fi->keep_cache = 1;  // nothing but this mount changes the image
  fuse_reply_open(req, fi);
}

void op_create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  const fuse_ctx& who = caller(req);
  auto ino = fs_of(req).mknod(to_ext(parent), name, S_IFREG | (mode & 07777), who.uid, who.gid);
  if (!ino) return reply_error(req, ino.error());
  fuse_entry_param e;
  if (!fill_entry(req, *ino, e)) return;
  fi->keep_cache = 1;
  MountState& state = state_of(req);  // a reply frees req
  if (fuse_reply_create(req, &e, fi) == 0) add_lookup(state, *ino);
}

void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::vector<char> buf(size);
  auto n = fs_of(req).read(to_ext(ino), static_cast<uint64_t>(off), buf.data(), size);
  if (!n) return reply_error(req, n.error());
  fuse_reply_buf(req, buf.data(), *n);
}

void op_write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info*) {
  auto n = fs_of(req).write(to_ext(ino), static_cast<uint64_t>(off), buf, size);
  if (!n) return reply_error(req, n.error());
  fuse_reply_write(req, *n);
}

void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) { reply_status(req, fs_of(req).flush()); }

void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  std::vector<char> buf(size);
  size_t used = 0;
  std::string name;
  auto st = fs_of(req).readdir(to_ext(ino), static_cast<uint64_t>(off),
                               [&](const ext::DirEntry& e, uint64_t next) {
    struct stat s {};
    s.st_ino = e.ino;
    s.st_mode = DTTOIF(e.type);
    name.assign(e.name);
    size_t need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &s,
                                    static_cast<off_t>(next));
    if (need > size - used) return false;  // full: the kernel asks again from here
    used += need;
    return true;
  });
  if (!st && used == 0) return reply_error(req, st.error());
  fuse_reply_buf(req, buf.data(), used);
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  ext::FsInfo info = fs_of(req).info();
  struct statvfs s {};
  s.f_bsize = s.f_frsize = info.block_size;
  s.f_blocks = info.blocks_total;
  s.f_bfree = info.blocks_free;
  s.f_bavail = info.blocks_free > info.blocks_reserved ? info.blocks_free - info.blocks_reserved : 0;
  s.f_files = info.inodes_total;
  s.f_ffree = s.f_favail = info.inodes_free;
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags) {
  reply_status(req, fs_of(req).setxattr(to_ext(ino), name, std::string_view(value, size), flags));
}

// getxattr/listxattr protocol: size 0 asks for the length; too small a buffer is ERANGE.
void reply_sized(fuse_req_t req, const std::string& data, size_t size) {
  if (size == 0) fuse_reply_xattr(req, data.size());
  else if (data.size() > size) fuse_reply_err(req, ERANGE);
  else fuse_reply_buf(req, data.data(), data.size());
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  auto value = fs_of(req).getxattr(to_ext(ino), name);
  if (!value) return reply_error(req, value.error());
  reply_sized(req, *value, size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  auto names = fs_of(req).listxattr(to_ext(ino));
  if (!names) return reply_error(req, names.error());
  std::string packed;
  for (const auto& n : *names) packed.append(n).push_back('\0');
  reply_sized(req, packed, size);
}

void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  reply_status(req, fs_of(req).removexattr(to_ext(ino), name));
}

void op_init(void*, fuse_conn_info* conn) {
  // Bigger requests: fewer round trips through the single-threaded loop.
  conn->max_write = 1 << 20;
  conn->max_readahead = 1 << 20;
}

fuse_lowlevel_ops make_operations() {
  fuse_lowlevel_ops ops{};
  ops.init = op_init;
  ops.lookup = op_lookup;
  ops.forget = op_forget;
  ops.forget_multi = op_forget_multi;
  ops.getattr = op_getattr;
  ops.setattr = op_setattr;
  ops.readlink = op_readlink;
  ops.mknod = op_mknod;
  ops.mkdir = op_mkdir;
  ops.symlink = op_symlink;
  ops.link = op_link;
  ops.unlink = op_unlink;
  ops.rmdir = op_rmdir;
  ops.rename = op_rename;
  ops.open = op_open;
  ops.create = op_create;
  ops.read = op_read;
  ops.write = op_write;
  ops.flush = op_flush;
  ops.fsync = op_fsync;
  ops.readdir = op_readdir;
  ops.statfs = op_statfs;
  ops.setxattr = op_setxattr;
  ops.getxattr = op_getxattr;
  ops.listxattr = op_listxattr;
  ops.removexattr = op_removexattr;
  return ops;
}

}  // namespace

const fuse_lowlevel_ops& operations() {
  static const fuse_lowlevel_ops ops = make_operations();
  return ops;
}

Status finish(MountState& state) {
  for (auto& [ino, count] : state.lookups) state.fs->close_ref(ino);
  state.lookups.clear();
  return state.fs->flush();
}

}  // namespace um::image::fusefs

#endif  // UM_HAVE_FUSE
