// Writes frames in classic libpcap format (LINKTYPE_ETHERNET). Records are buffered and
// written out by flush(), which the event loop calls after every round, so a capture is
// complete up to the last round even if umswitch is killed.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace um::sw {

class PcapWriter {
 public:
  static Result<PcapWriter> open(const std::string& path);
  void record(const uint8_t* frame, uint32_t len);
  void flush();

 private:
  PcapWriter(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
  std::string buffer_;
  bool failed_ = false;
};

}  // namespace um::sw
