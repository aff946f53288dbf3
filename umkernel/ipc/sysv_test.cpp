#include "umkernel/ipc/sysv.h"

#include <gtest/gtest.h>
#include <linux/ipc.h>
#include <linux/msg.h>
#include <linux/sem.h>

#include "umkernel/kernel/task.h"

namespace um::kernel {
namespace {

std::vector<Semaphore> sems(std::initializer_list<int> vals) {
  std::vector<Semaphore> out;
  for (int v : vals) out.push_back({v, 0});
  return out;
}

TEST(SemApply, AllOrNothing) {
  auto s = sems({1, 0});
  SemBuf ops[] = {{0, -1, 0}, {1, -1, 0}};
  size_t blocking = 99;
  EXPECT_EQ(sem_apply(s, nullptr, ops, 7, &blocking), kSemWouldBlock);
  EXPECT_EQ(blocking, 1u);
  EXPECT_EQ(s[0].val, 1);  // nothing applied
  EXPECT_EQ(s[0].pid, 0);
  ops[1].flg = IPC_NOWAIT;
  EXPECT_EQ(sem_apply(s, nullptr, ops, 7, &blocking), -EAGAIN);
  ops[1].op = 2;
  EXPECT_EQ(sem_apply(s, nullptr, ops, 7, &blocking), 0);
  EXPECT_EQ(s[0].val, 0);
  EXPECT_EQ(s[1].val, 2);
  EXPECT_EQ(s[1].pid, 7);
}

TEST(SemApply, LaterOperationsSeeEarlierOnes) {
  auto s = sems({0});
  SemBuf ops[] = {{0, 2, 0}, {0, -2, 0}, {0, 0, 0}};
  EXPECT_EQ(sem_apply(s, nullptr, ops, 1, nullptr), 0);
  EXPECT_EQ(s[0].val, 0);
  SemBuf wait_zero[] = {{0, 1, 0}, {0, 0, 0}};
  size_t b = 0;
  EXPECT_EQ(sem_apply(s, nullptr, wait_zero, 1, &b), kSemWouldBlock);
  EXPECT_EQ(b, 1u);
}

TEST(SemApply, RangeAndUndo) {
  auto s = sems({kSemVmx});
  SemBuf up[] = {{0, 1, 0}};
  EXPECT_EQ(sem_apply(s, nullptr, up, 1, nullptr), -ERANGE);
  s[0].val = 5;
  std::vector<int> adj{0};
  SemBuf undo[] = {{0, 3, SEM_UNDO}, {0, -1, SEM_UNDO}, {0, 4, 0}};
  EXPECT_EQ(sem_apply(s, &adj, undo, 1, nullptr), 0);
  EXPECT_EQ(s[0].val, 11);
  EXPECT_EQ(adj[0], -2);  // only SEM_UNDO operations are recorded
  adj[0] = -kSemVmx - 1;
  SemBuf more[] = {{0, 1, SEM_UNDO}};
  EXPECT_EQ(sem_apply(s, &adj, more, 1, nullptr), -ERANGE);
  EXPECT_EQ(s[0].val, 11);
}

std::deque<Message> queue(std::initializer_list<int64_t> types) {
  std::deque<Message> q;
  for (int64_t t : types) q.push_back({t, "x"});
  return q;
}

TEST(MsgSelect, Modes) {
  auto q = queue({3, 1, 2, 1});
  EXPECT_EQ(msg_select(q, 0, 0), 0);
  EXPECT_EQ(msg_select(q, 2, 0), 2);
  EXPECT_EQ(msg_select(q, 5, 0), -1);
  EXPECT_EQ(msg_select(q, 1, MSG_EXCEPT), 0);
  EXPECT_EQ(msg_select(q, 3, MSG_EXCEPT), 1);
  EXPECT_EQ(msg_select(q, -2, 0), 1);  // the lowest type <= 2, first of them
  EXPECT_EQ(msg_select(q, -3, 0), 1);
  EXPECT_EQ(msg_select(q, INT64_MIN, 0), 1);
  EXPECT_EQ(msg_select(queue({5}), -4, 0), -1);
  EXPECT_EQ(msg_select(q, 3, MSG_COPY), 3);
  EXPECT_EQ(msg_select(q, 4, MSG_COPY), -1);
  EXPECT_EQ(msg_select({}, 0, 0), -1);
}

struct Obj {
  IpcPerm perm;
};

TEST(IpcIds, SlotsSequencesAndKeys) {
  IpcIds<Obj> ids;
  auto a = std::make_shared<Obj>();
  a->perm.key = 42;
  int ida = ids.add(a, 10);
  auto b = std::make_shared<Obj>();
  int idb = ids.add(b, 10);
  EXPECT_EQ(ida % kIpcMni, 0);
  EXPECT_EQ(idb % kIpcMni, 1);
  EXPECT_EQ(ids.find(ida), a);
  EXPECT_EQ(ids.by_key(42), a);
  EXPECT_EQ(ids.by_key(0), nullptr);  // IPC_PRIVATE never matches
  ids.remove(ida);
  EXPECT_TRUE(a->perm.deleted);
  EXPECT_EQ(ids.find(ida), nullptr);
  auto c = std::make_shared<Obj>();
  int idc = ids.add(c, 10);
  EXPECT_EQ(idc % kIpcMni, 0);  // the slot again, with another sequence number
  EXPECT_NE(idc, ida);
  EXPECT_EQ(ids.find(ida), nullptr);
  EXPECT_EQ(ids.find(idc), c);
  EXPECT_EQ(ids.highest_slot(), 1);
  int idd = ids.add(std::make_shared<Obj>(), 3);
  EXPECT_EQ(idd % kIpcMni, 2);
  EXPECT_EQ(ids.id_of_slot(2), idd);
  EXPECT_EQ(ids.add(std::make_shared<Obj>(), 3), -ENOSPC);
  EXPECT_EQ(ids.find(-1), nullptr);
}

TEST(IpcPerm, OwnerGroupOtherAndCapability) {
  Credentials root;
  Credentials user;
  user.uid = user.euid = 1000;
  user.gid = user.egid = 1000;
  IpcPerm p = ipc_new_perm(root, 1, IPC_CREAT | 0640);
  EXPECT_EQ(p.mode, 0640u);
  EXPECT_TRUE(ipc_permitted(root, p, 0600, false));
  EXPECT_FALSE(ipc_permitted(user, p, 0444, false));
  EXPECT_TRUE(ipc_permitted(user, p, 0, false));  // a get without permission bits
  EXPECT_TRUE(ipc_permitted(user, p, 0444, true));  // CAP_IPC_OWNER
  user.groups = {0};
  EXPECT_TRUE(ipc_permitted(user, p, 0444, false));
  EXPECT_FALSE(ipc_permitted(user, p, 0222, false));
  EXPECT_FALSE(ipc_may_control(user, p, false));
  EXPECT_TRUE(ipc_may_control(user, p, true));
  p.uid = 1000;  // IPC_SET gave it to the user: owner bits now
  EXPECT_TRUE(ipc_may_control(user, p, false));
  EXPECT_TRUE(ipc_permitted(user, p, 0600, false));
}

}  // namespace
}  // namespace um::kernel
