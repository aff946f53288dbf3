#include "umkernel/vfs/pty.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <map>

#include "umkernel/kernel/kernel.h"
#include "umkernel/kernel/user_memory.h"
#include "umkernel/vfs/synthetic.h"
#include "umkernel/vfs/tty.h"

namespace um::kernel {

namespace {

constexpr size_t kMasterBufferSize = 65536;  // slave output waiting for the master to read
constexpr uint32_t kTtyGid = 5;              // devpts gid=5,mode=620, as distributions mount it

class PtySlave;

struct PtyPair : std::enable_shared_from_this<PtyPair> {
  int n = 0;
  bool locked = true;        // until unlockpt (TIOCSPTLCK 0) the slave cannot be opened
  int master_files = 0;
  int slave_files = 0;
  bool slave_closed = false; // Linux's TTY_OTHER_CLOSED on the master: set at last slave close
  bool master_closed = false;
  bool packet = false;       // TIOCPKT
  uint8_t pkt_status = 0;    // TIOCPKT_* events for the next packet-mode master read
  std::string to_master;     // the slave's processed output, for master reads
  WaitQueue master_wait;
  std::unique_ptr<PtySlave> slave;
  std::shared_ptr<DeviceNode> node;  // /dev/pts/N
};

// The one devpts instance.
struct DevPts {
  std::shared_ptr<SyntheticSuperBlock> sb = std::make_shared<SyntheticSuperBlock>("devpts", makedev(0, 20), 0x1cd1);
  std::shared_ptr<SyntheticDir> root = std::make_shared<SyntheticDir>(sb.get(), 1, 0755);
  std::map<int, std::weak_ptr<PtyPair>> pairs;
  DevPts() {
    root->add("ptmx", std::make_shared<DeviceNode>(sb.get(), 2, makedev(5, 2), 0000));
    root->set_dynamic([this] {
      std::vector<std::pair<std::string, InodePtr>> out;
      for (auto& [n, w] : pairs)
        if (auto p = w.lock(); p && !p->master_closed) out.emplace_back(std::to_string(n), p->node);
      return out;
    });
  }
  std::shared_ptr<PtyPair> find(int n) {
    auto it = pairs.find(n);
    return it == pairs.end() ? nullptr : it->second.lock();
  }
  int alloc_index() {
    for (int n = 0; n < kMaxPtys; n++) {
      auto it = pairs.find(n);
      if (it == pairs.end() || it->second.expired()) return n;
    }
    return -1;
  }
};

DevPts& devpts() { return kernel().state<DevPts>(); }

class PtySlave : public Tty {
 public:
  PtySlave(PtyPair& pair) : Tty(kPtyIndexBase + pair.n), pair_(pair) {
    KernelTermios t = ldisc_.termios();  // Linux's pts init_termios: no IUTF8, no HUPCL
    t.c_iflag &= ~IUTF8;
    t.c_cflag &= ~HUPCL;
    ldisc_.set_termios(t);
  }
  uint64_t device_number() const override { return makedev(136 + pair_.n / 256, pair_.n % 256); }
  bool is_pty() const override { return true; }

 protected:
  void transmit(const char* data, size_t n) override {
    // Writes respect output_room(); only echoes can overshoot, and past twice the buffer
    // they are dropped (Linux drops echoes without room) so a master that never reads
    // cannot grow it without bound.
    if (pair_.to_master.size() >= 2 * kMasterBufferSize) return;
    pair_.to_master.append(data, n);
    pair_.master_wait.wake_all();
  }
  void state_changed() override {
    Tty::state_changed();
    pair_.master_wait.wake_all();  // input room for master writers
  }
  // Packet mode: the master learns about flushes and flow control (pty_stop, pty_start,
  // pty_flush_buffer, n_tty_packet_mode_flush, pty_set_termios).
  void packet_event(uint8_t set, uint8_t clear) {
    if (!pair_.packet) return;
    pair_.pkt_status = static_cast<uint8_t>((pair_.pkt_status & ~clear) | set);
    pair_.master_wait.wake_all();
  }
  void input_flushed() override { packet_event(TIOCPKT_FLUSHREAD, 0); }
  void flush_device_output() override { packet_event(TIOCPKT_FLUSHWRITE, 0); }
  void flow_changed(bool stopped) override {
    packet_event(stopped ? TIOCPKT_STOP : TIOCPKT_START, stopped ? TIOCPKT_START : TIOCPKT_STOP);
  }
  void termios_changed(const KernelTermios& old) override {
    auto flow = [](const KernelTermios& t) {
      return (t.c_iflag & IXON) && t.c_cc[VSTOP] == 023 && t.c_cc[VSTART] == 021;
    };
    bool was = flow(old), now = flow(termios());
    if (was != now) packet_event(now ? TIOCPKT_DOSTOP : TIOCPKT_NOSTOP, TIOCPKT_DOSTOP | TIOCPKT_NOSTOP);
  }
  size_t output_room() const override {
    return pair_.to_master.size() < kMasterBufferSize ? kMasterBufferSize - pair_.to_master.size() : 0;
  }
  bool input_closed() const override { return pair_.master_closed; }
  std::shared_ptr<void> keepalive() override { return pair_.shared_from_this(); }
  void file_opened() override {
    pair_.slave_files++;
    pair_.slave_closed = false;
  }
  void file_closed() override {
    if (--pair_.slave_files > 0) return;
    pair_.slave_closed = true;
    if (tty_kernel_alive()) pair_.master_wait.wake_all();
  }

