// Pure parts of src/evidence: key files (mode, PKCS#8 PEM as openssl writes
// it, hex seed), signatures, base64, DSSE PAE (spec test vector), op file
// names, masking, hostile zip names and a built bundle verified in memory
// (and rejected after each kind of change).
#define BOOST_TEST_MODULE evidence
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "evidence/bundle.hh"
#include "evidence/keys.hh"
#include "evidence/verify.hh"
#include "evidence/zip.hh"
#include "merkle/merkle.hh"

using namespace provledger::evidence;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/evidence-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text, mode_t mode) {
    const auto p = (path / name).string();
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p;
  }
};

std::array<std::uint8_t, 32> Seed(std::uint8_t b) {
  std::array<std::uint8_t, 32> s{};
  s.fill(b);
  return s;
}

OpEvidence MakeOp(const std::string& id, const std::vector<std::string>& leaves_hex, std::size_t index) {
  std::vector<provledger::merkle::Hash> leaves;
  for (const auto& h : leaves_hex) leaves.push_back(provledger::merkle::LeafHash(*provledger::merkle::HashFromHex(h)));
  OpEvidence op;
  op.tenant = "t1";
  op.op_id = id;
  ReceiptInfo r;
  r.ledger = "eu";
  r.region = "eu-west";
  r.receipt_id = "r-" + id;
  r.version = 2;
  r.body = "{\"a\":1}";
  r.content_hash = leaves_hex[index];
  r.created_at = 1000;
  AnchorInfo a;
  a.anchor_id = "eu-west:x";
  a.anchor_hash = provledger::merkle::ToHex(provledger::merkle::RootFromLeafHashes(leaves));
  a.receipt_count = static_cast<std::int64_t>(leaves.size());
  r.anchor = a;
  InclusionProof p;
  p.leaf_index = index;
  p.tree_size = leaves.size();
  for (const auto& h : provledger::merkle::InclusionProof(leaves, index)) p.path.push_back(provledger::merkle::ToHex(h));
  r.proof = p;
  op.receipts.push_back(r);
  SpanInfo s;
  s.store = "traces";
  s.trace_id = "t";
  s.span_id = "s";
  s.start = 900;
  s.end = 950;
  s.attested_hash = r.content_hash;
  op.spans.push_back(s);
  op.outcome = "attested";
  op.span_start = 900;
  op.attested_hash = r.content_hash;
  return op;
}

std::vector<ZipEntry> Bundle(const SigningKey& key) {
  BundleInput in;
  in.query.tenant = "t1";
  in.query.op_ids = {"op-1", "op-2"};
  in.generated_at = 1700000000;
  in.exporter_version = "test";
  in.grace = 5000000;
  const std::vector<std::string> leaves = {std::string(64, 'a'), std::string(64, 'b'), std::string(64, 'c')};
  in.ops = {MakeOp("op-1", leaves, 0), MakeOp("op-2", leaves, 2)};
  return BuildBundle(in, key);
}

BodyHasher NoHasher() { return BodyHasher(); }

}  // namespace

