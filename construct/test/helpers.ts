/** Builds a stack with the construct the way a team's app does, with bundling skipped, and reads its template. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { SfnAgents, SfnAgentsProps } from '../src/sfn-agents';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_DIR = path.join(__dirname, 'fixtures', 'state-machines');
export const REAL_DIR = path.join(WORKSPACE_ROOT, 'state-machines');

/** The feature flags of the repo's app (`cdk/cdk.json`), so the tests see what a deploy sees. */
const FEATURE_FLAGS: Record<string, unknown> = JSON.parse(fs.readFileSync(path.join(__dirname, 'feature-flags.json'), 'utf8'));

export interface Built {
  app: App;
  stack: Stack;
  agents: SfnAgents;
  template: Template;
}

/**
 * The construct in a stack named `SfnAgent` under the id `Agents`, built from `dir` with the
 * repo as its Cargo workspace (nothing is built: bundling is skipped), cdk-nag's AwsSolutions and
 * Serverless packs on. `props` may
 * be a function of the stack, to make functions in it for `toolFunctions`.
 */
export function build(
  dir: string,
  props: Partial<SfnAgentsProps> | ((stack: Stack) => Partial<SfnAgentsProps>) = {},
  before?: (stack: Stack) => void,
): Built {
  const app = new App({ context: { ...FEATURE_FLAGS, 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'SfnAgent');
  const extra = typeof props === 'function' ? props(stack) : props;
  const code = extra.prebuiltDir || extra.lambdaCode || extra.cargoWorkspace ? {} : { cargoWorkspace: WORKSPACE_ROOT };
  const agents = new SfnAgents(stack, 'Agents', { stateMachinesDir: dir, ...code, ...extra });
  before?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack, agents, template: Template.fromStack(stack) };
}

/** A copy of a fixture folder, with its manifest (and optionally one definition) edited. */
export function copyFixture(
  from: string,
  edit: (manifest: any) => any,
  editDefinition?: { file: string; edit: (text: string) => string },
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfn-agent-manifest-'));
  for (const f of fs.readdirSync(from)) fs.copyFileSync(path.join(from, f), path.join(dir, f));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(edit(manifest)));
  if (editDefinition) {
    const file = path.join(dir, editDefinition.file);
    fs.writeFileSync(file, editDefinition.edit(fs.readFileSync(file, 'utf8')));
  }
  return dir;
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
