// longrun-example-worker: serves example.wordcount. Every flag (--database-url,
// --concurrency, ...) belongs to longrun::RunWorker; see --help.
#include <iostream>

#include "longrun/worker.h"
#include "wordcount.h"

int main(int argc, char** argv) {
  longrun::Registry registry;
  if (absl::Status s = registry.Register("example.wordcount", example::WordCount); !s.ok()) {
    std::cerr << s.message() << "\n";
    return 2;
  }
  return longrun::RunWorker(argc, argv, registry,
                            {.program = "longrun-example-worker",
                             .description = "Counts the words and lines of {\"text\": ...} "
                                            "(job kind example.wordcount)."});
}
