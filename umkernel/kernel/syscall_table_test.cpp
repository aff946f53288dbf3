#include "umkernel/kernel/syscall_table.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>

namespace um::kernel {
namespace {

int64_t handler(Task&) { return 0; }

TEST(SyscallTable, EveryFamilyTogetherBuilds) {
  auto t = SyscallTable::build(syscall_families());
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_GT(t->rows().size(), 200u);
}

TEST(SyscallTable, NoNumberHasTwoRows) {
  std::set<long> seen;
  for (const SyscallFamily& f : syscall_families())
    for (const SyscallRow& r : f.rows) EXPECT_TRUE(seen.insert(r.nr).second) << r.name << " in " << f.file;
}

TEST(SyscallTable, EveryRowIsWellFormed) {
  for (const SyscallFamily& f : syscall_families()) {
    for (const SyscallRow& r : f.rows) {
      SCOPED_TRACE(std::string(r.name) + " in " + f.file);
      ASSERT_NE(syscall_name(r.nr), nullptr);
      EXPECT_STREQ(r.name, syscall_name(r.nr));
      EXPECT_LE(strlen(r.args), 6u);
      for (const char* c = r.args; *c; c++) EXPECT_NE(strchr(kSyscallArgLetters, *c), nullptr) << *c;
      if (r.support == Support::Enosys) {
        EXPECT_EQ(r.handler, nullptr);
        EXPECT_STRNE(r.note, "");
      } else {
        EXPECT_NE(r.handler, nullptr);
      }
      if (r.support == Support::Partial) {
        EXPECT_STRNE(r.note, "");
      }
    }
  }
}

TEST(SyscallTable, ADuplicateNumberIsAnErrorNamingBothFiles) {
  const SyscallRow a[] = {{SYS_read, "read", handler, "fBu", Support::Full, ""}};
  const SyscallRow b[] = {{SYS_write, "write", handler, "fbu", Support::Full, ""},
                          {SYS_read, "read", handler, "fBu", Support::Full, ""}};
  const SyscallFamily families[] = {{"sys/a.cpp", a}, {"sys/b.cpp", b}};
  auto t = SyscallTable::build(families);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("read (0, sys/b.cpp)"), std::string::npos) << t.error().message;
  EXPECT_NE(t.error().message.find("sys/a.cpp"), std::string::npos) << t.error().message;
}

Result<SyscallTable> build_one(SyscallRow r) {
  const SyscallRow rows[] = {r};
  const SyscallFamily families[] = {{"sys/x.cpp", rows}};
  return SyscallTable::build(families);
}

TEST(SyscallTable, MalformedRowsAreErrors) {
  EXPECT_TRUE(build_one({SYS_read, "read", handler, "fBu", Support::Full, ""}).ok());
  // a name that is not Linux's for the number
  EXPECT_FALSE(build_one({SYS_read, "write", handler, "fBu", Support::Full, ""}).ok());
  // an unknown argument letter, too many letters
  EXPECT_FALSE(build_one({SYS_read, "read", handler, "fQu", Support::Full, ""}).ok());
  EXPECT_FALSE(build_one({SYS_read, "read", handler, "ddddddd", Support::Full, ""}).ok());
  // no handler without being an ENOSYS row; an ENOSYS row with a handler or without a note
  EXPECT_FALSE(build_one({SYS_read, "read", nullptr, "fBu", Support::Full, ""}).ok());
  EXPECT_FALSE(build_one({SYS_read, "read", handler, "fBu", Support::Enosys, "why"}).ok());
  EXPECT_FALSE(build_one({SYS_read, "read", nullptr, "fBu", Support::Enosys, ""}).ok());
  EXPECT_TRUE(build_one({SYS_read, "read", nullptr, "fBu", Support::Enosys, "why"}).ok());
  // a partial row says what is missing
  EXPECT_FALSE(build_one({SYS_read, "read", handler, "fBu", Support::Partial, ""}).ok());
  // numbers outside the table
  EXPECT_FALSE(build_one({-1, "read", handler, "", Support::Full, ""}).ok());
  EXPECT_FALSE(build_one({kMaxSyscall, "read", handler, "", Support::Full, ""}).ok());
}

TEST(SyscallTable, LookupByNumber) {
  const SyscallTable& t = syscall_table();
  ASSERT_NE(t.row(SYS_read), nullptr);
  EXPECT_STREQ(t.row(SYS_read)->name, "read");
  EXPECT_EQ(t.row(-1), nullptr);
  EXPECT_EQ(t.row(kMaxSyscall), nullptr);
  EXPECT_EQ(t.row(335), nullptr);  // no x86-64 syscall has this number
}

TEST(SyscallNames, ComeFromTheKernelHeaders) {
  EXPECT_STREQ(syscall_name(0), "read");
  EXPECT_STREQ(syscall_name(SYS_clone3), "clone3");
  EXPECT_STREQ(syscall_name(SYS_epoll_pwait2), "epoll_pwait2");
  EXPECT_EQ(syscall_name(335), nullptr);
  EXPECT_EQ(syscall_name(-1), nullptr);
  EXPECT_EQ(syscall_name(100000), nullptr);
}

TEST(SyscallTable, PrintedTableCountsEveryNamedSyscall) {
  const SyscallTable& t = syscall_table();
  std::string text = format_syscall_table(t, false);
  long named = 0;
  for (long nr = 0; nr < kMaxSyscall; nr++) named += syscall_name(nr) != nullptr;
  long lines = 0;
  for (char c : text) lines += c == '\n';
  EXPECT_EQ(lines, named + 2);  // a heading, a row per named syscall, the counts
  EXPECT_NE(text.find("\n0    read "), std::string::npos);
  std::string json = format_syscall_table(t, true);
  EXPECT_EQ(json.front(), '{');
  EXPECT_NE(json.find("{\"nr\": 0, \"name\": \"read\", \"support\": \"full\", \"args\": \"fBu\", \"note\": \"\"}"),
            std::string::npos);
  EXPECT_NE(json.find("\"counts\": {\"full\": "), std::string::npos);
}

}  // namespace
}  // namespace um::kernel
