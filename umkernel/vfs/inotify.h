// File system notifications (inotify(7), and dnotify's F_NOTIFY): the VFS reports what
// happens to inodes here, in one place, for every file system; inotify instances and
// F_NOTIFY directories that watch those inodes queue events or get signals.
// Inodes are named by (super block, inode number), so file systems that make a new Inode
// object per lookup are watched all the same.
#pragma once
#include <sys/inotify.h>

#include <cstdint>
#include <string_view>

#include "umkernel/vfs/vfs.h"

namespace um::kernel {

// Whether anything watches anything (the VFS skips the reporting otherwise).
bool fsnotify_active();

// An event on the inode itself (IN_MODIFY, IN_ATTRIB, IN_ACCESS, IN_OPEN, IN_CLOSE_*,
// IN_DELETE_SELF, IN_MOVE_SELF): to its own watches.
void fsnotify_inode(Inode& ino, uint32_t mask);
// An event on a child `name` of directory `dir` (IN_CREATE, IN_DELETE, IN_MOVED_FROM/TO, and
// the self events above as the directory sees them): to the directory's watches.
void fsnotify_child(Inode& dir, uint32_t mask, std::string_view name, uint32_t cookie = 0);
// Both, for an open file whose path names its directory (read, write, open, close).
void fsnotify_file(Task& t, File& f, uint32_t mask);
// The same for an inode reached by `path` (absolute, as the task sees it).
void fsnotify_path(Task& t, Inode& ino, const std::string& path, uint32_t mask);
// The last reference to an open file went away: IN_CLOSE_WRITE or IN_CLOSE_NOWRITE (the
// directory's view is resolved as init sees the path).
void fsnotify_closed(File& f);
// The inode is gone (its last link removed): IN_DELETE_SELF, then its watches end (IN_IGNORED).
void fsnotify_deleted(Inode& ino);
uint32_t fsnotify_next_cookie();

// inotify_init1's file; F_NOTIFY registrations (fcntl on a directory fd).
int64_t make_inotify(int flags, FilePtr& out);
int64_t inotify_add(File& inotify, const InodePtr& ino, uint32_t mask);
int64_t inotify_remove(File& inotify, int wd);
bool is_inotify(File& f);
int64_t dnotify_set(Task& t, File& dir, uint64_t mask);

}  // namespace um::kernel
