//! The Amazon States Language as Rust types.
//!
//! Field names are AWS's own (`StartAt`, `ResultPath`, `ItemProcessor`, …) through serde renames,
//! so a document parses and serializes with the exact JSON the service accepts. Every struct
//! denies unknown fields, so a typo is an error rather than a field silently dropped.
//!
//! Fields whose `null` means something different from their absence (`InputPath`, `OutputPath`,
//! `ResultPath`) are `Option<Option<String>>`: `None` is absent, `Some(None)` is `null`.

use indexmap::IndexMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Number, Value};

/// The states of a machine or of a nested scope (a Map's processor, a Parallel branch), in
/// document order.
pub type States = IndexMap<String, State>;

/// Workflow variables assigned by a state, a Choice rule or a Catcher.
pub type Assign = IndexMap<String, Value>;

/// The query language of a machine or a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    /// Paths and `.$` keys: `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`.
    JSONPath,
    /// `{% %}` expressions: `Arguments`, `Output`, `Condition`, `Items`.
    JSONata,
}

/// A whole state machine definition.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateMachine {
    /// A human-readable description of the machine.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The query language of every state that does not set its own; JSONPath when absent.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The name of the first state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The states, by name.
    #[serde(rename = "States", deserialize_with = "crate::parse::states")]
    pub states: States,
    /// The version of the language; `"1.0"` when absent.
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The longest an execution may run.
    #[serde(
        rename = "TimeoutSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_seconds: Option<u64>,
}

/// One state, tagged by its `Type`.
///
/// Deserialization is written by hand (in `parse`) so that an error names the field it is in.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "Type")]
pub enum State {
    /// Does work through a resource (a Lambda, an SDK integration, an activity).
    Task(Box<Task>),
    /// Picks the next state by rules.
    Choice(Box<Choice>),
    /// Runs a processor for every item of an array.
    Map(Box<Map>),
    /// Runs branches at the same time.
    Parallel(Box<Parallel>),
    /// Passes its input on, possibly shaped.
    Pass(Box<Pass>),
    /// Waits for a time or until a timestamp.
    Wait(Box<Wait>),
    /// Ends the execution (or branch) successfully.
    Succeed(Box<Succeed>),
    /// Ends the execution with an error.
    Fail(Box<Fail>),
}

/// A number or a JSONata expression that evaluates to one (`"{% $timeout %}"`).
///
/// Deserialization is written by hand (in `parse`) so that a wrong type says what was expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NumberOrExpression {
    /// A literal number.
    Number(Number),
    /// A JSONata expression.
    Expression(String),
}

/// A Task state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The ARN of the work: a Lambda, an integration (`arn:aws:states:::lambda:invoke`), an activity.
    #[serde(rename = "Resource")]
    pub resource: String,
    /// JSONPath: selects the part of the input the state works on.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: the resource's input (`.$` keys are paths or intrinsic functions).
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// JSONata: the resource's input.
    #[serde(rename = "Arguments", default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// JSONPath: shapes the resource's result.
    #[serde(
        rename = "ResultSelector",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// JSONPath: where the result goes in the input.
    #[serde(
        rename = "ResultPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// JSONPath: selects the part of the result passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when the state succeeds.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// The longest the task may run (a JSONata expression in JSONata states).
    #[serde(
        rename = "TimeoutSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_seconds: Option<NumberOrExpression>,
    /// JSONPath: the timeout read from the input.
    #[serde(
        rename = "TimeoutSecondsPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timeout_seconds_path: Option<String>,
    /// The longest between two heartbeats.
    #[serde(
        rename = "HeartbeatSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_seconds: Option<NumberOrExpression>,
    /// JSONPath: the heartbeat interval read from the input.
    #[serde(
        rename = "HeartbeatSecondsPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub heartbeat_seconds_path: Option<String>,
    /// A role to assume for the task (`RoleArn` or `RoleArn.$`).
    #[serde(
        rename = "Credentials",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials: Option<Value>,
    /// Retry policies, tried in order.
    #[serde(rename = "Retry", default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    /// Fallback states, tried in order.
    #[serde(rename = "Catch", default, skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    /// The next state.
    #[serde(rename = "Next", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether this state ends its scope.
    #[serde(rename = "End", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Choice state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// JSONPath: selects the part of the input the rules see.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: selects the part of the input passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// The rules, tried in order.
    #[serde(rename = "Choices")]
    pub choices: Vec<ChoiceRule>,
    /// The state taken when no rule matches.
    #[serde(rename = "Default", default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// JSONata: the state's output when `Default` is taken.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when `Default` is taken.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
}

