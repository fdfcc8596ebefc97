//! Compiling a definition into a [`Machine`]: what the service decides when a state machine is
//! created, decided once. Every `Next`, `Default`, Catcher and `StartAt` target becomes an
//! index; every path, payload template, intrinsic function, Choice rule and JSONata expression
//! is parsed; each state gets the one input/output pipeline of its query language ([`Io`]). A
//! definition the service would refuse at CreateStateMachine is refused here, with a
//! [`LoadError`] naming the field (`States.Foo.Parameters.x.$`).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use asl::{NumberOrExpression, QueryLanguage, State, StateMachine};
use serde_json::Value;

mod distributed;

pub(crate) use distributed::{
    Batcher, Distributed, Format, Reader, Source, Transformation, Writer,
};

use crate::choice::Condition;
use crate::{jsonata, jsonpath};

use crate::pipeline::{Field, Io, JsonPathIo, JsonataIo};
use crate::registry::TaskResource;

/// Why a definition cannot be loaded, with where: `at` is the field's path from the top of the
/// definition, dotted as the service names it (`States.Foo.Parameters.x.$`,
/// `States.Each.ItemProcessor.States.Call.Arguments.Payload`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct LoadError {
    /// What kind of problem it is.
    pub kind: LoadErrorKind,
    /// The field's path in the definition.
    pub at: String,
    /// What is wrong, in the words of the parser that refused it.
    pub message: String,
}

/// The classes of definitions refused at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadErrorKind {
    /// A `StartAt`, `Next`, `Default` or Catcher `Next` that names no state of its scope, or a
    /// state with neither `Next` nor `End`.
    Transition,
    /// A malformed JSONPath path, reference path or Choice rule.
    JsonPath,
    /// A malformed intrinsic function call (`States.Format(…)`).
    Intrinsic,
    /// A JSONata expression that does not parse (or uses JSONata 2.1 syntax).
    Jsonata,
    /// Anything else the engine cannot run: a field of the wrong type, a Map without a
    /// processor.
    Definition,
}

impl LoadError {
    fn new(kind: LoadErrorKind, at: impl Into<String>, message: impl Into<String>) -> Self {
        LoadError {
            kind,
            at: at.into(),
            message: message.into(),
        }
    }
}

/// A state machine compiled once, ready to run any number of executions
/// ([`crate::Engine::new`]).
#[derive(Debug)]
pub struct Machine {
    pub(crate) root: Scope,
    pub(crate) timeout: Option<u64>,
    pub(crate) query_language: QueryLanguage,
}

impl Machine {
    /// Compiles a definition: validates it as CreateStateMachine does (targets, paths,
    /// payload templates, intrinsic functions, JSONata syntax) and parses everything once.
    pub fn compile(definition: &StateMachine) -> Result<Machine, LoadError> {
        let query_language = definition.query_language.unwrap_or(QueryLanguage::JSONPath);
        let root = Scope::compile(&definition.start_at, &definition.states, query_language, "")?;
        Ok(Machine {
            root,
            timeout: definition.timeout_seconds,
            query_language,
        })
    }

    /// Parses and compiles a definition's JSON text.
    pub fn from_json(text: &str) -> Result<Machine, LoadError> {
        let definition = StateMachine::from_json(text)
            .map_err(|e| LoadError::new(LoadErrorKind::Definition, "", e.to_string()))?;
        Machine::compile(&definition)
    }

    /// The machine's query language (JSONPath when the definition names none).
    pub fn query_language(&self) -> QueryLanguage {
        self.query_language
    }
}

/// A set of states (the machine, a Map's processor or a Parallel branch), by index.
#[derive(Debug)]
pub(crate) struct Scope {
    pub start: usize,
    pub states: Vec<Node>,
}

/// A compiled state.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: Arc<str>,
    /// Its `…StateEntered` and `…StateExited` event types.
    pub events: (&'static str, &'static str),
    pub retriers: Vec<asl::Retrier>,
    pub catchers: Vec<Catcher>,
    pub kind: Kind,
}

/// A compiled Catcher: the errors it matches, where it goes, and its output pipeline
/// (`ResultPath`, or JSONata `Output`/`Assign`, over the error output).
#[derive(Debug)]
pub(crate) struct Catcher {
    pub error_equals: Vec<String>,
    pub next: usize,
    pub io: Io,
}

