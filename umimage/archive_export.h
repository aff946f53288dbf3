// `umimage export`: an image subtree as a pax tar stream (xattrs, hard links, devices kept).
#pragma once
#include <string>

#include "core/error.h"
#include "core/ext/ext_fs.h"

namespace um::image {

// A directory's members are named "./..."; a single file is named `file_name`.
Status export_tree(ext::ExtFs& fs, ext::Ino top, const std::string& file_name, int out_fd);

}  // namespace um::image
