// WritePortFile: tells a test (or a supervisor) which port the kernel gave a listener
// started on port 0.
#ifndef LONGRUN_COMMON_PORT_FILE_H_
#define LONGRUN_COMMON_PORT_FILE_H_

#include <string>

#include "absl/status/status.h"

namespace longrun {

// Writes "<port>\n" to a temporary file and renames it to `path`, so a reader never sees a
// partial line.
absl::Status WritePortFile(const std::string& path, int port);

}  // namespace longrun

#endif  // LONGRUN_COMMON_PORT_FILE_H_
