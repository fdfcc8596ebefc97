#!/usr/bin/env node
/** The CDK app: the sfn-agent stack of this repository (context keys in `lib/app.ts` and the README). */
import { App } from 'aws-cdk-lib';
import { addSfnAgentStack } from '../lib/app';

const app = new App();
addSfnAgentStack(app);