/// The comparison operators of JSONPath Choice rules, each with its `Path` variant.
pub const COMPARISON_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringEqualsPath",
    "StringLessThan",
    "StringLessThanPath",
    "StringGreaterThan",
    "StringGreaterThanPath",
    "StringLessThanEquals",
    "StringLessThanEqualsPath",
    "StringGreaterThanEquals",
    "StringGreaterThanEqualsPath",
    "StringMatches",
    "NumericEquals",
    "NumericEqualsPath",
    "NumericLessThan",
    "NumericLessThanPath",
    "NumericGreaterThan",
    "NumericGreaterThanPath",
    "NumericLessThanEquals",
    "NumericLessThanEqualsPath",
    "NumericGreaterThanEquals",
    "NumericGreaterThanEqualsPath",
    "BooleanEquals",
    "BooleanEqualsPath",
    "TimestampEquals",
    "TimestampEqualsPath",
    "TimestampLessThan",
    "TimestampLessThanPath",
    "TimestampGreaterThan",
    "TimestampGreaterThanPath",
    "TimestampLessThanEquals",
    "TimestampLessThanEqualsPath",
    "TimestampGreaterThanEquals",
    "TimestampGreaterThanEqualsPath",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
];

/// One comparison of a JSONPath Choice rule: `"NumericGreaterThan": 10`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// One of [`COMPARISON_OPERATORS`].
    pub operator: String,
    /// The value compared with (a path for the `…Path` operators).
    pub value: Value,
}

/// A Choice rule: a top-level rule (with `Next`) or a nested one inside `And`/`Or`/`Not`.
///
/// JSONPath rules have a `Variable` and one comparison, or a boolean combination. JSONata rules
/// have a `Condition`. Serialization keeps a malformed rule (two operators, say) as written, so
/// [`crate::validate()`] can report it instead of the parser refusing the whole document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChoiceRule {
    /// A description.
    pub comment: Option<String>,
    /// JSONPath: the path of the value compared.
    pub variable: Option<String>,
    /// JSONPath: the comparisons written on this rule (well formed: exactly one).
    pub comparisons: Vec<Comparison>,
    /// JSONPath: all of these rules.
    pub and: Option<Vec<ChoiceRule>>,
    /// JSONPath: any of these rules.
    pub or: Option<Vec<ChoiceRule>>,
    /// JSONPath: not this rule.
    pub not: Option<Box<ChoiceRule>>,
    /// JSONata: a `{% %}` expression that evaluates to a boolean (a boolean literal, which the
    /// service accepts, is read as `{% true %}` or `{% false %}`).
    pub condition: Option<String>,
    /// The state taken when the rule matches (top-level rules only).
    pub next: Option<String>,
    /// JSONata: the state's output when this rule matches.
    pub output: Option<Value>,
    /// Variables assigned when this rule matches.
    pub assign: Option<Assign>,
}

