// Receipts v2 reference adapter for TypeScript/JavaScript writers (Node 18+,
// no runtime dependencies; types in receipt.d.ts).
//
// The contract is docs/receipts.md and schema/receipt-v2.schema.json of
// provledger_exporter; the C++ library src/receipt and adapters/python
// implement the same rules and are held to the same fixtures
// (tests/fixtures/receipts). Three things: parse/validate (parse, readV2,
// checkBody), v1 -> v2 (readV1, convertV1), canonical hash (canonicalize,
// contentHash = lowercase hex SHA-256 of the RFC 8785 form).
//
// Bodies are Uint8Array (UTF-8 bytes) or string. Errors throw ReceiptError
// with a `code`: "json", "not_object", "version", "v2", "columns", "convert".
import { createHash } from 'node:crypto';

export const SCHEMA_V2 = 'provledger.receipt/v2';
export const MAX_DEPTH = 128;

export class ReceiptError extends Error {
  /** @param {string} code @param {string} message */
  constructor(code, message) {
    super(message);
    this.name = 'ReceiptError';
    this.code = code;
  }
}

const jsonError = (msg, at) => new ReceiptError('json', at === undefined ? msg : `byte ${at}: ${msg}`);

// ---- strict JSON reader (I-JSON): JSON.parse accepts duplicate keys and
// lone surrogate escapes, so this is a small parser of its own ----

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PLAIN = /[^"\\\u0000-\u001f]*/y;
const SIMPLE_ESCAPES = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  constructor(text) {
    this.s = text;
    this.i = 0;
  }

  ws() {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.i++;
    }
  }

  value(depth) {
    this.ws();
    if (this.i >= this.s.length) throw jsonError('unexpected end of input; expected a value', this.i);
    const c = this.s[this.i];
    if (c === '{' || c === '[') {
      if (depth >= MAX_DEPTH) throw jsonError(`nesting deeper than ${MAX_DEPTH} levels`, this.i);
      return c === '{' ? this.object(depth + 1) : this.array(depth + 1);
    }
    if (c === '"') return this.string();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) throw jsonError('unexpected character; expected a value', this.i);
    this.i += m[0].length;
    const v = Number(m[0]);
    if (!Number.isFinite(v)) throw jsonError('number overflow (not a finite double)', this.i);
    return v === 0 ? 0 : v;   // -0 reads as 0
  }

  object(depth) {
    this.i++;
    const o = Object.create(null);
    const seen = new Set();
    this.ws();
    if (this.s[this.i] === '}') {
      this.i++;
      return o;
    }
    for (;;) {
      this.ws();
      if (this.s[this.i] !== '"') throw jsonError('expected a string (object key)', this.i);
      const k = this.string();
      if (seen.has(k)) throw jsonError(`duplicate key ${JSON.stringify(k)}`, this.i);
      seen.add(k);
      this.ws();
      if (this.s[this.i] !== ':') throw jsonError("expected ':' after an object key", this.i);
      this.i++;
      o[k] = this.value(depth);
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return o;
      if (c !== ',') throw jsonError("expected ',' or '}'", this.i - 1);
    }
  }

  array(depth) {
    this.i++;
    const a = [];
    this.ws();
    if (this.s[this.i] === ']') {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value(depth));
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return a;
      if (c !== ',') throw jsonError("expected ',' or ']'", this.i - 1);
    }
  }

  hex4() {
    const h = this.s.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) throw jsonError("'\\u' must be followed by 4 hex digits", this.i);
    this.i += 4;
    return parseInt(h, 16);
  }

  string() {
    this.i++;
    let out = '';
    for (;;) {
      PLAIN.lastIndex = this.i;
      const m = PLAIN.exec(this.s);
      out += m[0];
      this.i += m[0].length;
      if (this.i >= this.s.length) throw jsonError('unterminated string', this.i);
      const c = this.s[this.i++];
      if (c === '"') return out;
      if (c !== '\\') throw jsonError('control character in a string must be escaped', this.i - 1);
      const e = this.s[this.i++];
      if (e in SIMPLE_ESCAPES) {
        out += SIMPLE_ESCAPES[e];
        continue;
      }
      if (e !== 'u') throw jsonError('invalid string escape', this.i - 2);
      const cp = this.hex4();
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (this.s[this.i] !== '\\' || this.s[this.i + 1] !== 'u') {
          throw jsonError('surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF', this.i);
        }
        this.i += 2;
        const lo = this.hex4();
        if (lo < 0xdc00 || lo > 0xdfff) {
          throw jsonError('surrogate U+D800..U+DBFF must be followed by U+DC00..U+DFFF', this.i - 6);
        }
        out += String.fromCharCode(cp, lo);
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        throw jsonError('surrogate U+DC00..U+DFFF must follow U+D800..U+DBFF', this.i - 6);
      } else {
        out += String.fromCharCode(cp);
      }
    }
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** @param {Uint8Array|string} body */
function text(body) {
  if (typeof body === 'string') {
    if (!body.isWellFormed ? /[\ud800-\udfff]/.test(body.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))
                           : !body.isWellFormed()) {
      throw jsonError('not valid UTF-8 (lone surrogate)');
    }
    return body;
  }
  try {
    return decoder.decode(body);
  } catch {
    throw jsonError('not valid UTF-8');
  }
}

