"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.loadStateMachines = loadStateMachines;
exports.parseManifest = parseManifest;
exports.bedrockModels = bedrockModels;
/**
 * The manifest that `sfn-agent synth` writes into `state-machines/manifest.json`, read and checked.
 *
 * The shapes mirror `agent-builder/src/manifest.rs` (the Rust side owns them). Everything the
 * construct deploys comes from here, so a new agent or tool needs no edit in a team's stack.
 */
const fs = require("fs");
const path = require("path");
const errors_1 = require("./errors");
const PROVIDERS = ['anthropic', 'openai', 'gemini', 'bedrock'];
const DESTINATIONS = ['eventbridge', 'sns', 'sqs'];
const PLACEHOLDER = /^[A-Za-z][A-Za-z0-9]*$/;
const BINARY = /^[a-z][a-z0-9-]*$/;
const AGENT_NAME = /^[a-z][a-z0-9_-]*$/;
/** A Lambda function ARN, optionally qualified by a version or alias. */
const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]+)?$/;
const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A Secrets Manager secret name, or its ARN. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/;
const MCP_URL = /^https?:\/\/[^\s/?#{}"\\]+[^\s{}"\\]*$/;
/** Reads `manifest.json` and every definition it names, failing with what to fix. */
function loadStateMachines(dir, options = {}) {
    const manifestPath = path.join(dir, 'manifest.json');
    if (!fs.existsSync(manifestPath)) {
        throw new errors_1.SfnAgentsError(`no manifest at ${manifestPath}: run your project's synth (\`cargo run -- synth\`; in the sfn-agent repository \`cargo run -p sfn-agent-demo -- synth\`) ` +
            'to generate it, or point stateMachinesDir at the folder that has it');
    }
    const manifest = parseManifest(readJson(manifestPath), manifestPath, options);
    return manifest.agents.map((agent) => {
        const file = path.join(dir, agent.definition);
        if (!fs.existsSync(file)) {
            throw new errors_1.SfnAgentsError(`${manifestPath}: agent "${agent.name}" names definition ${agent.definition}, which does not exist`);
        }
        const definitionText = fs.readFileSync(file, 'utf8');
        const definition = readJson(file, definitionText);
        checkPlaceholders(agent, definitionText, file);
        return { ...agent, definitionText, bedrockModels: bedrockModels(definition) };
    });
}
/** Checks the manifest's shape, so a typo fails the synth instead of a deploy. */
function parseManifest(value, source, options = {}) {
    const given = new Set(options.toolFunctions ?? []);
    const fail = (what) => {
        throw new errors_1.SfnAgentsError(`${source}: ${what}`);
    };
    if (!isObject(value))
        return fail('the manifest is not a JSON object');
    if (typeof value.version !== 'number')
        fail('"version" must be a number');
    if (value.version !== 1)
        fail(`manifest version ${String(value.version)} is not supported (expected 1)`);
    if (!Array.isArray(value.agents))
        return fail('"agents" must be an array');
    const names = new Set();
    const agents = value.agents.map((raw, i) => {
        const at = `agents[${i}]`;
        if (!isObject(raw))
            return fail(`${at} is not an object`);
        const name = str(raw.name, `${at}.name`, fail);
        if (!AGENT_NAME.test(name))
            fail(`${at}.name "${name}" must be lower case letters, digits, - and _`);
        if (names.has(name))
            fail(`agent "${name}" appears twice`);
        names.add(name);
        const workflow = raw.workflow_type ?? 'STANDARD';
        if (workflow !== 'STANDARD' && workflow !== 'EXPRESS')
            fail(`${at}.workflow_type must be STANDARD or EXPRESS`);
        if (!isObject(raw.llm))
            return fail(`${at}.llm must be an object`);
        const provider = raw.llm.provider;
        if (provider === undefined || !PROVIDERS.includes(provider)) {
            fail(`${at}.llm.provider must be one of ${PROVIDERS.join(', ')}`);
        }
        if (!Array.isArray(raw.tools))
            return fail(`${at}.tools must be an array`);
        const subAgents = raw.sub_agents ?? [];
        if (!Array.isArray(subAgents))
            return fail(`${at}.sub_agents must be an array`);
        const requests = raw.requests === undefined ? undefined : requestsRef(raw.requests, `${at}.requests`, fail);
        if (workflow === 'EXPRESS' && (subAgents.length > 0 || requests)) {
            fail(`agent "${name}" is EXPRESS but has ${requests ? '"requests"' : '"sub_agents"'}: Express workflows support neither ` +
                '.sync (a sub-agent\'s nested execution) nor .waitForTaskToken (a request to people); make it STANDARD');
        }
        return {
            name,
            definition: str(raw.definition, `${at}.definition`, fail),
            workflow_type: workflow,
            llm: {
                placeholder: ident(raw.llm.placeholder, `${at}.llm.placeholder`, PLACEHOLDER, fail),
                binary: ident(raw.llm.binary, `${at}.llm.binary`, BINARY, fail),
                provider: provider,
            },
            tools: raw.tools.map((t, j) => {
                const tat = `${at}.tools[${j}]`;
                if (!isObject(t))
                    return fail(`${tat} is not an object`);
                const tool = str(t.tool, `${tat}.tool`, fail);
                const placeholder = ident(t.placeholder, `${tat}.placeholder`, PLACEHOLDER, fail);
                const binary = t.binary === undefined ? undefined : ident(t.binary, `${tat}.binary`, BINARY, fail);
                const fn = t.function === undefined ? undefined : functionRef(t.function, `${tat}.function`, fail);
                if (!given.has(tool) && (binary === undefined) === (fn === undefined)) {
                    fail(`${tat} (tool "${tool}") has ${binary === undefined ? 'neither "binary" nor' : 'both "binary" and'} "function": ` +
                        'give exactly one (a cargo binary to build, or an existing Lambda\'s ARN or name), ' +
                        'or give the tool\'s Lambda with the toolFunctions prop');
                }
                return { tool, placeholder, ...(binary && { binary }), ...(fn && { function: fn }) };
            }),
            conversation_table: raw.conversation_table !== false,
            sub_agents: subAgents.map((r, j) => {
                const sat = `${at}.sub_agents[${j}]`;
                if (!isObject(r))
                    return fail(`${sat} is not an object`);
                return { agent: str(r.agent, `${sat}.agent`, fail), placeholder: ident(r.placeholder, `${sat}.placeholder`, PLACEHOLDER, fail) };
            }),
            ...(requests && { requests }),
            ...(raw.mcp !== undefined && { mcp: mcpRef(raw.mcp, `${at}.mcp`, fail) }),
        };
    });
    // A sub-agent is a state machine of this deployment: its ARN is formatted from its name.
    agents.forEach((agent, i) => {
        agent.sub_agents.forEach((sub, j) => {
            if (!names.has(sub.agent)) {
                fail(`agents[${i}].sub_agents[${j}]: agent "${agent.name}" names sub-agent "${sub.agent}", which is not an agent of this manifest ` +
                    `(its agents: ${[...names].sort().join(', ')})`);
            }
        });
    });
    return { version: 1, agents };
}
/**
 * Every `${Placeholder}` in the definition must be one the manifest fills, and every Lambda the
 * manifest names must be used: anything else would deploy a machine that cannot run.
 */
function checkPlaceholders(agent, text, file) {
    const known = new Set([
        agent.llm.placeholder,
        ...agent.tools.map((t) => t.placeholder),
        ...agent.sub_agents.map((s) => s.placeholder),
        ...(agent.requests ? [agent.requests.placeholder] : []),
        ...(agent.mcp ? [agent.mcp.placeholder] : []),
    ]);
    const used = new Set([...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]));
    for (const p of used) {
        if (!known.has(p)) {
            throw new errors_1.SfnAgentsError(`${file}: placeholder \${${p}} is not in the manifest's entry for agent "${agent.name}"`);
        }
    }
    for (const p of known) {
        if (!used.has(p)) {
            throw new errors_1.SfnAgentsError(`${file}: the manifest gives agent "${agent.name}" \${${p}}, but the definition never uses it`);
        }
    }
}
/** The model ids of every `{provider: "bedrock", model: ...}` object in the definition. */
function bedrockModels(definition) {
    const found = new Set();
    const walk = (v) => {
        if (Array.isArray(v)) {
            v.forEach(walk);
        }
        else if (isObject(v)) {
            if (v.provider === 'bedrock' && typeof v.model === 'string')
                found.add(v.model);
            Object.values(v).forEach(walk);
        }
    };
    walk(definition);
    return [...found].sort();
}
function isObject(v) {
    return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v, at, fail) {
    if (typeof v !== 'string' || v.length === 0)
        return fail(`${at} must be a non-empty string`);
    return v;
}
/** An existing Lambda: a function ARN (qualified or not) or a function name. */
function functionRef(v, at, fail) {
    const s = str(v, at, fail);
    if (s.startsWith('arn:') ? !FUNCTION_ARN.test(s) : !FUNCTION_NAME.test(s)) {
        fail(`${at} "${s}" is neither a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>) nor a function name`);
    }
    return s;
}
/** The `requests` of an agent entry: a destination the construct knows and its placeholder. */
function requestsRef(v, at, fail) {
    if (!isObject(v))
        return fail(`${at} must be an object`);
    const destination = v.destination;
    if (!DESTINATIONS.includes(destination)) {
        fail(`${at}.destination must be one of ${DESTINATIONS.join(', ')}`);
    }
    return { destination: destination, placeholder: ident(v.placeholder, `${at}.placeholder`, PLACEHOLDER, fail) };
}
/** The `mcp` of an agent entry: the MCP Lambda's placeholder and binary, and each server. */
function mcpRef(v, at, fail) {
    if (!isObject(v))
        return fail(`${at} must be an object`);
    if (!Array.isArray(v.servers) || v.servers.length === 0)
        return fail(`${at}.servers must be a non-empty array`);
    const names = new Set();
    return {
        placeholder: ident(v.placeholder, `${at}.placeholder`, PLACEHOLDER, fail),
        binary: ident(v.binary, `${at}.binary`, BINARY, fail),
        servers: v.servers.map((server, j) => {
            const sat = `${at}.servers[${j}]`;
            if (!isObject(server))
                return fail(`${sat} is not an object`);
            const name = str(server.name, `${sat}.name`, fail);
            if (names.has(name))
                fail(`${sat}: MCP server "${name}" appears twice`);
            names.add(name);
            const url = str(server.url, `${sat}.url`, fail);
            if (!MCP_URL.test(url))
                fail(`${sat}.url "${url}" must be an http:// or https:// URL`);
            let secret;
            if (server.secret !== undefined) {
                secret = str(server.secret, `${sat}.secret`, fail);
                if (secret.startsWith('arn:') ? !SECRET_ARN.test(secret) : !SECRET_NAME.test(secret)) {
                    fail(`${sat}.secret "${secret}" is neither a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>) nor a secret name`);
                }
            }
            if (!Array.isArray(server.tools))
                return fail(`${sat}.tools must be an array`);
            const tools = server.tools.map((t, k) => {
                const tat = `${sat}.tools[${k}]`;
                if (!isObject(t))
                    return fail(`${tat} is not an object`);
                return { name: str(t.name, `${tat}.name`, fail), description: str(t.description, `${tat}.description`, fail), input_schema: t.input_schema };
            });
            return { name, url, ...(secret && { secret }), tools };
        }),
    };
}
/** Parses JSON, naming the file when it is not JSON (a hand edit gone wrong). */
function readJson(file, text = fs.readFileSync(file, 'utf8')) {
    try {
        return JSON.parse(text);
    }
    catch (e) {
        throw new errors_1.SfnAgentsError(`${file} is not valid JSON: ${e.message}`);
    }
}
function ident(v, at, pattern, fail) {
    const s = str(v, at, fail);
    if (!pattern.test(s))
        fail(`${at} "${s}" must match ${pattern}`);
    return s;
}
