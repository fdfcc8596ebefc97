/**
 * What an operator gets: the customer-managed key, reserved concurrency, the alarms (with the
 * SNS topic and the cost budget) and the dashboard, each with cdk-nag's AwsSolutions and
 * Serverless packs clean.
 */
import { Match } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { loadStateMachines } from '../src/manifest';
import { AGENT_METRICS, METRICS_NAMESPACE } from '../src/monitoring';
import { build, FIXTURE_DIR, normalize, statementsOf } from './helpers';

const agents = loadStateMachines(FIXTURE_DIR);
const binaries = [...new Set(agents.flatMap((a) => [a.llm.binary, ...a.tools.map((t) => t.binary!)])), 'sqs-trigger'];

describe('customerManagedKey: true', () => {
  const built = build(FIXTURE_DIR, { customerManagedKey: true });
  const keyRef = () => built.stack.resolve((built.agents.encryptionKey as kms.Key).keyArn);

  test('one key with rotation, retained, used by the table, the secret and every log group', () => {
    built.template.resourceCountIs('AWS::KMS::Key', 1);
    built.template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', Properties: { EnableKeyRotation: true } });
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyRef() },
    });
    built.template.hasResourceProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyRef() });
    const groups = Object.values(built.template.findResources('AWS::Logs::LogGroup')) as any[];
    expect(groups).toHaveLength(binaries.length + agents.length);
    for (const g of groups) expect(g.Properties.KmsKeyId).toEqual(keyRef());
  });

  test('its key policy lets CloudWatch Logs use it for this account\'s log groups only', () => {
    const key = Object.values(built.template.findResources('AWS::KMS::Key'))[0] as any;
    const logs = key.Properties.KeyPolicy.Statement.find((s: any) => s.Sid === 'CloudWatchLogsOfThisAccount');
    expect(logs.Principal).toEqual({ Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } });
    expect(logs.Condition.ArnLike['kms:EncryptionContext:aws:logs:arn']).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:*']],
    });
  });

  test('an LLM Lambda gets the key through a CDK grant, in its own policy; a tool Lambda does not', () => {
    const fn = built.agents.functions.get('llm-anthropic')!;
    const statements = statementsOf(built.template, built.stack.resolve((fn.role as any).roleName));
    expect(statements.filter((s) => s.Action.some((a) => a.startsWith('kms:')))).toEqual([
      normalize({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'], Resource: keyRef() }),
    ]);
    const tool = built.agents.functions.get('tool-calculate')!;
    expect(statementsOf(built.template, built.stack.resolve((tool.role as any).roleName)).filter((s) => s.Action.some((a) => a.startsWith('kms:')))).toEqual([]);
  });

  test('cdk-nag passes', () => {
    expect(() => built.app.synth()).not.toThrow();
  });
});

test('encryptionKey: your key, not a new one; not both', () => {
  const built = build(FIXTURE_DIR, (stack) => ({ encryptionKey: new kms.Key(stack, 'TeamKey', { enableKeyRotation: true }) }));
  built.template.resourceCountIs('AWS::KMS::Key', 1);
  const keyArn = built.stack.resolve(built.agents.encryptionKey!.keyArn);
  built.template.hasResourceProperties('AWS::DynamoDB::Table', { SSESpecification: { KMSMasterKeyId: keyArn } });
  built.template.hasResourceProperties('AWS::KMS::Key', {
    KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'CloudWatchLogsOfThisAccount' })]) },
  });
  expect(() => built.app.synth()).not.toThrow();
  expect(() => build(FIXTURE_DIR, (stack) => ({ encryptionKey: new kms.Key(stack, 'K'), customerManagedKey: true }))).toThrow(/not both/);
});

test('without a key: AWS-managed encryption, no KMS key, no kms: statement', () => {
  const built = build(FIXTURE_DIR);
  built.template.resourceCountIs('AWS::KMS::Key', 0);
  expect(built.agents.encryptionKey).toBeUndefined();
  expect(JSON.stringify(built.template.findResources('AWS::IAM::Policy'))).not.toContain('kms:');
});

test('llmReservedConcurrency caps each LLM Lambda, and only those', () => {
  const built = build(FIXTURE_DIR, { llmReservedConcurrency: 20 });
  const functions = Object.values(built.template.findResources('AWS::Lambda::Function')) as any[];
  const capped = functions.filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined);
  expect(capped.map((f) => f.Properties.Description).sort()).toEqual(['sfn-agent llm-anthropic', 'sfn-agent llm-bedrock']);
  for (const f of capped) expect(f.Properties.ReservedConcurrentExecutions).toBe(20);
  expect(() => build(FIXTURE_DIR, { llmReservedConcurrency: 0 })).toThrow(/llmReservedConcurrency/);
});

