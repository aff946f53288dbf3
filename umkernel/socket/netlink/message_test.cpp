#include "umkernel/socket/netlink/message.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace um::kernel::net::netlink {
namespace {

// A request's payload: a fixed header of `hdrlen` bytes, then the given attributes.
std::string payload(size_t hdrlen, std::initializer_list<std::pair<uint16_t, std::string>> attrs) {
  std::string p(nl_align(hdrlen), '\0');
  for (auto& [type, data] : attrs) {
    rtattr a{static_cast<unsigned short>(RTA_LENGTH(data.size())), type};
    p.append(reinterpret_cast<const char*>(&a), sizeof a);
    p += data;
    p.resize(nl_align(p.size()), '\0');
  }
  return p;
}

Request request_of(const nlmsghdr& h, const std::string& p) { return Request{&h, p.data(), p.size()}; }

TEST(NetlinkMessage, BuildsAFramedMessageWithAlignedAttributes) {
  Message m(RTM_NEWLINK, NLM_F_MULTI, 7, 42);
  ifinfomsg ifi{};
  ifi.ifi_index = 3;
  m.body(ifi);
  m.str(IFLA_IFNAME, "eth0");
  m.u32(IFLA_MTU, 1500);
  std::string out = m.finish();
  nlmsghdr h;
  memcpy(&h, out.data(), sizeof h);
  EXPECT_EQ(h.nlmsg_len, out.size());
  EXPECT_EQ(h.nlmsg_type, RTM_NEWLINK);
  EXPECT_EQ(h.nlmsg_flags, NLM_F_MULTI);
  EXPECT_EQ(h.nlmsg_seq, 7u);
  EXPECT_EQ(h.nlmsg_pid, 42u);
  EXPECT_EQ(out.size() % 4, 0u);
  // header 16 + ifinfomsg 16 + "eth0\0" attribute 4+5 -> 12 + u32 attribute 8
  EXPECT_EQ(out.size(), 16u + 16u + 12u + 8u);
  Request r{reinterpret_cast<const nlmsghdr*>(out.data()), out.data() + NLMSG_HDRLEN, out.size() - NLMSG_HDRLEN};
  Attrs at;
  ASSERT_EQ(parse(r, sizeof(ifinfomsg), at), 0);
  EXPECT_EQ(attr_string(at, IFLA_IFNAME), "eth0");
  std::optional<uint32_t> mtu;
  EXPECT_EQ(attr_value(at, IFLA_MTU, mtu), 0);
  EXPECT_EQ(mtu, 1500u);
  EXPECT_EQ(header_of<ifinfomsg>(r).ifi_index, 3);
}

TEST(NetlinkMessage, AShortFixedHeaderIsEinval) {
  nlmsghdr h{};
  std::string p(4, '\0');
  Attrs at;
  EXPECT_EQ(parse(request_of(h, p), sizeof(ifaddrmsg) + 4, at), -EINVAL);
}

TEST(NetlinkMessage, TheLastOfRepeatedAttributesWins) {
  nlmsghdr h{};
  std::string p = payload(sizeof(ifaddrmsg), {{IFA_LABEL, std::string("a\0", 2)}, {IFA_LABEL, std::string("b\0", 2)}});
  Attrs at;
  ASSERT_EQ(parse(request_of(h, p), sizeof(ifaddrmsg), at), 0);
  EXPECT_EQ(attr_string(at, IFA_LABEL), "b");
}

TEST(NetlinkMessage, ParsingStopsAtABadAttributeLength) {
  nlmsghdr h{};
  std::string p = payload(sizeof(ifaddrmsg), {{IFA_LABEL, std::string("ok\0", 3)}});
  rtattr bad{200, IFA_ADDRESS};  // claims more than there is
  p.append(reinterpret_cast<const char*>(&bad), sizeof bad);
  p += "1234";
  Attrs at;
  ASSERT_EQ(parse(request_of(h, p), sizeof(ifaddrmsg), at), 0);
  EXPECT_TRUE(at.has(IFA_LABEL));
  EXPECT_FALSE(at.has(IFA_ADDRESS));
}

TEST(NetlinkMessage, FixedSizeAttributesMustBeLongEnough) {
  nlmsghdr h{};
  std::string p = payload(sizeof(ifaddrmsg), {{IFA_LOCAL, std::string("\x01\x02", 2)}});
  Attrs at;
  ASSERT_EQ(parse(request_of(h, p), sizeof(ifaddrmsg), at), 0);
  std::optional<uint32_t> v;
  EXPECT_EQ(attr_value(at, IFA_LOCAL, v), -ERANGE);
  EXPECT_FALSE(v);
  std::optional<uint32_t> absent;
  EXPECT_EQ(attr_value(at, IFA_ADDRESS, absent), 0);
  EXPECT_FALSE(absent);
}

TEST(NetlinkMessage, StringsEndAtTheirFirstNulOrTheirLength) {
  nlmsghdr h{};
  std::string p = payload(0, {{IFLA_IFNAME, "noterm"}, {IFLA_QDISC, std::string("ab\0cd", 5)}});
  Attrs at;
  ASSERT_EQ(parse(request_of(h, p), 0, at), 0);
  EXPECT_EQ(attr_string(at, IFLA_IFNAME), "noterm");
  EXPECT_EQ(attr_string(at, IFLA_QDISC), "ab");
  EXPECT_FALSE(attr_string(at, IFLA_MTU));
}

TEST(NetlinkMessage, TheTypeMaskDropsNestedAndByteOrderFlags) {
  nlmsghdr h{};
  std::string p = payload(0, {{static_cast<uint16_t>(IFLA_LINKINFO | NLA_F_NESTED), "x"}});
  Attrs at;
  ASSERT_EQ(parse(request_of(h, p), 0, at), 0);
  EXPECT_TRUE(at.has(IFLA_LINKINFO));
}

}  // namespace
}  // namespace um::kernel::net::netlink