/// A Map state, inline or distributed, with the current (`ItemProcessor`) or legacy (`Iterator`)
/// fields.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Map {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The states run for each item.
    #[serde(
        rename = "ItemProcessor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub item_processor: Option<ItemProcessor>,
    /// Legacy: the states run for each item. It has the fields of an `ItemProcessor`: the
    /// service accepts a `ProcessorConfig` in it.
    #[serde(rename = "Iterator", default, skip_serializing_if = "Option::is_none")]
    pub iterator: Option<ItemProcessor>,
    /// JSONPath: selects the part of the input the state works on.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: the path of the array of items.
    #[serde(rename = "ItemsPath", default, skip_serializing_if = "Option::is_none")]
    pub items_path: Option<String>,
    /// JSONata: the array of items, or an expression that evaluates to it.
    #[serde(rename = "Items", default, skip_serializing_if = "Option::is_none")]
    pub items: Option<Value>,
    /// Shapes each item before it is processed.
    #[serde(
        rename = "ItemSelector",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub item_selector: Option<Value>,
    /// Legacy: shapes each item before it is processed.
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// Distributed: reads the items from a resource (S3).
    #[serde(
        rename = "ItemReader",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub item_reader: Option<ItemReader>,
    /// Distributed: groups items into batches.
    #[serde(
        rename = "ItemBatcher",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub item_batcher: Option<ItemBatcher>,
    /// Distributed: writes the results to a resource (S3).
    #[serde(
        rename = "ResultWriter",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub result_writer: Option<ResultWriter>,
    /// How many items run at once; 0 or absent means as many as possible.
    #[serde(
        rename = "MaxConcurrency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_concurrency: Option<NumberOrExpression>,
    /// JSONPath: `MaxConcurrency` read from the input.
    #[serde(
        rename = "MaxConcurrencyPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_concurrency_path: Option<String>,
    /// Distributed: the share of items that may fail.
    #[serde(
        rename = "ToleratedFailurePercentage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerated_failure_percentage: Option<NumberOrExpression>,
    /// JSONPath: `ToleratedFailurePercentage` read from the input.
    #[serde(
        rename = "ToleratedFailurePercentagePath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerated_failure_percentage_path: Option<String>,
    /// Distributed: the number of items that may fail.
    #[serde(
        rename = "ToleratedFailureCount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerated_failure_count: Option<NumberOrExpression>,
    /// JSONPath: `ToleratedFailureCount` read from the input.
    #[serde(
        rename = "ToleratedFailureCountPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub tolerated_failure_count_path: Option<String>,
    /// Distributed: a label for the child executions.
    #[serde(rename = "Label", default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// JSONPath: shapes the array of results.
    #[serde(
        rename = "ResultSelector",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// JSONPath: where the results go in the input.
    #[serde(
        rename = "ResultPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// JSONPath: selects the part of the result passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when the state succeeds.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// Retry policies, tried in order.
    #[serde(rename = "Retry", default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    /// Fallback states, tried in order.
    #[serde(rename = "Catch", default, skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    /// The next state.
    #[serde(rename = "Next", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether this state ends its scope.
    #[serde(rename = "End", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A nested set of states: a Parallel branch.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The name of the first state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The states, by name.
    #[serde(rename = "States", deserialize_with = "crate::parse::states")]
    pub states: States,
}

/// A Map state's `ItemProcessor` (or legacy `Iterator`): the states run per item and how they
/// run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemProcessor {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Inline or distributed, and for distributed the child execution type.
    #[serde(
        rename = "ProcessorConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub processor_config: Option<ProcessorConfig>,
    /// The name of the first state.
    #[serde(rename = "StartAt")]
    pub start_at: String,
    /// The states, by name.
    #[serde(rename = "States", deserialize_with = "crate::parse::states")]
    pub states: States,
}

/// How a Map runs its items.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorConfig {
    /// `INLINE` (the default) or `DISTRIBUTED`.
    #[serde(rename = "Mode", default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ProcessorMode>,
    /// Distributed: `STANDARD` or `EXPRESS` child executions.
    #[serde(
        rename = "ExecutionType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub execution_type: Option<ExecutionType>,
}

/// Where a Map runs its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessorMode {
    /// In the parent execution.
    Inline,
    /// As child executions.
    Distributed,
}

/// The type of a workflow or of a distributed Map's child executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionType {
    /// Exactly-once, long-running, billed per state transition.
    Standard,
    /// At-least-once, up to five minutes, billed by duration.
    Express,
}

/// A distributed Map's `ItemReader`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemReader {
    /// The reading integration (`arn:aws:states:::s3:getObject`, `…:listObjectsV2`).
    #[serde(rename = "Resource")]
    pub resource: String,
    /// What the file holds and how to read it (`InputType`, `CSVHeaderLocation`, `MaxItems`, …).
    #[serde(
        rename = "ReaderConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reader_config: Option<Value>,
    /// JSONPath: the integration's parameters.
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// JSONata: the integration's arguments.
    #[serde(rename = "Arguments", default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
}

/// A distributed Map's `ItemBatcher`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemBatcher {
    /// Items per batch.
    #[serde(
        rename = "MaxItemsPerBatch",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_items_per_batch: Option<NumberOrExpression>,
    /// JSONPath: `MaxItemsPerBatch` read from the input.
    #[serde(
        rename = "MaxItemsPerBatchPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_items_per_batch_path: Option<String>,
    /// Bytes per batch.
    #[serde(
        rename = "MaxInputBytesPerBatch",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_input_bytes_per_batch: Option<NumberOrExpression>,
    /// JSONPath: `MaxInputBytesPerBatch` read from the input.
    #[serde(
        rename = "MaxInputBytesPerBatchPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_input_bytes_per_batch_path: Option<String>,
    /// A fixed input added to every batch.
    #[serde(
        rename = "BatchInput",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub batch_input: Option<Value>,
}

