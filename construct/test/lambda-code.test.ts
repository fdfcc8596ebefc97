/**
 * The deploy path of the Lambda code, with a stand-in cargo-lambda that writes the zips (the
 * real one cross-compiles, which the unit tests do not wait for), and prebuilt zips.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { applySkipBundlingContext, CargoLambdaBuild } from '../src/lambda-code';
import { SfnAgents } from '../src/sfn-agents';
import { FIXTURE_DIR } from './helpers';

const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/**
 * A workspace folder and a fake cargo-lambda that logs its arguments to `<root>/runs` and writes
 * `target/lambda/<bin>/bootstrap.zip` for each `--bin` except those in `skip`.
 */
function fakeWorkspace(skip: string[] = [], exitCode = 0): { root: string; cargoLambda: string } {
  const root = tmp('sfn-agent-workspace-');
  const cargoLambda = path.join(root, 'fake-cargo-lambda');
  fs.writeFileSync(
    cargoLambda,
    [
      '#!/usr/bin/env bash',
      'set -euo pipefail',
      'echo "$*" >> runs',
      'while [ $# -gt 0 ]; do',
      '  if [ "$1" = --bin ]; then',
      `    case " ${skip.join(' ')} " in *" $2 "*) ;; *) mkdir -p "target/lambda/$2"; printf "zip of $2" > "target/lambda/$2/bootstrap.zip";; esac`,
      '  fi',
      '  shift',
      'done',
      `exit ${exitCode}`,
      '',
    ].join('\n'),
  );
  fs.chmodSync(cargoLambda, 0o755);
  return { root, cargoLambda };
}

function functionIn(stack: Stack, id: string, code: lambda.Code): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.PROVIDED_AL2023,
    architecture: lambda.Architecture.ARM_64,
    handler: 'bootstrap',
    code,
  });
}

function stagedZips(directory: string): string[] {
  return fs
    .readdirSync(directory)
    .filter((f) => f.endsWith('.zip'))
    .map((f) => fs.readFileSync(path.join(directory, f), 'utf8'))
    .sort();
}

(hasCargo ? test : test.skip)('the construct builds every binary it needs in ONE cargo-lambda run and ships the zips as they are', () => {
  const { root, cargoLambda } = fakeWorkspace();
  const app = new App({ outdir: tmp('sfn-agent-cdkout-') });
  new SfnAgents(new Stack(app, 'S'), 'Agents', { stateMachinesDir: FIXTURE_DIR, cargoWorkspace: root, cargoLambda });
  const assembly = app.synth();
  expect(fs.readFileSync(path.join(root, 'runs'), 'utf8')).toBe(
    'lambda build --release --arm64 --output-format zip --bin llm-anthropic --bin llm-bedrock --bin sqs-trigger ' +
      '--bin tool-calculate --bin tool-current-time --bin tool-get-weather\n',
  );
  expect(stagedZips(assembly.directory)).toEqual(
    ['llm-anthropic', 'llm-bedrock', 'sqs-trigger', 'tool-calculate', 'tool-current-time', 'tool-get-weather'].map((b) => `zip of ${b}`),
  );
});

(hasCargo ? test : test.skip)("a team's project: its own tool and a stock one, the LLM and the trigger, from its own workspace", () => {
  const { root, cargoLambda } = fakeWorkspace();
  const app = new App({ outdir: tmp('sfn-agent-cdkout-') });
  const agents = new SfnAgents(new Stack(app, 'WordHelper'), 'Agents', {
    stateMachinesDir: path.join(__dirname, 'fixtures', 'custom-agent'),
    cargoWorkspace: root,
    cargoLambda,
  });
  app.synth();
  expect(fs.readFileSync(path.join(root, 'runs'), 'utf8')).toBe(
    'lambda build --release --arm64 --output-format zip --bin llm-anthropic --bin sqs-trigger --bin tool-calculate --bin tool-word-count\n',
  );
  expect([...agents.functions.keys()].sort()).toEqual(['llm-anthropic', 'sqs-trigger', 'tool-calculate', 'tool-word-count']);
});

