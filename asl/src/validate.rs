//! The checks AWS applies to a definition before accepting it.
//!
//! [`validate`] walks the machine and every nested scope (Map processors, Parallel branches) and
//! reports every problem at once, in document order, each at the path of its state:
//! `Map "For each tool call" > State "Run tool"`. A problem of a scope itself (a missing
//! `StartAt`) is reported at the scope: `StateMachine`, `Map "Run tools"`,
//! `Parallel "Both" > Branch 2`.
//!
//! The query language of a state is its own `QueryLanguage`, or else the machine's (JSONPath
//! when absent); states in nested scopes inherit the machine's, like AWS.
//!
//! Retry and Catch on states that cannot have them are already refused by the parser (the
//! types have no such fields), as are unknown fields and wrong JSON types.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::Value;

use crate::model::{
    Catcher, Choice, ChoiceRule, Fail, Map, NumberOrExpression, Parallel, Pass, ProcessorMode,
    QueryLanguage, Retrier, State, StateMachine, States, Succeed, Task, Wait,
};

/// The longest a state name may be.
pub const MAX_STATE_NAME_LENGTH: usize = 80;

/// The largest value of the number fields (seconds, attempts, concurrency, batch sizes).
const MAX_NUMBER: f64 = 99_999_999.0;

/// The error name that matches every error; it must stand alone, in the last Retrier or Catcher.
pub const STATES_ALL: &str = "States.ALL";

/// One problem in a definition, at a state path such as `Map "For each" > State "Run"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: the path of the state, or `StateMachine` for the top level.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in the state machine:\n{}", .problems.len(), .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ValidationErrors {
    /// The problems, in document order.
    pub problems: Vec<Problem>,
}

/// Validates a machine and returns every problem at once, not only the first.
pub fn validate(machine: &StateMachine) -> Result<(), ValidationErrors> {
    let problems = problems(machine);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors { problems })
    }
}

/// Every problem in a machine, in document order; empty when the machine is valid.
pub fn problems(machine: &StateMachine) -> Vec<Problem> {
    let mut checker = Checker {
        problems: Vec::new(),
        names: HashMap::new(),
        default_language: machine.query_language.unwrap_or(QueryLanguage::JSONPath),
    };
    let top = "StateMachine";
    if let Some(version) = &machine.version
        && version != "1.0"
    {
        checker.report(
            top,
            format!("`Version` is \"{version}\"; the only version is \"1.0\""),
        );
    }
    if machine.timeout_seconds == Some(0) {
        checker.report(top, "`TimeoutSeconds` must be greater than 0");
    }
    checker.scope(top, "", &machine.start_at, &machine.states);
    checker.problems
}

struct Checker {
    problems: Vec<Problem>,
    /// Each state name seen so far, with the path where it was first used.
    names: HashMap<String, String>,
    default_language: QueryLanguage,
}

/// The fields of a state that belong to one query language, by name, when set.
struct Fields<'a> {
    list: Vec<(&'a str, bool)>,
}

impl<'a> Fields<'a> {
    fn new() -> Self {
        Self { list: Vec::new() }
    }
    fn add<T>(&mut self, name: &'a str, value: &Option<T>) -> &mut Self {
        self.list.push((name, value.is_some()));
        self
    }
    fn set(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.list
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
    }
}

