#include "ramp/journal.hh"

#include <cmath>
#include <ctime>

#include <nlohmann/json.hpp>

namespace provledger::ramp {

std::string FormatTime(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::int64_t rem = ms - static_cast<std::int64_t>(secs) * 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(rem));
  return buf;
}

namespace {
nlohmann::json Number(double v) {
  if (std::isnan(v) || std::isinf(v)) return nullptr;  // JSON has no NaN
  return v;
}
}  // namespace

std::string DecisionLine(const Decision& d, std::int64_t now_ms) {
  nlohmann::ordered_json j;
  j["time"] = FormatTime(now_ms);
  j["ts_ms"] = now_ms;
  j["decision"] = KindName(d.kind);
  j["tenant"] = d.tenant;
  j["feature"] = d.feature;
  j["from"] = d.from;
  j["to"] = d.to;
  j["reason"] = d.reason;
  nlohmann::ordered_json checks = nlohmann::ordered_json::array();
  for (const CheckValue& c : d.checks) {
    nlohmann::ordered_json cj;
    cj["name"] = c.name;
    cj["value"] = c.value ? Number(*c.value) : nlohmann::json(nullptr);
    cj["green"] = c.green;
    if (!c.why.empty()) cj["why"] = c.why;
    checks.push_back(std::move(cj));
  }
  j["checks"] = std::move(checks);
  j["alerts"] = d.alerts;
  j["step_started_ms"] = d.next.step_started_ms;
  j["green_since_ms"] = d.next.green_since_ms ? nlohmann::json(*d.next.green_since_ms) : nlohmann::json(nullptr);
  j["last_change_rollback"] = d.next.last_change_rollback;
  // Invalid UTF-8 from a label value must not make the line unwritable.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string RunLine(std::int64_t now_ms, int changes, int pairs) {
  nlohmann::ordered_json j;
  j["time"] = FormatTime(now_ms);
  j["ts_ms"] = now_ms;
  j["decision"] = "run";
  j["changes"] = changes;
  j["pairs"] = pairs;
  return j.dump() + "\n";
}

std::string WriteFailedLine(std::int64_t now_ms, const std::string& target, const std::string& error,
                            int changes) {
  nlohmann::ordered_json j;
  j["time"] = FormatTime(now_ms);
  j["ts_ms"] = now_ms;
  j["decision"] = "write_failed";
  j["target"] = target;
  j["error"] = error;
  j["changes"] = changes;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

JournalState ReadJournal(std::string_view text, std::string_view filename) {
  JournalState st;
  std::size_t pos = 0;
  int lineno = 0;
  while (pos < text.size()) {
    ++lineno;
    std::size_t nl = text.find('\n', pos);
    const bool complete = nl != std::string_view::npos;
    std::string_view line = text.substr(pos, complete ? nl - pos : std::string_view::npos);
    pos = complete ? nl + 1 : text.size();
    const std::string where = std::string(filename) + ":" + std::to_string(lineno) + ": ";
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (!complete && j.is_discarded()) {
      st.warnings.push_back(where + "incomplete last line ignored (a write cut short)");
      break;
    }
    auto bad = [&](const std::string& why) { st.errors.push_back(where + why); };
    if (j.is_discarded() || !j.is_object()) {
      bad("not a JSON object");
      continue;
    }
    if (!j.contains("decision") || !j["decision"].is_string() || !j.contains("ts_ms") ||
        !j["ts_ms"].is_number_integer()) {
      bad("missing \"decision\" or integer \"ts_ms\"");
      continue;
    }
    const std::string decision = j["decision"].get<std::string>();
    const std::int64_t ts = j["ts_ms"].get<std::int64_t>();
    if (decision == "run") {
      if (!st.last_run_ms || ts > *st.last_run_ms) st.last_run_ms = ts;
      ++st.entries_by_decision[decision];
      continue;
    }
    if (decision == "write_failed") {   // a run that wrote nothing: no state, not a run
      ++st.entries_by_decision[decision];
      continue;
    }
    std::optional<Kind> kind = KindFromName(decision);
    if (!kind) {
      bad("unknown decision \"" + decision + "\"");
      continue;
    }
    auto str = [&](const char* k) -> const nlohmann::json* {
      auto it = j.find(k);
      return it != j.end() && it->is_string() ? &*it : nullptr;
    };
    auto num = [&](const char* k) -> const nlohmann::json* {
      auto it = j.find(k);
      return it != j.end() && it->is_number() ? &*it : nullptr;
    };
    const nlohmann::json* tenant = str("tenant");
    const nlohmann::json* feature = str("feature");
    const nlohmann::json* to = num("to");
    const nlohmann::json* started = num("step_started_ms");
    if (!tenant || !feature || !to || !started || !started->is_number_integer()) {
      bad("a decision needs tenant, feature, to and step_started_ms");
      continue;
    }
    PairState ps;
    ps.pct = to->get<double>();
    ps.step_started_ms = started->get<std::int64_t>();
    ps.status = *kind;
    auto gs = j.find("green_since_ms");
    if (gs != j.end() && gs->is_number_integer()) ps.green_since_ms = gs->get<std::int64_t>();
    auto lr = j.find("last_change_rollback");
    ps.last_change_rollback = lr != j.end() && lr->is_boolean() && lr->get<bool>();
    if (IsGreen(*kind) && !ps.green_since_ms) {
      bad("a green decision without green_since_ms");
      continue;
    }
    st.pairs[{tenant->get<std::string>(), feature->get<std::string>()}] = ps;
    ++st.entries_by_decision[decision];
  }
  return st;
}

}  // namespace provledger::ramp