(hasCargo ? test : test.skip)('a binary the build did not produce fails the synth naming the binary and the workspace', () => {
  const { root, cargoLambda } = fakeWorkspace(['tool-word-count']);
  const build = new CargoLambdaBuild({ workspace: root, binaries: ['tool-word-count'], cargoLambda });
  const app = new App({ outdir: tmp('sfn-agent-cdkout-') });
  expect(() => functionIn(new Stack(app, 'S'), 'F', build.code('tool-word-count'))).toThrow(
    `binary \`tool-word-count\` is not a [[bin]] of the workspace at ${root}: add src/bin/tool-word-count.rs`,
  );
});

(hasCargo ? test : test.skip)('a failed build says where, for which binaries', () => {
  const { root, cargoLambda } = fakeWorkspace([], 1);
  const build = new CargoLambdaBuild({ workspace: root, binaries: ['tool-a', 'tool-b'], cargoLambda });
  const app = new App({ outdir: tmp('sfn-agent-cdkout-') });
  expect(() => functionIn(new Stack(app, 'S'), 'F', build.code('tool-a'))).toThrow(
    `cargo lambda build failed in ${root} for tool-a, tool-b (exit 1)`,
  );
});

test('with bundling skipped nothing is built: no cargo-lambda run, no workspace read', () => {
  const { root, cargoLambda } = fakeWorkspace([], 1);
  const app = new App({ outdir: tmp('sfn-agent-cdkout-'), context: { 'sfnAgent:skipBundling': 'true' } });
  expect(applySkipBundlingContext(app)).toBe(true);
  new SfnAgents(new Stack(app, 'S'), 'Agents', { stateMachinesDir: FIXTURE_DIR, cargoWorkspace: root, cargoLambda });
  app.synth();
  expect(fs.existsSync(path.join(root, 'runs'))).toBe(false);
});

test('prebuiltDir: <binary>/bootstrap.zip used as it is, a missing one named', () => {
  const dir = tmp('sfn-agent-prebuilt-');
  const binaries = ['llm-anthropic', 'llm-bedrock', 'sqs-trigger', 'tool-calculate', 'tool-current-time', 'tool-get-weather'];
  for (const b of binaries) {
    fs.mkdirSync(path.join(dir, b));
    fs.writeFileSync(path.join(dir, b, 'bootstrap.zip'), `prebuilt ${b}`);
  }
  const app = new App({ outdir: tmp('sfn-agent-cdkout-') });
  new SfnAgents(new Stack(app, 'S'), 'Agents', { stateMachinesDir: FIXTURE_DIR, prebuiltDir: dir });
  expect(stagedZips(app.synth().directory)).toEqual(binaries.map((b) => `prebuilt ${b}`));

  fs.rmSync(path.join(dir, 'tool-calculate'), { recursive: true });
  expect(() => new SfnAgents(new Stack(new App(), 'S'), 'Agents', { stateMachinesDir: FIXTURE_DIR, prebuiltDir: dir })).toThrow(
    `no ${path.join(dir, 'tool-calculate', 'bootstrap.zip')}: prebuiltDir must hold <binary>/bootstrap.zip`,
  );
});

test('exactly one code source', () => {
  const make = (props: object) => () =>
    new SfnAgents(new Stack(new App(), 'S'), 'Agents', { stateMachinesDir: FIXTURE_DIR, ...props });
  expect(make({})).toThrow('SfnAgents needs exactly one of cargoWorkspace, prebuiltDir and lambdaCode for the Lambda code; got none');
  expect(make({ cargoWorkspace: '.', prebuiltDir: '.' })).toThrow(/got cargoWorkspace and prebuiltDir/);
  expect(make({ prebuiltDir: '.', cargoLambda: 'x' })).toThrow(/cargoLambda is for building a cargoWorkspace/);
});