/// A distributed Map's `ResultWriter`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultWriter {
    /// The writing integration (`arn:aws:states:::s3:putObject`).
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// JSONPath: the integration's parameters.
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// JSONata: the integration's arguments.
    #[serde(rename = "Arguments", default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// How results are shaped and written (`OutputType`, `Transformation`).
    #[serde(
        rename = "WriterConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub writer_config: Option<Value>,
}

/// A Parallel state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parallel {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The branches, run at the same time.
    #[serde(rename = "Branches")]
    pub branches: Vec<Scope>,
    /// JSONPath: selects the part of the input the branches get.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: the branches' input.
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// JSONata: the branches' input.
    #[serde(rename = "Arguments", default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<Value>,
    /// JSONPath: shapes the array of results.
    #[serde(
        rename = "ResultSelector",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub result_selector: Option<Value>,
    /// JSONPath: where the results go in the input.
    #[serde(
        rename = "ResultPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// JSONPath: selects the part of the result passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned when the state succeeds.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// Retry policies, tried in order.
    #[serde(rename = "Retry", default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Vec<Retrier>>,
    /// Fallback states, tried in order.
    #[serde(rename = "Catch", default, skip_serializing_if = "Option::is_none")]
    pub catch: Option<Vec<Catcher>>,
    /// The next state.
    #[serde(rename = "Next", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether this state ends its scope.
    #[serde(rename = "End", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Pass state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pass {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// JSONPath: selects the part of the input the state works on.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: builds a new input.
    #[serde(
        rename = "Parameters",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub parameters: Option<Value>,
    /// JSONPath: a fixed result.
    #[serde(rename = "Result", default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// JSONPath: where the result goes in the input.
    #[serde(
        rename = "ResultPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// JSONPath: selects the part of the result passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned by the state.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// The next state.
    #[serde(rename = "Next", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether this state ends its scope.
    #[serde(rename = "End", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Wait state, in one of its four forms: `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wait {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// Seconds to wait (a JSONata expression in JSONata states).
    #[serde(rename = "Seconds", default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<NumberOrExpression>,
    /// An RFC 3339 time to wait until (a JSONata expression in JSONata states).
    #[serde(rename = "Timestamp", default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// JSONPath: the seconds read from the input.
    #[serde(
        rename = "SecondsPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub seconds_path: Option<String>,
    /// JSONPath: the timestamp read from the input.
    #[serde(
        rename = "TimestampPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub timestamp_path: Option<String>,
    /// JSONPath: selects the part of the input the state works on.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: selects the part of the input passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned by the state.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
    /// The next state.
    #[serde(rename = "Next", default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Whether this state ends its scope.
    #[serde(rename = "End", default, skip_serializing_if = "Option::is_none")]
    pub end: Option<bool>,
}

/// A Succeed state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Succeed {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// JSONPath: selects the part of the input the state works on.
    #[serde(
        rename = "InputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_path: Option<Option<String>>,
    /// JSONPath: selects the part of the input passed on.
    #[serde(
        rename = "OutputPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub output_path: Option<Option<String>>,
    /// JSONata: the state's output.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
}

/// A Fail state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fail {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Overrides the machine's query language for this state.
    #[serde(
        rename = "QueryLanguage",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub query_language: Option<QueryLanguage>,
    /// The error name (a JSONata expression in JSONata states).
    #[serde(rename = "Error", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// JSONPath: the error name read from the input or an intrinsic function.
    #[serde(rename = "ErrorPath", default, skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    /// A human-readable cause (a JSONata expression in JSONata states).
    #[serde(rename = "Cause", default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// JSONPath: the cause read from the input or an intrinsic function.
    #[serde(rename = "CausePath", default, skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
}

/// How a Retrier spreads its delays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JitterStrategy {
    /// A random delay between 0 and the computed one.
    Full,
    /// Exactly the computed delay.
    None,
}

/// A retry policy of a Task, Map or Parallel state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retrier {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The error names this policy applies to (`States.ALL` alone and last matches every error).
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    /// Seconds before the first retry; 1 when absent.
    #[serde(
        rename = "IntervalSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interval_seconds: Option<u64>,
    /// Retries at most; 3 when absent, 0 never retries.
    #[serde(
        rename = "MaxAttempts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_attempts: Option<u64>,
    /// The factor the interval grows by each retry; 2.0 when absent.
    #[serde(
        rename = "BackoffRate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub backoff_rate: Option<Number>,
    /// The longest any single delay may be.
    #[serde(
        rename = "MaxDelaySeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_delay_seconds: Option<u64>,
    /// `FULL` or `NONE` (the default).
    #[serde(
        rename = "JitterStrategy",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub jitter_strategy: Option<JitterStrategy>,
}

