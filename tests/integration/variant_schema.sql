-- A ledger and trace store that do NOT follow the reference schema: other
-- table and column names, epoch-MILLISECOND bigint timestamps, the receipt
-- body as text. The exporter reads it through query overrides alone (see
-- kVariant* in common.hh, and the README's "Queries").

CREATE TABLE ledger_entries (
    entry_uuid     text PRIMARY KEY,
    org            text    NOT NULL,
    operation      text    NOT NULL,
    zone           text    NOT NULL,
    policy         text    NOT NULL,
    key_id         text    NOT NULL,
    schema_version integer NOT NULL,
    payload        text    NOT NULL,      -- receipt body (JSON as text)
    digest         text    NOT NULL,
    ts_ms          bigint  NOT NULL,      -- created, Unix epoch ms
    batch_ref      text,                  -- NULL until anchored
    sealed_ms      bigint                 -- anchored, Unix epoch ms
);
CREATE INDEX ledger_entries_ts_idx ON ledger_entries (ts_ms, entry_uuid);
CREATE INDEX ledger_entries_sealed_idx ON ledger_entries (sealed_ms, entry_uuid) WHERE sealed_ms IS NOT NULL;

CREATE TABLE seal_attestations (
    batch_ref      text   NOT NULL,
    notary         text   NOT NULL,
    attested_ms    bigint NOT NULL
);

CREATE TABLE trace_events (
    tid            text   NOT NULL,
    sid            text   NOT NULL,
    org            text,
    operation      text,
    started_ms     bigint NOT NULL,
    receipt_digest text,
    PRIMARY KEY (tid, sid)
);
CREATE INDEX trace_events_started_idx ON trace_events (started_ms, sid) WHERE operation IS NOT NULL;

CREATE TABLE feature_ramps (
    org      text    NOT NULL,
    feature  text    NOT NULL,
    percent  numeric NOT NULL
);
