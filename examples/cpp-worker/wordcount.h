// example.wordcount: {"text": t} -> {"words": w, "lines": l}. An optional
// "sleep_seconds": s (0..3600) pretends the work takes s seconds, reporting progress and
// honouring cancellation (tests use it to have a job running).
#ifndef LONGRUN_EXAMPLE_WORDCOUNT_H_
#define LONGRUN_EXAMPLE_WORDCOUNT_H_

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "longrun/job_context.h"

namespace example {

struct Counts {
  int64_t words = 0;  // maximal runs of non-whitespace (whitespace as Python's str.split())
  int64_t lines = 0;  // as len(text.splitlines()) in Python
};

// `text` is UTF-8.
Counts CountWords(std::string_view text);

// The handler: INVALID_ARGUMENT (not retried) when input.text is missing or not a string.
absl::StatusOr<google::protobuf::Struct> WordCount(longrun::JobContext& ctx);

}  // namespace example

#endif  // LONGRUN_EXAMPLE_WORDCOUNT_H_
