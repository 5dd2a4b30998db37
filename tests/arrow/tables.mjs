// The test tables of tests/cli/split-cat/arrow-js.bats, built with apache-arrow
// from a seeded generator, so the writer and the checker build the same table.
import * as A from 'apache-arrow';

// A small seeded generator (mulberry32): the same table every run.
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f = (name, type, nullable = true) => new A.Field(name, type, nullable);
const WORDS = ['', 'a', 'fpga', 'Zürich', 'naïve café', '日本語テキスト', 'emoji 🚀 here',
  'x'.repeat(40), 'tab\tand\nnewline', 'Ωmega'];

// One column: its field and a value maker (r: the generator, i: the row).
// Every nullable column has nulls (about one value in seven).
function columns() {
  const point = new A.Struct([f('x', new A.Float64()), f('label', new A.Utf8())]);
  return [
    [f('i8', new A.Int8()), (r) => Math.floor(r() * 256) - 128],
    [f('i16', new A.Int16()), (r) => Math.floor(r() * 65536) - 32768],
    [f('i32', new A.Int32()), (r) => Math.floor(r() * 4294967296) - 2147483648],
    [f('i64', new A.Int64()), (r) => BigInt(Math.floor(r() * 2 ** 52)) * 4097n - 2n ** 62n],
    [f('u8', new A.Uint8()), (r) => Math.floor(r() * 256)],
    [f('u16', new A.Uint16()), (r) => Math.floor(r() * 65536)],
    [f('u32', new A.Uint32()), (r) => Math.floor(r() * 4294967296)],
    [f('u64', new A.Uint64()), (r) => BigInt(Math.floor(r() * 2 ** 53)) * 2047n],
    [f('f16', new A.Float16()), (r) => [0.5, -2, 1024, 0.25][Math.floor(r() * 4)]],
    [f('f32', new A.Float32()), (r) => Math.fround(r() * 1e6 - 5e5)],
    [f('f64', new A.Float64()), (r) => [r() * 1e300, -0, Infinity, NaN, r()][Math.floor(r() * 5)]],
    [f('flag', new A.Bool()), (r) => r() < 0.5],
    [f('text', new A.Utf8()), (r) => WORDS[Math.floor(r() * WORDS.length)]],
    [f('large_text', new A.LargeUtf8()), (r) => WORDS[Math.floor(r() * WORDS.length)].toUpperCase()],
    [f('text_view', new A.Utf8View()), (r) => WORDS[Math.floor(r() * WORDS.length)] + ' viewed'],
    [f('bytes', new A.Binary()), (r) => Uint8Array.from({ length: Math.floor(r() * 9) }, () => Math.floor(r() * 256))],
    [f('large_bytes', new A.LargeBinary()), (r) => Uint8Array.from({ length: Math.floor(r() * 5) }, () => Math.floor(r() * 256))],
    [f('fixed_bytes', new A.FixedSizeBinary(3)), (r) => Uint8Array.from({ length: 3 }, () => Math.floor(r() * 256))],
    [f('ints', new A.List(f('item', new A.Int32()))), (r) => Array.from({ length: Math.floor(r() * 4) }, () => (r() < 0.2 ? null : Math.floor(r() * 1000)))],
    [f('large_ints', new A.LargeList(f('item', new A.Int16()))), (r) => Array.from({ length: Math.floor(r() * 3) }, () => Math.floor(r() * 100))],
    [f('pair', new A.FixedSizeList(2, f('item', new A.Float32()))), (r) => [Math.fround(r()), Math.fround(-r())]],
    [f('point', point), (r) => ({ x: r() * 10, label: r() < 0.2 ? null : WORDS[Math.floor(r() * WORDS.length)] })],
    [f('points', new A.List(f('item', point))), (r) => Array.from({ length: Math.floor(r() * 3) }, () => ({ x: r(), label: WORDS[Math.floor(r() * 4)] }))],
    [f('tags', new A.Map_(f('entries', new A.Struct([f('key', new A.Utf8(), false), f('value', new A.Int32())]), false))),
      (r) => new Map(Array.from({ length: Math.floor(r() * 3) }, (_, k) => ['k' + k, Math.floor(r() * 50)]))],
    [f('day', new A.DateDay()), (r) => new Date(Math.floor(r() * 20000) * 86400000)],
    [f('day_ms', new A.DateMillisecond()), (r) => new Date(Math.floor(r() * 20000) * 86400000)],
    [f('when', new A.TimestampMillisecond('Europe/Zurich')), (r) => Math.floor(r() * 2e12)],
    [f('when_s', new A.TimestampSecond()), (r) => Math.floor(r() * 2e9) * 1000],
    [f('clock', new A.TimeMillisecond()), (r) => Math.floor(r() * 86400000)],
    [f('wait', new A.DurationNanosecond()), (r) => BigInt(Math.floor(r() * 1e15))],
    [f('span', new A.IntervalDayTime()), (r) => Int32Array.of(Math.floor(r() * 100), Math.floor(r() * 1000))],
    [f('price', new A.Decimal(4, 38, 128)), (r) => Uint32Array.of(Math.floor(r() * 4294967296), Math.floor(r() * 1000), 0, 0)],
  ];
}

