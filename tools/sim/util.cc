#include "util.hh"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace provledger::sim {

Micros NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Howard Hinnant's civil_from_days.
CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), m, d};
}

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

void Put2(char* p, unsigned v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

CivilDate CivilFromMicros(Micros us) {
  return CivilFromDays(FloorDiv(us, 86400LL * 1000000));
}

void AppendTimestamp(std::string& out, Micros us) {
  const std::int64_t days = FloorDiv(us, 86400LL * 1000000);
  const std::int64_t rem = us - days * 86400LL * 1000000;
  const CivilDate d = CivilFromDays(days);
  const auto secs = static_cast<unsigned>(rem / 1000000);
  const auto frac = static_cast<unsigned>(rem % 1000000);
  char buf[32];
  // Years 1000..9999 only; the simulator never leaves that range.
  const auto y = static_cast<unsigned>(d.year);
  buf[0] = static_cast<char>('0' + y / 1000 % 10);
  buf[1] = static_cast<char>('0' + y / 100 % 10);
  buf[2] = static_cast<char>('0' + y / 10 % 10);
  buf[3] = static_cast<char>('0' + y % 10);
  buf[4] = '-';
  Put2(buf + 5, d.month);
  buf[7] = '-';
  Put2(buf + 8, d.day);
  buf[10] = ' ';
  Put2(buf + 11, secs / 3600);
  buf[13] = ':';
  Put2(buf + 14, secs / 60 % 60);
  buf[16] = ':';
  Put2(buf + 17, secs % 60);
  buf[19] = '.';
  unsigned f = frac;
  for (int i = 25; i >= 20; --i) {
    buf[i] = static_cast<char>('0' + f % 10);
    f /= 10;
  }
  buf[26] = '+';
  buf[27] = '0';
  buf[28] = '0';
  out.append(buf, 29);
}

std::string FormatTimestamp(Micros us) {
  std::string s;
  AppendTimestamp(s, us);
  return s;
}

std::string FormatIso(Micros us) {
  std::string s = FormatTimestamp(us);  // YYYY-MM-DD HH:MM:SS.ffffff+00
  s[10] = 'T';
  s.resize(23);
  s.push_back('Z');
  return s;
}

void AppendCopyText(std::string& out, std::string_view s) {
  for (const char c : s) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\t': out.append("\\t"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      default: out.push_back(c);
    }
  }
}

double ParseDouble(std::string_view text) {
  double v = 0;
  const auto* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || !std::isfinite(v)) {
    throw std::invalid_argument("not a number: '" + std::string(text) + "'");
  }
  return v;
}

namespace {

// Splits "1.5m" into (1.5, "m").
std::pair<double, std::string_view> SplitUnit(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) ||
                             text[i] == '.' || text[i] == '-' || text[i] == '+' ||
                             text[i] == 'e')) {
    // An 'e' is an exponent only when a digit follows; else it is a unit.
    if (text[i] == 'e' &&
        (i + 1 >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      break;
    }
    ++i;
  }
  if (i == 0) throw std::invalid_argument("missing number in '" + std::string(text) + "'");
  return {ParseDouble(text.substr(0, i)), text.substr(i)};
}

}  // namespace

Micros ParseDuration(std::string_view text) {
  const auto [v, unit] = SplitUnit(text);
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1e6;
  else if (unit == "ms") mult = 1e3;
  else if (unit == "us") mult = 1;
  else if (unit == "m") mult = 60e6;
  else if (unit == "h") mult = 3600e6;
  else if (unit == "d") mult = 86400e6;
  else throw std::invalid_argument("unknown duration unit in '" + std::string(text) + "'");
  if (v < 0) throw std::invalid_argument("negative duration '" + std::string(text) + "'");
  return static_cast<Micros>(std::llround(v * mult));
}

std::uint64_t ParseCount(std::string_view text) {
  const auto [v, unit] = SplitUnit(text);
  double mult = 0;
  if (unit.empty()) mult = 1;
  else if (unit == "k" || unit == "K") mult = 1e3;
  else if (unit == "M" || unit == "m") mult = 1e6;
  else throw std::invalid_argument("unknown count suffix in '" + std::string(text) + "'");
  if (v < 0) throw std::invalid_argument("negative count '" + std::string(text) + "'");
  return static_cast<std::uint64_t>(std::llround(v * mult));
}

Micros ParseTimestamp(std::string_view text) {
  if (text.substr(0, 3) == "now") {
    const Micros now = NowMicros();
    const std::string_view rest = text.substr(3);
    if (rest.empty()) return now;
    if (rest[0] == '-') return now - ParseDuration(rest.substr(1));
    if (rest[0] == '+') return now + ParseDuration(rest.substr(1));
    throw std::invalid_argument("bad timestamp '" + std::string(text) + "'");
  }
  return static_cast<Micros>(std::llround(ParseDouble(text) * 1e6));
}

}  // namespace provledger::sim