impl Checker {
    fn report(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Checks one scope: `scope_path` names it, `prefix` is put before its states' paths.
    fn scope(&mut self, scope_path: &str, prefix: &str, start_at: &str, states: &States) {
        if states.is_empty() {
            self.report(
                scope_path,
                "`States` is empty; a scope needs at least one state",
            );
        } else if !states.contains_key(start_at) {
            self.report(
                scope_path,
                format!("`StartAt` \"{start_at}\" is not a state in this scope"),
            );
        }
        let reachable = reachable(start_at, states);
        let terminal = states.values().any(|state| {
            matches!(state, State::Succeed(_) | State::Fail(_)) || state.end() == Some(true)
        });
        if !states.is_empty() && !terminal {
            self.report(
                scope_path,
                "no state ends this scope; at least one needs `End: true` or is a Succeed or Fail state",
            );
        }
        for (name, state) in states {
            let word = match state {
                State::Map(_) => "Map",
                State::Parallel(_) => "Parallel",
                _ => "State",
            };
            let path = format!("{prefix}State \"{name}\"");
            let container = format!("{prefix}{word} \"{name}\"");
            self.name(&path, name);
            if states.contains_key(start_at) && !reachable.contains(name.as_str()) {
                self.report(
                    &path,
                    format!("the state is not reachable from `StartAt` \"{start_at}\""),
                );
            }
            self.state(&path, &container, state, states);
        }
    }

    fn name(&mut self, path: &str, name: &str) {
        if name.is_empty() {
            self.report(path, "a state name must not be empty");
        }
        let length = name.chars().count();
        if length > MAX_STATE_NAME_LENGTH {
            self.report(
                path,
                format!(
                    "the name is {length} characters long; the limit is {MAX_STATE_NAME_LENGTH}"
                ),
            );
        }
        match self.names.get(name) {
            Some(first) => {
                let first = first.clone();
                self.report(
                    path,
                    format!("the name is already used by {first}; state names must be unique in the whole machine"),
                );
            }
            None => {
                self.names.insert(name.to_owned(), path.to_owned());
            }
        }
    }

    fn state(&mut self, path: &str, container: &str, state: &State, scope: &States) {
        let language = state.query_language().unwrap_or(self.default_language);
        match state {
            State::Task(task) => self.task(path, language, task),
            State::Choice(choice) => self.choice(path, language, choice),
            State::Map(map) => self.map(path, language, map),
            State::Parallel(parallel) => self.parallel(path, language, parallel),
            State::Pass(pass) => self.pass(path, language, pass),
            State::Wait(wait) => self.wait(path, language, wait),
            State::Succeed(succeed) => self.succeed(path, language, succeed),
            State::Fail(fail) => self.fail(path, language, fail),
        }
        if language == QueryLanguage::JSONPath {
            self.jsonpath_values(path, state);
        }
        self.next_or_end(path, state);
        self.retriers(path, state.retriers());
        self.catchers(path, language, state.catchers());
        self.targets(path, state, scope);
        match state {
            State::Map(map) => {
                if let Some((start, states)) = map.processor_states() {
                    self.scope(container, &format!("{container} > "), start, states);
                }
            }
            State::Parallel(parallel) => {
                if parallel.branches.is_empty() {
                    self.report(
                        path,
                        "`Branches` is empty; a Parallel state needs at least one branch",
                    );
                }
                for (i, branch) in parallel.branches.iter().enumerate() {
                    let branch_path = format!("{container} > Branch {}", i + 1);
                    self.scope(
                        &branch_path,
                        &format!("{branch_path} > "),
                        &branch.start_at,
                        &branch.states,
                    );
                }
            }
            _ => {}
        }
    }

    /// In a JSONPath state: path fields are paths, and `.$` keys of payload templates hold a
    /// path or an intrinsic function.
    fn jsonpath_values(&mut self, path: &str, state: &State) {
        let mut paths: Vec<(&str, Option<&str>)> = Vec::new();
        let mut templates: Vec<(&str, Option<&Value>)> = Vec::new();
        match state {
            State::Task(t) => {
                paths.extend([
                    ("InputPath", nullable(&t.input_path)),
                    ("ResultPath", nullable(&t.result_path)),
                    ("OutputPath", nullable(&t.output_path)),
                    ("TimeoutSecondsPath", t.timeout_seconds_path.as_deref()),
                    ("HeartbeatSecondsPath", t.heartbeat_seconds_path.as_deref()),
                ]);
                templates.extend([
                    ("Parameters", t.parameters.as_ref()),
                    ("ResultSelector", t.result_selector.as_ref()),
                    ("Credentials", t.credentials.as_ref()),
                ]);
            }
            State::Choice(c) => {
                paths.extend([
                    ("InputPath", nullable(&c.input_path)),
                    ("OutputPath", nullable(&c.output_path)),
                ]);
            }
            State::Map(m) => {
                paths.extend([
                    ("InputPath", nullable(&m.input_path)),
                    ("ResultPath", nullable(&m.result_path)),
                    ("OutputPath", nullable(&m.output_path)),
                    ("ItemsPath", m.items_path.as_deref()),
                    ("MaxConcurrencyPath", m.max_concurrency_path.as_deref()),
                    (
                        "ToleratedFailurePercentagePath",
                        m.tolerated_failure_percentage_path.as_deref(),
                    ),
                    (
                        "ToleratedFailureCountPath",
                        m.tolerated_failure_count_path.as_deref(),
                    ),
                ]);
                templates.extend([
                    ("Parameters", m.parameters.as_ref()),
                    ("ItemSelector", m.item_selector.as_ref()),
                    ("ResultSelector", m.result_selector.as_ref()),
                    (
                        "ItemReader.Parameters",
                        m.item_reader.as_ref().and_then(|r| r.parameters.as_ref()),
                    ),
                    (
                        "ResultWriter.Parameters",
                        m.result_writer.as_ref().and_then(|r| r.parameters.as_ref()),
                    ),
                ]);
            }
            State::Parallel(p) => {
                paths.extend([
                    ("InputPath", nullable(&p.input_path)),
                    ("ResultPath", nullable(&p.result_path)),
                    ("OutputPath", nullable(&p.output_path)),
                ]);
                templates.extend([
                    ("Parameters", p.parameters.as_ref()),
                    ("ResultSelector", p.result_selector.as_ref()),
                ]);
            }
            State::Pass(p) => {
                paths.extend([
                    ("InputPath", nullable(&p.input_path)),
                    ("ResultPath", nullable(&p.result_path)),
                    ("OutputPath", nullable(&p.output_path)),
                ]);
                templates.push(("Parameters", p.parameters.as_ref()));
            }
            State::Wait(w) => {
                paths.extend([
                    ("InputPath", nullable(&w.input_path)),
                    ("OutputPath", nullable(&w.output_path)),
                    ("SecondsPath", w.seconds_path.as_deref()),
                    ("TimestampPath", w.timestamp_path.as_deref()),
                ]);
            }
            State::Succeed(s) => {
                paths.extend([
                    ("InputPath", nullable(&s.input_path)),
                    ("OutputPath", nullable(&s.output_path)),
                ]);
            }
            State::Fail(f) => {
                // ErrorPath and CausePath also take an intrinsic function.
                for (field, value) in [("ErrorPath", &f.error_path), ("CausePath", &f.cause_path)] {
                    if let Some(value) = value
                        && !is_path(value)
                        && !value.starts_with("States.")
                    {
                        self.report(path, format!("`{field}` \"{value}\" must be a path starting with `$` or an intrinsic function"));
                    }
                }
            }
        }
        for (field, value) in paths {
            if let Some(value) = value
                && !is_path(value)
            {
                self.report(
                    path,
                    format!("`{field}` \"{value}\" must be a path starting with `$`"),
                );
            }
        }
        for (i, catcher) in state.catchers().iter().enumerate() {
            if let Some(Some(value)) = &catcher.result_path
                && !is_path(value)
            {
                self.report(
                    path,
                    format!("`Catch[{i}].ResultPath` \"{value}\" must be a path starting with `$`"),
                );
            }
        }
        for (field, template) in templates {
            if let Some(template) = template {
                self.template(path, field, template);
            }
        }
    }

    /// Checks the `.$` keys of a JSONPath payload template, at any depth.
    fn template(&mut self, path: &str, field: &str, value: &Value) {
        match value {
            Value::Object(fields) => {
                let mut seen = HashSet::new();
                for (key, inner) in fields {
                    let place = format!("{field}.{key}");
                    let plain = key.strip_suffix(".$").unwrap_or(key);
                    if !seen.insert(plain) {
                        self.report(path, format!("`{field}` has both `{plain}` and `{plain}.$`; keys must stay unique once `.$` is stripped"));
                    }
                    if key.ends_with(".$") {
                        let good = inner
                            .as_str()
                            .is_some_and(|s| is_path(s) || s.starts_with("States."));
                        if !good {
                            self.report(path, format!("`{place}`: a `.$` key needs a path starting with `$` or an intrinsic function, found {inner}"));
                        }
                    } else {
                        self.template(path, &place, inner);
                    }
                }
            }
            Value::Array(items) => {
                for (i, inner) in items.iter().enumerate() {
                    self.template(path, &format!("{field}[{i}]"), inner);
                }
            }
            _ => {}
        }
    }

    /// Fields of the other query language than the state's.
    fn languages(
        &mut self,
        path: &str,
        language: QueryLanguage,
        jsonpath: &Fields<'_>,
        jsonata: &Fields<'_>,
    ) {
        let (wrong, other) = match language {
            QueryLanguage::JSONPath => (jsonata, "JSONata"),
            QueryLanguage::JSONata => (jsonpath, "JSONPath"),
        };
        let here = match language {
            QueryLanguage::JSONPath => "JSONPath",
            QueryLanguage::JSONata => "JSONata",
        };
        let names: Vec<&str> = wrong.set().collect();
        for name in names {
            self.report(
                path,
                format!("`{name}` is a {other} field, but this state uses {here}"),
            );
        }
    }

    /// A number field that is a JSONata expression in JSONata states and a number otherwise.
    fn number(
        &mut self,
        path: &str,
        language: QueryLanguage,
        field: &str,
        value: &Option<NumberOrExpression>,
        minimum: f64,
    ) {
        match value {
            Some(NumberOrExpression::Number(n)) => {
                let value = n.as_f64().unwrap_or_default();
                if value < minimum {
                    self.report(path, format!("`{field}` must be at least {minimum}"));
                } else if value > MAX_NUMBER {
                    self.report(path, format!("`{field}` must be at most {MAX_NUMBER}"));
                }
                // Only the tolerated failure percentage may have a fraction.
                if n.is_f64() && field != "ToleratedFailurePercentage" {
                    self.report(path, format!("`{field}` must be a whole number"));
                }
            }
            None => {}
            Some(NumberOrExpression::Expression(text)) => {
                if language == QueryLanguage::JSONPath {
                    self.report(path, format!("`{field}` must be a number in a JSONPath state (use `{field}Path` to read it from the input)"));
                } else if !is_jsonata(text) {
                    self.report(
                        path,
                        format!("`{field}` must be a number or a JSONata expression `{{% … %}}`"),
                    );
                }
            }
        }
    }

    fn not_both<A, B>(&mut self, path: &str, a: (&str, &Option<A>), b: (&str, &Option<B>)) {
        if a.1.is_some() && b.1.is_some() {
            self.report(path, format!("`{}` and `{}` cannot both be set", a.0, b.0));
        }
    }

    fn task(&mut self, path: &str, language: QueryLanguage, task: &Task) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &task.input_path)
            .add("Parameters", &task.parameters)
            .add("ResultSelector", &task.result_selector)
            .add("ResultPath", &task.result_path)
            .add("OutputPath", &task.output_path)
            .add("TimeoutSecondsPath", &task.timeout_seconds_path)
            .add("HeartbeatSecondsPath", &task.heartbeat_seconds_path);
        let mut jsonata = Fields::new();
        jsonata
            .add("Arguments", &task.arguments)
            .add("Output", &task.output);
        self.languages(path, language, &jsonpath, &jsonata);
        if task.resource.is_empty() {
            self.report(path, "`Resource` must not be empty");
        }
        self.not_both(
            path,
            ("TimeoutSeconds", &task.timeout_seconds),
            ("TimeoutSecondsPath", &task.timeout_seconds_path),
        );
        self.not_both(
            path,
            ("HeartbeatSeconds", &task.heartbeat_seconds),
            ("HeartbeatSecondsPath", &task.heartbeat_seconds_path),
        );
        self.number(path, language, "TimeoutSeconds", &task.timeout_seconds, 1.0);
        self.number(
            path,
            language,
            "HeartbeatSeconds",
            &task.heartbeat_seconds,
            1.0,
        );
        if let (
            Some(NumberOrExpression::Number(timeout)),
            Some(NumberOrExpression::Number(heartbeat)),
        ) = (&task.timeout_seconds, &task.heartbeat_seconds)
            && let (Some(t), Some(h)) = (timeout.as_f64(), heartbeat.as_f64())
            && h >= t
        {
            self.report(
                path,
                "`HeartbeatSeconds` must be smaller than `TimeoutSeconds`",
            );
        }
    }

    fn choice(&mut self, path: &str, language: QueryLanguage, choice: &Choice) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &choice.input_path)
            .add("OutputPath", &choice.output_path);
        let mut jsonata = Fields::new();
        jsonata.add("Output", &choice.output);
        self.languages(path, language, &jsonpath, &jsonata);
        if choice.choices.is_empty() {
            self.report(
                path,
                "`Choices` is empty; a Choice state needs at least one rule",
            );
        }
        for (i, rule) in choice.choices.iter().enumerate() {
            let place = format!("Choices[{i}]");
            if rule.next.is_none() {
                self.report(path, format!("rule `{place}` has no `Next`"));
            }
            self.rule(path, language, &place, rule, true);
        }
    }

    fn rule(
        &mut self,
        path: &str,
        language: QueryLanguage,
        place: &str,
        rule: &ChoiceRule,
        top: bool,
    ) {
        if !top {
            if rule.next.is_some() {
                self.report(
                    path,
                    format!("nested rule `{place}` has a `Next`; only top-level rules do"),
                );
            }
            if rule.assign.is_some() || rule.output.is_some() {
                self.report(
                    path,
                    format!(
                        "nested rule `{place}` has `Assign` or `Output`; only top-level rules do"
                    ),
                );
            }
        }
        match language {
            QueryLanguage::JSONata => {
                let mut jsonpath = vec![];
                if rule.variable.is_some() {
                    jsonpath.push("Variable".to_owned());
                }
                jsonpath.extend(rule.comparisons.iter().map(|c| c.operator.clone()));
                if rule.and.is_some() {
                    jsonpath.push("And".to_owned());
                }
                if rule.or.is_some() {
                    jsonpath.push("Or".to_owned());
                }
                if rule.not.is_some() {
                    jsonpath.push("Not".to_owned());
                }
                for field in jsonpath {
                    self.report(path, format!("rule `{place}`: `{field}` is a JSONPath field, but this state uses JSONata"));
                }
                match &rule.condition {
                    None => self.report(
                        path,
                        format!("rule `{place}` has no `Condition`; JSONata rules need one"),
                    ),
                    Some(condition) if !is_jsonata(condition) => self.report(
                        path,
                        format!(
                            "rule `{place}`: `Condition` must be a JSONata expression `{{% … %}}`"
                        ),
                    ),
                    Some(_) => {}
                }
            }
            QueryLanguage::JSONPath => {
                if rule.condition.is_some() {
                    self.report(path, format!("rule `{place}`: `Condition` is a JSONata field, but this state uses JSONPath"));
                }
                if rule.output.is_some() {
                    self.report(path, format!("rule `{place}`: `Output` is a JSONata field, but this state uses JSONPath"));
                }
                let tests = rule.comparisons.len()
                    + usize::from(rule.and.is_some())
                    + usize::from(rule.or.is_some())
                    + usize::from(rule.not.is_some());
                if tests != 1 {
                    let found: Vec<String> = rule
                        .comparisons
                        .iter()
                        .map(|c| c.operator.clone())
                        .chain(rule.and.as_ref().map(|_| "And".to_owned()))
                        .chain(rule.or.as_ref().map(|_| "Or".to_owned()))
                        .chain(rule.not.as_ref().map(|_| "Not".to_owned()))
                        .collect();
                    self.report(
                        path,
                        format!(
                            "rule `{place}` must have exactly one comparison operator or `And`/`Or`/`Not`, found {}",
                            if found.is_empty() { "none".to_owned() } else { found.join(", ") }
                        ),
                    );
                }
                if !rule.comparisons.is_empty() && rule.variable.is_none() {
                    self.report(
                        path,
                        format!("rule `{place}` compares but has no `Variable`"),
                    );
                }
                if rule.comparisons.is_empty() && rule.variable.is_some() {
                    self.report(
                        path,
                        format!("rule `{place}` has a `Variable` but no comparison operator"),
                    );
                }
                for comparison in &rule.comparisons {
                    if let Some(expected) =
                        comparison_type_problem(&comparison.operator, &comparison.value)
                    {
                        self.report(
                            path,
                            format!("rule `{place}`: `{}` needs {expected}", comparison.operator),
                        );
                    }
                }
                for (word, rules) in [("And", &rule.and), ("Or", &rule.or)] {
                    if let Some(rules) = rules {
                        if rules.is_empty() {
                            self.report(path, format!("rule `{place}`: `{word}` is empty"));
                        }
                        for (i, inner) in rules.iter().enumerate() {
                            self.rule(
                                path,
                                language,
                                &format!("{place}.{word}[{i}]"),
                                inner,
                                false,
                            );
                        }
                    }
                }
                if let Some(inner) = &rule.not {
                    self.rule(path, language, &format!("{place}.Not"), inner, false);
                }
            }
        }
    }

    fn map(&mut self, path: &str, language: QueryLanguage, map: &Map) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &map.input_path)
            .add("ItemsPath", &map.items_path)
            .add("Parameters", &map.parameters)
            .add("ResultSelector", &map.result_selector)
            .add("ResultPath", &map.result_path)
            .add("OutputPath", &map.output_path)
            .add("MaxConcurrencyPath", &map.max_concurrency_path)
            .add(
                "ToleratedFailurePercentagePath",
                &map.tolerated_failure_percentage_path,
            )
            .add(
                "ToleratedFailureCountPath",
                &map.tolerated_failure_count_path,
            );
        let mut jsonata = Fields::new();
        jsonata.add("Items", &map.items).add("Output", &map.output);
        if let Some(reader) = &map.item_reader {
            jsonpath.add("ItemReader.Parameters", &reader.parameters);
            jsonata.add("ItemReader.Arguments", &reader.arguments);
        }
        if let Some(writer) = &map.result_writer {
            jsonpath.add("ResultWriter.Parameters", &writer.parameters);
            jsonata.add("ResultWriter.Arguments", &writer.arguments);
        }
        if let Some(batcher) = &map.item_batcher {
            jsonpath
                .add(
                    "ItemBatcher.MaxItemsPerBatchPath",
                    &batcher.max_items_per_batch_path,
                )
                .add(
                    "ItemBatcher.MaxInputBytesPerBatchPath",
                    &batcher.max_input_bytes_per_batch_path,
                );
        }
        self.languages(path, language, &jsonpath, &jsonata);
        match (&map.item_processor, &map.iterator) {
            (None, None) => self.report(
                path,
                "a Map state needs `ItemProcessor` (or the legacy `Iterator`)",
            ),
            (Some(_), Some(_)) => self.report(
                path,
                "`ItemProcessor` and `Iterator` cannot both be set; use `ItemProcessor`",
            ),
            _ => {}
        }
        self.not_both(
            path,
            ("ItemSelector", &map.item_selector),
            ("Parameters", &map.parameters),
        );
        self.not_both(
            path,
            ("MaxConcurrency", &map.max_concurrency),
            ("MaxConcurrencyPath", &map.max_concurrency_path),
        );
        self.number(path, language, "MaxConcurrency", &map.max_concurrency, 0.0);
        self.number(
            path,
            language,
            "ToleratedFailurePercentage",
            &map.tolerated_failure_percentage,
            0.0,
        );
        self.number(
            path,
            language,
            "ToleratedFailureCount",
            &map.tolerated_failure_count,
            0.0,
        );
        if let Some(NumberOrExpression::Number(n)) = &map.tolerated_failure_percentage
            && n.as_f64().is_some_and(|n| n > 100.0)
        {
            self.report(path, "`ToleratedFailurePercentage` must be at most 100");
        }
        let distributed =
            map.processor_config().and_then(|c| c.mode) == Some(ProcessorMode::Distributed);
        if !distributed {
            let mut only = Fields::new();
            only.add("ItemReader", &map.item_reader)
                .add("ItemBatcher", &map.item_batcher)
                .add("ResultWriter", &map.result_writer)
                .add(
                    "ToleratedFailurePercentage",
                    &map.tolerated_failure_percentage,
                )
                .add(
                    "ToleratedFailurePercentagePath",
                    &map.tolerated_failure_percentage_path,
                )
                .add("ToleratedFailureCount", &map.tolerated_failure_count)
                .add(
                    "ToleratedFailureCountPath",
                    &map.tolerated_failure_count_path,
                )
                .add("Label", &map.label);
            let names: Vec<&str> = only.set().collect();
            for name in names {
                self.report(path, format!("`{name}` is only for a distributed Map (`ProcessorConfig.Mode: DISTRIBUTED`)"));
            }
        }
        if let Some(config) = map.processor_config() {
            if config.execution_type.is_some() && !distributed {
                self.report(
                    path,
                    "`ProcessorConfig.ExecutionType` is only for a distributed Map",
                );
            }
            if distributed && config.execution_type.is_none() {
                self.report(
                    path,
                    "a distributed Map needs `ProcessorConfig.ExecutionType` (STANDARD or EXPRESS)",
                );
            }
        }
        if let Some(batcher) = &map.item_batcher {
            self.number(
                path,
                language,
                "ItemBatcher.MaxItemsPerBatch",
                &batcher.max_items_per_batch,
                1.0,
            );
            self.number(
                path,
                language,
                "ItemBatcher.MaxInputBytesPerBatch",
                &batcher.max_input_bytes_per_batch,
                1.0,
            );
        }
        if let Some(reader) = &map.item_reader
            && reader.resource.is_empty()
        {
            self.report(path, "`ItemReader.Resource` must not be empty");
        }
        if let Some(label) = &map.label
            && label.chars().count() > 40
        {
            self.report(path, "`Label` must be at most 40 characters");
        }
    }

    fn parallel(&mut self, path: &str, language: QueryLanguage, parallel: &Parallel) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &parallel.input_path)
            .add("Parameters", &parallel.parameters)
            .add("ResultSelector", &parallel.result_selector)
            .add("ResultPath", &parallel.result_path)
            .add("OutputPath", &parallel.output_path);
        let mut jsonata = Fields::new();
        jsonata
            .add("Arguments", &parallel.arguments)
            .add("Output", &parallel.output);
        self.languages(path, language, &jsonpath, &jsonata);
    }

    fn pass(&mut self, path: &str, language: QueryLanguage, pass: &Pass) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &pass.input_path)
            .add("Parameters", &pass.parameters)
            .add("Result", &pass.result)
            .add("ResultPath", &pass.result_path)
            .add("OutputPath", &pass.output_path);
        let mut jsonata = Fields::new();
        jsonata.add("Output", &pass.output);
        self.languages(path, language, &jsonpath, &jsonata);
    }

    fn wait(&mut self, path: &str, language: QueryLanguage, wait: &Wait) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &wait.input_path)
            .add("OutputPath", &wait.output_path)
            .add("SecondsPath", &wait.seconds_path)
            .add("TimestampPath", &wait.timestamp_path);
        let mut jsonata = Fields::new();
        jsonata.add("Output", &wait.output);
        self.languages(path, language, &jsonpath, &jsonata);
        let mut forms = Fields::new();
        forms
            .add("Seconds", &wait.seconds)
            .add("Timestamp", &wait.timestamp)
            .add("SecondsPath", &wait.seconds_path)
            .add("TimestampPath", &wait.timestamp_path);
        let set: Vec<&str> = forms.set().collect();
        if set.len() != 1 {
            self.report(
                path,
                format!(
                    "a Wait state needs exactly one of `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath`, found {}",
                    if set.is_empty() { "none".to_owned() } else { set.join(", ") }
                ),
            );
        }
        self.number(path, language, "Seconds", &wait.seconds, 0.0);
        if let Some(timestamp) = &wait.timestamp {
            let expression = language == QueryLanguage::JSONata && is_jsonata(timestamp);
            if !expression && !looks_like_timestamp(timestamp) {
                self.report(path, format!("`Timestamp` \"{timestamp}\" is not an ISO 8601 timestamp such as 2026-03-14T01:59:00Z"));
            }
        }
    }

    fn succeed(&mut self, path: &str, language: QueryLanguage, succeed: &Succeed) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("InputPath", &succeed.input_path)
            .add("OutputPath", &succeed.output_path);
        let mut jsonata = Fields::new();
        jsonata.add("Output", &succeed.output);
        self.languages(path, language, &jsonpath, &jsonata);
    }

    fn fail(&mut self, path: &str, language: QueryLanguage, fail: &Fail) {
        let mut jsonpath = Fields::new();
        jsonpath
            .add("ErrorPath", &fail.error_path)
            .add("CausePath", &fail.cause_path);
        self.languages(path, language, &jsonpath, &Fields::new());
        self.not_both(
            path,
            ("Error", &fail.error),
            ("ErrorPath", &fail.error_path),
        );
        self.not_both(
            path,
            ("Cause", &fail.cause),
            ("CausePath", &fail.cause_path),
        );
    }

    fn next_or_end(&mut self, path: &str, state: &State) {
        if matches!(state, State::Choice(_) | State::Succeed(_) | State::Fail(_)) {
            return;
        }
        match (state.next(), state.end()) {
            (Some(_), Some(true)) => self.report(path, "`Next` and `End: true` cannot both be set"),
            (None, Some(true)) | (Some(_), None | Some(false)) => {}
            (None, _) => self.report(path, "the state needs `Next` or `End: true`"),
        }
    }

    fn retriers(&mut self, path: &str, retriers: &[Retrier]) {
        for (i, retrier) in retriers.iter().enumerate() {
            let place = format!("Retry[{i}]");
            self.error_equals(
                path,
                &place,
                "Retrier",
                &retrier.error_equals,
                i + 1 == retriers.len(),
            );
            if retrier.interval_seconds == Some(0) {
                self.report(
                    path,
                    format!("`{place}.IntervalSeconds` must be at least 1"),
                );
            }
            if retrier.max_delay_seconds == Some(0) {
                self.report(
                    path,
                    format!("`{place}.MaxDelaySeconds` must be at least 1"),
                );
            }
            if let Some(rate) = retrier.backoff_rate.as_ref().and_then(|r| r.as_f64())
                && rate < 1.0
            {
                self.report(path, format!("`{place}.BackoffRate` must be at least 1.0"));
            }
        }
    }

    fn catchers(&mut self, path: &str, language: QueryLanguage, catchers: &[Catcher]) {
        for (i, catcher) in catchers.iter().enumerate() {
            let place = format!("Catch[{i}]");
            self.error_equals(
                path,
                &place,
                "Catcher",
                &catcher.error_equals,
                i + 1 == catchers.len(),
            );
            match language {
                QueryLanguage::JSONPath if catcher.output.is_some() => self.report(
                    path,
                    format!("`{place}.Output` is a JSONata field, but this state uses JSONPath"),
                ),
                QueryLanguage::JSONata if catcher.result_path.is_some() => self.report(
                    path,
                    format!(
                        "`{place}.ResultPath` is a JSONPath field, but this state uses JSONata"
                    ),
                ),
                _ => {}
            }
        }
    }

    fn error_equals(&mut self, path: &str, place: &str, kind: &str, errors: &[String], last: bool) {
        if errors.is_empty() {
            self.report(path, format!("`{place}.ErrorEquals` is empty"));
        }
        if errors.iter().any(|e| e == STATES_ALL) {
            if errors.len() > 1 {
                self.report(
                    path,
                    format!("`{place}.ErrorEquals`: `States.ALL` must stand alone"),
                );
            }
            if !last {
                self.report(
                    path,
                    format!("`{place}` matches `States.ALL`, so it must be the last {kind}"),
                );
            }
        }
    }

    fn targets(&mut self, path: &str, state: &State, scope: &States) {
        let check = |checker: &mut Self, what: String, target: &str| {
            if !scope.contains_key(target) {
                let elsewhere = checker
                    .names
                    .get(target)
                    .map(|p| {
                        format!(" ({p} is in another scope; transitions cannot leave their scope)")
                    })
                    .unwrap_or_default();
                checker.report(
                    path,
                    format!("{what} \"{target}\", which is not a state in this scope{elsewhere}"),
                );
            }
        };
        if let Some(next) = state.next() {
            check(self, "`Next` goes to".to_owned(), next);
        }
        if let State::Choice(choice) = state {
            for (i, rule) in choice.choices.iter().enumerate() {
                if let Some(next) = &rule.next {
                    check(self, format!("rule `Choices[{i}]` goes to"), next);
                }
            }
            if let Some(default) = &choice.default {
                check(self, "`Default` goes to".to_owned(), default);
            }
        }
        for (i, catcher) in state.catchers().iter().enumerate() {
            check(self, format!("`Catch[{i}].Next` goes to"), &catcher.next);
        }
    }
}

