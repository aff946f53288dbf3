// Command-line conventions shared by the four tools (CLI11): --version, --quiet/--verbose,
// usage errors as one line on stderr with exit code 2, failures with exit code 1.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "core/error.h"

namespace um::cli {

// Creates the app with the global flags --version, -q/--quiet, -v/--verbose (see cli.cpp).
void setup(CLI::App& app, const std::string& program);

// Parses argv; on a usage error prints "PROGRAM: error: ..." plus a hint and returns the exit
// code to use (kExitUsage), on --help/--version prints and returns kExitOk; returns -1 when
// parsing succeeded and the program should go on.
int parse(CLI::App& app, int argc, char** argv);

// Prints "PROGRAM: error: MESSAGE" and returns kExitFailure; for `return cli::fail(err)`.
int fail(const Error& err);
int fail(const std::string& message);

// Parses sizes like 512M, 2G, 4096, 1.5G (K/M/G/T, optional trailing B or iB; powers of 1024).
Result<uint64_t> parse_size(const std::string& text);

}  // namespace um::cli
