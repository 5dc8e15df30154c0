#include "app/cli.hh"

#include <functional>
#include <map>

namespace provledger::app {

std::string CliUsage() {
  return "Usage: provledger_exporter --config.file=PATH [options]\n"
         "\n"
         "Polls provenance-ledger databases and trace stores and serves per-tenant\n"
         "governance metrics for Prometheus.\n"
         "\n"
         "Options:\n"
         "  --config.file=PATH            YAML configuration file (required)\n"
         "  --config.check                validate the configuration, print every problem, exit 0 or 1\n"
         "  --config.check-live           also check it against the live databases (connect, describe\n"
         "                                every query, EXPLAIN, sample rows), exit 0 or 1\n"
         "  --web.listen-address=ADDR     [host]:port to listen on (default from config, \":23473\")\n"
         "  --web.telemetry-path=PATH     path of the metrics endpoint (default from config, \"/metrics\")\n"
         "  --web.config.file=PATH        TLS and basic auth (Prometheus exporter-toolkit format);\n"
         "                                re-read on SIGHUP; checked too by --config.check\n"
         "  --log.level=LEVEL             debug, info, warn or error (default \"info\")\n"
         "  --log.format=FORMAT           logfmt or json (default \"logfmt\")\n"
         "  --version                     print version and exit\n"
         "  -h, --help                    print this help and exit\n";
}

CliResult ParseCli(const std::vector<std::string>& args) {
  CliResult r;
  auto& o = r.options;
  const std::map<std::string, std::function<void(const std::string&)>> with_value = {
      {"--config.file", [&](const std::string& v) { o.config_file = v; }},
      {"--web.listen-address", [&](const std::string& v) { o.listen_address = v; }},
      {"--web.telemetry-path", [&](const std::string& v) { o.telemetry_path = v; }},
      {"--web.config.file",
       [&](const std::string& v) {
         if (v.empty()) r.errors.push_back("--web.config.file needs a path");
         o.web_config_file = v;
       }},
      {"--log.level",
       [&](const std::string& v) {
         if (v != "debug" && v != "info" && v != "warn" && v != "error") {
           r.errors.push_back("--log.level must be debug, info, warn or error, not \"" + v + "\"");
         }
         o.log_level = v;
       }},
      {"--log.format",
       [&](const std::string& v) {
         if (v != "logfmt" && v != "json") r.errors.push_back("--log.format must be logfmt or json, not \"" + v + "\"");
         o.log_format = v;
       }},
  };
  const std::map<std::string, bool*> switches = {
      {"--config.check", &o.config_check}, {"--config.check-live", &o.config_check_live}, {"--version", &o.version}, {"--help", &o.help}, {"-h", &o.help}};

  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto eq = a.find('=');
    const std::string name = eq == std::string::npos ? a : a.substr(0, eq);
    if (auto s = switches.find(name); s != switches.end()) {
      if (eq != std::string::npos) {
        r.errors.push_back(name + " takes no value");
        continue;
      }
      *s->second = true;
      continue;
    }
    auto f = with_value.find(name);
    if (f == with_value.end()) {
      r.errors.push_back("unknown flag " + name);
      continue;
    }
    if (eq != std::string::npos) {
      f->second(a.substr(eq + 1));
    } else if (i + 1 < args.size()) {
      f->second(args[++i]);
    } else {
      r.errors.push_back(name + " needs a value");
    }
  }
  if (!o.version && !o.help && o.config_file.empty()) r.errors.push_back("--config.file is required");
  if (o.telemetry_path && (o.telemetry_path->empty() || (*o.telemetry_path)[0] != '/')) {
    r.errors.push_back("--web.telemetry-path must start with /");
  }
  return r;
}

}  // namespace provledger::app
