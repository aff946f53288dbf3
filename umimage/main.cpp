// umimage: create, inspect, edit and mount ext2/3/4 disk images and UML COW files, rootless.
#include <algorithm>

#include "core/cli.h"
#include "umimage/command.h"

namespace um::image {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> r;
  return r;
}
}  // namespace um::image

int main(int argc, char** argv) {
  CLI::App app{"Create, inspect, edit and mount ext2/3/4 disk images and UML COW files without root."};
  um::cli::setup(app, "umimage");
  app.require_subcommand(1);
  auto& reg = um::image::command_registry();
  std::sort(reg.begin(), reg.end(), [](auto& a, auto& b) { return a.order < b.order; });
  std::function<int()> run;
  for (auto& spec : reg) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    auto fn = spec.setup(*sub);
    sub->callback([&run, fn] { run = fn; });
  }
  if (int rc = um::cli::parse(app, argc, argv); rc >= 0) return rc;
  return run ? run() : um::kExitUsage;
}
