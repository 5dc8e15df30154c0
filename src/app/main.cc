// provledger_exporter: flags, signals, wiring. See README for the contract.
#include <signal.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "app/cli.hh"
#include "app/exporter.hh"
#include "app/logging.hh"
#include "app/sd_notify.hh"
#include "build_info.hh"
#include "config/load.hh"
#include "evidence/keys.hh"
#include "evidence_api/manager.hh"
#include "evidence_api/routes.hh"
#include "evidence_api/tokens.hh"
#include "http/server.hh"
#include "http/web_config.hh"
#include "livecheck/livecheck.hh"
#include "render/publisher.hh"

namespace {

using namespace provledger;

void ApplyFlagOverrides(const app::CliOptions& o, config::Config& cfg) {
  if (o.listen_address) cfg.web.listen_address = *o.listen_address;
  if (o.telemetry_path) cfg.web.telemetry_path = *o.telemetry_path;
}

// What this binary's HTTP server can do, so the config check refuses exactly
// what the start refuses.
config::LoadOptions LoadOptions() { return {.ipv6_listen = http::Ipv6ListenAvailable()}; }

void LogProblems(const config::ConfigError& e) {
  for (const auto& p : e.problems()) spdlog::error("config: {}", p);
}

// A secret's path: the *_file value, or the credential's file in
// $CREDENTIALS_DIRECTORY (systemd LoadCredential=/SetCredentialEncrypted=).
std::string SecretPath(const std::string& file, const std::string& credential, const char* key) {
  if (!file.empty()) return file;
  const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
  if (dir == nullptr || *dir == '\0') {
    throw std::runtime_error(std::string("evidence.api.") + key + " \"" + credential +
                             "\": $CREDENTIALS_DIRECTORY is not set (systemd sets it for LoadCredential=)");
  }
  return std::string(dir) + "/" + credential;
}

// The evidence API's parts, built at start when evidence.api.enabled.
struct EvidenceApi {
  std::string tokens_path;   // re-read on SIGHUP
  std::unique_ptr<evidence_api::TokenStore> tokens;
  std::unique_ptr<evidence_api::JobManager> manager;
};

std::unique_ptr<EvidenceApi> StartEvidenceApi(const config::Config& cfg) {
  const auto& api = cfg.evidence.api;
  auto e = std::make_unique<EvidenceApi>();
  e->tokens_path = SecretPath(api.tokens_file, api.tokens_credential, "tokens_credential");
  e->tokens = std::make_unique<evidence_api::TokenStore>(evidence_api::TokenSet::Load(e->tokens_path));
  evidence::SigningKey key = evidence::SigningKey::FromFile(
      SecretPath(api.signing_key_file, api.signing_key_credential, "signing_key_credential"));
  spdlog::info("evidence api: enabled path={} tokens={} key_id={} job_dir={}", evidence_api::kApiPath,
               e->tokens->Get()->size(), key.key_id(), api.job_dir);
  e->manager = std::make_unique<evidence_api::JobManager>(cfg, std::move(key));
  e->manager->Start();
  return e;
}

int Run(const app::CliOptions& opts) {
  config::Config cfg;
  try {
    cfg = config::LoadConfig(opts.config_file, LoadOptions());
  } catch (const config::ConfigError& e) {
    LogProblems(e);
    spdlog::error("invalid configuration, not starting file={}", opts.config_file);
    return 1;
  }
  ApplyFlagOverrides(opts, cfg);

  // Signals are taken synchronously by this thread only (sigwait); every
  // thread started below inherits the blocked mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  render::Publisher publisher;
  // The evidence API (off by default): tokens, signing key and job directory
  // are read now; any problem stops the start.
  std::unique_ptr<EvidenceApi> evidence;
  if (cfg.evidence.api.enabled) {
    try {
      evidence = StartEvidenceApi(cfg);
    } catch (const config::ConfigError& e) {
      for (const auto& p : e.problems()) spdlog::error("evidence api: {}", p);
      spdlog::error("invalid evidence API setup, not starting");
      return 1;
    } catch (const std::exception& e) {
      spdlog::error("evidence api: {}", e.what());
      spdlog::error("invalid evidence API setup, not starting");
      return 1;
    }
  }
  // The state file is restored and published before the listener exists: no
  // scrape can see a counter lower than before the restart (issue 9 item 13).
  app::Exporter exporter(cfg, publisher);
  if (evidence) {
    evidence_api::JobManager* m = evidence->manager.get();
    exporter.SetSnapshotHook([m](compute::Snapshot& s) { s.evidence_jobs = m->Stats(); });
    m->SetOnChange([&exporter] { exporter.RequestPublish(); });
  }
  exporter.Restore();
  std::unique_ptr<http::HttpServer> server;
  try {
    http::HttpOptions web;
    web.listen_address = cfg.web.listen_address;
    web.telemetry_path = cfg.web.telemetry_path;
    web.landing_links = {cfg.web.prometheus_url, cfg.web.grafana_url};
    web.max_requests = cfg.web.max_requests;
    web.web_config_file = opts.web_config_file;
    if (evidence) web.routes.push_back(evidence_api::MakeRoute(*evidence->manager, *evidence->tokens));
    server = std::make_unique<http::HttpServer>(std::move(web), publisher);
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) spdlog::error("web config: {}", p);
    spdlog::error("invalid web config, not starting file={}", opts.web_config_file);
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("cannot start HTTP server: {}", e.what());
    return 1;
  }
  spdlog::info("listening address={} port={} tls={} telemetry_path={} version={} revision={}", cfg.web.listen_address,
               server->port(), server->tls(), cfg.web.telemetry_path, PROVLEDGER_VERSION, PROVLEDGER_REVISION);

