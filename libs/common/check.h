// LONGRUN_CHECK: invariants that "cannot happen" crash loudly instead of being recovered.
#ifndef LONGRUN_COMMON_CHECK_H_
#define LONGRUN_COMMON_CHECK_H_

#include <cstdio>
#include <cstdlib>

#define LONGRUN_CHECK(cond)                                                        \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

#endif  // LONGRUN_COMMON_CHECK_H_
