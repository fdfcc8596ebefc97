#!/usr/bin/env node
/**
 * The custom-agent project's stack: its agents (from `../state-machines`, which `cdk.json` regenerates
 * before each synth) with the Lambdas built from its own Cargo project (`..`).
 * Context: `sfnAgent:skipBundling=true` synthesizes without building (CI); `stateMachinesDir`
 * points at another generated folder.
 */
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { applySkipBundlingContext, SfnAgents, SfnAgentsError } from 'sfn-agent-cdk';

const app = new App();
applySkipBundlingContext(app);
try {
  const stack = new Stack(app, app.node.tryGetContext('stackName') ?? 'CustomAgent', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  new SfnAgents(stack, 'Agents', {
    stateMachinesDir: app.node.tryGetContext('stateMachinesDir') ?? '../state-machines',
    cargoWorkspace: '..',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
} catch (e) {
  // A mistake in the manifest or the build: its message says what to fix.
  if (e instanceof SfnAgentsError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
