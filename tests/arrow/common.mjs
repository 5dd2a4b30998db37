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
