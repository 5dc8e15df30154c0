// Default SQL for the reference schema (config/schema/*.sql). Each can be
// overridden per source in the config; the README ("Queries") documents the
// parameters and result columns, which are positional:
//
// All timestamps cross the wire as bigint Unix epoch microseconds, so keyset
// cursors are exact. Stream queries take ($1 after_us bigint, $2 after_id text,
// $3 upto_us bigint, $4 limit bigint) and must return rows with
// (ts, id) > ($1, $2) and ts <= $3, ordered by (ts, id), at most $4 of them.
#pragma once

namespace provledger::source {

// -> now_us bigint: the database clock; stream horizons are now_us - out_of_order.
inline constexpr const char* kDefaultClockQuery =
    "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

// -> receipt_id, tenant_id, op_id, region, policy_version, kid, version, body, content_hash, created_us
inline constexpr const char* kDefaultReceiptsQuery =
    "SELECT receipt_id, tenant_id, op_id, region, policy_version, kid, version, body::text, "
    "content_hash, (extract(epoch FROM created_at) * 1000000)::bigint "
    "FROM receipts "
    "WHERE (created_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
    "AND created_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "ORDER BY created_at, receipt_id LIMIT $4::bigint";

// -> receipt_id, tenant_id, created_us, anchored_us (stream keyed by anchored_at)
inline constexpr const char* kDefaultAnchoredQuery =
    "SELECT receipt_id, tenant_id, (extract(epoch FROM created_at) * 1000000)::bigint, "
    "(extract(epoch FROM anchored_at) * 1000000)::bigint "
    "FROM receipts "
    "WHERE anchored_at IS NOT NULL "
    "AND (anchored_at, receipt_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
    "AND anchored_at <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "ORDER BY anchored_at, receipt_id LIMIT $4::bigint";

// -> depth bigint
inline constexpr const char* kDefaultQueueDepthQuery =
    "SELECT count(*) FROM receipts WHERE anchor_id IS NULL";

// -> proved_us bigint, NULL when there is no proof
inline constexpr const char* kDefaultProofsLastQuery =
    "SELECT (extract(epoch FROM max(proved_at)) * 1000000)::bigint FROM notary_proofs";

// -> trace_id, span_id, tenant_id, op_id, start_us, attested_hash, name
// (an override may return the first six only: the operation kinds of the
// coverage report are then "")
inline constexpr const char* kDefaultSpansQuery =
    "SELECT trace_id, span_id, tenant_id, op_id, "
    "(extract(epoch FROM start_time) * 1000000)::bigint, attested_hash, name "
    "FROM spans "
    "WHERE op_id IS NOT NULL "
    "AND (start_time, span_id) > (timestamptz 'epoch' + $1::bigint * interval '1 microsecond', $2::text) "
    "AND start_time <= timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "ORDER BY start_time, span_id LIMIT $4::bigint";

}  // namespace provledger::source
