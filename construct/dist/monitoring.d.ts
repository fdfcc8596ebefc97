/**
 * Alarms and the dashboard of one deployment, over AWS's own metrics (Step Functions, Lambda,
 * SQS) and the LLM Lambdas' Embedded Metric Format (EMF) lines.
 *
 * What the LLM Lambdas emit today (`llm-lambdas/src/metrics.rs`, read for this file): one EMF
 * line per successful model call, namespace `SfnAgent`, one dimension set `[Agent, Provider]`
 * (the agent's name as the manifest gives it, the provider as `anthropic`/`openai`/`gemini`/
 * `bedrock`), metrics `InputTokens` (Count), `OutputTokens` (Count) and `LatencyMs`
 * (Milliseconds); `EstimatedCostUsd`, `Model`, `ConversationId` and `Iteration` are properties
 * only, and a failed call writes no line. What this file relies on beyond that is the metrics
 * contract in README.md: `EstimatedCostUsd` (None), `ToolCalls` (Count) and `LLM.AuthFailed`
 * (Count) as metrics in the same namespace with the same dimension set. Until the Lambdas emit
 * them, their widgets are empty and their alarms stay OK (missing data is not breaching).
 * A model call is one line, so the number of turns is the SampleCount of `InputTokens`.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LoadedAgent } from './manifest';
/** The CloudWatch namespace of the LLM Lambdas' EMF metrics (`metrics::NAMESPACE` in llm-lambdas). */
export declare const METRICS_NAMESPACE = "SfnAgent";
/** The metric names of the contract (README, "Metrics contract"). */
export declare const AGENT_METRICS: {
    /** Tokens read by one model call (emitted today). */
    readonly inputTokens: "InputTokens";
    /** Tokens written by one model call (emitted today). */
    readonly outputTokens: "OutputTokens";
    /** The model's time for one call, in milliseconds (emitted today). */
    readonly latencyMs: "LatencyMs";
    /** The estimated cost of one call in US dollars, unit None (a property only today). */
    readonly estimatedCostUsd: "EstimatedCostUsd";
    /** The tool calls the model asked for in one turn, unit Count (not emitted today). */
    readonly toolCalls: "ToolCalls";
    /** 1 for a model call that failed with `LLM.AuthFailed`, unit Count (not emitted today). */
    readonly authFailed: "LLM.AuthFailed";
};
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
export declare class AgentsMonitoring extends Construct {
    readonly alarms: cloudwatch.Alarm[];
    readonly dashboard: cloudwatch.Dashboard;
    private readonly props;
    constructor(scope: Construct, id: string, props: AgentsMonitoringProps);
    /** One of the contract's metrics for one agent: dimensions `Agent` and `Provider`, as emitted. */
    agentMetric(agent: LoadedAgent, name: string, statistic: string, period?: Duration, label?: string): cloudwatch.Metric;
    private alarm;
    private addAlarms;
    /** The estimated cost of every agent over one day, against the budget. */
    private addCostAlarm;
    private makeDashboard;
}
