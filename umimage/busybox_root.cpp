#include "umimage/busybox_root.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/unique_fd.h"

namespace um::image {

namespace {

// Runs `prog args...` and returns its stdout (fails on a non-zero exit).
Result<std::string> run_capture(const std::string& prog, const std::vector<std::string>& args) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Error::from_errno("pipe");
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    dup2(pipefd[1], 1);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(devnull, 2);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(prog.c_str()));
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(prog.c_str(), argv.data());
    _exit(127);
  }
  close(pipefd[1]);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, n);
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error::make(EIO, prog + " --list-full failed (is it busybox?)");
  return out;
}

EntryMeta meta(uint32_t mode) {
  EntryMeta m;
  m.mode = mode;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  m.atime = m.mtime = m.ctime = now;
  return m;
}

Status add_text(TreeWriter& w, const std::string& rel, const std::string& text, uint32_t perm = 0644) {
  size_t pos = 0;
  return w.add(rel, meta(S_IFREG | perm), [&](char* buf, size_t len) -> Result<size_t> {
    size_t n = std::min(len, text.size() - pos);
    std::copy_n(text.data() + pos, n, buf);
    pos += n;
    return n;
  });
}

// /etc/init.d/console: the console's shell, respawned by init. The console reads what
// umkernel reads (a terminal, a pipe, /dev/null); a shell that reads the end of that input
// exits at once, and init would start the next one forever.
const char* const kConsoleScript =
    "#!/bin/sh\n"
    "# The shell on the console, respawned by init (/etc/inittab).\n"
    "# The first one starts at once, so commands piped into umkernel run. Every later one\n"
    "# waits for Enter, as busybox's askfirst; once the console's input has ended (the end\n"
    "# of a pipe, /dev/null) no shell is started: it would exit at once, again and again.\n"
    "if [ -e /run/console-shell ]; then\n"
    "  printf '\\nPlease press Enter to activate this console. '\n"
    "  read -r _ || exec sleep inf\n"
    "fi\n"
    ": >/run/console-shell\n"
    "exec /bin/sh -l\n";

}  // namespace

Result<std::vector<std::string>> busybox_applets(const std::string& busybox) {
  struct stat st;
  if (stat(busybox.c_str(), &st) != 0)
    return Error::from_errno(busybox + " (install busybox-static or pass --busybox PATH)");
  if (!S_ISREG(st.st_mode) || access(busybox.c_str(), X_OK) != 0)
    return Error::make(EINVAL, busybox + ": not an executable file");
  std::string out = UM_TRY(run_capture(busybox, {"--list-full"}));
  std::vector<std::string> applets;
  size_t i = 0;
  while (i < out.size()) {
    size_t j = out.find('\n', i);
    if (j == std::string::npos) j = out.size();
    std::string line = out.substr(i, j - i);
    i = j + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line.find("..") != std::string::npos) continue;
    applets.push_back(line);
  }
  if (applets.empty()) return Error::make(EINVAL, busybox + ": lists no applets");
  return applets;
}

Status write_busybox_root(TreeWriter& w, const std::string& busybox,
                          const std::vector<std::string>& applets, const std::string& fstype) {
  for (const char* d : {"bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "dev", "proc", "sys",
                        "root", "home", "mnt", "var", "var/log", "var/run", "run", "lib", "opt"})
    UM_TRY(w.add(d, meta(S_IFDIR | (std::string(d) == "root" ? 0700 : 0755))));
  UM_TRY(w.add("tmp", meta(S_IFDIR | 01777)));
  UM_TRY(w.add("var/tmp", meta(S_IFDIR | 01777)));

  UniqueFd fd(open(busybox.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::from_errno("cannot read " + busybox);
  int raw = fd.get();
  UM_TRY(w.add("bin/busybox", meta(S_IFREG | 0755), [raw, &busybox](char* buf, size_t len) -> Result<size_t> {
    ssize_t n = read(raw, buf, len);
    if (n < 0) return Error::from_errno("reading " + busybox);
    return size_t(n);
  }));
  std::set<std::string> done{"bin/busybox"};
  for (auto& a : applets) {
    std::string rel = a;
    while (rel.starts_with("/")) rel.erase(0, 1);
    if (rel.empty() || !done.insert(rel).second) continue;
    UM_TRY(w.add(rel, meta(S_IFLNK | 0777), {}, "/bin/busybox"));
  }

  // A few device nodes so that init has a console before anything mounts /dev.
  struct Dev {
    const char* name;
    uint32_t type, perm;
    unsigned ma, mi;
  };
  for (const Dev& d : {Dev{"dev/console", S_IFCHR, 0600, 5, 1}, Dev{"dev/null", S_IFCHR, 0666, 1, 3},
                       Dev{"dev/zero", S_IFCHR, 0666, 1, 5}, Dev{"dev/tty", S_IFCHR, 0666, 5, 0},
                       Dev{"dev/random", S_IFCHR, 0666, 1, 8}, Dev{"dev/urandom", S_IFCHR, 0666, 1, 9}}) {
    EntryMeta m = meta(d.type | d.perm);
    m.rdev = makedev(d.ma, d.mi);
    UM_TRY(w.add(d.name, m));
  }

  UM_TRY(add_text(w, "etc/passwd",
                  "root:x:0:0:root:/root:/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
  UM_TRY(add_text(w, "etc/shadow", "root::19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0600));
  UM_TRY(add_text(w, "etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n"));
  UM_TRY(add_text(w, "etc/hostname", "um\n"));
  // A small real system: a login shell on tty1..tty3 (the console sockets `umconsole attach
  // VM 1` reaches), and one on the console that does not spin once the console's input ends.
  UM_TRY(add_text(w, "etc/inittab",
                  "# busybox init: see busybox's examples/inittab\n"
                  "::sysinit:/bin/mount -a\n"
                  "::sysinit:/bin/hostname -F /etc/hostname\n"
                  "# The console (umkernel's own terminal, pipe or /dev/null): see /etc/init.d/console\n"
                  "::respawn:/etc/init.d/console\n"
                  "# Virtual consoles: umconsole attach VM 1 (2, 3)\n"
                  "tty1::respawn:-/bin/sh\n"
                  "tty2::respawn:-/bin/sh\n"
                  "tty3::respawn:-/bin/sh\n"
                  "::ctrlaltdel:/sbin/reboot\n"
                  "::shutdown:/bin/umount -a -r\n"));
  UM_TRY(w.add("etc/init.d", meta(S_IFDIR | 0755)));
  UM_TRY(add_text(w, "etc/init.d/console", kConsoleScript, 0755));
  UM_TRY(add_text(w, "etc/fstab",
                  "# <file system> <mount point> <type> <options> <dump> <pass>\n"
                  "/dev/ubda / " + fstype + " rw,noauto 0 1\n"
                  "proc /proc proc defaults 0 0\n"
                  "sysfs /sys sysfs defaults 0 0\n"
                  "tmpfs /run tmpfs mode=0755,nosuid,nodev 0 0\n"));
  UM_TRY(add_text(w, "etc/profile",
                  "export PATH=/bin:/sbin:/usr/bin:/usr/sbin\n"
                  "export HOME=${HOME:-/root}\n"
                  "export PS1='\\u@\\h:\\w\\$ '\n"
                  "umask 022\n"));
  return {};
}

}  // namespace um::image
