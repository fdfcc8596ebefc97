/**
 * The construct: every agent's state machine from a `state-machines/` folder, the Rust Lambdas
 * they call, the conversation table, the API-key secret, and the SQS and EventBridge triggers,
 * in whatever Stack a team puts it.
 *
 * Nothing here names an agent or a tool: the manifest does. Every IAM statement is written out by
 * hand (no `grant*` helper that adds more than the job needs), so the tests can pin each role's
 * actions and resources exactly.
 */
import * as path from 'path';
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SfnAgentsError } from './errors';
import { CargoLambdaBuild, prebuiltCode } from './lambda-code';
import { LoadedAgent, loadStateMachines, RequestDestination, ToolFunctionRef } from './manifest';
import { AgentsMonitoring } from './monitoring';

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
export const QUESTION_DETAIL_TYPE = 'Agent Question';
/** The default cargo binary of the SQS trigger Lambda (crate `triggers` in sfn-agent). */
export const SQS_TRIGGER_BINARY = 'sqs-trigger';

/** LLM calls can be long (big contexts, slow models); the ASL's task timeout is 330 s above it. */
const LLM_TIMEOUT = Duration.seconds(300);
/** Network-bound, small JSON, Rust: 256 MB is plenty and gives a proportionally faster CPU. */
const LLM_MEMORY_MB = 256;
/** Tools are one HTTP call or a computation; the ASL's task timeout is 90 s above it. */
const TOOL_TIMEOUT = Duration.seconds(60);
const TOOL_MEMORY_MB = 128;
/** The trigger starts up to 10 executions (one SQS batch). */
const TRIGGER_TIMEOUT = Duration.seconds(30);
const TRIGGER_MEMORY_MB = 128;
/** An SQS message that failed this many times goes to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;
/** The alias of every built Lambda, on the version of the last deploy. */
export const LIVE_ALIAS = 'live';
/**
 * The rule Step Functions manages in the account to learn that a nested execution ended
 * (`startExecution.sync`): the calling machine's role must be allowed to put and describe it.
 */
const NESTED_EXECUTION_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';
/** How long the request queue keeps a request: SQS's longest, for requests that wait for days. */
const REQUEST_RETENTION = Duration.days(14);

/**
 * The agents of one manifest with everything they need. Its outputs name every state machine
 * (`StateMachineArn<Agent>`, with CDK's prefix and hash), so `sfn-agent invoke` finds them.
 */
export class SfnAgents extends Construct {
  /** The conversation table. */
  readonly table: dynamodb.Table;
  /** The provider API keys, a JSON object `{anthropic, openai, gemini}`. */
  readonly apiKeys: secretsmanager.Secret;
  /** One state machine per agent, by agent name. */
  readonly stateMachines = new Map<string, sfn.StateMachine>();
  /** One Lambda per cargo binary, by binary name (external tool Lambdas are not here). */
  readonly functions = new Map<string, lambda.Function>();
  /**
   * Each built Lambda's alias `live`, by binary: the version of the last deploy. The SQS trigger
   * is invoked through it; the state machines call the version itself (see `agentStateMachine`).
   */
  readonly aliases = new Map<string, lambda.Alias>();
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
  private readonly externalTools = new Map<string, lambda.IFunction>();
  /** The stack the construct is in: its name prefixes the state machines' names. */
  private readonly stack: Stack;

