/**
 * The construct in a stack, built from the fixture `state-machines/` and from the repo's real one
 * that `sfn-agent synth` writes: resources, substitutions, IAM (exactly), triggers, no secret
 * value, and cdk-nag's AwsSolutions checks with no unacknowledged finding.
 */
import * as fs from 'fs';
import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { LoadedAgent, loadStateMachines } from '../src/manifest';
import { pascal, SQS_TRIGGER_BINARY } from '../src/sfn-agents';
import { build, Built, FIXTURE_DIR, normalize, REAL_DIR, statementsOf, Stmt } from './helpers';

const realExists = fs.existsSync(`${REAL_DIR}/manifest.json`);

test('the real state-machines/ is there to deploy (run `cargo run -p sfn-agent-demo -- synth`)', () => {
  expect(realExists).toBe(true);
});

const sources: [string, string][] = [['fixture', FIXTURE_DIR]];
if (realExists) sources.push(['state-machines/', REAL_DIR]);

describe.each(sources)('from %s', (_label, dir) => {
  const agents: LoadedAgent[] = loadStateMachines(dir);
  let built: Built;
  beforeAll(() => {
    built = build(dir);
  });
  const roleRef = (role: iam.IRole | undefined) => built.stack.resolve((role as iam.Role).roleName);
  /** The version of this deploy, which the definitions call. */
  const versionOf = (binary: string) => built.stack.resolve(built.agents.functions.get(binary)!.currentVersion.functionArn);
  /** Any version of the function: what a state machine may invoke. */
  const anyVersionOf = (binary: string) => built.stack.resolve(`${built.agents.functions.get(binary)!.functionArn}:*`);
  const xray = normalize({ Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' });
  const logsOf = (binary: string) => built.stack.resolve(built.agents.functions.get(binary)!.logGroup.logGroupArn);
  const binaries = [...new Set(agents.flatMap((a) => [a.llm.binary, ...a.tools.map((t) => t.binary!)]))];

  test('cdk-nag AwsSolutions and Serverless pass with every finding acknowledged', () => {
    expect(() => built.app.synth()).not.toThrow();
  });

  test('one state machine per agent, Standard or Express as asked, traced, logged at ERROR without execution data', () => {
    const machines = built.template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.keys(machines)).toHaveLength(agents.length);
    for (const agent of agents) {
      built.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `SfnAgent-${agent.name}`,
        StateMachineType: agent.workflow_type,
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: {
          Level: 'ERROR',
          IncludeExecutionData: false,
          Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: Match.anyValue() } }],
        },
      });
      const output = built.agents.node.findChild(`StateMachineArn${pascal(agent.name)}`) as CfnOutput;
      built.template.hasOutput(built.stack.getLogicalId(output), {
        Value: built.stack.resolve(built.agents.stateMachines.get(agent.name)!.stateMachineArn),
      });
    }
  });

  test('every ${Placeholder} is filled by DefinitionSubstitutions with its own Lambda\'s version, definition inline', () => {
    for (const agent of agents) {
      const logicalId = built.stack.getLogicalId(
        built.agents.stateMachines.get(agent.name)!.node.defaultChild as sfn.CfnStateMachine,
      );
      const props = built.template.toJSON().Resources[logicalId].Properties;
      expect(typeof props.DefinitionString).toBe('string');
      expect(props.DefinitionS3Location).toBeUndefined();
      const expected: Record<string, unknown> = { [agent.llm.placeholder]: versionOf(agent.llm.binary) };
      for (const tool of agent.tools) expected[tool.placeholder] = versionOf(tool.binary!);
      for (const value of Object.values(expected)) expect(value).toEqual({ Ref: expect.stringMatching(/CurrentVersion/) });
      // A sub-agent's machine ARN is formatted from the stack (delegation.test.ts pins its shape).
      for (const sub of agent.sub_agents) expected[sub.placeholder] = { 'Fn::Join': expect.anything() };
      expect(props.DefinitionSubstitutions).toEqual(expected);
      // What CloudFormation will do at deploy: replace each ${Key}; nothing may be left.
      let text: string = props.DefinitionString;
      for (const key of Object.keys(props.DefinitionSubstitutions)) {
        text = text.split('${' + key + '}').join(`arn:aws:lambda:us-east-1:123456789012:function:${key}`);
      }
      expect(text).not.toContain('${');
      expect(JSON.parse(text)).toEqual(JSON.parse(agent.definitionText.replace(/\$\{(\w+)\}/g, 'arn:aws:lambda:us-east-1:123456789012:function:$1')));
    }
  });

  test('one arm64 provided.al2023 Lambda per binary, sized for its job, X-Ray tracing on', () => {
    const functions = built.template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions)).toHaveLength(binaries.length + 1);
    for (const agent of agents) {
      built.template.hasResourceProperties('AWS::Lambda::Function', {
        Description: `sfn-agent ${agent.llm.binary}`,
        Runtime: 'provided.al2023',
        Architectures: ['arm64'],
        Handler: 'bootstrap',
        Timeout: 300,
        MemorySize: 256,
        TracingConfig: { Mode: 'Active' },
        Environment: {
          Variables: {
            RUST_LOG: 'info',
            CONVERSATION_TABLE: built.stack.resolve(built.agents.table.tableName),
            API_KEYS_SECRET_ID: built.stack.resolve(built.agents.apiKeys.secretArn),
            CONVERSATION_TTL_DAYS: '30',
          },
        },
      });
      for (const tool of agent.tools) {
        built.template.hasResourceProperties('AWS::Lambda::Function', {
          Description: `sfn-agent ${tool.binary}`,
          Runtime: 'provided.al2023',
          Architectures: ['arm64'],
          Timeout: 60,
          MemorySize: 128,
          TracingConfig: { Mode: 'Active' },
          Environment: { Variables: { RUST_LOG: 'info' } },
        });
      }
    }
  });

  test('every Lambda has a retained version and the alias `live` on it', () => {
    const functions = built.template.findResources('AWS::Lambda::Function');
    for (const [binary, fn] of built.agents.functions) {
      const alias = built.agents.aliases.get(binary)!;
      built.template.hasResourceProperties('AWS::Lambda::Alias', {
        Name: 'live',
        FunctionName: built.stack.resolve(fn.functionName),
        FunctionVersion: built.stack.resolve(fn.currentVersion.version),
      });
      built.template.hasResource('AWS::Lambda::Version', {
        DeletionPolicy: 'Retain',
        Properties: { FunctionName: built.stack.resolve(fn.functionName) },
      });
      expect(alias.aliasName).toBe('live');
      expect((functions[built.stack.getLogicalId(fn.node.defaultChild as any)] as any).Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    built.template.resourceCountIs('AWS::Lambda::Alias', built.agents.functions.size);
    built.template.resourceCountIs('AWS::Lambda::Version', built.agents.functions.size);
  });

  test('the conversation table: on demand, PITR, encrypted, TTL on expires_at', () => {
    built.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    built.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'conversation_id', KeyType: 'HASH' },
          { AttributeName: 'turn', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'conversation_id', AttributeType: 'S' },
          { AttributeName: 'turn', AttributeType: 'N' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      },
    });
  });

  test('one secret, created with no key in the template', () => {
    const secrets = Object.values(built.template.findResources('AWS::SecretsManager::Secret')) as any[];
    expect(secrets).toHaveLength(1);
    const props = secrets[0].Properties;
    expect(props.SecretString).toBeUndefined();
    const shape = JSON.parse(props.GenerateSecretString.SecretStringTemplate);
    expect(shape).toEqual({ anthropic: '', openai: '', gemini: '' });
    const text = JSON.stringify(built.template.toJSON());
    // Key formats of the providers (Anthropic sk-ant-, OpenAI sk-/sk-proj-, Google AIza, AWS AKIA).
    for (const pattern of [/sk-ant-/, /sk-[A-Za-z0-9_-]{16,}/, /AIza[0-9A-Za-z_-]{20,}/, /AKIA[0-9A-Z]{16}/]) {
      expect(text).not.toMatch(pattern);
    }
    expect(text).not.toMatch(/"SecretString"\s*:/);
  });

  test('IAM: a state machine may invoke only (any version of) its own Lambdas (plus log delivery and X-Ray)', () => {
    for (const agent of agents) {
      const machine = built.agents.stateMachines.get(agent.name)!;
      const own = [...new Set([agent.llm.binary, ...agent.tools.map((t) => t.binary!)])].map(anyVersionOf);
      const expected: Stmt[] = [
        normalize({ Sid: 'InvokeOwnLambdas', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: own }),
        normalize({
          Effect: 'Allow',
          Action: [
            'logs:CreateLogDelivery',
            'logs:DeleteLogDelivery',
            'logs:DescribeLogGroups',
            'logs:DescribeResourcePolicies',
            'logs:GetLogDelivery',
            'logs:ListLogDeliveries',
            'logs:PutResourcePolicy',
            'logs:UpdateLogDelivery',
            'xray:GetSamplingRules',
            'xray:GetSamplingTargets',
            'xray:PutTelemetryRecords',
            'xray:PutTraceSegments',
          ],
          Resource: '*',
        }),
      ];
      const statements = statementsOf(built.template, roleRef(machine.role));
      if (agent.sub_agents.length === 0) {
        expect(statements).toEqual(expected.sort(byJsonStmt));
      } else {
        // Plus the nested-execution statements, pinned exactly in delegation.test.ts.
        expect(statements).toEqual(expect.arrayContaining(expected));
        expect(statements).toHaveLength(expected.length + 3);
      }
    }
  });

  test('IAM: an LLM Lambda reads only the secret and the table (Bedrock: and its models)', () => {
    for (const binary of new Set(agents.map((a) => a.llm.binary))) {
      const fn = built.agents.functions.get(binary)!;
      const expected: Stmt[] = [
        normalize({ Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logsOf(binary) }),
        xray,
        normalize({ Sid: 'ReadApiKeys', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: built.stack.resolve(built.agents.apiKeys.secretArn) }),
        normalize({ Sid: 'ConversationStore', Effect: 'Allow', Action: ['dynamodb:Query', 'dynamodb:PutItem'], Resource: built.stack.resolve(built.agents.table.tableArn) }),
      ];
      const models = [...new Set(agents.filter((a) => a.llm.binary === binary).flatMap((a) => a.bedrockModels))];
      if (binary === 'llm-bedrock') {
        expect(models.length).toBeGreaterThan(0);
        const join = (...parts: unknown[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]] });
        const resources = models.flatMap((m) => {
          const profile = /^(us|eu|apac|us-gov|global|jp|au|ca)\./.test(m);
          if (!profile) return [join(':bedrock:', { Ref: 'AWS::Region' }, `::foundation-model/${m}`)];
          return [
            join(':bedrock:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:inference-profile/${m}`),
            join(`:bedrock:*::foundation-model/${m.slice(m.indexOf('.') + 1)}`),
          ];
        });
        expected.push(normalize({ Sid: 'InvokeAgentModels', Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: resources }));
      }
      expect(statementsOf(built.template, roleRef(fn.role))).toEqual(expected.sort(byJsonStmt));
    }
  });

  test('IAM: a tool Lambda may only write its own logs (and X-Ray traces)', () => {
    for (const binary of new Set(agents.flatMap((a) => a.tools.map((t) => t.binary!)))) {
      const fn = built.agents.functions.get(binary)!;
      expect(statementsOf(built.template, roleRef(fn.role))).toEqual(
        [normalize({ Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logsOf(binary) }), xray].sort(byJsonStmt),
      );
    }
  });

  test('the SQS trigger: queue with DLQ and SSL only, batch failures reported, starts only agent machines', () => {
    const queueArn = built.stack.resolve(built.agents.queue.queueArn);
    const dlqArn = built.stack.resolve(built.agents.deadLetterQueue.queueArn);
    built.template.resourceCountIs('AWS::SQS::Queue', 2);
    built.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: dlqArn, maxReceiveCount: 5 },
    });
    for (const queue of [built.agents.queue, built.agents.deadLetterQueue]) {
      built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [built.stack.resolve(queue.queueUrl)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Principal: { AWS: '*' },
            }),
          ]),
        },
      });
    }
    const trigger = built.agents.functions.get(SQS_TRIGGER_BINARY)!;
    built.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: queueArn,
      // Through its alias: the ESM follows `live` to each deploy's version.
      FunctionName: built.stack.resolve(built.agents.aliases.get(SQS_TRIGGER_BINARY)!.functionName),
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    const machines = agents.map((a) => built.stack.resolve(built.agents.stateMachines.get(a.name)!.stateMachineArn));
    expect(statementsOf(built.template, roleRef(trigger.role))).toEqual(
      [
        normalize({ Sid: 'WriteOwnLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logsOf(SQS_TRIGGER_BINARY) }),
        xray,
        normalize({ Sid: 'StartAgentExecutions', Effect: 'Allow', Action: 'states:StartExecution', Resource: machines }),
        normalize({
          Effect: 'Allow',
          Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
          Resource: queueArn,
        }),
      ].sort(byJsonStmt),
    );
    // The map from agent name to machine, as the Lambda reads it: render the Fn::Join with each
    // Ref standing for itself, then read it as the Lambda will.
    const mapping = (Object.values(built.template.findResources('AWS::Lambda::Function')) as any[]).find(
      (f) => f.Properties.Environment.Variables.AGENT_STATE_MACHINES,
    ).Properties.Environment.Variables.AGENT_STATE_MACHINES;
    const rendered = (mapping['Fn::Join'][1] as unknown[])
      .map((part) => (typeof part === 'string' ? part : (part as { Ref: string }).Ref))
      .join('');
    const parsed = JSON.parse(rendered);
    expect(Object.keys(parsed).sort()).toEqual(agents.map((a) => a.name).sort());
    for (const agent of agents) {
      expect({ Ref: parsed[agent.name] }).toEqual(built.stack.resolve(built.agents.stateMachines.get(agent.name)!.stateMachineArn));
    }
  });

  test('the EventBridge rules: two per agent, the event mapped to the agent input', () => {
    built.template.resourceCountIs('AWS::Events::Rule', 2 * agents.length);
    const rules = Object.values(built.template.findResources('AWS::Events::Rule')) as any[];
    for (const agent of agents) {
      const machine = built.agents.stateMachines.get(agent.name)!;
      const target = (inputPathsMap: Record<string, string>, inputTemplate: string) => [
        {
          Arn: built.stack.resolve(machine.stateMachineArn),
          Id: 'Target0',
          InputTransformer: { InputPathsMap: inputPathsMap, InputTemplate: inputTemplate },
          DeadLetterConfig: { Arn: built.stack.resolve(built.agents.deadLetterQueue.queueArn) },
          RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 4 },
          RoleArn: Match.anyValue(),
        },
      ];
      const pattern = (exists: boolean) => ({
        source: ['sfn-agent'],
        'detail-type': ['Agent Question'],
        detail: { agent: [agent.name], conversation_id: [{ exists }] },
      });
      built.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: pattern(false),
        Targets: target({ 'detail-question': '$.detail.question' }, '{"question":<detail-question>}'),
      });
      built.template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: pattern(true),
        Targets: target(
          { 'detail-question': '$.detail.question', 'detail-conversation_id': '$.detail.conversation_id' },
          '{"question":<detail-question>,"conversation_id":<detail-conversation_id>}',
        ),
      });
      // The rules' role may start this machine and nothing else.
      const roleIds = new Set(
        rules
          .filter((r) => r.Properties.EventPattern.detail.agent[0] === agent.name)
          .map((r) => r.Properties.Targets[0].RoleArn['Fn::GetAtt'][0]),
      );
      expect(roleIds.size).toBe(1);
      expect(statementsOf(built.template, { Ref: [...roleIds][0] })).toEqual([
        normalize({ Effect: 'Allow', Action: 'states:StartExecution', Resource: built.stack.resolve(machine.stateMachineArn) }),
      ]);
    }
  });

  test('no IAM wildcard beyond the acknowledged ones', () => {
    const policies = Object.values(built.template.findResources('AWS::IAM::Policy')) as any[];
    const wildcards = policies
      .flatMap((p) => p.Properties.PolicyDocument.Statement.map(normalize))
      .flatMap((s: Stmt) => [...s.Action, ...s.Resource.map((r) => JSON.stringify(r))])
      .filter((x: string) => x.includes('*'));
    const ownVersions = new Set(binaries.map((b) => JSON.stringify(anyVersionOf(b))));
    const subAgentExecutions = (w: string) =>
      agents.some((a) => a.sub_agents.some((s) => w.includes(`:execution:SfnAgent-${s.agent}:*`)));
    for (const w of wildcards) {
      if (subAgentExecutions(w)) continue; // a sub-agent's executions, acknowledged (delegation.test.ts)
      // "*" for log delivery and X-Ray (no resource-level permissions), the region of a
      // cross-region inference profile's foundation model, and any version of a built Lambda.
      expect(w === '"*"' || /:bedrock:\*::foundation-model\//.test(w) || ownVersions.has(w)).toBe(true);
    }
  });
});

