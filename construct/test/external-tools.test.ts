/**
 * Tools whose Lambda is not built here: a manifest `function` (by ARN or by name) or a
 * `toolFunctions` entry. The state machine's role pins exactly those ARNs, and no Lambda is built
 * for such a tool.
 */
import { CfnOutput } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { build, Built, copyFixture, FIXTURE_DIR, normalize, REAL_DIR, statementsOf } from './helpers';

const WEATHER_PY = 'arn:aws:lambda:eu-west-1:123456789012:function:get-weather-py';
const LOOKUP = 'arn:aws:lambda:us-east-1:210987654321:function:lookup-order:live';

/** The fixture, with the weather agent's two tools given as existing functions (ARN, name). */
const EXTERNAL_DIR = copyFixture(FIXTURE_DIR, (m) => {
  m.agents[1].tools = [
    { tool: 'get_weather', placeholder: 'ToolGetWeatherFunctionArn', function: WEATHER_PY },
    { tool: 'current_time', placeholder: 'ToolCurrentTimeFunctionArn', function: 'current-time-py' },
  ];
  return m;
});

/** `arn:<partition>:lambda:<region>:<account>:function:<name>` of the stack, as CloudFormation sees it. */
const inStack = (name: string) => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':lambda:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:function:${name}`]],
});

function invokeStatement(built: Built, agent: string) {
  const role = built.agents.stateMachines.get(agent)!.role as iam.Role;
  return statementsOf(built.template, built.stack.resolve(role.roleName)).find((s) => s.Sid === 'InvokeOwnLambdas');
}

function substitutions(built: Built, agent: string): Record<string, unknown> {
  const machine = built.agents.stateMachines.get(agent)!;
  const id = built.stack.getLogicalId(machine.node.defaultChild as any);
  return built.template.toJSON().Resources[id].Properties.DefinitionSubstitutions;
}

function descriptions(built: Built): string[] {
  return (Object.values(built.template.findResources('AWS::Lambda::Function')) as any[]).map((f) => f.Properties.Description).sort();
}

describe('a manifest tool given as an existing function', () => {
  const built = build(EXTERNAL_DIR);
  const llm = built.stack.resolve(built.agents.functions.get('llm-anthropic')!.currentVersion.functionArn);
  const llmAny = built.stack.resolve(`${built.agents.functions.get('llm-anthropic')!.functionArn}:*`);

  test('by ARN and by name: the placeholder gets its ARN, the role may invoke exactly it', () => {
    expect(substitutions(built, 'weather')).toEqual({
      LlmAnthropicFunctionArn: llm,
      ToolGetWeatherFunctionArn: WEATHER_PY,
      ToolCurrentTimeFunctionArn: inStack('current-time-py'),
    });
    expect(invokeStatement(built, 'weather')).toEqual(
      normalize({ Sid: 'InvokeOwnLambdas', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [llmAny, WEATHER_PY, inStack('current-time-py')] }),
    );
  });

  test('no Lambda is built for it, the other agent is as before, and cdk-nag passes', () => {
    expect(descriptions(built)).toEqual(
      ['llm-anthropic', 'llm-bedrock', 'sqs-trigger', 'tool-calculate'].map((b) => `sfn-agent ${b}`),
    );
    expect([...built.agents.functions.keys()].sort()).toEqual(['llm-anthropic', 'llm-bedrock', 'sqs-trigger', 'tool-calculate']);
    expect(() => built.app.synth()).not.toThrow();
  });
});

