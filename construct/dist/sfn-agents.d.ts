import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LoadedAgent } from './manifest';
/**
 * What to deploy and how. The Lambda code comes from exactly one of `cargoWorkspace`,
 * `prebuiltDir` and `lambdaCode`.
 */
export interface SfnAgentsProps {
    /** The folder with `manifest.json` and the `<agent>.asl.json` files it names. */
    readonly stateMachinesDir: string;
    /**
     * The Cargo workspace that has a `[[bin]]` for every binary the manifest names (and the SQS
     * trigger's): built with one `cargo lambda build --release --arm64 --output-format zip` on
     * deploy, skipped with CDK's bundling switch.
     */
    readonly cargoWorkspace?: string;
    /** The cargo-lambda executable for `cargoWorkspace`. Default: `cargo lambda` through PATH. */
    readonly cargoLambda?: string;
    /** A folder with `<binary>/bootstrap.zip` for every binary, used as they are. */
    readonly prebuiltDir?: string;
    /** Makes the code of one binary, for anything the other two do not cover. */
    readonly lambdaCode?: (binary: string) => lambda.Code;
    /**
     * Existing Lambdas for tools, by the tool's model-facing name (`lookup_order`): such a tool gets
     * no built Lambda, whatever the manifest says, and the state machine may invoke this function.
     */
    readonly toolFunctions?: Record<string, lambda.IFunction>;
    /** The cargo binary of the SQS trigger Lambda. Default `sqs-trigger`. */
    readonly sqsTriggerBinary?: string;
    /** The state machines' log level. Default ALL (what the console's execution view needs). */
    readonly logLevel?: sfn.LogLevel;
    /** Whether state inputs and outputs go to the logs. Default true. */
    readonly includeExecutionData?: boolean;
    /** How long log lines are kept. Default one month. */
    readonly logRetention?: logs.RetentionDays;
    /** How long a conversation lives after its last turn. Default 30 days. */
    readonly conversationTtlDays?: number;
    /** The `source` of the EventBridge events that start agents. Default `sfn-agent`. */
    readonly eventSource?: string;
    /**
     * Base URLs of the providers' APIs, by provider (`openai`, `anthropic`, `gemini`), set on that
     * provider's LLM Lambda as `OPENAI_BASE_URL` and so on: how a deployed agent talks to an
     * OpenAI-compatible server (DeepSeek, Groq, xAI, a vLLM endpoint) or a proxy. Default: none,
     * the providers' own endpoints.
     */
    readonly providerBaseUrls?: Partial<Record<'openai' | 'anthropic' | 'gemini', string>>;
}
/** The EventBridge `detail-type` that asks an agent a question. */
export declare const QUESTION_DETAIL_TYPE = "Agent Question";
/** The default cargo binary of the SQS trigger Lambda (crate `triggers` in sfn-agent). */
export declare const SQS_TRIGGER_BINARY = "sqs-trigger";
/**
 * The agents of one manifest with everything they need. Its outputs name every state machine
 * (`StateMachineArn<Agent>`, with CDK's prefix and hash), so `sfn-agent invoke` finds them.
 */
export declare class SfnAgents extends Construct {
    /** The conversation table. */
    readonly table: dynamodb.Table;
    /** The provider API keys, a JSON object `{anthropic, openai, gemini}`. */
    readonly apiKeys: secretsmanager.Secret;
    /** One state machine per agent, by agent name. */
    readonly stateMachines: Map<string, sfn.StateMachine>;
    /** One Lambda per cargo binary, by binary name (external tool Lambdas are not here). */
    readonly functions: Map<string, lambda.Function>;
    /** The agents as the manifest gives them, with their definitions. */
    readonly agents: LoadedAgent[];
    /** The queue whose messages start executions. */
    readonly queue: sqs.Queue;
    /** Where messages and events that could not start an execution end up. */
    readonly deadLetterQueue: sqs.Queue;
    /** Each tool's Lambda, when it is not built here: from `toolFunctions` or the manifest's `function`. */
    private readonly externalTools;
    /** The stack the construct is in: its name prefixes the state machines' names. */
    private readonly stack;
    constructor(scope: Construct, id: string, props: SfnAgentsProps);
    /**
     * Imports each tool Lambda that is not built here, once per function: `toolFunctions` first,
     * then the manifest's `function` (an ARN, or a name in this stack's account and region).
     */
    private importExternalTools;
    /** The Lambda a tool entry calls: external when given so, else the one built from its binary. */
    private toolFunction;
    /** A Rust Lambda with its own role and log group, and nothing else in the role yet. */
    private rustFunction;
    /** An LLM Lambda reads the secret and the conversation table, and (Bedrock) calls its models. */
    private grantLlm;
    private agentStateMachine;
    /**
     * The SQS trigger: a Rust Lambda that starts one execution per message, named after the
     * message id, so a redelivered message starts no second Standard execution.
     */
    private sqsTrigger;
    /**
     * Two rules per agent, on `{"source": [source], "detail-type": ["Agent Question"],
     * "detail": {"agent": [name]}}`: one for a new conversation (`detail.question` → the input's
     * `question`), one for an event that carries `detail.conversation_id` (mapped too). An input
     * transformer cannot leave out a field the event lacks, hence the pair.
     */
    private eventRules;
    private fn;
}
/** `get-weather` / `get_weather` → `GetWeather`, for construct ids and output names. */
export declare function pascal(name: string): string;
