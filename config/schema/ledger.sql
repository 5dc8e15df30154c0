-- Reference schema of one regional ledger database (provledger_exporter's defaults).
-- The exporter only reads; every query it runs can be overridden in its config.

CREATE TABLE IF NOT EXISTS anchors (
    anchor_id      text PRIMARY KEY,            -- region-coded, e.g. 'eu-west:9f2c...'
    region         text        NOT NULL,
    anchor_hash    text        NOT NULL,
    receipt_count  integer     NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    anchored_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS receipts (
    receipt_id     text PRIMARY KEY,
    tenant_id      text        NOT NULL,
    op_id          text        NOT NULL,
    region         text        NOT NULL,
    policy_version text        NOT NULL,
    kid            text        NOT NULL,
    version        smallint    NOT NULL CHECK (version IN (1, 2)),
    body           jsonb       NOT NULL,
    content_hash   text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    anchor_id      text        REFERENCES anchors (anchor_id),   -- NULL until anchored
    anchored_at    timestamptz                                    -- NULL until anchored
);

-- Keyset cursors of the exporter's two receipt streams, and the anchor queue.
CREATE INDEX IF NOT EXISTS receipts_created_idx  ON receipts (created_at, receipt_id);
CREATE INDEX IF NOT EXISTS receipts_anchored_idx ON receipts (anchored_at, receipt_id)
    WHERE anchored_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS receipts_pending_idx  ON receipts (created_at) WHERE anchor_id IS NULL;

CREATE TABLE IF NOT EXISTS notary_proofs (
    anchor_id      text        NOT NULL REFERENCES anchors (anchor_id),
    notary         text        NOT NULL,
    proved_at      timestamptz NOT NULL,
    PRIMARY KEY (anchor_id, notary)
);
CREATE INDEX IF NOT EXISTS notary_proofs_proved_idx ON notary_proofs (proved_at);
