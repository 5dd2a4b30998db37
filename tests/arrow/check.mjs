// Reads Arrow IPC streams and files with apache-arrow and compares them,
// value for value, with a test table as write.mjs wrote it (DIR/TABLE.expect.json):
//   node check.mjs DIR/TABLE GROUP [+ GROUP...] [table=DIR/TABLE GROUP...]
// A group is [@stream|@file] [max-rows=R] [max-bytes=S] [FROM:TO] FILE...: the files' record batches,
// in order, must hold rows FROM to TO of the table (default: all of them),
// and each file must carry the table's whole schema (fields, types,
// dictionary ids, metadata); @stream/@file also asks that each file is that
// form (a file begins with "ARROW1"); table=DIR/TABLE compares the groups
// after it with another table (one node for a case's every check); max-rows=R that each file holds at most
// R rows or a single record batch with rows; max-bytes=S that the record
// batch messages of each file hold at most S bytes, or are one. FILE '-' is standard input. Prints the
// first difference and exits 1; exits 0 when every group matches.
// check(ARGS) does the same in a running node (serve.mjs) and returns
// { status, output }; the tables' expect.json files are read once a process.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as A from 'apache-arrow';
import { canon, describe, describeMetadata, frames } from './common.mjs';

class Failure extends Error {}
function fail(message) {
  throw new Failure(`check.mjs: ${message}`);
}

const tables = new Map();
function load(path) {
  if (!tables.has(path)) {
    try {
      tables.set(path, JSON.parse(readFileSync(`${path}.expect.json`, 'utf8')));
    } catch (e) {
      fail(`${path}.expect.json: ${e.message} (node write.mjs makes it)`);
    }
  }
  return tables.get(path);
}

export function check(argv) {
  try {
    return { status: 0, output: compare(argv) };
  } catch (e) {
    if (e instanceof Failure) return { status: e.status ?? 1, output: e.message };
    throw e;
  }
}

function compare([first, ...args]) {
  const name = first && first.startsWith('table=') ? first.slice(6) : first;
  if (!name || args.length === 0) {
    const e = new Failure('usage: node check.mjs TABLE [@stream|@file] [FROM:TO] FILE... [+ ...]');
    e.status = 2;
    throw e;
  }
  // Splits the arguments into groups.
  const groups = [];
  let form = null;
  let group = null;
  let current = name;
  for (const arg of args) {
    if (arg === '+') { group = null; continue; }
    if (arg.startsWith('table=')) { current = arg.slice(6); group = null; form = null; continue; }
    if (group === null) { group = { table: current, from: 0, to: load(current).rows, files: [] }; groups.push(group); }
    if (arg === '@stream' || arg === '@file') { form = arg.slice(1); continue; }
    if (arg.startsWith('max-rows=')) { group.maxRows = Number(arg.slice(9)); continue; }
    if (arg.startsWith('max-bytes=')) { group.maxBytes = Number(arg.slice(10)); continue; }
    const slice = /^(\d+):(\d*)$/.exec(arg);
    if (slice && group.files.length === 0) {
      group.from = Number(slice[1]);
      group.to = slice[2] === '' ? load(current).rows : Number(slice[2]);
      continue;
    }
    group.files.push({ path: arg, form });
  }

  let checkedFiles = 0;
  for (const g of groups) {
    if (g.files.length === 0) fail('a group without files');
    const { fields: wantFields, metadata: wantMeta, columns: expected } = load(g.table);
    let row = g.from;
    for (const { path, form: wantForm } of g.files) {
      let bytes;
      try {
        bytes = readFileSync(path === '-' ? 0 : path);
      } catch (e) {
        fail(`${path}: ${e.message}`);
      }
      const isFile = bytes.length >= 6 && Buffer.from(bytes.subarray(0, 6)).toString('latin1') === 'ARROW1';
      if (wantForm && (wantForm === 'file') !== isFile) fail(`${path}: an Arrow ${isFile ? 'file' : 'stream'}, want an Arrow ${wantForm}`);
      let reader;
      let schema;
      let batches;
      try {
        reader = A.RecordBatchReader.from(bytes);
        reader.open();
        schema = reader.schema;
        batches = reader.readAll();
      } catch (e) {
        fail(`${path}: apache-arrow cannot read it: ${e.message.split('\n')[0]}`);
      }
      if (!schema) fail(`${path}: no schema (${bytes.length} bytes)`);
      if (isFile !== reader.isFile()) fail(`${path}: read as ${reader.isFile() ? 'a file' : 'a stream'} but it ${isFile ? 'starts' : 'does not start'} with ARROW1`);
      const gotFields = schema.fields.map(describe);
      for (let j = 0; j < Math.max(gotFields.length, wantFields.length); j++) {
        if (gotFields[j] !== wantFields[j]) fail(`${path}: schema field ${j}: got ${gotFields[j] ?? 'none'}, want ${wantFields[j] ?? 'none'}`);
      }
      const gotMeta = describeMetadata(schema);
      if (gotMeta !== wantMeta) fail(`${path}: schema metadata: got {${gotMeta}}, want {${wantMeta}}`);
      const fileRows = batches.reduce((n, batch) => n + batch.numRows, 0);
      if (g.maxRows !== undefined && fileRows > g.maxRows && batches.filter((batch) => batch.numRows > 0).length > 1) {
        fail(`${path}: ${fileRows} rows in ${batches.length} record batches, more than max-rows=${g.maxRows}`);
      }
      if (g.maxBytes !== undefined) {
        const records = frames(bytes).filter((m) => m.kind === 'RecordBatch');
        const size = records.reduce((n, m) => n + m.prefix + m.metadata + m.body, 0);
        if (size > g.maxBytes && records.length > 1) fail(`${path}: ${records.length} record batches of ${size} bytes, more than max-bytes=${g.maxBytes}`);
      }
      batches.forEach((batch, b) => {
        if (row + batch.numRows > g.to) fail(`${path}: batch ${b} ends at table row ${row + batch.numRows}, past row ${g.to}`);
        for (let j = 0; j < wantFields.length; j++) {
          let i = 0;
          for (const v of batch.getChildAt(j)) {
            const got = canon(v);
            if (got !== expected[j][row + i]) {
              fail(`${path}: batch ${b} row ${i} (table row ${row + i}) column ${wantFields[j].split(':')[0]}: got ${got.slice(0, 200)}, want ${expected[j][row + i].slice(0, 200)}`);
            }
            i += 1;
          }
        }
        row += batch.numRows;
      });
      checkedFiles += 1;
    }
    if (row !== g.to) fail(`${g.files.map((x) => x.path).join(' ')}: ${row - g.from} rows, want ${g.to - g.from} (table rows ${g.from} to ${g.to})`);
  }
  return `check.mjs: ${[...new Set(groups.map((g) => g.table))].join(' ')}: ${checkedFiles} files in ${groups.length} groups match`;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { status, output } = check(process.argv.slice(2));
  if (status === 0) console.log(output); else console.error(output);
  process.exit(status);
}