  constructor(scope: Construct, id: string, props: SfnAgentsProps) {
    super(scope, id);
    this.stack = Stack.of(this);
    const dir = path.resolve(props.stateMachinesDir);
    const toolFunctions = props.toolFunctions ?? {};
    this.agents = loadStateMachines(dir, { toolFunctions: Object.keys(toolFunctions) });
    if (this.agents.length === 0) throw new SfnAgentsError(`${dir}/manifest.json lists no agents: nothing to deploy`);
    const usedTools = new Set(this.agents.flatMap((a) => a.tools.map((t) => t.tool)));
    for (const tool of Object.keys(toolFunctions)) {
      if (!usedTools.has(tool)) {
        throw new SfnAgentsError(`toolFunctions gives "${tool}", which no agent in ${dir} uses (their tools: ${[...usedTools].sort().join(', ')})`);
      }
    }
    const triggerBinary = props.sqsTriggerBinary ?? SQS_TRIGGER_BINARY;
    const binaries = builtBinaries(this.agents, toolFunctions);
    if (binaries.includes(triggerBinary)) {
      throw new SfnAgentsError(`the SQS trigger's binary \`${triggerBinary}\` is also an LLM or tool Lambda in the manifest: set sqsTriggerBinary`);
    }
    const lambdaCode = codeSource(props, [...binaries, triggerBinary]);
    this.importExternalTools(toolFunctions);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    this.encryptionKey = this.customerKey(props);
    if (props.llmReservedConcurrency !== undefined && (!Number.isInteger(props.llmReservedConcurrency) || props.llmReservedConcurrency < 1)) {
      throw new SfnAgentsError(`llmReservedConcurrency must be a whole number of at least 1, got ${props.llmReservedConcurrency}`);
    }

    this.table = new dynamodb.Table(this, 'ConversationTable', {
      partitionKey: { name: 'conversation_id', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'turn', type: dynamodb.AttributeType.NUMBER },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      ...(this.encryptionKey
        ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: this.encryptionKey }
        : { encryption: dynamodb.TableEncryption.AWS_MANAGED }),
      timeToLiveAttribute: 'expires_at',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.apiKeys = new secretsmanager.Secret(this, 'ApiKeys', {
      description: 'sfn-agent LLM provider API keys: {"anthropic": "...", "openai": "...", "gemini": "..."}',
      encryptionKey: this.encryptionKey,
      // The template holds the shape only, with empty values; the keys go in with
      // `aws secretsmanager put-secret-value` after the deploy (see README). The generated key is
      // required by CloudFormation next to a template and is never read.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ anthropic: '', openai: '', gemini: '' }),
        generateStringKey: 'unused',
        excludePunctuation: true,
      },
    });
    Validations.of(this.apiKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Third-party LLM API keys cannot be rotated by a rotation Lambda: they are issued in each ' +
        "provider's console. Rotate them there and run put-secret-value (README).",
    });

    const ttlDays = props.conversationTtlDays ?? 30;
    for (const binary of binaries) {
      const llm = this.agents.find((a) => a.llm.binary === binary)?.llm;
      const fn = this.rustFunction(binary, lambdaCode(binary), logRetention, llm
        ? {
            timeout: LLM_TIMEOUT,
            memorySize: LLM_MEMORY_MB,
            reservedConcurrency: props.llmReservedConcurrency,
            environment: {
              CONVERSATION_TABLE: this.table.tableName,
              API_KEYS_SECRET_ID: this.apiKeys.secretArn,
              CONVERSATION_TTL_DAYS: String(ttlDays),
              ...baseUrlEnvironment(props.providerBaseUrls, llm.provider),
              ...openaiApiEnvironment(props.openaiApi, llm.provider),
            },
          }
        : { timeout: TOOL_TIMEOUT, memorySize: TOOL_MEMORY_MB, environment: {} });
      if (llm) this.grantLlm(fn, llm.provider === 'bedrock' ? bedrockModelsOf(this.agents, binary) : undefined);
      this.grantMcpSecrets(fn, mcpSecretsOf(this.agents, binary));
      this.functions.set(binary, fn);
    }

    const destinations = this.requestDestinations(props);
    this.requestEventBus = destinations.eventbridge as events.IEventBus | undefined;
    this.requestTopic = destinations.sns as sns.ITopic | undefined;
    this.requestQueue = destinations.sqs as sqs.IQueue | undefined;

    for (const agent of this.agents) {
      this.stateMachines.set(agent.name, this.agentStateMachine(agent, props, logRetention));
    }

    // Triggers. One dead-letter queue for everything that could not start an execution.
    this.deadLetterQueue = new sqs.Queue(this, 'TriggerDeadLetterQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'TriggerQueue', {
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      // AWS's advice for a Lambda event source: six times the function's timeout.
      visibilityTimeout: Duration.seconds(TRIGGER_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the dead-letter queue of the trigger queue and of the EventBridge targets: ' +
        'nothing reads it to fail again, an alarm watches its depth and an operator drains it.',
    });
    this.sqsTrigger(triggerBinary, lambdaCode(triggerBinary), logRetention);
    this.eventRules(props.eventSource ?? 'sfn-agent');

    const monitoring = new AgentsMonitoring(this, 'Monitoring', {
      agents: this.agents,
      stateMachines: this.stateMachines,
      functions: this.functions,
      deadLetterQueue: this.deadLetterQueue,
      alarms: props.alarms ?? true,
      alarmTopic: props.alarmTopic,
      costAlarmUsdPerDay: props.costAlarmUsdPerDay,
      dashboardName: `${this.stack.stackName}-agents`,
    });
    this.alarms = monitoring.alarms;
    this.dashboard = monitoring.dashboard;