describe('alarms (on by default)', () => {
  const topicBuilt = build(FIXTURE_DIR, (stack) => ({ alarmTopic: sns.Topic.fromTopicArn(stack, 'Ops', 'arn:aws:sns:eu-west-1:123456789012:ops') }));
  const alarms = () => Object.values(topicBuilt.template.findResources('AWS::CloudWatch::Alarm')) as any[];

  test('failed and timed-out executions per machine, DLQ depth, errors and throttles per Lambda, auth failures per agent', () => {
    expect(alarms()).toHaveLength(2 * agents.length + 1 + 2 * binaries.length + agents.length);
    for (const agent of agents) {
      const machine = topicBuilt.stack.resolve(topicBuilt.agents.stateMachines.get(agent.name)!.stateMachineArn);
      for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
        topicBuilt.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/States',
          MetricName: metric,
          Dimensions: [{ Name: 'StateMachineArn', Value: machine }],
          Statistic: 'Sum',
          Period: 300,
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
      // The metrics contract: namespace SfnAgent, dimensions Agent and Provider.
      topicBuilt.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: AGENT_METRICS.authFailed,
        Dimensions: Match.arrayEquals([
          { Name: 'Agent', Value: agent.name },
          { Name: 'Provider', Value: agent.llm.provider },
        ]),
        Statistic: 'Sum',
        Threshold: 3,
      });
    }
    topicBuilt.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: topicBuilt.stack.resolve(topicBuilt.agents.deadLetterQueue.queueName) }],
      Statistic: 'Maximum',
      Threshold: 1,
    });
    for (const binary of binaries) {
      const name = topicBuilt.stack.resolve(topicBuilt.agents.functions.get(binary)!.functionName);
      for (const metric of ['Errors', 'Throttles']) {
        topicBuilt.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: name }],
          Threshold: 1,
        });
      }
    }
  });

  test('each notifies the topic on ALARM and OK', () => {
    for (const alarm of alarms()) {
      expect(alarm.Properties.AlarmActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
      expect(alarm.Properties.OKActions).toEqual(['arn:aws:sns:eu-west-1:123456789012:ops']);
    }
    expect(() => topicBuilt.app.synth()).not.toThrow();
  });

  test('alarms: false leaves none (the dashboard stays)', () => {
    const built = build(FIXTURE_DIR, { alarms: false });
    built.template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    built.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(built.agents.alarms).toEqual([]);
  });
});

test('costAlarmUsdPerDay: one alarm on the day\'s EstimatedCostUsd summed over the agents', () => {
  const built = build(FIXTURE_DIR, { costAlarmUsdPerDay: 25, alarms: false });
  const alarms = Object.values(built.template.findResources('AWS::CloudWatch::Alarm')) as any[];
  expect(alarms).toHaveLength(1);
  const props = alarms[0].Properties;
  expect(props.Threshold).toBe(25);
  expect(props.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
  const expression = props.Metrics.find((m: any) => m.Expression);
  expect(expression.Expression).toBe('SUM([FILL(cost0, 0), FILL(cost1, 0)])');
  const used = props.Metrics.filter((m: any) => m.MetricStat).map((m: any) => m.MetricStat);
  expect(used).toHaveLength(agents.length);
  for (const stat of used) {
    expect(stat.Metric.Namespace).toBe('SfnAgent');
    expect(stat.Metric.MetricName).toBe('EstimatedCostUsd');
    expect(stat.Period).toBe(86400);
    expect(stat.Stat).toBe('Sum');
  }
  expect(used.map((s: any) => s.Metric.Dimensions)).toEqual(
    agents.map((a) => [
      { Name: 'Agent', Value: a.name },
      { Name: 'Provider', Value: a.llm.provider },
    ]),
  );
  expect(() => build(FIXTURE_DIR, { costAlarmUsdPerDay: 0 })).toThrow(/positive/);
});

test('one dashboard per deployment: executions, turns, tool calls, tokens, cost, latency, Lambdas, DLQ, alarms', () => {
  const built = build(FIXTURE_DIR);
  const dashboards = Object.values(built.template.findResources('AWS::CloudWatch::Dashboard')) as any[];
  expect(dashboards).toHaveLength(1);
  expect(dashboards[0].Properties.DashboardName).toBe('SfnAgent-agents');
  const body = JSON.stringify(built.stack.resolve(dashboards[0].Properties.DashboardBody));
  for (const title of [
    'Executions started',
    'Executions failed, timed out, aborted',
    'Turns (model calls)',
    'Tool calls',
    'Tokens',
    'Estimated cost per agent (USD)',
    'Model latency p90 (ms)',
    'Execution time p90 (ms)',
    'Lambda errors',
    'Lambda throttles',
    'Trigger dead-letter queue (messages)',
    'Alarms',
  ]) {
    expect(body).toContain(`\\"title\\":\\"${title.replace(/[()]/g, (c) => c)}\\"`);
  }
  for (const metric of ['InputTokens', 'OutputTokens', 'LatencyMs', 'EstimatedCostUsd', 'ToolCalls']) {
    expect(body).toContain(`\\"SfnAgent\\",\\"${metric}\\",\\"Agent\\",\\"weather\\",\\"Provider\\",\\"anthropic\\"`);
  }
});
