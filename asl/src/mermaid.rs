//! A machine drawn as a Mermaid flowchart, read the way the Step Functions console's graph is.
//!
//! Start and End are circles; each state is a node labelled with its name and type (Choice a
//! diamond, Succeed and Fail rounded, Task a box); `Next` edges are plain, Choice rules are
//! labelled with their comment or condition (shortened) and `Default` with "Default"; Catch edges are
//! dashed and labelled with the errors they catch. A Map's processor is a subgraph, and a
//! Parallel is a subgraph holding one subgraph per branch; edges to and from them attach to the
//! subgraph. A transition to a state that does not exist is left out: validate first.

use std::collections::HashMap;
use std::fmt::Write;

use serde_json::Value;

use crate::model::{ChoiceRule, State, StateMachine, States};

/// Longest label on a Choice edge before it is cut with `…`.
const MAX_EDGE_LABEL: usize = 40;

/// Renders a machine as a Mermaid `flowchart TD`.
pub fn render(machine: &StateMachine) -> String {
    let mut renderer = Renderer::default();
    renderer.line(0, "flowchart TD");
    renderer.line(1, "start((Start))");
    let ids = renderer.scope(1, &machine.states);
    if let Some(first) = ids.get(machine.start_at.as_str()) {
        renderer.edges.push(format!("start --> {first}"));
    }
    renderer.scope_edges(&machine.states, &ids, true);
    renderer.line(1, "finish((End))");
    let edges = std::mem::take(&mut renderer.edges);
    for edge in edges {
        renderer.line(1, &edge);
    }
    renderer.out
}

#[derive(Default)]
struct Renderer {
    out: String,
    edges: Vec<String>,
    next_id: usize,
}

impl Renderer {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{}{text}", "    ".repeat(indent));
    }

    fn id(&mut self) -> String {
        let id = format!("s{}", self.next_id);
        self.next_id += 1;
        id
    }

    /// Declares a scope's states (and nested scopes) and returns their ids by name.
    fn scope<'a>(&mut self, indent: usize, states: &'a States) -> HashMap<&'a str, String> {
        let mut ids = HashMap::new();
        for (name, state) in states {
            let id = self.id();
            let label = escape(&format!("{name} ({})", state.type_name()));
            match state {
                State::Map(map) => {
                    self.line(indent, &format!("subgraph {id} [\"{label}\"]"));
                    self.line(indent + 1, "direction TB");
                    if let Some((start, inner)) = map.processor_states() {
                        let inner_ids = self.scope(indent + 1, inner);
                        self.entry(indent + 1, &id, start, &inner_ids);
                        self.scope_edges(inner, &inner_ids, false);
                    }
                    self.line(indent, "end");
                }
                State::Parallel(parallel) => {
                    self.line(indent, &format!("subgraph {id} [\"{label}\"]"));
                    self.line(indent + 1, "direction TB");
                    for (i, branch) in parallel.branches.iter().enumerate() {
                        let branch_id = format!("{id}_b{}", i + 1);
                        self.line(
                            indent + 1,
                            &format!("subgraph {branch_id} [\"Branch {}\"]", i + 1),
                        );
                        let inner_ids = self.scope(indent + 2, &branch.states);
                        self.entry(indent + 2, &branch_id, &branch.start_at, &inner_ids);
                        self.scope_edges(&branch.states, &inner_ids, false);
                        self.line(indent + 1, "end");
                    }
                    self.line(indent, "end");
                }
                State::Choice(_) => self.line(indent, &format!("{id}{{\"{label}\"}}")),
                State::Succeed(_) | State::Fail(_) => {
                    self.line(indent, &format!("{id}([\"{label}\"])"))
                }
                State::Pass(_) | State::Wait(_) => self.line(indent, &format!("{id}(\"{label}\")")),
                State::Task(_) => self.line(indent, &format!("{id}[\"{label}\"]")),
            }
            ids.insert(name.as_str(), id);
        }
        ids
    }

    /// Marks where a nested scope starts: a small empty circle inside its subgraph.
    fn entry(
        &mut self,
        indent: usize,
        scope_id: &str,
        start_at: &str,
        ids: &HashMap<&str, String>,
    ) {
        if let Some(first) = ids.get(start_at) {
            self.line(indent, &format!("{scope_id}_start((\" \"))"));
            self.edges.push(format!("{scope_id}_start --> {first}"));
        }
    }

    /// The edges between the states of one scope; `top` adds the edges to End.
    fn scope_edges(&mut self, states: &States, ids: &HashMap<&str, String>, top: bool) {
        for (name, state) in states {
            let Some(from) = ids.get(name.as_str()) else {
                continue;
            };
            if let Some(next) = state.next().and_then(|n| ids.get(n)) {
                self.edges.push(format!("{from} --> {next}"));
            }
            if let State::Choice(choice) = state {
                for rule in &choice.choices {
                    if let Some(to) = rule.next.as_deref().and_then(|n| ids.get(n)) {
                        let label = escape(&shorten(&describe(rule)));
                        self.edges.push(format!("{from} -->|\"{label}\"| {to}"));
                    }
                }
                if let Some(to) = choice.default.as_deref().and_then(|n| ids.get(n)) {
                    self.edges.push(format!("{from} -->|\"Default\"| {to}"));
                }
            }
            for catcher in state.catchers() {
                if let Some(to) = ids.get(catcher.next.as_str()) {
                    let label = escape(&shorten(&catcher.error_equals.join(", ")));
                    self.edges.push(format!("{from} -.->|\"{label}\"| {to}"));
                }
            }
            let ends =
                state.end() == Some(true) || matches!(state, State::Succeed(_) | State::Fail(_));
            if top && ends {
                self.edges.push(format!("{from} --> finish"));
            }
        }
    }
}

