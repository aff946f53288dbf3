// libFuzzer harness for the control-request parser (built by umswitch/CMakeLists.txt with
// -DUM_FUZZ=ON and clang). Checks the same invariants as the randomized gtest.
#include <cstdlib>

#include "core/switchproto/switchproto.h"

using namespace um::switchproto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ParseResult r = parse_request({data, size});
  if (r.status == ParseStatus::Ok) {
    if (r.request.data_addr.sun_family != AF_UNIX) abort();
    if (r.request.version != 0 && r.request.version != 1 && r.request.version != 3) abort();
    for (char c : r.request.description)
      if (c < 0x20 || c > 0x7e) abort();
    (void)describe_address(r.request.data_addr);
    (void)address_length(r.request.data_addr);
  } else if (r.status == ParseStatus::Invalid && r.error.empty()) {
    abort();
  }
  (void)check_frame(size);
  if (size >= kEthHeaderSize) (void)format_mac(frame_src(data));
  return 0;
}