    new CfnOutput(this, 'TriggerQueueUrl', { value: this.queue.queueUrl, description: 'Send {"agent", "question"} here' });
    new CfnOutput(this, 'TriggerDeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'ConversationTableName', { value: this.table.tableName });
    new CfnOutput(this, 'ApiKeysSecretArn', {
      value: this.apiKeys.secretArn,
      description: 'aws secretsmanager put-secret-value --secret-id <this> --secret-string file://keys.json',
    });
    if (this.requestEventBus) {
      new CfnOutput(this, 'RequestEventBusName', {
        value: this.requestEventBus.eventBusName,
        description: 'Approval requests and questions of the agents arrive on this bus (source sfn-agent): route them to people with a rule',
      });
    }
    if (this.requestTopic) {
      new CfnOutput(this, 'RequestTopicArn', {
        value: this.requestTopic.topicArn,
        description: 'Approval requests and questions of the agents are published here: subscribe the people who answer them',
      });
    }
    if (this.requestQueue) {
      new CfnOutput(this, 'RequestQueueUrl', {
        value: this.requestQueue.queueUrl,
        description: 'Approval requests and questions of the agents wait here: sfn-agent approvals --queue-url <this>',
      });
    }
  }

  /**
   * The bus, topic and queue that the manifest's `requests` need: each the one the props give,
   * or a new one, and only when some agent sends its requests there. A given one that no agent
   * uses is refused (it would sit there receiving nothing).
   */
  private requestDestinations(props: SfnAgentsProps): Partial<Record<RequestDestination, events.IEventBus | sns.ITopic | sqs.IQueue>> {
    const used = new Set(this.agents.flatMap((a) => (a.requests ? [a.requests.destination] : [])));
    const given: [RequestDestination, string, unknown][] = [
      ['eventbridge', 'requestEventBus', props.requestEventBus],
      ['sns', 'requestTopic', props.requestTopic],
      ['sqs', 'requestQueue', props.requestQueue],
    ];
    for (const [destination, prop, value] of given) {
      if (value !== undefined && !used.has(destination)) {
        throw new SfnAgentsError(
          `${prop} is given, but no agent of the manifest sends its requests to ${destination} ` +
            `(${used.size === 0 ? 'none has "requests"' : `they use ${[...used].sort().join(', ')}`})`,
        );
      }
    }
    const bus = props.requestEventBus?.eventBusName;
    if (bus !== undefined && !Token.isUnresolved(bus) && bus === 'default') {
      throw new SfnAgentsError(
        'requestEventBus is the default bus, where the construct\'s own rules start agents on "Agent Question" events from ' +
          'sfn-agent: a question an agent asks a person would start a run. Give a bus of its own (or leave the prop out for a new one)',
      );
    }
    const out: Partial<Record<RequestDestination, events.IEventBus | sns.ITopic | sqs.IQueue>> = {};
    if (used.has('eventbridge')) {
      out.eventbridge =
        props.requestEventBus ??
        new events.EventBus(this, 'RequestEventBus', {
          eventBusName: `${this.stack.stackName}-agent-requests`,
          description: 'sfn-agent: approval requests and questions that agents wait on',
        });
    }
    if (used.has('sns')) {
      out.sns =
        props.requestTopic ??
        new sns.Topic(this, 'RequestTopic', {
          displayName: `${this.stack.stackName} agent requests`,
          enforceSSL: true,
          // The construct's key when there is one; otherwise SNS's AWS-managed key, which needs
          // no key policy or grant for a publisher of this account.
          masterKey: this.encryptionKey ?? kms.Alias.fromAliasName(this, 'SnsManagedKey', 'alias/aws/sns'),
        });
    }
    if (used.has('sqs')) {
      let queue = props.requestQueue;
      if (!queue) {
        const created = new sqs.Queue(this, 'RequestQueue', {
          enforceSSL: true,
          ...(this.encryptionKey
            ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.encryptionKey }
            : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
          retentionPeriod: REQUEST_RETENTION,
        });
        const reason =
          'Approval requests and questions wait here for a person: `sfn-agent approvals` peeks at them ' +
          '(each look is a receive), so a redrive policy would move a pending request to a dead-letter ' +
          'queue after a few looks. A request nobody answers times out in its state machine, which goes on without it.';
        Validations.of(created).acknowledge({ id: 'AwsSolutions-SQS3', reason });
        Validations.of(created).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason });
        queue = created;
      }
      out.sqs = queue;
    }
    return out;
  }

  /**
   * The customer-managed key, given or made, with a key policy statement that lets CloudWatch
   * Logs use it for this account's log groups in this region (AWS's documented statement; a
   * no-op on an imported key, whose policy the README says how to extend).
   */
  private customerKey(props: SfnAgentsProps): kms.IKey | undefined {
    if (props.encryptionKey && props.customerManagedKey) {
      throw new SfnAgentsError('give either encryptionKey (your key) or customerManagedKey: true (a new key), not both');
    }
    const key =
      props.encryptionKey ??
      (props.customerManagedKey
        ? new kms.Key(this, 'Key', {
            description: `sfn-agent ${this.stack.stackName}: the conversation table, the log groups and the API-key secret`,
            enableKeyRotation: true,
            removalPolicy: RemovalPolicy.RETAIN,
          })
        : undefined);
    key?.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${this.stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': this.stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          },
        },
      }),
    );
    return key;
  }

  /**
   * Imports each tool Lambda that is not built here, once per function: `toolFunctions` first,
   * then the manifest's `function` (an ARN, or a name in this stack's account and region).
   */
  private importExternalTools(toolFunctions: Record<string, lambda.IFunction>): void {
    const imported = new Map<string, lambda.IFunction>();
    for (const tool of this.agents.flatMap((a) => a.tools)) {
      const key = toolKey(tool);
      if (toolFunctions[tool.tool]) {
        this.externalTools.set(key, toolFunctions[tool.tool]);
      } else if (tool.function) {
        let fn = imported.get(tool.function);
        if (!fn) {
          const id = `ExternalTool${imported.size + 1}`;
          fn = tool.function.startsWith('arn:')
            ? lambda.Function.fromFunctionArn(this, id, tool.function)
            : lambda.Function.fromFunctionName(this, id, tool.function);
          imported.set(tool.function, fn);
        }
        this.externalTools.set(key, fn);
      }
    }
  }

  /** The Lambda a tool entry calls: external when given so, else the one built from its binary. */
  private toolFunction(tool: ToolFunctionRef): lambda.IFunction {
    return this.externalTools.get(toolKey(tool)) ?? this.fn(tool.binary!);
  }

  /**
   * A Rust Lambda with its own role and (encrypted, with a key) log group, X-Ray tracing, and a
   * new version on each change of its code or configuration, which its alias `live` points at.
   * Old versions are retained: an execution that started before a deploy still calls its own.
   */
  private rustFunction(
    binary: string,
    code: lambda.Code,
    retention: logs.RetentionDays,
    sizing: { timeout: Duration; memorySize: number; environment: Record<string, string>; reservedConcurrency?: number },
  ): lambda.Function {
    const id = pascal(binary);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
      encryptionKey: this.encryptionKey,
    });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `The ${binary} Lambda`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new lambda.Function(this, id, {
      description: `sfn-agent ${binary}`,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code,
      role,
      logGroup,
      timeout: sizing.timeout,
      memorySize: sizing.memorySize,
      reservedConcurrentExecutions: sizing.reservedConcurrency,
      tracing: lambda.Tracing.ACTIVE,
      environment: { RUST_LOG: 'info', ...sizing.environment },
      currentVersionOptions: { removalPolicy: RemovalPolicy.RETAIN },
    });
    this.aliases.set(binary, new lambda.Alias(this, `${id}Live`, { aliasName: LIVE_ALIAS, version: fn.currentVersion }));
    // What CDK adds to the role for X-Ray tracing, once the function is built.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (Tracing.ACTIVE) needs xray:PutTraceSegments and xray:PutTelemetryRecords, which ' +
        'support no resource-level permissions: AWS documents "*" for them.',
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Nothing invokes this Lambda asynchronously: the state machines call it synchronously (a failure ' +
        'is caught or retried in the ASL) and the SQS trigger through an event source mapping, whose ' +
        'failed messages go to the queue\'s own dead-letter queue.',
    });
    return fn;
  }

  /** An LLM Lambda reads the secret and the conversation table, and (Bedrock) calls its models. */
  private grantLlm(fn: lambda.Function, bedrockModels: string[] | undefined): void {
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadApiKeys',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.apiKeys.secretArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ConversationStore',
        // Query loads a conversation's turns; PutItem appends one with a condition on the turn.
        actions: ['dynamodb:Query', 'dynamodb:PutItem'],
        resources: [this.table.tableArn],
      }),
    );
    if (this.encryptionKey) {
      // The key's own grant (a statement in the role's policy, so an imported key works too):
      // Decrypt for the secret's value and the turns read, Encrypt and GenerateDataKey for the
      // turns written, DescribeKey for DynamoDB's check of the key.
      this.encryptionKey.grant(fn, 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey');
    }
    if (bedrockModels === undefined) return;
    if (bedrockModels.length === 0) {
      throw new SfnAgentsError('a bedrock LLM Lambda is in the manifest, but no definition names a bedrock model');
    }
    const resources = bedrockModels.flatMap((model) => bedrockModelArns(this.stack, model));
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'InvokeAgentModels', actions: ['bedrock:InvokeModel'], resources }),
    );
    const crossRegion = bedrockModels.filter(isInferenceProfile);
    // cdk-nag names the finding after the resource as it renders it: the partition is a literal
    // when the stack's region is known, and `<AWS::Partition>` otherwise.
    const partition = Token.isUnresolved(this.stack.partition) ? '<AWS::Partition>' : this.stack.partition;
    for (const model of crossRegion) {
      Validations.of(fn.role as iam.Role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${partition}:bedrock:*::foundation-model/${foundationModelOf(model)}]`,
        reason:
          `${model} is a cross-region inference profile: Bedrock serves it from any region of its ` +
          'geography, and the caller needs InvokeModel on the foundation model in each of them. ' +
          'The model is fixed; only the region is open.',
      });
    }
  }

  /**
   * One agent's state machine. Its definition calls each built Lambda by the **version** of this
   * deploy (`arn:…:function:<name>:<n>`): Step Functions runs an execution on the definition it
   * started with, so a Standard execution that outlives a deploy keeps calling the code it started
   * with (the alias `live` would move under it). Its role may therefore invoke any version of its
   * own Lambdas (`<function ARN>:*`: the old version for such an execution, the new one for the
   * next) and nothing else; an external tool Lambda is called and allowed exactly as given.
   */
  private agentStateMachine(agent: LoadedAgent, props: SfnAgentsProps, retention: logs.RetentionDays): sfn.StateMachine {
    const id = pascal(agent.name);
    const llm = this.fn(agent.llm.binary);
    const substitutions: Record<string, string> = { [agent.llm.placeholder]: llm.currentVersion.functionArn };
    const built = new Set<lambda.Function>([llm]);
    const external = new Set<lambda.IFunction>();
    for (const tool of agent.tools) {
      const fn = this.toolFunction(tool);
      if (!this.externalTools.has(toolKey(tool))) {
        const own = fn as lambda.Function;
        substitutions[tool.placeholder] = own.currentVersion.functionArn;
        built.add(own);
      } else {
        substitutions[tool.placeholder] = fn.functionArn;
        external.add(fn);
      }
    }

    if (agent.mcp) {
      // One generic Lambda for every MCP tool: each call's payload names its server.
      const mcp = this.fn(agent.mcp.binary);
      substitutions[agent.mcp.placeholder] = mcp.currentVersion.functionArn;
      built.add(mcp);
    }

    const role = new iam.Role(this, `${id}StateMachineRole`, {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `The ${agent.name} agent's state machine`,
    });
    Object.assign(substitutions, this.grantSubAgents(agent, role), this.grantRequests(agent, role));
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeOwnLambdas',
        actions: ['lambda:InvokeFunction'],
        resources: [...[...built].map((fn) => `${fn.functionArn}:*`), ...[...external].map((fn) => fn.functionArn)],
      }),
    );
    // Vended-logs prefix: Step Functions' log delivery needs a resource policy per log group, and
    // this prefix keeps that policy from growing with each machine.
    const logGroup = new logs.LogGroup(this, `${id}StateMachineLogs`, {
      logGroupName: `/aws/vendedlogs/states/${this.stack.stackName}-${agent.name}`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
      encryptionKey: this.encryptionKey,
    });
    const full = props.fullExecutionLogs ?? false;
    const level = props.logLevel ?? (full ? sfn.LogLevel.ALL : sfn.LogLevel.ERROR);
    const includeExecutionData = props.includeExecutionData ?? full;
    const machine = new sfn.StateMachine(this, `${id}StateMachine`, {
      stateMachineName: `${this.stack.stackName}-${agent.name}`,
      stateMachineType: agent.workflow_type === 'EXPRESS' ? sfn.StateMachineType.EXPRESS : sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(agent.definitionText),
      definitionSubstitutions: substitutions,
      role,
      tracingEnabled: true,
      logs: { destination: logGroup, level, includeExecutionData },
    });
    // What CDK adds to the role for logging and tracing, once the machine is built.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:CreateLogDelivery, logs:*LogDelivery*, logs:PutResourcePolicy, ' +
        'logs:DescribeResourcePolicies, logs:DescribeLogGroups) and X-Ray (xray:PutTraceSegments, ' +
        'xray:PutTelemetryRecords, xray:GetSampling*) support no resource-level permissions: AWS documents "*" for both.',
    });
    const ownArns = [...built].map((fn) => `<${this.stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction)}.Arn>:*`);
    for (const arn of ownArns) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arn}]`,
        reason:
          'Any version of one of this agent\'s own Lambdas: the definition calls the version of the deploy ' +
          'it was started under, so an execution that outlives a deploy still calls its own version.',
      });
    }
    if (level !== sfn.LogLevel.ALL) {
      Validations.of(machine).acknowledge({
        id: 'AwsSolutions-SF1',
        reason:
          props.logLevel === undefined
            ? `Log level ${level} by default: at ALL with execution data every question, prompt and answer would sit ` +
              'in CloudWatch Logs. Opt in with fullExecutionLogs (README); X-Ray and the alarms cover failures.'
            : `The operator chose log level ${level} (the logLevel prop).`,
      });
    }
    new CfnOutput(this, `StateMachineArn${id}`, {
      value: machine.stateMachineArn,
      description: `The ${agent.name} agent (${agent.workflow_type}): sfn-agent invoke ${agent.name} "..."`,
    });
    return machine;
  }

  /**
   * A supervisor's sub-agents: each placeholder gets the sub-agent's state machine ARN, formatted
   * from its name (`<stack name>-<agent>`) rather than referenced, since a supervisor and its
   * sub-agent may each call the other and a Ref would make a dependency cycle. The role gets what
   * `states:startExecution.sync` needs, as AWS documents it: StartExecution on the machines,
   * DescribeExecution and StopExecution on their executions, and the managed rule by which Step
   * Functions learns that a nested execution ended.
   */
  private grantSubAgents(agent: LoadedAgent, role: iam.Role): Record<string, string> {
    if (agent.sub_agents.length === 0) return {};
    const substitutions: Record<string, string> = {};
    const names = [...new Set(agent.sub_agents.map((s) => `${this.stack.stackName}-${s.agent}`))];
    for (const sub of agent.sub_agents) substitutions[sub.placeholder] = this.stateMachineArn(`${this.stack.stackName}-${sub.agent}`);
    const executions = names.map((name) =>
      this.stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${name}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartSubAgents',
        actions: ['states:StartExecution'],
        resources: names.map((name) => this.stateMachineArn(name)),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FollowSubAgentExecutions',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: executions,
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'NestedExecutionEvents',
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [this.stack.formatArn({ service: 'events', resource: 'rule', resourceName: NESTED_EXECUTION_RULE })],
      }),
    );
    for (const arn of executions) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagResource(this.stack, arn)}]`,
        reason:
          'Any execution of one sub-agent\'s state machine: startExecution.sync describes (and on a timeout stops) ' +
          'the nested execution it started, whose name Step Functions generates at run time.',
      });
    }
    return substitutions;
  }

  /**
   * An agent that waits for people: its placeholder gets the bus name, topic ARN or queue URL, and
   * its role may put events on that bus, publish to that topic or send to that queue, and nothing
   * else (plus GenerateDataKey and Decrypt on a customer key of the topic or queue, which SNS and
   * SQS need from a sender).
   */
  private grantRequests(agent: LoadedAgent, role: iam.Role): Record<string, string> {
    const requests = agent.requests;
    if (!requests) return {};
    switch (requests.destination) {
      case 'eventbridge': {
        const bus = this.requestEventBus!;
        // CDK's grant: events:PutEvents on the bus ARN, nothing more.
        bus.grantPutEventsTo(role);
        return { [requests.placeholder]: bus.eventBusName };
      }
      case 'sns': {
        const topic = this.requestTopic!;
        // By hand: topic.grantPublish would add kms:GenerateDataKey* (a wildcard) on the key.
        role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'PublishRequests', actions: ['sns:Publish'], resources: [topic.topicArn] }));
        if (topic.masterKey && !isAwsManagedAlias(topic.masterKey)) topic.masterKey.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
        return { [requests.placeholder]: topic.topicArn };
      }
      case 'sqs': {
        const queue = this.requestQueue!;
        // By hand: queue.grantSendMessages adds GetQueueAttributes, GetQueueUrl, and kms:Encrypt,
        // ReEncrypt* and GenerateDataKey* on the key, none of which sendMessage needs.
        role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'SendRequests', actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
        if (queue.encryptionMasterKey) queue.encryptionMasterKey.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey');
        return { [requests.placeholder]: queue.queueUrl };
      }
    }
  }

  /**
   * The MCP tool Lambda may read exactly the secrets the manifest's MCP servers name
   * (secretsmanager:GetSecretValue, nothing else): an ARN as given, a name as the ARN of that
   * name in this account and region, with `-??????` for the six characters Secrets Manager
   * appends to every secret's ARN.
   */
  private grantMcpSecrets(fn: lambda.Function, secrets: string[]): void {
    if (secrets.length === 0) return;
    const resources = secrets.map((secret) =>
      secret.startsWith('arn:')
        ? secret
        : this.stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${secret}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    fn.addToRolePolicy(new iam.PolicyStatement({ sid: 'ReadMcpServerSecrets', actions: ['secretsmanager:GetSecretValue'], resources }));
  }

  /** The ARN of a state machine of this stack's account and region, by name, with no reference to it. */
  private stateMachineArn(name: string): string {
    return this.stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  /**
   * The SQS trigger: a Rust Lambda that starts one execution per message, named after the
   * message id, so a redelivered message starts no second Standard execution.
   */
  private sqsTrigger(binary: string, code: lambda.Code, retention: logs.RetentionDays): void {
    const machines: Record<string, string> = {};
    for (const [name, machine] of this.stateMachines) machines[name] = machine.stateMachineArn;
    const fn = this.rustFunction(binary, code, retention, {
      timeout: TRIGGER_TIMEOUT,
      memorySize: TRIGGER_MEMORY_MB,
      environment: { AGENT_STATE_MACHINES: this.stack.toJsonString(machines) },
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartAgentExecutions',
        actions: ['states:StartExecution'],
        resources: [...this.stateMachines.values()].map((m) => m.stateMachineArn),
      }),
    );
    // The event source mapping adds sqs:ReceiveMessage, ChangeMessageVisibility, GetQueueUrl,
    // DeleteMessage and GetQueueAttributes on this queue only.
    const alias = this.aliases.get(binary)!;
    alias.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true, maxConcurrency: 5 }),
    );
    Validations.of(alias).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'An SQS event source mapping takes no on-failure destination (Lambda supports them for streams and ' +
        'Kafka): a message that fails 5 receives goes to the queue\'s redrive dead-letter queue, which an alarm watches.',
    });
    this.functions.set(binary, fn);
  }

  /**
   * Two rules per agent, on `{"source": [source], "detail-type": ["Agent Question"],
   * "detail": {"agent": [name]}}`: one for a new conversation (`detail.question` → the input's
   * `question`), one for an event that carries `detail.conversation_id` (mapped too). An input
   * transformer cannot leave out a field the event lacks, hence the pair.
   */
  private eventRules(source: string): void {
    for (const [name, machine] of this.stateMachines) {
      const variants: [string, boolean][] = [
        ['QuestionRule', false],
        ['ContinueRule', true],
      ];
      for (const [suffix, continues] of variants) {
        const rule = new events.Rule(this, `${pascal(name)}${suffix}`, {
          description: continues
            ? `Continues a conversation with the ${name} agent on a "${QUESTION_DETAIL_TYPE}" event from ${source}`
            : `Starts the ${name} agent on a "${QUESTION_DETAIL_TYPE}" event from ${source}`,
          eventPattern: {
            source: [source],
            detailType: [QUESTION_DETAIL_TYPE],
            detail: { agent: [name], conversation_id: [{ exists: continues }] },
          },
        });
        const input: Record<string, string> = { question: events.EventField.fromPath('$.detail.question') };
        if (continues) input.conversation_id = events.EventField.fromPath('$.detail.conversation_id');
        rule.addTarget(
          new targets.SfnStateMachine(machine, {
            input: events.RuleTargetInput.fromObject(input),
            deadLetterQueue: this.deadLetterQueue,
            retryAttempts: 4,
            maxEventAge: Duration.hours(1),
          }),
        );
      }
    }
  }

  private fn(binary: string): lambda.Function {
    const fn = this.functions.get(binary);
    if (!fn) throw new Error(`no Lambda for binary ${binary}`);
    return fn;
  }
}

