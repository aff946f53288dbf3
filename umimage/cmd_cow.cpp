// umimage cow create|info|merge: UML copy-on-write files (see core/cow/cow_file.h).
#include <time.h>

#include <memory>

#include "core/cli.h"
#include "core/cow/cow_file.h"
#include "core/log.h"
#include "umimage/command.h"

namespace um::image {
namespace {

struct CowArgs {
  std::string cow, backing, output;
  bool force = false, json = false;
  std::function<int()> action;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

std::string utc_time(uint32_t t) {
  time_t tt = t;
  struct tm tm;
  char buf[64];
  gmtime_r(&tt, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int run_create(const CowArgs& a) {
  if (auto st = cow::create(a.cow, a.backing, a.force); !st) return cli::fail(st.error());
  UM_DEBUG("created %s over %s", a.cow.c_str(), a.backing.c_str());
  return kExitOk;
}

int run_info(const CowArgs& a) {
  auto h = cow::read_header(a.cow);
  if (!h) return cli::fail(h.error());
  auto written = cow::count_written_sectors(a.cow);
  if (!written) return cli::fail(written.error());
  auto match = cow::check_backing(*h, h->backing_file);
  std::string users;  // processes holding the COW open with a host lock (a VM, a mount...)
  for (pid_t pid : cow::lock_holders(a.cow)) users += (users.empty() ? "" : ", ") + std::to_string(pid);
  const std::string format = "v" + std::to_string(h->version) + (h->broken_v3 ? " (broken 64-bit layout)" : "");
  if (a.json) {
    printf("{\"path\": %s, \"version\": %u, \"broken_v3\": %s, \"backing_file\": %s, "
           "\"size\": %llu, \"mtime\": %u, \"sector_size\": %u, \"alignment\": %u, "
           "\"bitmap_offset\": %llu, \"bitmap_len\": %llu, \"data_offset\": %llu, "
           "\"sectors_total\": %llu, \"sectors_written\": %llu, \"backing_matches\": %s, "
           "\"backing_error\": %s, \"in_use_by\": [%s]}\n",
           json_string(a.cow).c_str(), h->version, h->broken_v3 ? "true" : "false",
           json_string(h->backing_file).c_str(), (unsigned long long)h->size, h->mtime,
           h->sector_size, h->alignment, (unsigned long long)h->bitmap_offset,
           (unsigned long long)h->bitmap_len, (unsigned long long)h->data_offset,
           (unsigned long long)h->sector_count(), (unsigned long long)*written,
           match ? "true" : "false", match ? "null" : json_string(match.error().message).c_str(),
           users.c_str());
    return kExitOk;
  }
  printf("COW file:        %s\n", a.cow.c_str());
  printf("format:          UML COW %s\n", format.c_str());
  printf("backing file:    %s\n", h->backing_file.c_str());
  printf("size:            %llu bytes\n", (unsigned long long)h->size);
  printf("backing mtime:   %u (%s)\n", h->mtime, utc_time(h->mtime).c_str());
  printf("sector size:     %u\n", h->sector_size);
  printf("alignment:       %u\n", h->alignment);
  printf("bitmap:          %llu bytes at offset %llu\n", (unsigned long long)h->bitmap_len,
         (unsigned long long)h->bitmap_offset);
  printf("data offset:     %llu\n", (unsigned long long)h->data_offset);
  printf("sectors written: %llu of %llu (%llu bytes)\n", (unsigned long long)*written,
         (unsigned long long)h->sector_count(), (unsigned long long)(*written * h->sector_size));
  printf("backing matches: %s\n", match ? "yes" : ("no: " + match.error().message).c_str());
  printf("in use by:       %s\n", users.empty() ? "no process found" : ("pid " + users).c_str());
  return kExitOk;
}

int run_merge(const CowArgs& a) {
  std::optional<std::string> out, backing;
  if (!a.output.empty()) out = a.output;
  if (!a.backing.empty()) backing = a.backing;
  if (auto st = cow::merge(a.cow, out, backing); !st) return cli::fail(st.error());
  return kExitOk;
}

Registrar reg("cow", "create, inspect and merge UML copy-on-write (COW) files", 80, [](CLI::App& sub) {
  auto args = std::make_shared<CowArgs>();
  sub.require_subcommand(1);

  auto* create = sub.add_subcommand("create", "make a new COW file over a backing image (like uml_mkcow)");
  create->add_option("cow", args->cow, "COW file to create")->required();
  create->add_option("-b,--backing", args->backing, "backing image (stored as an absolute path)")->required();
  create->add_flag("-f,--force", args->force, "overwrite an existing COW file");
  create->callback([args] { args->action = [args] { return run_create(*args); }; });

  auto* info = sub.add_subcommand("info", "show a COW file's header and whether its backing file still matches");
  info->add_option("cow", args->cow, "COW file")->required();
  info->add_flag("--json", args->json, "print one JSON object");
  info->callback([args] { args->action = [args] { return run_info(*args); }; });

  auto* merge = sub.add_subcommand("merge", "merge a COW file with its backing image (like uml_moo)");
  merge->add_option("cow", args->cow, "COW file")->required();
  merge->add_option("-o,--output", args->output, "write a new sparse merged image here (default: write the COW's sectors into the backing image in place; the COW is stale afterwards)");
  merge->add_option("-b,--backing", args->backing, "use this backing image instead of the one named in the header");
  merge->callback([args] { args->action = [args] { return run_merge(*args); }; });

  return [args] { return args->action ? args->action() : int(kExitUsage); };
});

}  // namespace
}  // namespace um::image
