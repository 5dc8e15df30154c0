// provledger_evidence command line (keygen, export, verify); main.cc is a
// thin wrapper so the tests can drive Run() too.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace provledger::evidence {

// Exit codes: 0 ok, 1 failure (verify: a check failed), 2 usage error,
// 3 verify: nothing failed but some step is unproven.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

// Unix seconds (integer or with a fraction) or RFC 3339 UTC
// ("2026-12-04T10:00:00Z", optional fraction) to microseconds.
bool ParseTime(const std::string& text, long long* us);

}  // namespace provledger::evidence
