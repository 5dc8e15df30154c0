// OTLP/JSON trace lines -> SpanRow. Pure: no I/O, never throws on bad input.
//
// One line is one ExportTraceServiceRequest in the OTLP JSON mapping of
// opentelemetry-proto (what the Collector's file exporter writes with
// format: json): {"resourceSpans":[{"resource":{"attributes":[...]},
// "scopeSpans":[{"scope":{...},"spans":[{"traceId":"<32 hex>",
// "spanId":"<16 hex>","name":"...","startTimeUnixNano":"<decimal>",
// "endTimeUnixNano":"<decimal>","attributes":[{"key":"k","value":{
// "stringValue":"v"}}], ...}]}]}]}.
//
// Mapping (README "OTLP file trace store"):
// - Field names are the proto JSON (lowerCamelCase) names; unknown fields
//   anywhere are ignored, as the OTLP JSON mapping requires of receivers.
// - tenant, op_id and attested hash are string attributes whose keys are
//   OtlpKeys; a span attribute wins over a resource attribute of the same key.
// - A span with no op_id attribute (span or resource) is not an operation: it
//   is skipped, not counted (as the PostgreSQL spans query skips op_id NULL).
//   So is a span whose name is not in OtlpKeys::span_names (when non-empty).
// - Every other span is a row: it is decoded with decode::DecodeSpan (the
//   same rules as a PostgreSQL span row) and is either a SpanRow or a decode
//   error. Further span errors: a mapped attribute that is not a stringValue
//   (intValue, boolValue, doubleValue, arrayValue, kvlistValue, bytesValue or
//   an empty value), a mapped key given twice in one attributes list, traceId
//   not 32 / spanId not 16 hex digits (either case; stored lowercase),
//   startTimeUnixNano missing, 0, not a decimal uint64 (string or JSON
//   integer). start_us = startTimeUnixNano / 1000, rounded down.
// - A line that is not one well-formed JSON object of that shape (bad JSON,
//   resourceSpans not an array, a span not an object, trailing bytes) is one
//   decode error and gives no span at all, even if part of it was read.
// - end_us of every span with a valid endTimeUnixNano (decoded or not,
//   filtered or not) feeds OtlpLineResult::max_end_us: the line was written
//   after that time (the file source's watermark).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/rows.hh"
#include "decode/decode.hh"

namespace provledger::decode {

struct OtlpKeys {
  std::string tenant = "provledger.tenant";
  std::string op_id = "provledger.op_id";
  std::string attested_hash = "provledger.attested_hash";
  std::vector<std::string> span_names;   // empty = every span name
};

// Bytes that must be readable (any value) after the end of a line handed to
// OtlpParser::Parse (the parser reads ahead in blocks).
inline constexpr std::size_t kOtlpPadding = 64;

struct OtlpLineResult {
  std::uint64_t rows = 0;                 // spans that are operations: decoded + span errors
  std::vector<std::string> span_errors;   // one per span that failed to decode
  std::string line_error;                 // non-empty: the line is malformed (no rows)
  Micros max_end_us = kMinMicros;
  Micros min_start_us = kMaxMicros;       // of the decoded spans
};

class OtlpParser {
 public:
  OtlpParser(OtlpKeys keys, Limits limits);
  ~OtlpParser();
  OtlpParser(const OtlpParser&) = delete;
  OtlpParser& operator=(const OtlpParser&) = delete;

  // Parses `line` (without its newline; line.data()[line.size() ..
  // line.size() + kOtlpPadding) must be readable) and appends its decoded
  // spans to `out`. A malformed line appends nothing.
  OtlpLineResult Parse(std::string_view line, std::vector<SpanRow>& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace provledger::decode
