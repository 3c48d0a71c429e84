#include "libs/auth/principal.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace longrun::auth {
namespace {

using ::testing::HasSubstr;

ScopeSet Parse(std::initializer_list<absl::string_view> items) {
  ScopeSet scopes;
  for (absl::string_view item : items) {
    absl::Status s = AddScope(item, &scopes);
    EXPECT_TRUE(s.ok()) << item << ": " << s;
  }
  return scopes;
}

Principal With(std::initializer_list<absl::string_view> items) {
  return Principal{.tenant = "t", .scopes = Parse(items)};
}

TEST(ScopeTest, EveryNameParsesToItself) {
  for (Scope scope : kAllScopes) {
    ScopeSet scopes = Parse({ScopeName(scope)});
    EXPECT_TRUE(scopes.Contains(scope)) << ScopeName(scope);
    EXPECT_EQ(scopes.ToString(), ScopeName(scope));
  }
}

TEST(ScopeTest, LeaseLimits) {
  EXPECT_EQ(Parse({"workers.lease"}).leases(), (std::vector<LeaseGrant>{{"*", "*"}}));
  EXPECT_EQ(Parse({"workers.lease:*"}).leases(), (std::vector<LeaseGrant>{{"*", "*"}}));
  EXPECT_EQ(Parse({"workers.lease:q1"}).leases(), (std::vector<LeaseGrant>{{"q1", "*"}}));
  EXPECT_EQ(Parse({"workers.lease:q1/demo.sleep"}).leases(),
            (std::vector<LeaseGrant>{{"q1", "demo.sleep"}}));
  EXPECT_EQ(Parse({"workers.lease:*/demo.sleep"}).leases(),
            (std::vector<LeaseGrant>{{"*", "demo.sleep"}}));
  // Several grants, duplicates folded.
  const ScopeSet two = Parse({"workers.lease:a", "workers.lease:b/k", "workers.lease:a"});
  EXPECT_EQ(two.leases(), (std::vector<LeaseGrant>{{"a", "*"}, {"b", "k"}}));
  EXPECT_TRUE(two.Contains(Scope::kWorkersLease));
  EXPECT_EQ(two.ToString(), "workers.lease:a workers.lease:b/k");
}

TEST(ScopeTest, MalformedOrUnknownScopes) {
  for (absl::string_view bad :
       {"", "operations", "operations.*", "Operations.read", "admin ",
        "workers.lease:", "workers.lease:/k", "workers.lease:q/", "workers.lease:Q",
        "workers.lease:q/k/x", "workers.lease:q*", "workers.leasex", "workers.lease:-q"}) {
    ScopeSet scopes;
    absl::Status s = AddScope(bad, &scopes);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << "\"" << bad << "\"";
    EXPECT_EQ(scopes, ScopeSet()) << bad;
  }
}

TEST(ScopeTest, TokenScopesIgnoreWhatTheyDoNotKnow) {
  const ScopeSet scopes =
      ParseTokenScopes("openid  operations.read profile workers.lease:Q workers.lease:q admin");
  EXPECT_EQ(scopes.ToString(), "operations.read workers.lease:q admin");
  EXPECT_EQ(ParseTokenScopes(""), ScopeSet());
}

TEST(PrincipalTest, AdminImpliesReadOnly) {
  const Principal admin = With({"admin"});
  EXPECT_TRUE(admin.Has(Scope::kAdmin));
  EXPECT_TRUE(admin.Has(Scope::kOperationsRead));
  EXPECT_TRUE(admin.CrossTenant());
  for (Scope s : {Scope::kOperationsSubmit, Scope::kOperationsCancel, Scope::kOperationsDelete,
                  Scope::kWorkersLease}) {
    EXPECT_FALSE(admin.Has(s)) << ScopeName(s);
  }
  EXPECT_FALSE(MayLease(admin, "q", "k"));
  EXPECT_FALSE(With({"operations.read"}).CrossTenant());
}

TEST(PrincipalTest, AnonymousHasEverything) {
  const Principal anon = AnonymousPrincipal();
  EXPECT_EQ(anon.tenant, "default");
  EXPECT_EQ(anon.credential, CredentialKind::kNone);
  for (Scope s : kAllScopes) EXPECT_TRUE(anon.Has(s)) << ScopeName(s);
  EXPECT_TRUE(MayLease(anon, "", "any.kind"));
}

TEST(PrincipalTest, CheckScope) {
  EXPECT_TRUE(CheckScope(With({"operations.submit"}), Scope::kOperationsSubmit).ok());
  absl::Status denied = CheckScope(With({"operations.read"}), Scope::kOperationsDelete);
  EXPECT_EQ(denied.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(denied.message()),
              HasSubstr("needs the scope operations.delete; the credential grants: "
                        "operations.read"));
  EXPECT_THAT(std::string(CheckScope(Principal{}, Scope::kAdmin).message()), HasSubstr("(none)"));
}

TEST(PrincipalTest, MayLease) {
  const Principal p = With({"workers.lease:q1/k1", "workers.lease:q2", "workers.lease:*/k9"});
  EXPECT_TRUE(MayLease(p, "q1", "k1"));
  EXPECT_FALSE(MayLease(p, "q1", "k2"));
  EXPECT_TRUE(MayLease(p, "q2", "anything"));
  EXPECT_TRUE(MayLease(p, "q7", "k9"));
  EXPECT_FALSE(MayLease(p, "q7", "k1"));
  // Every queue needs a `*` queue.
  EXPECT_TRUE(MayLease(p, "", "k9"));
  EXPECT_FALSE(MayLease(p, "", "k1"));
  EXPECT_TRUE(MayLease(With({"workers.lease"}), "", "k"));
  EXPECT_FALSE(MayLease(With({"operations.read"}), "q", "k"));
}

TEST(PrincipalTest, CheckLeaseNamesThePairNotCovered) {
  const Principal p = With({"workers.lease:q1/k1", "workers.lease:q2"});
  EXPECT_TRUE(CheckLease(p, {"q1", "q2"}, {"k1"}).ok());
  absl::Status s = CheckLease(p, {"q1", "q2"}, {"k1", "k2"});
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("may not lease kind \"k2\" from queue \"q1\"; it grants: "
                        "workers.lease:q1/k1 workers.lease:q2"));
  EXPECT_THAT(std::string(CheckLease(p, {}, {"k1"}).message()),
              HasSubstr("from every queue (list the queues"));
  EXPECT_THAT(std::string(CheckLease(With({"admin"}), {"q"}, {"k"}).message()),
              HasSubstr("no workers.lease scope"));
}

TEST(PrincipalTest, ValidateTenant) {
  for (absl::string_view ok : {"default", "team-a", "acme.example/eu", "org:42", "a@b", "A_1"}) {
    EXPECT_TRUE(ValidateTenant(ok).ok()) << ok;
  }
  for (absl::string_view bad : {"", "a b", "a#b", "é", "a\tb", "a,b"}) {
    EXPECT_EQ(ValidateTenant(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ValidateTenant(std::string(128, 'a')).ok());
  EXPECT_FALSE(ValidateTenant(std::string(129, 'a')).ok());
}

}  // namespace
}  // namespace longrun::auth
