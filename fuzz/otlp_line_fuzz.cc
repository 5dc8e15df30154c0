// libFuzzer target: one OTLP/JSON line (decode::OtlpParser, the otlp_file
// trace store's parser) on any bytes. Properties checked besides crashes:
// - deterministic: the same line parsed twice gives the same result;
// - a malformed line gives no span and counts no rows;
// - rows = decoded spans + span errors (every operation span is one or the other);
// - every decoded span's start is within the reported minimum.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "decode/otlp.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace provledger;
  using namespace provledger::decode;
  static OtlpParser parser(OtlpKeys{}, Limits{});
  // The parser reads up to kOtlpPadding bytes past the line's end.
  std::string buf(reinterpret_cast<const char*>(data), size);
  buf.append(kOtlpPadding, '\0');
  const std::string_view line(buf.data(), size);

  std::vector<SpanRow> a, b;
  const OtlpLineResult ra = parser.Parse(line, a);
  const OtlpLineResult rb = parser.Parse(line, b);
  if (ra.rows != rb.rows || ra.line_error != rb.line_error || ra.span_errors != rb.span_errors ||
      a.size() != b.size() || ra.max_end_us != rb.max_end_us) {
    __builtin_trap();
  }
  if (!ra.line_error.empty() && (!a.empty() || ra.rows != 0 || !ra.span_errors.empty())) __builtin_trap();
  if (ra.rows != a.size() + ra.span_errors.size()) __builtin_trap();
  for (const SpanRow& s : a) {
    if (s.start < ra.min_start_us) __builtin_trap();
  }
  return 0;
}
