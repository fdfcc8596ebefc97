/**
 * Agents that wait and delegate: a supervisor's sub-agents (nested executions, their ARNs
 * formatted from the stack with no reference between the machines) and the destinations of
 * approval requests and questions (an EventBridge bus, an SNS topic, an SQS queue), made or
 * given, each with exactly the statements its Task needs.
 */
import * as path from 'path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { build, Built, byJson, copyFixture, FIXTURE_DIR, normalize, statementsOf, Stmt } from './helpers';

const DELEGATION_DIR = path.join(__dirname, 'fixtures', 'delegation');
const AGENTS = ['supervisor', 'weather', 'researcher'];

/** `arn:<partition>:<service>:<region>:<account>:<rest>` as CloudFormation sees a formatted ARN. */
const arn = (service: string, rest: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${service}:`, { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${rest}`]],
});
const machineArn = (agent: string) => arn('states', `stateMachine:SfnAgent-${agent}`);
const executionsOf = (agent: string) => arn('states', `execution:SfnAgent-${agent}:*`);
const NESTED_RULE = arn('events', 'rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');

function machineResource(built: Built, agent: string): any {
  const machine = built.agents.stateMachines.get(agent)!;
  return built.template.toJSON().Resources[built.stack.getLogicalId(machine.node.defaultChild as any)];
}

function roleStatements(built: Built, agent: string): Stmt[] {
  const role = built.agents.stateMachines.get(agent)!.role as iam.Role;
  return statementsOf(built.template, built.stack.resolve(role.roleName));
}

/** A role's statements other than the ones every machine has (its Lambdas, log delivery and X-Ray). */
function extraStatements(built: Built, agent: string): Stmt[] {
  return roleStatements(built, agent).filter((s) => s.Sid !== 'InvokeOwnLambdas' && !s.Action.includes('xray:PutTraceSegments'));
}

const sorted = (statements: Stmt[]) => [...statements].sort(byJson);

/** The three statements of `states:startExecution.sync`, as AWS documents them, for these sub-agents. */
function nestedStatements(subAgents: string[]): Stmt[] {
  return [
    normalize({ Sid: 'StartSubAgents', Effect: 'Allow', Action: 'states:StartExecution', Resource: subAgents.map(machineArn) }),
    normalize({
      Sid: 'FollowSubAgentExecutions',
      Effect: 'Allow',
      Action: ['states:DescribeExecution', 'states:StopExecution'],
      Resource: subAgents.map(executionsOf),
    }),
    normalize({
      Sid: 'NestedExecutionEvents',
      Effect: 'Allow',
      Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      Resource: NESTED_RULE,
    }),
  ];
}

/** Output keys of the construct, without CDK's hash. */
function outputIds(built: Built): string[] {
  return Object.keys(built.template.toJSON().Outputs).map((k) => k.replace(/^Agents/, '').replace(/[0-9A-F]{8}$/, ''));
}

function acknowledged(stack: Stack): [string, string][] {
  const found: [string, string][] = [];
  for (const c of stack.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        expect(reason.length).toBeGreaterThan(60);
        found.push([c.node.path, id.replace(/^Annotation::/, '')]);
      }
    }
  }
  return found;
}

