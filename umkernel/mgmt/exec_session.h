// One um-exec session (core/mconsole/exec_protocol.h): a command started inside the guest as
// a child of init, in a session of its own, with stdin/stdout/stderr on kernel pipes whose
// other ends the session pumps to and from the client's connection.
#pragma once
#include <memory>
#include <string>

#include "core/error.h"
#include "core/mconsole/exec_endpoint.h"
#include "core/mconsole/server.h"
#include "umkernel/kernel/kernel.h"

namespace um::kernel::mgmt {

class ExecSession : public EventSource {
 public:
  // Opens the one-shot endpoint socket in `dir`; the caller replies with its path.
  static Result<std::unique_ptr<ExecSession>> open(const std::string& dir);
  ~ExecSession() override;

  const std::string& path() const { return endpoint_->path(); }
  bool finished() const { return endpoint_->finished(); }
  void on_event(uint32_t events) override;

 private:
  ExecSession() = default;
  void start(const mconsole::exec::ExecRequest& req);
  void pump();         // guest output → client; the exit status once the command is gone
  void drain(const FilePtr& pipe, bool is_stderr);
  void write_stdin();
  void schedule_poll();

  std::unique_ptr<mconsole::exec::ExecEndpoint> endpoint_;
  std::shared_ptr<Process> proc_;
  FilePtr stdin_w_, stdout_r_, stderr_r_;
  std::string stdin_buf_;
  bool stdin_eof_ = false;
  bool stdin_dropped_ = false;
  bool exit_sent_ = false;
  std::shared_ptr<WaitQueue::WakeCallback> on_output_;
  uint64_t timer_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // timers check it
};

}  // namespace um::kernel::mgmt
