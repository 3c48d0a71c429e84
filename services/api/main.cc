// longrun-api: the stateless gRPC front end. Flags -> ApiConfig -> wiring -> run.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/random/random.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.pb.h"
#include "libs/common/flags.h"
#include "libs/common/logging.h"
#include "libs/common/port_file.h"
#include "libs/common/process.h"
#include "libs/common/signals.h"
#include "libs/concurrency/executor.h"
#include "libs/concurrency/loop_thread.h"
#include "libs/metrics/grpc_server_metrics.h"
#include "libs/metrics/metrics_server.h"
#include "libs/metrics/queue_sampler.h"
#include "libs/rpc/tls.h"
#include "libs/store/pg/listener.h"
#include "libs/store/pg/migrator.h"
#include "libs/store/pg/pg_callback_store.h"
#include "libs/store/pg/pg_event_log.h"
#include "libs/store/pg/pg_operation_store.h"
#include "libs/webhook/callback_url.h"
#include "libs/worker/rescue_loop.h"
#include "libs/auth/method_scopes.h"
#include "services/api/api_config.h"
#include "services/api/auth_interceptor.h"
#include "services/api/call_auth.h"
#include "services/api/event_stream.h"
#include "services/api/rate_limiter.h"
#include "services/api/google_operations_service.h"
#include "services/api/http/http_server.h"
#include "services/api/job_wake.h"
#include "services/api/lease_broker.h"
#include "services/api/remote_workers.h"
#include "services/api/workers_service.h"
#include "services/api/operations_logic.h"
#include "services/api/operations_service.h"
#include "services/api/submit_batcher.h"
#include "services/api/watch_hub.h"

