// Prometheus-style durations (model.ParseDuration without y/w): the same
// strings operators already write in prometheus.yml.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/load.hh"

namespace provledger::config {
namespace {

struct Unit {
  std::string_view suffix;
  std::int64_t ms;
};

// Descending order; a duration lists units in this order, each at most once.
constexpr std::array<Unit, 5> kUnits = {{
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::optional<std::int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  std::size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return std::nullopt;
    std::int64_t number = 0;
    while (i < text.size() && IsDigit(text[i])) {
      if (__builtin_mul_overflow(number, 10, &number) ||
          __builtin_add_overflow(number, text[i] - '0', &number)) {
        return std::nullopt;
      }
      ++i;
    }
    // "ms" must be tried before "m".
    std::size_t unit = kUnits.size();
    if (text.substr(i, 2) == "ms") {
      unit = 4;
    } else if (i < text.size()) {
      for (std::size_t u = 0; u < 4; ++u) {
        if (text[i] == kUnits[u].suffix[0]) unit = u;
      }
    }
    if (unit == kUnits.size() || unit < next_unit) return std::nullopt;
    i += kUnits[unit].suffix.size();
    next_unit = unit + 1;
    std::int64_t part = 0;
    if (__builtin_mul_overflow(number, kUnits[unit].ms, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return std::nullopt;
    }
  }
  return total;
}

std::string FormatDurationMs(std::int64_t ms) {
  if (ms <= 0) return "0s";
  std::string out;
  for (const Unit& u : kUnits) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms);
      out += u.suffix;
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace provledger::config
