// libpq connection strings (keyword/value or postgres:// URIs) judged and
// redacted by what libpq itself parses (PQconninfoParse), never by matching
// text: a URI key written "%70assword", "sslpassword", a connection string
// nested in dbname are all seen as libpq sees them.
//
// The one place a DSN is judged or turned into loggable text: the config
// loader (no password allowed), the pq wrapper (log lines, error scrubbing).
//
// Thread safety: reentrant (PQconninfoParse is).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace provledger::config {

struct DsnOption {
  std::string keyword;   // libpq keyword ("host", "password", ...)
  std::string value;
};

// The options `dsn` sets, in libpq's keyword order; nullopt when libpq
// refuses it, with the reason in *error: libpq's message with any quoted
// text that is not a libpq keyword replaced by "...", so it never carries a
// value of the DSN (libpq quotes the rest of the string in some messages).
std::optional<std::vector<DsnOption>> ParseDsn(std::string_view dsn, std::string* error);

// True when libpq would take a password from `dsn`: a non-empty or empty
// password or sslpassword keyword (any spelling libpq decodes, e.g. URI
// percent-encoding), also inside a connection string given as dbname. False
// for a DSN libpq cannot parse (ParseDsn says why).
bool DsnHasPassword(std::string_view dsn);

// `dsn` for a log line: the parsed options as keyword='value' pairs, with
// password and sslpassword as ***, and a dbname holding a connection string
// redacted the same way. "<unparsable dsn>" when libpq refuses it. Never
// throws (out of memory: "<dsn>").
std::string RedactDsn(std::string_view dsn);

// Every password and sslpassword value `dsn` carries (also nested in dbname),
// as parsed, so error texts can be scrubbed of them.
std::vector<std::string> DsnSecrets(std::string_view dsn);

}  // namespace provledger::config
