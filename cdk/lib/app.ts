/**
 * The repo's own app: one Stack holding the SfnAgents construct for `state-machines/`, with the
 * Lambdas built from this Cargo workspace. It is the construct's first user, set up from CDK
 * context (see README):
 * - `stateMachinesDir`: the generated ASL and manifest (default `../state-machines`);
 * - `stackName`: default `SfnAgent`;
 * - `sfnAgent:fullExecutionLogs`: true for ALL with execution data (default: ERROR without);
 * - `sfnAgent:logLevel`: ALL, ERROR, FATAL or OFF; `sfnAgent:includeExecutionData`: true/false (override);
 * - `sfnAgent:customerManagedKey`: true for a KMS key of this stack (table, logs, secret);
 * - `sfnAgent:llmReservedConcurrency`: a cap per LLM Lambda; `sfnAgent:alarms`: false for none;
 * - `sfnAgent:costAlarmUsdPerDay`: an alarm on the agents' estimated cost per day;
 * - `sfnAgent:conversationTtlDays`: default 30; `sfnAgent:eventSource`: default `sfn-agent`;
 * - `sfnAgent:openaiBaseUrl`, `sfnAgent:anthropicBaseUrl`, `sfnAgent:geminiBaseUrl`;
 * - `sfnAgent:skipBundling`: true to synthesize without building the Lambdas (tests, CI).
 */
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { applySkipBundlingContext, SfnAgents, SfnAgentsError } from 'sfn-agent-cdk';

/** The Cargo workspace: this repository. */
const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..');

/** Adds the stack to `app`, with cdk-nag's AwsSolutions checks on the whole app. */
export function addSfnAgentStack(app: App): Stack {
  // Before any stack: CDK reads its bundling switch when the assets are made.
  applySkipBundlingContext(app);
  const context = (key: string): unknown => app.node.tryGetContext(key);
  const stack = new Stack(app, (context('stackName') as string | undefined) ?? 'SfnAgent', {
    description: 'sfn-agent: LLM agents on AWS Step Functions',
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  const includeExecutionData = context('sfnAgent:includeExecutionData');
  new SfnAgents(stack, 'Agents', {
    stateMachinesDir: path.resolve((context('stateMachinesDir') as string | undefined) ?? path.join(WORKSPACE_ROOT, 'state-machines')),
    cargoWorkspace: WORKSPACE_ROOT,
    fullExecutionLogs: flag(context('sfnAgent:fullExecutionLogs')),
    logLevel: logLevel(context('sfnAgent:logLevel')),
    customerManagedKey: flag(context('sfnAgent:customerManagedKey')),
    llmReservedConcurrency: optionalNumber(context('sfnAgent:llmReservedConcurrency'), 'sfnAgent:llmReservedConcurrency'),
    alarms: flag(context('sfnAgent:alarms')),
    costAlarmUsdPerDay: optionalNumber(context('sfnAgent:costAlarmUsdPerDay'), 'sfnAgent:costAlarmUsdPerDay'),
    includeExecutionData: includeExecutionData === undefined ? undefined : truthy(includeExecutionData),
    conversationTtlDays: numberOr(context('sfnAgent:conversationTtlDays'), 30),
    eventSource: context('sfnAgent:eventSource') as string | undefined,
    providerBaseUrls: {
      openai: context('sfnAgent:openaiBaseUrl') as string | undefined,
      anthropic: context('sfnAgent:anthropicBaseUrl') as string | undefined,
      gemini: context('sfnAgent:geminiBaseUrl') as string | undefined,
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }), new ServerlessChecks(app, { verbose: true }));
  return stack;
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1';
}

/** A true/false context value, or undefined when it is not set (the construct's default). */
function flag(v: unknown): boolean | undefined {
  return v === undefined ? undefined : truthy(v);
}

function optionalNumber(v: unknown, key: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new SfnAgentsError(`${key} must be a positive number, got ${String(v)}`);
  return n;
}

function numberOr(v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new SfnAgentsError(`sfnAgent:conversationTtlDays must be a whole number of days, got ${String(v)}`);
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
  if (!level) throw new SfnAgentsError(`sfnAgent:logLevel must be ALL, ERROR, FATAL or OFF, got ${String(v)}`);
  return level;
}
