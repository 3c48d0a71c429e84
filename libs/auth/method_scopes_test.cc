#include "libs/auth/method_scopes.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/longrunning/operations.pb.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "longrun/v1/operations.pb.h"
#include "longrun/v1/workers.pb.h"

namespace longrun::auth {
namespace {

// The scope a method should need, from its name alone.
Scope ExpectedScope(absl::string_view service, absl::string_view method) {
  if (service == "longrun.v1.Workers") return Scope::kWorkersLease;
  // RedeliverCallback posts to the URL the submitter chose: a submitter's right.
  if (method == "Submit" || method == "RedeliverCallback") return Scope::kOperationsSubmit;
  if (absl::StartsWith(method, "Cancel")) return Scope::kOperationsCancel;
  if (absl::StartsWith(method, "Delete")) return Scope::kOperationsDelete;
  for (absl::string_view read : {"Get", "List", "Wait", "Watch"}) {
    if (absl::StartsWith(method, read)) return Scope::kOperationsRead;
  }
  ADD_FAILURE() << "no expected scope for " << service << "/" << method
                << ": add it to method_scopes.cc and to this test";
  return Scope::kAdmin;
}

// Every RPC of every service in the api's proto files has an entry, with the scope its name
// implies; health stays open. A new RPC (or a new service in these files) fails here until
// it is given one.
TEST(MethodScopesTest, EveryGeneratedMethodHasARule) {
  const google::protobuf::FileDescriptor* files[] = {
      longrun::v1::SubmitRequest::descriptor()->file(),
      longrun::v1::LeaseJobsRequest::descriptor()->file(),
      google::longrunning::Operation::descriptor()->file(),
      grpc::health::v1::HealthCheckRequest::descriptor()->file(),
  };
  int methods = 0;
  for (const google::protobuf::FileDescriptor* file : files) {
    for (int s = 0; s < file->service_count(); ++s) {
      const google::protobuf::ServiceDescriptor* service = file->service(s);
      for (int m = 0; m < service->method_count(); ++m) {
        const std::string name = service->method(m)->name();
        const std::string full = absl::StrCat("/", service->full_name(), "/", name);
        const MethodRule rule = RuleForMethod(full);
        ++methods;
        if (service->full_name() == "grpc.health.v1.Health") {
          EXPECT_EQ(rule.access, MethodAccess::kOpen) << full;
          continue;
        }
        ASSERT_EQ(rule.access, MethodAccess::kScope) << full << " has no entry in method_scopes.cc";
        EXPECT_EQ(rule.scope, ExpectedScope(service->full_name(), name)) << full;
        // The leading slash is optional.
        EXPECT_EQ(RuleForMethod(full.substr(1)).scope, rule.scope);
      }
    }
  }
  // 7 + 5 + 5 + 2 today; more is fine, fewer means a file or service went missing.
  EXPECT_GE(methods, 19);
}

TEST(MethodScopesTest, Reflection) {
  for (absl::string_view method : {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                   "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"}) {
    EXPECT_EQ(RuleForMethod(method).access, MethodAccess::kAuthenticated) << method;
    EXPECT_EQ(RuleForMethod(method, {.reflection_public = true}).access, MethodAccess::kOpen);
  }
}

TEST(MethodScopesTest, UnknownMethodsAreDenied) {
  for (absl::string_view method :
       {"/longrun.v1.Operations/Frobnicate", "/longrun.v1.Operations/SubmitX",
        "/longrun.v1.Operations/submit", "/longrun.v1.Operations", "/grpc.health.v1.Health/",
        "/grpc.health.v1.HealthX/Check", "/grpc.health.v1.Health", "", "/",
        "/grpc.reflection.v1alpha.ServerReflection/", "//longrun.v1.Operations/Submit",
        "/other.Service/GetOperation"}) {
    EXPECT_EQ(RuleForMethod(method).access, MethodAccess::kDenied) << method;
    EXPECT_EQ(RuleForMethod(method, {.reflection_public = true}).access, MethodAccess::kDenied);
  }
}

TEST(MethodScopesTest, CheckAccess) {
  const Principal reader{.tenant = "t", .scopes = ParseTokenScopes("operations.read")};
  EXPECT_TRUE(
      CheckAccess(RuleForMethod("/google.longrunning.Operations/ListOperations"), reader).ok());
  EXPECT_EQ(CheckAccess(RuleForMethod("/longrun.v1.Operations/Submit"), reader).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckAccess(RuleForMethod("/longrun.v1.Workers/LeaseJobs"), reader).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(CheckAccess(RuleForMethod("/grpc.reflection.v1alpha.ServerReflection/"
                                        "ServerReflectionInfo"),
                          Principal{.tenant = "t"})
                  .ok());
  EXPECT_EQ(CheckAccess(RuleForMethod("/x.Y/Z"), AnonymousPrincipal()).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace longrun::auth
