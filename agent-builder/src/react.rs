//! The ReAct loop as a JSONata state machine.
//!
//! ```text
//! Check input ─▶ Call LLM ─▶ Tool use? ─▶ Run tools (Map: Run tool × N) ─┐
//!      │            ▲            │ └─▶ Too many iterations (Fail)       │
//!      ▼            └────────────┼───────────────────────────────────────┘
//! Invalid input (Fail)           └─▶ Answer (Succeed)
//! ```
//!
//! One iteration with N tool calls costs 3 + N state transitions: Call LLM, Tool use?, Run tools,
//! and one Run tool per call. The tool's Lambda is picked by name with `$lookup` inside the Map
//! item, so adding a tool adds no state. The machine carries the conversation by reference in
//! workflow variables (`$conversationId`, `$iteration`, `$question`, `$toolResults`, `$rejected`,
//! `$usage`); the LLM Lambda loads the history itself.

use asl::{
    Assign, Catcher, Choice, ChoiceRule, Fail, ItemProcessor, JitterStrategy, Map,
    NumberOrExpression, Pass, ProcessorConfig, ProcessorMode, QueryLanguage, Retrier, State,
    StateMachine, States, Succeed, Task,
};
use serde_json::{Value, json};

use crate::agent::{Agent, ToolLambda};
use crate::errors;
use crate::manifest::WorkflowType;
use crate::people;

/// The names of the states, as the console shows them.
pub mod names {
    /// Checks the execution input.
    pub const CHECK_INPUT: &str = "Check input";
    /// Fails the run on bad input.
    pub const INVALID_INPUT: &str = "Invalid input";
    /// Calls the LLM Lambda.
    pub const CALL_LLM: &str = "Call LLM";
    /// Asks whether the model wants tools.
    pub const TOOL_USE: &str = "Tool use?";
    /// The Map over the tool calls.
    pub const RUN_TOOLS: &str = "Run tools";
    /// One tool call, inside the Map.
    pub const RUN_TOOL: &str = "Run tool";
    /// A tool call whose Lambda failed, turned into an error result.
    pub const TOOL_FAILED: &str = "Tool failed";
    /// Fails the run at the iteration cap.
    pub const TOO_MANY_ITERATIONS: &str = "Too many iterations";
    /// The final answer.
    pub const ANSWER: &str = "Answer";
    /// The Map over the calls that wait for a person (approvals, questions).
    pub const ASK_PEOPLE: &str = "Ask people";
    /// Routes a waiting call to an approval or a question.
    pub const APPROVAL_OR_QUESTION: &str = "Approval or question?";
    /// Sends an approval request and waits for its task token.
    pub const ASK_APPROVAL: &str = "Ask approval";
    /// Sends a question to the user and waits for its task token.
    pub const ASK_USER: &str = "Ask the user";
    /// A call that was denied, not answered in time, or whose request could not be sent.
    pub const NOT_RUN: &str = "Not run";
    /// A question nobody answered (in time, or at all).
    pub const NO_ANSWER: &str = "No answer";
    /// Routes a call to a tool's Lambda or to a sub-agent.
    pub const TOOL_OR_AGENT: &str = "Tool or agent?";
    /// Runs a sub-agent as a nested execution.
    pub const ASK_AGENT: &str = "Ask agent";
    /// A sub-agent that failed, turned into an error result.
    pub const AGENT_FAILED: &str = "Agent failed";
}

/// Starts a nested execution and waits for it, its output parsed as JSON (`.sync:2`).
pub const START_EXECUTION_SYNC: &str = "arn:aws:states:::states:startExecution.sync:2";

/// The optimized Lambda integration: the result is wrapped as `{"Payload": …, "StatusCode": …}`.
pub const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Longest one LLM call may take, Lambda retries aside. Above the LLM Lambda's own timeout.
const LLM_TASK_TIMEOUT_SECONDS: u64 = 330;
/// How often a Call LLM that timed out is tried again. Each attempt is bounded by the LLM
/// Lambda's own budget (`LLM_TIMEOUT_SECONDS`, 120 s by default, `retry-after` waits included),
/// so a hung provider fails the run with `LLM.Timeout` after at most (1 + this) budgets plus a
/// jittered 2 s wait: 242 s with the defaults (it was six attempts, about 12 minutes).
pub const LLM_TIMEOUT_RETRIES: u64 = 1;
/// Longest one tool call may take. Above the tool Lambdas' own timeout.
const TOOL_TASK_TIMEOUT_SECONDS: u64 = 90;
/// A whole Standard run.
const STANDARD_TIMEOUT_SECONDS: u64 = 3600;
/// A whole Express run: the service's own limit.
const EXPRESS_TIMEOUT_SECONDS: u64 = 300;