/** The binaries to build: every LLM, and every tool given neither by `toolFunctions` nor as a function. */
function builtBinaries(agents: LoadedAgent[], toolFunctions: Record<string, lambda.IFunction>): string[] {
  const tools = agents.flatMap((a) => a.tools).filter((t) => !toolFunctions[t.tool] && !t.function);
  const mcp = agents.flatMap((a) => (a.mcp ? [a.mcp.binary] : []));
  const all = [...agents.map((a) => a.llm.binary), ...tools.map((t) => t.binary!), ...mcp];
  return [...new Set(all)].sort();
}

/** The secrets of every MCP server whose tools run on `binary`, sorted, each once. */
function mcpSecretsOf(agents: LoadedAgent[], binary: string): string[] {
  const secrets = agents
    .filter((a) => a.mcp?.binary === binary)
    .flatMap((a) => a.mcp!.servers.flatMap((s) => (s.secret ? [s.secret] : [])));
  return [...new Set(secrets)].sort();
}

/** One tool entry's identity: the same tool name may have different Lambdas in two agents. */
function toolKey(tool: ToolFunctionRef): string {
  return JSON.stringify([tool.tool, tool.binary ?? null, tool.function ?? null]);
}

/** The one Lambda code source the props give, as a function of the binary. */
function codeSource(props: SfnAgentsProps, binaries: string[]): (binary: string) => lambda.Code {
  const given = (['cargoWorkspace', 'prebuiltDir', 'lambdaCode'] as const).filter((k) => props[k] !== undefined);
  if (given.length !== 1) {
    throw new SfnAgentsError(
      `SfnAgents needs exactly one of cargoWorkspace, prebuiltDir and lambdaCode for the Lambda code; got ${given.length === 0 ? 'none' : given.join(' and ')}`,
    );
  }
  if (props.cargoLambda !== undefined && props.cargoWorkspace === undefined) {
    throw new SfnAgentsError('cargoLambda is for building a cargoWorkspace; it does nothing with prebuiltDir or lambdaCode');
  }
  if (props.cargoWorkspace !== undefined) {
    const build = new CargoLambdaBuild({ workspace: props.cargoWorkspace, binaries, cargoLambda: props.cargoLambda });
    return (binary) => build.code(binary);
  }
  if (props.prebuiltDir !== undefined) {
    const dir = props.prebuiltDir;
    return (binary) => prebuiltCode(dir, binary);
  }
  return props.lambdaCode!;
}

