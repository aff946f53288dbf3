#include "core/mconsole/notify.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "core/unix_socket.h"

namespace um::mconsole {
namespace {

TEST(MconsoleNotify, ListenerReceivesWhatUmlWouldSend) {
  char tmpl[] = "/tmp/um-notify-test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/notify";
  auto listener = unix_socket::bind(SOCK_DGRAM, unix_socket::path_address(path).value());
  ASSERT_TRUE(listener.ok());
  ASSERT_TRUE(send_notification(path, {NotifyType::Socket, "/r/vm1/mconsole"}).ok());
  ASSERT_TRUE(send_notification(path, {NotifyType::UserNotify, "hello"}).ok());
  char buf[1024];
  ssize_t n = recv(listener->get(), buf, sizeof buf, MSG_DONTWAIT);
  ASSERT_EQ(n, 16 + 16);  // header + path + NUL
  auto first = decode_notification(std::string_view(buf, n));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->type, NotifyType::Socket);
  EXPECT_EQ(first->data, "/r/vm1/mconsole");
  n = recv(listener->get(), buf, sizeof buf, MSG_DONTWAIT);
  auto second = decode_notification(std::string_view(buf, n));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->data, "hello");
  listener->reset();
  unlink(path.c_str());
  rmdir(tmpl);
  EXPECT_FALSE(send_notification(path, {NotifyType::Panic, "x"}).ok());  // nobody listening
}

}  // namespace
}  // namespace um::mconsole