/// The names of the states reachable from `start_at` through `Next`, Choice rules, `Default`
/// and Catchers.
fn reachable<'a>(start_at: &'a str, states: &'a States) -> HashSet<&'a str> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([start_at]);
    while let Some(name) = queue.pop_front() {
        let Some(state) = states.get(name) else {
            continue;
        };
        if !seen.insert(name) {
            continue;
        }
        queue.extend(state.transitions());
    }
    seen
}

/// A nullable path field's path, when it is set and not `null`.
fn nullable(field: &Option<Option<String>>) -> Option<&str> {
    field.as_ref().and_then(|p| p.as_deref())
}

/// Whether a string is a JSONPath path (`$.a`, `$$.Execution.Id`, `$variable`).
fn is_path(text: &str) -> bool {
    text.starts_with('$')
}

/// Whether a string is a JSONata expression as Step Functions writes them: `{% … %}`.
pub fn is_jsonata(text: &str) -> bool {
    let text = text.trim();
    text.len() >= 4 && text.starts_with("{%") && text.ends_with("%}")
}

/// A loose RFC 3339 check: date, `T`, time, and a zone.
fn looks_like_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && (bytes[10] == b'T' || bytes[10] == b't')
        && bytes[13] == b':'
        && bytes[16] == b':'
        && (text.ends_with('Z') || text.ends_with('z') || text[19..].contains(['+', '-']))
}

