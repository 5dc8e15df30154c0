// Types of receipt.mjs (receipts v2 reference adapter). Contract:
// docs/receipts.md and schema/receipt-v2.schema.json of provledger_exporter.

export declare const SCHEMA_V2: 'provledger.receipt/v2';
export declare const MAX_DEPTH: 128;

export type ErrorCode = 'json' | 'not_object' | 'version' | 'v2' | 'columns' | 'convert';

export declare class ReceiptError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string);
}

export type Body = Uint8Array | string;
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A receipt's row columns; a NULL column is "" (or absent). */
export interface Columns {
  receipt_id: string;
  tenant_id: string;
  op_id: string;
  region?: string;
  policy_version?: string;
  kid?: string;
  /** created_at as Unix epoch microseconds. */
  created_us: bigint | number;
  /** The stored content hash (convertV1 records it in migrated_from). */
  content_hash?: string;
}

/** One receipt in the v2 model. */
export interface Receipt {
  version: 1 | 2;
  receipt_id: string;
  tenant_id: string;
  op_id: string;
  region: string;
  policy_version: string;
  kid: string;
  createdUs?: bigint;
  action?: string;
  actor?: string;
  resource?: string;
  decision?: string;
  payload?: { [key: string]: JsonValue };
  migratedFromHash?: string;
  /** Unknown fields of a v2 body (kept by writeV2). */
  extra?: { [key: string]: JsonValue };
}

export declare function parse(body: Body): JsonValue;
export declare function depth(value: JsonValue): number;
export declare function formatNumber(x: number): string;
export declare function canonicalBytes(value: JsonValue): Uint8Array;
export declare function canonicalize(body: Body): Uint8Array;
export declare function contentHash(body: Body): string;
export declare function parseTimestamp(s: string): bigint | null;
export declare function formatTimestamp(us: bigint | number): string;
export declare function readV2(body: Body): Receipt;
export declare function readV1(body: Body, columns: Columns): Receipt;
export declare function writeV2(r: Receipt): Uint8Array;
export declare function convertV1(body: Body, columns: Columns): Uint8Array;
export declare function checkBody(version: number, body: Body, columns: Columns): void;