namespace {

constexpr char kUsage[] =
    "Usage: longrun-api [flags]            serve the gRPC API\n"
    "       longrun-api migrate [flags]    apply database migrations and exit\n"
    "\n"
    "Serves longrun.v1.Operations, google.longrunning.Operations, longrun.v1.Workers (remote\n"
    "workers), gRPC health and server reflection. Database work runs on a pool of --db-pool-size threads and connections.";

int Fail(const absl::Status& status) {
  std::cerr << "longrun-api: " << status.message() << "\n";
  return 2;
}

int RunMigrate(const std::string& url) {
  auto result = longrun::store::pg::Migrate(url);
  if (!result.ok()) return Fail(result.status());
  std::cout << "schema at version " << result->current_version << " (" << result->applied
            << " migration(s) applied)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  longrun::ConfigureProcess();
  sigset_t signals = longrun::BlockTerminationSignals();
  using longrun::api::ApiConfig;
  ApiConfig config;
  int64_t max_input = config.limits.max_input_bytes;
  int64_t default_attempts = config.limits.default_max_attempts;
  longrun::FlagSet flags("longrun-api", kUsage);
  flags.String("listen", &config.listen, "HOST:PORT to serve gRPC on (port 0 picks one)");
  flags.String("port-file", &config.port_file,
               "once serving, write the bound port (one line) to this file; with port 0 in "
               "--listen, how a supervisor or test learns the port");
  flags.String("http-listen", &config.http_listen,
               "HOST:PORT to serve the HTTP/JSON API on (202 + Location polling, SSE watch; "
               "docs/API.md); empty: off. Port 0 picks one");
  flags.String("http-port-file", &config.http_port_file,
               "once serving HTTP, write its bound port to this file (like --port-file)");
  flags.Int("http-max-connections", &config.http_max_connections,
            "open HTTP connections (SSE streams included) before new ones are closed at once");
  flags.String("database-url", &config.database_url, "PostgreSQL connection URL",
               "LONGRUN_DATABASE_URL");
  flags.Int("db-pool-size", &config.db_pool_size,
            "threads (each with a database connection) for unary RPCs; the pool holds 10 more "
            "for Submit batches, the watch hub, worker wake-ups, the lease broker, remote "
            "completions and progress, the rescuer and the metrics queue sampler");
  flags.Int("max-pending", &config.max_pending,
            "RPCs waiting for a database thread before new ones get RESOURCE_EXHAUSTED");
  flags.Int("max-input-bytes", &max_input, "largest Submit input accepted (serialized bytes)");
  flags.Int("default-max-attempts", &default_attempts,
            "attempts for operations submitted without max_attempts");
  flags.Duration("shutdown-grace", &config.shutdown_grace,
                 "on SIGTERM/SIGINT, time allowed for in-flight RPCs before they are cancelled");
  flags.Duration("shutdown-delay", &config.shutdown_delay,
                 "on SIGTERM/SIGINT, health turns NOT_SERVING at once and the api keeps "
                 "serving this long before it drains, so load balancers and readiness probes "
                 "stop sending it calls first (Kubernetes: a few seconds)");
  flags.Bool("migrate", &config.migrate_on_start, "apply migrations before serving");
  longrun::metrics::AddMetricsFlags(flags, &config.metrics);
  longrun::rpc::AddServerTlsFlags(flags, &config.tls);
  flags.String("auth", &config.auth_mode,
               "none (every caller is tenant \"default\" with every scope) or token (callers "
               "send authorization: Bearer <JWT or API key>; docs/SECURITY.md)");
  flags.String("api-keys-file", &config.auth.api_keys_file,
               "API keys, one per line: <sha256 hex of the key> <tenant> <scope>[,<scope>...]; "
               "re-read when it changes");
  flags.String("jwt-hs256-secret-file", &config.auth.jwt_hs256_secret_file,
               "HS256 JWTs: the file's bytes are the key");
  flags.String("jwt-public-key-file", &config.auth.jwt_public_key_file,
               "RS256/ES256 JWTs: a PEM public key or a JWKS document");
  flags.String("jwt-issuer", &config.auth.jwt.issuer, "required `iss` of JWTs (default: any)");
  flags.String("jwt-audience", &config.auth.jwt.audience,
               "required `aud` of JWTs (default: any)");
  flags.Duration("jwt-clock-skew", &config.auth.jwt.clock_skew,
                 "tolerance when checking a JWT's exp and nbf");
  flags.String("tenant-claim", &config.auth.tenant_claim, "JWT claim holding the tenant");
  flags.Duration("auth-reload-interval", &config.auth.reload_interval,
                 "how often the key files are checked for changes (a revoked API key stops "
                 "working within this)");
  flags.String("reflection", &config.reflection,
               "with --auth=token: authenticated (server reflection needs a credential) or "
               "public");
  flags.String("rate-limit-submit", &config.rate_limit_submit,
               "Submit calls per second per tenant, RATE[,BURST], or 0 for none (default: none "
               "with --auth=none, 1000,2000 with --auth=token)");
  flags.String("rate-limit-read", &config.rate_limit_read,
               "Get/List/Wait/Watch calls per second per tenant, RATE[,BURST], or 0 (default: "
               "none with --auth=none, 5000,10000 with --auth=token)");
  longrun::webhook::AddWebhookFlags(flags, &config.webhooks);
  flags.Duration("event-poll-interval", &config.event_poll_interval,
                 "WatchOperations: how often caught-up streams look for new events when no "
                 "change notification arrives");
  flags.Int("max-concurrent-streams", &config.max_concurrent_streams,
            "HTTP/2 streams (calls) open at once per client connection");
  flags.Int("max-send-message-bytes", &config.max_send_message_bytes,
            "largest message the api sends (an operation with its response)");
  flags.Duration("min-client-ping-interval", &config.min_client_ping_interval,
                 "clients pinging more often than this (keepalive) are sent GOAWAY after two "
                 "warnings");
  flags.Duration("metrics-queue-interval", &config.metrics_queue_interval,
                 "with --metrics-listen: how often queue depths (longrun_queue_depth, "
                 "longrun_queue_oldest_age_seconds) are read from the database; one cheap "
                 "query per interval, never per scrape");
  flags.String("page-token-secret", &config.page_token_secret,
               "secret signing ListOperations page tokens and remote workers' lease tokens; set "
               "the same value on every replica (default: random per process)",
               "LONGRUN_PAGE_TOKEN_SECRET");
  flags.Duration("progress-interval", &config.progress_interval,
                 "remote workers' progress (sent with heartbeats) is written at most this often "
                 "per job; the latest value wins");
  flags.Duration("lease-poll-interval", &config.lease_poll_interval,
                 "waiting LeaseJobs calls look for work at least this often (retries and "
                 "scheduled jobs coming due get no notification)");
  flags.Duration("retry-base", &config.retry.base,
                 "first back-off ceiling after a remote worker's retryable failure (full jitter)");
  flags.Duration("retry-cap", &config.retry.cap, "largest back-off after a remote failure");
  flags.Duration("rescue-interval", &config.rescue_interval,
                 "how often this api re-queues jobs whose lease expired, as workers do, so "
                 "remote-only deployments have a rescuer (0: off)");
  flags.Duration("schedule-to-start", &config.schedule_to_start,
                 "with the rescuer: fail jobs no worker started this long after their scheduled "
                 "time (0: never; workers do it with their own flag, so set this only when "
                 "every worker is remote)");
  flags.Duration("max-wait", &config.max_wait,
                 "longest a WaitOperation blocks, whatever its timeout or deadline");
  flags.Int("max-watches-per-tenant", &config.max_watches_per_tenant,
            "WatchOperation streams one tenant may hold open on this api at once (0: no cap)");
  flags.Duration("max-watch-duration", &config.max_watch_duration,
                 "a WatchOperation stream ends with UNAVAILABLE after this long (clients watch "
                 "again)");
  flags.Duration("watch-refresh", &config.watch_refresh,
                 "how often watched operations are re-read even without notifications");
  flags.Duration("watch-outage-timeout", &config.watch_outage_timeout,
                 "end open watches with UNAVAILABLE after the database is unreachable this long "
                 "(0: keep them open)");
  auto args = flags.Parse(argc, argv);
  if (!args.ok()) return Fail(args.status());
  if (flags.help_requested()) return 0;
  config.limits.max_input_bytes = max_input;
  config.limits.default_max_attempts = static_cast<int32_t>(default_attempts);
  if (absl::Status s = config.Validate(); !s.ok()) return Fail(s);
  {
    auto mode = longrun::auth::ParseAuthMode(config.auth_mode);
    if (!mode.ok()) return Fail(mode.status());
    config.auth.mode = *mode;
    if (absl::Status s = config.auth.Validate(); !s.ok()) return Fail(s);
  }
  // Rate limits default on with --auth=token (tenants are real), off without (one tenant).
  const bool token_mode = config.auth.mode == longrun::auth::AuthMode::kToken;
  auto submit_rate = longrun::api::RateLimit::Parse(
      config.rate_limit_submit.empty() ? (token_mode ? "1000,2000" : "0")
                                       : config.rate_limit_submit,
      "rate-limit-submit");
  if (!submit_rate.ok()) return Fail(submit_rate.status());
  auto read_rate = longrun::api::RateLimit::Parse(
      config.rate_limit_read.empty() ? (token_mode ? "5000,10000" : "0") : config.rate_limit_read,
      "rate-limit-read");
  if (!read_rate.ok()) return Fail(read_rate.status());

  if (absl::Status s = config.webhooks.Validate(); !s.ok()) return Fail(s);
  auto callback_policy = config.webhooks.Policy();
  if (!callback_policy.ok()) return Fail(callback_policy.status());
  if (config.event_poll_interval < absl::Milliseconds(10)) {
    return Fail(absl::InvalidArgumentError("--event-poll-interval must be at least 10ms"));
  }

  if (!args->empty()) {
    if ((*args)[0] == "migrate" && args->size() == 1) return RunMigrate(config.database_url);
    return Fail(absl::InvalidArgumentError("unexpected argument \"" + (*args)[0] +
                                           "\"; see longrun-api --help"));
  }
  if (config.migrate_on_start) {
    if (int rc = RunMigrate(config.database_url); rc != 0) return rc;
  }
  // A reachable database with an old schema is a deployment mistake: say so and stop. An
  // unreachable one is an outage: serve UNAVAILABLE until it comes back.
  if (auto version = longrun::store::pg::SchemaVersion(config.database_url); version.ok()) {
    if (*version < longrun::store::pg::LatestSchemaVersion()) {
      return Fail(absl::FailedPreconditionError(
          "database schema is at version " + std::to_string(*version) + ", this binary needs " +
          std::to_string(longrun::store::pg::LatestSchemaVersion()) +
          ": run `longrun-api migrate --database-url=...` (or start with --migrate)"));
    }
  } else {
    LONGRUN_LOG(kWarning, "database_unreachable_at_start",
                {{"error", version.status().message()}});
  }


  // Executor threads, plus the Submit batch flushers, the watch hub, the job waker, the lease
  // broker, the two remote completion flushers, the remote progress loop, the rescuer and
  // the queue sampler, each hold at most one connection at a time.
  const longrun::api::SubmitBatcherConfig batcher_config;
  longrun::store::pg::PgOperationStore store({.url = config.database_url,
                                              .pool_size = static_cast<int>(config.db_pool_size) +
                                                           batcher_config.flushers + 8,
                                              .application_name = "longrun-api"});
  // Metrics: counted by the store as it changes rows, by the interceptor per call, by the
  // listener per notification; gauges are read at scrape.
  auto metrics = std::make_shared<longrun::metrics::Metrics>();
  const bool metrics_on = config.metrics.on();
  if (metrics_on) store.SetObserver(metrics.get());
  longrun::concurrency::Executor executor("db", static_cast<int>(config.db_pool_size),
                                          static_cast<size_t>(config.max_pending));
  if (config.page_token_secret.empty()) {
    absl::BitGen gen;
    for (int i = 0; i < 32; ++i) config.page_token_secret.push_back(static_cast<char>(absl::Uniform<uint8_t>(gen)));
    LONGRUN_LOG(kWarning, "page_token_secret_random",
                {{"hint", "set --page-token-secret (or LONGRUN_PAGE_TOKEN_SECRET) to the same value on "
                          "every replica so page tokens and remote workers' lease tokens work "
                          "across replicas and restarts"}});
  }
  longrun::api::JobWaker waker(store);
  longrun::api::OperationsLogic logic(store, config.limits, [] { return absl::Now(); },
                                      config.page_token_secret);
  // The push channel (docs/WEBHOOKS.md): callbacks are accepted only when a deliverer can
  // sign them (--webhook-secret-file), their URLs checked here and their addresses at
  // delivery; the event log serves WatchOperations.
  longrun::store::pg::PgCallbackStore callback_store(store);
  longrun::store::pg::PgEventLog event_log(store);
  if (config.webhooks.on()) {
    logic.EnableCallbacks(
        &callback_store,
        [allow_insecure = callback_policy->allow_insecure](const longrun::core::CallbackSpec& cb)
            -> absl::StatusOr<longrun::core::CallbackSpec> {
          // Syntax and scheme here; addresses are vetted (and pinned) at delivery, where a
          // refusal is recorded in the operation's callback state.
          auto url = longrun::webhook::ParseCallbackUrl(cb.url, allow_insecure);
          if (!url.ok()) return url.status();
          return longrun::core::CallbackSpec{.url = url->url, .events = cb.events};
        });
  }
  logic.EnableEvents(&event_log);
  longrun::api::EventPoller event_poller({.poll_interval = config.event_poll_interval});
  event_poller.Start();
  longrun::api::WatchHub hub(store, {.refresh_interval = config.watch_refresh,
                                     .outage_timeout = config.watch_outage_timeout});
  hub.Start();
  // Remote workers: long polls wait in the broker; their progress is flushed by a loop.
  longrun::api::LeaseBroker broker(store, {.poll_interval = config.lease_poll_interval});
  broker.Start();
  longrun::api::RemoteWorkers remote(store, {.token_secret = config.page_token_secret,
                                             .retry = config.retry});
  longrun::concurrency::LoopThread remote_progress(
      {.interval = config.progress_interval, .first_delay = config.progress_interval},
      [&remote] { return remote.FlushProgress().ok; });
  remote_progress.Start();
  longrun::worker::RescueLoop rescue({.interval = config.rescue_interval,
                                      .schedule_to_start = config.schedule_to_start,
                                      .worker_id = "longrun-api"},
                                     store);
  std::optional<longrun::concurrency::LoopThread> rescuer;
  if (config.rescue_interval > absl::ZeroDuration()) {
    rescuer.emplace(longrun::concurrency::LoopThreadConfig{.interval = config.rescue_interval,
                                                           .first_delay = config.rescue_interval},
                    [&rescue] { return rescue.RunOnce().ok; });
    rescuer->Start();
  }
  // The process's one LISTEN connection: change notifications feed the watch hub, job
  // wake-ups the lease broker.
  longrun::store::pg::PgListener listener({
      .url = config.database_url,
      .channels = {"longrun_operations", "longrun_jobs"},
      .application_name = "longrun-api-listener",
      .on_notify =
          [&hub, &broker, &event_poller](const std::string& channel,
                                         const std::string& payload) {
            if (channel == "longrun_jobs") {
              broker.Wake();
            } else {
              hub.OnNotify(payload);
              event_poller.OnNotify();
            }
          },
      .on_connected =
          [&hub, &broker] {
            hub.OnListenerConnected();
            broker.Wake();
          },
      .on_lag =
          [&metrics, metrics_on](const std::string& channel, absl::Duration lag) {
            if (metrics_on) metrics->NotificationArrived(channel, lag);
          },
  });
  listener.Start();
  longrun::api::SubmitBatcher batcher(store, batcher_config, [&waker] { waker.Poke(); });
  // Authentication (docs/SECURITY.md): the interceptor's decisions, for every handler.
  std::unique_ptr<longrun::auth::Authenticator> authenticator;
  longrun::api::CallAuthTable call_auth;
  const bool auth_on = config.auth.mode == longrun::auth::AuthMode::kToken;
  {
    auto created = longrun::auth::Authenticator::Create(config.auth, longrun::RealClock());
    if (!created.ok()) return Fail(created.status());
    authenticator = *std::move(created);
  }
  longrun::concurrency::LoopThread auth_reload(
      {.interval = authenticator->reload_interval(),
       .first_delay = authenticator->reload_interval()},
      [&authenticator] { return authenticator->ReloadOnce().ok; });
  if (auth_on) auth_reload.Start();
  longrun::api::TenantRateLimiter submit_limit(*submit_rate, longrun::RealClock());
  longrun::api::TenantRateLimiter read_limit(*read_rate, longrun::RealClock());
  longrun::api::WatchLimits watch_limits(config.max_watches_per_tenant);
  const longrun::api::ApiDeps deps{logic,
                                   executor,
                                   hub,
                                   batcher,
                                   config.max_wait,
                                   auth_on ? &call_auth : nullptr,
                                   // Per tenant: with --auth=token (one tenant without).
                                   auth_on && config.max_watches_per_tenant > 0 ? &watch_limits
                                                                                : nullptr,
                                   config.max_watch_duration,
                                   &event_poller};
  longrun::api::OperationsService v1(deps);
  longrun::api::GoogleOperationsService google_lro(deps);
  longrun::api::WorkersService workers(remote, broker, executor, deps.auth);

  grpc::EnableDefaultHealthCheckService(true);
  // Keep the health messages linked in, so reflection can describe grpc.health.v1.Health.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto credentials = longrun::rpc::MakeServerCredentials(config.tls);
  if (!credentials.ok()) return Fail(credentials.status());
  grpc::ServerBuilder builder;
  int selected_port = 0;
  builder.AddListeningPort(config.listen, *credentials, &selected_port);
  // HTTP/2 limits (docs/SECURITY.md): streams per connection, keepalive enforcement.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             static_cast<int>(config.max_concurrent_streams));
  builder.AddChannelArgument(
      GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
      static_cast<int>(absl::ToInt64Milliseconds(config.min_client_ping_interval)));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  // Header blocks (CVE-2023-33953, docs/SECURITY.md): room for an 8 KiB token, no more.
  builder.AddChannelArgument(GRPC_ARG_MAX_METADATA_SIZE, 16 * 1024);
  builder.SetMaxSendMessageSize(static_cast<int>(config.max_send_message_bytes));
  // Room above the input limit so an oversized input is refused by validation, naming the
  // field, rather than by the transport.
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::max<int64_t>(4 << 20, 2 * config.limits.max_input_bytes)));
  // Interceptors: auth first, so a refused call's status is rewritten before metrics sees
  // it; metrics still counts every call (each factory makes an interceptor for each call).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  if (auth_on) {
    creators.push_back(longrun::api::AuthInterceptor(
        {.authenticator = authenticator.get(),
         .rules = {.reflection_public = config.reflection == "public"},
         .table = &call_auth,
         .submit_limit = &submit_limit,
         .read_limit = &read_limit}));
  }
  if (metrics_on) {
    // Method labels only for methods the server has: a client cannot invent series.
    creators.push_back(longrun::metrics::ServerMetricsInterceptor(
        metrics, [](absl::string_view method) {
          return longrun::auth::RuleForMethod(method, {.reflection_public = true}).access !=
                 longrun::auth::MethodAccess::kDenied;
        }));
  }
  if (!creators.empty()) builder.experimental().SetInterceptorCreators(std::move(creators));
  builder.RegisterService(&v1);
  builder.RegisterService(&google_lro);
  builder.RegisterService(&workers);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || selected_port == 0) {
    return Fail(absl::UnavailableError("cannot listen on " + config.listen));
  }
  const std::string host = config.listen.substr(0, config.listen.rfind(':'));
  LONGRUN_LOG(kInfo, "serving", {{"address", host + ":" + std::to_string(selected_port)},
                                 {"tls", config.tls.enabled() ? config.tls.client_auth == "none"
                                                                    ? "on"
                                                                    : "mtls-" + config.tls.client_auth
                                                              : "off"}});
  if (!config.port_file.empty()) {
    if (absl::Status s = longrun::WritePortFile(config.port_file, selected_port); !s.ok()) return Fail(s);
  }
  longrun::metrics::AddDbPoolGauge(*metrics, [&store] {
    const longrun::store::pg::PgPoolStats s = store.PoolStats();
    return std::make_pair(s.in_use, s.idle);
  });
  metrics->AddScrapeGauge(
      "longrun_watch_streams",
      "Open WatchOperation streams and waiting WaitOperation calls on this api.", [&hub] {
        return longrun::metrics::Metrics::GaugeReading{{{}, static_cast<double>(hub.Subscribers())}};
      });
  longrun::metrics::QueueSampler queue_sampler({.interval = config.metrics_queue_interval}, store,
                                               *metrics);
  longrun::concurrency::LoopThread queue_sampling(
      {.interval = config.metrics_queue_interval, .first_delay = absl::ZeroDuration()},
      [&queue_sampler] { return queue_sampler.RunOnce().ok; });
  auto metrics_server =
      longrun::metrics::ServeMetrics(config.metrics, metrics);
  if (!metrics_server.ok()) return Fail(metrics_server.status());
  if (metrics_on) queue_sampling.Start();

  // HTTP/JSON (--http-listen): the same deps and the same auth decisions as gRPC.
  std::unique_ptr<longrun::api::http::HttpServer> http_server;
  if (!config.http_listen.empty()) {
    const longrun::api::AuthInterceptorConfig http_auth{
        .authenticator = authenticator.get(),
        .rules = {.reflection_public = config.reflection == "public"},
        .submit_limit = &submit_limit,
        .read_limit = &read_limit};
    auto started = longrun::api::http::HttpServer::Start(
        {.listen = config.http_listen,
         // Room above the input limit so an oversized input is refused by validation, naming
         // the field, rather than by the transport (as for gRPC).
         .max_body_bytes = static_cast<uint64_t>(2 * config.limits.max_input_bytes + (64 << 10)),
         .max_connections = static_cast<int>(config.http_max_connections)},
        deps, auth_on ? &http_auth : nullptr);
    if (!started.ok()) return Fail(started.status());
    http_server = *std::move(started);
    LONGRUN_LOG(kInfo, "serving_http",
                {{"address", config.http_listen.substr(0, config.http_listen.rfind(':')) + ":" +
                                 std::to_string(http_server->port())}});
    if (!config.http_port_file.empty()) {
      if (absl::Status s = longrun::WritePortFile(config.http_port_file, http_server->port());
          !s.ok()) {
        return Fail(s);
      }
    }
  }

  int sig = 0;
  sigwait(&signals, &sig);
  LONGRUN_LOG(kInfo, "shutting_down", {{"signal", sig},
                                       {"delay", config.shutdown_delay},
                                       {"grace", config.shutdown_grace}});
  server->GetHealthCheckService()->SetServingStatus(false);
  if (http_server != nullptr) http_server->SetServing(false);  // /readyz: 503
  if (config.shutdown_delay > absl::ZeroDuration()) {
    // Still serving: readiness probes and load balancers see NOT_SERVING and move away.
    absl::SleepFor(config.shutdown_delay);
  }
  queue_sampling.Stop();
  // Open watches and waits end with UNAVAILABLE so clients reconnect elsewhere; gRPC's
  // Shutdown would otherwise wait on them.
  hub.Shutdown();
  event_poller.Close();  // WatchOperations streams too
  broker.Shutdown();  // open long polls end with UNAVAILABLE
  // HTTP: stop accepting, let requests in progress finish (the hub already ended SSE
  // streams and :wait calls), then stop the I/O threads. The object lives to the end of
  // main, so replies the executor and batcher post while draining below are dropped safely.
  if (http_server != nullptr) http_server->Shutdown(config.shutdown_grace);
  server->Shutdown(std::chrono::system_clock::now() +
                   absl::ToChronoMicroseconds(config.shutdown_grace));
  batcher.Shutdown();
  executor.Shutdown();
  event_poller.Shutdown();
  remote.Shutdown();
  remote_progress.Stop();
  auth_reload.Stop();
  if (rescuer.has_value()) rescuer->Stop();
  remote.FlushProgress();
  waker.Stop();
  listener.Stop();
  LONGRUN_LOG(kInfo, "stopped", {});
  return 0;
}