impl Agent {
    /// The agent's ReAct state machine, in JSONata.
    pub fn state_machine(&self) -> StateMachine {
        let mut states = States::new();
        states.insert(names::CHECK_INPUT.into(), check_input());
        states.insert(names::INVALID_INPUT.into(), invalid_input());
        states.insert(names::CALL_LLM.into(), self.call_llm());
        states.insert(names::TOOL_USE.into(), self.tool_use());
        if self.people().waits() {
            states.insert(names::ASK_PEOPLE.into(), self.ask_people());
        }
        states.insert(names::RUN_TOOLS.into(), self.run_tools());
        states.insert(
            names::TOO_MANY_ITERATIONS.into(),
            self.too_many_iterations(),
        );
        states.insert(names::ANSWER.into(), answer());
        let comment = match self.description() {
            Some(d) => format!("ReAct agent \"{}\": {d}", self.name()),
            None => format!("ReAct agent \"{}\"", self.name()),
        };
        StateMachine {
            comment: Some(comment),
            query_language: Some(QueryLanguage::JSONata),
            start_at: names::CHECK_INPUT.into(),
            states,
            version: None,
            timeout_seconds: Some(match self.workflow_type() {
                WorkflowType::Standard => STANDARD_TIMEOUT_SECONDS,
                WorkflowType::Express => EXPRESS_TIMEOUT_SECONDS,
            }),
        }
    }

    fn call_llm(&self) -> State {
        let config = serde_json::to_value(self.config()).unwrap_or(Value::Null);
        let mut assign = Assign::new();
        assign.insert("iteration".into(), expr("$states.result.Payload.iteration"));
        assign.insert("question".into(), Value::Null);
        assign.insert("rejected".into(), expr("$states.result.Payload.rejected"));
        if self.people().waits() {
            assign.insert(
                "runCalls".into(),
                expr(&format!(
                    "[$states.result.Payload.tool_calls[$not(name in {})]]",
                    self.waiting_tools()
                )),
            );
        }
        assign.insert(
            "usage".into(),
            expr(&usage_sum("$states.result.Payload.usage")),
        );
        State::Task(Box::new(Task {
            comment: Some(
                "One model turn. The LLM Lambda loads the conversation, appends the question or \
                 the tool results, calls the model, validates its tool calls and stores the turn."
                    .into(),
            ),
            resource: LAMBDA_INVOKE.into(),
            arguments: Some(json!({
                "FunctionName": format!("${{{}}}", self.llm_placeholder()),
                "Payload": {
                    "agent": config,
                    "conversation_id": "{% $conversationId %}",
                    "execution": "{% $states.context.Execution.Id %}",
                    "iteration": "{% $iteration + 1 %}",
                    "question": "{% $question %}",
                    "tool_results": "{% $toolResults %}",
                }
            })),
            output: Some(expr("$states.result.Payload")),
            assign: Some(assign),
            timeout_seconds: Some(number(LLM_TASK_TIMEOUT_SECONDS)),
            retry: Some(vec![
                lambda_transient_retrier(),
                Retrier {
                    comment: Some(
                        "A model that did not answer within the LLM Lambda's time budget: once \
                         more, so a hung provider fails the run within two budgets (about 4 \
                         minutes with the default 120 s), not six."
                            .into(),
                    ),
                    error_equals: strings(&[errors::LLM_TIMEOUT]),
                    interval_seconds: Some(2),
                    max_attempts: Some(LLM_TIMEOUT_RETRIES),
                    backoff_rate: None,
                    max_delay_seconds: None,
                    jitter_strategy: Some(JitterStrategy::Full),
                },
                Retrier {
                    comment: Some(
                        "The model's transient errors and a conversation write conflict: back off \
                         with full jitter."
                            .into(),
                    ),
                    error_equals: errors::LLM_RETRYABLE
                        .iter()
                        .filter(|name| **name != errors::LLM_TIMEOUT)
                        .map(|name| (*name).to_string())
                        .collect(),
                    interval_seconds: Some(2),
                    max_attempts: Some(5),
                    backoff_rate: Some(2.into()),
                    max_delay_seconds: Some(60),
                    jitter_strategy: Some(JitterStrategy::Full),
                },
            ]),
            next: Some(names::TOOL_USE.into()),
            ..Task::default()
        }))
    }

