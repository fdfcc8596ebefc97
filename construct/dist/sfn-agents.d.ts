import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
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
    /**
     * Full execution logs: every event (`ALL`) with the states' inputs and outputs, which hold the
     * users' questions, the prompts and the answers. Default false: the state machines log `ERROR`
     * events without execution data, so no conversation content lands in CloudWatch Logs.
     * `logLevel` and `includeExecutionData` override either half.
     */
    readonly fullExecutionLogs?: boolean;
    /** The state machines' log level. Default ERROR (ALL with `fullExecutionLogs`). */
    readonly logLevel?: sfn.LogLevel;
    /** Whether state inputs and outputs go to the logs. Default false (true with `fullExecutionLogs`). */
    readonly includeExecutionData?: boolean;
    /**
     * A customer-managed KMS key for the conversation table, every log group and the API-key
     * secret. Its key policy must let CloudWatch Logs use it: the construct adds that statement to
     * a key made in the same app; for an imported key, add it yourself (README). Default: the
     * AWS-managed keys (or the one `customerManagedKey` makes).
     */
    readonly encryptionKey?: kms.IKey;
    /** Make a customer-managed key (yearly rotation) for the table, the logs and the secret. Default false. */
    readonly customerManagedKey?: boolean;
    /** Reserved concurrency of each LLM Lambda: a cap on concurrent model calls. Default: none (the account's pool). */
    readonly llmReservedConcurrency?: number;
    /** CloudWatch alarms on failures, the dead-letter queue, Lambda errors and throttles, and auth failures. Default true. */
    readonly alarms?: boolean;
    /** Where the alarms notify (ALARM and OK). Default: nowhere (they show in the console and the dashboard). */
    readonly alarmTopic?: sns.ITopic;
    /**
     * An alarm when the agents' estimated model cost over one day exceeds this many US dollars
     * (the `EstimatedCostUsd` metric of the metrics contract, README). Default: no cost alarm.
     */
    readonly costAlarmUsdPerDay?: number;
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
    /**
     * Which OpenAI API the `openai` LLM Lambda calls, set on it as `OPENAI_API`: `responses` (the
     * Responses API) or `chat` (Chat Completions). Default: the Lambda's own rule, Responses on
     * api.openai.com and Chat Completions on any other base URL, since only some compatible servers
     * implement `/responses`.
     */
    readonly openaiApi?: 'responses' | 'chat';
    /**
     * The EventBridge bus that agents with `requests.destination: "eventbridge"` put their approval
     * requests and questions on. Default: a new bus `<stack name>-agent-requests`, made only when
     * such an agent is in the manifest.
     */
    readonly requestEventBus?: events.IEventBus;
    /**
     * The SNS topic for agents with `requests.destination: "sns"`. Default: a new topic (SSL only,
     * encrypted with the construct's key when there is one, else with `alias/aws/sns`), made only
     * when such an agent is in the manifest.
     */
    readonly requestTopic?: sns.ITopic;
    /**
     * The SQS queue for agents with `requests.destination: "sqs"` (`sfn-agent approvals --queue-url`
     * lists it). Default: a new queue (SSL only, encrypted with the construct's key when there is
     * one, else SQS-managed SSE, 14 days' retention), made only when such an agent is in the manifest.
     */
    readonly requestQueue?: sqs.IQueue;
}
/** The EventBridge `detail-type` that asks an agent a question. */
export declare const QUESTION_DETAIL_TYPE = "Agent Question";
/** The default cargo binary of the SQS trigger Lambda (crate `triggers` in sfn-agent). */
export declare const SQS_TRIGGER_BINARY = "sqs-trigger";
/** The alias of every built Lambda, on the version of the last deploy. */
export declare const LIVE_ALIAS = "live";
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
    /**
     * Each built Lambda's alias `live`, by binary: the version of the last deploy. The SQS trigger
     * is invoked through it; the state machines call the version itself (see `agentStateMachine`).
     */
    readonly aliases: Map<string, lambda.Alias>;
    /** The customer-managed key of the table, the log groups and the secret, when there is one. */
    readonly encryptionKey?: kms.IKey;
    /** The alarms (empty with `alarms: false`). */
    readonly alarms: cloudwatch.Alarm[];
    /** The deployment's CloudWatch dashboard. */
    readonly dashboard: cloudwatch.Dashboard;
    /** The agents as the manifest gives them, with their definitions. */
    readonly agents: LoadedAgent[];
    /** The queue whose messages start executions. */
    readonly queue: sqs.Queue;
    /** Where messages and events that could not start an execution end up. */
    readonly deadLetterQueue: sqs.Queue;
    /** The bus approval requests and questions go on, when an agent sends them to EventBridge. */
    readonly requestEventBus?: events.IEventBus;
    /** The topic approval requests and questions are published to, when an agent sends them to SNS. */
    readonly requestTopic?: sns.ITopic;
    /** The queue approval requests and questions are sent to, when an agent sends them to SQS. */
    readonly requestQueue?: sqs.IQueue;
    /** Each tool's Lambda, when it is not built here: from `toolFunctions` or the manifest's `function`. */
    private readonly externalTools;
    /** The stack the construct is in: its name prefixes the state machines' names. */
    private readonly stack;
    constructor(scope: Construct, id: string, props: SfnAgentsProps);
    /**
     * The bus, topic and queue that the manifest's `requests` need: each the one the props give,
     * or a new one, and only when some agent sends its requests there. A given one that no agent
     * uses is refused (it would sit there receiving nothing).
     */
    private requestDestinations;
    /**
     * The customer-managed key, given or made, with a key policy statement that lets CloudWatch
     * Logs use it for this account's log groups in this region (AWS's documented statement; a
     * no-op on an imported key, whose policy the README says how to extend).
     */
    private customerKey;
    /**
     * Imports each tool Lambda that is not built here, once per function: `toolFunctions` first,
     * then the manifest's `function` (an ARN, or a name in this stack's account and region).
     */
    private importExternalTools;
    /** The Lambda a tool entry calls: external when given so, else the one built from its binary. */
    private toolFunction;
    /**
     * A Rust Lambda with its own role and (encrypted, with a key) log group, X-Ray tracing, and a
     * new version on each change of its code or configuration, which its alias `live` points at.
     * Old versions are retained: an execution that started before a deploy still calls its own.
     */
    private rustFunction;
    /** An LLM Lambda reads the secret and the conversation table, and (Bedrock) calls its models. */
    private grantLlm;
    /**
     * One agent's state machine. Its definition calls each built Lambda by the **version** of this
     * deploy (`arn:…:function:<name>:<n>`): Step Functions runs an execution on the definition it
     * started with, so a Standard execution that outlives a deploy keeps calling the code it started
     * with (the alias `live` would move under it). Its role may therefore invoke any version of its
     * own Lambdas (`<function ARN>:*`: the old version for such an execution, the new one for the
     * next) and nothing else; an external tool Lambda is called and allowed exactly as given.
     */
    private agentStateMachine;
    /**
     * A supervisor's sub-agents: each placeholder gets the sub-agent's state machine ARN, formatted
     * from its name (`<stack name>-<agent>`) rather than referenced, since a supervisor and its
     * sub-agent may each call the other and a Ref would make a dependency cycle. The role gets what
     * `states:startExecution.sync` needs, as AWS documents it: StartExecution on the machines,
     * DescribeExecution and StopExecution on their executions, and the managed rule by which Step
     * Functions learns that a nested execution ended.
     */
    private grantSubAgents;
    /**
     * An agent that waits for people: its placeholder gets the bus name, topic ARN or queue URL, and
     * its role may put events on that bus, publish to that topic or send to that queue, and nothing
     * else (plus GenerateDataKey and Decrypt on a customer key of the topic or queue, which SNS and
     * SQS need from a sender).
     */
    private grantRequests;
    /**
     * The MCP tool Lambda may read exactly the secrets the manifest's MCP servers name
     * (secretsmanager:GetSecretValue, nothing else): an ARN as given, a name as the ARN of that
     * name in this account and region, with `-??????` for the six characters Secrets Manager
     * appends to every secret's ARN.
     */
    private grantMcpSecrets;
    /** The ARN of a state machine of this stack's account and region, by name, with no reference to it. */
    private stateMachineArn;
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
