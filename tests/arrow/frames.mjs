// Prints where the encapsulated messages of an Arrow IPC stream or file are,
// one line each: OFFSET PREFIX METADATA BODY KIND (PREFIX: 8 with the
// 0xFFFFFFFF continuation marker, 4 without; the end-of-stream marker is
// KIND eos), found by apache-arrow's own Message decoder. The damage cases
// of tests/cli/split-cat/arrow-js.bats cut and flip bytes at these places.
//   node frames.mjs FILE
import { readFileSync } from 'node:fs';
import { frameLines } from './common.mjs';

for (const line of frameLines(readFileSync(process.argv[2]))) console.log(line);
