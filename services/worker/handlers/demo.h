// Built-in demo kinds, one file each.
#ifndef LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_
#define LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "services/worker/job_context.h"

namespace longrun::worker {

// demo.echo: returns its input.
absl::StatusOr<google::protobuf::Struct> DemoEcho(JobContext& ctx,
                                                  const google::protobuf::Struct& input);
// demo.sleep {"seconds": s, "steps": n}: sleeps s seconds in n steps, reporting progress
// after each; stops early on cancellation or timeout. Returns {"slept_seconds": s}.
absl::StatusOr<google::protobuf::Struct> DemoSleep(JobContext& ctx,
                                                   const google::protobuf::Struct& input);
// demo.sha256 {"text": t, "repeat": n}: {"sha256": hex digest of t repeated n times}.
absl::StatusOr<google::protobuf::Struct> DemoSha256(JobContext& ctx,
                                                    const google::protobuf::Struct& input);
// demo.fail {"failures": k, "permanent": b}: fails attempts 1..k (permanently if b), then
// returns {"attempt": a}.
absl::StatusOr<google::protobuf::Struct> DemoFail(JobContext& ctx,
                                                  const google::protobuf::Struct& input);

}  // namespace longrun::worker

#endif  // LONGRUN_SERVICES_WORKER_HANDLERS_DEMO_H_
