#!/usr/bin/env node
/** The CDK app: the sfn-agent stack of this repository (context keys in `lib/app.ts` and the README). */
import { App } from 'aws-cdk-lib';
import { SfnAgentsError } from 'sfn-agent-cdk';
import { addSfnAgentStack } from '../lib/app';

const app = new App();
try {
  addSfnAgentStack(app);
  app.synth();
} catch (e) {
  // A mistake in the manifest or the context: the message says what to fix, a trace would bury it.
  if (e instanceof SfnAgentsError) {
    console.error(`error: ${e.message}`);
    process.exit(1);
  }
  throw e;
}
