// receipt: the receipts v2 contract in C++ (docs/receipts.md,
// schema/receipt-v2.schema.json): the canonical form and content hash, the
// typed v1/v2 model, v2 validation and v1 -> v2 conversion. The exporter's
// decoder, provledger_migrate and the evidence exporter use this library;
// adapters/python and adapters/typescript implement the same rules and are
// held to the same fixtures (tests/fixtures/receipts).
//
// Pure: no I/O, no globals except a per-thread parse buffer in CheckBody;
// never throws on bad input (only std::bad_alloc); thread-safe.
// Error messages are log-safe (untrusted bytes escaped with Printable()).
//
// Stable API: the evidence exporter builds on Canonicalize, ContentHash,
// Sha256Hex, ReadV2, ReadV1 and ConvertV1; change them only compatibly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "receipt/json.hh"

namespace provledger::receipt {

inline constexpr std::string_view kSchemaV2 = "provledger.receipt/v2";

// Why a body or row is refused; the same codes in every adapter and in the
// fixture corpus ("error" of tests/fixtures/receipts/cases.json).
enum class Error : std::uint8_t {
  kNone = 0,
  kJson,        // "json": not an accepted JSON text (json.hh: I-JSON, depth)
  kNotObject,   // "not_object": JSON, but the top-level value is not an object
  kVersion,     // "version": the version is neither 1 nor 2
  kV2,          // "v2": a v2 body breaks the contract (missing field, wrong type or value)
  kColumns,     // "columns": a v2 body field differs from its row's column
  kConvert,     // "convert": a v1 row cannot become v2 (docs/receipts.md, mapping)
};
const char* ErrorName(Error e);

// Either a value or an error code with a message.
template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}   // NOLINT
  static Result Fail(Error code, std::string msg) { return Result(Err{code, std::move(msg)}); }
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  Error code() const { return ok() ? Error::kNone : std::get<1>(v_).code; }
  // The message; "" when ok().
  const std::string& error() const {
    static const std::string kNoError;
    return ok() ? kNoError : std::get<1>(v_).msg;
  }

 private:
  struct Err {
    Error code;
    std::string msg;
  };
  explicit Result(Err e) : v_(std::in_place_index<1>, std::move(e)) {}
  std::variant<T, Err> v_;
};

// ---- Canonical form (RFC 8785) and content hash ----

// A finite double as ECMAScript's Number.prototype.toString writes it (the
// number serialization of RFC 8785 3.2.2.3): shortest round-trip digits,
// "0" for +-0, plain notation for 1e-7 < |v| < 1e21, else d.ddde+N / d.ddde-N.
// Precondition: std::isfinite(v).
std::string FormatNumber(double v);

// The RFC 8785 serialization of a JSON text accepted by Json::Parse: no
// whitespace, object members sorted by their keys' UTF-16 code units,
// strings with only \" \\ \b \f \n \r \t and \u00xx (lowercase hex, other
// control characters) escaped and every other character as UTF-8, numbers
// by FormatNumber. Error kJson when the text is not accepted.
Result<std::string> Canonicalize(std::string_view json_text);
// The same for an already parsed value: appends node `index`'s canonical form.
void AppendCanonical(const Json& doc, std::size_t index, std::string* out);

// Appends `utf8` (well-formed UTF-8) as an RFC 8785 JSON string, quotes
// included.
void AppendJsonString(std::string_view utf8, std::string* out);

// Lowercase hex SHA-256 (64 characters) of `bytes` (OpenSSL libcrypto).
std::string Sha256Hex(std::string_view bytes);

// The content hash of a receipt body: Sha256Hex(Canonicalize(body)).
// Defined for any accepted JSON text (v1 and v2 bodies alike); it is the
// same before and after a PostgreSQL jsonb round trip.
Result<std::string> ContentHash(std::string_view body);

// ---- Typed model ----

// A receipt's row columns (the ledger's receipts table). A NULL column is "".
struct Columns {
  std::string_view receipt_id, tenant_id, op_id, region, policy_version, kid;
  std::int64_t created_us = 0;      // created_at, Unix epoch microseconds
  std::string_view content_hash;    // the stored hash (ConvertV1 records it)
};

// One receipt in the v2 model, read from a v2 body or converted from v1.
struct Receipt {
  int version = 2;                  // the body's version: 1 or 2
  std::string receipt_id, tenant_id, op_id, region, policy_version, kid;
  std::optional<std::int64_t> created_us;   // "created_at"; absent in older v2 bodies
  std::optional<std::string> action, actor, resource, decision;
  std::optional<std::string> payload;       // canonical JSON text of "payload" (an object)
  // "migrated_from" of a converted body: the v1 body's stored hash.
  std::optional<std::string> migrated_from_hash;
};

// Parses and validates a v2 body against the contract (not against a row):
// kJson, kNotObject or kV2 on failure.
Result<Receipt> ReadV2(std::string_view body);

// Reads a v1 row: the body must be a JSON object (kJson, kNotObject); the
// v2 fields come from the columns, or from the body where a column is empty
// (docs/receipts.md, mapping); kConvert when the row cannot become v2
// (including a body nested kMaxDepth deep: one level more as the payload).
// payload = the canonical v1 body; version = 1.
Result<Receipt> ReadV1(std::string_view body, const Columns& columns);

// The v2 body of a v1 row, in canonical form (so ContentHash of it is
// Sha256Hex of it): ReadV1 then WriteV2 with migrated_from_hash =
// columns.content_hash.
Result<std::string> ConvertV1(std::string_view v1_body, const Columns& columns);

// The canonical v2 body of a model (version is ignored; absent optionals
// are left out). The result passes ReadV2.
std::string WriteV2(const Receipt& r);

// RFC 3339 UTC timestamp with 6 fraction digits ("2026-12-04T21:35:58.000000Z").
std::string FormatTimestamp(std::int64_t epoch_us);
// Parses YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z (UTC only, 'T' and 'Z' upper case,
// years 0001..9999, a real calendar date, seconds 00..59).
std::optional<std::int64_t> ParseTimestamp(std::string_view s);

// The decoder's check of a stored body, without copies: version 1: the body
// is a JSON object; version 2: ReadV2's rules and every identity field equal
// to its column (created_at, when present, equal to created_us). Other
// versions: kVersion. Returns kNone and "" when the body is good.
std::pair<Error, std::string> CheckBody(int version, std::string_view body, const Columns& columns);

}  // namespace provledger::receipt
