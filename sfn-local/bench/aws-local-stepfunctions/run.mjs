// Runs the benchmark machine on aws-local-stepfunctions, its Task states overridden by a local
// function, and prints one JSON line: {"engine", "version", "states_entered_per_run",
// "seconds_per_run"}. A state transition is counted as a state entered (the Map state itself
// and each state of each iteration), the same way the Rust side counts it.
//
// Usage: node run.mjs [--machine FILE] [--items N] [--runs N] [--warmup N]

// aws-local-stepfunctions 3.x uses Promise.withResolvers (Node 22+); this polyfills it on Node 20.
Promise.withResolvers ??= () => { let resolve, reject; const promise = new Promise((res, rej) => { resolve = res; reject = rej; }); return { promise, resolve, reject }; };

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
// Imported after the polyfill above (static imports would be evaluated before it).
const { StateMachine } = await import('aws-local-stepfunctions');
const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}
const machinePath = option('machine', join(here, '..', 'map-pass-choice-task.asl.json'));
const itemCount = Number(option('items', '1000'));
const runs = Number(option('runs', '20'));
const warmup = Math.max(1, Number(option('warmup', '10')));

const definition = JSON.parse(readFileSync(machinePath, 'utf8'));
const input = { items: Array.from({ length: itemCount }, (_, i) => ({ id: i, value: i })) };

// The same identity-ish function as the Rust side's in-process handler.
const benchFunction = (payload) => ({ id: payload.id, value: payload.value, processed: true });
const taskResourceLocalHandlers = { ProcessLarge: benchFunction, ProcessSmall: benchFunction };

const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });

async function runOnce(countEvents) {
  const execution = machine.run(input, { overrides: { taskResourceLocalHandlers } });
  let entered = 0;
  if (countEvents) {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') entered += 1;
    }
  }
  const result = await execution.result;
  if (!Array.isArray(result) || result.length !== itemCount) {
    throw new Error(`unexpected result: ${JSON.stringify(result).slice(0, 200)}`);
  }
  return entered;
}

// Untimed runs count the states entered from the event log and warm the JIT up.
let statesEntered = 0;
for (let i = 0; i < warmup; i += 1) {
  statesEntered = await runOnce(true);
}
const secondsPerRun = [];
for (let i = 0; i < runs; i += 1) {
  const start = process.hrtime.bigint();
  await runOnce(false);
  secondsPerRun.push(Number(process.hrtime.bigint() - start) / 1e9);
}
const version = JSON.parse(readFileSync(join(here, 'node_modules', 'aws-local-stepfunctions', 'package.json'), 'utf8')).version;
console.log(JSON.stringify({
  engine: 'aws-local-stepfunctions',
  version,
  states_entered_per_run: statesEntered,
  seconds_per_run: secondsPerRun,
}));
