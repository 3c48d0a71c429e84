// Built-in demo kinds, one file each, registered by RegisterBuiltins (builtins.cc).
#ifndef LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_
#define LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "longrun/job_context.h"
#include "longrun/registry.h"

namespace longrun::worker {

// Registers demo.echo, demo.sleep, demo.sha256, demo.fail and demo.progress.
void RegisterBuiltins(Registry& registry);

// Reads an optional number field; INVALID_ARGUMENT naming input.<field> if it has another type.
absl::StatusOr<double> NumberField(const google::protobuf::Struct& input, const std::string& field,
                                   double default_value);

// demo.echo: returns its input.
absl::StatusOr<google::protobuf::Struct> DemoEcho(JobContext& ctx);
// demo.sleep {"seconds": s, "steps": n}: sleeps s seconds in n steps, reporting progress
// after each; stops early on cancellation or timeout. Returns {"slept_seconds": s}.
absl::StatusOr<google::protobuf::Struct> DemoSleep(JobContext& ctx);
// demo.sha256 {"text": t, "repeat": n}: {"sha256": hex digest of t repeated n times}.
absl::StatusOr<google::protobuf::Struct> DemoSha256(JobContext& ctx);
// demo.fail {"failures": k, "permanent": b}: fails attempts 1..k (permanently if b), then
// returns {"attempt": a}.
absl::StatusOr<google::protobuf::Struct> DemoFail(JobContext& ctx);
// demo.progress {"reports": n, "seconds": s}: reports progress in a tight loop, at least n
// times (default 1000) and for at least s seconds (default 0). Returns {"reports": count}.
// Shows (and tests) that progress is coalesced: the database sees a few writes, not n.
absl::StatusOr<google::protobuf::Struct> DemoProgress(JobContext& ctx);

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_
