// The operations console's static files (index.html, console.css, console.js in this
// directory), embedded into longrun-api at build time by embed_console.cmake and served by
// the HTTP front end at GET / and GET /console/{name} (docs/API.md, "Console").
#ifndef LONGRUN_SERVICES_API_HTTP_CONSOLE_CONSOLE_ASSETS_H_
#define LONGRUN_SERVICES_API_HTTP_CONSOLE_CONSOLE_ASSETS_H_

#include "absl/strings/string_view.h"

namespace longrun::api::http {

struct ConsoleAsset {
  absl::string_view content_type;  // "text/html; charset=utf-8", ...
  absl::string_view body;
};

// The file called `name` ("index.html", "console.js", "console.css"), or nullptr.
const ConsoleAsset* FindConsoleAsset(absl::string_view name);

}  // namespace longrun::api::http

#endif  // LONGRUN_SERVICES_API_HTTP_CONSOLE_CONSOLE_ASSETS_H_
