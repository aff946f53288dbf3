#include "umkernel/vfs/cgroupfs.h"

#include <csignal>
#include <sstream>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/task.h"
#include "umkernel/vfs/synthetic.h"

namespace um::kernel {

namespace {

constexpr uint32_t kCgroup2Magic = 0x63677270;

struct Hierarchy {
  std::shared_ptr<SyntheticSuperBlock> sb;
  std::shared_ptr<Cgroup> root;
};
Hierarchy* g_hierarchy = nullptr;  // made at the first mount, lives as long as umkernel

bool is_root(const Cgroup& c) { return c.parent.expired(); }

// Is `c` the cgroup `p` is in, or an ancestor of it?
bool contains(const Cgroup& c, const Process& p) {
  const Cgroup* at = p.cgroup ? p.cgroup.get() : g_hierarchy->root.get();
  while (at) {
    if (at == &c) return true;
    auto up = at->parent.lock();
    at = up.get();  // the hierarchy keeps every parent alive
  }
  return false;
}

bool live(const Process& p) { return !p.zombie && !p.reaped; }

std::string procs_text(const Cgroup& c, bool threads) {
  std::ostringstream o;
  for (auto& [pid, p] : kernel().processes()) {
    if (!live(*p)) continue;
    const Cgroup* in = p->cgroup ? p->cgroup.get() : g_hierarchy->root.get();
    if (in != &c) continue;
    if (threads) {
      for (Task* t : p->threads) o << t->tid << '\n';
    } else {
      o << pid << '\n';
    }
  }
  return o.str();
}

bool populated(const Cgroup& c) {
  for (auto& [pid, p] : kernel().processes())
    if (live(*p) && contains(c, *p)) return true;
  return false;
}

int descendants(const Cgroup& c) {
  int n = 0;
  for (auto& [name, child] : c.children) n += 1 + descendants(*child);
  return n;
}

int64_t parse_pid(std::string_view v, int& out) {
  std::string s(v);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) return -EINVAL;
  out = std::stoi(s);
  return 0;
}

InodePtr make_dir(const std::shared_ptr<Cgroup>& c, InodePtr parent);

class CgroupDir : public SyntheticDir {
 public:
  CgroupDir(SuperBlock* sb, uint64_t ino, std::weak_ptr<Cgroup> c) : SyntheticDir(sb, ino, 0755), cg_(std::move(c)) {}

  int64_t mkdir(std::string_view name, uint32_t mode, uint32_t uid, uint32_t gid) override {
    auto c = cg_.lock();
    if (!c) return -ENOENT;
    InodePtr existing;
    if (lookup(name, existing) == 0) return -EEXIST;
    if (name.empty() || name.size() > 255 || name.find('/') != std::string_view::npos) return -EINVAL;
    auto child = std::make_shared<Cgroup>();
    child->name = std::string(name);
    child->parent = c;
    child->dir = make_dir(child, shared_from_this());
    auto* d = static_cast<SyntheticInode*>(child->dir.get());
    d->mode_ = S_IFDIR | (mode & 07777);
    d->uid_ = uid;
    d->gid_ = gid;
    c->children[child->name] = child;
    add(child->name, child->dir);
    return 0;
  }

  int64_t rmdir(std::string_view name) override {
    auto c = cg_.lock();
    if (!c) return -ENOENT;
    auto it = c->children.find(std::string(name));
    if (it == c->children.end()) {
      InodePtr file;
      return lookup(name, file) == 0 ? -ENOTDIR : -ENOENT;
    }
    // A cgroup with processes or child cgroups cannot go (Linux: EBUSY).
    if (!it->second->children.empty() || populated(*it->second)) return -EBUSY;
    remove(name);
    c->children.erase(it);
    return 0;
  }

