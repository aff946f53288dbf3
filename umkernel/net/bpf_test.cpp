// Classic BPF as Linux checks and runs it (SO_ATTACH_FILTER on AF_PACKET sockets).
#include "umkernel/net/bpf.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace um::kernel::net::bpf {
namespace {

// An Ethernet frame carrying IPv4/UDP from 10.0.0.1:68 to 255.255.255.255:67, 4 bytes of data.
std::vector<uint8_t> frame() {
  std::vector<uint8_t> f(14 + 20 + 8 + 4, 0);
  for (int i = 0; i < 6; i++) f[i] = 0xff;
  f[6] = 0x02, f[11] = 0x01;
  f[12] = 0x08, f[13] = 0x00;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45, ip[3] = 32, ip[8] = 64, ip[9] = 17;
  ip[12] = 10, ip[15] = 1;
  ip[16] = ip[17] = ip[18] = ip[19] = 255;
  ip[21] = 68, ip[23] = 67, ip[25] = 12;
  ip[28] = 'd', ip[29] = 'a', ip[30] = 't', ip[31] = 'a';
  return f;
}

Packet packet(const std::vector<uint8_t>& f, size_t data_off) {
  Packet p;
  p.frame = f.data();
  p.len = f.size();
  p.data_off = data_off;
  p.mac_off = 0;
  p.net_off = 14;
  p.protocol = 0x0800;
  p.pkttype = 1;  // PACKET_BROADCAST
  p.ifindex = 2;
  p.hatype = 1;
  return p;
}

// udhcpc's filter: IPv4, UDP, destination port 68... here 67.
Program udp_port(uint32_t port, uint32_t keep) {
  return {
      BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 9),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 17, 0, 4),
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, port, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, keep),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
}

TEST(Bpf, ChecksWhatLinuxAccepts) {
  EXPECT_EQ(check(udp_port(67, 0xffff)), 0);
  EXPECT_EQ(check({}), -EINVAL);
  EXPECT_EQ(check(Program(BPF_MAXINSNS + 1, BPF_STMT(BPF_RET | BPF_K, 0))), -EINVAL);
  EXPECT_EQ(check(Program(BPF_MAXINSNS, BPF_STMT(BPF_RET | BPF_K, 0))), 0);
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_IMM, 1)}), -EINVAL);                                        // no RET
  EXPECT_EQ(check({{0xff, 0, 0, 0}, BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);                        // opcode
  EXPECT_EQ(check({BPF_STMT(BPF_RET | BPF_X, 0)}), -EINVAL);                                         // RET X
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_H | BPF_IMM, 1), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);  // sized IMM
  EXPECT_EQ(check({BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0), BPF_STMT(BPF_RET | BPF_A, 0)}), 0);
  EXPECT_EQ(check({BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 0), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 32), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + 1000)),
                   BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL)),
                   BPF_STMT(BPF_RET | BPF_A, 0)}), 0);
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF + 9)),
                   BPF_STMT(BPF_RET | BPF_A, 0)}), 0);
}

TEST(Bpf, MemoryIsWrittenBeforeItIsReadOnEveryPath) {
  EXPECT_EQ(check({BPF_STMT(BPF_LD | BPF_MEM, 2), BPF_STMT(BPF_RET | BPF_A, 0)}), -EINVAL);
  EXPECT_EQ(check({BPF_STMT(BPF_ST, 2), BPF_STMT(BPF_LDX | BPF_MEM, 2), BPF_STMT(BPF_RET | BPF_A, 0)}), 0);
  // Stored on one branch only.
  EXPECT_EQ(check({
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
                BPF_STMT(BPF_ST, 1),
                BPF_STMT(BPF_LD | BPF_MEM, 1),
                BPF_STMT(BPF_RET | BPF_A, 0),
            }),
            -EINVAL);
  // Stored on both.
  EXPECT_EQ(check({
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2),
                BPF_STMT(BPF_ST, 1),
                BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
                BPF_STMT(BPF_STX, 1),
                BPF_STMT(BPF_LD | BPF_MEM, 1),
                BPF_STMT(BPF_RET | BPF_A, 0),
            }),
            0);
}

