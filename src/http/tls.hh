// OpenSSL server context from a tls_server_config (http/web_config.hh).
#pragma once

#include <memory>
#include <stdexcept>

#include "http/web_config.hh"

struct ssl_ctx_st;

namespace provledger::http {

class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads the certificate chain, key and client CA files and applies the
// versions, cipher suites and client-auth type. Throws TlsError naming the
// file and OpenSSL's reason (missing file, key not matching the
// certificate, no usable cipher suite, ...).
std::shared_ptr<ssl_ctx_st> BuildTlsContext(const TlsServerConfig& tls);

}  // namespace provledger::http
