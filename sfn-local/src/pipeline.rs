//! A state's input/output pipeline, chosen when the machine is compiled: JSONPath's
//! InputPath → Parameters → (the work) → ResultSelector → Assign → ResultPath → OutputPath, or
//! JSONata's Arguments → (the work) → Assign and Output over `$states`. The state code asks
//! its [`Io`] for the effective input, the parameters and the output, and never branches on
//! the query language.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::context::Context;
use crate::errors::{self, Failure, check_size};
use crate::jsonata::{self, StatesView};
use crate::jsonpath::{self, Roots};
use crate::vars::Vars;

/// One pipeline per state (and per Catcher and Choice rule), in its query language.
#[derive(Debug)]
pub(crate) enum Io {
    JsonPath(JsonPathIo),
    Jsonata(JsonataIo),
}

/// The JSONPath fields; those a state type does not have are absent.
#[derive(Debug)]
pub(crate) struct JsonPathIo {
    pub input_path: jsonpath::IoPath,
    pub parameters: Option<jsonpath::Template>,
    pub result_selector: Option<jsonpath::Template>,
    pub result_path: jsonpath::ResultPath,
    pub output_path: jsonpath::IoPath,
    pub assign: Option<jsonpath::Template>,
    /// Whether `Assign` reads `$states` (JSONPath Assign may read `$states.input`, …).
    pub assign_reads_states: bool,
}

/// The JSONata fields; those a state type does not have are absent.
#[derive(Debug)]
pub(crate) struct JsonataIo {
    pub arguments: Option<jsonata::Template>,
    pub output: Option<jsonata::Template>,
    pub assign: Option<jsonata::Template>,
}

/// The variables a state assigns.
pub(crate) type Assigned = Map<String, Value>;

/// What a state's work produced, for its output.
pub(crate) enum Produced {
    /// Nothing (Choice, Wait, Succeed): the output comes from the effective input.
    Nothing,
    /// A Pass state's result (`Result`, `Parameters` or its input).
    Pass(Arc<Value>),
    /// A task's, Map's or Parallel's result: `$states.result`.
    Result(Arc<Value>),
    /// A caught error's output (`{"Error", "Cause"}`): `$states.errorOutput`.
    Error(Value),
}

/// Everything a state's fields are evaluated with: the variables and the context object.
pub(crate) struct Eval<'a> {
    pub vars: &'a Arc<Vars>,
    pub context: Context<'a>,
}

impl Eval<'_> {
    /// Runs `f` with the JSONPath roots of `input` (`$`), `$$` and the variables.
    pub(crate) fn with_roots<T>(&self, input: &Value, f: impl FnOnce(&Roots<'_>) -> T) -> T {
        let lookup = |name: &str| self.vars.get(name);
        let context = |with_input: bool| self.context.to_value(with_input);
        f(&Roots {
            input,
            context: &context,
            vars: &lookup,
        })
    }

    /// `$states` with its parts.
    pub(crate) fn states<'s>(
        &'s self,
        input: &'s Value,
        result: Option<&'s Value>,
        error_output: Option<&'s Value>,
    ) -> StatesView<'s> {
        StatesView {
            input,
            result,
            error_output,
            context: Some(&self.context),
        }
    }

    /// A JSONata template's value.
    pub(crate) fn jsonata(
        &self,
        template: &jsonata::Template,
        states: &StatesView<'_>,
    ) -> Result<Value, Failure> {
        let lookup = |name: &str| self.vars.get(name);
        template.evaluate(states, &lookup)
    }

    /// A JSONPath template's value with `$` = `input`.
    pub(crate) fn template(
        &self,
        template: &jsonpath::Template,
        input: &Value,
    ) -> Result<Value, Failure> {
        self.with_roots(input, |roots| template.evaluate(roots))
    }
}

impl Io {
    /// The error of a field that has the wrong type: `States.QueryEvaluationError` in
    /// JSONata, `States.Runtime` in JSONPath.
    pub(crate) fn type_error(&self, cause: String) -> Failure {
        match self {
            Io::Jsonata(_) => Failure::query(cause),
            Io::JsonPath(_) => Failure::runtime(cause),
        }
    }

    /// The effective input: JSONPath's `InputPath` (the raw input itself when absent);
    /// in JSONata, the raw input.
    pub(crate) fn input(&self, ev: &Eval<'_>, raw: &Arc<Value>) -> Result<Arc<Value>, Failure> {
        match self {
            Io::JsonPath(io) if !io.input_path.is_absent() => ev
                .with_roots(raw, |roots| io.input_path.apply(roots))
                .map(Arc::new),
            _ => Ok(raw.clone()),
        }
    }