/** The value of a body read as the contract's strict JSON (I-JSON). */
export function parse(body) {
  const s = text(body);
  if (s.charCodeAt(0) === 0xfeff) throw jsonError('a byte order mark is not allowed', 0);
  const p = new Parser(s);
  const v = p.value(0);
  p.ws();
  if (p.i !== s.length) throw jsonError('expected end of input after the value', p.i);
  return v;
}

// ---- canonical form (RFC 8785) ----

/** ECMAScript Number.prototype.toString of a finite number (RFC 8785 3.2.2.3). */
export function formatNumber(x) {
  if (!Number.isFinite(x)) throw new RangeError('NaN and Infinity have no JSON form');
  return JSON.stringify(x);   // ES6 ToString; -0 -> "0"
}

function canon(v, out) {
  if (v === null || typeof v === 'boolean') out.push(String(v));
  else if (typeof v === 'number') out.push(formatNumber(v));
  else if (typeof v === 'string') out.push(JSON.stringify(v));   // JCS escaping for well-formed strings
  else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i) out.push(',');
      canon(x, out);
    });
    out.push(']');
  } else if (typeof v === 'object') {
    out.push('{');
    Object.keys(v).sort().forEach((k, i) => {   // UTF-16 code unit order
      if (i) out.push(',');
      out.push(JSON.stringify(k), ':');
      canon(v[k], out);
    });
    out.push('}');
  } else {
    throw new TypeError(`not a JSON value: ${typeof v}`);
  }
}

/** RFC 8785 serialization of an already parsed value, as UTF-8 bytes. */
export function canonicalBytes(value) {
  const out = [];
  canon(value, out);
  return new TextEncoder().encode(out.join(''));
}

/** RFC 8785 serialization of a body. */
export function canonicalize(body) {
  return canonicalBytes(parse(body));
}

/** Lowercase hex SHA-256 of the body's canonical form. */
export function contentHash(body) {
  return createHash('sha256').update(canonicalize(body)).digest('hex');
}

// ---- timestamps ----

const TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z$/;

/** Epoch microseconds (BigInt) of YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z, or null. */
export function parseTimestamp(s) {
  const m = TS.exec(s);
  if (m === null) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number);
  const frac = BigInt((m[7] ?? '').padEnd(6, '0'));
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59 || d > days[mo - 1]) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);   // years 0..99 need setUTCFullYear
  const t = new Date(ms);
  t.setUTCFullYear(y);
  return BigInt(t.getTime()) * 1000n + frac;
}

