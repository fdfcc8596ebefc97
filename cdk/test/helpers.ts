/** Builds the stack the way `bin/app.ts` does, with bundling skipped, and reads its template. */
import * as fs from 'fs';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { rustLambdaCode } from '../lib/lambda-code';
import { loadStateMachines } from '../lib/manifest';
import { SfnAgentStack, SfnAgentStackProps } from '../lib/sfn-agent-stack';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_DIR = path.join(__dirname, 'fixtures', 'state-machines');
export const REAL_DIR = path.join(WORKSPACE_ROOT, 'state-machines');

/** The feature flags of cdk.json, so the tests see what a deploy sees. */
function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'cdk.json'), 'utf8')).context;
}

export interface Built {
  app: App;
  stack: SfnAgentStack;
  template: Template;
}

export function build(dir: string, extra: Partial<SfnAgentStackProps> = {}, before?: (stack: SfnAgentStack) => void): Built {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new SfnAgentStack(app, 'SfnAgent', {
    agents: loadStateMachines(dir),
    lambdaCode: (binary) => rustLambdaCode(WORKSPACE_ROOT, binary),
    ...extra,
  });
  before?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, template: Template.fromStack(stack) };
}

/** An IAM statement with its lists sorted, for exact comparisons. */
export interface Stmt {
  Sid?: string;
  Effect: string;
  Action: string[];
  Resource: unknown[];
  Condition?: unknown;
}

/** Every statement of every policy attached to the role with this `{Ref}`. */
export function statementsOf(template: Template, roleRef: unknown): Stmt[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as any[];
  const raw = policies
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(JSON.stringify(roleRef)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
  return raw.map(normalize).sort(byJson);
}

export function normalize(s: any): Stmt {
  const list = (v: unknown) => (Array.isArray(v) ? v : [v]);
  const out: Stmt = {
    Effect: s.Effect,
    Action: list(s.Action).map(String).sort(),
    Resource: list(s.Resource).sort(byJson),
  };
  if (s.Sid) out.Sid = s.Sid;
  if (s.Condition) out.Condition = s.Condition;
  return out;
}

export function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
