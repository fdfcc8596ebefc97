/**
 * The deploy path of the Lambda code, with a stand-in workspace whose build script writes the
 * zips (the real one cross-compiles with cargo-lambda, which the unit tests do not wait for).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { rustLambdaCode } from '../lib/lambda-code';

const hasCargo = spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;

(hasCargo ? test : test.skip)('deploy bundling runs the build script once and ships its zips as they are', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-workspace-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  const script = path.join(root, 'scripts', 'build-lambdas.sh');
  fs.writeFileSync(
    script,
    [
      '#!/usr/bin/env bash',
      'set -euo pipefail',
      'echo run >> "$(dirname "$0")/../runs"',
      'for bin in tool-a tool-b; do mkdir -p target/lambda/$bin; printf "zip of $bin" > target/lambda/$bin/bootstrap.zip; done',
      '',
    ].join('\n'),
  );
  fs.chmodSync(script, 0o755);
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-cdkout-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'S');
  for (const bin of ['tool-a', 'tool-b']) {
    new lambda.Function(stack, bin, {
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: rustLambdaCode(root, bin),
    });
  }
  const assembly = app.synth();
  expect(fs.readFileSync(path.join(root, 'runs'), 'utf8')).toBe('run\n');
  const staged = fs.readdirSync(assembly.directory).filter((f) => f.endsWith('.zip'));
  const contents = staged.map((f) => fs.readFileSync(path.join(assembly.directory, f), 'utf8')).sort();
  expect(contents).toEqual(['zip of tool-a', 'zip of tool-b']);
});

(hasCargo ? test : test.skip)('a binary the build script did not produce fails the synth with what to check', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-workspace-'));
  fs.mkdirSync(path.join(root, 'scripts'));
  const script = path.join(root, 'scripts', 'build-lambdas.sh');
  fs.writeFileSync(script, '#!/usr/bin/env bash\nexit 0\n');
  fs.chmodSync(script, 0o755);
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-cdkout-')) });
  const stack = new Stack(app, 'S');
  expect(
    () =>
      new lambda.Function(stack, 'F', {
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        code: rustLambdaCode(root, 'tool-missing'),
      }),
  ).toThrow(/tool-missing.*\[\[bin\]\]/s);
});
