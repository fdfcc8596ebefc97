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

use crate::agent::Agent;
use crate::errors;
use crate::manifest::WorkflowType;

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
}

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
        assign.insert(
            "usage".into(),
            expr(
                "{ 'input_tokens': $usage.input_tokens + $states.result.Payload.usage.input_tokens, \
                 'output_tokens': $usage.output_tokens + $states.result.Payload.usage.output_tokens, \
                 'estimated_cost_usd': $usage.estimated_cost_usd + $states.result.Payload.usage.estimated_cost_usd }",
            ),
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
        State::Choice(Box::new(Choice {
            comment: Some(format!(
                "Run the tools the model asked for, or answer. At {max} iterations the run stops."
            )),
            choices: vec![
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
            ],
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
                    "Payload": "{% $states.input %}",
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
        let mut assign = Assign::new();
        assign.insert(
            "toolResults".into(),
            expr("$append($states.result, $rejected)"),
        );
        State::Map(Box::new(Map {
            comment: Some(
                "One item per valid tool call. Calls the LLM Lambda rejected (unknown tool, bad \
                 input) go back to the model with these results."
                    .into(),
            ),
            items: Some(expr("$states.input.tool_calls")),
            max_concurrency: Some(number(u64::from(self.tool_concurrency))),
            item_processor: Some(ItemProcessor {
                processor_config: Some(ProcessorConfig {
                    mode: Some(ProcessorMode::Inline),
                    execution_type: None,
                }),
                start_at: names::RUN_TOOL.into(),
                states: processor_states,
                comment: None,
            }),
            assign: Some(assign),
            next: Some(names::CALL_LLM.into()),
            ..Map::default()
        }))
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
        json!({"input_tokens": 0, "output_tokens": 0, "estimated_cost_usd": 0}),
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