function bedrockModelsOf(agents: LoadedAgent[], binary: string): string[] {
  const models = agents.filter((a) => a.llm.binary === binary).flatMap((a) => a.bedrockModels);
  return [...new Set(models)].sort();
}

/** Cross-region inference profiles carry a geography prefix: `us.anthropic.claude-…`. */
function isInferenceProfile(model: string): boolean {
  return /^(us|eu|apac|us-gov|global|jp|au|ca)\./.test(model);
}

function foundationModelOf(model: string): string {
  return isInferenceProfile(model) ? model.slice(model.indexOf('.') + 1) : model;
}

/** The ARNs InvokeModel needs for one model id. */
function bedrockModelArns(stack: Stack, model: string): string[] {
  if (!isInferenceProfile(model)) {
    return [stack.formatArn({ service: 'bedrock', account: '', resource: 'foundation-model', resourceName: model })];
  }
  return [
    stack.formatArn({ service: 'bedrock', resource: 'inference-profile', resourceName: model }),
    `arn:${stack.partition}:bedrock:*::foundation-model/${foundationModelOf(model)}`,
  ];
}

/**
 * A resource as cdk-nag names it in a finding's id: the ARN with each `{Ref}` as `<Name>` and
 * each `{Fn::GetAtt}` as `<Resource.Attribute>`.
 */
