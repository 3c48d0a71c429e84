#include "libs/auth/principal.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/submit.h"

namespace longrun::auth {
namespace {

constexpr absl::string_view kLeasePrefix = "workers.lease";

std::string LeaseGrantName(const LeaseGrant& g) {
  if (g.queue == "*" && g.kind == "*") return std::string(kLeasePrefix);
  if (g.kind == "*") return absl::StrCat(kLeasePrefix, ":", g.queue);
  return absl::StrCat(kLeasePrefix, ":", g.queue, "/", g.kind);
}

bool Covers(absl::string_view granted, absl::string_view wanted) {
  return granted == "*" || granted == wanted;
}

absl::Status ParseLeaseLimit(absl::string_view limit, LeaseGrant* grant) {
  std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(limit, absl::MaxSplits('/', 1));
  const bool has_kind = absl::StrContains(limit, '/');
  auto check = [](absl::string_view what, absl::string_view name) -> absl::Status {
    if (name == "*" || core::IsValidKind(name)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("workers.lease: ", what, " must be `*` or match [a-z0-9][a-z0-9._-]{0,63}"));
  };
  if (absl::Status s = check("the queue", parts.first); !s.ok()) return s;
  grant->queue = std::string(parts.first);
  if (has_kind) {
    if (absl::Status s = check("the kind", parts.second); !s.ok()) return s;
    grant->kind = std::string(parts.second);
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kOperationsSubmit:
      return "operations.submit";
    case Scope::kOperationsRead:
      return "operations.read";
    case Scope::kOperationsCancel:
      return "operations.cancel";
    case Scope::kOperationsDelete:
      return "operations.delete";
    case Scope::kWorkersLease:
      return kLeasePrefix;
    case Scope::kAdmin:
      return "admin";
  }
  return "unknown";
}

ScopeSet ScopeSet::All() {
  ScopeSet all;
  for (Scope s : kAllScopes) all.Add(s);
  return all;
}

void ScopeSet::Add(Scope scope) {
  if (scope == Scope::kWorkersLease) {
    AddLease(LeaseGrant{});
    return;
  }
  bits_ |= uint32_t{1} << static_cast<int>(scope);
}

void ScopeSet::AddLease(LeaseGrant grant) {
  bits_ |= uint32_t{1} << static_cast<int>(Scope::kWorkersLease);
  if (std::find(leases_.begin(), leases_.end(), grant) == leases_.end()) {
    leases_.push_back(std::move(grant));
  }
}

std::string ScopeSet::ToString() const {
  std::vector<std::string> names;
  for (Scope s : kAllScopes) {
    if (!Contains(s)) continue;
    if (s == Scope::kWorkersLease) {
      for (const LeaseGrant& g : leases_) names.push_back(LeaseGrantName(g));
    } else {
      names.emplace_back(ScopeName(s));
    }
  }
  return absl::StrJoin(names, " ");
}

absl::Status AddScope(absl::string_view text, ScopeSet* scopes) {
  for (Scope s : kAllScopes) {
    if (text == ScopeName(s)) {
      scopes->Add(s);
      return absl::OkStatus();
    }
  }
  if (absl::ConsumePrefix(&text, kLeasePrefix) && absl::ConsumePrefix(&text, ":")) {
    LeaseGrant grant;
    if (absl::Status s = ParseLeaseLimit(text, &grant); !s.ok()) return s;
    scopes->AddLease(std::move(grant));
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "unknown scope; known: operations.submit, operations.read, operations.cancel, "
      "operations.delete, workers.lease[:QUEUE[/KIND]], admin");
}

ScopeSet ParseTokenScopes(absl::string_view space_separated) {
  ScopeSet scopes;
  for (absl::string_view item : absl::StrSplit(space_separated, ' ', absl::SkipEmpty())) {
    AddScope(item, &scopes).IgnoreError();  // unknown scopes grant nothing
  }
  return scopes;
}

absl::string_view CredentialKindName(CredentialKind kind) {
  switch (kind) {
    case CredentialKind::kNone:
      return "none";
    case CredentialKind::kJwt:
      return "jwt";
    case CredentialKind::kApiKey:
      return "api_key";
  }
  return "unknown";
}

bool Principal::Has(Scope scope) const {
  if (scopes.Contains(scope)) return true;
  return scope == Scope::kOperationsRead && scopes.Contains(Scope::kAdmin);
}

Principal AnonymousPrincipal() {
  return Principal{.tenant = std::string(core::kDefaultTenant),
                   .subject = "anonymous",
                   .credential = CredentialKind::kNone,
                   .scopes = ScopeSet::All()};
}

absl::Status CheckScope(const Principal& principal, Scope scope) {
  if (principal.Has(scope)) return absl::OkStatus();
  return absl::PermissionDeniedError(
      absl::StrCat("this call needs the scope ", ScopeName(scope), "; the credential grants: ",
                   principal.scopes.ToString().empty() ? "(none)" : principal.scopes.ToString()));
}

bool MayLease(const Principal& principal, absl::string_view queue, absl::string_view kind) {
  for (const LeaseGrant& g : principal.scopes.leases()) {
    const bool queue_ok = queue.empty() ? g.queue == "*" : Covers(g.queue, queue);
    if (queue_ok && Covers(g.kind, kind)) return true;
  }
  return false;
}

absl::Status CheckLease(const Principal& principal, const std::vector<std::string>& queues,
                        const std::vector<std::string>& kinds) {
  const std::vector<std::string> every_queue = {""};
  for (const std::string& queue : queues.empty() ? every_queue : queues) {
    for (const std::string& kind : kinds) {
      if (MayLease(principal, queue, kind)) continue;
      const std::string granted = principal.scopes.leases().empty()
                                      ? std::string("no workers.lease scope")
                                      : principal.scopes.ToString();
      return absl::PermissionDeniedError(
          absl::StrCat("the credential may not lease kind \"", kind, "\" from ",
                       queue.empty() ? std::string("every queue (list the queues in `queues`)")
                                     : absl::StrCat("queue \"", queue, "\""),
                       "; it grants: ", granted));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateTenant(absl::string_view tenant) {
  bool ok = !tenant.empty() && tenant.size() <= 128;
  for (char c : tenant) {
    ok = ok && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == ':' || c == '@' || c == '/' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError("a tenant must be 1-128 characters of [A-Za-z0-9._:@/-]");
}

}  // namespace longrun::auth