/// A fallback of a Task, Map or Parallel state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catcher {
    /// A description.
    #[serde(rename = "Comment", default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The error names this fallback applies to.
    #[serde(rename = "ErrorEquals")]
    pub error_equals: Vec<String>,
    /// The state taken on a match.
    #[serde(rename = "Next")]
    pub next: String,
    /// JSONPath: where the error output goes in the input.
    #[serde(
        rename = "ResultPath",
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Option::is_none"
    )]
    pub result_path: Option<Option<String>>,
    /// JSONata: the output passed to `Next`.
    #[serde(
        rename = "Output",
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub output: Option<Value>,
    /// Variables assigned on a match.
    #[serde(rename = "Assign", default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<Assign>,
}

/// Reads a field whose `null` is meaningful: absent stays `None` (through `default`), `null`
/// becomes `Some(None)`.
fn nullable<'de, D>(deserializer: D) -> Result<Option<Option<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    Option::<String>::deserialize(deserializer).map(Some)
}

/// Reads a field whose `null` is a value: absent stays `None` (through `default`), `null` is
/// `Some(Value::Null)` (JSONata `"Output": null` outputs `null`, recorded in localstack's
/// `test_base_output_any_non_dict[NULL]`).
fn present<'de, D>(deserializer: D) -> Result<Option<Value>, D::Error>
where
    D: Deserializer<'de>,
{
    Value::deserialize(deserializer).map(Some)
}

const RULE_FIELDS: &[&str] = &[
    "Comment",
    "Variable",
    "And",
    "Or",
    "Not",
    "Condition",
    "Next",
    "Output",
    "Assign",
];

impl Serialize for ChoiceRule {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serde_json::Map::new();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_owned(), value);
        };
        if let Some(c) = &self.comment {
            put("Comment", Value::String(c.clone()));
        }
        if let Some(v) = &self.variable {
            put("Variable", Value::String(v.clone()));
        }
        for comparison in &self.comparisons {
            put(&comparison.operator, comparison.value.clone());
        }
        if let Some(rules) = &self.and {
            put("And", to_value(rules));
        }
        if let Some(rules) = &self.or {
            put("Or", to_value(rules));
        }
        if let Some(rule) = &self.not {
            put("Not", to_value(rule));
        }
        if let Some(c) = &self.condition {
            put("Condition", Value::String(c.clone()));
        }
        if let Some(a) = &self.assign {
            put("Assign", to_value(a));
        }
        if let Some(o) = &self.output {
            put("Output", o.clone());
        }
        if let Some(n) = &self.next {
            put("Next", Value::String(n.clone()));
        }
        map.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let fields = serde_json::Map::<String, Value>::deserialize(deserializer)?;
        let mut rule = ChoiceRule::default();
        for (key, value) in fields {
            match key.as_str() {
                "Comment" => rule.comment = Some(string_field::<D>(&key, value)?),
                "Variable" => rule.variable = Some(string_field::<D>(&key, value)?),
                // The service accepts a boolean literal; it is kept as the equivalent
                // expression, so a rule's `Condition` is always `{% … %}` text.
                "Condition" => {
                    rule.condition = Some(match value {
                        Value::Bool(b) => format!("{{% {b} %}}"),
                        other => string_field::<D>(&key, other)?,
                    })
                }
                "Next" => rule.next = Some(string_field::<D>(&key, value)?),
                "Output" => rule.output = Some(value),
                "Assign" => {
                    rule.assign = Some(
                        serde_json::from_value(value)
                            .map_err(|e| D::Error::custom(format!("field `Assign`: {e}")))?,
                    )
                }
                "And" | "Or" => {
                    let rules: Vec<ChoiceRule> = serde_json::from_value(value)
                        .map_err(|e| D::Error::custom(format!("field `{key}`: {e}")))?;
                    if key == "And" {
                        rule.and = Some(rules);
                    } else {
                        rule.or = Some(rules);
                    }
                }
                "Not" => {
                    let inner: ChoiceRule = serde_json::from_value(value)
                        .map_err(|e| D::Error::custom(format!("field `Not`: {e}")))?;
                    rule.not = Some(Box::new(inner));
                }
                op if COMPARISON_OPERATORS.contains(&op) => rule.comparisons.push(Comparison {
                    operator: key,
                    value,
                }),
                _ => {
                    return Err(D::Error::custom(format!(
                        "unknown field `{key}` in a Choice rule; expected a comparison operator or one of {}",
                        RULE_FIELDS.join(", ")
                    )));
                }
            }
        }
        Ok(rule)
    }
}

