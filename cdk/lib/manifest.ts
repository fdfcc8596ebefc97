/**
 * The manifest that `sfn-agent synth` writes into `state-machines/manifest.json`, read and checked.
 *
 * The shapes mirror `agent-builder/src/manifest.rs` (the Rust side owns them). Everything the stack
 * deploys comes from here, so a new agent or tool needs no edit in this app.
 */
import * as fs from 'fs';
import * as path from 'path';

/** Standard (the default) or Express, as `WorkflowType` serializes it. */
export type WorkflowType = 'STANDARD' | 'EXPRESS';

/** An LLM provider, as `Provider` serializes it. */
export type Provider = 'anthropic' | 'openai' | 'gemini' | 'bedrock';

/** A Lambda a definition refers to through a `${Placeholder}`. */
export interface FunctionRef {
  /** The DefinitionSubstitutions key, without `${}` (`LlmAnthropicFunctionArn`). */
  readonly placeholder: string;
  /** The cargo binary that implements it (`llm-anthropic`). */
  readonly binary: string;
  /** The provider, for an LLM Lambda. */
  readonly provider?: Provider;
}

/** A tool Lambda. */
export interface ToolFunctionRef {
  /** The tool's name as the model calls it (`get_weather`). */
  readonly tool: string;
  /** The DefinitionSubstitutions key (`ToolGetWeatherFunctionArn`). */
  readonly placeholder: string;
  /** The cargo binary (`tool-get-weather`). */
  readonly binary: string;
}

/** One agent's state machine and what it needs. */
export interface AgentEntry {
  readonly name: string;
  readonly definition: string;
  readonly workflow_type: WorkflowType;
  readonly llm: FunctionRef;
  readonly tools: ToolFunctionRef[];
  readonly conversation_table: boolean;
}

/** Every generated state machine. */
export interface Manifest {
  readonly version: number;
  readonly agents: AgentEntry[];
}

/** An agent with its ASL definition read from disk. */
export interface LoadedAgent extends AgentEntry {
  /** The ASL document, as text, with its `${Placeholder}`s still in it. */
  readonly definitionText: string;
  /** The Bedrock model ids the definition asks for (the LLM payload's `agent.model`). */
  readonly bedrockModels: string[];
}

const PROVIDERS: readonly Provider[] = ['anthropic', 'openai', 'gemini', 'bedrock'];
const PLACEHOLDER = /^[A-Za-z][A-Za-z0-9]*$/;
const BINARY = /^[a-z][a-z0-9-]*$/;
const AGENT_NAME = /^[a-z][a-z0-9_-]*$/;

/** Reads `manifest.json` and every definition it names, failing with what to fix. */
export function loadStateMachines(dir: string): LoadedAgent[] {
  const manifestPath = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestPath)) {
    throw new Error(
      `no manifest at ${manifestPath}: run \`cargo run -p sfn-agent -- synth\` to generate state-machines/, ` +
        'or pass -c stateMachinesDir=<dir>',
    );
  }
  const manifest = parseManifest(JSON.parse(fs.readFileSync(manifestPath, 'utf8')), manifestPath);
  return manifest.agents.map((agent) => {
    const file = path.join(dir, agent.definition);
    if (!fs.existsSync(file)) {
      throw new Error(`${manifestPath}: agent "${agent.name}" names definition ${agent.definition}, which does not exist`);
    }
    const definitionText = fs.readFileSync(file, 'utf8');
    const definition: unknown = JSON.parse(definitionText);
    checkPlaceholders(agent, definitionText, file);
    return { ...agent, definitionText, bedrockModels: bedrockModels(definition) };
  });
}

