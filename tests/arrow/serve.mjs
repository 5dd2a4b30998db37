// One node for a test suite's checks (node and apache-arrow take some 0.4 s
// of CPU to start, more than most checks): reads requests from the FIFO IN
// and writes each answer to the FIFO OUT, until it is killed.
//   node serve.mjs IN OUT
// A request is NUL-terminated fields, the client's directory first, then
// check.mjs or frames.mjs and that script's arguments; the answer is the exit
// status on the first line, then what the script would have printed.
import { readFileSync, writeFileSync } from 'node:fs';
import { check } from './check.mjs';
import { frameLines } from './common.mjs';

const [fifoIn, fifoOut] = process.argv.slice(2);
if (!fifoIn || !fifoOut) {
  console.error('usage: node serve.mjs IN OUT');
  process.exit(2);
}
for (;;) {
  // Blocks until a client opens IN, returns when it closes it.
  const fields = readFileSync(fifoIn, 'utf8').split('\0');
  if (fields.length < 3) continue;
  fields.pop();
  const [dir, script, ...args] = fields;
  let answer;
  try {
    process.chdir(dir);
    if (script === 'check.mjs') {
      const { status, output } = check(args);
      answer = `${status}\n${output}`;
    } else if (script === 'frames.mjs') {
      answer = `0\n${frameLines(readFileSync(args[0])).join('\n')}`;
    } else {
      answer = `2\nserve.mjs: unknown script ${script}`;
    }
  } catch (e) {
    answer = `1\nserve.mjs: ${script}: ${e.message.split('\n')[0]}`;
  }
  writeFileSync(fifoOut, `${answer}\n`);
}
