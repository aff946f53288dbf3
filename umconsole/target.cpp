#include "umconsole/target.h"

#include "core/mconsole/client.h"
#include "core/rundir.h"

namespace umconsole {

um::Result<Target> resolve_target(const std::string& name) {
  Target t;
  t.name = name;
  t.mconsole = UM_TRY(um::mconsole::resolve_socket(name));
  return t;
}

um::Result<std::string> only_running_umid() {
  auto vms = um::rundir::list_running();
  if (vms.size() == 1) return vms[0].umid;
  if (vms.empty())
    return um::Error::make(ENOENT, "no VM is running (looked in " + um::rundir::root() + ")");
  std::string names;
  for (const auto& v : vms) names += (names.empty() ? "" : ", ") + v.umid;
  return um::Error::make(EINVAL, "several VMs are running (" + names + "); name one");
}

}  // namespace umconsole