function nagResource(stack: Stack, value: string): string {
  const render = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as Record<string, any>;
    if (o.Ref) return `<${o.Ref}>`;
    if (o['Fn::GetAtt']) return `<${o['Fn::GetAtt'].join('.')}>`;
    if (o['Fn::Join']) return (o['Fn::Join'][1] as unknown[]).map(render).join(o['Fn::Join'][0]);
    throw new Error(`cannot render ${JSON.stringify(v)} as cdk-nag does`);
  };
  return render(stack.resolve(value));
}

/** An `alias/aws/…` key: AWS-managed, whose key policy already lets this account's principals use it through its service. */
function isAwsManagedAlias(key: kms.IKey): boolean {
  return 'aliasName' in key && typeof (key as kms.IAlias).aliasName === 'string' && (key as kms.IAlias).aliasName.startsWith('alias/aws/');
}

/** `get-weather` / `get_weather` → `GetWeather`, for construct ids and output names. */
export function pascal(name: string): string {
  return name
    .split(/[-_]/)
    .filter((p) => p.length > 0)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}

/** `OPENAI_API` for the OpenAI LLM Lambda, when the choice is made. */
function openaiApiEnvironment(api: SfnAgentsProps['openaiApi'], provider: string | undefined): Record<string, string> {
  if (api === undefined || provider !== 'openai') return {};
  if (api !== 'responses' && api !== 'chat') {
    throw new SfnAgentsError(`openaiApi is \`${String(api)}\`; it takes \`responses\` or \`chat\``);
  }
  return { OPENAI_API: api };
}

/** `OPENAI_BASE_URL` (or the provider's) for one LLM Lambda, when one is configured. */
function baseUrlEnvironment(
  urls: SfnAgentsProps['providerBaseUrls'],
  provider: string | undefined,
): Record<string, string> {
  const url = provider ? urls?.[provider as keyof NonNullable<typeof urls>] : undefined;
  if (!url) return {};
  if (!/^https?:\/\/[^\s/]+/.test(url)) {
    throw new SfnAgentsError(`the ${provider} base URL \`${url}\` is not an http(s) URL`);
  }
  return { [`${provider!.toUpperCase()}_BASE_URL`]: url };
}