/** Checks the manifest's shape, so a typo fails the synth instead of a deploy. */
export function parseManifest(value: unknown, source: string): Manifest {
  const fail = (what: string): never => {
    throw new Error(`${source}: ${what}`);
  };
  if (!isObject(value)) return fail('the manifest is not a JSON object');
  if (typeof value.version !== 'number') fail('"version" must be a number');
  if (value.version !== 1) fail(`manifest version ${String(value.version)} is not supported (expected 1)`);
  if (!Array.isArray(value.agents)) return fail('"agents" must be an array');
  const names = new Set<string>();
  const agents = value.agents.map((raw: unknown, i: number): AgentEntry => {
    const at = `agents[${i}]`;
    if (!isObject(raw)) return fail(`${at} is not an object`);
    const name = str(raw.name, `${at}.name`, fail);
    if (!AGENT_NAME.test(name)) fail(`${at}.name "${name}" must be lower case letters, digits, - and _`);
    if (names.has(name)) fail(`agent "${name}" appears twice`);
    names.add(name);
    const workflow = raw.workflow_type ?? 'STANDARD';
    if (workflow !== 'STANDARD' && workflow !== 'EXPRESS') fail(`${at}.workflow_type must be STANDARD or EXPRESS`);
    if (!isObject(raw.llm)) return fail(`${at}.llm must be an object`);
    const provider = raw.llm.provider;
    if (provider === undefined || !PROVIDERS.includes(provider as Provider)) {
      fail(`${at}.llm.provider must be one of ${PROVIDERS.join(', ')}`);
    }
    if (!Array.isArray(raw.tools)) return fail(`${at}.tools must be an array`);
    return {
      name,
      definition: str(raw.definition, `${at}.definition`, fail),
      workflow_type: workflow as WorkflowType,
      llm: {
        placeholder: ident(raw.llm.placeholder, `${at}.llm.placeholder`, PLACEHOLDER, fail),
        binary: ident(raw.llm.binary, `${at}.llm.binary`, BINARY, fail),
        provider: provider as Provider,
      },
      tools: raw.tools.map((t: unknown, j: number): ToolFunctionRef => {
        if (!isObject(t)) return fail(`${at}.tools[${j}] is not an object`);
        return {
          tool: str(t.tool, `${at}.tools[${j}].tool`, fail),
          placeholder: ident(t.placeholder, `${at}.tools[${j}].placeholder`, PLACEHOLDER, fail),
          binary: ident(t.binary, `${at}.tools[${j}].binary`, BINARY, fail),
        };
      }),
      conversation_table: raw.conversation_table !== false,
    };
  });
  return { version: 1, agents };
}

/**
 * Every `${Placeholder}` in the definition must be one the manifest fills, and every Lambda the
 * manifest names must be used: anything else would deploy a machine that cannot run.
 */
function checkPlaceholders(agent: AgentEntry, text: string, file: string): void {
  const known = new Set([agent.llm.placeholder, ...agent.tools.map((t) => t.placeholder)]);
  const used = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
  for (const p of used) {
    if (!known.has(p)) {
      throw new Error(`${file}: placeholder \${${p}} is not in the manifest's entry for agent "${agent.name}"`);
    }
  }
  for (const p of known) {
    if (!used.has(p)) {
      throw new Error(`${file}: the manifest gives agent "${agent.name}" \${${p}}, but the definition never uses it`);
    }
  }
}

/** The model ids of every `{provider: "bedrock", model: ...}` object in the definition. */
export function bedrockModels(definition: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (isObject(v)) {
      if (v.provider === 'bedrock' && typeof v.model === 'string') found.add(v.model);
      Object.values(v).forEach(walk);
    }
  };
  walk(definition);
  return [...found].sort();
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, at: string, fail: (what: string) => never): string {
  if (typeof v !== 'string' || v.length === 0) return fail(`${at} must be a non-empty string`);
  return v;
}

function ident(v: unknown, at: string, pattern: RegExp, fail: (what: string) => never): string {
  const s = str(v, at, fail);
  if (!pattern.test(s)) fail(`${at} "${s}" must match ${pattern}`);
  return s;
}