/// A Choice rule in a few words: its `Comment` when it has one (the author's own words read
/// better than a shortened expression), else `$.status == "done"`, `$.n > 10 and $.ok == true`,
/// or the JSONata condition without its `{% %}`.
pub fn describe(rule: &ChoiceRule) -> String {
    if let Some(comment) = rule.comment.as_deref().filter(|c| !c.trim().is_empty()) {
        return comment.trim().to_owned();
    }
    if let Some(condition) = &rule.condition {
        let inner = condition.trim();
        let inner = inner.strip_prefix("{%").unwrap_or(inner);
        let inner = inner.strip_suffix("%}").unwrap_or(inner);
        return inner.trim().to_owned();
    }
    let mut parts = Vec::new();
    let variable = rule.variable.as_deref().unwrap_or("?");
    for comparison in &rule.comparisons {
        parts.push(comparison_text(
            variable,
            &comparison.operator,
            &comparison.value,
        ));
    }
    for (word, rules) in [("and", &rule.and), ("or", &rule.or)] {
        if let Some(rules) = rules {
            let inner: Vec<String> = rules.iter().map(|r| format!("({})", describe(r))).collect();
            parts.push(inner.join(&format!(" {word} ")));
        }
    }
    if let Some(inner) = &rule.not {
        parts.push(format!("not ({})", describe(inner)));
    }
    parts.join(" and ")
}

fn comparison_text(variable: &str, operator: &str, value: &Value) -> String {
    let base = operator.strip_suffix("Path").unwrap_or(operator);
    let is_path = base.len() != operator.len();
    let shown = match value {
        Value::String(s) if is_path => s.clone(),
        other => other.to_string(),
    };
    let test = |positive: &str, negative: &str| match value {
        Value::Bool(false) => format!("{variable} {negative}"),
        _ => format!("{variable} {positive}"),
    };
    match base {
        "IsPresent" => test("is present", "is absent"),
        "IsNull" => test("is null", "is not null"),
        "IsNumeric" => test("is a number", "is not a number"),
        "IsString" => test("is a string", "is not a string"),
        "IsBoolean" => test("is a boolean", "is not a boolean"),
        "IsTimestamp" => test("is a timestamp", "is not a timestamp"),
        "StringMatches" => format!("{variable} matches {shown}"),
        _ => {
            let symbol = if base.ends_with("GreaterThanEquals") {
                ">="
            } else if base.ends_with("LessThanEquals") {
                "<="
            } else if base.ends_with("GreaterThan") {
                ">"
            } else if base.ends_with("LessThan") {
                "<"
            } else {
                "=="
            };
            format!("{variable} {symbol} {shown}")
        }
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= MAX_EDGE_LABEL {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX_EDGE_LABEL - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Escapes a label for a quoted Mermaid string: quotes, angle brackets, `#`, `&`, newlines.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_mermaid_reads_as_syntax() {
        assert_eq!(
            escape("Say \"hi\" <now> #1 & more"),
            "Say #quot;hi#quot; #lt;now#gt; #35;1 #amp; more"
        );
    }

    #[test]
    fn long_labels_are_cut() {
        let label = shorten(&"a".repeat(60));
        assert_eq!(label.chars().count(), MAX_EDGE_LABEL);
        assert!(label.ends_with('…'));
    }
}
