#include "core/cli.h"

#include <gtest/gtest.h>

TEST(ParseSize, AcceptsSuffixes) {
  EXPECT_EQ(um::cli::parse_size("4096").value(), 4096u);
  EXPECT_EQ(um::cli::parse_size("512M").value(), 512ull << 20);
  EXPECT_EQ(um::cli::parse_size("2G").value(), 2ull << 30);
  EXPECT_EQ(um::cli::parse_size("1.5k").value(), 1536u);
  EXPECT_EQ(um::cli::parse_size("64MiB").value(), 64ull << 20);
}

TEST(ParseSize, RejectsGarbage) {
  EXPECT_FALSE(um::cli::parse_size("").ok());
  EXPECT_FALSE(um::cli::parse_size("abc").ok());
  EXPECT_FALSE(um::cli::parse_size("12Q").ok());
  EXPECT_FALSE(um::cli::parse_size("-5M").ok());
}
