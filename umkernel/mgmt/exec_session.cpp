#include "umkernel/mgmt/exec_session.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "umkernel/kernel/exec.h"
#include "umkernel/kernel/memory_accounting.h"
#include "umkernel/mgmt/management.h"
#include "umkernel/vfs/namei.h"
#include "umkernel/vfs/pipe.h"

namespace um::kernel::mgmt {

namespace {

using mconsole::exec::ExecEndpoint;
using mconsole::exec::ExecRequest;
using mconsole::exec::ExitStatus;

constexpr int64_t kPollNs = 50'000'000;
constexpr size_t kMaxPendingStdin = 8 << 20;  // fallback pump: output back-pressure, stdin, exit
const char* const kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Any task works as the context of kernel-side pipe I/O (pipes only use it for SIGPIPE,
// which write_stdin avoids by checking for readers first).
Task* io_task() { return kernel().task_by_tid(1); }

std::vector<std::string> search_path(const ExecRequest& req, const std::vector<std::string>& env) {
  const std::string& arg0 = req.argv[0];
  if (arg0.find('/') != std::string::npos) return {arg0};
  std::string path = kDefaultPath;
  for (auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t colon = path.find(':', pos);
    std::string dir = path.substr(pos, colon == std::string::npos ? std::string::npos : colon - pos);
    out.push_back((dir.empty() ? std::string(".") : dir) + "/" + arg0);
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<ExecSession>> ExecSession::open(const std::string& dir) {
  std::unique_ptr<ExecSession> s(new ExecSession);
  ExecSession* raw = s.get();
  mconsole::exec::EndpointCallbacks cb{
      .on_start = [raw](const ExecRequest& r) { raw->start(r); },
      .on_stdin = [raw](std::string_view b) {
        // The endpoint cannot pause its client, so input the command does not read is
        // bounded here rather than in host memory without limit.
        if (raw->stdin_buf_.size() + b.size() > kMaxPendingStdin) {
          if (!raw->stdin_dropped_) UM_WARN("um-exec: the command does not read its stdin; input dropped");
          raw->stdin_dropped_ = true;
          return;
        }
        raw->stdin_buf_.append(b);
        raw->write_stdin();
      },
      .on_stdin_eof = [raw] { raw->stdin_eof_ = true; raw->write_stdin(); },
      .on_signal = [raw](int sig) {
        if (raw->proc_ && !raw->proc_->zombie && sig > 0 && sig < 65)
          kernel().send_signal_to_process(*raw->proc_, sig);
      },
      .on_disconnect = [raw] {
        if (raw->proc_ && !raw->proc_->zombie) kernel().send_signal_to_process(*raw->proc_, SIGHUP);
      }};
  s->endpoint_ = UM_TRY(ExecEndpoint::listen_in(dir, cb));
  if (!kernel().add_event_source(s->endpoint_->fd(), EPOLLIN, raw))
    return Error::from_errno("um-exec: cannot watch the endpoint");
  s->schedule_poll();
  return s;
}

ExecSession::~ExecSession() {
  *alive_ = false;
  if (timer_) kernel().cancel_timer(timer_);
  if (endpoint_) kernel().remove_event_source(endpoint_->fd());
}

void ExecSession::on_event(uint32_t) {
  endpoint_->on_readable();
  pump();
}

void ExecSession::schedule_poll() {
  std::weak_ptr<bool> alive = alive_;
  timer_ = kernel().add_timer(monotonic_ns() + kPollNs, [this, alive] {
    auto a = alive.lock();
    if (!a || !*a) return;
    timer_ = 0;
    write_stdin();
    pump();
    if (!finished()) schedule_poll();
    else kernel().add_timer(monotonic_ns(), [] { if (auto m = management()) m->reap_execs(); });
  });
}

void ExecSession::start(const ExecRequest& req) {
  Kernel& k = kernel();
  auto init = k.init_process();
  if (!init || !init->fs || req.argv.empty()) {
    endpoint_->send_failed(req.argv.empty() ? "empty command" : "init is not running");
    return;
  }
  std::string err;
  std::unique_ptr<platform::Context> ctx = k.platform().new_process(&err);
  if (!ctx) {
    endpoint_->send_failed("cannot start a process: " + err);
    return;
  }
  limit_host_process(*ctx->address_space());
  FilePtr in_r, out_w, err_w;
  make_pipe(0, in_r, stdin_w_, nullptr);
  make_pipe(0, stdout_r_, out_w, nullptr);
  make_pipe(0, stderr_r_, err_w, nullptr);

  // A new session led by the command, no controlling terminal, init's credentials and root.
  auto p = std::make_shared<Process>();
  p->pid = k.alloc_pid();
  p->pgid = p->sid = p->pid;
  p->mm_id = new_mm_id();
  p->memory = ctx->address_space();
  p->cred = init->cred;
  p->rlimits = init->rlimits;
  p->fds = std::make_shared<FdTable>();
  p->fds->install(in_r, false);
  p->fds->install(out_w, false);
  p->fds->install(err_w, false);
  p->fs = std::make_shared<FsContext>();
  p->fs->root = init->fs->root;
  p->fs->cwd = init->fs->root;
  p->sighand = std::make_shared<SignalHandlers>();
  p->start_time_ns = monotonic_ns();
  k.register_process(p);
  Task* t = k.add_task(p->pid, std::move(ctx), p);

  auto fail = [&](const std::string& why) {
    if (!p->zombie) k.exit_process(*p, 127 << 8);
    k.reap_process(p->pid);
    stdin_w_.reset();
    stdout_r_.reset();
    stderr_r_.reset();
    endpoint_->send_failed(why);
  };
  if (!req.cwd.empty()) {
    PathRef cwd;
    if (int64_t r = resolve(*t, AT_FDCWD, req.cwd, kFollow | kMustBeDir, cwd); r < 0)
      return fail(req.cwd + ": " + strerror(static_cast<int>(-r)));
    p->fs->cwd = cwd;
  }
  std::vector<std::string> env = {"HOME=/", "TERM=linux", std::string("PATH=") + kDefaultPath};
  for (auto& e : req.env) {
    std::string name = e.substr(0, e.find('='));
    std::erase_if(env, [&](const std::string& o) { return o.rfind(name + "=", 0) == 0; });
    env.push_back(e);
  }
  int64_t r = -ENOENT;
  for (auto& path : search_path(req, env)) {
    r = do_execve(*t, AT_FDCWD, path, req.argv, env, 0);
    if (r == 0 || r == kTaskGone || (r != -ENOENT && r != -ENOTDIR && r != -EACCES)) break;
  }
  if (r != 0) return fail(req.argv[0] + ": " + strerror(r == kTaskGone ? ENOEXEC : static_cast<int>(-r)));

  p->parent = init;  // init reaps it, as any orphan
  init->children.push_back(p);
  proc_ = p;
  on_output_ = std::make_shared<WaitQueue::WakeCallback>([this] { pump(); });
  stdout_r_->wait_queue()->add_callback(on_output_);
  stderr_r_->wait_queue()->add_callback(on_output_);
  endpoint_->send_started(p->pid);
  k.resume_after_stop(*t);
}

void ExecSession::drain(const FilePtr& pipe, bool is_stderr) {
  Task* io = io_task();
  if (!pipe || !io) return;
  char buf[16384];
  while (endpoint_->queued_bytes() < ExecEndpoint::kHighWater) {
    int64_t n = pipe->read(*io, buf, sizeof buf, nullptr);
    if (n <= 0) break;
    std::string_view bytes(buf, static_cast<size_t>(n));
    is_stderr ? endpoint_->send_stderr(bytes) : endpoint_->send_stdout(bytes);
  }
}

void ExecSession::write_stdin() {
  Task* io = io_task();
  if (!stdin_w_ || !io) return;
  if (stdin_w_->poll() & POLLERR) {  // nobody reads the command's stdin any more
    stdin_buf_.clear();
  }
  while (!stdin_buf_.empty()) {
    int64_t n = stdin_w_->write(*io, stdin_buf_.data(), std::min<size_t>(stdin_buf_.size(), 4096), nullptr);
    if (n <= 0) break;
    stdin_buf_.erase(0, static_cast<size_t>(n));
  }
  if (stdin_eof_ && stdin_buf_.empty()) stdin_w_.reset();  // the command reads EOF
}

void ExecSession::pump() {
  if (!proc_ || exit_sent_ || finished()) return;
  drain(stdout_r_, false);
  drain(stderr_r_, true);
  if (!proc_->zombie || endpoint_->queued_bytes() >= ExecEndpoint::kHighWater) return;
  exit_sent_ = true;
  int st = proc_->exit_status;
  ExitStatus s;
  if (WIFEXITED(st)) {
    s.value = WEXITSTATUS(st);
  } else {
    s.signaled = true;
    s.value = WTERMSIG(st);
  }
  endpoint_->send_exit(s);
  // Dropped by the management loop, never from inside our own callbacks.
  kernel().add_timer(monotonic_ns(), [] { if (auto m = management()) m->reap_execs(); });
}

}  // namespace um::kernel::mgmt
