#include "umkernel/net/bpf.h"

#include <cerrno>
#include <random>

namespace um::kernel::net::bpf {

namespace {

constexpr size_t kMaxInsns = BPF_MAXINSNS;
constexpr uint32_t kMemWords = BPF_MEMWORDS;

// Linux's chk_code_allowed.
bool code_allowed(uint16_t code) {
  switch (code) {
    case BPF_ALU | BPF_ADD | BPF_K: case BPF_ALU | BPF_ADD | BPF_X:
    case BPF_ALU | BPF_SUB | BPF_K: case BPF_ALU | BPF_SUB | BPF_X:
    case BPF_ALU | BPF_MUL | BPF_K: case BPF_ALU | BPF_MUL | BPF_X:
    case BPF_ALU | BPF_DIV | BPF_K: case BPF_ALU | BPF_DIV | BPF_X:
    case BPF_ALU | BPF_MOD | BPF_K: case BPF_ALU | BPF_MOD | BPF_X:
    case BPF_ALU | BPF_AND | BPF_K: case BPF_ALU | BPF_AND | BPF_X:
    case BPF_ALU | BPF_OR | BPF_K: case BPF_ALU | BPF_OR | BPF_X:
    case BPF_ALU | BPF_XOR | BPF_K: case BPF_ALU | BPF_XOR | BPF_X:
    case BPF_ALU | BPF_LSH | BPF_K: case BPF_ALU | BPF_LSH | BPF_X:
    case BPF_ALU | BPF_RSH | BPF_K: case BPF_ALU | BPF_RSH | BPF_X:
    case BPF_ALU | BPF_NEG:
    case BPF_LD | BPF_W | BPF_ABS: case BPF_LD | BPF_H | BPF_ABS: case BPF_LD | BPF_B | BPF_ABS:
    case BPF_LD | BPF_W | BPF_LEN:
    case BPF_LD | BPF_W | BPF_IND: case BPF_LD | BPF_H | BPF_IND: case BPF_LD | BPF_B | BPF_IND:
    case BPF_LD | BPF_IMM: case BPF_LD | BPF_MEM:
    case BPF_LDX | BPF_W | BPF_LEN: case BPF_LDX | BPF_B | BPF_MSH:
    case BPF_LDX | BPF_IMM: case BPF_LDX | BPF_MEM:
    case BPF_ST: case BPF_STX:
    case BPF_MISC | BPF_TAX: case BPF_MISC | BPF_TXA:
    case BPF_RET | BPF_K: case BPF_RET | BPF_A:
    case BPF_JMP | BPF_JA:
    case BPF_JMP | BPF_JEQ | BPF_K: case BPF_JMP | BPF_JEQ | BPF_X:
    case BPF_JMP | BPF_JGE | BPF_K: case BPF_JMP | BPF_JGE | BPF_X:
    case BPF_JMP | BPF_JGT | BPF_K: case BPF_JMP | BPF_JGT | BPF_X:
    case BPF_JMP | BPF_JSET | BPF_K: case BPF_JMP | BPF_JSET | BPF_X:
      return true;
    default:
      return false;
  }
}

bool conditional_jump(uint16_t code) {
  return BPF_CLASS(code) == BPF_JMP && BPF_OP(code) != BPF_JA;
}

// The ancillary loads served. SKF_AD_NLATTR, SKF_AD_NLATTR_NEST (netlink attribute search)
// and SKF_AD_PAY_OFFSET (the flow dissector's payload offset) are not, and their programs are
// refused as Linux refuses unknown ones.
bool ancillary_known(uint32_t k) {
  switch (static_cast<int32_t>(k) - SKF_AD_OFF) {
    case SKF_AD_PROTOCOL: case SKF_AD_PKTTYPE: case SKF_AD_IFINDEX: case SKF_AD_MARK:
    case SKF_AD_QUEUE: case SKF_AD_HATYPE: case SKF_AD_RXHASH: case SKF_AD_CPU:
    case SKF_AD_ALU_XOR_X: case SKF_AD_VLAN_TAG: case SKF_AD_VLAN_TAG_PRESENT:
    case SKF_AD_RANDOM: case SKF_AD_VLAN_TPID:
      return true;
    default:
      return false;
  }
}

// check_load_and_stores: every memory cell read is written first on every path.
int64_t check_memory(const Program& prog) {
  size_t n = prog.size();
  std::vector<uint16_t> masks(n, 0xffff);
  uint16_t valid = 0;
  for (size_t pc = 0; pc < n; pc++) {
    valid &= masks[pc];
    const sock_filter& f = prog[pc];
    switch (f.code) {
      case BPF_ST:
      case BPF_STX:
        valid |= static_cast<uint16_t>(1u << f.k);
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
        if (!(valid & (1u << f.k))) return -EINVAL;
        break;
      case BPF_JMP | BPF_JA:
        masks[pc + 1 + f.k] &= valid;
        valid = 0xffff;
        break;
      default:
        if (conditional_jump(f.code)) {
          masks[pc + 1 + f.jt] &= valid;
          masks[pc + 1 + f.jf] &= valid;
          valid = 0xffff;
        }
        break;
    }
  }
  return 0;
}

// A load of `size` bytes (big-endian) at offset k, as bpf_load_pointer: false past the end.
bool load(const Packet& p, int64_t k, size_t size, uint32_t& out) {
  int64_t off;
  if (k >= 0) off = static_cast<int64_t>(p.data_off) + k;
  else if (k >= SKF_NET_OFF) off = static_cast<int64_t>(p.net_off) + (k - SKF_NET_OFF);
  else if (k >= SKF_LL_OFF) off = static_cast<int64_t>(p.mac_off) + (k - SKF_LL_OFF);
  else return false;
  if (off < 0 || static_cast<uint64_t>(off) + size > p.len) return false;
  uint32_t v = 0;
  for (size_t i = 0; i < size; i++) v = (v << 8) | p.frame[off + i];
  out = v;
  return true;
}

uint32_t ancillary(const Packet& p, uint32_t k, uint32_t a, uint32_t x) {
  switch (static_cast<int32_t>(k) - SKF_AD_OFF) {
    case SKF_AD_PROTOCOL: return p.protocol;
    case SKF_AD_PKTTYPE: return p.pkttype;
    case SKF_AD_IFINDEX: return static_cast<uint32_t>(p.ifindex);
    case SKF_AD_HATYPE: return p.hatype;
    case SKF_AD_ALU_XOR_X: return a ^ x;
    case SKF_AD_RANDOM: {
      static std::minstd_rand gen{std::random_device{}()};
      return static_cast<uint32_t>(gen());
    }
    // No marks, queues, hashes or VLAN offload here; the CPU is the one lwIP runs on.
    default: return 0;
  }
}

size_t load_size(uint16_t code) {
  switch (BPF_SIZE(code)) {
    case BPF_W: return 4;
    case BPF_H: return 2;
    default: return 1;
  }
}

}  // namespace

int64_t check(const Program& prog) {
  size_t flen = prog.size();
  if (flen == 0 || flen > kMaxInsns) return -EINVAL;
  for (size_t pc = 0; pc < flen; pc++) {
    const sock_filter& f = prog[pc];
    if (!code_allowed(f.code)) return -EINVAL;
    switch (f.code) {
      case BPF_ALU | BPF_DIV | BPF_K:
      case BPF_ALU | BPF_MOD | BPF_K:
        if (f.k == 0) return -EINVAL;
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (f.k >= 32) return -EINVAL;
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (f.k >= kMemWords) return -EINVAL;
        break;
      case BPF_JMP | BPF_JA:
        if (f.k >= flen - pc - 1) return -EINVAL;
        break;
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS:
        if (f.k >= static_cast<uint32_t>(SKF_AD_OFF) && !ancillary_known(f.k)) return -EINVAL;
        break;
      default:
        if (conditional_jump(f.code) && (pc + f.jt + 1 >= flen || pc + f.jf + 1 >= flen)) return -EINVAL;
        break;
    }
  }
  uint16_t last = prog[flen - 1].code;
  if (last != (BPF_RET | BPF_K) && last != (BPF_RET | BPF_A)) return -EINVAL;
  return check_memory(prog);
}

uint32_t run(const Program& prog, const Packet& p) {
  uint32_t a = 0, x = 0, mem[kMemWords] = {};
  size_t data_len = p.len > p.data_off ? p.len - p.data_off : 0;
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const sock_filter& f = prog[pc];
    uint32_t k = f.k;
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
      case BPF_LD | BPF_H | BPF_ABS:
      case BPF_LD | BPF_B | BPF_ABS:
        if (k >= static_cast<uint32_t>(SKF_AD_OFF)) {
          a = ancillary(p, k, a, x);
          break;
        }
        if (!load(p, static_cast<int32_t>(k), load_size(f.code), a)) return 0;
        break;
      case BPF_LD | BPF_W | BPF_IND:
      case BPF_LD | BPF_H | BPF_IND:
      case BPF_LD | BPF_B | BPF_IND:
        if (!load(p, static_cast<int32_t>(x + k), load_size(f.code), a)) return 0;
        break;
      case BPF_LD | BPF_W | BPF_LEN: a = static_cast<uint32_t>(data_len); break;
      case BPF_LDX | BPF_W | BPF_LEN: x = static_cast<uint32_t>(data_len); break;
      case BPF_LD | BPF_IMM: a = k; break;
      case BPF_LDX | BPF_IMM: x = k; break;
      case BPF_LD | BPF_MEM: a = mem[k]; break;
      case BPF_LDX | BPF_MEM: x = mem[k]; break;
      case BPF_LDX | BPF_B | BPF_MSH: {
        uint32_t b;
        if (!load(p, static_cast<int32_t>(k), 1, b)) return 0;
        x = (b & 0xf) << 2;
        break;
      }
      case BPF_ST: mem[k] = a; break;
      case BPF_STX: mem[k] = x; break;
      case BPF_MISC | BPF_TAX: x = a; break;
      case BPF_MISC | BPF_TXA: a = x; break;
      case BPF_RET | BPF_K: return k;
      case BPF_RET | BPF_A: return a;
      case BPF_ALU | BPF_NEG: a = 0u - a; break;
      case BPF_JMP | BPF_JA: pc += k; break;
      default: {
        uint32_t src = BPF_SRC(f.code) == BPF_X ? x : k;
        if (BPF_CLASS(f.code) == BPF_ALU) {
          switch (BPF_OP(f.code)) {
            case BPF_ADD: a += src; break;
            case BPF_SUB: a -= src; break;
            case BPF_MUL: a *= src; break;
            case BPF_DIV: if (src == 0) return 0; a /= src; break;
            case BPF_MOD: if (src == 0) return 0; a %= src; break;
            case BPF_AND: a &= src; break;
            case BPF_OR: a |= src; break;
            case BPF_XOR: a ^= src; break;
            case BPF_LSH: a <<= (src & 31); break;
            case BPF_RSH: a >>= (src & 31); break;
          }
          break;
        }
        bool taken = false;
        switch (BPF_OP(f.code)) {
          case BPF_JEQ: taken = a == src; break;
          case BPF_JGT: taken = a > src; break;
          case BPF_JGE: taken = a >= src; break;
          case BPF_JSET: taken = (a & src) != 0; break;
        }
        pc += taken ? f.jt : f.jf;
        break;
      }
    }
  }
  return 0;  // unreachable for a checked program (it ends with a RET)
}

}  // namespace um::kernel::net::bpf
