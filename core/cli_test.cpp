#include "core/cli.h"

#include <gtest/gtest.h>

#include "core/log.h"

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

namespace {

// A tool with a global option of its own, one daemon-style root option and nested
// subcommands, parsed as the tools do.
struct Tool {
  CLI::App app{"test tool"};
  int timeout = 5;
  bool hub = false, json = false;
  std::string image;
  CLI::App* info = nullptr;
  CLI::App* cow = nullptr;
  CLI::App* cow_create = nullptr;
  Tool() {
    um::cli::setup(app, "tool");
    app.add_option("-t,--timeout", timeout, "seconds")->group("Global options");
    app.add_flag("--hub", hub, "a root-only option");
    info = app.add_subcommand("info", "show an image");
    info->add_option("IMG", image)->required();
    info->add_flag("--json", json, "JSON");
    cow = app.add_subcommand("cow", "COW files");
    cow_create = cow->add_subcommand("create", "create one");
    cow_create->add_option("COW", image)->required();
  }
  int parse(std::vector<std::string> args) {
    args.insert(args.begin(), "tool");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    return um::cli::parse(app, static_cast<int>(argv.size()), argv.data());
  }
};

}  // namespace

TEST(GlobalOptions, AcceptedBeforeAndAfterSubcommands) {
  for (auto args : std::vector<std::vector<std::string>>{{"-q", "info", "a.img"},
                                                        {"info", "a.img", "-q"},
                                                        {"info", "-t", "9", "a.img", "--json"},
                                                        {"cow", "create", "x.cow", "-v", "-t", "9"}}) {
    Tool tool;
    EXPECT_EQ(tool.parse(args), -1) << args.front() << " " << args.back();
    EXPECT_EQ(tool.image, args[0] == "cow" ? "x.cow" : "a.img");
  }
  Tool tool;
  ASSERT_EQ(tool.parse({"info", "a.img", "--timeout", "7"}), -1);
  EXPECT_EQ(tool.timeout, 7);
  um::log::set_level(um::log::Level::Info);
}

TEST(GlobalOptions, OtherRootOptionsAndUnknownOnesAreUsageErrors) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Tool().parse({"info", "a.img", "--hub"}), um::kExitUsage);
  EXPECT_EQ(Tool().parse({"info", "a.img", "--bogus"}), um::kExitUsage);
  EXPECT_EQ(Tool().parse({"info", "a.img", "b.img"}), um::kExitUsage);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("--hub is not an option of 'info'"), std::string::npos) << err;
  Tool root_only;
  EXPECT_EQ(root_only.parse({"--hub"}), -1);
  EXPECT_TRUE(root_only.hub);
}

TEST(GlobalOptions, EverySubcommandHelpListsThem) {
  Tool tool;
  for (const CLI::App* sub : {tool.info, tool.cow, tool.cow_create}) {
    std::string help = sub->help();
    EXPECT_NE(help.find("Global options:"), std::string::npos) << help;
    for (const char* flag : {"--quiet", "--verbose", "--version", "--timeout"})
      EXPECT_NE(help.find(flag), std::string::npos) << flag << " in\n" << help;
    EXPECT_EQ(help.find("--hub"), std::string::npos) << help;
  }
}
