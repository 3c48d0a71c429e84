#include "libs/common/flags.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"

namespace longrun {

FlagSet::FlagSet(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)) {}

void FlagSet::AddLogLevelFlag() {
  if (Find("log-level") != nullptr) return;
  if (const char* value = std::getenv("LONGRUN_LOG_FORMAT"); value != nullptr && *value != '\0') {
    if (auto format = log::ParseFormat(value); format.ok()) log::SetFormat(*format);
  }
  flags_.push_back({"log-format", "log lines as key=value text or as one JSON object per line",
                    "LONGRUN_LOG_FORMAT", "text", false, [](const std::string& v) {
                      auto format = log::ParseFormat(v);
                      if (!format.ok()) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--log-format: ", format.status().message()));
                      }
                      log::SetFormat(*format);
                      return absl::OkStatus();
                    }});
  // Every binary has it; the environment variable applies even without the flag.
  if (const char* value = std::getenv("LONGRUN_LOG_LEVEL"); value != nullptr && *value != '\0') {
    if (auto level = log::ParseLevel(value); level.ok()) log::SetMinLevel(*level);
  }
  flags_.push_back({"log-level", "least severe log lines written: debug, info, warn or error",
                    "LONGRUN_LOG_LEVEL", "info", false, [](const std::string& v) {
                      auto level = log::ParseLevel(v);
                      if (!level.ok()) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--log-level: ", level.status().message()));
                      }
                      log::SetMinLevel(*level);
                      return absl::OkStatus();
                    }});
}

void FlagSet::String(const std::string& name, std::string* target, const std::string& help,
                     const std::string& env) {
  flags_.push_back({name, help, env, *target, false, [target](const std::string& v) {
                      *target = v;
                      return absl::OkStatus();
                    }});
  if (!env.empty()) {
    if (const char* value = std::getenv(env.c_str()); value != nullptr && *value != '\0') {
      *target = value;
    }
  }
}

void FlagSet::Int(const std::string& name, int64_t* target, const std::string& help) {
  flags_.push_back({name, help, "", absl::StrCat(*target), false,
                    [name, target](const std::string& v) {
                      if (!absl::SimpleAtoi(v, target)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, ": \"", v, "\" is not an integer"));
                      }
                      return absl::OkStatus();
                    }});
}

void FlagSet::Bool(const std::string& name, bool* target, const std::string& help) {
  flags_.push_back({name, help, "", *target ? "true" : "false", true,
                    [name, target](const std::string& v) {
                      if (!absl::SimpleAtob(v, target)) {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, ": \"", v, "\" is not true or false"));
                      }
                      return absl::OkStatus();
                    }});
}

void FlagSet::Duration(const std::string& name, absl::Duration* target, const std::string& help) {
  flags_.push_back({name, help, "", absl::FormatDuration(*target), false,
                    [name, target](const std::string& v) {
                      if (!absl::ParseDuration(v, target)) {
                        return absl::InvalidArgumentError(absl::StrCat(
                            "--", name, ": \"", v, "\" is not a duration (e.g. 30s, 1m, 250ms)"));
                      }
                      return absl::OkStatus();
                    }});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(int argc, char** argv) {
  AddLogLevelFlag();
  if (const char* value = std::getenv("LONGRUN_LOG_LEVEL"); value != nullptr && *value != '\0') {
    if (auto level = log::ParseLevel(value); !level.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("LONGRUN_LOG_LEVEL: ", level.status().message()));
    }
  }
  if (const char* value = std::getenv("LONGRUN_LOG_FORMAT"); value != nullptr && *value != '\0') {
    if (auto format = log::ParseFormat(value); !format.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("LONGRUN_LOG_FORMAT: ", format.status().message()));
    }
  }
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      for (++i; i < argc; ++i) positional.push_back(argv[i]);
      break;
    }
    if (!absl::StartsWith(arg, "-") || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    std::string body = arg.substr(absl::StartsWith(arg, "--") ? 2 : 1);
    if (body == "help" || body == "h") {
      help_requested_ = true;
      std::cout << Help();
      return positional;
    }
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (const size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, "; see ", program_, " --help"));
    }
    if (!has_value) {
      if (flag->is_bool) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
    }
    if (absl::Status s = flag->set(value); !s.ok()) return s;
  }
  return positional;
}

std::string FlagSet::Help() {
  AddLogLevelFlag();
  std::string out = absl::StrCat(usage_, "\n\nFlags:\n");
  for (const Flag& f : flags_) {
    absl::StrAppend(&out, "  --", f.name, f.is_bool ? "" : "=VALUE", "\n      ", f.help);
    if (!f.default_text.empty()) absl::StrAppend(&out, " (default: ", f.default_text, ")");
    if (!f.env.empty()) absl::StrAppend(&out, " [env ", f.env, "]");
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace longrun
