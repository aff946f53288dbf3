#include "core/cli.h"

#include <cmath>
#include <cstdlib>

#include "core/log.h"
#include "core/version.h"

namespace um::cli {

void setup(CLI::App& app, const std::string& program) {
  log::set_program(program);
  app.name(program);
  app.set_version_flag("--version", std::string(program) + " " + UM_VERSION);
  app.add_flag_callback("-q,--quiet", [] { log::set_level(log::Level::Error); },
                        "only print errors");
  app.add_flag_callback("-v,--verbose", [] { log::set_level(log::Level::Debug); },
                        "print debugging messages");
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    fprintf(stderr, "%s: error: %s\n", log::program().c_str(), msg.c_str());
    fprintf(stderr, "Try '%s --help' for more information.\n", log::program().c_str());
    return kExitUsage;
  }
  return -1;
}

int fail(const Error& err) { return fail(err.message); }

int fail(const std::string& message) {
  fprintf(stderr, "%s: error: %s\n", log::program().c_str(), message.c_str());
  return kExitFailure;
}

Result<uint64_t> parse_size(const std::string& text) {
  if (text.empty()) return Error::make(EINVAL, "empty size");
  char* end = nullptr;
  errno = 0;
  double v = strtod(text.c_str(), &end);
  if (end == text.c_str() || errno || v < 0 || !std::isfinite(v))
    return Error::make(EINVAL, "invalid size '" + text + "'");
  std::string suffix(end);
  for (auto& c : suffix) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  if (suffix.size() > 1 && (suffix.ends_with("IB"))) suffix.resize(suffix.size() - 2);
  else if (suffix.size() > 1 && suffix.back() == 'B') suffix.pop_back();
  double mult = 1;
  if (suffix.empty() || suffix == "B") mult = 1;
  else if (suffix == "K") mult = 1024.0;
  else if (suffix == "M") mult = 1024.0 * 1024;
  else if (suffix == "G") mult = 1024.0 * 1024 * 1024;
  else if (suffix == "T") mult = 1024.0 * 1024 * 1024 * 1024;
  else return Error::make(EINVAL, "invalid size suffix in '" + text + "' (use K, M, G or T)");
  double bytes = v * mult;
  if (bytes > 9.0e18) return Error::make(ERANGE, "size '" + text + "' is too large");
  return static_cast<uint64_t>(bytes);
}

}  // namespace um::cli
