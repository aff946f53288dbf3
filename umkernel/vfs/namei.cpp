#include "umkernel/vfs/namei.h"

#include <linux/openat2.h>

#include <deque>

#include "umkernel/kernel/kernel.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

namespace {

constexpr int kMaxSymlinks = 40;

const ResolveScope* g_scope = nullptr;  // openat2's restrictions for the current call
bool scoped() { return g_scope && (g_scope->flags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)); }
bool no_xdev() { return g_scope && (g_scope->flags & RESOLVE_NO_XDEV); }

void split(std::string_view path, std::deque<std::string>& out, bool front) {
  std::deque<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (front) out.insert(out.begin(), parts.begin(), parts.end());
  else out.insert(out.end(), parts.begin(), parts.end());
}

std::string parent_path(const std::string& p) {
  size_t k = p.rfind('/');
  return k == 0 || k == std::string::npos ? "/" : p.substr(0, k);
}

// Moves from a mount point to what is mounted on it (repeatedly: mounts can stack).
void cross_down(PathRef& ref) {
  for (;;) {
    std::shared_ptr<Mount> found;
    for (auto& m : kernel().mounts())
      if (m->parent == ref.mnt && m->mountpoint == ref.inode) found = m;  // last mount wins
    if (!found) return;
    ref.mnt = found;
    ref.inode = found->root;
  }
}

int64_t step_up(Task& t, PathRef& cur) {
  const PathRef& root = t.proc->fs->root;
  for (;;) {
    if (cur.same(root)) return 0;
    if (cur.inode == cur.mnt->root && cur.mnt->parent) {
      cur.inode = cur.mnt->mountpoint;
      cur.mnt = cur.mnt->parent;
      continue;
    }
    break;
  }
  InodePtr up;
  if (int64_t r = cur.inode->lookup("..", up); r < 0) return r;
  cur.inode = up;
  cur.path = parent_path(cur.path);
  return 0;
}

int64_t walk(Task& t, PathRef cur, std::deque<std::string> parts, int flags, PathRef& out) {
  int links = 0;
  const PathRef& root = g_scope && (g_scope->flags & RESOLVE_IN_ROOT) ? g_scope->root : t.proc->fs->root;
  while (!parts.empty()) {
    std::string name = std::move(parts.front());
    parts.pop_front();
    Stat st;
    if (int64_t r = cur.inode->getattr(st); r < 0) return r;
    if (!S_ISDIR(st.mode)) return -ENOTDIR;
    if (int64_t r = check_permission(t, *cur.inode, 1); r < 0) return r;
    if (name == ".") continue;
    if (name == "..") {
      if (scoped() && cur.same(g_scope->root)) {
        if (g_scope->flags & RESOLVE_BENEATH) return -EXDEV;
        continue;  // RESOLVE_IN_ROOT: ".." of the root is the root
      }
      auto mnt = cur.mnt;
      if (int64_t r = step_up(t, cur); r < 0) return r;
      if (no_xdev() && cur.mnt != mnt) return -EXDEV;
      continue;
    }
    if (name.size() > 255) return -ENAMETOOLONG;
    PathRef next{cur.mnt, nullptr, join_path(cur.path, name)};
    if (int64_t r = cur.inode->lookup(name, next.inode); r < 0) return r;
    cross_down(next);
    if (no_xdev() && next.mnt != cur.mnt) return -EXDEV;
    bool last = parts.empty();
    if (!last || (flags & kFollow)) {
      Stat cst;
      if (int64_t r = next.inode->getattr(cst); r < 0) return r;
      if (S_ISLNK(cst.mode)) {
        if (++links > kMaxSymlinks) return -ELOOP;
        if (g_scope && (g_scope->flags & RESOLVE_NO_SYMLINKS)) return -ELOOP;
        if (FilePtr f = next.inode->magic_target(t)) {
          if (g_scope && (g_scope->flags & RESOLVE_NO_MAGICLINKS)) return -ELOOP;
          if (scoped()) return -EXDEV;  // not safe for scoped lookups (nd_jump_link)
          if (no_xdev() && f->mount != cur.mnt) return -EXDEV;
          if (f->inode() && f->mount) cur = PathRef{f->mount, f->inode_ptr(), f->path};
          else cur = PathRef{next.mnt, anon_file_inode(f, next.inode->sb(), t.proc->cred.fsuid, t.proc->cred.fsgid), next.path};
          continue;
        }
        std::string target;
        if (int64_t r = next.inode->readlink_for(t, target); r < 0) return r;
        if (target.empty()) return -ENOENT;
        if (target[0] == '/') {
          if (g_scope && (g_scope->flags & RESOLVE_BENEATH)) return -EXDEV;
          if (no_xdev() && root.mnt != cur.mnt) return -EXDEV;
          cur = root;
        }
        split(target, parts, true);
        continue;
      }
    }
    cur = std::move(next);
  }
  if (flags & kMustBeDir) {
    Stat st;
    if (int64_t r = cur.inode->getattr(st); r < 0) return r;
    if (!S_ISDIR(st.mode)) return -ENOTDIR;
  }
  out = std::move(cur);
  return 0;
}

}  // namespace

