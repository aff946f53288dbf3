#include "core/cli.h"

#include <cmath>
#include <cstdlib>

#include "core/log.h"
#include "core/version.h"

namespace um::cli {

namespace {

constexpr const char* kGlobalGroup = "Global options";  // see cli.h

// Subcommands' help ends with the global options they accept (those of their parents).
class Formatter : public CLI::Formatter {
 public:
  std::string make_footer(const CLI::App* app) const override {
    std::vector<const CLI::Option*> globals;
    for (const CLI::App* a = app->get_parent(); a; a = a->get_parent())
      for (const CLI::Option* o : a->get_options([](const CLI::Option* o) { return o->get_group() == kGlobalGroup; }))
        globals.push_back(o);
    std::string out = globals.empty() ? "" : make_group(kGlobalGroup, false, globals);
    if (out.starts_with("\n")) out.erase(0, 1);  // the option groups before end with a blank line
    return out + CLI::Formatter::make_footer(app);
  }
};

// With fallthrough, options after a subcommand that it does not know go to its parents; only
// the global ones may (`umswitch ctl stats --hub` is an error, not a silently ignored flag).
std::string misplaced_option(const CLI::App& app) {
  const auto subs = app.get_subcommands();
  if (subs.empty()) return "";
  for (const CLI::Option* o : app.get_options()) {
    if (o->count() == 0 || o->get_group() == kGlobalGroup || o->get_positional()) continue;
    return o->get_name() + " is not an option of '" + subs.front()->get_name() + "'";
  }
  for (const CLI::App* sub : subs)
    if (std::string m = misplaced_option(*sub); !m.empty()) return m;
  return "";
}

}  // namespace

// Global options (the option group "Global options": the flags below, and a tool's own, e.g.
// umconsole's --timeout) are accepted anywhere on the line, before or after subcommands, and
// every subcommand's --help lists them. Call setup() before adding subcommands: they inherit
// its fallthrough and formatter.
void setup(CLI::App& app, const std::string& program) {
  log::set_program(program);
  app.name(program);
  app.formatter(std::make_shared<Formatter>());
  // Global options are accepted anywhere on the line: subcommands (created after this, they
  // inherit it) pass options they do not know to their parent.
  app.fallthrough();
  app.set_version_flag("--version", std::string(program) + " " + UM_VERSION)->group(kGlobalGroup);
  app.add_flag_callback("-q,--quiet", [] { log::set_level(log::Level::Error); },
                        "only print errors")->group(kGlobalGroup);
  app.add_flag_callback("-v,--verbose", [] { log::set_level(log::Level::Debug); },
                        "print debugging messages")->group(kGlobalGroup);
}

int parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    if (std::string m = misplaced_option(app); !m.empty()) throw CLI::ExtrasError(m, CLI::ExitCodes::ExtrasError);
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
