// The attach protocol of shared console sockets (rundir::console_path(umid, N) for conN,
// rundir::serial_path(umid, N) for sslN): a unix stream socket any number of clients attach to.
//
//   client → server   hello line   "UMCONSOLE 1 MODE\n"   MODE is one of
//                         rw     scrollback, then live output; typed input goes to the VM
//                         ro     scrollback, then live output; input is discarded
//                         dump   the scrollback only, then the server closes the connection
//                         input  no output at all; input goes to the VM (for `umconsole send`)
//   server → client   "UMCONSOLE 1 OK\n" and then raw console bytes (no framing), or
//                     "UMCONSOLE 1 ERR <reason>\n" and close.
//   client → server   after the hello: raw input bytes with one escape byte, 0xFF:
//                         FF FF               a literal 0xFF
//                         FF 57 RR RR CC CC   window size ('W', rows and cols as big-endian u16)
//                     other FF sequences are protocol errors (the client is dropped).
// The last window size any client sent wins. A client that does not keep up with the output
// (its queue passes a bound) is disconnected; it never slows the VM or other clients.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace um::console {

enum class Mode { ReadWrite, ReadOnly, Dump, InputOnly };

inline constexpr std::string_view kHelloPrefix = "UMCONSOLE 1 ";
inline constexpr size_t kMaxHelloLine = 256;
inline constexpr unsigned char kEscape = 0xFF;
inline constexpr unsigned char kWindowSize = 'W';

std::string encode_hello(Mode mode);
// `line` without its newline.
Result<Mode> decode_hello(std::string_view line);
std::string encode_ok();
std::string encode_refusal(std::string_view reason);
// The server's answer line (without newline): ok, or the refusal reason as an error.
Status decode_answer(std::string_view line);

bool mode_reads_output(Mode m);
bool mode_accepts_input(Mode m);

// Client side: input bytes with 0xFF doubled; a window-size message.
std::string encode_input(std::string_view bytes);
std::string encode_window_size(uint16_t rows, uint16_t cols);

// Server side: turns the byte stream after the hello back into input and window sizes.
// Escapes may be split across reads.
class InputDecoder {
 public:
  std::function<void(std::string_view)> on_input;
  std::function<void(uint16_t rows, uint16_t cols)> on_window_size;
  // Error (EPROTO) on a malformed escape; the connection should then be dropped.
  Status feed(std::string_view bytes);

 private:
  std::string pending_;  // an incomplete escape sequence
};

}  // namespace um::console