BOOST_AUTO_TEST_CASE(key_files) {
  TempDir d;
  const std::string hex(64, '1');
  const auto p = d.Write("seed.hex", hex + "\n", 0600);
  const SigningKey k = SigningKey::FromFile(p);
  BOOST_TEST(k.key_id() == KeyId(k.public_key()));
  BOOST_TEST(k.key_id() == provledger::merkle::ToHex(provledger::merkle::Sha256(std::span<const std::uint8_t>(k.public_key()))));
  BOOST_TEST((k.public_key() == SigningKey::FromSeed(Seed(0x11)).public_key()));
  // Group- or other-readable: refused, with the mode in the message.
  for (mode_t m : {0640, 0604, 0660, 0644}) {
    const auto q = d.Write("k" + std::to_string(m), hex, m);
    try {
      SigningKey::FromFile(q);
      BOOST_ERROR("accepted a key file with mode " << m);
    } catch (const KeyError& e) {
      BOOST_TEST(std::string(e.what()).find("refused") != std::string::npos);
    }
  }
  BOOST_CHECK_THROW(SigningKey::FromFile(d.Write("short", "abcd", 0600)), KeyError);
  BOOST_CHECK_THROW(SigningKey::FromFile((d.path / "absent").string()), KeyError);
  // PKCS#8 PEM as `openssl genpkey -algorithm ed25519` writes it.
  const auto pem = (d.path / "openssl.pem").string();
  BOOST_REQUIRE(std::system(("openssl genpkey -algorithm ed25519 -out " + pem + " 2>/dev/null").c_str()) == 0);
  ::chmod(pem.c_str(), 0600);
  const SigningKey o = SigningKey::FromFile(pem);
  const auto sig = o.Sign("hello");
  BOOST_TEST(VerifySignature(o.public_key(), "hello", std::string_view(reinterpret_cast<const char*>(sig.data()), 64)));
  BOOST_TEST(!VerifySignature(o.public_key(), "hellO", std::string_view(reinterpret_cast<const char*>(sig.data()), 64)));
  // keygen's file: 0600, refuses to overwrite, reads back to the same key.
  const auto out = (d.path / "new.key").string();
  WritePrivateKeyFile(out, o);
  struct stat st {};
  ::stat(out.c_str(), &st);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_CHECK_THROW(WritePrivateKeyFile(out, o), KeyError);
  BOOST_TEST((SigningKey::FromFile(out).public_key() == o.public_key()));
  // Public keys: hex or SPKI PEM file.
  BOOST_TEST((ParsePublicKey(provledger::merkle::ToHex(std::span<const std::uint8_t>(o.public_key()))) == o.public_key()));
  const auto pub = d.Write("pub.pem", PublicPem(o.public_key()), 0644);
  BOOST_TEST((ParsePublicKey(pub) == o.public_key()));
  BOOST_CHECK_THROW(ParsePublicKey("nothex"), KeyError);
}

BOOST_AUTO_TEST_CASE(base64_and_pae) {
  std::string out;
  BOOST_TEST(Base64("hello world") == "aGVsbG8gd29ybGQ=");
  BOOST_TEST(Base64Decode("aGVsbG8gd29ybGQ=", &out));
  BOOST_TEST(out == "hello world");
  BOOST_TEST(!Base64Decode("aGVsbG8gd29ybGQ", &out));
  BOOST_TEST(!Base64Decode("aGVsbG8gd29ybGR=", &out));   // non-canonical padding bits
  BOOST_TEST(!Base64Decode("aGVs bG8=", &out));
  // secure-systems-lab/dsse protocol.md test vector.
  BOOST_TEST(Pae("http://example.com/HelloWorld", "hello world") == "DSSEv1 29 http://example.com/HelloWorld 11 hello world");
}

BOOST_AUTO_TEST_CASE(op_file_names_are_safe_and_injective) {
  BOOST_TEST(OpFileName("op-12ab.x") == "ops/op-12ab.x.rehydrate.json");
  BOOST_TEST(OpFileName("../etc/passwd") == "ops/_2e._2fetc_2fpasswd.rehydrate.json");
  BOOST_TEST(OpFileName("a_b") == "ops/a_5fb.rehydrate.json");
  std::set<std::string> names;
  const std::vector<std::string> ids = {"a_5fb", "a_b", "a/b", "a b", ".", "..", "_", "", "é", std::string(200, 'x'),
                                        std::string(201, 'x')};
  for (const auto& id : ids) {
    const auto n = OpFileName(id);
    BOOST_TEST(UnsafeNameReason(n).empty(), n);
    BOOST_TEST(n.size() < 200u);
    names.insert(n);
  }
  BOOST_TEST(names.size() == ids.size());
}

BOOST_AUTO_TEST_CASE(masking) {
  std::vector<std::string> masked;
  const std::string body = R"({"actor":"u1","payload":{"amount_cents":5,"currency":"EUR"},"a/b":1})";
  const auto m = MaskBody(body, {"/actor", "/payload/amount_cents", "/absent", "/a~1b", "/actor/deeper"}, &masked);
  BOOST_TEST(masked.size() == 3u);
  const auto j = nlohmann::json::parse(m);
  BOOST_TEST(j["actor"] == kMaskedValue);
  BOOST_TEST(j["payload"]["amount_cents"] == kMaskedValue);
  BOOST_TEST(j["payload"]["currency"] == "EUR");
  BOOST_TEST(j["a/b"] == kMaskedValue);
  BOOST_TEST(MaskBody(body, {"/nothing"}, &masked) == body);   // untouched: stored text as is
  BOOST_TEST(masked.empty());
}