 private:
  PtyPair& pair_;
};

class PtyMasterFile : public File {
 public:
  PtyMasterFile(InodePtr inode, int flags, std::shared_ptr<PtyPair> pair)
      : File(std::move(inode), flags), pair_(std::move(pair)) {
    pair_->master_files++;
  }
  ~PtyMasterFile() override {
    if (--pair_->master_files > 0) return;
    pair_->master_closed = true;
    if (tty_kernel_alive()) pair_->slave->hangup(false);
  }

  int64_t read(Task&, void* buf, size_t n, int64_t*) override {
    if (n == 0) return 0;
    if (pair_->packet && pair_->pkt_status) {  // a status byte alone
      *static_cast<uint8_t*>(buf) = pair_->pkt_status;
      pair_->pkt_status = 0;
      return 1;
    }
    std::string& data = pair_->to_master;
    if (data.empty()) return pair_->slave_closed ? -EIO : -EAGAIN;
    char* out = static_cast<char*>(buf);
    size_t off = 0;
    if (pair_->packet) {  // TIOCPKT_DATA header byte
      out[off++] = 0;
      if (n == 1) return 1;
    }
    size_t c = std::min(n - off, data.size());
    memcpy(out + off, data.data(), c);
    data.erase(0, c);
    pair_->slave->waitq().wake_all();  // room for slave writers
    return static_cast<int64_t>(off + c);
  }

  int64_t write(Task&, const void* buf, size_t n, int64_t*) override {
    if (n == 0) return 0;
    size_t taken = pair_->slave->ldisc().receive(static_cast<const char*>(buf), n);
    return taken ? static_cast<int64_t>(taken) : -EAGAIN;
  }

  unsigned poll() override {
    unsigned r = 0;
    if (!pair_->to_master.empty()) r |= POLLIN | POLLRDNORM;
    if (pair_->packet && pair_->pkt_status) r |= POLLIN | POLLPRI;
    if (pair_->slave_closed) r |= POLLHUP;
    if (pair_->slave->ldisc().receive_room() > 0) r |= POLLOUT | POLLWRNORM;
    return r;
  }
  WaitQueue* wait_queue() override { return &pair_->master_wait; }
  bool is_tty() const override { return true; }
  bool seekable() const override { return false; }
  int64_t seek(int64_t, int) override { return -ESPIPE; }

  int64_t ioctl(Task& t, unsigned long req, uint64_t arg) override {
    PtyPair& p = *pair_;
    switch (req) {
      case TIOCGPTN: {
        unsigned n = static_cast<unsigned>(p.n);
        return put_user(t, arg, n);
      }
      case TIOCSPTLCK: {
        int lock;
        if (get_user(t, arg, lock) < 0) return -EFAULT;
        p.locked = lock != 0;
        return 0;
      }
      case TIOCGPTLCK: {
        int lock = p.locked;
        return put_user(t, arg, lock);
      }
      case TIOCGPTPEER:
        return open_peer(t, static_cast<int>(arg));
      case TIOCPKT: {
        int on;
        if (get_user(t, arg, on) < 0) return -EFAULT;
        if (on && !p.packet) p.pkt_status = 0;
        p.packet = on != 0;
        return 0;
      }
      case TIOCGPKT: {
        int on = p.packet;
        return put_user(t, arg, on);
      }
      case FIONREAD: {
        int n = static_cast<int>(p.to_master.size());
        return put_user(t, arg, n);
      }
      case TIOCOUTQ: {
        int z = 0;
        return put_user(t, arg, z);
      }
      case TCFLSH:
        if (arg != TCIFLUSH && arg != TCOFLUSH && arg != TCIOFLUSH) return -EINVAL;
        if (arg != TCOFLUSH) {
          p.to_master.clear();
          p.slave->waitq().wake_all();
        }
        return 0;
      case TIOCSIG: {
        int sig = static_cast<int>(arg);
        if (sig < 1 || sig > 64) return -EINVAL;
        if (p.slave->pgrp > 0) kernel().send_signal_to_group(p.slave->pgrp, sig);
        return 0;
      }
      case TIOCGDEV:
        return -ENOTTY;
      default:
        // termios, window size, process groups: those of the slave (tty_pair_get_tty).
        return p.slave->ioctl(t, nullptr, req, arg);
    }
  }