describe('toolFunctions', () => {
  const built = build(EXTERNAL_DIR, (stack) => ({
    toolFunctions: {
      calculate: lambda.Function.fromFunctionArn(stack, 'Lookup', LOOKUP),
      get_weather: lambda.Function.fromFunctionName(stack, 'TeamWeather', 'weather-team-fn'),
    },
  }));

  test('overrides a manifest binary: no build, its ARN in the definition and the role', () => {
    const llm = built.stack.resolve(built.agents.functions.get('llm-bedrock')!.currentVersion.functionArn);
    const llmAny = built.stack.resolve(`${built.agents.functions.get('llm-bedrock')!.functionArn}:*`);
    expect(substitutions(built, 'quick-math')).toEqual({ LlmBedrockFunctionArn: llm, ToolCalculateFunctionArn: LOOKUP });
    expect(invokeStatement(built, 'quick-math')).toEqual(
      normalize({ Sid: 'InvokeOwnLambdas', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [llmAny, LOOKUP] }),
    );
    expect(built.agents.functions.has('tool-calculate')).toBe(false);
  });

  test('overrides a manifest function too', () => {
    const llmAny = built.stack.resolve(`${built.agents.functions.get('llm-anthropic')!.functionArn}:*`);
    expect(substitutions(built, 'weather')).toMatchObject({ ToolGetWeatherFunctionArn: inStack('weather-team-fn') });
    expect(invokeStatement(built, 'weather')).toEqual(
      normalize({
        Sid: 'InvokeOwnLambdas',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: [llmAny, inStack('weather-team-fn'), inStack('current-time-py')],
      }),
    );
    expect(JSON.stringify(built.template.toJSON())).not.toContain('get-weather-py');
  });

  test('builds only the rest, and cdk-nag passes', () => {
    expect(descriptions(built)).toEqual(['llm-anthropic', 'llm-bedrock', 'sqs-trigger'].map((b) => `sfn-agent ${b}`));
    expect(() => built.app.synth()).not.toThrow();
  });

  test('a tool no agent uses is refused (a typo would otherwise be silent)', () => {
    expect(() => build(FIXTURE_DIR, (stack) => ({ toolFunctions: { get_wether: lambda.Function.fromFunctionName(stack, 'F', 'f') } }))).toThrow(
      'toolFunctions gives "get_wether", which no agent in ' + FIXTURE_DIR + ' uses (their tools: calculate, current_time, get_weather)',
    );
  });

  test('gives a tool the manifest has with neither binary nor function; without it, a clear error', () => {
    const neither = copyFixture(FIXTURE_DIR, (m) => {
      delete m.agents[0].tools[0].binary;
      return m;
    });
    expect(() => build(neither)).toThrow(
      /agents\[0\]\.tools\[0\] \(tool "calculate"\) has neither "binary" nor "function": give exactly one/,
    );
    const given = build(neither, (stack) => ({ toolFunctions: { calculate: lambda.Function.fromFunctionArn(stack, 'Calc', LOOKUP) } }));
    expect(substitutions(given, 'quick-math')).toMatchObject({ ToolCalculateFunctionArn: LOOKUP });
  });

  test('a tool with both binary and function is refused', () => {
    const both = copyFixture(FIXTURE_DIR, (m) => {
      m.agents[0].tools[0].function = 'calc-fn';
      return m;
    });
    expect(() => build(both)).toThrow(/\(tool "calculate"\) has both "binary" and "function"/);
  });
});

describe('outputs', () => {
  /** What the Rust CLI accepts as an agent's output key: exact, or any prefix and CDK's 8-hex hash. */
  const keyFor = (keys: string[], pascalName: string) =>
    keys.filter((k) => k === `StateMachineArn${pascalName}` || new RegExp(`StateMachineArn${pascalName}[0-9A-F]{8}$`).test(k));

  test.each([
    ['fixture', FIXTURE_DIR, ['QuickMath', 'Weather']],
    ['state-machines/', REAL_DIR, ['Assistant', 'Calculator', 'Supervisor', 'Weather', 'WeatherBrief']],
  ])('from %s: one StateMachineArn<Agent> key per agent, with the construct id prefix and a hash', (_label, dir, names) => {
    const built = build(dir as string);
    const outputs = built.template.toJSON().Outputs as Record<string, { Value: unknown; Description?: string }>;
    const keys = Object.keys(outputs);
    for (const name of names as string[]) {
      const found = keyFor(keys, name);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(new RegExp(`^AgentsStateMachineArn${name}[0-9A-F]{8}$`));
      const output = built.agents.node.findChild(`StateMachineArn${name}`) as CfnOutput;
      expect(built.stack.getLogicalId(output)).toBe(found[0]);
    }
    const others = ['TriggerQueueUrl', 'TriggerDeadLetterQueueUrl', 'ConversationTableName', 'ApiKeysSecretArn'];
    expect(keys.sort()).toEqual(
      [...(names as string[]).map((n) => keyFor(keys, n)[0]), ...others.map((o) => keys.find((k) => new RegExp(`^Agents${o}[0-9A-F]{8}$`).test(k))!)].sort(),
    );
    const description = (o: string) => outputs[keys.find((k) => k.startsWith(`Agents${o}`))!].Description;
    expect(description('TriggerQueueUrl')).toBe('Send {"agent", "question"} here');
    expect(description('ApiKeysSecretArn')).toBe('aws secretsmanager put-secret-value --secret-id <this> --secret-string file://keys.json');
    expect(description('StateMachineArnWeather')).toMatch(/^The weather agent \(STANDARD\): sfn-agent invoke weather "\.\.\."$/);
  });
});
