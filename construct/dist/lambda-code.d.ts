import { App } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
/** Where cargo-lambda comes from, and which binaries one build makes. */
export interface CargoLambdaBuildOptions {
    /** The Cargo workspace (or package) root. */
    readonly workspace: string;
    /** Every binary this build is for: the first asset that is bundled builds them all. */
    readonly binaries: string[];
    /** A cargo-lambda executable; default `cargo lambda` through PATH. */
    readonly cargoLambda?: string;
}
/** One workspace's Lambdas, built together on the first bundling of any of them. */
export declare class CargoLambdaBuild {
    readonly workspace: string;
    private readonly binaries;
    private readonly cargoLambda?;
    constructor(options: CargoLambdaBuildOptions);
    /** The Lambda code for one binary of the workspace. */
    code(binary: string): lambda.Code;
    /** Builds every binary of this build not built yet in this process, in one cargo-lambda run. */
    private build;
}
/** The code of one prebuilt Lambda: `<dir>/<binary>/bootstrap.zip`, used as it is. */
export declare function prebuiltCode(dir: string, binary: string): lambda.Code;
/**
 * Skips every asset bundling of the app when its `sfnAgent:skipBundling` context is true (tests,
 * CI): CDK's own `aws:cdk:bundling-stacks` switch, so nothing is built and no toolchain is needed.
 * Call it before adding any stack. Returns whether bundling is skipped.
 */
export declare function applySkipBundlingContext(app: App): boolean;
