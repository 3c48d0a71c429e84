// TLS for longrun's gRPC server and clients.
//
// Server: --tls-cert-file and --tls-key-file turn TLS on; --tls-client-ca-file with
// --tls-client-auth=request|require verifies client certificates (mTLS). The files are
// watched and re-read when they change (gRPC's FileWatcherCertificateProvider, every
// --tls-reload-interval), so cert-manager or a Kubernetes Secret mount can rotate them
// without a restart; connections already open keep the certificate they started with.
//
// Clients (longrunctl, longrun-bench): --tls-ca-file turns TLS on and verifies the server
// against that bundle; --tls-cert-file/--tls-key-file present a client certificate;
// --tls-server-name overrides the name checked in the server's certificate; --token (env
// LONGRUN_TOKEN) sends a credential with every call (docs/SECURITY.md).
#ifndef LONGRUN_RPC_TLS_H_
#define LONGRUN_RPC_TLS_H_

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/common/flags.h"

namespace longrun::rpc {

struct ServerTlsConfig {
  std::string cert_file;       // PEM certificate chain ("" with key_file "": plaintext)
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM bundle verifying client certificates
  std::string client_auth = "none";  // none | request | require
  absl::Duration reload_interval = absl::Seconds(10);

  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
  // Both or neither of cert/key; client_auth known; a CA for request/require; files readable.
  absl::Status Validate() const;
};

void AddServerTlsFlags(FlagSet& flags, ServerTlsConfig* config);

// Insecure credentials when TLS is off; else TLS with certificates re-read on change.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsConfig& config);

// How a client reaches longrun-api: TLS (when ca_file is set) and a credential.
struct ClientConfig {
  std::string ca_file;      // PEM bundle verifying the server ("": plaintext)
  std::string cert_file;    // client certificate (mTLS)
  std::string key_file;     // its key
  std::string server_name;  // name expected in the server's certificate (default: the host)
  // Sent as "authorization: Bearer <token>" on every call ("": none): a JWT or an API key.
  std::string token;

  bool enabled() const { return !ca_file.empty(); }
  absl::Status Validate() const;
};

// --tls-ca-file, --tls-cert-file, --tls-key-file, --tls-server-name and --token.
void AddClientFlags(FlagSet& flags, ClientConfig* config);

// A channel to `target` with TLS per `config` (plaintext when off), `args` added, and the
// token (if any) on every call.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeChannel(const std::string& target,
                                                           const ClientConfig& config,
                                                           grpc::ChannelArguments args = {});

}  // namespace longrun::rpc

#endif  // LONGRUN_RPC_TLS_H_