  const std::string listen = cfg.web.listen_address;
  const std::string path = cfg.web.telemetry_path;
  const std::int64_t max_requests = cfg.web.max_requests;
  const std::string prometheus_url = cfg.web.prometheus_url;
  const std::string grafana_url = cfg.web.grafana_url;
  const std::string config_file = opts.config_file;
  exporter.Start();

  std::string notify_error;
  if (!app::SdNotify("READY=1\nSTATUS=polling", &notify_error) && !notify_error.empty()) {
    spdlog::warn("sd_notify failed: {}", notify_error);
  }

  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGHUP) {
      app::SdNotify("RELOADING=1");
      if (!opts.web_config_file.empty()) {
        try {
          server->ReloadWebConfig();
          spdlog::info("web config reloaded file={} tls={}", opts.web_config_file, server->tls());
        } catch (const config::ConfigError& e) {
          for (const auto& p : e.problems()) spdlog::error("web config: {}", p);
          spdlog::error("new web config is invalid; the previous one stays in force");
        } catch (const std::exception& e) {
          spdlog::error("web config: {}: {}; the previous one stays in force", opts.web_config_file, e.what());
        }
      }
      if (evidence) {
        // The same tokens file (or credential) as at start; an invalid one
        // keeps the tokens in force.
        try {
          evidence_api::TokenSet next = evidence_api::TokenSet::Load(evidence->tokens_path);
          const std::size_t n = next.size();
          evidence->tokens->Replace(std::move(next));
          spdlog::info("evidence api: tokens reloaded file={} tokens={}", evidence->tokens_path, n);
        } catch (const config::ConfigError& e) {
          LogProblems(e);
          spdlog::error("evidence api: the new tokens file is invalid; the previous tokens stay in force");
        } catch (const std::exception& e) {
          spdlog::error("evidence api: {}; the previous tokens stay in force", e.what());
        }
      }
      spdlog::info("SIGHUP: reloading configuration file={}", config_file);
      try {
        config::Config next = config::LoadConfig(config_file, LoadOptions());
        ApplyFlagOverrides(opts, next);
        if (next.web.listen_address != listen || next.web.telemetry_path != path ||
            next.web.max_requests != max_requests || next.web.prometheus_url != prometheus_url ||
            next.web.grafana_url != grafana_url) {
          spdlog::warn("web.* changes need a restart; keeping listen_address={} telemetry_path={} max_requests={}",
                       listen, path, max_requests);
          next.web.listen_address = listen;
          next.web.telemetry_path = path;
          next.web.max_requests = max_requests;
          next.web.prometheus_url = prometheus_url;
          next.web.grafana_url = grafana_url;
        }
        if (evidence) {
          if (next.evidence.api.enabled != cfg.evidence.api.enabled || next.evidence.api.job_dir != cfg.evidence.api.job_dir) {
            spdlog::warn("evidence.api changes need a restart; the API keeps its start settings");
          }
          evidence->manager->UpdateSources(next);
        } else if (next.evidence.api.enabled) {
          spdlog::warn("evidence.api.enabled needs a restart; the API stays off");
        }
        exporter.Reload(std::move(next));
        spdlog::info("configuration reloaded");
      } catch (const config::ConfigError& e) {
        LogProblems(e);
        spdlog::error("new configuration is invalid; the previous one keeps running");
      } catch (const std::exception& e) {
        spdlog::error("reload failed: {}", e.what());
      }
      app::SdNotify("READY=1");
      continue;
    }
    spdlog::info("signal {}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    app::SdNotify("STOPPING=1");
    break;
  }
  exporter.Stop();
  server.reset();
  if (evidence) evidence->manager->Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc's malloc arenas are left at their default (up to 8 x cores). Capping
  // them (mallopt(M_ARENA_MAX, 2)) saved a few MiB but made the pollers'
  // reads slower and so the receipts queries' server time ~1.6x longer
  // (bench/RESULTS.md, "DB time per cycle"); freed memory of big polls is
  // returned by malloc_trim in the exporter instead. Operators can still set
  // MALLOC_ARENA_MAX in the environment.
  const std::vector<std::string> args(argv + 1, argv + argc);
  const auto cli = app::ParseCli(args);
  if (cli.options.help) {
    std::cout << app::CliUsage();
    return 0;
  }
  if (cli.options.version) {
    std::cout << "provledger_exporter version " << PROVLEDGER_VERSION << " (revision " << PROVLEDGER_REVISION
              << ")\n";
    return 0;
  }
  if (!cli.errors.empty()) {
    for (const auto& e : cli.errors) std::cerr << "provledger_exporter: " << e << "\n";
    std::cerr << "\n" << app::CliUsage();
    return 2;
  }
  if (cli.options.config_check_live) return livecheck::CheckConfigLive(cli.options.config_file, std::cout, std::cerr);
  if (cli.options.config_check) {
    int rc = config::CheckConfigFile(cli.options.config_file, std::cout, std::cerr, LoadOptions());
    if (!cli.options.web_config_file.empty()) {
      rc |= http::CheckWebConfigFile(cli.options.web_config_file, std::cout, std::cerr);
    }
    return rc;
  }
  app::SetupLogging(cli.options.log_level, cli.options.log_format);
  return Run(cli.options);
}