    fn tool_use(&self) -> State {
        let max = self.max_iterations();
        let mut choices = vec![
            ChoiceRule {
                comment: Some("Tools wanted, at the iteration cap".into()),
                condition: Some(format!(
                    "{{% $states.input.stop_reason = 'tool_use' and $iteration >= {max} %}}"
                )),
                next: Some(names::TOO_MANY_ITERATIONS.into()),
                ..ChoiceRule::default()
            },
            ChoiceRule {
                comment: Some("Tools wanted".into()),
                condition: Some("{% $states.input.stop_reason = 'tool_use' %}".into()),
                next: Some(names::RUN_TOOLS.into()),
                ..ChoiceRule::default()
            },
        ];
        if self.people().waits() {
            // Only a turn with a call that waits for a person goes through Ask people.
            choices.insert(
                1,
                ChoiceRule {
                    comment: Some("A call waits for a person".into()),
                    condition: Some(format!(
                        "{{% $states.input.stop_reason = 'tool_use' and $count($states.input.tool_calls[name in {}]) > 0 %}}",
                        self.waiting_tools()
                    )),
                    next: Some(names::ASK_PEOPLE.into()),
                    ..ChoiceRule::default()
                },
            );
        }
        State::Choice(Box::new(Choice {
            comment: Some(format!(
                "Run the tools the model asked for, or answer. At {max} iterations the run stops."
            )),
            choices,
            default: Some(names::ANSWER.into()),
            ..Choice::default()
        }))
    }

    fn run_tools(&self) -> State {
        let functions: serde_json::Map<String, Value> = self
            .tools()
            .iter()
            .map(|t| (t.spec.name.clone(), Value::String(t.function.clone())))
            .collect();
        let lookup = Value::Object(functions).to_string();
        let mut processor_states = States::new();
        processor_states.insert(
            names::RUN_TOOL.into(),
            State::Task(Box::new(Task {
                comment: Some(
                    "Runs one tool call on the tool's own Lambda, picked by name.".into(),
                ),
                resource: LAMBDA_INVOKE.into(),
                arguments: Some(json!({
                    "FunctionName": format!("{{% $lookup({lookup}, $states.input.name) %}}"),
                    "Payload": self.tool_payload(),
                })),
                output: Some(expr("$states.result.Payload")),
                timeout_seconds: Some(number(TOOL_TASK_TIMEOUT_SECONDS)),
                retry: Some(vec![lambda_transient_retrier()]),
                catch: Some(vec![Catcher {
                    comment: Some(
                        "A crash, a timeout or spent retries becomes an error result for the \
                         model; the run goes on."
                            .into(),
                    ),
                    error_equals: vec!["States.ALL".into()],
                    next: names::TOOL_FAILED.into(),
                    output: Some(expr(
                        "{ 'tool_use_id': $states.input.id, \
                         'content': 'The tool ' & $states.input.name & ' failed (' & $states.errorOutput.Error & \
                         '): ' & $states.errorOutput.Cause & '. Try again later or answer without it.', \
                         'is_error': true }",
                    )),
                    ..Catcher::default()
                }]),
                end: Some(true),
                ..Task::default()
            })),
        );
        processor_states.insert(
            names::TOOL_FAILED.into(),
            State::Pass(Box::new(Pass {
                comment: Some("Passes the error result on to the model.".into()),
                end: Some(true),
                ..Pass::default()
            })),
        );
        let mut start_at = names::RUN_TOOL.to_owned();
        if !self.sub_agents().is_empty() {
            self.add_sub_agent_states(&mut processor_states);
            start_at = names::TOOL_OR_AGENT.to_owned();
        }
        let mut assign = Assign::new();
        assign.insert(
            "toolResults".into(),
            expr("$append($states.result, $rejected)"),
        );
        if !self.sub_agents().is_empty() {
            // A sub-agent's result carries its run's usage: this run's counts it.
            assign.insert("usage".into(), expr(&usage_sum("$states.result.usage")));
        }
        let items = if self.people().waits() {
            "$runCalls"
        } else {
            "$states.input.tool_calls"
        };
        State::Map(Box::new(Map {
            comment: Some(
                "One item per valid tool call. Calls the LLM Lambda rejected (unknown tool, bad \
                 input) go back to the model with these results."
                    .into(),
            ),
            items: Some(expr(items)),
            max_concurrency: Some(number(u64::from(self.tool_concurrency))),
            item_processor: Some(ItemProcessor {
                processor_config: Some(ProcessorConfig {
                    mode: Some(ProcessorMode::Inline),
                    execution_type: None,
                }),
                start_at,
                states: processor_states,
                comment: None,
            }),
            assign: Some(assign),
            next: Some(names::CALL_LLM.into()),
            ..Map::default()
        }))
    }

