#include "http/tls.hh"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

namespace provledger::http {

namespace {

std::string OpenSslReason() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string Join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// RequireAnyClientCert/RequestClientCert accept any certificate: the chain is
// not verified (Go's semantics).
int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

std::shared_ptr<ssl_ctx_st> BuildTlsContext(const TlsServerConfig& tls) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) throw TlsError("cannot create a TLS context: " + OpenSslReason());
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(c, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_set_min_proto_version(c, tls.min_version) != 1 || SSL_CTX_set_max_proto_version(c, tls.max_version) != 1) {
    throw TlsError("cannot set TLS versions: " + OpenSslReason());
  }
  if (tls.min_version < TLS1_2_VERSION) {
    // OpenSSL 3's default security level 1 refuses TLS 1.0/1.1 (SHA-1
    // signatures); the operator asked for them explicitly.
    SSL_CTX_set_security_level(c, 0);
  }
  if (!tls.cipher_suites.empty() && SSL_CTX_set_cipher_list(c, Join(tls.cipher_suites, ':').c_str()) != 1) {
    throw TlsError("cipher_suites: no usable cipher suite: " + OpenSslReason());
  }
  if (!tls.tls13_suites.empty() && SSL_CTX_set_ciphersuites(c, Join(tls.tls13_suites, ':').c_str()) != 1) {
    throw TlsError("cipher_suites: no usable TLS 1.3 suite: " + OpenSslReason());
  }
  if (SSL_CTX_use_certificate_chain_file(c, tls.cert_file.c_str()) != 1) {
    throw TlsError("cert_file \"" + tls.cert_file + "\": " + OpenSslReason());
  }
  if (SSL_CTX_use_PrivateKey_file(c, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw TlsError("key_file \"" + tls.key_file + "\": " + OpenSslReason());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    throw TlsError("key_file \"" + tls.key_file + "\" does not match cert_file \"" + tls.cert_file +
                   "\": " + OpenSslReason());
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, tls.client_ca_file.c_str(), nullptr) != 1) {
      throw TlsError("client_ca_file \"" + tls.client_ca_file + "\": " + OpenSslReason());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(c, names);
  }
  switch (tls.client_auth) {
    case ClientAuth::kNoClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientAuth::kRequestClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, AcceptAnyCertificate);
      break;
    case ClientAuth::kRequireAnyClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, AcceptAnyCertificate);
      break;
    case ClientAuth::kVerifyClientCertIfGiven:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
      break;
    case ClientAuth::kRequireAndVerifyClientCert:
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // Sessions are not resumed across a reload of the context (no ticket key
  // sharing needed); a fresh handshake per connection is fine at scrape rates.
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
  return std::shared_ptr<ssl_ctx_st>(ctx, ctx.get());
}

}  // namespace provledger::http
