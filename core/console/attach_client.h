// Client side of the attach protocol (attach_protocol.h).
#pragma once
#include <chrono>
#include <string>

#include "core/console/attach_protocol.h"
#include "core/error.h"
#include "core/unique_fd.h"

namespace um::console {

// Connects to the console socket at `path`, says hello in `mode` and waits (up to `timeout`)
// for the server's OK. On success the socket is positioned at the first output byte and has
// no socket timeouts set. ENOENT/ECONNREFUSED when no VM serves that console.
Result<UniqueFd> attach(const std::string& path, Mode mode, std::chrono::milliseconds timeout);

// Writes all of `bytes` (blocking, with `timeout` per write). EPIPE when the VM went away.
Status write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout);

}  // namespace um::console
