// libFuzzer target: receipt decoding (src/decode) on any body. The first
// byte picks the version column ('1', '2' or anything else); the rest is the
// body. Columns are fixed and valid, so the body scanner and the v2 field
// checks are what is exercised. Also the tenant rule on the body bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "decode/decode.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace provledger::decode;
  if (size == 0) return 0;
  const char v = static_cast<char>(data[0]);
  const std::string version = v == '1' ? "1" : v == '2' ? "2" : std::string(1, v);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  ReceiptColumns c;
  c.receipt_id = {"r-1"};
  c.tenant_id = {"acme"};
  c.op_id = {"op-1"};
  c.region = {"eu-west"};
  c.policy_version = {"p-1"};
  c.kid = {"kid-1"};
  c.version = {version};
  c.body = {body};
  c.content_hash = {"h"};
  c.created_us = {"1700000000000000"};
  const Limits limits;
  const auto a = DecodeReceipt(c, limits);
  const auto b = DecodeReceipt(c, limits);
  if (a.ok() != b.ok()) __builtin_trap();   // deterministic
  (void)ValidateTenant(body, 128);
  return 0;
}
