#include "libs/rpc/tls.h"

#include <fstream>
#include <sstream>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/support/client_interceptor.h>

#include "absl/strings/str_cat.h"

namespace longrun::rpc {
namespace {

// The whole file, or an error naming the flag it came from.
absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("--", flag, ": cannot read ", path));
  std::ostringstream out;
  out << in.rdbuf();
  std::string pem = out.str();
  if (pem.find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", path, " holds no PEM block"));
  }
  return pem;
}

}  // namespace

absl::Status ServerTlsConfig::Validate() const {
  if (client_auth != "none" && client_auth != "request" && client_auth != "require") {
    return absl::InvalidArgumentError(absl::StrCat("--tls-client-auth \"", client_auth,
                                                   "\" must be none, request or require"));
  }
  if (!enabled()) {
    if (!client_ca_file.empty() || client_auth != "none") {
      return absl::InvalidArgumentError(
          "--tls-client-ca-file and --tls-client-auth need --tls-cert-file and --tls-key-file");
    }
    return absl::OkStatus();
  }
  if (cert_file.empty() || key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert-file and --tls-key-file go together");
  }
  if (client_auth != "none" && client_ca_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--tls-client-auth=", client_auth, " needs --tls-client-ca-file to verify clients"));
  }
  if (reload_interval < absl::Seconds(1)) {
    return absl::InvalidArgumentError("--tls-reload-interval must be at least 1s");
  }
  if (auto s = ReadPem(cert_file, "tls-cert-file"); !s.ok()) return s.status();
  if (auto s = ReadPem(key_file, "tls-key-file"); !s.ok()) return s.status();
  if (!client_ca_file.empty()) {
    if (auto s = ReadPem(client_ca_file, "tls-client-ca-file"); !s.ok()) return s.status();
  }
  return absl::OkStatus();
}

void AddServerTlsFlags(FlagSet& flags, ServerTlsConfig* config) {
  flags.String("tls-cert-file", &config->cert_file,
               "PEM certificate chain; with --tls-key-file, serve gRPC over TLS (default: "
               "plaintext). Re-read when it changes");
  flags.String("tls-key-file", &config->key_file, "PEM private key of --tls-cert-file");
  flags.String("tls-client-ca-file", &config->client_ca_file,
               "PEM bundle that client certificates must chain to (mTLS)");
  flags.String("tls-client-auth", &config->client_auth,
               "client certificates: none, request (verified if sent) or require");
  flags.Duration("tls-reload-interval", &config->reload_interval,
                 "how often the TLS files are checked for changes");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsConfig& config) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (!config.enabled()) return grpc::InsecureServerCredentials();
  const auto seconds =
      static_cast<unsigned int>(absl::ToInt64Seconds(config.reload_interval));
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      config.key_file, config.cert_file, config.client_ca_file, seconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!config.client_ca_file.empty()) options.watch_root_certs();
  if (config.client_auth == "require") {
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else if (config.client_auth == "request") {
    options.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

absl::Status ClientConfig::Validate() const {
  if (!enabled()) {
    if (!cert_file.empty() || !key_file.empty() || !server_name.empty()) {
      return absl::InvalidArgumentError(
          "--tls-cert-file, --tls-key-file and --tls-server-name need --tls-ca-file");
    }
    return absl::OkStatus();
  }
  if (cert_file.empty() != key_file.empty()) {
    return absl::InvalidArgumentError("--tls-cert-file and --tls-key-file go together");
  }
  return absl::OkStatus();
}

void AddClientFlags(FlagSet& flags, ClientConfig* config) {
  flags.String("tls-ca-file", &config->ca_file,
               "PEM bundle to verify the server with; turns TLS on (default: plaintext)",
               "LONGRUN_TLS_CA_FILE");
  flags.String("tls-cert-file", &config->cert_file, "PEM client certificate (mTLS)",
               "LONGRUN_TLS_CERT_FILE");
  flags.String("tls-key-file", &config->key_file, "PEM key of --tls-cert-file",
               "LONGRUN_TLS_KEY_FILE");
  flags.String("tls-server-name", &config->server_name,
               "name to expect in the server's certificate (default: the --server host)");
  flags.String("token", &config->token,
               "credential sent as authorization: Bearer <token> (a JWT or an API key)",
               "LONGRUN_TOKEN");
}

namespace {

// Adds "authorization: Bearer <token>" to every call. (Call credentials would do it only on
// TLS channels; a token over plaintext is the caller's choice, e.g. behind a mesh.)
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(const std::string& header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", header_);
    }
    methods->Proceed();
  }

 private:
  const std::string& header_;
};

class TokenInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(std::string token) : header_("Bearer " + std::move(token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

std::shared_ptr<grpc::Channel> Create(const std::string& target,
                                      const std::shared_ptr<grpc::ChannelCredentials>& creds,
                                      const grpc::ChannelArguments& args,
                                      const std::string& token) {
  if (token.empty()) return grpc::CreateCustomChannel(target, creds, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> creators;
  creators.push_back(std::make_unique<TokenInterceptorFactory>(token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, creds, args,
                                                                 std::move(creators));
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const ClientConfig& config,
                                                           grpc::ChannelArguments args) {
  if (absl::Status s = config.Validate(); !s.ok()) return s;
  if (!config.enabled()) {
    return Create(target, grpc::InsecureChannelCredentials(), args, config.token);
  }
  grpc::SslCredentialsOptions ssl;
  auto ca = ReadPem(config.ca_file, "tls-ca-file");
  if (!ca.ok()) return ca.status();
  ssl.pem_root_certs = *std::move(ca);
  if (!config.cert_file.empty()) {
    auto cert = ReadPem(config.cert_file, "tls-cert-file");
    if (!cert.ok()) return cert.status();
    auto key = ReadPem(config.key_file, "tls-key-file");
    if (!key.ok()) return key.status();
    ssl.pem_cert_chain = *std::move(cert);
    ssl.pem_private_key = *std::move(key);
  }
  if (!config.server_name.empty()) args.SetSslTargetNameOverride(config.server_name);
  return Create(target, grpc::SslCredentials(ssl), args, config.token);
}

}  // namespace longrun::rpc
