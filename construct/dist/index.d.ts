/**
 * sfn-agent-cdk: deploys the agents of an sfn-agent `state-machines/` folder (the ASL and
 * `manifest.json` that `sfn-agent synth` writes) into a team's own Stack.
 *
 * ```ts
 * new SfnAgents(stack, 'Agents', { stateMachinesDir: '../state-machines', cargoWorkspace: '..' });
 * ```
 */
export { SfnAgentsError } from './errors';
export { SfnAgents, LIVE_ALIAS, QUESTION_DETAIL_TYPE, SQS_TRIGGER_BINARY, pascal } from './sfn-agents';
export { AGENT_METRICS, METRICS_NAMESPACE } from './monitoring';
export type { SfnAgentsProps } from './sfn-agents';
export { bedrockModels, loadStateMachines, parseManifest } from './manifest';
export type { AgentEntry, FunctionRef, LoadedAgent, LoadOptions, Manifest, McpRef, McpServerRef, McpToolSpec, Provider, RequestDestination, RequestsRef, SubAgentRef, ToolFunctionRef, WorkflowType, } from './manifest';
export { CargoLambdaBuild, applySkipBundlingContext, prebuiltCode } from './lambda-code';
export type { CargoLambdaBuildOptions } from './lambda-code';
