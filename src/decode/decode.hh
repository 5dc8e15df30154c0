// Decode*: turn one raw database row (text columns with NULL flags) into a
// typed, validated row of core/rows.hh, or into an error message. Pure: no
// libpq, yaml-cpp or spdlog; never throws on bad input (only std::bad_alloc);
// thread-safe (no state). A bad row is a value, never a crash.
//
// Column layouts are the positional result columns of source/queries.hh.
// Timestamps arrive as decimal bigint Unix epoch microseconds.
//
// Rules (a violation makes the whole row an error):
// - every text column must be well-formed UTF-8 without NUL bytes;
// - tenant names: non-empty, at most Limits::max_tenant_bytes bytes;
// - identifiers (receipt_id, op_id, trace_id, span_id) non-NULL and non-empty;
// - receipts: receipt_id, tenant_id, op_id, version, body, content_hash and
//   created_us are required (NULL = error); region, policy_version and kid
//   may be NULL (-> "") for version 1.
//   the body is checked by receipt::CheckBody (src/receipt, docs/receipts.md):
//   version 1: body is "untyped JSON", it must be a JSON object read by the
//   contract's strict reader (I-JSON: no duplicate key, no lone surrogate,
//   finite numbers, no byte order mark, at most 128 levels deep).
//   version 2: additionally the v2 contract (schema kReceiptSchemaV2,
//   non-empty string receipt_id, tenant_id, op_id, policy_version, kid,
//   region, each equal to its column; created_at, when present, an RFC 3339
//   UTC timestamp equal to created_us; typed optional fields; unknown extra
//   fields allowed).
//   any other version: error.
// - anchored rows: every column required; anchored_us >= created_us
//   (else "anchored before created").
// - spans: trace_id, span_id, tenant_id, op_id, start_us required;
//   attested_hash may be NULL (-> "").
// - flags: tenant (tenant rules), feature (non-empty, UTF-8, at most
//   max_tenant_bytes), pct a finite decimal number in [0, 100].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/rows.hh"

namespace provledger::decode {

inline constexpr std::string_view kReceiptSchemaV2 = "provledger.receipt/v2";   // = receipt::kSchemaV2

// One raw column: its text (not necessarily valid UTF-8) or NULL.
struct Field {
  std::string_view text;
  bool null = false;
  static Field Null() { return Field{{}, true}; }
};

struct Limits {
  std::size_t max_tenant_bytes = 128;   // config Tenants::max_name_bytes
};

// Either a decoded value or an error message (log-safe: untrusted bytes are
// escaped with Printable()).
template <class T>
class Decoded {
 public:
  Decoded(T value) : v_(std::move(value)) {}                       // NOLINT
  static Decoded Error(std::string msg) { return Decoded(ErrTag{std::move(msg)}); }
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  // The error message; "" when ok().
  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(v_).msg;
  }

 private:
  struct ErrTag { std::string msg; };
  explicit Decoded(ErrTag e) : v_(std::in_place_index<1>, std::move(e)) {}
  std::variant<T, ErrTag> v_;
};

// "" when `name` is an acceptable tenant name, else why not.
std::string ValidateTenant(std::string_view name, std::size_t max_bytes);

// Strict decimal int64 ("-12", "0"; no spaces, no '+', no fraction).
std::optional<std::int64_t> ParseInt64(std::string_view s);
// Strict finite decimal double ("25", "12.5", "1e2"; no spaces, no nan/inf).
std::optional<double> ParseDouble(std::string_view s);

// receipt_id, tenant_id, op_id, region, policy_version, kid, version, body,
// content_hash, created_us
inline constexpr int kReceiptColumns = 10;
struct ReceiptColumns {
  Field receipt_id, tenant_id, op_id, region, policy_version, kid, version, body,
      content_hash, created_us;
};
Decoded<ReceiptRow> DecodeReceipt(const ReceiptColumns& c, const Limits& limits);

// Checks a receipt body against its version and columns (receipt::CheckBody
// with the row's columns); "" when it is good. Exposed for tests and tools;
// DecodeReceipt calls it. One in-place parse into a per-thread node buffer;
// no copies except of strings with escapes.
std::string CheckReceiptBody(int version, std::string_view body, const ReceiptRow& columns);

// receipt_id, tenant_id, created_us, anchored_us
inline constexpr int kAnchoredColumns = 4;
struct AnchoredColumns {
  Field receipt_id, tenant_id, created_us, anchored_us;
};
Decoded<AnchoredRow> DecodeAnchored(const AnchoredColumns& c, const Limits& limits);

// trace_id, span_id, tenant_id, op_id, start_us, attested_hash [, name]
inline constexpr int kSpanColumns = 6;
inline constexpr int kSpanColumnsWithName = 7;   // the optional 7th column: the span name
struct SpanColumns {
  Field trace_id, span_id, tenant_id, op_id, start_us, attested_hash;
};
// `name`: the optional 7th column (NULL or absent: ""); valid UTF-8 text.
Decoded<SpanRow> DecodeSpan(const SpanColumns& c, const Limits& limits, Field name = Field::Null());

// tenant, feature, pct
inline constexpr int kFlagColumns = 3;
struct FlagColumns {
  Field tenant, feature, pct;
};
Decoded<FlagRow> DecodeFlag(const FlagColumns& c, const Limits& limits);

}  // namespace provledger::decode
