-- Reference schema of the trace store (one row per span; spans are written when they end).

CREATE TABLE IF NOT EXISTS spans (
    trace_id       text        NOT NULL,       -- 32 hex chars
    span_id        text        NOT NULL,       -- 16 hex chars
    tenant_id      text,
    op_id          text,                       -- NULL for spans that are not tenant operations
    name           text        NOT NULL,
    start_time     timestamptz NOT NULL,
    end_time       timestamptz NOT NULL,
    attested_hash  text,                       -- the receipt content hash the API recorded
    PRIMARY KEY (trace_id, span_id)
);

CREATE INDEX IF NOT EXISTS spans_start_idx ON spans (start_time, span_id) WHERE op_id IS NOT NULL;
-- Evidence export (provledger_evidence): an operation's spans.
CREATE INDEX IF NOT EXISTS spans_op_idx ON spans (tenant_id, op_id) WHERE op_id IS NOT NULL;
