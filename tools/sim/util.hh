// Small helpers shared by the simulator's subcommands: time formatting for
// COPY text, COPY text escaping, and parsing of command-line values.
// Time is Unix epoch microseconds (UTC) throughout, like src/core/rows.hh.
// Parse* functions throw std::invalid_argument with the offending text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace provledger::sim {

using Micros = std::int64_t;

// Wall clock now, epoch µs.
Micros NowMicros();

struct CivilDate {
  int year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};
CivilDate CivilFromMicros(Micros us);

// "YYYY-MM-DD HH:MM:SS.ffffff+00", the text form PostgreSQL reads as timestamptz.
void AppendTimestamp(std::string& out, Micros us);
std::string FormatTimestamp(Micros us);
// ISO 8601 "YYYY-MM-DDTHH:MM:SS.mmmZ" for logs and summaries.
std::string FormatIso(Micros us);

// Appends s escaped for COPY text format (backslash, tab, newline, CR).
void AppendCopyText(std::string& out, std::string_view s);

// "250ms", "3s", "1.5m", "2h", "1d"; a bare number is seconds. Returns µs.
Micros ParseDuration(std::string_view text);
// "1000", "200k", "1M", "1.5M" -> count.
std::uint64_t ParseCount(std::string_view text);
double ParseDouble(std::string_view text);
// "now", "now-1h", epoch seconds ("1764300000" or with a fraction) -> µs.
Micros ParseTimestamp(std::string_view text);

}  // namespace provledger::sim
