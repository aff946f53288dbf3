// Where image content comes from: a host directory or an archive (anything libarchive reads;
// "-" = stdin). Each can be scanned (for sizing) and copied into a TreeWriter.
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "umimage/progress.h"
#include "umimage/tree_writer.h"

namespace um::image {

struct SourceStats {
  uint64_t entries = 0;
  uint64_t data_bytes = 0;   // sum of file sizes
  uint64_t block_bytes = 0;  // the same rounded up to 4 KiB per file, plus dirs/long symlinks
};

Result<SourceStats> scan_directory(const std::string& dir);
Status copy_directory(const std::string& dir, TreeWriter& w, Progress* progress);

Result<SourceStats> scan_archive(const std::string& path);
// Copies every member; a truncated or corrupt archive is an error.
Status copy_archive(const std::string& path, TreeWriter& w, Progress* progress);

}  // namespace um::image
