// The VM run directory layout, as UML uses it: <root>/<umid>/ holding `pid` and the
// `mconsole` socket (plus our per-console sockets). <root> is $UML_DIR if set, else
// $HOME/.uml. The directory is private (0700) and removed on clean exit; a directory left
// behind by a dead VM is stale and may be reclaimed.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "core/error.h"

namespace um::rundir {

std::string root();                                // without trailing slash
std::string vm_dir(const std::string& umid);       // root()/umid
std::string mconsole_path(const std::string& umid);
std::string console_path(const std::string& umid, int n);  // <dir>/conN (shared console socket)
std::string serial_path(const std::string& umid, int n);   // <dir>/sslN (shared serial line socket)

// A umid is 1..63 chars of [A-Za-z0-9._-], not starting with '.'.
Status validate_umid(const std::string& umid);
std::string random_umid();                         // 6 random chars, as UML's mkstemp names

// Reads <dir>/pid; nullopt when missing or unparsable.
std::optional<pid_t> read_pid(const std::string& umid);
bool pid_alive(pid_t pid);

// Creates <root>/<umid> (0700) and writes our pid. A live owner → EADDRINUSE error; a stale
// directory is emptied and reused.
Status claim(const std::string& umid);
// Removes the directory and everything in it (only plain files and sockets are expected).
void release(const std::string& umid);

struct VmEntry {
  std::string umid;
  pid_t pid;
};
// VMs whose run directory has a live pid.
std::vector<VmEntry> list_running();

}  // namespace um::rundir
