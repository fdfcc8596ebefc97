"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.CargoLambdaBuild = void 0;
exports.prebuiltCode = prebuiltCode;
exports.applySkipBundlingContext = applySkipBundlingContext;
/**
 * The code of the Rust Lambdas: built from a Cargo workspace with cargo-lambda, taken from a
 * folder of prebuilt zips, or made by the caller.
 *
 * A workspace's Lambda is a bundled asset whose source is the workspace, so CDK's own switch
 * skips it: with bundling skipped (`aws:cdk:bundling-stacks` set to `[]`, which
 * `applySkipBundlingContext` does for the `sfnAgent:skipBundling` context) nothing is built or
 * read, the workspace is not even hashed, and no Rust toolchain is needed.
 * On deploy, local bundling runs ONE `cargo lambda build` per workspace for every binary the
 * construct needs (one cargo invocation compiles the shared crates once; one per binary would
 * compile them again each time) and hands CDK each `bootstrap.zip` as-is. With no `cargo` on the
 * machine, CDK falls back to cargo-lambda's Docker image, one binary at a time.
 */
const child_process_1 = require("child_process");
const fs = require("fs");
const path = require("path");
const aws_cdk_lib_1 = require("aws-cdk-lib");
const lambda = require("aws-cdk-lib/aws-lambda");
const errors_1 = require("./errors");
/** Binaries already built in this process, by workspace and cargo-lambda. */
const builtBinaries = new Map();
/** One workspace's Lambdas, built together on the first bundling of any of them. */
class CargoLambdaBuild {
    workspace;
    binaries;
    cargoLambda;
    constructor(options) {
        this.workspace = path.resolve(options.workspace);
        this.binaries = [...new Set(options.binaries)].sort();
        this.cargoLambda = options.cargoLambda && path.resolve(options.cargoLambda);
    }
    /** The Lambda code for one binary of the workspace. */
    code(binary) {
        return lambda.Code.fromAsset(this.workspace, {
            // Hash what was built, not the source tree: the source directory is the whole workspace.
            assetHashType: aws_cdk_lib_1.AssetHashType.OUTPUT,
            bundling: {
                image: aws_cdk_lib_1.DockerImage.fromRegistry('ghcr.io/cargo-lambda/cargo-lambda'),
                command: ['cargo', 'lambda', 'build', '--release', '--arm64', '--bin', binary, '--flatten', binary, '--lambda-dir', '/asset-output'],
                local: {
                    tryBundle: (outputDir) => {
                        if (!hasCargo())
                            return false;
                        this.build(binary);
                        const zip = path.join(targetDir(this.workspace), 'lambda', binary, 'bootstrap.zip');
                        if (!fs.existsSync(zip)) {
                            throw new errors_1.SfnAgentsError(`binary \`${binary}\` is not a [[bin]] of the workspace at ${this.workspace}: ` +
                                `add src/bin/${binary}.rs (cargo lambda build wrote no ${zip})`);
                        }
                        // A single archive in the output directory is used as the asset as-is.
                        fs.copyFileSync(zip, path.join(outputDir, 'bootstrap.zip'));
                        return true;
                    },
                },
            },
        });
    }
    /** Builds every binary of this build not built yet in this process, in one cargo-lambda run. */
    build(binary) {
        const key = `${this.workspace}\0${this.cargoLambda ?? ''}`;
        const done = builtBinaries.get(key) ?? new Set();
        builtBinaries.set(key, done);
        if (done.has(binary))
            return;
        const wanted = [...new Set([...this.binaries, binary])].filter((b) => !done.has(b));
        const args = ['lambda', 'build', '--release', '--arm64', '--output-format', 'zip', ...wanted.flatMap((b) => ['--bin', b])];
        const [command, argv] = this.cargoLambda ? [this.cargoLambda, args] : ['cargo', args];
        if (!this.cargoLambda && (0, child_process_1.spawnSync)('cargo', ['lambda', '--version'], { stdio: 'ignore' }).status !== 0) {
            throw new errors_1.SfnAgentsError('cargo-lambda is not installed: `pip install cargo-lambda` (it brings zig) or `cargo install cargo-lambda`, ' +
                'or give the cargoLambda prop the path of its executable');
        }
        process.stderr.write(`sfn-agent: ${command} ${argv.join(' ')} (in ${this.workspace})\n`);
        // cargo's stdout goes to stderr: the CDK CLI reads the app's stdout.
        const run = (0, child_process_1.spawnSync)(command, argv, { cwd: this.workspace, stdio: ['ignore', process.stderr, 'inherit'] });
        if (run.error || run.status !== 0) {
            const why = run.error ? run.error.message : `exit ${run.status}`;
            throw new errors_1.SfnAgentsError(`cargo lambda build failed in ${this.workspace} for ${wanted.join(', ')} (${why}); see its output above. ` +
                'Each binary the manifest names must be a [[bin]] of that workspace.');
        }
        for (const b of wanted)
            done.add(b);
    }
}
exports.CargoLambdaBuild = CargoLambdaBuild;
/** The code of one prebuilt Lambda: `<dir>/<binary>/bootstrap.zip`, used as it is. */
function prebuiltCode(dir, binary) {
    const zip = path.resolve(dir, binary, 'bootstrap.zip');
    if (!fs.existsSync(zip)) {
        throw new errors_1.SfnAgentsError(`no ${zip}: prebuiltDir must hold <binary>/bootstrap.zip for every binary the manifest names (here \`${binary}\`)`);
    }
    return lambda.Code.fromAsset(zip);
}
/**
 * Skips every asset bundling of the app when its `sfnAgent:skipBundling` context is true (tests,
 * CI): CDK's own `aws:cdk:bundling-stacks` switch, so nothing is built and no toolchain is needed.
 * Call it before adding any stack. Returns whether bundling is skipped.
 */
function applySkipBundlingContext(app) {
    const v = app.node.tryGetContext('sfnAgent:skipBundling');
    const skip = v === true || v === 'true' || v === '1';
    if (skip)
        app.node.setContext('aws:cdk:bundling-stacks', []);
    return skip;
}
function hasCargo() {
    return (0, child_process_1.spawnSync)('cargo', ['--version'], { stdio: 'ignore' }).status === 0;
}
/** Cargo's target directory: `CARGO_TARGET_DIR` when set, else the workspace's `target/`. */
function targetDir(workspace) {
    const fromEnv = process.env.CARGO_TARGET_DIR;
    return fromEnv ? path.resolve(workspace, fromEnv) : path.join(workspace, 'target');
}