    /// The names of the tools whose calls wait for a person, as a JSONata array.
    fn waiting_tools(&self) -> String {
        let mut names = self.approval_tools();
        if self.people().ask_user {
            names.push(people::ASK_USER_TOOL.to_owned());
        }
        Value::from(names).to_string()
    }

    /// The Map over the calls that wait for a person: each approval request or question goes
    /// out through the agent's destination and waits on its task token. Approved calls join the
    /// calls to run; a denial, a question's answer or no answer in time becomes a result.
    fn ask_people(&self) -> State {
        let people = self.people();
        let wait = people.wait_seconds();
        let mut states = States::new();
        let approvals = !self.approval_tools().is_empty();
        let start_at = match (approvals, people.ask_user) {
            (true, true) => {
                states.insert(
                    names::APPROVAL_OR_QUESTION.into(),
                    State::Choice(Box::new(Choice {
                        choices: vec![ChoiceRule {
                            comment: Some("A question to the user".into()),
                            condition: Some(format!(
                                "{{% $states.input.name = '{}' %}}",
                                people::ASK_USER_TOOL
                            )),
                            next: Some(names::ASK_USER.into()),
                            ..ChoiceRule::default()
                        }],
                        default: Some(names::ASK_APPROVAL.into()),
                        ..Choice::default()
                    })),
                );
                names::APPROVAL_OR_QUESTION
            }
            (true, false) => names::ASK_APPROVAL,
            _ => names::ASK_USER,
        };
        if approvals {
            states.insert(names::ASK_APPROVAL.into(), self.ask_approval(wait));
            states.insert(
                names::NOT_RUN.into(),
                pass_on("Passes the refusal on to the model."),
            );
        }
        if people.ask_user {
            states.insert(names::ASK_USER.into(), self.ask_user(wait));
            states.insert(
                names::NO_ANSWER.into(),
                pass_on("Tells the model no answer came."),
            );
        }
        let mut assign = Assign::new();
        assign.insert(
            "runCalls".into(),
            expr("$append($runCalls, $states.result.approved)"),
        );
        assign.insert(
            "rejected".into(),
            expr("$append($rejected, $states.result.result)"),
        );
        State::Map(Box::new(Map {
            comment: Some(format!(
                "One item per call that waits for a person, each on a task token for at most \
                 {wait} s: approved calls run with the others; a denial, an answer or no answer \
                 in time goes back to the model as the call's result."
            )),
            items: Some(expr(&format!(
                "[$states.input.tool_calls[name in {}]]",
                self.waiting_tools()
            ))),
            item_processor: Some(ItemProcessor {
                processor_config: Some(ProcessorConfig {
                    mode: Some(ProcessorMode::Inline),
                    execution_type: None,
                }),
                start_at: start_at.to_owned(),
                states,
                comment: None,
            }),
            assign: Some(assign),
            next: Some(names::RUN_TOOLS.into()),
            ..Map::default()
        }))
    }

