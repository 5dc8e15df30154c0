// Command-line flags, exporter conventions (node_exporter / exporter-toolkit
// names). Pure: ParseCli never exits or prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace provledger::app {

struct CliOptions {
  std::string config_file;
  std::optional<std::string> listen_address;    // overrides web.listen_address
  std::optional<std::string> telemetry_path;    // overrides web.telemetry_path
  std::string web_config_file;                  // TLS / basic auth (exporter-toolkit format); empty: none
  std::string log_level = "info";               // debug|info|warn|error
  std::string log_format = "logfmt";            // logfmt|json
  bool config_check = false;
  bool config_check_live = false;               // --config.check-live
  bool version = false;
  bool help = false;
};

struct CliResult {
  CliOptions options;
  std::vector<std::string> errors;   // empty when the command line is valid
};

// Accepts --flag=value and --flag value.
CliResult ParseCli(const std::vector<std::string>& args);
std::string CliUsage();

}  // namespace provledger::app
