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
/**
 * A tool Lambda: one the construct builds from a cargo `binary`, or an existing `function` (any
 * language, deployed elsewhere). The manifest gives exactly one of them, unless the construct's
 * `toolFunctions` prop gives the tool.
 */
export interface ToolFunctionRef {
    /** The tool's name as the model calls it (`get_weather`). */
    readonly tool: string;
    /** The DefinitionSubstitutions key (`ToolGetWeatherFunctionArn`). */
    readonly placeholder: string;
    /** The cargo binary to build (`tool-get-weather`). */
    readonly binary?: string;
    /** An existing Lambda's ARN (`arn:aws:lambda:…:function:lookup-order`) or name (`lookup-order`). */
    readonly function?: string;
}
/** Where an agent's approval requests and questions go, as `RequestDestination` serializes it. */
export type RequestDestination = 'eventbridge' | 'sns' | 'sqs';
/**
 * Another agent of the same manifest that this one starts as a nested execution
 * (`arn:aws:states:::states:startExecution.sync:2`).
 */
export interface SubAgentRef {
    /** The sub-agent's name (`weather`). */
    readonly agent: string;
    /** The DefinitionSubstitutions key of its state machine's ARN (`AgentWeatherStateMachineArn`). */
    readonly placeholder: string;
}
/**
 * Where an agent that waits for people sends its requests (`….waitForTaskToken`): an EventBridge
 * bus, an SNS topic or an SQS queue, which the construct provides.
 */
export interface RequestsRef {
    readonly destination: RequestDestination;
    /**
     * The DefinitionSubstitutions key of the bus name, the topic ARN or the queue URL
     * (`RequestEventBusName`, `RequestTopicArn`, `RequestQueueUrl`).
     */
    readonly placeholder: string;
}
/** A tool of an MCP server, frozen at synth time: what the model sees. */
export interface McpToolSpec {
    readonly name: string;
    readonly description: string;
    readonly input_schema: unknown;
}
/** An MCP server an agent takes tools from (streamable HTTP). */
export interface McpServerRef {
    /** The server's name in the agent. */
    readonly name: string;
    /** Its streamable HTTP endpoint. */
    readonly url: string;
    /** The Secrets Manager secret (name or ARN) with its credentials: the MCP Lambda may read it. */
    readonly secret?: string;
    /** The tools the machine takes from it, frozen at synth time. */
    readonly tools: McpToolSpec[];
}
/** The generic MCP tool Lambda an agent's MCP tools run on, and the servers behind them. */
export interface McpRef {
    /** The DefinitionSubstitutions key (`McpToolFunctionArn`). */
    readonly placeholder: string;
    /** The cargo binary of the MCP tool Lambda (`mcp-tool`). */
    readonly binary: string;
    readonly servers: McpServerRef[];
}
/** What the manifest's reader needs to know from outside the manifest. */
export interface LoadOptions {
    /**
     * Tools whose Lambda the caller gives (the construct's `toolFunctions`): such a tool may have
     * neither `binary` nor `function` in the manifest, or both.
     */
    readonly toolFunctions?: Iterable<string>;
}
/** One agent's state machine and what it needs. */
export interface AgentEntry {
    readonly name: string;
    readonly definition: string;
    readonly workflow_type: WorkflowType;
    readonly llm: FunctionRef;
    readonly tools: ToolFunctionRef[];
    readonly conversation_table: boolean;
    /** The agents this one starts as nested executions (none when the manifest has no `sub_agents`). */
    readonly sub_agents: SubAgentRef[];
    /** Where its approval requests and questions go, when it waits for people. */
    readonly requests?: RequestsRef;
    /** Its MCP servers and the Lambda that calls their tools, when it has MCP tools. */
    readonly mcp?: McpRef;
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
/** Reads `manifest.json` and every definition it names, failing with what to fix. */
export declare function loadStateMachines(dir: string, options?: LoadOptions): LoadedAgent[];
/** Checks the manifest's shape, so a typo fails the synth instead of a deploy. */
export declare function parseManifest(value: unknown, source: string, options?: LoadOptions): Manifest;
/** The model ids of every `{provider: "bedrock", model: ...}` object in the definition. */
export declare function bedrockModels(definition: unknown): string[];