/** RFC 3339 UTC with 6 fraction digits of epoch microseconds (BigInt or number). */
export function formatTimestamp(us) {
  const u = BigInt(us);
  let ms = u / 1000n;
  let frac = u % 1000000n;
  if (frac < 0n) {
    frac += 1000000n;
  }
  ms = (u - frac) / 1000n;
  const d = new Date(Number(ms));
  const pad = (n, w) => String(n).padStart(w, '0');
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T` +
         `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.` +
         `${pad(frac, 6)}Z`;
}

// ---- the typed model ----

/** The deepest nesting of a parsed value: 0 for a scalar, 1 for {} or []. */
export function depth(v) {
  if (v === null || typeof v !== 'object') return 0;
  let d = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) d = Math.max(d, depth(x));
  return d + 1;
}

const IDENTITY = ['receipt_id', 'tenant_id', 'op_id', 'policy_version', 'kid', 'region'];
const OPTIONAL_STR = ['action', 'actor', 'resource', 'decision'];
const KNOWN = ['schema', ...IDENTITY, 'created_at', ...OPTIONAL_STR, 'payload', 'migrated_from'];
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const v2Error = (msg) => new ReceiptError('v2', msg);

function object(body) {
  const v = parse(body);
  if (!isObject(v)) {
    const kind = Array.isArray(v) ? 'array' : typeof v === 'string' ? 'string' : 'scalar (number, boolean or null)';
    throw new ReceiptError('not_object', `body is a JSON ${kind}, not an object`);
  }
  return v;
}

function validateV2(o) {
  const r = { version: 2 };
  for (const f of KNOWN) {
    const required = f === 'schema' || IDENTITY.includes(f);
    if (!has(o, f)) {
      if (required) throw v2Error(`v2 body lacks field "${f}"`);
      continue;
    }
    const v = o[f];
    if (f === 'payload' || f === 'migrated_from') {
      if (!isObject(v)) throw v2Error(`v2 body field "${f}" is not an object`);
      if (f === 'payload') {
        r.payload = v;
      } else {
        if (v.version !== 1) throw v2Error('v2 body field "migrated_from" needs "version": 1');
        if (typeof v.content_hash !== 'string') {
          throw v2Error('v2 body field "migrated_from" needs a string "content_hash"');
        }
        r.migratedFromHash = v.content_hash;
      }
      continue;
    }
    if (typeof v !== 'string') throw v2Error(`v2 body field "${f}" is not a string`);
    if (f === 'schema') {
      if (v !== SCHEMA_V2) throw v2Error(`v2 body field "schema" is "${v}", expected "${SCHEMA_V2}"`);
    } else if (required) {
      if (v === '') throw v2Error(`v2 body field "${f}" is empty`);
      r[f] = v;
    } else if (f === 'created_at') {
      const us = parseTimestamp(v);
      if (us === null) throw v2Error(`v2 body field "created_at" is not an RFC 3339 UTC timestamp: "${v}"`);
      r.createdUs = us;
    } else {
      r[f] = v;
    }
  }
  r.extra = Object.fromEntries(Object.entries(o).filter(([k]) => !KNOWN.includes(k)));
  return r;
}

/** Parses and validates a v2 body against the contract (not against a row). */
export function readV2(body) {
  return validateV2(object(body));
}

/** A v1 row in the v2 model (docs/receipts.md, mapping); payload = the v1 body. */
export function readV1(body, columns) {
  const o = object(body);
  const d = depth(o);
  if (d >= MAX_DEPTH) {
    throw new ReceiptError('convert', `v1 body is nested ${d} deep; as the v2 payload it would exceed ${MAX_DEPTH}`);
  }
  const r = { version: 1 };
  for (const [col, name] of [['receipt_id', null], ['tenant_id', 'tenant'], ['op_id', 'op']]) {
    const cv = columns[col] ?? '';
    if (cv === '') throw new ReceiptError('convert', `column ${col} is empty`);
    if (name !== null && has(o, name) && o[name] !== cv) {
      throw new ReceiptError('convert', `v1 body field "${name}" differs from column ${col}`);
    }
    r[col] = cv;
  }
  for (const [col, name] of [['policy_version', 'policy'], ['kid', 'kid'], ['region', 'region']]) {
    const cv = columns[col] ?? '';
    const bv = has(o, name) ? o[name] : undefined;
    if (cv !== '') {
      if (bv !== undefined && bv !== cv) {
        throw new ReceiptError('convert', `v1 body field "${name}" differs from column ${col}`);
      }
      r[col] = cv;
    } else if (typeof bv === 'string' && bv !== '') {
      r[col] = bv;
    } else {
      throw new ReceiptError('convert',
        `no ${col}: column is NULL or empty and the v1 body has no non-empty string "${name}"`);
    }
  }
  r.createdUs = BigInt(columns.created_us);
  r.payload = o;
  return r;
}

/** The canonical v2 body (bytes) of a model; absent optionals are left out. */
export function writeV2(r) {
  const o = { ...(r.extra ?? {}) };
  o.schema = SCHEMA_V2;
  for (const f of IDENTITY) o[f] = r[f];
  if (r.createdUs !== undefined && r.createdUs !== null) o.created_at = formatTimestamp(r.createdUs);
  for (const f of OPTIONAL_STR) if (r[f] !== undefined && r[f] !== null) o[f] = r[f];
  if (r.payload !== undefined && r.payload !== null) o.payload = r.payload;
  if (r.migratedFromHash !== undefined && r.migratedFromHash !== null) {
    o.migrated_from = { version: 1, content_hash: r.migratedFromHash };
  }
  return canonicalBytes(o);
}

/** The canonical v2 body of a v1 row, recording the row's stored hash. */
export function convertV1(body, columns) {
  const r = readV1(body, columns);
  r.migratedFromHash = columns.content_hash ?? '';
  return writeV2(r);
}

/** The exporter decoder's verdict on a stored body: returns or throws. */
export function checkBody(version, body, columns) {
  if (version !== 1 && version !== 2) throw new ReceiptError('version', `unsupported receipt version ${version}`);
  const o = object(body);
  if (version === 1) return;
  const r = validateV2(o);
  for (const f of IDENTITY) {
    if (r[f] !== (columns[f] ?? '')) {
      throw new ReceiptError('columns', `v2 body field "${f}" is "${r[f]}", expected "${columns[f] ?? ''}"`);
    }
  }
  if (r.createdUs !== undefined && r.createdUs !== BigInt(columns.created_us)) {
    throw new ReceiptError('columns', 'v2 body field "created_at" differs from the row');
  }
}