/// What each state type does, compiled.
#[derive(Debug)]
pub(crate) enum Kind {
    Pass {
        io: Io,
        /// JSONPath `Result`.
        result: Option<Value>,
        next: Option<usize>,
    },
    Succeed {
        io: Io,
    },
    Fail {
        error: Field,
        cause: Field,
    },
    Choice {
        rules: Vec<Rule>,
        /// `Default`, with the state's own `Output`/`Assign`.
        default: Option<(usize, Io)>,
    },
    Wait {
        io: Io,
        seconds: Field,
        timestamp: Field,
        next: Option<usize>,
    },
    Task(Box<Task>),
    Map(Box<Map>),
    Parallel(Box<Parallel>),
}

/// A top-level Choice rule: its condition, where it goes, and the output pipeline taken
/// when it matches (the state's paths, the rule's `Output`/`Assign`).
#[derive(Debug)]
pub(crate) struct Rule {
    pub condition: RuleCondition,
    pub next: usize,
    pub io: Io,
}

#[derive(Debug)]
pub(crate) enum RuleCondition {
    JsonPath(Condition),
    /// A JSONata `Condition` (an expression, or a literal that must be a boolean).
    Jsonata(jsonata::Template),
}

#[derive(Debug)]
pub(crate) struct Task {
    pub io: Io,
    pub resource: Arc<str>,
    /// How the resource is called, resolved against the engine's registry when the engine
    /// is made ([`crate::Engine::new`]).
    pub resolved: OnceLock<TaskResource>,
    pub timeout: Field,
    /// `HeartbeatSeconds`: the longest a `.waitForTaskToken` task waits between heartbeats.
    pub heartbeat: Field,
    /// `Credentials`, a payload template in the state's language, shown in the scheduled
    /// event as `taskCredentials`.
    pub credentials: Selector,
    pub next: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Map {
    pub io: Io,
    pub items: Field,
    pub selector: Selector,
    pub max_concurrency: Field,
    pub tolerated_count: Field,
    pub tolerated_percentage: Field,
    /// A distributed Map's own fields (`ProcessorConfig.Mode: DISTRIBUTED`, or an
    /// `ItemReader`, `ItemBatcher` or `ResultWriter`): it runs its items as child executions.
    pub distributed: Option<Box<Distributed>>,
    pub processor: Arc<Scope>,
    pub next: Option<usize>,
}

/// A Map's `ItemSelector` (or legacy `Parameters`), or a Task's `Credentials`: a payload
/// template in the state's language.
#[derive(Debug)]
pub(crate) enum Selector {
    None,
    JsonPath(jsonpath::Template),
    Jsonata(jsonata::Template),
}

#[derive(Debug)]
pub(crate) struct Parallel {
    pub io: Io,
    pub branches: Vec<Arc<Scope>>,
    pub next: Option<usize>,
}

impl Scope {
    /// Compiles the states of one scope; `at` is the scope's path (`""` for the machine,
    /// `States.Each.ItemProcessor.`).
    fn compile(
        start_at: &str,
        states: &asl::States,
        default_ql: QueryLanguage,
        at: &str,
    ) -> Result<Scope, LoadError> {
        let index: HashMap<&str, usize> = states
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let target = |name: &str, field: &str| {
            index.get(name).copied().ok_or_else(|| {
                LoadError::new(
                    LoadErrorKind::Transition,
                    field,
                    format!("the state '{name}' does not exist in this scope"),
                )
            })
        };
        let start = target(start_at, &format!("{at}StartAt"))?;
        let nodes = states
            .iter()
            .map(|(name, state)| {
                let c = StateCompiler {
                    at: format!("{at}States.{name}."),
                    jsonata: state.query_language().unwrap_or(default_ql) == QueryLanguage::JSONata,
                    default_ql,
                    name,
                    target: &target,
                };
                c.node(state)
            })
            .collect::<Result<_, _>>()?;
        Ok(Scope {
            start,
            states: nodes,
        })
    }
}

/// Compiles one state, knowing its path and query language.
struct StateCompiler<'a> {
    /// The state's path, ending with a dot (`States.Foo.`).
    at: String,
    jsonata: bool,
    /// The machine's query language, for the states of a Map or Parallel inside.
    default_ql: QueryLanguage,
    name: &'a str,
    target: &'a dyn Fn(&str, &str) -> Result<usize, LoadError>,
}

