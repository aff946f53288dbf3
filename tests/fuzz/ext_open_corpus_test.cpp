// Regression test: every file of tests/fuzz/corpus (seeds and fixed crashers) goes through the
// fuzz target's code path in the normal build; none may crash or hang.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

// With writes: the replay covers both targets (ext_open_fuzz and ext_write_fuzz).
#define UM_FUZZ_WRITE 1
#include "tests/fuzz/ext_open_fuzz.cpp"

TEST(ExtOpenCorpus, EveryInputIsHandled) {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator(UM_FUZZ_CORPUS_DIR)) {
    if (!e.is_regular_file()) continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    SCOPED_TRACE(e.path().string());
    EXPECT_EQ(LLVMFuzzerTestOneInput(data.data(), data.size()), 0);
    ++n;
  }
  EXPECT_GE(n, 3u);
}
