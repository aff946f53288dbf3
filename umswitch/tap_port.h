// A host tap device bridged into the switch (--tap IFNAME). Needs CAP_NET_ADMIN, or a
// persistent tap the user owns ("ip tuntap add IFNAME mode tap user USER").
#pragma once
#include <memory>
#include <string>

#include "core/error.h"
#include "umswitch/port.h"

namespace um::sw {

class TapPort : public Port {
 public:
  static Result<std::unique_ptr<TapPort>> open(const std::string& ifname);
  ~TapPort() override;
  const char* kind() const override { return "tap"; }
  std::string peer() const override { return ifname_; }
  int data_fd() const override { return fd_; }
  int receive(RxBatch& batch) override;
  void flush(SwitchStats& stats) override;

 private:
  TapPort(int fd, std::string ifname) : fd_(fd), ifname_(std::move(ifname)) {}
  int fd_;
  std::string ifname_;
};

}  // namespace um::sw