 private:
  int64_t open_peer(Task& t, int flags) {
    if (flags & ~(O_ACCMODE | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) return -EINVAL;
    FilePtr f;
    if (int64_t r = open_pty_slave(t, pair_->node, pair_->n, flags, f); r < 0) return r;
    f->path = "/dev/pts/" + std::to_string(pair_->n);
    return t.proc->fds->install(f, flags & O_CLOEXEC);
  }

  std::shared_ptr<PtyPair> pair_;
};

}  // namespace

Tty* pty_slave_by_index(int tty_index) {
  auto p = devpts().find(tty_index - kPtyIndexBase);
  return p ? p->slave.get() : nullptr;
}

int64_t open_ptmx(Task& t, InodePtr inode, int flags, FilePtr& out) {
  DevPts& d = devpts();
  int n = d.alloc_index();
  if (n < 0) return -ENOSPC;
  auto pair = std::make_shared<PtyPair>();
  pair->n = n;
  pair->slave = std::make_unique<PtySlave>(*pair);
  pair->node = std::make_shared<DeviceNode>(d.sb.get(), static_cast<uint64_t>(n) + 3,
                                            makedev(136 + n / 256, n % 256), 0620);
  pair->node->uid_ = t.proc->cred.fsuid;
  pair->node->gid_ = kTtyGid;
  d.pairs[n] = pair;
  out = std::make_shared<PtyMasterFile>(std::move(inode), flags, pair);  // never a ctty
  return 0;
}

int64_t open_pty_slave(Task& t, InodePtr inode, int n, int flags, FilePtr& out) {
  auto pair = devpts().find(n);
  if (!pair || pair->master_closed || pair->locked) return -EIO;
  return pair->slave->open(t, std::move(inode), flags, out);
}

std::shared_ptr<Mount> make_devpts_mount() {
  DevPts& d = devpts();
  auto m = std::make_shared<Mount>();
  m->sb = d.sb;
  m->root = d.root;
  m->source = "devpts";
  m->options = "rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=000";
  return m;
}

std::shared_ptr<Mount> devpts_boot_mount(const std::shared_ptr<Mount>& devfs) {
  InodePtr dir;
  if (!devfs || devfs->root->lookup("pts", dir) != 0) return nullptr;
  auto m = make_devpts_mount();
  m->parent = devfs;
  m->mountpoint = dir;
  m->path = "/dev/pts";
  return m;
}

// ---------------------------------------------------------------------------------------
// Terminal devices by number (devices.cpp sends every tty major here)

int64_t open_tty_device(Task& t, InodePtr inode, uint64_t rdev, int flags, FilePtr& out) {
  unsigned maj = major(rdev), min = minor(rdev);
  Tty* tty = nullptr;
  if (maj == 5 && min == 0) {  // /dev/tty: the controlling terminal
    if (t.proc->tty_index < 0) return -ENXIO;
    tty = kernel().tty(t.proc->tty_index);
  } else if (maj == 5 && min == 1) {
    tty = kernel().console();
  } else if (maj == 5 && min == 2) {
    return open_ptmx(t, std::move(inode), flags, out);
  } else if (maj == 4) {  // consoles 0-63, serial lines 64+ (ttySN)
    tty = kernel().tty(static_cast<int>(min));
  } else if (maj >= 136 && maj <= 143) {
    return open_pty_slave(t, std::move(inode), static_cast<int>((maj - 136) * 256 + min), flags, out);
  } else {
    return -ENODEV;
  }
  if (!tty) return -ENXIO;
  return tty->open(t, std::move(inode), flags, out);
}

}  // namespace um::kernel
