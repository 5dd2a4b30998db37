// What the writer and the checker of the Arrow tests share: one canonical
// string for a cell and for a schema field, so the writer can store what the
// checker compares against (TABLE.expect.json).
import * as A from 'apache-arrow';

// One canonical string for a cell, whatever apache-arrow returns for its type.
export function canon(v) {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'bigint': return `${v}n`;
    case 'number': return Object.is(v, -0) ? '-0' : String(v);
    case 'string': return JSON.stringify(v);
    case 'boolean': return String(v);
    default: break;
  }
  if (v instanceof Date) return `date(${v.getTime()})`;
  if (ArrayBuffer.isView(v)) return `[${Array.from(v, canon).join(',')}]`;
  if (typeof v[Symbol.iterator] === 'function') return `[${Array.from(v, canon).join(',')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${k}:${canon(x)}`).join(',')}}`;
}

export function describe(field) {
  const t = field.type;
  const dict = A.DataType.isDictionary(t) ? ` dictionary id ${t.id} indices ${t.indices} ordered ${t.isOrdered}` : '';
  const meta = [...field.metadata].map(([k, x]) => `${k}=${x}`).join(';');
  return `${field.name}: ${t}${field.nullable ? '' : ' not null'}${dict}${meta ? ` {${meta}}` : ''}`;
}

export function describeMetadata(schema) {
  return [...schema.metadata].map(([k, x]) => `${k}=${x}`).join(';');
}

// The encapsulated messages of an Arrow IPC stream or file, in order, found
// by apache-arrow's own Message decoder: { offset, prefix (8 with the
// 0xFFFFFFFF continuation marker, 4 without), metadata, body, kind } (kind
// 'eos' for the end-of-stream marker, the last). A file's are those between
// its magic and its footer.
export function frames(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isFile = bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString('latin1') === 'ARROW1';
  const out = [];
  let at = isFile ? 8 : 0;
  while (at + 4 <= bytes.length) {
    const prefix = view.getUint32(at, true) === 0xffffffff ? 8 : 4;
    const metadata = at + prefix <= bytes.length ? view.getInt32(at + prefix - 4, true) : -1;
    if (metadata === 0) {
      out.push({ offset: at, prefix, metadata: 0, body: 0, kind: 'eos' });
      break;
    }
    if (metadata < 0 || at + prefix + metadata > bytes.length) break;
    const message = A.Message.decode(bytes.subarray(at + prefix, at + prefix + metadata));
    const body = Number(message.bodyLength);
    out.push({ offset: at, prefix, metadata, body, kind: A.MessageHeader[message.headerType] });
    at += prefix + metadata + body;
  }
  return out;
}

// frames.mjs's output: one line a message, OFFSET PREFIX METADATA BODY KIND.
export function frameLines(bytes) {
  return frames(bytes).map((m) => `${m.offset} ${m.prefix} ${m.metadata} ${m.body} ${m.kind}`);
}