    /// The payload of a tool call: the call itself; for an agent with MCP tools, a call of one
    /// of them also carries its server (`mcp`: name, URL, tool, secret), frozen here at synth
    /// time, for the generic MCP tool Lambda.
    fn tool_payload(&self) -> Value {
        let targets: serde_json::Map<String, Value> = self
            .tools()
            .iter()
            .filter_map(|t| match &t.lambda {
                ToolLambda::Mcp(target) => Some((
                    t.spec.name.clone(),
                    serde_json::to_value(target).unwrap_or(Value::Null),
                )),
                _ => None,
            })
            .collect();
        if targets.is_empty() {
            return expr("$states.input");
        }
        let names = Value::from(targets.keys().cloned().collect::<Vec<_>>());
        expr(&format!(
            "$states.input.name in {names} ? $merge([$states.input, {{ 'mcp': $lookup({}, $states.input.name) }}]) : $states.input",
            Value::Object(targets)
        ))
    }

    /// A task that sends `kind`'s request through the agent's destination and waits on the token.
    fn request_task(&self, kind: &str, detail_type: &str, wait: u64) -> Task {
        let destination = self.people().destination;
        let request = format!(
            "{{ 'kind': '{kind}', 'agent': '{agent}', 'conversation_id': $conversationId, \
             'execution': $states.context.Execution.Id, 'tool': $states.input.name, \
             'input': $states.input.input, 'summary': 'Agent {agent} wants to ' & ($states.input.name = '{ask}' \
             ? 'ask: ' & $states.input.input.question \
             : 'call ' & $states.input.name & ' with ' & $substring($string($states.input.input), 0, 500)), \
             'token': $states.context.Task.Token, 'wait_seconds': {wait} }}",
            agent = self.name(),
            ask = people::ASK_USER_TOOL,
        );
        let placeholder = format!("${{{}}}", destination.placeholder());
        let arguments = match destination {
            people::RequestDestination::EventBridge => json!({
                "Entries": [{
                    "EventBusName": placeholder,
                    "Source": people::REQUEST_SOURCE,
                    "DetailType": detail_type,
                    "Detail": format!("{{% {request} %}}"),
                }]
            }),
            people::RequestDestination::Sns => json!({
                "TopicArn": placeholder,
                "Subject": detail_type,
                "Message": format!("{{% $string({request}) %}}"),
            }),
            people::RequestDestination::Sqs => json!({
                "QueueUrl": placeholder,
                "MessageBody": format!("{{% $string({request}) %}}"),
            }),
        };
        Task {
            resource: destination.resource().into(),
            arguments: Some(arguments),
            timeout_seconds: Some(number(wait)),
            ..Task::default()
        }
    }

    fn ask_approval(&self, wait: u64) -> State {
        let not_run = |error: &[&str], why: &str| error_result_catcher(error, names::NOT_RUN, why);
        State::Task(Box::new(Task {
            comment: Some(
                "Asks a person to approve this call and waits: SendTaskSuccess approves it, \
                 SendTaskFailure with Approval.Denied refuses it."
                    .into(),
            ),
            output: Some(expr("{ 'approved': $states.input }")),
            catch: Some(vec![
                not_run(
                    &[people::APPROVAL_DENIED],
                    "'The person denied this call of ' & $states.input.name & \
                     ($states.errorOutput.Cause ? ' (' & $states.errorOutput.Cause & ')' : '') & \
                     '; it was not run. Do not call it again with the same input: tell the user, or do without it.'",
                ),
                not_run(
                    &["States.Timeout"],
                    &format!(
                        "'No one approved this call of ' & $states.input.name & ' within {wait} s; \
                         it was not run. Tell the user it is waiting for approval.'"
                    ),
                ),
                not_run(
                    &["States.ALL"],
                    "'The approval request for ' & $states.input.name & ' could not be sent (' & \
                     $states.errorOutput.Error & '); the call was not run.'",
                ),
            ]),
            end: Some(true),
            ..self.request_task("approval", people::APPROVAL_DETAIL_TYPE, wait)
        }))
    }

