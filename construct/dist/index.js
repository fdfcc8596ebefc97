"use strict";
Object.defineProperty(exports, "__esModule", { value: true });
exports.prebuiltCode = exports.applySkipBundlingContext = exports.CargoLambdaBuild = exports.parseManifest = exports.loadStateMachines = exports.bedrockModels = exports.METRICS_NAMESPACE = exports.AGENT_METRICS = exports.pascal = exports.SQS_TRIGGER_BINARY = exports.QUESTION_DETAIL_TYPE = exports.LIVE_ALIAS = exports.SfnAgents = exports.SfnAgentsError = void 0;
/**
 * sfn-agent-cdk: deploys the agents of an sfn-agent `state-machines/` folder (the ASL and
 * `manifest.json` that `sfn-agent synth` writes) into a team's own Stack.
 *
 * ```ts
 * new SfnAgents(stack, 'Agents', { stateMachinesDir: '../state-machines', cargoWorkspace: '..' });
 * ```
 */
var errors_1 = require("./errors");
Object.defineProperty(exports, "SfnAgentsError", { enumerable: true, get: function () { return errors_1.SfnAgentsError; } });
var sfn_agents_1 = require("./sfn-agents");
Object.defineProperty(exports, "SfnAgents", { enumerable: true, get: function () { return sfn_agents_1.SfnAgents; } });
Object.defineProperty(exports, "LIVE_ALIAS", { enumerable: true, get: function () { return sfn_agents_1.LIVE_ALIAS; } });
Object.defineProperty(exports, "QUESTION_DETAIL_TYPE", { enumerable: true, get: function () { return sfn_agents_1.QUESTION_DETAIL_TYPE; } });
Object.defineProperty(exports, "SQS_TRIGGER_BINARY", { enumerable: true, get: function () { return sfn_agents_1.SQS_TRIGGER_BINARY; } });
Object.defineProperty(exports, "pascal", { enumerable: true, get: function () { return sfn_agents_1.pascal; } });
var monitoring_1 = require("./monitoring");
Object.defineProperty(exports, "AGENT_METRICS", { enumerable: true, get: function () { return monitoring_1.AGENT_METRICS; } });
Object.defineProperty(exports, "METRICS_NAMESPACE", { enumerable: true, get: function () { return monitoring_1.METRICS_NAMESPACE; } });
var manifest_1 = require("./manifest");
Object.defineProperty(exports, "bedrockModels", { enumerable: true, get: function () { return manifest_1.bedrockModels; } });
Object.defineProperty(exports, "loadStateMachines", { enumerable: true, get: function () { return manifest_1.loadStateMachines; } });
Object.defineProperty(exports, "parseManifest", { enumerable: true, get: function () { return manifest_1.parseManifest; } });
var lambda_code_1 = require("./lambda-code");
Object.defineProperty(exports, "CargoLambdaBuild", { enumerable: true, get: function () { return lambda_code_1.CargoLambdaBuild; } });
Object.defineProperty(exports, "applySkipBundlingContext", { enumerable: true, get: function () { return lambda_code_1.applySkipBundlingContext; } });
Object.defineProperty(exports, "prebuiltCode", { enumerable: true, get: function () { return lambda_code_1.prebuiltCode; } });
