//! A state machine's graph for the console, laid out from the `asl` types: states in rows by
//! their distance from `StartAt`, the transitions between them (Next, a Choice's rules and
//! Default, Catchers), and the inner graphs of Map and Parallel states to drill into.

use std::collections::{HashMap, VecDeque};

use asl::{State, States};
use serde::Serialize;

/// Width of a state's box.
const WIDTH: u32 = 180;
/// Height of a state's box.
const HEIGHT: u32 = 40;
/// Space between boxes across.
const GAP_X: u32 = 30;
/// Space between rows.
const GAP_Y: u32 = 50;

/// One laid-out graph (the machine's, a Map's processor, or a Parallel branch).
#[derive(Debug, Serialize)]
pub struct Graph {
    /// The states, with their boxes.
    pub nodes: Vec<Node>,
    /// The transitions.
    pub edges: Vec<Edge>,
    /// The size of the drawing.
    pub width: u32,
    /// The size of the drawing.
    pub height: u32,
}

/// A state and its box.
#[derive(Debug, Serialize)]
pub struct Node {
    /// The state's name.
    pub name: String,
    /// Its type (`Task`, `Choice`, …).
    pub kind: &'static str,
    /// The first state.
    pub start: bool,
    /// It ends the graph (End, Succeed, Fail).
    pub end: bool,
    /// Its box's left edge.
    pub x: u32,
    /// Its box's top edge.
    pub y: u32,
    /// A Map's processor or a Parallel's branches.
    pub children: Vec<Child>,
}

/// An inner graph of a Map or Parallel state.
#[derive(Debug, Serialize)]
pub struct Child {
    /// `Iteration` or `Branch 1`, …
    pub label: String,
    /// The graph.
    pub graph: Graph,
}

/// A transition.
#[derive(Debug, Serialize)]
pub struct Edge {
    /// From this state.
    pub from: String,
    /// To this one.
    pub to: String,
    /// A Choice rule's condition, `Default`, or a Catcher's errors.
    pub label: Option<String>,
    /// A Catcher's transition (drawn dashed).
    pub catch: bool,
}

/// Lays out the states of one scope.
pub fn layout(start_at: &str, states: &States) -> Graph {
    let mut edges = Vec::new();
    for (name, state) in states {
        let mut add = |to: &str, label: Option<String>, catch: bool| {
            if states.contains_key(to) {
                edges.push(Edge {
                    from: name.clone(),
                    to: to.to_owned(),
                    label,
                    catch,
                });
            }
        };
        if let Some(next) = state.next() {
            add(next, None, false);
        }
        if let State::Choice(choice) = state {
            for rule in &choice.choices {
                if let Some(next) = rule.next.as_deref() {
                    add(next, Some(asl::mermaid::describe(rule)), false);
                }
            }
            if let Some(default) = choice.default.as_deref() {
                add(default, Some("Default".to_owned()), false);
            }
        }
        for catcher in state.catchers() {
            add(&catcher.next, Some(catcher.error_equals.join(", ")), true);
        }
    }
    // Rows by distance from the start; states it cannot reach go last.
    let mut row: HashMap<&str, u32> = HashMap::new();
    let mut queue = VecDeque::new();
    if states.contains_key(start_at) {
        row.insert(start_at, 0);
        queue.push_back(start_at);
    }
    let mut order = Vec::new();
    while let Some(name) = queue.pop_front() {
        order.push(name);
        let depth = row[name];
        for edge in edges.iter().filter(|e| e.from == name) {
            if !row.contains_key(edge.to.as_str()) {
                row.insert(edge.to.as_str(), depth + 1);
                queue.push_back(edge.to.as_str());
            }
        }
    }
    let last = row.values().max().map_or(0, |r| r + 1);
    for name in states.keys() {
        if !row.contains_key(name.as_str()) {
            row.insert(name.as_str(), last);
            order.push(name.as_str());
        }
    }
    let mut per_row: HashMap<u32, u32> = HashMap::new();
    for name in &order {
        *per_row.entry(row[name]).or_default() += 1;
    }
    let widest = per_row.values().copied().max().unwrap_or(1);
    let width = widest * (WIDTH + GAP_X) + GAP_X;
    let rows = per_row.keys().copied().max().map_or(0, |r| r + 1);
    let mut placed: HashMap<u32, u32> = HashMap::new();
    let nodes = order
        .iter()
        .map(|name| {
            let state = &states[*name];
            let r = row[name];
            let in_row = per_row[&r];
            let index = placed.entry(r).or_default();
            let offset = (width - in_row * (WIDTH + GAP_X) + GAP_X) / 2;
            let x = offset + *index * (WIDTH + GAP_X);
            *index += 1;
            Node {
                name: (*name).to_owned(),
                kind: state.type_name(),
                start: *name == start_at,
                end: state.end() == Some(true)
                    || matches!(state, State::Succeed(_) | State::Fail(_)),
                x,
                y: GAP_Y / 2 + r * (HEIGHT + GAP_Y),
                children: children(state),
            }
        })
        .collect();
    Graph {
        nodes,
        edges,
        width,
        height: rows * (HEIGHT + GAP_Y) + GAP_Y / 2,
    }
}

fn children(state: &State) -> Vec<Child> {
    match state {
        State::Map(map) => map
            .processor_states()
            .map(|(start, inner)| Child {
                label: "Iteration".to_owned(),
                graph: layout(start, inner),
            })
            .into_iter()
            .collect(),
        State::Parallel(parallel) => parallel
            .branches
            .iter()
            .enumerate()
            .map(|(i, branch)| Child {
                label: format!("Branch {}", i + 1),
                graph: layout(&branch.start_at, &branch.states),
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_follow_the_transitions_and_maps_have_inner_graphs() {
        let machine = asl::StateMachine::from_json(
            r#"{"StartAt": "A", "States": {
                "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": true, "Next": "B"}], "Default": "C"},
                "B": {"Type": "Map", "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "Next": "C"},
                "C": {"Type": "Succeed"}}}"#,
        )
        .unwrap();
        let graph = layout(&machine.start_at, &machine.states);
        let at = |n: &str| graph.nodes.iter().find(|x| x.name == n).unwrap();
        assert!(at("A").start && at("A").y < at("B").y);
        assert_eq!(at("B").y, at("C").y, "B and C are both one step from A");
        assert!(at("C").end);
        assert_eq!(at("B").children[0].graph.nodes[0].name, "I");
        assert_eq!(graph.edges.iter().filter(|e| e.from == "A").count(), 2);
        assert!(
            graph
                .edges
                .iter()
                .any(|e| e.label.as_deref() == Some("Default"))
        );
    }
}
