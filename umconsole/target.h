// Turning the user's VM argument into an mconsole socket and a run directory.
#pragma once
#include <optional>
#include <string>

#include "core/error.h"

namespace umconsole {

struct Target {
  std::string name;            // as given (or the only running VM's umid)
  std::string mconsole;        // socket path
};

// NAME → Target via um::mconsole::resolve_socket.
um::Result<Target> resolve_target(const std::string& name);
// The only running VM (for commands where UMID may be omitted); an error naming the choices
// when there are none or several.
um::Result<std::string> only_running_umid();

}  // namespace umconsole
