// Principal: who is calling, as a credential proves it: a tenant, a subject and scopes.
//
// Scopes (docs/SECURITY.md, "Tokens and API keys"):
//   operations.submit   Submit
//   operations.read     GetOperation, ListOperations, WaitOperation, WatchOperation
//   operations.cancel   CancelOperation
//   operations.delete   DeleteOperation
//   workers.lease       the remote-worker protocol (longrun.v1.Workers), optionally limited:
//                         workers.lease               any queue, any kind
//                         workers.lease:QUEUE         one queue, any kind
//                         workers.lease:QUEUE/KIND    one queue, one kind
//                       QUEUE and KIND are queue and kind names ([a-z0-9][a-z0-9._-]{0,63}) or
//                       `*` (any); a principal may hold several.
//   admin               cross-tenant access: implies operations.read, and reads (and, with
//                       workers.lease, leases) reach every tenant. It implies nothing else:
//                       submit, cancel and delete stay within the principal's own tenant and
//                       need their own scopes.
#ifndef LONGRUN_AUTH_PRINCIPAL_H_
#define LONGRUN_AUTH_PRINCIPAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace longrun::auth {

enum class Scope : uint8_t {
  kOperationsSubmit = 0,
  kOperationsRead = 1,
  kOperationsCancel = 2,
  kOperationsDelete = 3,
  kWorkersLease = 4,
  kAdmin = 5,
};
inline constexpr Scope kAllScopes[] = {Scope::kOperationsSubmit, Scope::kOperationsRead,
                                       Scope::kOperationsCancel, Scope::kOperationsDelete,
                                       Scope::kWorkersLease,     Scope::kAdmin};

// "operations.submit", ..., "workers.lease", "admin".
absl::string_view ScopeName(Scope scope);

// One `workers.lease[:QUEUE[/KIND]]` scope; "*" matches any queue or kind.
struct LeaseGrant {
  std::string queue = "*";
  std::string kind = "*";
  bool operator==(const LeaseGrant&) const = default;
};

// A set of scopes as a credential grants them.
class ScopeSet {
 public:
  // Every scope, workers.lease for any queue and kind (what --auth=none grants).
  static ScopeSet All();

  void Add(Scope scope);
  void AddLease(LeaseGrant grant);
  // Exactly as granted (admin's implication is Principal::Has's business).
  bool Contains(Scope scope) const { return (bits_ >> static_cast<int>(scope)) & 1; }
  const std::vector<LeaseGrant>& leases() const { return leases_; }
  // Space-separated, in a fixed order, as a JWT's `scope` claim would carry them.
  std::string ToString() const;

  bool operator==(const ScopeSet&) const = default;

 private:
  uint32_t bits_ = 0;
  std::vector<LeaseGrant> leases_;  // non-empty iff workers.lease is held
};

// Parses one scope. INVALID_ARGUMENT for an unknown scope or a malformed workers.lease limit.
absl::Status AddScope(absl::string_view text, ScopeSet* scopes);

// A JWT's `scope` claim: space-separated (OAuth 2). Unknown or malformed scopes are ignored
// (tokens often carry scopes meant for other services) and grant nothing.
ScopeSet ParseTokenScopes(absl::string_view space_separated);

enum class CredentialKind : uint8_t { kNone = 0, kJwt = 1, kApiKey = 2 };
absl::string_view CredentialKindName(CredentialKind kind);  // "none", "jwt", "api_key"

struct Principal {
  std::string tenant;
  // The JWT's `sub` (may be empty), "api_key:<first 12 hex digits of the key's SHA-256>" for
  // API keys, "anonymous" with --auth=none. For logs; never a secret.
  std::string subject;
  CredentialKind credential = CredentialKind::kNone;
  ScopeSet scopes;

  // True if the scope is granted; admin implies operations.read.
  bool Has(Scope scope) const;
  // True with `admin`: reads (and leases, with workers.lease) are not limited to `tenant`.
  bool CrossTenant() const { return scopes.Contains(Scope::kAdmin); }
};

// What every call gets with --auth=none: tenant "default", every scope.
Principal AnonymousPrincipal();

// OK if the principal holds `scope`; PERMISSION_DENIED naming the missing scope otherwise.
absl::Status CheckScope(const Principal& principal, Scope scope);

// True if `principal` may lease jobs of `kind` from `queue`: some workers.lease grant covers
// both. An empty `queue` means every queue (LeaseJobs with no queues) and needs a grant whose
// queue is `*`.
bool MayLease(const Principal& principal, absl::string_view queue, absl::string_view kind);
// MayLease for every pair of a LeaseJobs request (`queues` empty: every queue).
// PERMISSION_DENIED naming the first pair not covered.
absl::Status CheckLease(const Principal& principal, const std::vector<std::string>& queues,
                        const std::vector<std::string>& kinds);

// Tenants are 1-128 characters of [A-Za-z0-9._:@/-] (the worker id's alphabet).
// INVALID_ARGUMENT otherwise.
absl::Status ValidateTenant(absl::string_view tenant);

}  // namespace longrun::auth

#endif  // LONGRUN_AUTH_PRINCIPAL_H_