    /// The parameters: JSONPath's `Parameters` over the effective input, JSONata's
    /// `Arguments` over `$states.input`; the effective input when absent.
    pub(crate) fn parameters(
        &self,
        ev: &Eval<'_>,
        raw: &Arc<Value>,
        effective: Arc<Value>,
    ) -> Result<Arc<Value>, Failure> {
        match self {
            Io::JsonPath(JsonPathIo {
                parameters: Some(p),
                ..
            }) => ev.template(p, &effective).map(Arc::new),
            Io::Jsonata(JsonataIo {
                arguments: Some(a), ..
            }) => ev.jsonata(a, &ev.states(raw, None, None)).map(Arc::new),
            _ => Ok(effective),
        }
    }

    /// The state's output and the variables it assigns. `release` is called with a JSONPath
    /// result just before `ResultPath` puts it inside the input (the history may then give
    /// up its hold on it, so it moves rather than copies).
    pub(crate) fn output(
        &self,
        ev: &Eval<'_>,
        raw: &Arc<Value>,
        effective: Arc<Value>,
        produced: Produced,
        release: &dyn Fn(&Arc<Value>),
    ) -> Result<(Arc<Value>, Option<Assigned>), Failure> {
        match self {
            Io::Jsonata(io) => {
                let (result, error_output) = match &produced {
                    Produced::Result(r) => (Some(&**r), None),
                    Produced::Error(e) => (None, Some(e)),
                    Produced::Nothing | Produced::Pass(_) => (None, None),
                };
                let states = ev.states(raw, result, error_output);
                let assigned = match &io.assign {
                    Some(a) => assigned(ev.jsonata(a, &states)?)?,
                    None => None,
                };
                let output = match &io.output {
                    Some(o) => Arc::new(ev.jsonata(o, &states)?),
                    None => match produced {
                        Produced::Result(r) => r,
                        Produced::Error(e) => Arc::new(e),
                        Produced::Nothing | Produced::Pass(_) => raw.clone(),
                    },
                };
                Ok((output, assigned))
            }
            Io::JsonPath(io) => {
                let (value, assigned) = match produced {
                    Produced::Nothing => {
                        let assigned = io.assign(ev, &ev.states(raw, None, None), &effective)?;
                        (effective, assigned)
                    }
                    Produced::Pass(result) => {
                        let assigned = io.assign(ev, &ev.states(raw, None, None), &result)?;
                        (io.result_path(raw, result, release)?, assigned)
                    }
                    Produced::Result(result) => {
                        let selected = match &io.result_selector {
                            Some(s) => Arc::new(ev.template(s, &result)?),
                            None => result,
                        };
                        let assigned =
                            io.assign(ev, &ev.states(raw, Some(&selected), None), &selected)?;
                        (io.result_path(raw, selected, release)?, assigned)
                    }
                    Produced::Error(error_output) => {
                        let assigned = io.assign(
                            ev,
                            &ev.states(raw, None, Some(&error_output)),
                            &error_output,
                        )?;
                        (
                            io.result_path(raw, Arc::new(error_output), release)?,
                            assigned,
                        )
                    }
                };
                let output = if io.output_path.is_absent() {
                    value
                } else {
                    Arc::new(ev.with_roots(&value, |roots| io.output_path.apply(roots))?)
                };
                Ok((output, assigned))
            }
        }
    }
}

impl JsonPathIo {
    /// `ResultPath`, copying the raw input only when the result goes inside it.
    fn result_path(
        &self,
        raw: &Arc<Value>,
        result: Arc<Value>,
        release: &dyn Fn(&Arc<Value>),
    ) -> Result<Arc<Value>, Failure> {
        match &self.result_path {
            jsonpath::ResultPath::Absent => Ok(result),
            jsonpath::ResultPath::Null => Ok(raw.clone()),
            path => {
                release(&result);
                path.apply(raw, owned(result)).map(Arc::new)
            }
        }
    }

