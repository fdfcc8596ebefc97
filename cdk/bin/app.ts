#!/usr/bin/env node
/**
 * The CDK app. Context (`-c key=value` or cdk.json):
 * - `stateMachinesDir`: the generated ASL and manifest (default `../state-machines`);
 * - `stackName`: default `SfnAgent`;
 * - `sfnAgent:logLevel`: ALL (default), ERROR, FATAL or OFF; `sfnAgent:includeExecutionData`: true/false;
 * - `sfnAgent:conversationTtlDays`: default 30; `sfnAgent:eventSource`: default `sfn-agent`;
 * - `sfnAgent:skipBundling`: true to synthesize without building the Lambdas (tests, CI).
 */
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadStateMachines } from '../lib/manifest';
import { rustLambdaCode } from '../lib/lambda-code';
import { SfnAgentStack } from '../lib/sfn-agent-stack';

const workspaceRoot = path.resolve(__dirname, '..', '..');
const app = new App();
// `sfnAgent:skipBundling` sets CDK's own switch for skipping asset bundling, so a synth in tests
// and CI needs no Rust toolchain and builds nothing.
if (truthy(app.node.tryGetContext('sfnAgent:skipBundling'))) {
  app.node.setContext('aws:cdk:bundling-stacks', []);
}
const stateMachinesDir = path.resolve(app.node.tryGetContext('stateMachinesDir') ?? path.join(workspaceRoot, 'state-machines'));

new SfnAgentStack(app, app.node.tryGetContext('stackName') ?? 'SfnAgent', {
  description: 'sfn-agent: LLM agents on AWS Step Functions',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  agents: loadStateMachines(stateMachinesDir),
  lambdaCode: (binary) => rustLambdaCode(workspaceRoot, binary),
  logLevel: logLevel(app.node.tryGetContext('sfnAgent:logLevel')),
  includeExecutionData: app.node.tryGetContext('sfnAgent:includeExecutionData') === undefined
    ? undefined
    : truthy(app.node.tryGetContext('sfnAgent:includeExecutionData')),
  conversationTtlDays: numberOr(app.node.tryGetContext('sfnAgent:conversationTtlDays'), 30),
  eventSource: app.node.tryGetContext('sfnAgent:eventSource'),
  providerBaseUrls: {
    openai: app.node.tryGetContext('sfnAgent:openaiBaseUrl'),
    anthropic: app.node.tryGetContext('sfnAgent:anthropicBaseUrl'),
    gemini: app.node.tryGetContext('sfnAgent:geminiBaseUrl'),
  },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1';
}

function numberOr(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`sfnAgent:conversationTtlDays must be a whole number of days, got ${String(v)}`);
  return n;
}

function logLevel(v: unknown): sfn.LogLevel | undefined {
  if (v === undefined) return undefined;
  const levels: Record<string, sfn.LogLevel> = {
    ALL: sfn.LogLevel.ALL,
    ERROR: sfn.LogLevel.ERROR,
    FATAL: sfn.LogLevel.FATAL,
    OFF: sfn.LogLevel.OFF,
  };
  const level = levels[String(v).toUpperCase()];
  if (!level) throw new Error(`sfnAgent:logLevel must be ALL, ERROR, FATAL or OFF, got ${String(v)}`);
  return level;
}