test('full execution logs are one property: ALL with execution data, and no SF1 acknowledgement', () => {
  const { app, stack, template } = build(FIXTURE_DIR, { fullExecutionLogs: true });
  const machines = Object.values(template.findResources('AWS::StepFunctions::StateMachine')) as any[];
  for (const m of machines) expect(m.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
  expect(acknowledged(stack).filter(([, id]) => id === 'AwsSolutions-SF1')).toEqual([]);
  expect(() => app.synth()).not.toThrow();
});

test('logLevel and includeExecutionData still override, and a level below ALL is acknowledged with it', () => {
  const { app, stack, template } = build(FIXTURE_DIR, { logLevel: sfn.LogLevel.FATAL, includeExecutionData: true });
  template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
    LoggingConfiguration: Match.objectLike({ Level: 'FATAL', IncludeExecutionData: true }),
  });
  const sf1 = acknowledged(stack).filter(([, id]) => id === 'AwsSolutions-SF1');
  expect(sf1).toHaveLength(2);
  for (const [, , reason] of sf1) expect(reason).toMatch(/chose log level FATAL/);
  const all = build(FIXTURE_DIR, { fullExecutionLogs: true, includeExecutionData: false }).template;
  all.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: false }) });
  expect(() => app.synth()).not.toThrow();
});