    fn ask_user(&self, wait: u64) -> State {
        let no_answer =
            |error: &[&str], why: &str| error_result_catcher(error, names::NO_ANSWER, why);
        State::Task(Box::new(Task {
            comment: Some(
                "Asks the user the model's question and waits: the output of SendTaskSuccess \
                 (`{\"answer\": \"…\"}`, or a JSON string) is the answer."
                    .into(),
            ),
            output: Some(expr(
                "{ 'result': { 'tool_use_id': $states.input.id, 'content': \
                 $type($states.result) = 'string' ? $states.result \
                 : ($exists($states.result.answer) ? $string($states.result.answer) : $string($states.result)), \
                 'is_error': false } }",
            )),
            catch: Some(vec![
                no_answer(
                    &["States.Timeout"],
                    &format!(
                        "'The user did not answer within {wait} s. Go on without the answer, or \
                         say what you still need.'"
                    ),
                ),
                no_answer(
                    &["States.ALL"],
                    "'The question could not be asked (' & $states.errorOutput.Error & \
                     ($states.errorOutput.Cause ? ': ' & $states.errorOutput.Cause : '') & '). \
                     Go on without the answer.'",
                ),
            ]),
            end: Some(true),
            ..self.request_task("question", people::QUESTION_DETAIL_TYPE, wait)
        }))
    }

    /// A routing Choice, the nested execution of a sub-agent and its failure, in the tools' Map.
    fn add_sub_agent_states(&self, states: &mut States) {
        let names_list = Value::from(
            self.sub_agents()
                .iter()
                .map(|s| s.agent.clone())
                .collect::<Vec<_>>(),
        );
        let arns: serde_json::Map<String, Value> = self
            .sub_agents()
            .iter()
            .map(|s| {
                (
                    s.agent.clone(),
                    Value::String(format!("${{{}}}", s.placeholder)),
                )
            })
            .collect();
        states.insert(
            names::TOOL_OR_AGENT.into(),
            State::Choice(Box::new(Choice {
                choices: vec![ChoiceRule {
                    comment: Some("A call to a sub-agent".into()),
                    condition: Some(format!("{{% $states.input.name in {names_list} %}}")),
                    next: Some(names::ASK_AGENT.into()),
                    ..ChoiceRule::default()
                }],
                default: Some(names::RUN_TOOL.into()),
                ..Choice::default()
            })),
        );
        states.insert(
            names::ASK_AGENT.into(),
            State::Task(Box::new(Task {
                comment: Some(
                    "Runs the sub-agent's state machine as a nested execution with the question \
                     the model wrote, and waits for its answer."
                        .into(),
                ),
                resource: START_EXECUTION_SYNC.into(),
                arguments: Some(json!({
                    "StateMachineArn": format!("{{% $lookup({}, $states.input.name) %}}", Value::Object(arns)),
                    "Input": {
                        "question": "{% $states.input.input.question %}",
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID": "{% $states.context.Execution.Id %}",
                    }
                })),
                output: Some(expr(
                    "{ 'tool_use_id': $states.input.id, 'content': $states.result.Output.answer, \
                     'is_error': false, 'usage': $states.result.Output.usage }",
                )),
                timeout_seconds: Some(number(STANDARD_TIMEOUT_SECONDS + 60)),
                catch: Some(vec![Catcher {
                    comment: Some(
                        "A sub-agent that fails or times out becomes an error result; the run goes on."
                            .into(),
                    ),
                    error_equals: vec!["States.ALL".into()],
                    next: names::AGENT_FAILED.into(),
                    output: Some(expr(
                        "{ 'tool_use_id': $states.input.id, \
                         'content': 'The agent ' & $states.input.name & ' failed (' & $states.errorOutput.Error & \
                         '): ' & $substring($string($states.errorOutput.Cause), 0, 1000) & '. Answer without it.', \
                         'is_error': true }",
                    )),
                    ..Catcher::default()
                }]),
                end: Some(true),
                ..Task::default()
            })),
        );
        states.insert(
            names::AGENT_FAILED.into(),
            pass_on("Passes the sub-agent's failure on to the model."),
        );
    }

    fn too_many_iterations(&self) -> State {
        // Agent names are letters, digits, `-` and `_`, so they need no escaping in a JSONata string.
        State::Fail(Box::new(Fail {
            error: Some(errors::AGENT_MAX_ITERATIONS.into()),
            cause: Some(format!(
                "{{% 'Agent {} used all {} iterations and the model still wanted tools. Raise \
                 max_iterations, or ask a narrower question. What was done so far is kept in \
                 conversation ' & $conversationId & '.' %}}",
                self.name(),
                self.max_iterations()
            )),
            ..Fail::default()
        }))
    }
}

