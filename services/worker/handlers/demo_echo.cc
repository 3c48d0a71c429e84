#include "services/worker/handlers/demo.h"

namespace longrun::worker {

absl::StatusOr<google::protobuf::Struct> DemoEcho(JobContext&, const google::protobuf::Struct& input) {
  return input;
}

}  // namespace longrun::worker
