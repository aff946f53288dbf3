// um-exec: run a command inside the VM, with stdin/stdout/stderr and the exit status streamed
// to the client (`umconsole exec UMID -- CMD ARGS...`). An mconsole command of ours, not UML's.
//
// 1. The client sends the mconsole request "um-exec". The kernel creates a one-shot listening
//    unix stream socket (mode 0600) in the VM's run directory, e.g. <dir>/exec-<n>, and replies
//        "v1 <socket path>"
//    (an error reply when it cannot). The socket accepts exactly one connection within 10 s;
//    the kernel unlinks it at accept or at that deadline. (ExecEndpoint does all of this.)
// 2. Both directions of the connection carry frames:
//        u8 type | u32 payload length (little endian) | payload   (payload ≤ kMaxFramePayload)
//    client → kernel
//        Env      "NAME=VALUE\0" entries added to the command's environment   (optional, before Argv)
//        Cwd      working directory                                            (optional, before Argv)
//        Argv     "arg0\0arg1\0..." – starts the command (exactly once; PATH is searched for arg0)
//        Stdin    bytes for the command's stdin
//        StdinEof (empty) the command's stdin reaches end of file
//        Signal   u32 signal number for the command (the client forwards Ctrl-C as SIGINT, ...)
//    kernel → client
//        Started  u32 guest pid
//        Stdout / Stderr  output bytes
//        Exit     u32 kind (0 = exited, 1 = killed by a signal) | u32 value   – last frame
//        Failed   text: the command could not be started ("No such file or directory") – last frame
//    The kernel closes the connection after Exit/Failed. If the client disconnects first, the
//    kernel sends SIGHUP to the command. Unknown frame types are protocol errors (disconnect).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace um::mconsole::exec {

inline constexpr const char* kCommand = "um-exec";
inline constexpr std::string_view kReplyVersion = "v1 ";
inline constexpr size_t kFrameHeader = 5;
inline constexpr size_t kMaxFramePayload = 1 << 20;

enum class FrameType : uint8_t {
  Argv = 1, Env = 2, Cwd = 3, Stdin = 4, StdinEof = 5, Signal = 6,
  Started = 16, Stdout = 17, Stderr = 18, Exit = 19, Failed = 20,
};

struct Frame {
  FrameType type;
  std::string payload;
};

std::string encode_frame(FrameType type, std::string_view payload);

// Incremental decoder: feed() bytes as they arrive, then next() until it returns nullopt.
class FrameDecoder {
 public:
  void feed(std::string_view bytes) { buf_.append(bytes); }
  // EPROTO on an unknown type or an oversized frame.
  Result<std::optional<Frame>> next();

 private:
  std::string buf_;
  size_t off_ = 0;
};

// "arg0\0arg1\0" <-> vector (also used for Env).
std::string encode_strings(const std::vector<std::string>& items);
std::vector<std::string> decode_strings(std::string_view payload);

std::string encode_u32(uint32_t v);
Result<uint32_t> decode_u32(std::string_view payload);

struct ExitStatus {
  bool signaled = false;
  int value = 0;  // exit code, or signal number
  // The shell convention: the code, or 128 + signal.
  int shell_code() const { return signaled ? 128 + value : value; }
};
std::string encode_exit(ExitStatus s);
Result<ExitStatus> decode_exit(std::string_view payload);

// The mconsole reply "v1 PATH" → PATH.
Result<std::string> parse_reply(std::string_view text);
std::string make_reply(const std::string& socket_path);

}  // namespace um::mconsole::exec