TEST(Bpf, RunsOnTheNetworkHeaderForDatagramSockets) {
  auto f = frame();
  EXPECT_EQ(run(udp_port(67, 0xffff), packet(f, 14)), 0xffffu);
  EXPECT_EQ(run(udp_port(68, 0xffff), packet(f, 14)), 0u);
  EXPECT_EQ(run(udp_port(67, 30), packet(f, 14)), 30u);
  // SOCK_RAW: offsets count from the link header, so the same program reads the wrong bytes.
  EXPECT_EQ(run(udp_port(67, 0xffff), packet(f, 0)), 0u);
  // SKF_NET_OFF and SKF_LL_OFF reach the headers whatever the data offset.
  Program net = {BPF_STMT(BPF_LD | BPF_B | BPF_ABS, static_cast<uint32_t>(SKF_NET_OFF + 9)),
                 BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(run(net, packet(f, 0)), 17u);
  EXPECT_EQ(run(net, packet(f, 14)), 17u);
  Program ll = {BPF_STMT(BPF_LD | BPF_H | BPF_ABS, static_cast<uint32_t>(SKF_LL_OFF + 12)),
                BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(run(ll, packet(f, 14)), 0x0800u);
}

TEST(Bpf, LoadsPastTheEndDropThePacket) {
  auto f = frame();
  Program past = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 30), BPF_STMT(BPF_RET | BPF_K, 1)};
  EXPECT_EQ(run(past, packet(f, 14)), 0u);  // 32 bytes of data: [30, 34) is past the end
  Program last = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 28), BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(run(last, packet(f, 14)), 0x64617461u);  // "data", big-endian
  Program ind = {BPF_STMT(BPF_LDX | BPF_IMM, 0xfffffff0u), BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
                 BPF_STMT(BPF_RET | BPF_K, 1)};
  EXPECT_EQ(run(ind, packet(f, 14)), 0u);  // a negative offset outside SKF_LL_OFF/SKF_NET_OFF
  Program msh = {BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 100), BPF_STMT(BPF_RET | BPF_K, 1)};
  EXPECT_EQ(run(msh, packet(f, 14)), 0u);
}

TEST(Bpf, Arithmetic) {
  auto f = frame();
  auto p = packet(f, 14);
  auto result = [&](Program prog) {
    prog.push_back(BPF_STMT(BPF_RET | BPF_A, 0));
    return run(prog, p);
  };
  EXPECT_EQ(result({BPF_STMT(BPF_LD | BPF_IMM, 7), BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 6)}), 42u);
  EXPECT_EQ(result({BPF_STMT(BPF_LD | BPF_IMM, 43), BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, 10)}), 3u);
  EXPECT_EQ(result({BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_ALU | BPF_NEG, 0)}), 0xffffffffu);
  EXPECT_EQ(result({BPF_STMT(BPF_LD | BPF_IMM, 1), BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 31)}), 0x80000000u);
  EXPECT_EQ(result({BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0)}), 32u);
  EXPECT_EQ(result({BPF_STMT(BPF_LDX | BPF_IMM, 5), BPF_STMT(BPF_MISC | BPF_TXA, 0),
                    BPF_STMT(BPF_ALU | BPF_SUB | BPF_X, 0)}), 0u);
  // Division by a zero X ends the program with 0, as Linux.
  Program div = {BPF_STMT(BPF_LD | BPF_IMM, 5), BPF_STMT(BPF_LDX | BPF_IMM, 0), BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0),
                 BPF_STMT(BPF_RET | BPF_K, 99)};
  EXPECT_EQ(run(div, p), 0u);
  Program jset = {BPF_STMT(BPF_LD | BPF_IMM, 6), BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 4, 0, 1),
                  BPF_STMT(BPF_RET | BPF_K, 1), BPF_STMT(BPF_RET | BPF_K, 2)};
  EXPECT_EQ(run(jset, p), 1u);
  Program jgt = {BPF_STMT(BPF_LD | BPF_IMM, 6), BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, 6, 0, 1),
                 BPF_STMT(BPF_RET | BPF_K, 1), BPF_STMT(BPF_RET | BPF_K, 2)};
  EXPECT_EQ(run(jgt, p), 2u);
}

TEST(Bpf, AncillaryLoads) {
  auto f = frame();
  auto p = packet(f, 14);
  auto anc = [&](int what) {
    Program prog = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + what)),
                    BPF_STMT(BPF_RET | BPF_A, 0)};
    return run(prog, p);
  };
  EXPECT_EQ(anc(SKF_AD_PROTOCOL), 0x0800u);
  EXPECT_EQ(anc(SKF_AD_PKTTYPE), 1u);
  EXPECT_EQ(anc(SKF_AD_IFINDEX), 2u);
  EXPECT_EQ(anc(SKF_AD_HATYPE), 1u);
  EXPECT_EQ(anc(SKF_AD_VLAN_TAG_PRESENT), 0u);
  Program x = {BPF_STMT(BPF_LD | BPF_IMM, 0xf0), BPF_STMT(BPF_LDX | BPF_IMM, 0xff),
               BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_ALU_XOR_X)),
               BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(run(x, p), 0x0fu);
}

}  // namespace
}  // namespace um::kernel::net::bpf