    /// `Assign`: a template over `$` (`input`), which may also read `$states`.
    fn assign(
        &self,
        ev: &Eval<'_>,
        states: &StatesView<'_>,
        input: &Value,
    ) -> Result<Option<Map<String, Value>>, Failure> {
        let Some(template) = &self.assign else {
            return Ok(None);
        };
        if !self.assign_reads_states {
            return assigned(ev.template(template, input)?);
        }
        let mut view = Map::new();
        view.insert("input".into(), states.input.clone());
        if let Some(r) = states.result {
            view.insert("result".into(), r.clone());
        }
        if let Some(e) = states.error_output {
            view.insert("errorOutput".into(), e.clone());
        }
        view.insert("context".into(), ev.context.to_value(true));
        let view = Value::Object(view);
        let lookup = |name: &str| {
            if name == "states" {
                Some(view.clone())
            } else {
                ev.vars.get(name)
            }
        };
        let context = |with_input: bool| ev.context.to_value(with_input);
        let roots = Roots {
            input,
            context: &context,
            vars: &lookup,
        };
        assigned(template.evaluate(&roots)?)
    }
}

/// The variables of an evaluated `Assign`, each within the size limit.
fn assigned(value: Value) -> Result<Option<Map<String, Value>>, Failure> {
    match value {
        Value::Object(map) => {
            for (name, v) in &map {
                check_size(v, &format!("variable '{name}'"))?;
            }
            Ok(Some(map))
        }
        _ => Ok(None),
    }
}

/// The value, copied only if something else still holds it.
pub(crate) fn owned(value: Arc<Value>) -> Value {
    Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone())
}

/// A field that is a literal, a JSONata expression, or (JSONPath) a path or an intrinsic:
/// `TimeoutSeconds`/`TimeoutSecondsPath`, Wait's `Seconds`/`Timestamp`, Fail's `Error`/`Cause`,
/// a Map's `MaxConcurrency`, `ToleratedFailure…`, `Items`/`ItemsPath`.
#[derive(Debug)]
pub(crate) enum Field {
    Absent,
    Literal(Value),
    Jsonata(jsonata::Template),
    /// The `…Path` field.
    Path(jsonpath::Expr),
}

impl Field {
    /// The field's value, if it is there; a path reads `input`, an expression `states`.
    pub(crate) fn evaluate(
        &self,
        ev: &Eval<'_>,
        input: &Value,
        states: &StatesView<'_>,
        name: &str,
    ) -> Result<Option<Value>, Failure> {
        Ok(Some(match self {
            Field::Absent => return Ok(None),
            Field::Literal(v) => v.clone(),
            Field::Jsonata(t) => ev.jsonata(t, states)?,
            // The service words a timeout or heartbeat path that selects nothing as it words
            // `InputPath`'s (both recorded in localstack's test_invalid_jsonpath snapshots).
            Field::Path(jsonpath::Expr::Path(path))
                if name == "TimeoutSeconds" || name == "HeartbeatSeconds" =>
            {
                ev.with_roots(input, |roots| {
                    path.select(roots).ok_or_else(|| path.not_found(roots))
                })?
            }
            Field::Path(p) => {
                ev.with_roots(input, |roots| p.evaluate(roots, &format!("{name}Path")))?
            }
        }))
    }

    /// A `…Path` field's path as written and what it selects from `input` (`None`: nothing);
    /// `None` for a field of another kind.
    pub(crate) fn select_path<'f>(
        &'f self,
        ev: &Eval<'_>,
        input: &Value,
    ) -> Result<Option<(&'f str, Option<Value>)>, Failure> {
        let Field::Path(expr) = self else {
            return Ok(None);
        };
        let selected = ev.with_roots(input, |roots| expr.select(roots))?;
        Ok(Some((expr.path_text().unwrap_or_default(), selected)))
    }

    /// A number field's value; anything but a number is an error of the state's language.
    pub(crate) fn number(
        &self,
        ev: &Eval<'_>,
        io: &Io,
        input: &Value,
        states: &StatesView<'_>,
        name: &str,
    ) -> Result<Option<f64>, Failure> {
        match self.evaluate(ev, input, states, name)? {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(io.type_error(format!(
                "The field '{name}' must be a number, found {other}"
            ))),
        }
    }
}

/// A value as the service prints it in a cause: a string without its quotes, anything else as
/// compact JSON.
pub(crate) fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => crate::history::text(other),
    }
}

/// The error of a JSONata field that must be a string.
pub(crate) fn not_a_string(name: &str, found: &Value) -> Failure {
    Failure::new(
        errors::QUERY_EVALUATION_ERROR,
        format!("The field '{name}' must be a string, found {found}"),
    )
}
