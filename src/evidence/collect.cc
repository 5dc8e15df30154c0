#include "evidence/collect.hh"

#include <algorithm>
#include <map>
#include <set>

#include "compute/outcome.hh"
#include "evidence/bundle.hh"
#include "merkle/merkle.hh"
#include "pq/connection.hh"

namespace provledger::evidence {
namespace {

constexpr const char* kUs = "(extract(epoch FROM %s) * 1000000)::bigint";

std::string Us(const std::string& col) {
  std::string s = kUs;
  return s.replace(s.find("%s"), 2, col);
}

std::string At(std::int64_t us) { return std::to_string(us); }
constexpr const char* kTs = "(timestamptz 'epoch' + $%d::bigint * interval '1 microsecond')";
std::string Ts(int param) {
  char buf[96];
  std::snprintf(buf, sizeof buf, kTs, param);
  return buf;
}

bool HasOverrides(const config::LedgerQueries& q) {
  return !q.clock.empty() || !q.receipts.empty() || !q.anchored.empty() || !q.queue_depth.empty() ||
         !q.proofs_last.empty();
}

std::string Seconds(Micros us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(us) / 1e6);
  return buf;
}

// A connection of its own for this export (never a poller's), with the
// export's statement timeout and application name when set.
pq::Connection Connect(const config::Connection& conn, const CollectOptions& opt) {
  pq::ConnectOptions o = pq::OptionsFromConfig(conn);
  if (opt.statement_timeout_ms >= 0) {
    o.statement_timeout_ms = opt.statement_timeout_ms;
    o.lock_timeout_ms = -1;
  }
  if (!opt.application_name.empty()) o.application_name = opt.application_name;
  pq::Connection c(o);
  if (opt.on_connect) opt.on_connect(c);
  return c;
}

}  // namespace

std::string TextArray(const std::vector<std::string>& items) {
  std::string s = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) s += ',';
    s += '"';
    for (const char c : items[i]) {
      if (c == '"' || c == '\\') s += '\\';
      s += c;
    }
    s += '"';
  }
  return s + "}";
}