/** Every cdk-nag acknowledgement in the stack: [construct path, rule id, reason]. */
function acknowledged(stack: Stack): [string, string, string][] {
  const found: [string, string, string][] = [];
  for (const c of stack.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) found.push([c.node.path, id.replace(/^Annotation::/, ''), reason]);
    }
  }
  return found;
}

test('cdk-nag is really on: an unencrypted, SSL-optional queue fails the synth', () => {
  expect(() =>
    build(FIXTURE_DIR, {}, (stack) => {
      new sqs.Queue(stack, 'CarelessQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    }),
  ).toThrow(/AwsSolutions-SQS4/);
});

test('the only cdk-nag acknowledgements are these, each naming its rule with a reason', () => {
  const { stack } = build(FIXTURE_DIR);
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
  const lambdas = ['LlmAnthropic', 'LlmBedrock', 'SqsTrigger', 'ToolCalculate', 'ToolCurrentTime', 'ToolGetWeather'];
  const anyVersion = (fn: string) => `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(stack.node.findChild('Agents').node.findChild(fn).node.defaultChild as any)}.Arn>:*]`;
  expect(found.sort()).toEqual(
    [
      ['SfnAgent/Agents/ApiKeys', 'AwsSolutions-SMG4'],
      ['SfnAgent/Agents/LlmBedrockRole', 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0]'],
      // Log delivery and X-Ray on "*"; any version of the machine's own Lambdas; ERROR by default.
      ['SfnAgent/Agents/QuickMathStateMachineRole', 'AwsSolutions-IAM5[Resource::*]'],
      ['SfnAgent/Agents/QuickMathStateMachineRole', anyVersion('LlmBedrock')],
      ['SfnAgent/Agents/QuickMathStateMachineRole', anyVersion('ToolCalculate')],
      ['SfnAgent/Agents/QuickMathStateMachine', 'AwsSolutions-SF1'],
      ['SfnAgent/Agents/WeatherStateMachineRole', 'AwsSolutions-IAM5[Resource::*]'],
      ['SfnAgent/Agents/WeatherStateMachineRole', anyVersion('LlmAnthropic')],
      ['SfnAgent/Agents/WeatherStateMachineRole', anyVersion('ToolGetWeather')],
      ['SfnAgent/Agents/WeatherStateMachineRole', anyVersion('ToolCurrentTime')],
      ['SfnAgent/Agents/WeatherStateMachine', 'AwsSolutions-SF1'],
      // Each Lambda: X-Ray on "*", no async invocation so no DLQ.
      ...lambdas.flatMap((fn) => [
        [`SfnAgent/Agents/${fn}Role`, 'AwsSolutions-IAM5[Resource::*]'],
        [`SfnAgent/Agents/${fn}`, 'Serverless-LambdaDLQ'],
      ]),
      ['SfnAgent/Agents/SqsTriggerLive', 'Serverless-LambdaEventSourceMappingDestination'],
      ['SfnAgent/Agents/TriggerDeadLetterQueue', 'Serverless-SQSRedrivePolicy'],
    ].sort(),
  );
});

function byJsonStmt(a: Stmt, b: Stmt): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

test('a provider base URL reaches only that provider’s LLM Lambda, and a bad one is refused', () => {
  const { template } = build(REAL_DIR, { providerBaseUrls: { openai: 'https://api.deepseek.com/v1' } });
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
  const withUrl = functions.filter((f) => f.Properties.Environment?.Variables?.OPENAI_BASE_URL);
  expect(withUrl.map((f) => f.Properties.Description)).toEqual(['sfn-agent llm-openai']);
  expect(withUrl[0].Properties.Environment.Variables.OPENAI_BASE_URL).toBe('https://api.deepseek.com/v1');
  expect(() => build(REAL_DIR, { providerBaseUrls: { openai: 'not a url' } })).toThrow(/not an http\(s\) URL/);
});

test('openaiApi reaches only the OpenAI LLM Lambda as OPENAI_API, and anything else is refused', () => {
  const { template } = build(REAL_DIR, { openaiApi: 'chat' });
  const functions = Object.values(template.findResources('AWS::Lambda::Function')) as any[];
  const withApi = functions.filter((f) => f.Properties.Environment?.Variables?.OPENAI_API);
  expect(withApi.map((f) => f.Properties.Description)).toEqual(['sfn-agent llm-openai']);
  expect(withApi[0].Properties.Environment.Variables.OPENAI_API).toBe('chat');
  const without = build(REAL_DIR, {}).template.findResources('AWS::Lambda::Function');
  expect(Object.values(without).some((f: any) => f.Properties.Environment?.Variables?.OPENAI_API)).toBe(false);
  expect(() => build(REAL_DIR, { openaiApi: 'completions' as any })).toThrow(/takes `responses` or `chat`/);
});
