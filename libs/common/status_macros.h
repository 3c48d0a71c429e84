// Early-return helpers for absl::Status / absl::StatusOr, named to mirror Abseil's newer
// ABSL_RETURN_IF_ERROR / ABSL_ASSIGN_OR_RETURN so an upgrade is a rename.
#ifndef LONGRUN_COMMON_STATUS_MACROS_H_
#define LONGRUN_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define LONGRUN_RETURN_IF_ERROR(expr)               \
  do {                                              \
    ::absl::Status longrun_status_ = (expr);        \
    if (!longrun_status_.ok()) return longrun_status_; \
  } while (0)

#define LONGRUN_CONCAT_INNER_(a, b) a##b
#define LONGRUN_CONCAT_(a, b) LONGRUN_CONCAT_INNER_(a, b)

#define LONGRUN_ASSIGN_OR_RETURN(lhs, expr) \
  LONGRUN_ASSIGN_OR_RETURN_IMPL_(LONGRUN_CONCAT_(longrun_statusor_, __LINE__), lhs, expr)

#define LONGRUN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

#endif  // LONGRUN_COMMON_STATUS_MACROS_H_
