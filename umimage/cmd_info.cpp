// umimage info IMG [--json]: type, size, usage, features, label, UUID.
#include <sys/stat.h>

#include <cstdio>

#include "core/cli.h"
#include "umimage/command.h"
#include "umimage/image_path.h"

namespace um::image {
namespace {

std::string json_str(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') o += '\\', o += char(c);
    else if (c < 0x20) {
      char b[8];
      snprintf(b, sizeof b, "\\u%04x", c);
      o += b;
    } else o += char(c);
  }
  return o + "\"";
}

int run(const std::string& image, bool json) {
  auto fs = open_image(image, false);
  if (!fs.ok()) return cli::fail(fs.error());
  ext::FsInfo i = (*fs)->info();
  uint64_t size = i.blocks_total * i.block_size;
  if (json) {
    std::string feats;
    for (auto& f : i.features) feats += (feats.empty() ? "" : ",") + json_str(f);
    printf("{\"image\":%s,\"type\":%s,\"size_bytes\":%llu,\"block_size\":%u,"
           "\"blocks_total\":%llu,\"blocks_free\":%llu,\"blocks_reserved\":%llu,"
           "\"inodes_total\":%llu,\"inodes_free\":%llu,\"label\":%s,\"uuid\":%s,"
           "\"features\":[%s],\"file_bytes\":%llu}\n",
           json_str(image).c_str(), json_str(i.type).c_str(), (unsigned long long)size, i.block_size,
           (unsigned long long)i.blocks_total, (unsigned long long)i.blocks_free,
           (unsigned long long)i.blocks_reserved, (unsigned long long)i.inodes_total,
           (unsigned long long)i.inodes_free, json_str(i.label).c_str(), json_str(i.uuid).c_str(),
           feats.c_str(), (unsigned long long)i.image_bytes);
    return kExitOk;
  }
  auto mib = [](uint64_t b) { return double(b) / (1 << 20); };
  printf("image:        %s\n", image.c_str());
  printf("type:         %s\n", i.type.c_str());
  printf("size:         %.1f MiB (%llu blocks of %u bytes)\n", mib(size),
         (unsigned long long)i.blocks_total, i.block_size);
  printf("used:         %.1f MiB, free %.1f MiB (%llu blocks, %llu reserved)\n",
         mib((i.blocks_total - i.blocks_free) * i.block_size), mib(i.blocks_free * i.block_size),
         (unsigned long long)i.blocks_free, (unsigned long long)i.blocks_reserved);
  printf("inodes:       %llu used, %llu free, %llu total\n",
         (unsigned long long)(i.inodes_total - i.inodes_free), (unsigned long long)i.inodes_free,
         (unsigned long long)i.inodes_total);
  printf("label:        %s\n", i.label.empty() ? "(none)" : i.label.c_str());
  printf("uuid:         %s\n", i.uuid.c_str());
  std::string feats;
  for (auto& f : i.features) feats += (feats.empty() ? "" : " ") + f;
  printf("features:     %s\n", feats.c_str());
  struct stat st;
  if (stat(image.c_str(), &st) == 0)
    printf("file:         %.1f MiB, %.1f MiB allocated on the host (sparse)\n", mib(i.image_bytes),
           mib(uint64_t(st.st_blocks) * 512));
  return kExitOk;
}

Registrar reg("info", "show an image's type, size, usage, features, label and UUID", 20, [](CLI::App& sub) {
  auto image = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  sub.add_option("image", *image, "image or COW file")->required();
  sub.add_flag("--json", *json, "print one JSON object");
  return [image, json] { return run(*image, *json); };
});

}  // namespace
}  // namespace um::image