BOOST_AUTO_TEST_CASE(unsafe_zip_names) {
  for (const char* bad : {"/abs", "../x", "a/../../x", "a\\b", "C:/x", "a//b", "a/./b", "dir/", "", "a\x01"}) {
    BOOST_TEST(!UnsafeNameReason(bad).empty(), bad);
  }
  BOOST_TEST(UnsafeNameReason("ops/op-1.rehydrate.json").empty());
}

BOOST_AUTO_TEST_CASE(bundle_round_trip_in_memory_and_through_libzip) {
  const SigningKey key = SigningKey::FromSeed(Seed(7));
  const auto files = Bundle(key);
  std::vector<std::string> names;
  for (const auto& f : files) names.push_back(f.name);
  BOOST_TEST(std::is_sorted(names.begin(), names.end()));
  BOOST_TEST(names.size() == 6u);
  const auto rep = VerifyBundle(files, {key.public_key()}, NoHasher());
  BOOST_TEST(rep.count(Verdict::kFail) == 0);
  BOOST_TEST(rep.count(Verdict::kOk) >= 10);
  BOOST_TEST(rep.exit_code() == 3);   // no body hasher in this test: body->hash unproven
  // With a hasher that agrees, everything verifies: exit 0.
  const auto ok_hasher = [](const std::string&) -> std::optional<std::string> { return std::string(64, 'a'); };
  auto files_a = files;
  // (only op-1's receipt has hash aaaa..; op-2's must then fail)
  const auto rep2 = VerifyBundle(files_a, {key.public_key()}, ok_hasher);
  BOOST_TEST(rep2.count(Verdict::kFail) == 1);
  // Deterministic, through libzip.
  TempDir d;
  const auto p1 = (d.path / "a.zip").string(), p2 = (d.path / "b.zip").string();
  WriteZip(p1, files);
  WriteZip(p2, Bundle(key));
  std::ifstream a(p1, std::ios::binary), b(p2, std::ios::binary);
  const std::string ba((std::istreambuf_iterator<char>(a)), {}), bb((std::istreambuf_iterator<char>(b)), {});
  BOOST_TEST(ba == bb);
  const auto back = ReadZip(p1);
  BOOST_TEST(back.size() == files.size());
  BOOST_TEST(VerifyBundle(back, {key.public_key()}, NoHasher()).count(Verdict::kFail) == 0);
  // Wrong key only: rejected.
  BOOST_TEST(VerifyBundle(files, {SigningKey::FromSeed(Seed(8)).public_key()}, NoHasher()).exit_code() == 1);
  // Every single-byte change anywhere is rejected.
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto t = files;
    t[i].data[t[i].data.size() / 2] ^= 1;
    BOOST_TEST(VerifyBundle(t, {key.public_key()}, NoHasher()).exit_code() == 1, files[i].name);
  }
  // A missing and an extra file.
  auto t = files;
  t.erase(t.begin());
  BOOST_TEST(VerifyBundle(t, {key.public_key()}, NoHasher()).exit_code() == 1);
  t = files;
  t.push_back({"extra", "x"});
  BOOST_TEST(VerifyBundle(t, {key.public_key()}, NoHasher()).exit_code() == 1);
}

BOOST_AUTO_TEST_CASE(hostile_zip_bytes) {
  // Empty input reads as an empty archive; the verifier rejects it.
  BOOST_TEST(VerifyBundle(ReadZipBytes(""), {SigningKey::FromSeed(Seed(1)).public_key()}, NoHasher()).exit_code() == 1);
  BOOST_CHECK_THROW(ReadZipBytes("PK\x03\x04 not really"), ZipError);
  ZipLimits tiny;
  tiny.max_archive_bytes = 10;
  BOOST_CHECK_THROW(ReadZipBytes(std::string(11, 'x'), tiny), ZipError);
}
