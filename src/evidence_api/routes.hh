// The HTTP routes of the evidence export API (docs/evidence.md, "Async
// API"), served by the exporter's own server (src/http) on handler threads:
//
//   POST /api/v1/evidence/exports            202 {"id", "state", "status_url", "bundle_url"}
//                                            + Location; 400 bad body, 413 body over
//                                            max_request_bytes, 429 + Retry-After queue full
//   GET  /api/v1/evidence/exports/{id}       200 the job (state, progress, error, summary)
//   GET  /api/v1/evidence/exports/{id}/bundle  200 application/zip when done, else 409
//   GET  /api/v1/evidence/exports            200 a small index of these endpoints (no token needed)
//
// Every other request needs "Authorization: Bearer <token>": missing,
// malformed or unknown token -> 401 with WWW-Authenticate; a token not
// allowed for the tenant (of the request body, or of the job) -> 403.
// Unknown or removed job -> 404; other methods -> 405 with Allow.
#pragma once

#include <string_view>
#include <vector>

#include "evidence_api/manager.hh"
#include "evidence_api/tokens.hh"
#include "http/server.hh"

namespace provledger::evidence_api {

// The manager and tokens must outlive the server.
http::Route MakeRoute(JobManager& manager, const TokenStore& tokens);

// The handler itself (what the route runs), for tests.
http::Response Handle(JobManager& manager, const TokenSet& tokens, const http::Request& req);

}  // namespace provledger::evidence_api