std::vector<std::string> MasksFor(const config::Config& cfg, const std::string& tenant) {
  std::vector<std::string> out = cfg.evidence.mask;
  for (const auto& [t, ptrs] : cfg.evidence.mask_by_tenant) {
    if (t == tenant) out.insert(out.end(), ptrs.begin(), ptrs.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void DecideOutcome(OpEvidence& op, Micros grace, Micros now) {
  std::sort(op.spans.begin(), op.spans.end(), [](const SpanInfo& a, const SpanInfo& b) {
    return std::tie(a.start, a.span_id) < std::tie(b.start, b.span_id);
  });
  if (op.spans.empty()) {
    op.outcome = "untraced";
    op.reason = "no span for this operation in the trace stores: the exporter's rules judge traced operations only";
    op.settled = false;
    for (auto& r : op.receipts) r.counts = false;
    return;
  }
  op.span_start = op.spans.front().start;
  op.attested_hash.clear();
  for (const auto& s : op.spans) {
    if (!s.attested_hash.empty()) {
      op.attested_hash = s.attested_hash;
      break;
    }
  }
  compute::OutcomeRule rule(op.span_start, grace, !op.attested_hash.empty());
  std::size_t late = 0, counted = 0;
  const ReceiptInfo* match = nullptr;
  for (auto& r : op.receipts) {
    const bool matches = r.content_hash == op.attested_hash;
    r.counts = rule.Consider(r.created_at, matches);
    if (!r.counts) ++late;
    else ++counted;
    if (r.counts && (matches || op.attested_hash.empty()) && match == nullptr) match = &r;
  }
  op.outcome = compute::OutcomeName(rule.result());
  op.settled = rule.deadline() <= now;
  switch (rule.result()) {
    case compute::Outcome::kAttested:
      op.reason = "receipt " + match->receipt_id + " (ledger " + match->ledger + ") created " +
                  Seconds(match->created_at - op.span_start) + " after the span start, within grace, " +
                  (op.attested_hash.empty() ? std::string("and the spans recorded no attested hash")
                                            : "with content_hash equal to the span's attested hash");
      break;
    case compute::Outcome::kDivergent:
      op.reason = std::to_string(counted) + " receipt(s) created within grace, none with content_hash equal to the "
                  "span's attested hash " + op.attested_hash;
      break;
    case compute::Outcome::kMissing:
      op.reason = "no receipt created by span start + grace" +
                  (late > 0 ? " (" + std::to_string(late) + " created later, which do not count)" : std::string());
      break;
  }
  if (!op.settled) op.reason += "; not settled yet at export time (start + grace is in the future)";
}

Collected Collect(const config::Config& cfg, const Query& q, Micros now, const CollectOptions& opt) {
  for (const auto& l : cfg.ledgers) {
    if (HasOverrides(l.queries))
      throw CollectError(cfg.path + ":" + std::to_string(l.line) + ": ledger " + l.name +
                         " overrides its queries; evidence export reads the reference schema "
                         "(config/schema/ledger.sql) only");
  }
  for (const auto& t : cfg.trace_stores) {
    if (!t.queries.clock.empty() || !t.queries.spans.empty())
      throw CollectError(cfg.path + ":" + std::to_string(t.line) + ": trace store " + t.name +
                         " overrides its queries; evidence export reads the reference schema "
                         "(config/schema/traces.sql) only");
  }
  auto progress = [&](const std::string& phase, std::size_t done, std::size_t total) {
    if (opt.progress) opt.progress(phase, done, total);
  };
  std::map<std::string, OpEvidence> ops;
  auto op_of = [&](const std::string& id) -> OpEvidence& {
    auto& o = ops[id];
    o.tenant = q.tenant;
    o.op_id = id;
    return o;
  };
  auto too_many = [&](std::size_t n) {
    if (n > opt.max_operations)
      throw CollectError("the query selects " + std::to_string(n) + " operations, over the limit of " +
                         std::to_string(opt.max_operations));
  };

  // Operations: given, or those with a span or a receipt in [from, to).
  std::vector<std::string> op_ids = q.op_ids;
  if (op_ids.empty()) {
    if (!q.from || !q.to) throw CollectError("give operation ids or a time range");
    std::set<std::string> found;
    for (const auto& t : cfg.trace_stores) {
      pq::Connection c = Connect(t.conn, opt);
      const auto r = c.Exec("SELECT DISTINCT op_id FROM spans WHERE tenant_id = $1 AND op_id IS NOT NULL AND "
                            "start_time >= " + Ts(2) + " AND start_time < " + Ts(3),
                            {q.tenant, At(*q.from), At(*q.to)});
      for (int i = 0; i < r.rows(); ++i) found.insert(std::string(r.text(i, 0)));
      too_many(found.size());
    }
    for (const auto& l : cfg.ledgers) {
      pq::Connection c = Connect(l.conn, opt);
      const auto r = c.Exec("SELECT DISTINCT op_id FROM receipts WHERE tenant_id = $1 AND created_at >= " + Ts(2) +
                                " AND created_at < " + Ts(3),
                            {q.tenant, At(*q.from), At(*q.to)});
      for (int i = 0; i < r.rows(); ++i) found.insert(std::string(r.text(i, 0)));
      too_many(found.size());
    }
    op_ids.assign(found.begin(), found.end());
  }
  std::sort(op_ids.begin(), op_ids.end());
  op_ids.erase(std::unique(op_ids.begin(), op_ids.end()), op_ids.end());
  too_many(op_ids.size());
  for (const auto& id : op_ids) op_of(id);
  const std::string ids = TextArray(op_ids);
  const std::vector<std::string> masks = MasksFor(cfg, q.tenant);
  // A migrated receipt's v2 form holds the v1 body under /payload: its
  // fields are masked there too.
  std::vector<std::string> v2_masks = masks;
  for (const auto& p : masks) v2_masks.push_back("/payload" + p);
  Collected out;
  out.mask = masks;

  std::size_t step = 0;
  const std::size_t steps = cfg.ledgers.size() + cfg.trace_stores.size();
  for (const auto& l : cfg.ledgers) {
    progress("ledger " + l.name, step++, steps);
    pq::Connection c = Connect(l.conn, opt);
    // provledger_migrate's archive of v1 originals, when this ledger has one.
    std::string archive;
    {
      const auto ar = c.Exec("SELECT to_regclass($1)::text", {std::string(kMigrationArchive)});
      if (ar.rows() == 1 && !ar.is_null(0, 0)) archive = std::string(ar.text(0, 0));
    }
    // A row is migrated when it is v2 and its original is archived (a v1 row
    // with an archive row is a half-done rollback: the row is the original).
    const std::string arch_cols =
        archive.empty() ? ", false, NULL::int, NULL::text, NULL::text, NULL::bigint"
                        : ", a.receipt_id IS NOT NULL, a.version::int, a.body::text, a.content_hash, " +
                              Us("a.migrated_at");
    const std::string arch_join =
        archive.empty() ? "" : " LEFT JOIN " + archive + " a ON a.receipt_id = r.receipt_id AND r.version = 2";
    const auto rr = c.Exec("SELECT r.receipt_id, r.op_id, r.region, r.policy_version, r.kid, r.version::int, "
                           "r.body::text, r.content_hash, " + Us("r.created_at") + ", r.anchor_id" + arch_cols +
                           " FROM receipts r" + arch_join +
                           " WHERE r.tenant_id = $1 AND r.op_id = ANY($2::text[]) ORDER BY r.created_at, r.receipt_id",
                           {q.tenant, ids});
    rr.ExpectColumns(15, "evidence receipts");
    std::map<std::string, std::vector<std::pair<OpEvidence*, std::size_t>>> by_anchor;
    for (int i = 0; i < rr.rows(); ++i) {
      OpEvidence& op = op_of(std::string(rr.text(i, 1)));
      ReceiptInfo r;
      r.ledger = l.name;
      r.region = std::string(rr.text(i, 2));
      r.receipt_id = std::string(rr.text(i, 0));
      r.policy_version = std::string(rr.text(i, 3));
      r.kid = std::string(rr.text(i, 4));
      r.version = static_cast<int>(rr.int64(i, 5));
      r.body = MaskBody(std::string(rr.text(i, 6)), masks, &r.masked);
      r.content_hash = std::string(rr.text(i, 7));
      r.created_at = rr.int64(i, 8);
      if (rr.text(i, 10) == "t") {
        // The receipt as written (what spans attested and, unless it was
        // anchored after the migration, what its anchor covers) is the
        // archived original; the row now is its v2 form.
        MigrationInfo m;
        m.archive_table = archive;
        m.migrated_at = rr.int64(i, 14);
        m.v2_version = r.version;
        m.v2_content_hash = r.content_hash;
        m.v2_body = MaskBody(std::string(rr.text(i, 6)), v2_masks, &m.v2_masked);
        r.version = static_cast<int>(rr.int64(i, 11));
        r.body = MaskBody(std::string(rr.text(i, 12)), masks, &r.masked);
        r.content_hash = std::string(rr.text(i, 13));
        r.migration = std::move(m);
      }
      if (rr.is_null(i, 9)) r.proof_note = "not anchored at export time";
      else by_anchor[std::string(rr.text(i, 9))].emplace_back(&op, op.receipts.size());
      op.receipts.push_back(std::move(r));
    }
    if (by_anchor.empty()) continue;
    std::vector<std::string> anchor_ids;
    for (const auto& [a, _] : by_anchor) anchor_ids.push_back(a);
    const std::string aids = TextArray(anchor_ids);
    std::map<std::string, AnchorInfo> anchors;
    const auto ar = c.Exec("SELECT anchor_id, anchor_hash, receipt_count, " + Us("anchored_at") +
                               " FROM anchors WHERE anchor_id = ANY($1::text[])",
                           {aids});
    for (int i = 0; i < ar.rows(); ++i) {
      AnchorInfo a;
      a.anchor_id = std::string(ar.text(i, 0));
      a.anchor_hash = std::string(ar.text(i, 1));
      a.receipt_count = ar.int64(i, 2);
      a.anchored_at = ar.int64(i, 3);
      a.rfc6962 = l.anchor_root == config::Ledger::AnchorRoot::kRfc6962;
      anchors[a.anchor_id] = std::move(a);
    }
    const auto nr = c.Exec("SELECT anchor_id, notary, " + Us("proved_at") +
                               " FROM notary_proofs WHERE anchor_id = ANY($1::text[]) ORDER BY anchor_id, proved_at, notary",
                           {aids});
    for (int i = 0; i < nr.rows(); ++i) {
      auto it = anchors.find(std::string(nr.text(i, 0)));
      if (it != anchors.end()) it->second.notary_proofs.push_back({std::string(nr.text(i, 1)), nr.int64(i, 2)});
    }
    // Members of each anchor, to rebuild its tree (RFC 6962 ledgers only).
    struct Member {
      Micros created;
      std::string receipt_id;
      std::string hash;       // the row's content_hash now
      std::string original;   // the archived original's, for a migrated row ("" otherwise)
    };
    std::map<std::string, std::vector<Member>> members;
    if (l.anchor_root == config::Ledger::AnchorRoot::kRfc6962) {
      const auto mr = c.Exec("SELECT r.anchor_id, r.receipt_id, r.content_hash, " + Us("r.created_at") + ", " +
                                 (archive.empty() ? std::string("NULL::text") : std::string("a.content_hash")) +
                                 " FROM receipts r" + arch_join + " WHERE r.anchor_id = ANY($1::text[])",
                             {aids});
      for (int i = 0; i < mr.rows(); ++i) {
        members[std::string(mr.text(i, 0))].push_back({mr.int64(i, 3), std::string(mr.text(i, 1)),
                                                       std::string(mr.text(i, 2)),
                                                       mr.is_null(i, 4) ? std::string() : std::string(mr.text(i, 4))});
      }
    }
    for (auto& [aid, refs] : by_anchor) {
      const auto a = anchors.find(aid);
      for (auto& [op, idx] : refs) {
        ReceiptInfo& r = op->receipts[idx];
        if (a == anchors.end()) {
          r.proof_note = "anchor " + aid + " is not in the anchors table";
          continue;
        }
        r.anchor = a->second;
      }
      if (a == anchors.end() || !a->second.rfc6962) {
        for (auto& [op, idx] : refs) {
          if (a != anchors.end()) op->receipts[idx].proof_note = "ledger " + l.name + " has anchor_root: opaque";
        }
        continue;
      }
      auto& m = members[aid];
      std::sort(m.begin(), m.end(), [](const Member& x, const Member& y) {
        return std::tie(x.created, x.receipt_id) < std::tie(y.created, y.receipt_id);
      });
      // Leaves: migrated members by their original hash (an anchor made
      // before the migration); when that root differs from the stored one
      // and some member was migrated, by the hashes now (anchored after it).
      auto leaves_of = [&](bool originals, std::vector<merkle::Hash>* leaves) {
        leaves->clear();
        for (const auto& mem : m) {
          const auto h = merkle::HashFromHex(originals && !mem.original.empty() ? mem.original : mem.hash);
          if (!h) return false;
          leaves->push_back(merkle::LeafHash(*h));
        }
        return true;
      };
      std::vector<merkle::Hash> leaves;
      bool ok = leaves_of(true, &leaves);
      bool anchored_v2 = false;
      if (ok && merkle::ToHex(merkle::RootFromLeafHashes(leaves)) != a->second.anchor_hash &&
          std::any_of(m.begin(), m.end(), [](const Member& x) { return !x.original.empty(); })) {
        std::vector<merkle::Hash> now;
        if (leaves_of(false, &now) && merkle::ToHex(merkle::RootFromLeafHashes(now)) == a->second.anchor_hash) {
          leaves = std::move(now);
          anchored_v2 = true;
        }
      }
      if (!ok) {
        out.warnings.push_back("anchor " + aid + ": a member's content hash is not 64 hex digits; no proofs");
        for (auto& [op, idx] : refs) op->receipts[idx].proof_note = "anchor has a member hash that is not 64 hex digits";
        continue;
      }
      if (merkle::ToHex(merkle::RootFromLeafHashes(leaves)) != a->second.anchor_hash ||
          static_cast<std::int64_t>(leaves.size()) != a->second.receipt_count) {
        out.warnings.push_back("anchor " + aid + ": its members' RFC 6962 root or count differs from the stored "
                               "anchor (tampered, or a ledger not following the definition: anchor_root: opaque)");
      }
      for (auto& [op, idx] : refs) {
        ReceiptInfo& r = op->receipts[idx];
        if (r.migration) r.migration->anchored_v2 = anchored_v2;
      }
      const auto proofs = merkle::AllInclusionProofs(leaves);
      for (auto& [op, idx] : refs) {
        ReceiptInfo& r = op->receipts[idx];
        const auto it = std::find_if(m.begin(), m.end(), [&](const Member& x) { return x.receipt_id == r.receipt_id; });
        const auto li = static_cast<std::size_t>(it - m.begin());
        InclusionProof p;
        p.leaf_index = li;
        p.tree_size = leaves.size();
        for (const auto& h : proofs[li]) p.path.push_back(merkle::ToHex(h));
        r.proof = std::move(p);
      }
    }
  }
  for (const auto& t : cfg.trace_stores) {
    progress("trace store " + t.name, step++, steps);
    pq::Connection c = Connect(t.conn, opt);
    const auto sr = c.Exec("SELECT op_id, trace_id, span_id, name, " + Us("start_time") + ", " + Us("end_time") +
                               ", attested_hash FROM spans WHERE tenant_id = $1 AND op_id = ANY($2::text[])",
                           {q.tenant, ids});
    sr.ExpectColumns(7, "evidence spans");
    for (int i = 0; i < sr.rows(); ++i) {
      SpanInfo s;
      s.store = t.name;
      s.trace_id = std::string(sr.text(i, 1));
      s.span_id = std::string(sr.text(i, 2));
      s.name = std::string(sr.text(i, 3));
      s.start = sr.int64(i, 4);
      s.end = sr.int64(i, 5);
      if (!sr.is_null(i, 6)) s.attested_hash = std::string(sr.text(i, 6));
      op_of(std::string(sr.text(i, 0))).spans.push_back(std::move(s));
    }
  }
  progress("outcomes", steps, steps);
  for (auto& [id, op] : ops) {
    DecideOutcome(op, cfg.coverage.grace_ms * 1000, now);
    out.ops.push_back(std::move(op));
  }
  return out;
}

}  // namespace provledger::evidence
