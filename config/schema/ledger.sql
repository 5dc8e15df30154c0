-- Reference schema of one regional ledger database (provledger_exporter's defaults).
-- The exporter only reads; every query it runs can be overridden in its config.

-- Anchor root (docs/evidence.md): anchor_hash is the lower-case hex RFC 6962
-- Merkle tree head over the anchor's receipts:
--   leaves     = each receipt's content_hash as raw 32 bytes (decoded from its
--                64 hex digits), in (created_at, receipt_id) order, receipt_id
--                compared bytewise (COLLATE "C");
--   leaf hash  = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right);
--   for n > 1 leaves the left subtree holds the largest power of two < n
--   (the last node is never duplicated); receipt_count = n.
-- So each receipt has an inclusion proof (leaf index, tree size, audit path)
-- to its anchor, which provledger_evidence puts in bundles and verifies. A
-- ledger whose anchors follow another rule sets `anchor_root: opaque` in the
-- exporter config; its bundles then say "unproven", never "ok".
CREATE TABLE IF NOT EXISTS anchors (
    anchor_id      text PRIMARY KEY,            -- region-coded, e.g. 'eu-west:9f2c...'
    region         text        NOT NULL,
    anchor_hash    text        NOT NULL,        -- RFC 6962 root, see above
    receipt_count  integer     NOT NULL,        -- leaves in that tree
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
-- Evidence export (provledger_evidence): an operation's receipts, and an
-- anchor's members to rebuild its tree for inclusion proofs.
CREATE INDEX IF NOT EXISTS receipts_op_idx       ON receipts (tenant_id, op_id);
CREATE INDEX IF NOT EXISTS receipts_anchor_idx   ON receipts (anchor_id) WHERE anchor_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS notary_proofs (
    anchor_id      text        NOT NULL REFERENCES anchors (anchor_id),
    notary         text        NOT NULL,
    proved_at      timestamptz NOT NULL,
    PRIMARY KEY (anchor_id, notary)
);
CREATE INDEX IF NOT EXISTS notary_proofs_proved_idx ON notary_proofs (proved_at);
