/**
 * Alarms and the dashboard of one deployment, over AWS's own metrics (Step Functions, Lambda,
 * SQS) and the LLM Lambdas' Embedded Metric Format (EMF) lines.
 *
 * What the LLM Lambdas emit (`llm-lambdas/src/metrics.rs`), the metrics contract in README.md:
 * one EMF line per successful model call, namespace `SfnAgent`, one dimension set
 * `[Agent, Provider]` (the agent's name as the manifest gives it, the provider as
 * `anthropic`/`openai`/`gemini`/`bedrock`), metrics `InputTokens`, `OutputTokens`,
 * `CacheReadTokens`, `CacheWriteTokens`, `ToolCalls` (Count), `LatencyMs` (Milliseconds) and
 * `EstimatedCostUsd` (None); `Model`, `ConversationId` and `Iteration` are properties. A call
 * that failed with `LLM.AuthFailed` writes a line of its own, `LLM.AuthFailed` = 1 (Count), with
 * the same dimension set; any other failed call writes no line. Missing data is not breaching,
 * so an agent that has made no call keeps its alarms OK. A model call is one line, so the
 * number of turns is the SampleCount of `InputTokens`.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SfnAgentsError } from './errors';
import { LoadedAgent } from './manifest';

/** The CloudWatch namespace of the LLM Lambdas' EMF metrics (`metrics::NAMESPACE` in llm-lambdas). */
export const METRICS_NAMESPACE = 'SfnAgent';

/** The metric names of the contract (README, "Metrics contract"). */
export const AGENT_METRICS = {
  /** Tokens read by one model call. */
  inputTokens: 'InputTokens',
  /** Tokens written by one model call. */
  outputTokens: 'OutputTokens',
  /** The model's time for one call, in milliseconds. */
  latencyMs: 'LatencyMs',
  /** The estimated cost of one call in US dollars, unit None. */
  estimatedCostUsd: 'EstimatedCostUsd',
  /** The tool calls the model asked for in one turn, unit Count. */
  toolCalls: 'ToolCalls',
  /** 1 for a model call that failed with `LLM.AuthFailed`, unit Count. */
  authFailed: 'LLM.AuthFailed',
} as const;

/** A CloudWatch alarm's metric math takes at most this many metrics. */
const MAX_ALARM_METRICS = 10;
const FIVE_MINUTES = Duration.minutes(5);

export interface AgentsMonitoringProps {
  readonly agents: LoadedAgent[];
  readonly stateMachines: Map<string, sfn.StateMachine>;
  readonly functions: Map<string, lambda.Function>;
  readonly deadLetterQueue: sqs.IQueue;
  readonly alarms: boolean;
  readonly alarmTopic?: sns.ITopic;
  readonly costAlarmUsdPerDay?: number;
  readonly dashboardName: string;
}