 private:
  std::weak_ptr<Cgroup> cg_;
};

InodePtr make_dir(const std::shared_ptr<Cgroup>& c, InodePtr parent) {
  auto* sb = g_hierarchy->sb.get();
  std::weak_ptr<Cgroup> wc = c;
  auto d = std::make_shared<CgroupDir>(sb, sb->next_ino(), wc);
  d->parent = std::move(parent);
  auto file = [&](const std::string& name, GeneratedFile::Generator g) {
    d->add(name, std::make_shared<GeneratedFile>(sb, sb->next_ino(), std::move(g), 0444));
  };
  auto knob = [&](const std::string& name, GeneratedFile::Generator g, KnobFile::Setter s, uint32_t perm = 0644) {
    d->add(name, std::make_shared<KnobFile>(sb, sb->next_ino(), std::move(g), std::move(s), perm));
  };
  auto with = [wc](auto fn) {
    return [wc, fn]() -> std::string {
      auto c = wc.lock();
      return c ? fn(*c) : std::string();
    };
  };
  // Moving a process: it leaves its cgroup for this one (its threads go with it).
  auto move_in = [wc](Task& t, std::string_view v) -> int64_t {
    auto c = wc.lock();
    if (!c) return -ENODEV;
    int pid;
    if (int64_t r = parse_pid(v, pid); r < 0) return r;
    auto& procs = kernel().processes();
    std::shared_ptr<Process> p;
    if (pid == 0) pid = t.proc->pid;  // "0" is the writer itself
    if (auto it = procs.find(pid); it != procs.end()) p = it->second;
    else {
      for (auto& [ppid, q] : procs)  // a thread id names its process
        for (Task* t : q->threads)
          if (t->tid == pid) p = q;
    }
    if (!p || !live(*p)) return -ESRCH;
    p->cgroup = is_root(*c) ? nullptr : c;
    return 0;
  };
  knob("cgroup.procs", with([](Cgroup& c) { return procs_text(c, false); }), move_in);
  knob("cgroup.threads", with([](Cgroup& c) { return procs_text(c, true); }), move_in);
  file("cgroup.controllers", [] { return std::string("\n"); });
  knob("cgroup.subtree_control", [] { return std::string("\n"); }, [](Task&, std::string_view v) -> int64_t {
    // "+cpu -memory ...": no controller exists here to enable (ENOENT, as for an unknown one).
    for (char ch : v)
      if (ch != ' ' && ch != '\n' && ch != '\t') return -ENOENT;
    return 0;
  });
  file("cgroup.stat", with([](Cgroup& c) {
    return "nr_descendants " + std::to_string(descendants(c)) + "\nnr_dying_descendants 0\n";
  }));
  knob("cgroup.max.depth", [] { return std::string("max\n"); }, [](Task&, std::string_view v) -> int64_t {
    return v.substr(0, 3) == "max" ? 0 : -EINVAL;
  });
  knob("cgroup.max.descendants", [] { return std::string("max\n"); }, [](Task&, std::string_view v) -> int64_t {
    return v.substr(0, 3) == "max" ? 0 : -EINVAL;
  });
  if (!is_root(*c)) {
    file("cgroup.type", [] { return std::string("domain\n"); });
    file("cgroup.events", with([](Cgroup& c) {
      return std::string("populated ") + (populated(c) ? "1" : "0") + "\nfrozen 0\n";
    }));
    // Writing 1 kills every process in the cgroup and below it.
    knob("cgroup.kill", [] { return std::string(); }, [wc](Task&, std::string_view v) -> int64_t {
      auto c = wc.lock();
      if (!c) return -ENODEV;
      if (v.empty() || v[0] != '1') return -ERANGE;
      std::vector<std::shared_ptr<Process>> victims;
      for (auto& [pid, p] : kernel().processes())
        if (live(*p) && contains(*c, *p)) victims.push_back(p);
      for (auto& p : victims) kernel().send_signal_to_process(*p, SIGKILL);
      return 0;
    }, 0200);
  }
  return d;
}

}  // namespace

std::shared_ptr<Mount> make_cgroupfs(uint64_t dev_id) {
  if (!g_hierarchy) {
    g_hierarchy = new Hierarchy;
    g_hierarchy->sb = std::make_shared<SyntheticSuperBlock>("cgroup2", dev_id, kCgroup2Magic);
    g_hierarchy->root = std::make_shared<Cgroup>();
    g_hierarchy->root->dir = make_dir(g_hierarchy->root, nullptr);
  }
  auto m = std::make_shared<Mount>();
  m->sb = g_hierarchy->sb;
  m->root = g_hierarchy->root->dir;
  m->source = "cgroup2";
  m->options = "rw,nosuid,nodev,noexec,relatime";
  return m;
}

std::string cgroup_path(const Process& p) {
  std::string path;
  for (auto c = p.cgroup; c && !is_root(*c); c = c->parent.lock()) path = "/" + c->name + path;
  return path.empty() ? "/" : path;
}

}  // namespace um::kernel
