/**
 * MCP tools: one generic MCP tool Lambda (`mcp-tool`) for every agent with MCP servers, its ARN
 * in each such machine's placeholder, and exactly secretsmanager:GetSecretValue on the secrets
 * the manifest's servers name.
 */
import * as path from 'path';
import * as iam from 'aws-cdk-lib/aws-iam';
import { build, copyFixture, FIXTURE_DIR, normalize, REAL_DIR, statementsOf } from './helpers';

const MCP_DIR = path.join(__dirname, 'fixtures', 'mcp');

const secretArn = (name: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:secret:${name}-??????`],
  ],
});

describe('agents with MCP tools', () => {
  const built = build(MCP_DIR);
  const mcp = built.agents.functions.get('mcp-tool')!;

  test('cdk-nag AwsSolutions and Serverless pass', () => {
    expect(() => built.app.synth()).not.toThrow();
  });

  test('one MCP tool Lambda for both agents, beside their LLM Lambda', () => {
    expect([...built.agents.functions.keys()].sort()).toEqual(['llm-anthropic', 'mcp-tool', 'sqs-trigger']);
    for (const agent of ['support', 'status']) {
      const machine = built.agents.stateMachines.get(agent)!;
      const resource = built.template.toJSON().Resources[built.stack.getLogicalId(machine.node.defaultChild as any)];
      expect(resource.Properties.DefinitionSubstitutions.McpToolFunctionArn).toEqual(built.stack.resolve(mcp.currentVersion.functionArn));
    }
  });

  test('the MCP Lambda may read exactly the named secrets, and nothing else of Secrets Manager', () => {
    const statements = statementsOf(built.template, built.stack.resolve((mcp.role as iam.Role).roleName));
    expect(statements.filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:')))).toEqual([
      normalize({
        Sid: 'ReadMcpServerSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:mcp/tickets-AbCdEf', secretArn('mcp/docs')],
      }),
    ]);
  });

  test('each machine may invoke the MCP Lambda (any version of it)', () => {
    for (const agent of ['support', 'status']) {
      const role = built.agents.stateMachines.get(agent)!.role as iam.Role;
      const invoke = statementsOf(built.template, built.stack.resolve(role.roleName)).find((s) => s.Sid === 'InvokeOwnLambdas')!;
      expect(JSON.stringify(invoke.Resource)).toContain(built.stack.getLogicalId(mcp.node.defaultChild as any));
    }
  });
});

describe('without MCP servers', () => {
  test('no MCP Lambda and no Secrets Manager statement on a tool Lambda (fixture and real state-machines/)', () => {
    for (const dir of [FIXTURE_DIR, REAL_DIR]) {
      const built = build(dir);
      expect(built.agents.functions.has('mcp-tool')).toBe(false);
      for (const [binary, fn] of built.agents.functions) {
        if (binary.startsWith('llm-')) continue;
        const statements = statementsOf(built.template, built.stack.resolve((fn.role as iam.Role).roleName));
        expect(statements.filter((s) => s.Sid === 'ReadMcpServerSecrets')).toEqual([]);
      }
    }
  });
});

describe('a bad MCP section is refused with what to fix', () => {
  const edited = (edit: (mcp: any) => void) =>
    copyFixture(MCP_DIR, (m) => {
      edit(m.agents.find((a: any) => a.name === 'support').mcp);
      return m;
    });

  test('a secret that is neither a name nor a Secrets Manager ARN', () => {
    const dir = edited((mcp) => (mcp.servers[0].secret = 'arn:aws:s3:::bucket'));
    expect(() => build(dir)).toThrow(/agents\[1\]\.mcp\.servers\[0\]\.secret "arn:aws:s3:::bucket" is neither a Secrets Manager secret ARN/);
  });

  test('a URL that is not http(s)', () => {
    const dir = edited((mcp) => (mcp.servers[1].url = 'ftp://tickets'));
    expect(() => build(dir)).toThrow(/agents\[1\]\.mcp\.servers\[1\]\.url "ftp:\/\/tickets" must be an http:\/\/ or https:\/\/ URL/);
  });

  test('a definition that calls the MCP Lambda with no mcp section: the placeholder error', () => {
    const dir = copyFixture(MCP_DIR, (m) => {
      delete m.agents.find((a: any) => a.name === 'status').mcp;
      return m;
    });
    expect(() => build(dir)).toThrow(/placeholder \$\{McpToolFunctionArn\} is not in the manifest's entry for agent "status"/);
  });
});
