/**
 * The app as `cdk synth` builds it, from the real `state-machines/`, with bundling skipped and
 * cdk-nag on. The construct's own tests (construct/test/) cover the resources and IAM in detail;
 * this checks the wiring: context, names, one Lambda per binary plus the SQS trigger.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadStateMachines, pascal } from 'sfn-agent-cdk';
import { addSfnAgentStack } from '../lib/app';

const cdkJson = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8'));
const agents = loadStateMachines(path.join(__dirname, '..', '..', 'state-machines'));

function synth(context: Record<string, unknown> = {}) {
  const app = new App({ context: { ...cdkJson.context, 'sfnAgent:skipBundling': 'true', ...context } });
  const stack = addSfnAgentStack(app);
  app.synth(); // cdk-nag: any unacknowledged finding throws here
  return { stack, template: Template.fromStack(stack) };
}

test('the real state-machines/ synthesizes, cdk-nag clean, one Lambda per binary and the trigger', () => {
  const { stack, template } = synth();
  expect(stack.stackName).toBe('SfnAgent');
  const binaries = new Set(agents.flatMap((a) => [a.llm.binary, ...a.tools.map((t) => t.binary!)]));
  const descriptions = (Object.values(template.findResources('AWS::Lambda::Function')) as any[]).map((f) => f.Properties.Description);
  expect(descriptions.sort()).toEqual([...binaries, 'sqs-trigger'].map((b) => `sfn-agent ${b}`).sort());
  for (const agent of agents) {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', { StateMachineName: `SfnAgent-${agent.name}` });
    const key = Object.keys(template.toJSON().Outputs).find((k) => new RegExp(`StateMachineArn${pascal(agent.name)}[0-9A-F]{8}$`).test(k));
    expect(key).toBeDefined();
  }
});

test('safe by default: ERROR logs without execution data, alarms and a dashboard; no key unless asked', () => {
  const { template } = synth();
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: false } });
  expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBeGreaterThan(0);
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  template.resourceCountIs('AWS::KMS::Key', 0);
  for (const f of Object.values(template.findResources('AWS::Lambda::Function')) as any[]) expect(f.Properties.TracingConfig).toEqual({ Mode: 'Active' });
});

test('context: full logs, a key, reserved concurrency, no alarms but a cost alarm', () => {
  const { template } = synth({
    'sfnAgent:fullExecutionLogs': 'true',
    'sfnAgent:customerManagedKey': 'true',
    'sfnAgent:llmReservedConcurrency': '10',
    'sfnAgent:alarms': 'false',
    'sfnAgent:costAlarmUsdPerDay': '5',
  });
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true } });
  template.resourceCountIs('AWS::KMS::Key', 1);
  template.hasResourceProperties('AWS::Lambda::Function', { Description: 'sfn-agent llm-anthropic', ReservedConcurrentExecutions: 10 });
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as any[];
  expect(alarms.map((a) => a.Properties.Threshold)).toEqual([5]);
  expect(() => synth({ 'sfnAgent:costAlarmUsdPerDay': 'lots' })).toThrow(/sfnAgent:costAlarmUsdPerDay must be a positive number/);
});

test('context: stack name, log level, TTL', () => {
  const { stack, template } = synth({ stackName: 'Agents2', 'sfnAgent:logLevel': 'error', 'sfnAgent:conversationTtlDays': '7' });
  expect(stack.stackName).toBe('Agents2');
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
    StateMachineName: `Agents2-${agents[0].name}`,
    LoggingConfiguration: { Level: 'ERROR' },
  });
  template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { CONVERSATION_TTL_DAYS: '7' } } });
  expect(() => synth({ 'sfnAgent:logLevel': 'LOUD' })).toThrow(/sfnAgent:logLevel must be ALL, ERROR, FATAL or OFF/);
});
