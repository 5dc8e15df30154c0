// Runs the receipt fixture corpus through adapters/typescript; one JSON line per case.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as r from '../../adapters/typescript/receipt.mjs';

const fixtures = process.argv[2];
const doc = JSON.parse(readFileSync(join(fixtures, 'cases.json'), 'utf8'));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
for (const c of doc.cases) {
  const cols = { ...doc.columns, ...(c.columns ?? {}) };
  cols.created_us = r.parseTimestamp(cols.created_at);
  const body = new Uint8Array(readFileSync(join(fixtures, c.body)));
  const out = { name: c.name, impl: 'typescript' };
  try {
    r.checkBody(c.version, body, cols);
    Object.assign(out, { verdict: 'valid', error: null });
  } catch (e) {
    if (!(e instanceof r.ReceiptError)) throw e;
    Object.assign(out, { verdict: 'invalid', error: e.code, message: e.message });
  }
  try {
    out.canonical_hash = r.contentHash(body);
  } catch (e) {
    if (!(e instanceof r.ReceiptError)) throw e;
    out.canonical_hash = null;
  }
  if (c.version === 1) {
    try {
      const v2 = r.convertV1(body, cols);
      Object.assign(out, { convert: 'ok', v2_hash: createHash('sha256').update(v2).digest('hex') });
      try {
        const m = r.readV2(v2);   // the migration fills NULL columns from the conversion
        r.checkBody(2, v2, { ...cols, region: m.region, kid: m.kid, policy_version: m.policy_version });
        out.v2_valid = equal(Array.from(r.canonicalize(v2)), Array.from(v2));
      } catch {
        out.v2_valid = false;
      }
    } catch (e) {
      if (!(e instanceof r.ReceiptError)) throw e;
      Object.assign(out, { convert: e.code, v2_hash: null });
    }
  }
  console.log(JSON.stringify(out));
}

// RFC 8785 vectors: canonical bytes of each jcs/*.in.json, the number table.
for (const name of readdirSync(join(fixtures, 'jcs')).sort()) {
  if (!name.endsWith('.in.json')) continue;
  const got = Buffer.from(r.canonicalize(new Uint8Array(readFileSync(join(fixtures, 'jcs', name)))));
  console.log(JSON.stringify({ impl: 'typescript', jcs: name.slice(0, -8), canonical_hex: got.toString('hex') }));
}
for (const line of readFileSync(join(fixtures, 'numbers.txt'), 'utf8').split('\n')) {
  if (line.trim() === '' || line.startsWith('#')) continue;
  const hex = line.split(' ')[0];
  const value = Buffer.from(hex, 'hex').readDoubleBE(0);
  console.log(JSON.stringify({ impl: 'typescript', number: hex, text: r.formatNumber(value) }));
}
