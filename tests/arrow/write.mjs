// Writes the test tables with apache-arrow's own writers:
//   node write.mjs DIR [TABLE...]
// makes DIR/TABLE.stream (an IPC stream), DIR/TABLE.legacy (a stream in the
// format before Arrow 0.15: no 0xFFFFFFFF continuation marker before each
// message's length) and DIR/TABLE.arrow (an IPC file; none for tables with
// replacement dictionaries, which the file format forbids), and
// DIR/TABLE.expect.json, what check.mjs compares with: the schema's fields
// and metadata and every cell, column by column, as canonical strings. apache-arrow
// writes a file's schema only in its footer: the stream part between the
// magic and the footer starts with the first dictionary or record batch.
import { writeFileSync } from 'node:fs';
import * as A from 'apache-arrow';
import { TABLES, table } from './tables.mjs';
import { canon, describe, describeMetadata } from './common.mjs';

function write(Writer, t, options) {
  const writer = new Writer(options);
  writer.reset(undefined, t.schema); // the schema even when there is no batch
  for (const batch of t.batches) writer.write(batch);
  writer.finish();
  return writer.toUint8Array(true);
}

const [dir, ...names] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node write.mjs DIR [TABLE...]');
  process.exit(2);
}
for (const name of names.length ? names : Object.keys(TABLES)) {
  const t = table(name);
  writeFileSync(`${dir}/${name}.stream`, write(A.RecordBatchStreamWriter, t));
  writeFileSync(`${dir}/${name}.legacy`, write(A.RecordBatchStreamWriter, t, { writeLegacyIpcFormat: true }));
  if (TABLES[name].dicts !== 'replace') writeFileSync(`${dir}/${name}.arrow`, write(A.RecordBatchFileWriter, t));
  const columns = t.schema.fields.map(() => []);
  for (const batch of t.batches) {
    t.schema.fields.forEach((_, j) => {
      for (const v of batch.getChildAt(j)) columns[j].push(canon(v));
    });
  }
  writeFileSync(`${dir}/${name}.expect.json`, JSON.stringify({
    fields: t.schema.fields.map(describe), metadata: describeMetadata(t.schema),
    rows: t.batches.reduce((n, b) => n + b.numRows, 0), batches: t.batches.map((b) => b.numRows), columns }));
}