// Dictionary-encoded string columns: [field, dictionary words, index type].
// Each batch adds a few words to its dictionary (apache-arrow writes them as
// delta dictionary batches); `replace` makes a new dictionary every few
// batches instead (replacement dictionaries: streams only).
const DICTS = [
  ['city', ['Bern', 'Genève', 'Zürich', 'Lugano', '東京', 'Reykjavík', 'Aïn Séfra', 'Ōsaka', 'São Paulo', 'Kraków'], new A.Int32()],
  ['colour', ['red', 'green', 'blue', '', 'mauve', 'teal', 'ochre', 'ultramarine'], new A.Int8()],
  ['unit', ['kg', 'm', 's', 'A', 'K', 'mol', 'cd'], new A.Uint16()],
];

// A table: { schema, batches }; spec: { seed, sizes (rows of each batch),
// dicts (true: delta dictionaries, 'replace': replacements), types (the
// column list above; else three simple columns) }.
function build(spec) {
  const r = rng(spec.seed);
  const cols = spec.types ? columns() : [
    [f('id', new A.Int64(), false), null],
    [f('value', new A.Float64()), (r) => r() * 1000],
    [f('name', new A.Utf8()), (r) => WORDS[Math.floor(r() * WORDS.length)] + Math.floor(r() * 1e6)],
  ];
  const dicts = spec.dicts ? DICTS.map(([name, words, index], k) =>
    ({ name, words, type: new A.Dictionary(new A.Utf8(), index, k, false), chunks: [], known: 0 })) : [];
  const fields = cols.map(([fl]) => fl).concat(dicts.map((d) => f(d.name, d.type)));
  const schema = new A.Schema(fields, new Map([['written-by', 'tests/arrow/tables.mjs'], ['table', spec.name]]));
  const batches = [];
  let row = 0;
  spec.sizes.forEach((n, b) => {
    const data = cols.map(([fl, make]) => {
      const values = Array.from({ length: n }, (_, i) =>
        make === null ? BigInt(row + i) : (fl.nullable && r() < 0.14 ? null : make(r, row + i)));
      return A.vectorFromArray(values, fl.type).data[0];
    });
    for (const d of dicts) {
      // Delta: a batch may use words up to known + 2 (the new ones are its delta).
      if (spec.dicts === 'replace' && b % 3 === 0) { d.chunks = []; d.known = 0; }
      const want = Math.min(d.words.length, d.known + 1 + Math.floor(r() * 2));
      if (want > d.known || d.chunks.length === 0) {
        const words = d.words.slice(d.known, Math.max(want, d.known + 1));
        d.chunks = d.chunks.concat(A.vectorFromArray(words, new A.Utf8()).data);
        d.known += words.length;
      }
      const dictionary = new A.Vector(d.chunks);
      const indices = A.vectorFromArray(Array.from({ length: n }, () =>
        (r() < 0.14 ? null : Math.floor(r() * d.known))), d.type.indices).data[0];
      data.push(A.makeData({ type: d.type, length: n, nullCount: indices.nullCount,
        nullBitmap: indices.nullBitmap, data: indices.values, dictionary }));
    }
    const struct = A.makeData({ type: new A.Struct(fields), length: n, nullCount: 0, children: data });
    batches.push(new A.RecordBatch(schema, struct));
    row += n;
  });
  return { schema, batches };
}

// The tables by name.
export const TABLES = {
  // Every column type, nulls in every column, delta dictionaries, empty
  // batches, batches of 1 row to 800 rows.
  types: { seed: 1, types: true, dicts: true, sizes: [5, 0, 1, 17, 0, 0, 300, 2, 800, 40, 0, 9, 400, 3] },
  // Replacement dictionaries (a new dictionary every third batch): streams only.
  replace: { seed: 2, types: false, dicts: 'replace', sizes: [4, 10, 0, 7, 30, 1, 2, 60, 5, 8, 0, 11] },
  // Many small batches and a few big ones.
  many: { seed: 3, types: false, dicts: true,
    sizes: Array.from({ length: 240 }, (_, i) => (i === 40 || i === 150 || i === 239 ? 3000 : (i * 7) % 13)) },
  // 0 rows: the schema (and its dictionaries' types), no batch.
  norows: { seed: 4, types: true, dicts: true, sizes: [] },
  // 0 rows in empty batches only.
  emptybatches: { seed: 5, types: true, dicts: true, sizes: [0, 0, 0] },
};

const cache = new Map();
export function table(name) {
  if (!(name in TABLES)) throw new Error(`no table '${name}' (tables: ${Object.keys(TABLES).join(', ')})`);
  if (!cache.has(name)) cache.set(name, build({ name, ...TABLES[name] }));
  return cache.get(name);
}