ScopedResolve::ScopedResolve(const ResolveScope& s) : saved_(g_scope) { g_scope = &s; }
ScopedResolve::~ScopedResolve() { g_scope = saved_; }

std::string join_path(const std::string& dir, std::string_view name) {
  std::string s = dir;
  if (s.empty() || s.back() != '/') s += '/';
  s += name;
  return s;
}

int64_t dir_start(Task& t, int dirfd, PathRef& out) {
  if (dirfd == AT_FDCWD) {
    out = t.proc->fs->cwd;
    return 0;
  }
  FilePtr f = t.proc->fds->get(dirfd);
  if (!f) return -EBADF;
  if (!f->inode()) return -ENOTDIR;
  out = PathRef{f->mount, f->inode_ptr(), f->path};
  if (!out.mnt) return -ENOTDIR;
  return 0;
}

int64_t resolve(Task& t, int dirfd, const std::string& path, int flags, PathRef& out) {
  if (path.empty()) {
    if (!(flags & kEmptyPathOk)) return -ENOENT;
    if (dirfd == AT_FDCWD) { out = t.proc->fs->cwd; return 0; }
    FilePtr f = t.proc->fds->get(dirfd);
    if (!f) return -EBADF;
    out = PathRef{f->mount, f->inode_ptr(), f->path};
    if (!out.inode) return -EBADF;
    return 0;
  }
  if (path.size() >= 4096) return -ENAMETOOLONG;
  PathRef start;
  if (path[0] == '/' && g_scope && (g_scope->flags & RESOLVE_BENEATH)) return -EXDEV;
  if (path[0] == '/' && g_scope && (g_scope->flags & RESOLVE_IN_ROOT)) start = g_scope->root;
  else if (path[0] == '/') {
    start = t.proc->fs->root;
    if (no_xdev() && start.mnt != g_scope->root.mnt) return -EXDEV;
  } else if (int64_t r = dir_start(t, dirfd, start); r < 0) return r;
  std::deque<std::string> parts;
  split(path, parts, false);
  if (path.back() == '/') flags |= kMustBeDir | kFollow;
  return walk(t, start, std::move(parts), flags, out);
}

int64_t resolve_parent(Task& t, int dirfd, const std::string& path, PathRef& parent,
                       std::string& last, bool* trailing_slash) {
  if (path.empty()) return -ENOENT;
  if (path.size() >= 4096) return -ENAMETOOLONG;
  std::string p = path;
  bool slash = false;
  while (p.size() > 1 && p.back() == '/') { p.pop_back(); slash = true; }
  if (trailing_slash) *trailing_slash = slash;
  size_t k = p.rfind('/');
  std::string dir = k == std::string::npos ? "" : p.substr(0, k + 1);
  last = k == std::string::npos ? p : p.substr(k + 1);
  if (p == "/") last = "";
  if (last.size() > 255) return -ENAMETOOLONG;
  if (dir.empty()) {
    if (int64_t r = dir_start(t, dirfd, parent); r < 0) return r;
    Stat st;
    if (int64_t r = parent.inode->getattr(st); r < 0) return r;
    if (!S_ISDIR(st.mode)) return -ENOTDIR;
    return check_permission(t, *parent.inode, 1);
  }
  if (int64_t r = resolve(t, dirfd, dir, kFollow | kMustBeDir, parent); r < 0) return r;
  return check_permission(t, *parent.inode, 1);
}

int64_t check_permission(Task& t, Inode& inode, int mask, bool use_real_ids) {
  if (mask == 0) return 0;
  Stat st;
  if (int64_t r = inode.getattr(st); r < 0) return r;
  const Credentials& c = t.proc->cred;
  uint32_t uid = use_real_ids ? c.uid : c.fsuid;
  uint32_t gid = use_real_ids ? c.gid : c.fsgid;
  if ((mask & 2) && inode.sb()->read_only && (S_ISREG(st.mode) || S_ISDIR(st.mode) || S_ISLNK(st.mode)))
    return -EROFS;
  if (uid == 0) {
    // root may do anything, except execute a file that nobody may execute
    if ((mask & 1) && !S_ISDIR(st.mode) && !(st.mode & 0111)) return -EACCES;
    return 0;
  }
  uint32_t perm;
  if (st.uid == uid) perm = (st.mode >> 6) & 7;
  else if (st.gid == gid || c.in_group(st.gid)) perm = (st.mode >> 3) & 7;
  else perm = st.mode & 7;
  return (perm & mask) == static_cast<uint32_t>(mask) ? 0 : -EACCES;
}

}  // namespace um::kernel
