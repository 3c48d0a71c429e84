// ApiConfig: everything longrun-api needs, filled from flags in main.cc and validated here.
#ifndef LONGRUN_SERVICES_API_API_CONFIG_H_
#define LONGRUN_SERVICES_API_API_CONFIG_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "libs/core/policy.h"
#include "libs/core/submit.h"
#include "libs/auth/authenticator.h"
#include "libs/metrics/metrics_flags.h"
#include "libs/webhook/webhook_flags.h"
#include "libs/rpc/tls.h"

namespace longrun::api {

struct ApiConfig {
  std::string listen = "0.0.0.0:50051";
  // If set, the port actually bound (useful with port 0) is written here once serving.
  std::string port_file;
  std::string database_url;
  // HTTP/JSON front end (docs/API.md, "HTTP/JSON"): HOST:PORT ("": off), the port file as
  // for gRPC, and its connection cap.
  std::string http_listen;
  std::string http_port_file;
  int64_t http_max_connections = 10000;
  int64_t db_pool_size = 8;        // connections, and executor threads using them
  int64_t max_pending = 10000;     // queued RPCs before RESOURCE_EXHAUSTED
  absl::Duration shutdown_grace = absl::Seconds(10);
  // After SIGTERM: health says NOT_SERVING at once, the api keeps serving this long (so load
  // balancers and Kubernetes readiness see it and stop sending), then drains.
  absl::Duration shutdown_delay = absl::ZeroDuration();
  // Prometheus metrics: HOST:PORT to serve /metrics on ("": off), and how often queue
  // depths are read from the database.
  metrics::MetricsFlags metrics;
  absl::Duration metrics_queue_interval = absl::Seconds(10);
  // Transport: TLS, and the HTTP/2 limits that stand in for fixes newer gRPC releases made
  // (docs/SECURITY.md).
  rpc::ServerTlsConfig tls;
  int64_t max_concurrent_streams = 100;              // per connection
  int64_t max_send_message_bytes = 4 << 20;
  absl::Duration min_client_ping_interval = absl::Seconds(10);  // faster pings -> GOAWAY
  // Authentication and tenancy (docs/SECURITY.md).
  std::string auth_mode = "none";  // --auth: none | token
  auth::AuthenticatorConfig auth;
  std::string reflection = "authenticated";  // --reflection: authenticated | public
  // Per-tenant token buckets, "RATE[,BURST]" or "0" (none); "" is the default: none with
  // --auth=none (one tenant), these with --auth=token.
  std::string rate_limit_submit;
  std::string rate_limit_read;
  bool migrate_on_start = false;
  absl::Duration max_wait = absl::Seconds(60);          // WaitOperation cap
  int64_t max_watches_per_tenant = 1000;                // open WatchOperation streams (0: none)
  absl::Duration max_watch_duration = absl::Hours(1);   // a stream's longest lifetime
  absl::Duration watch_refresh = absl::Seconds(5);      // re-read of watched operations
  absl::Duration watch_outage_timeout = absl::Seconds(60);
  // Callbacks (docs/WEBHOOKS.md): the api checks URLs at Submit; workers deliver.
  webhook::WebhookFlags webhooks;
  // WatchOperations: how often caught-up streams look for new events without a notification.
  absl::Duration event_poll_interval = absl::Milliseconds(200);
  core::SubmitLimits limits;
  // Signs ListOperations page tokens and remote workers' lease tokens; every replica must
  // use the same one. Empty: a random per-process secret (tokens then only work on the
  // replica that issued them).
  std::string page_token_secret;
  // Remote workers (longrun.v1.Workers).
  absl::Duration progress_interval = absl::Milliseconds(250);  // remote progress writes
  absl::Duration lease_poll_interval = absl::Seconds(1);       // long polls claim this often
  core::RetryPolicy retry;  // back-off of remote workers' retryable failures
  // The api rescues expired leases too, so a deployment with only remote workers has a
  // rescuer. Zero: off (native workers rescue).
  absl::Duration rescue_interval = absl::Seconds(5);
  // Zero (the default): the api only rescues; workers fail unstarted jobs. Set it for a
  // deployment with only remote workers.
  absl::Duration schedule_to_start = absl::ZeroDuration();

  absl::Status Validate() const;
};

}  // namespace longrun::api

#endif  // LONGRUN_SERVICES_API_API_CONFIG_H_
