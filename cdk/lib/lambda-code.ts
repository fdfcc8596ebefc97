/**
 * The code of a Rust Lambda: the `bootstrap.zip` that `scripts/build-lambdas.sh` (cargo-lambda,
 * `--release --arm64 --output-format zip`) writes to `target/lambda/<binary>/`.
 *
 * It is a bundled asset whose source is the Cargo workspace, so CDK's own switch skips it: with
 * bundling skipped (the app's `sfnAgent:skipBundling` context, which sets CDK's
 * `aws:cdk:bundling-stacks` to `[]`, as the tests do) nothing is built or read, the workspace is
 * not even hashed, and no Rust toolchain is needed.
 * On deploy, local bundling runs the build script once for all binaries (cargo only rebuilds what
 * changed) and hands CDK the zip as-is; with no `cargo` on the machine, CDK falls back to
 * cargo-lambda's Docker image.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';

/** Workspace roots whose build script already ran in this process. */
const built = new Set<string>();

/** The Lambda code for one cargo binary of the workspace at `workspaceRoot`. */
export function rustLambdaCode(workspaceRoot: string, binary: string): lambda.Code {
  return lambda.Code.fromAsset(workspaceRoot, {
    // Hash what was built, not the source tree: the source directory is the whole workspace.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('ghcr.io/cargo-lambda/cargo-lambda'),
      command: [
        'cargo',
        'lambda',
        'build',
        '--release',
        '--arm64',
        '--bin',
        binary,
        '--flatten',
        binary,
        '--lambda-dir',
        '/asset-output',
      ],
      local: {
        tryBundle(outputDir: string): boolean {
          if (!hasCargo()) return false;
          buildOnce(workspaceRoot);
          const zip = path.join(workspaceRoot, 'target', 'lambda', binary, 'bootstrap.zip');
          if (!fs.existsSync(zip)) {
            throw new Error(
              `${zip} is missing after scripts/build-lambdas.sh: is "${binary}" a [[bin]] of a workspace crate?`,
            );
          }
          // A single archive in the output directory is used as the asset as-is.
          fs.copyFileSync(zip, path.join(outputDir, 'bootstrap.zip'));
          return true;
        },
      },
    },
  });
}

function hasCargo(): boolean {
  return spawnSync('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
}

function buildOnce(workspaceRoot: string): void {
  if (built.has(workspaceRoot)) return;
  const script = path.join(workspaceRoot, 'scripts', 'build-lambdas.sh');
  const run = spawnSync(script, [], { cwd: workspaceRoot, stdio: ['ignore', process.stderr, 'inherit'] });
  if (run.error || run.status !== 0) {
    throw new Error(`${script} failed (${run.error?.message ?? `exit ${run.status}`}); see its output above`);
  }
  built.add(workspaceRoot);
}
