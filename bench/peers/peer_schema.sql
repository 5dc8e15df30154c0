-- Extra objects in the peer's single database (both schemas loaded into it).
-- The index lets the coverage query probe receipts per operation instead of
-- hashing the whole table: the best a SQL-only peer can do for the window.
CREATE INDEX IF NOT EXISTS receipts_op_idx ON receipts (op_id);
CREATE TABLE IF NOT EXISTS flags (tenant text NOT NULL, feature text NOT NULL, pct double precision NOT NULL,
                                  PRIMARY KEY (tenant, feature));
