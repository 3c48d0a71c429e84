#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoEcho(JobContext& ctx) { return ctx.input(); }

}  // namespace longrun::worker