impl StateCompiler<'_> {
    fn node(&self, state: &State) -> Result<Node, LoadError> {
        let catchers = state
            .catchers()
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let at = format!("Catch[{i}].");
                Ok(Catcher {
                    error_equals: c.error_equals.clone(),
                    next: (self.target)(&c.next, &format!("{}{at}Next", self.at))?,
                    io: self.io(IoFields {
                        result_path: &c.result_path,
                        output: &c.output,
                        assign: &c.assign,
                        prefix: &at,
                        ..IoFields::default()
                    })?,
                })
            })
            .collect::<Result<_, LoadError>>()?;
        Ok(Node {
            name: self.name.into(),
            events: state_events(state),
            retriers: state.retriers().to_vec(),
            catchers,
            kind: self.kind(state)?,
        })
    }

    fn kind(&self, state: &State) -> Result<Kind, LoadError> {
        Ok(match state {
            State::Pass(p) => Kind::Pass {
                io: self.io(IoFields {
                    input_path: &p.input_path,
                    parameters: p.parameters.as_ref(),
                    result_path: &p.result_path,
                    output_path: &p.output_path,
                    output: &p.output,
                    assign: &p.assign,
                    ..IoFields::default()
                })?,
                result: p.result.clone(),
                next: self.next(&p.next, p.end)?,
            },
            State::Succeed(s) => Kind::Succeed {
                io: self.io(IoFields {
                    input_path: &s.input_path,
                    output_path: &s.output_path,
                    output: &s.output,
                    ..IoFields::default()
                })?,
            },
            State::Fail(f) => Kind::Fail {
                // JSONata has no `…Path` fields.
                error: self.text_field(&f.error, self.jsonpath_only(&f.error_path), "Error")?,
                cause: self.text_field(&f.cause, self.jsonpath_only(&f.cause_path), "Cause")?,
            },
            State::Choice(c) => {
                let mut rules = Vec::with_capacity(c.choices.len());
                for (i, rule) in c.choices.iter().enumerate() {
                    let at = format!("Choices[{i}].");
                    let condition = if self.jsonata {
                        let text = rule.condition.as_deref().ok_or_else(|| {
                            self.error(
                                LoadErrorKind::Definition,
                                &format!("{at}Condition"),
                                "A JSONata Choice rule needs a Condition",
                            )
                        })?;
                        RuleCondition::Jsonata(self.jsonata(
                            &Value::String(text.to_owned()),
                            "Condition",
                            &at,
                        )?)
                    } else {
                        RuleCondition::JsonPath(Condition::compile(rule).map_err(|e| {
                            self.error(LoadErrorKind::JsonPath, at.trim_end_matches('.'), e)
                        })?)
                    };
                    let next = rule.next.as_deref().ok_or_else(|| {
                        self.error(
                            LoadErrorKind::Transition,
                            &format!("{at}Next"),
                            format!("A rule of the Choice state '{}' has no Next", self.name),
                        )
                    })?;
                    rules.push(Rule {
                        condition,
                        next: (self.target)(next, &format!("{}{at}Next", self.at))?,
                        io: self.io(IoFields {
                            input_path: &c.input_path,
                            output_path: &c.output_path,
                            output: &rule.output,
                            assign: &rule.assign,
                            prefix: &at,
                            ..IoFields::default()
                        })?,
                    });
                }
                let default = match &c.default {
                    None => None,
                    Some(d) => Some((
                        (self.target)(d, &format!("{}Default", self.at))?,
                        self.io(IoFields {
                            input_path: &c.input_path,
                            output_path: &c.output_path,
                            output: &c.output,
                            assign: &c.assign,
                            ..IoFields::default()
                        })?,
                    )),
                };
                Kind::Choice { rules, default }
            }
            State::Wait(w) => Kind::Wait {
                io: self.io(IoFields {
                    input_path: &w.input_path,
                    output_path: &w.output_path,
                    output: &w.output,
                    assign: &w.assign,
                    ..IoFields::default()
                })?,
                seconds: self.number(&w.seconds, &w.seconds_path, "Seconds")?,
                timestamp: self.wait_timestamp(&w.timestamp, &w.timestamp_path)?,
                next: self.next(&w.next, w.end)?,
            },
            State::Task(t) => Kind::Task(Box::new(Task {
                io: self.io(IoFields {
                    input_path: &t.input_path,
                    parameters: t.parameters.as_ref(),
                    arguments: t.arguments.as_ref(),
                    result_selector: t.result_selector.as_ref(),
                    result_path: &t.result_path,
                    output_path: &t.output_path,
                    output: &t.output,
                    assign: &t.assign,
                    prefix: "",
                })?,
                resource: t.resource.as_str().into(),
                resolved: OnceLock::new(),
                timeout: self.number(
                    &t.timeout_seconds,
                    self.jsonpath_only(&t.timeout_seconds_path),
                    "TimeoutSeconds",
                )?,
                heartbeat: self.number(
                    &t.heartbeat_seconds,
                    self.jsonpath_only(&t.heartbeat_seconds_path),
                    "HeartbeatSeconds",
                )?,
                credentials: match &t.credentials {
                    None => Selector::None,
                    // As the service checks at CreateStateMachine (recorded in localstack's
                    // test_invalid_credentials_field: `{}` and `{"InvalidField": …}`).
                    Some(c)
                        if !c.as_object().is_some_and(|o| {
                            o.contains_key("RoleArn") || o.contains_key("RoleArn.$")
                        }) =>
                    {
                        return Err(self.error(
                            LoadErrorKind::Definition,
                            "Credentials",
                            "The field 'RoleArn' is required but was missing",
                        ));
                    }
                    Some(c) if self.jsonata => {
                        Selector::Jsonata(self.jsonata(c, "Credentials", "")?)
                    }
                    Some(c) => Selector::JsonPath(self.template(c, "Credentials")?),
                },
                next: self.next(&t.next, t.end)?,
            })),
            State::Map(m) => {
                let (start, states) = m.processor_states().ok_or_else(|| {
                    self.error(
                        LoadErrorKind::Definition,
                        "ItemProcessor",
                        format!("The Map state '{}' has no ItemProcessor", self.name),
                    )
                })?;
                let processor_field = if m.item_processor.is_some() {
                    "ItemProcessor."
                } else {
                    "Iterator."
                };
                let selector_field = if m.item_selector.is_some() {
                    "ItemSelector"
                } else {
                    "Parameters"
                };
                let selector = match m.item_selector.as_ref().or(m.parameters.as_ref()) {
                    None => Selector::None,
                    Some(s) if self.jsonata => {
                        Selector::Jsonata(self.jsonata(s, selector_field, "")?)
                    }
                    Some(s) => Selector::JsonPath(self.template(s, selector_field)?),
                };
                let items = if self.jsonata {
                    match &m.items {
                        Some(i) => Field::Jsonata(self.jsonata(i, "Items", "")?),
                        None => Field::Absent,
                    }
                } else {
                    match &m.items_path {
                        Some(p) => Field::Path(
                            jsonpath::Expr::path(p).map_err(|e| self.path_error("ItemsPath", e))?,
                        ),
                        None => Field::Absent,
                    }
                };
                Kind::Map(Box::new(Map {
                    io: self.io(IoFields {
                        input_path: &m.input_path,
                        result_selector: m.result_selector.as_ref(),
                        result_path: &m.result_path,
                        output_path: &m.output_path,
                        output: &m.output,
                        assign: &m.assign,
                        ..IoFields::default()
                    })?,
                    items,
                    selector,
                    max_concurrency: self.number(
                        &m.max_concurrency,
                        &m.max_concurrency_path,
                        "MaxConcurrency",
                    )?,
                    tolerated_count: self.number(
                        &m.tolerated_failure_count,
                        &m.tolerated_failure_count_path,
                        "ToleratedFailureCount",
                    )?,
                    tolerated_percentage: self.number(
                        &m.tolerated_failure_percentage,
                        &m.tolerated_failure_percentage_path,
                        "ToleratedFailurePercentage",
                    )?,
                    distributed: self.distributed(m)?.map(Box::new),
                    processor: Arc::new(Scope::compile(
                        start,
                        states,
                        self.default_ql,
                        &format!("{}{processor_field}", self.at),
                    )?),
                    next: self.next(&m.next, m.end)?,
                }))
            }
            State::Parallel(p) => Kind::Parallel(Box::new(Parallel {
                io: self.io(IoFields {
                    input_path: &p.input_path,
                    parameters: p.parameters.as_ref(),
                    arguments: p.arguments.as_ref(),
                    result_selector: p.result_selector.as_ref(),
                    result_path: &p.result_path,
                    output_path: &p.output_path,
                    output: &p.output,
                    assign: &p.assign,
                    prefix: "",
                })?,
                branches: p
                    .branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        Scope::compile(
                            &b.start_at,
                            &b.states,
                            self.default_ql,
                            &format!("{}Branches[{i}].", self.at),
                        )
                        .map(Arc::new)
                    })
                    .collect::<Result<_, _>>()?,
                next: self.next(&p.next, p.end)?,
            })),
        })
    }

    fn error(&self, kind: LoadErrorKind, field: &str, message: impl Into<String>) -> LoadError {
        LoadError::new(kind, format!("{}{field}", self.at), message)
    }

    /// A JSONPath error: an intrinsic's message starts with its own words.
    fn path_error(&self, field: &str, message: String) -> LoadError {
        let kind = if message.starts_with("Invalid intrinsic function") {
            LoadErrorKind::Intrinsic
        } else {
            LoadErrorKind::JsonPath
        };
        self.error(kind, field, message)
    }

    /// A `…Path` field, which JSONata states do not have (ignored there).
    fn jsonpath_only<'f>(&self, path: &'f Option<String>) -> &'f Option<String> {
        static NONE: Option<String> = None;
        if self.jsonata { &NONE } else { path }
    }

    fn next(&self, next: &Option<String>, end: Option<bool>) -> Result<Option<usize>, LoadError> {
        match (next, end) {
            (Some(n), _) => (self.target)(n, &format!("{}Next", self.at)).map(Some),
            (None, Some(true)) => Ok(None),
            _ => Err(self.error(
                LoadErrorKind::Transition,
                "Next",
                format!("The state '{}' has neither Next nor End: true", self.name),
            )),
        }
    }

    fn template(&self, value: &Value, field: &str) -> Result<jsonpath::Template, LoadError> {
        jsonpath::Template::compile(value)
            .map_err(|(key, e)| self.path_error(&format!("{field}.{key}"), e))
    }

    /// A JSONata template; `prefix` is a Catcher's or rule's place in the state (`Catch[0].`).
    fn jsonata(
        &self,
        value: &Value,
        field: &str,
        prefix: &str,
    ) -> Result<jsonata::Template, LoadError> {
        jsonata::Template::compile(value, field).map_err(|(at, e)| {
            self.error(
                LoadErrorKind::Jsonata,
                &format!("{prefix}{}", at.replace('/', ".")),
                e,
            )
        })
    }

    /// A number: a literal, a JSONata expression, or (JSONPath) the `…Path` field.
    fn number(
        &self,
        literal: &Option<NumberOrExpression>,
        path: &Option<String>,
        field: &str,
    ) -> Result<Field, LoadError> {
        Ok(match (literal, path) {
            (Some(NumberOrExpression::Number(n)), _) => Field::Literal(Value::Number(n.clone())),
            (Some(NumberOrExpression::Expression(e)), _) => self.text_or_expression(e, field)?,
            (None, Some(p)) => Field::Path(
                jsonpath::Expr::path(p).map_err(|e| self.path_error(&format!("{field}Path"), e))?,
            ),
            (None, None) => Field::Absent,
        })
    }

    /// A text field (`Error`, `Cause`, `Timestamp`) or its `…Path` (a path or, for Fail, an
    /// intrinsic function).
    fn text_field(
        &self,
        literal: &Option<String>,
        path: &Option<String>,
        field: &str,
    ) -> Result<Field, LoadError> {
        Ok(match (literal, path) {
            (Some(text), _) => self.text_or_expression(text, field)?,
            (None, Some(p)) => Field::Path(
                jsonpath::Expr::compile(p)
                    .map_err(|e| self.path_error(&format!("{field}Path"), e))?,
            ),
            (None, None) => Field::Absent,
        })
    }

    /// A Wait state's `Timestamp` or `TimestampPath`. A literal `Timestamp` must be an ISO-8601
    /// extended offset date-time, as the service checks at CreateStateMachine ("SCHEMA_VALIDATION_FAILED:
    /// String does not match RFC3339 timestamp at /States/WaitUntil/Timestamp", recorded in
    /// localstack's `test_wait_timestamp_invalid`: no `T`, no offset, month 13, hour 25, and `{% %}`
    /// in a JSONPath state).
    fn wait_timestamp(
        &self,
        literal: &Option<String>,
        path: &Option<String>,
    ) -> Result<Field, LoadError> {
        let field = self.text_field(literal, path, "Timestamp")?;
        if let Field::Literal(Value::String(text)) = &field
            && crate::choice::timestamp(text).is_none()
        {
            return Err(self.error(
                LoadErrorKind::Definition,
                "Timestamp",
                format!("String does not match RFC3339 timestamp: {text}"),
            ));
        }
        Ok(field)
    }

    fn text_or_expression(&self, text: &str, field: &str) -> Result<Field, LoadError> {
        Ok(if self.jsonata && jsonata::expression(text).is_some() {
            Field::Jsonata(self.jsonata(&Value::String(text.to_owned()), field, "")?)
        } else {
            Field::Literal(Value::String(text.to_owned()))
        })
    }

    /// The state's (or a Catcher's, or a Choice rule's) input/output pipeline, in its query
    /// language.
    fn io(&self, f: IoFields<'_>) -> Result<Io, LoadError> {
        if self.jsonata {
            let template = |v: Option<&Value>, field: &str| {
                v.map(|v| self.jsonata(v, field, f.prefix)).transpose()
            };
            let assign = f
                .assign
                .as_ref()
                .map(|a| Value::Object(a.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
            return Ok(Io::Jsonata(JsonataIo {
                arguments: template(f.arguments, "Arguments")?,
                output: template(f.output.as_ref(), "Output")?,
                assign: template(assign.as_ref(), "Assign")?,
            }));
        }
        let path = |p: &Option<Option<String>>, field: &str| {
            jsonpath::IoPath::compile(p)
                .map_err(|e| self.path_error(&format!("{}{field}", f.prefix), e))
        };
        let template = |v: Option<&Value>, field: &str| {
            v.map(|v| self.template(v, &format!("{}{field}", f.prefix)))
                .transpose()
        };
        let assign = f
            .assign
            .as_ref()
            .map(|a| Value::Object(a.iter().map(|(k, v)| (k.clone(), v.clone())).collect()));
        Ok(Io::JsonPath(JsonPathIo {
            input_path: path(f.input_path, "InputPath")?,
            parameters: template(f.parameters, "Parameters")?,
            result_selector: template(f.result_selector, "ResultSelector")?,
            result_path: jsonpath::ResultPath::compile(f.result_path)
                .map_err(|e| self.path_error(&format!("{}ResultPath", f.prefix), e))?,
            output_path: path(f.output_path, "OutputPath")?,
            assign_reads_states: assign
                .as_ref()
                .is_some_and(|a| crate::history::text(a).contains("$states")),
            assign: template(assign.as_ref(), "Assign")?,
        }))
    }
}

/// The I/O fields of a state, a Catcher or a Choice rule, as written.
struct IoFields<'a> {
    input_path: &'a Option<Option<String>>,
    parameters: Option<&'a Value>,
    arguments: Option<&'a Value>,
    result_selector: Option<&'a Value>,
    result_path: &'a Option<Option<String>>,
    output_path: &'a Option<Option<String>>,
    output: &'a Option<Value>,
    assign: &'a Option<asl::Assign>,
    /// Where a Catcher's or rule's fields are in the state (`Catch[0].`).
    prefix: &'a str,
}

