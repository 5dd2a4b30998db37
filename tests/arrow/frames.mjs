// Prints where the encapsulated messages of an Arrow IPC stream or file are,
// one line each: OFFSET PREFIX METADATA BODY KIND (PREFIX: 8 with the
// 0xFFFFFFFF continuation marker, 4 without; the end-of-stream marker is
// KIND eos), found by apache-arrow's own Message decoder. The damage cases
// of tests/cli/split-cat/arrow-js.bats cut and flip bytes at these places.
//   node frames.mjs FILE
import { readFileSync } from 'node:fs';
import * as A from 'apache-arrow';

const bytes = readFileSync(process.argv[2]);
const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const isFile = bytes.subarray(0, 6).toString('latin1') === 'ARROW1';
let at = isFile ? 8 : 0;
while (at + 4 <= bytes.length) {
  const marked = view.getUint32(at, true) === 0xffffffff;
  const prefix = marked ? 8 : 4;
  const length = view.getInt32(at + prefix - 4, true);
  if (length === 0) {
    console.log(`${at} ${prefix} 0 0 eos`);
    break;
  }
  const message = A.Message.decode(bytes.subarray(at + prefix, at + prefix + length));
  const body = Number(message.bodyLength);
  console.log(`${at} ${prefix} ${length} ${body} ${A.MessageHeader[message.headerType]}`);
  at += prefix + length + body;
}