/// What a comparison's value must be, when it is not.
fn comparison_type_problem(operator: &str, value: &Value) -> Option<&'static str> {
    if operator.ends_with("Path") {
        return (!value.is_string()).then_some("a path (a string)");
    }
    if operator.starts_with("Is") || operator.starts_with("Boolean") {
        return (!value.is_boolean()).then_some("a boolean");
    }
    if operator.starts_with("Numeric") {
        return (!value.is_number()).then_some("a number");
    }
    if operator.starts_with("Timestamp") {
        return match value.as_str() {
            Some(text) if looks_like_timestamp(text) => None,
            _ => Some("a timestamp string such as 2026-03-14T01:59:00Z"),
        };
    }
    (!value.is_string()).then_some("a string")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str) -> Vec<String> {
        match StateMachine::from_json(text) {
            Ok(machine) => problems(&machine).iter().map(ToString::to_string).collect(),
            Err(e) => vec![format!("parse error: {e}")],
        }
    }

    #[test]
    fn a_valid_machine_has_no_problems() {
        assert_eq!(
            problems_of(
                r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Succeed"}}}"#
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn next_and_end() {
        let found = problems_of(
            r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B","End":true},"B":{"Type":"Pass"}}}"#,
        );
        assert_eq!(
            found,
            [
                "State \"A\": `Next` and `End: true` cannot both be set",
                "State \"B\": the state needs `Next` or `End: true`",
            ]
        );
    }

    #[test]
    fn states_all_alone_and_last() {
        let found = problems_of(
            r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:x","End":true,
              "Retry":[{"ErrorEquals":["States.ALL","States.Timeout"]},{"ErrorEquals":["X"]}]}}}"#,
        );
        assert_eq!(
            found,
            [
                "State \"A\": `Retry[0].ErrorEquals`: `States.ALL` must stand alone",
                "State \"A\": `Retry[0]` matches `States.ALL`, so it must be the last Retrier",
            ]
        );
    }

    #[test]
    fn choice_rules() {
        let found = problems_of(
            r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[
                {"Variable":"$.a","NumericEquals":1,"StringEquals":"x","Next":"D"},
                {"And":[{"Variable":"$.a","IsPresent":true,"Next":"D"}]},
                {"Variable":"$.b","NumericGreaterThan":"ten","Next":"D"}
              ],"Default":"D"},"D":{"Type":"Succeed"}}}"#,
        );
        assert_eq!(
            found,
            [
                "State \"C\": rule `Choices[0]` must have exactly one comparison operator or `And`/`Or`/`Not`, found NumericEquals, StringEquals",
                "State \"C\": rule `Choices[1]` has no `Next`",
                "State \"C\": nested rule `Choices[1].And[0]` has a `Next`; only top-level rules do",
                "State \"C\": rule `Choices[2]`: `NumericGreaterThan` needs a number",
            ]
        );
    }

    #[test]
    fn wait_forms_and_fail_fields() {
        let found = problems_of(
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"SecondsPath":"$.s","Next":"F"},
              "F":{"Type":"Fail","Error":"E","ErrorPath":"$.e"}}}"#,
        );
        assert_eq!(
            found,
            [
                "State \"W\": a Wait state needs exactly one of `Seconds`, `Timestamp`, `SecondsPath`, `TimestampPath`, found Seconds, SecondsPath",
                "State \"F\": `Error` and `ErrorPath` cannot both be set",
            ]
        );
    }

    #[test]
    fn names_are_unique_and_short() {
        let long = "x".repeat(81);
        let text = format!(
            r#"{{"StartAt":"M","States":{{"M":{{"Type":"Map","Next":"{long}","ItemProcessor":{{"StartAt":"M","States":{{"M":{{"Type":"Succeed"}}}}}}}},"{long}":{{"Type":"Succeed"}}}}}}"#
        );
        assert_eq!(
            problems_of(&text),
            [
                "Map \"M\" > State \"M\": the name is already used by State \"M\"; state names must be unique in the whole machine".to_owned(),
                format!("State \"{long}\": the name is 81 characters long; the limit is 80"),
            ]
        );
    }

    #[test]
    fn machine_fields() {
        let found = problems_of(
            r#"{"StartAt":"A","Version":"2.0","TimeoutSeconds":0,"States":{"A":{"Type":"Succeed"}}}"#,
        );
        assert_eq!(
            found,
            [
                "StateMachine: `Version` is \"2.0\"; the only version is \"1.0\"",
                "StateMachine: `TimeoutSeconds` must be greater than 0",
            ]
        );
    }

    #[test]
    fn number_fields() {
        let found = problems_of(
            r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1.5,"Next":"T"},
              "T":{"Type":"Task","Resource":"arn:x","TimeoutSeconds":100000000,"HeartbeatSeconds":"{% 3 %}","End":true}}}"#,
        );
        assert_eq!(
            found,
            [
                "State \"W\": `Seconds` must be a whole number",
                "State \"T\": `TimeoutSeconds` must be at most 99999999",
                "State \"T\": `HeartbeatSeconds` must be a number in a JSONPath state (use `HeartbeatSecondsPath` to read it from the input)",
            ]
        );
    }

    #[test]
    fn jsonata_detection() {
        assert!(is_jsonata("{% $states.input %}"));
        assert!(!is_jsonata("$.input"));
        assert!(looks_like_timestamp("2026-03-14T01:59:00Z"));
        assert!(looks_like_timestamp("2026-03-14T01:59:00.123+01:00"));
        assert!(!looks_like_timestamp("tomorrow"));
    }
}