static NO_PATH: Option<Option<String>> = None;
static NO_VALUE: Option<Value> = None;
static NO_ASSIGN: Option<asl::Assign> = None;

impl Default for IoFields<'_> {
    fn default() -> Self {
        IoFields {
            input_path: &NO_PATH,
            parameters: None,
            arguments: None,
            result_selector: None,
            result_path: &NO_PATH,
            output_path: &NO_PATH,
            output: &NO_VALUE,
            assign: &NO_ASSIGN,
            prefix: "",
        }
    }
}

/// A state's `…StateEntered` and `…StateExited` event types.
fn state_events(state: &State) -> (&'static str, &'static str) {
    match state {
        State::Task(_) => ("TaskStateEntered", "TaskStateExited"),
        State::Choice(_) => ("ChoiceStateEntered", "ChoiceStateExited"),
        State::Map(_) => ("MapStateEntered", "MapStateExited"),
        State::Parallel(_) => ("ParallelStateEntered", "ParallelStateExited"),
        State::Pass(_) => ("PassStateEntered", "PassStateExited"),
        State::Wait(_) => ("WaitStateEntered", "WaitStateExited"),
        State::Succeed(_) => ("SucceedStateEntered", "SucceedStateExited"),
        State::Fail(_) => ("FailStateEntered", "FailStateExited"),
    }
}
