// umimage subcommands register themselves: each cmd_*.cpp defines one
//   static um::image::Registrar reg("name", [](CLI::App& sub) { ...; return [&]{ return run(); }; });
// so that adding a subcommand touches no shared file.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace um::image {

// Given the subcommand's CLI::App, declares its options and returns the function that runs it
// (returning the process exit code).
using Setup = std::function<std::function<int()>(CLI::App& sub)>;

struct CommandSpec {
  std::string name;
  std::string description;
  int order;  // position in --help
  Setup setup;
};

std::vector<CommandSpec>& command_registry();

struct Registrar {
  Registrar(std::string name, std::string description, int order, Setup setup) {
    command_registry().push_back({std::move(name), std::move(description), order, std::move(setup)});
  }
};

}  // namespace um::image