/** The alarms (when on) and the dashboard. */
export class AgentsMonitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly props: AgentsMonitoringProps;

  constructor(scope: Construct, id: string, props: AgentsMonitoringProps) {
    super(scope, id);
    this.props = props;
    if (props.costAlarmUsdPerDay !== undefined) {
      if (!(props.costAlarmUsdPerDay > 0)) {
        throw new SfnAgentsError(`costAlarmUsdPerDay must be a positive number of US dollars, got ${props.costAlarmUsdPerDay}`);
      }
      if (props.agents.length > MAX_ALARM_METRICS) {
        throw new SfnAgentsError(
          `costAlarmUsdPerDay sums the cost of every agent in one alarm, whose metric math takes at most ${MAX_ALARM_METRICS} metrics; ` +
            `this deployment has ${props.agents.length} agents`,
        );
      }
    }
    if (props.alarms) this.addAlarms();
    if (props.costAlarmUsdPerDay !== undefined) this.addCostAlarm(props.costAlarmUsdPerDay);
    this.dashboard = this.makeDashboard();
  }

  /** One of the contract's metrics for one agent: dimensions `Agent` and `Provider`, as emitted. */
  agentMetric(agent: LoadedAgent, name: string, statistic: string, period: Duration = FIVE_MINUTES, label?: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: name,
      dimensionsMap: { Agent: agent.name, Provider: agent.llm.provider ?? 'unknown' },
      statistic,
      period,
      // No label unless asked: a labelled metric makes an alarm a metric-math one.
      label,
    });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, description: string, threshold = 1): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    if (this.props.alarmTopic) {
      const action = new actions.SnsAction(this.props.alarmTopic);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
    this.alarms.push(alarm);
  }

  private addAlarms(): void {
    const { agents, stateMachines, functions, deadLetterQueue } = this.props;
    for (const agent of agents) {
      const machine = stateMachines.get(agent.name)!;
      const id = pascalId(agent.name);
      this.alarm(
        `${id}ExecutionsFailed`,
        machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
        `The ${agent.name} agent: at least one execution failed in 5 minutes (Step Functions ExecutionsFailed).`,
      );
      this.alarm(
        `${id}ExecutionsTimedOut`,
        machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
        `The ${agent.name} agent: at least one execution timed out in 5 minutes (Step Functions ExecutionsTimedOut).`,
      );
      this.alarm(
        `${id}AuthFailed`,
        this.agentMetric(agent, AGENT_METRICS.authFailed, 'Sum'),
        `The ${agent.name} agent: ${agent.llm.provider} refused the API key (LLM.AuthFailed) at least 3 times in 5 minutes: ` +
          'put a valid key in the API-key secret.',
        3,
      );
    }
    this.alarm(
      'DeadLetterQueueNotEmpty',
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      'Messages or events that could not start an agent are waiting in the trigger dead-letter queue.',
    );
    for (const [binary, fn] of functions) {
      const id = pascalId(binary);
      this.alarm(`${id}Errors`, fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), `The ${binary} Lambda failed at least once in 5 minutes.`);
      this.alarm(`${id}Throttles`, fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }), `The ${binary} Lambda was throttled at least once in 5 minutes.`);
    }
  }

  /** The estimated cost of every agent over one day, against the budget. */
  private addCostAlarm(usdPerDay: number): void {
    const day = Duration.days(1);
    const usingMetrics: Record<string, cloudwatch.IMetric> = {};
    this.props.agents.forEach((agent, i) => {
      usingMetrics[`cost${i}`] = this.agentMetric(agent, AGENT_METRICS.estimatedCostUsd, 'Sum', day);
    });
    const total = new cloudwatch.MathExpression({
      expression: Object.keys(usingMetrics).length === 1 ? 'FILL(cost0, 0)' : `SUM([${Object.keys(usingMetrics).map((k) => `FILL(${k}, 0)`).join(', ')}])`,
      usingMetrics,
      period: day,
      label: 'Estimated cost of all agents (USD per day)',
    });
    this.alarm(
      'EstimatedCostPerDay',
      total,
      `The agents' estimated model cost over one day reached ${usdPerDay} USD (EstimatedCostUsd, summed over the agents).`,
      usdPerDay,
    );
  }

  private makeDashboard(): cloudwatch.Dashboard {
    const { agents, stateMachines, functions, deadLetterQueue } = this.props;
    const machines = agents.map((a) => [a, stateMachines.get(a.name)!] as const);
    const perAgent = (name: string, statistic: string, label?: (a: LoadedAgent) => string) =>
      agents.map((a) => this.agentMetric(a, name, statistic, FIVE_MINUTES, label?.(a) ?? a.name));
    const graph = (title: string, left: cloudwatch.IMetric[], leftLabel?: string, right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6, leftYAxis: { min: 0, label: leftLabel } });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: this.props.dashboardName,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown:
          '# sfn-agent\nExecutions from Step Functions; turns, tool calls, tokens, cost and model latency from the LLM ' +
          `Lambdas' EMF metrics (namespace \`${METRICS_NAMESPACE}\`, dimensions Agent and Provider: see the construct's "Metrics contract").`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Executions started', machines.map(([a, m]) => m.metricStarted({ statistic: 'Sum', label: a.name }))),
      graph(
        'Executions failed, timed out, aborted',
        machines.flatMap(([a, m]) => [
          m.metricFailed({ statistic: 'Sum', label: `${a.name} failed` }),
          m.metricTimedOut({ statistic: 'Sum', label: `${a.name} timed out` }),
          m.metricAborted({ statistic: 'Sum', label: `${a.name} aborted` }),
        ]),
      ),
    );
    dashboard.addWidgets(
      graph('Turns (model calls)', perAgent(AGENT_METRICS.inputTokens, 'SampleCount')),
      graph('Tool calls', perAgent(AGENT_METRICS.toolCalls, 'Sum')),
    );
    dashboard.addWidgets(
      graph(
        'Tokens',
        [...perAgent(AGENT_METRICS.inputTokens, 'Sum', (a) => `${a.name} input`), ...perAgent(AGENT_METRICS.outputTokens, 'Sum', (a) => `${a.name} output`)],
        'tokens',
      ),
      graph('Estimated cost per agent (USD)', perAgent(AGENT_METRICS.estimatedCostUsd, 'Sum'), 'USD'),
    );
    dashboard.addWidgets(
      graph('Model latency p90 (ms)', perAgent(AGENT_METRICS.latencyMs, 'p90'), 'ms'),
      graph('Execution time p90 (ms)', machines.map(([a, m]) => m.metricTime({ statistic: 'p90', label: a.name })), 'ms'),
    );
    const lambdas = [...functions.entries()];
    dashboard.addWidgets(
      graph('Lambda errors', lambdas.map(([b, fn]) => fn.metricErrors({ statistic: 'Sum', label: b }))),
      graph('Lambda throttles', lambdas.map(([b, fn]) => fn.metricThrottles({ statistic: 'Sum', label: b }))),
    );
    const widgets: cloudwatch.IWidget[] = [
      graph('Trigger dead-letter queue (messages)', [deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', label: 'visible' })]),
    ];
    if (this.alarms.length > 0) {
      widgets.push(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12, height: 6 }));
    }
    dashboard.addWidgets(...widgets);
    return dashboard;
  }
}

function pascalId(name: string): string {
  return name
    .split(/[-_]/)
    .filter((p) => p.length > 0)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join('');
}