fn string_field<'de, D: Deserializer<'de>>(key: &str, value: Value) -> Result<String, D::Error> {
    use serde::de::Error;
    match value {
        Value::String(s) => Ok(s),
        other => Err(D::Error::custom(format!(
            "field `{key}`: invalid type: expected a string, found {other}"
        ))),
    }
}

/// Serializes a part of a rule into JSON. Our types have string keys only, so this cannot fail.
fn to_value<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl State {
    /// The state's `Type` as AWS spells it.
    pub fn type_name(&self) -> &'static str {
        match self {
            State::Task(_) => "Task",
            State::Choice(_) => "Choice",
            State::Map(_) => "Map",
            State::Parallel(_) => "Parallel",
            State::Pass(_) => "Pass",
            State::Wait(_) => "Wait",
            State::Succeed(_) => "Succeed",
            State::Fail(_) => "Fail",
        }
    }

    /// The state's own `QueryLanguage`, if it sets one.
    pub fn query_language(&self) -> Option<QueryLanguage> {
        match self {
            State::Task(s) => s.query_language,
            State::Choice(s) => s.query_language,
            State::Map(s) => s.query_language,
            State::Parallel(s) => s.query_language,
            State::Pass(s) => s.query_language,
            State::Wait(s) => s.query_language,
            State::Succeed(s) => s.query_language,
            State::Fail(s) => s.query_language,
        }
    }

    /// The state's `Next`, for the states that have one.
    pub fn next(&self) -> Option<&str> {
        match self {
            State::Task(s) => s.next.as_deref(),
            State::Map(s) => s.next.as_deref(),
            State::Parallel(s) => s.next.as_deref(),
            State::Pass(s) => s.next.as_deref(),
            State::Wait(s) => s.next.as_deref(),
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// The state's `End`, for the states that have one.
    pub fn end(&self) -> Option<bool> {
        match self {
            State::Task(s) => s.end,
            State::Map(s) => s.end,
            State::Parallel(s) => s.end,
            State::Pass(s) => s.end,
            State::Wait(s) => s.end,
            State::Choice(_) | State::Succeed(_) | State::Fail(_) => None,
        }
    }

    /// The state's Catchers, for the states that may have them.
    pub fn catchers(&self) -> &[Catcher] {
        match self {
            State::Task(s) => s.catch.as_deref().unwrap_or_default(),
            State::Map(s) => s.catch.as_deref().unwrap_or_default(),
            State::Parallel(s) => s.catch.as_deref().unwrap_or_default(),
            _ => &[],
        }
    }

    /// The state's Retriers, for the states that may have them.
    pub fn retriers(&self) -> &[Retrier] {
        match self {
            State::Task(s) => s.retry.as_deref().unwrap_or_default(),
            State::Map(s) => s.retry.as_deref().unwrap_or_default(),
            State::Parallel(s) => s.retry.as_deref().unwrap_or_default(),
            _ => &[],
        }
    }

    /// Every state this one can move to in its own scope: `Next`, Choice targets and `Default`,
    /// and Catch targets.
    pub fn transitions(&self) -> Vec<&str> {
        let mut targets: Vec<&str> = self.next().into_iter().collect();
        if let State::Choice(choice) = self {
            targets.extend(choice.choices.iter().filter_map(|r| r.next.as_deref()));
            targets.extend(choice.default.as_deref());
        }
        targets.extend(self.catchers().iter().map(|c| c.next.as_str()));
        targets
    }
}

impl Map {
    /// The per-item states, whether written as `ItemProcessor` or as the legacy `Iterator`.
    pub fn processor_states(&self) -> Option<(&str, &States)> {
        if let Some(p) = &self.item_processor {
            return Some((p.start_at.as_str(), &p.states));
        }
        self.iterator
            .as_ref()
            .map(|i| (i.start_at.as_str(), &i.states))
    }

    /// The `ProcessorConfig`, whether in `ItemProcessor` or in the legacy `Iterator`.
    pub fn processor_config(&self) -> Option<&ProcessorConfig> {
        self.item_processor
            .as_ref()
            .or(self.iterator.as_ref())
            .and_then(|p| p.processor_config.as_ref())
    }
}
