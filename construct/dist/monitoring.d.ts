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
    /** Tokens read by one model call. */
    readonly inputTokens: "InputTokens";
    /** Tokens written by one model call. */
    readonly outputTokens: "OutputTokens";
    /** The model's time for one call, in milliseconds. */
    readonly latencyMs: "LatencyMs";
    /** The estimated cost of one call in US dollars, unit None. */
    readonly estimatedCostUsd: "EstimatedCostUsd";
    /** The tool calls the model asked for in one turn, unit Count. */
    readonly toolCalls: "ToolCalls";
    /** 1 for a model call that failed with `LLM.AuthFailed`, unit Count. */
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