fn check_input() -> State {
    let mut assign = Assign::new();
    assign.insert(
        "conversationId".into(),
        expr("$exists($states.input.conversation_id) ? $states.input.conversation_id : $uuid()"),
    );
    assign.insert("question".into(), expr("$trim($states.input.question)"));
    assign.insert("iteration".into(), json!(0));
    assign.insert("toolResults".into(), json!([]));
    assign.insert("rejected".into(), json!([]));
    assign.insert(
        "usage".into(),
        json!({
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
            "estimated_cost_usd": 0
        }),
    );
    State::Choice(Box::new(Choice {
        comment: Some(
            "The input needs a question; a conversation_id continues an earlier conversation."
                .into(),
        ),
        choices: vec![ChoiceRule {
            comment: Some("A question".into()),
            condition: Some(
                "{% $type($states.input.question) = 'string' and $length($trim($states.input.question)) > 0 \
                 and ($not($exists($states.input.conversation_id)) \
                 or ($type($states.input.conversation_id) = 'string' and $length($states.input.conversation_id) > 0 \
                 and $length($states.input.conversation_id) <= 256)) %}"
                    .into(),
            ),
            next: Some(names::CALL_LLM.into()),
            assign: Some(assign),
            ..ChoiceRule::default()
        }],
        default: Some(names::INVALID_INPUT.into()),
        ..Choice::default()
    }))
}

/// The run's usage (`$usage`) plus the usage at `path`, field by field: the LLM Lambda's
/// `Payload.usage` after a turn, or the sub-agents' `usage` over a Map's results. Each term is
/// `$sum([…])`, which reads a missing field (a payload from before the cache fields, a failed
/// sub-agent's result) as 0 instead of making the whole sum undefined.
fn usage_sum(path: &str) -> String {
    let fields = [
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cache_write_tokens",
        "estimated_cost_usd",
    ];
    let terms: Vec<String> = fields
        .iter()
        .map(|f| format!("'{f}': $usage.{f} + $sum([{path}.{f}])"))
        .collect();
    format!("{{ {} }}", terms.join(", "))
}

fn invalid_input() -> State {
    State::Fail(Box::new(Fail {
        error: Some(errors::AGENT_INVALID_INPUT.into()),
        cause: Some(
            "The input needs a non-empty \"question\" string, and \"conversation_id\", when \
             given, must be a string of 1 to 256 characters. Start the execution with \
             {\"question\": \"...\"}."
                .into(),
        ),
        ..Fail::default()
    }))
}

fn answer() -> State {
    State::Succeed(Box::new(Succeed {
        comment: Some("The final answer, with what the run used.".into()),
        output: Some(expr(
            "{ 'answer': $states.input.text, 'result': $states.input.structured, \
             'stop_reason': $states.input.stop_reason, 'conversation_id': $conversationId, \
             'iterations': $iteration, 'usage': $usage }",
        )),
        ..Succeed::default()
    }))
}

/// A Catch that turns `errors` of a person's request into the call's error result (`why`, a
/// JSONata string expression), for the Pass state `next` to hand on.
fn error_result_catcher(errors: &[&str], next: &str, why: &str) -> Catcher {
    Catcher {
        error_equals: strings(errors),
        next: next.into(),
        output: Some(expr(&format!(
            "{{ 'result': {{ 'tool_use_id': $states.input.id, 'content': {why}, 'is_error': true }} }}"
        ))),
        ..Catcher::default()
    }
}

/// A Pass state that ends an item with what a Catch put in its output.
fn pass_on(comment: &str) -> State {
    State::Pass(Box::new(Pass {
        comment: Some(comment.into()),
        end: Some(true),
        ..Pass::default()
    }))
}

fn lambda_transient_retrier() -> Retrier {
    Retrier {
        comment: Some("The Lambda service's own transient errors.".into()),
        error_equals: strings(errors::LAMBDA_TRANSIENT),
        interval_seconds: Some(1),
        max_attempts: Some(3),
        backoff_rate: Some(2.into()),
        max_delay_seconds: None,
        jitter_strategy: Some(JitterStrategy::Full),
    }
}

/// A JSONata expression as a field value.
fn expr(body: &str) -> Value {
    Value::String(format!("{{% {body} %}}"))
}

fn number(n: u64) -> NumberOrExpression {
    NumberOrExpression::Number(n.into())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
