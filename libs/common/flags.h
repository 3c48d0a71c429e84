// Command-line flags for longrun binaries: --kebab-case names, "--name=value" or
// "--name value", booleans as "--name" / "--name=false", optional environment fallbacks, and
// a --help generated from the declarations. (absl flags cannot spell --database-url.)
// Every FlagSet also has --log-level and --log-format (env LONGRUN_LOG_LEVEL,
// LONGRUN_LOG_FORMAT), applied as they are parsed.
//
//   FlagSet flags("longrun-api", "Usage: longrun-api [migrate] [flags]");
//   std::string listen = "0.0.0.0:50051";
//   flags.String("listen", &listen, "HOST:PORT to serve gRPC on");
//   auto args = flags.Parse(argc, argv);  // positional arguments, or an error
#ifndef LONGRUN_COMMON_FLAGS_H_
#define LONGRUN_COMMON_FLAGS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace longrun {

class FlagSet {
 public:
  FlagSet(std::string program, std::string usage);

  void String(const std::string& name, std::string* target, const std::string& help,
              const std::string& env = "");
  void Int(const std::string& name, int64_t* target, const std::string& help);
  void Bool(const std::string& name, bool* target, const std::string& help);
  // absl duration syntax: "30s", "1m30s", "250ms".
  void Duration(const std::string& name, absl::Duration* target, const std::string& help);

  // Returns positional arguments. Errors name the flag. When --help is given, prints help
  // to stdout and sets help_requested().
  absl::StatusOr<std::vector<std::string>> Parse(int argc, char** argv);
  bool help_requested() const { return help_requested_; }
  std::string Help();

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string env;
    std::string default_text;
    bool is_bool = false;
    std::function<absl::Status(const std::string&)> set;
  };
  const Flag* Find(const std::string& name) const;
  void AddLogLevelFlag();
  std::string program_;
  std::string usage_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

}  // namespace longrun

#endif  // LONGRUN_COMMON_FLAGS_H_