describe('a supervisor with sub-agents, each destination made by the construct', () => {
  const built = build(DELEGATION_DIR);
  const machineIds = AGENTS.map((a) => built.stack.getLogicalId(built.agents.stateMachines.get(a)!.node.defaultChild as any));

  test('cdk-nag AwsSolutions and Serverless pass', () => {
    expect(() => built.app.synth()).not.toThrow();
  });

  test('each sub-agent placeholder is its machine\'s ARN, formatted from the stack name', () => {
    expect(machineResource(built, 'supervisor').Properties.DefinitionSubstitutions).toEqual({
      LlmAnthropicFunctionArn: built.stack.resolve(built.agents.functions.get('llm-anthropic')!.currentVersion.functionArn),
      AgentWeatherStateMachineArn: machineArn('weather'),
      AgentResearcherStateMachineArn: machineArn('researcher'),
      RequestEventBusName: built.stack.resolve(built.agents.requestEventBus!.eventBusName),
    });
    expect(machineResource(built, 'researcher').Properties.DefinitionSubstitutions).toMatchObject({
      AgentSupervisorStateMachineArn: machineArn('supervisor'),
    });
    // The ARN formatted is the machine's own: same name, this stack's account and region.
    for (const agent of AGENTS) {
      expect(machineResource(built, agent).Properties.StateMachineName).toBe(`SfnAgent-${agent}`);
    }
  });

  test('no machine refers to another (supervisor and researcher call each other): no Ref, GetAtt or DependsOn', () => {
    for (const [i, agent] of AGENTS.entries()) {
      const resource = machineResource(built, agent);
      const others = machineIds.filter((_, j) => j !== i);
      // The machine and its role's policy: neither names another machine's logical id.
      const role = built.agents.stateMachines.get(agent)!.role as iam.Role;
      const policy = (role.node.tryFindChild('DefaultPolicy') as iam.Policy).node.defaultChild as iam.CfnPolicy;
      const policyResource = built.template.toJSON().Resources[built.stack.getLogicalId(policy)];
      for (const text of [JSON.stringify(resource), JSON.stringify(policyResource)]) {
        for (const other of others) expect(text).not.toContain(other);
      }
      for (const other of others) expect(resource.DependsOn ?? []).not.toContain(other);
    }
  });

  test('IAM: exactly the statements of startExecution.sync on the sub-agents, and of the request destination', () => {
    const bus = built.stack.resolve(built.agents.requestEventBus!.eventBusArn);
    const topic = built.stack.resolve(built.agents.requestTopic!.topicArn);
    const queue = built.stack.resolve(built.agents.requestQueue!.queueArn);
    expect(extraStatements(built, 'supervisor')).toEqual(
      sorted([...nestedStatements(['researcher', 'weather']), normalize({ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus })]),
    );
    expect(extraStatements(built, 'researcher')).toEqual(
      sorted([...nestedStatements(['supervisor']), normalize({ Sid: 'PublishRequests', Effect: 'Allow', Action: 'sns:Publish', Resource: topic })]),
    );
    expect(extraStatements(built, 'weather')).toEqual([
      normalize({ Sid: 'SendRequests', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: queue }),
    ]);
    // The LLM Lambdas get nothing new.
    for (const binary of ['llm-anthropic', 'llm-openai']) {
      const sids = statementsOf(built.template, built.stack.resolve(built.agents.functions.get(binary)!.role!.roleName)).map((s) => s.Sid ?? s.Action[0]);
      expect(sids.sort()).toEqual(['ConversationStore', 'ReadApiKeys', 'WriteOwnLogs', 'xray:PutTelemetryRecords']);
    }
  });

  test('the EventBridge bus: one, named after the stack, its name in the placeholder and an output', () => {
    built.template.resourceCountIs('AWS::Events::EventBus', 1);
    built.template.hasResourceProperties('AWS::Events::EventBus', { Name: 'SfnAgent-agent-requests' });
    const output = Object.entries(built.template.toJSON().Outputs).find(([k]) => /^AgentsRequestEventBusName[0-9A-F]{8}$/.test(k))!;
    expect((output[1] as any).Value).toEqual(built.stack.resolve(built.agents.requestEventBus!.eventBusName));
    // The construct's rules stay on the default bus; none is on the request bus.
    const rules = Object.values(built.template.findResources('AWS::Events::Rule')) as any[];
    expect(rules.filter((r) => r.Properties.EventBusName !== undefined)).toEqual([]);
  });

  test('the SNS topic: one, SSL only, SSE with alias/aws/sns (no key here), its ARN in the placeholder and an output', () => {
    built.template.resourceCountIs('AWS::SNS::Topic', 1);
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arn('kms', 'alias/aws/sns') });
    built.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [built.stack.resolve(built.agents.requestTopic!.topicArn)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(machineResource(built, 'researcher').Properties.DefinitionSubstitutions.RequestTopicArn).toEqual(
      built.stack.resolve(built.agents.requestTopic!.topicArn),
    );
  });

  test('the SQS queue: one more queue, SSE, SSL only, 14 days, no redrive (acknowledged), its URL in the placeholder', () => {
    built.template.resourceCountIs('AWS::SQS::Queue', 3);
    const queueId = built.stack.getLogicalId(built.agents.requestQueue!.node.defaultChild as any);
    const queue = built.template.toJSON().Resources[queueId];
    expect(queue.Properties).toEqual({ MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [built.stack.resolve(built.agents.requestQueue!.queueUrl)],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    expect(machineResource(built, 'weather').Properties.DefinitionSubstitutions.RequestQueueUrl).toEqual(
      built.stack.resolve(built.agents.requestQueue!.queueUrl),
    );
  });

  test('outputs: the three destinations next to the others', () => {
    expect(outputIds(built).sort()).toEqual(
      [
        'StateMachineArnSupervisor',
        'StateMachineArnWeather',
        'StateMachineArnResearcher',
        'TriggerQueueUrl',
        'TriggerDeadLetterQueueUrl',
        'ConversationTableName',
        'ApiKeysSecretArn',
        'RequestEventBusName',
        'RequestTopicArn',
        'RequestQueueUrl',
      ].sort(),
    );
  });

  test('the new acknowledgements: the sub-agents\' executions (IAM5), the request queue without a DLQ', () => {
    const found = acknowledged(built.stack).filter(([p, id]) => /RequestQueue|execution:/.test(`${p} ${id}`));
    const execution = (agent: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:SfnAgent-${agent}:*]`;
    expect(found.sort()).toEqual(
      [
        ['SfnAgent/Agents/SupervisorStateMachineRole', execution('weather')],
        ['SfnAgent/Agents/SupervisorStateMachineRole', execution('researcher')],
        ['SfnAgent/Agents/ResearcherStateMachineRole', execution('supervisor')],
        ['SfnAgent/Agents/RequestQueue', 'AwsSolutions-SQS3'],
        ['SfnAgent/Agents/RequestQueue', 'Serverless-SQSRedrivePolicy'],
      ].sort(),
    );
  });
});

describe('one destination for two agents', () => {
  /** The weather agent sends its requests to SNS too: one topic for both. */
  const dir = copyFixture(
    DELEGATION_DIR,
    (m) => {
      m.agents[1].requests = { destination: 'sns', placeholder: 'RequestTopicArn' };
      return m;
    },
    {
      file: 'weather.asl.json',
      edit: (text) =>
        text
          .replace('arn:aws:states:::sqs:sendMessage.waitForTaskToken', 'arn:aws:states:::sns:publish.waitForTaskToken')
          .replace('"QueueUrl": "${RequestQueueUrl}"', '"TopicArn": "${RequestTopicArn}"')
          .replace('"MessageBody":', '"Message":'),
    },
  );
  const built = build(dir);

  test('is made once; each agent may publish to it; no queue is made', () => {
    built.template.resourceCountIs('AWS::SNS::Topic', 1);
    built.template.resourceCountIs('AWS::SQS::Queue', 2);
    expect(built.agents.requestQueue).toBeUndefined();
    const topic = built.stack.resolve(built.agents.requestTopic!.topicArn);
    for (const agent of ['weather', 'researcher']) {
      expect(machineResource(built, agent).Properties.DefinitionSubstitutions.RequestTopicArn).toEqual(topic);
      expect(extraStatements(built, agent)).toContainEqual(normalize({ Sid: 'PublishRequests', Effect: 'Allow', Action: 'sns:Publish', Resource: topic }));
    }
    expect(outputIds(built)).not.toContain('RequestQueueUrl');
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('with the construct\'s customer-managed key', () => {
  const built = build(DELEGATION_DIR, { customerManagedKey: true });
  const key = () => built.stack.resolve(built.agents.encryptionKey!.keyArn);

  test('the topic and the queue are encrypted with it, and their senders may use it for that', () => {
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: key() });
    const queueId = built.stack.getLogicalId(built.agents.requestQueue!.node.defaultChild as any);
    expect(built.template.toJSON().Resources[queueId].Properties).toEqual({ MessageRetentionPeriod: 1209600, KmsMasterKeyId: key() });
    const kmsStatement = normalize({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: key() });
    expect(extraStatements(built, 'weather')).toEqual(
      sorted([normalize({ Sid: 'SendRequests', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: built.stack.resolve(built.agents.requestQueue!.queueArn) }), kmsStatement]),
    );
    expect(extraStatements(built, 'researcher')).toContainEqual(kmsStatement);
    // The bus has EventBridge's own key: PutEvents needs no KMS permission from the sender.
    expect(extraStatements(built, 'supervisor').filter((s) => s.Action.some((a) => a.startsWith('kms:')))).toEqual([]);
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('destinations given in the props', () => {
  const BUS = 'arn:aws:events:eu-west-1:123456789012:event-bus/approvals';
  const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:approvals';
  const QUEUE = 'arn:aws:sqs:eu-west-1:123456789012:approvals';
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555';
  const built = build(DELEGATION_DIR, (stack) => ({
    requestEventBus: events.EventBus.fromEventBusArn(stack, 'Bus', BUS),
    requestTopic: sns.Topic.fromTopicArn(stack, 'Topic', TOPIC),
    requestQueue: sqs.Queue.fromQueueAttributes(stack, 'Queue', { queueArn: QUEUE, keyArn: KEY }),
  }));

  test('are used, not made: their names in the placeholders, exact statements, outputs', () => {
    built.template.resourceCountIs('AWS::Events::EventBus', 0);
    built.template.resourceCountIs('AWS::SNS::Topic', 0);
    built.template.resourceCountIs('AWS::SQS::Queue', 2);
    const queueUrl = built.stack.resolve(built.agents.requestQueue!.queueUrl);
    expect(machineResource(built, 'supervisor').Properties.DefinitionSubstitutions.RequestEventBusName).toBe('approvals');
    expect(machineResource(built, 'researcher').Properties.DefinitionSubstitutions.RequestTopicArn).toBe(TOPIC);
    expect(machineResource(built, 'weather').Properties.DefinitionSubstitutions.RequestQueueUrl).toEqual(queueUrl);
    expect(extraStatements(built, 'supervisor')).toContainEqual(normalize({ Effect: 'Allow', Action: 'events:PutEvents', Resource: BUS }));
    expect(extraStatements(built, 'researcher')).toContainEqual(normalize({ Sid: 'PublishRequests', Effect: 'Allow', Action: 'sns:Publish', Resource: TOPIC }));
    // A queue given with its key: the sender may use the key for sendMessage.
    expect(extraStatements(built, 'weather')).toEqual(
      sorted([
        normalize({ Sid: 'SendRequests', Effect: 'Allow', Action: 'sqs:SendMessage', Resource: QUEUE }),
        normalize({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY }),
      ]),
    );
    expect(outputIds(built)).toEqual(expect.arrayContaining(['RequestEventBusName', 'RequestTopicArn', 'RequestQueueUrl']));
    expect(built.agents.requestTopic!.topicArn).toBe(TOPIC);
    expect(() => built.app.synth()).not.toThrow();
  });

  test('a given destination no agent uses is refused', () => {
    expect(() => build(FIXTURE_DIR, (stack) => ({ requestTopic: sns.Topic.fromTopicArn(stack, 'Topic', TOPIC) }))).toThrow(
      'requestTopic is given, but no agent of the manifest sends its requests to sns (none has "requests")',
    );
  });

  test('the default bus is refused: the trigger rules there would take an agent\'s question for a new run', () => {
    expect(() => build(DELEGATION_DIR, (stack) => ({ requestEventBus: events.EventBus.fromEventBusName(stack, 'Default', 'default') }))).toThrow(
      /requestEventBus is the default bus/,
    );
  });

  test('a given topic with a customer key: the sender may use the key', () => {
    const withKey = build(DELEGATION_DIR, (stack) => ({
      requestTopic: sns.Topic.fromTopicAttributes(stack, 'Topic', { topicArn: TOPIC, keyArn: KEY }),
    }));
    expect(extraStatements(withKey, 'researcher')).toContainEqual(normalize({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: KEY }));
  });
});

describe('manifest mistakes', () => {
  test('an unknown sub-agent is named', () => {
    const dir = copyFixture(DELEGATION_DIR, (m) => {
      m.agents[0].sub_agents[0].agent = 'wether';
      return m;
    });
    expect(() => build(dir)).toThrow(
      'agents[0].sub_agents[0]: agent "supervisor" names sub-agent "wether", which is not an agent of this manifest (its agents: researcher, supervisor, weather)',
    );
  });

  test('a definition that uses a request placeholder the manifest does not give: the placeholder error', () => {
    const dir = copyFixture(DELEGATION_DIR, (m) => {
      delete m.agents[1].requests;
      return m;
    });
    expect(() => build(dir)).toThrow(/weather\.asl\.json: placeholder \$\{RequestQueueUrl\} is not in the manifest's entry for agent "weather"/);
  });

  test('a sub-agent the definition never calls: the placeholder error', () => {
    const dir = copyFixture(DELEGATION_DIR, (m) => {
      m.agents[1].sub_agents = [{ agent: 'researcher', placeholder: 'AgentResearcherStateMachineArn' }];
      return m;
    });
    expect(() => build(dir)).toThrow(/the manifest gives agent "weather" \$\{AgentResearcherStateMachineArn\}, but the definition never uses it/);
  });

  test('an unknown destination, and an Express agent that waits or delegates, are refused', () => {
    const bad = copyFixture(DELEGATION_DIR, (m) => {
      m.agents[1].requests.destination = 'email';
      return m;
    });
    expect(() => build(bad)).toThrow('agents[1].requests.destination must be one of eventbridge, sns, sqs');
    const express = copyFixture(DELEGATION_DIR, (m) => {
      m.agents[0].workflow_type = 'EXPRESS';
      return m;
    });
    expect(() => build(express)).toThrow(/agent "supervisor" is EXPRESS but has "requests": Express workflows support neither \.sync/);
  });
});
