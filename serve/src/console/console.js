// The sfn-agent console: reads the Step Functions API this server speaks (the same calls the
// SDKs make) and draws the machines, their executions, an execution's graph with the path it
// took, each state's input, output and events, the event table, and an agent's conversation.
"use strict";

const POLL_MS = 1000;
let timer = null;
let selectedState = null;
// The Map iteration shown in each Map's inner graph, by the Map state's name ("" for all).
const selectedIteration = {};

async function api(action, body) {
  const response = await fetch("/", {
    method: "POST",
    headers: { "X-Amz-Target": "AWSStepFunctions." + action, "Content-Type": "application/x-amz-json-1.0" },
    body: JSON.stringify(body || {}),
  });
  const json = await response.json();
  if (!response.ok) throw new Error((json.__type || "").split("#").pop() + ": " + json.message);
  return json;
}

// An element with attributes and children (strings become text: nothing is parsed as HTML).
function el(tag, attrs, ...children) {
  const svg = ["svg", "g", "rect", "text", "path", "defs", "marker", "line"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(typeof child === "string" || typeof child === "number" ? String(child) : child);
  }
  return node;
}

function parse(text) {
  if (typeof text !== "string") return text;
  try { return JSON.parse(text); } catch { return text; }
}

function pretty(value) {
  const parsed = parse(value);
  return typeof parsed === "string" ? parsed : JSON.stringify(parsed, null, 2);
}

function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  return { machine: params.get("machine"), execution: params.get("execution") };
}

function machineOf(executionArn) {
  const parts = executionArn.split(":");
  return parts.slice(0, 5).join(":") + ":stateMachine:" + parts[6];
}

async function allEvents(executionArn) {
  const events = [];
  let nextToken;
  do {
    const page = await api("GetExecutionHistory", { executionArn, maxResults: 1000, nextToken });
    events.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

// What the history says of each state: its status, its events, its input and output.
function statesOf(events) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const stateOf = new Map();
  const states = new Map();
  const state = (name) => {
    if (!states.has(name)) states.set(name, { status: "running", events: [], inputs: [], outputs: [] });
    return states.get(name);
  };
  for (const event of events) {
    const entered = event.stateEnteredEventDetails;
    const exited = event.stateExitedEventDetails;
    let name = entered ? entered.name : exited ? exited.name : stateOf.get(event.previousEventId);
    if (entered) {
      // A state entered right after one that failed: the failure was caught.
      const from = stateOf.get(event.previousEventId);
      if (from !== undefined && from !== name && states.get(from).status === "failed") states.get(from).status = "caught";
      const s = state(name);
      if (s.status !== "failed" && s.status !== "caught") s.status = "running";
      s.inputs.push(entered.input);
    }
    if (name === undefined) continue;
    stateOf.set(event.id, name);
    const s = state(name);
    s.events.push(event);
    const details = Object.entries(event).find(([k]) => k.endsWith("EventDetails"));
    const failed = details && details[1] && details[1].error !== undefined && !event.type.startsWith("Execution");
    if (failed) s.status = "failed";
    if (event.type === "ExecutionFailed" || event.type === "ExecutionTimedOut" || event.type === "ExecutionAborted") {
      s.status = event.type === "ExecutionAborted" ? "running" : "failed";
    }
    if (exited) {
      s.outputs.push(exited.output);
      s.status = s.status === "failed" ? "caught" : "succeeded";
    }
  }
  return { states, stateOf, byId };
}

// Each event's Map iteration: `{map, index, parent}` (the iteration it runs in, if any),
// followed along previousEventId from the MapIterationStarted event that opened it.
function iterationsOf(events) {
  const byId = new Map(events.map((e) => [e.id, e]));
  const iterOf = new Map();
  for (const event of events) {
    const previous = byId.get(event.previousEventId);
    let outer = iterOf.get(event.previousEventId) || null;
    if (previous && /^MapIteration(Succeeded|Failed|Aborted)$/.test(previous.type) && outer) outer = outer.parent;
    const started = event.mapIterationStartedEventDetails;
    iterOf.set(event.id, started ? { map: started.name, index: started.index, parent: outer } : outer);
  }
  return iterOf;
}

// The events of one iteration of a Map (those whose iterations include it).
function eventsOfIteration(events, iterOf, map, index) {
  return events.filter((e) => {
    for (let it = iterOf.get(e.id); it; it = it.parent) if (it.map === map && it.index === index) return true;
    return false;
  });
}

function drawGraph(graph, states, title) {
  const svg = el("svg", { width: graph.width, height: graph.height, viewBox: `0 0 ${graph.width} ${graph.height}`, class: "graph" });
  svg.append(el("defs", {}, el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" },
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#879596" }))));
  const at = new Map(graph.nodes.map((n) => [n.name, n]));
  for (const edge of graph.edges) {
    const a = at.get(edge.from), b = at.get(edge.to);
    if (!a || !b) continue;
    const x1 = a.x + 90, y1 = a.y + 40, x2 = b.x + 90;
    const back = b.y <= a.y;
    const y2 = back ? b.y + 20 : b.y;
    const d = back
      ? `M ${a.x + 180} ${a.y + 20} C ${a.x + 240} ${a.y + 20}, ${b.x + 240} ${b.y + 20}, ${b.x + 180} ${b.y + 20}`
      : `M ${x1} ${y1} C ${x1} ${y1 + 25}, ${x2} ${y2 - 25}, ${x2} ${y2}`;
    const taken = states.get(edge.from) && states.get(edge.to) && !edge.catch;
    svg.append(el("path", { d, class: "edge" + (edge.catch ? " catch" : "") + (taken ? " taken" : "") }));
    if (edge.label) {
      const label = edge.label.length > 28 ? edge.label.slice(0, 27) + "…" : edge.label;
      svg.append(el("text", { x: (x1 + x2) / 2 + 4, y: back ? b.y + 14 : (y1 + y2) / 2, class: "label" }, label));
    }
  }
  for (const node of graph.nodes) {
    const s = states.get(node.name);
    const status = s ? s.status : "not-run";
    const group = el("g", {
      class: "node" + (selectedState === node.name ? " selected" : ""), "data-state": node.name, "data-status": status,
      onclick: () => { selectedState = node.name; render(); },
    },
    el("rect", { x: node.x, y: node.y, width: 180, height: 40 }),
    el("text", { x: node.x + 8, y: node.y + 17 }, node.name.length > 24 ? node.name.slice(0, 23) + "…" : node.name),
    el("text", { x: node.x + 8, y: node.y + 32, class: "kind" }, node.kind + (node.children.length ? " ▸ " + node.children.map((c) => c.label).join(", ") : "")));
    group.append(el("title", {}, `${node.name} (${node.kind}): ${status}`));
    svg.append(group);
  }
  return el("div", { class: "graph-box" }, title ? el("h3", {}, title) : null, svg);
}

// The graphs of Map iterations and Parallel branches, drawn beside; a Map's can show one
// iteration at a time.
function innerGraphs(graph, states, events) {
  const iterOf = iterationsOf(events);
  const found = [];
  const visit = (g) => {
    for (const node of g.nodes) {
      for (const child of node.children) {
        let shown = states;
        let picker = null;
        if (node.kind === "Map") {
          const count = events.filter((e) => e.mapIterationStartedEventDetails && e.mapIterationStartedEventDetails.name === node.name).length;
          const chosen = selectedIteration[node.name] ?? "";
          picker = el("select", { class: "iteration", "data-map": node.name, onchange: (e) => { selectedIteration[node.name] = e.target.value; render(); } },
            el("option", { value: "" }, `all ${count} iterations`),
            Array.from({ length: count }, (_, i) => el("option", { value: String(i), selected: String(i) === chosen ? "selected" : null }, `iteration ${i}`)));
          if (chosen !== "") shown = statesOf(eventsOfIteration(events, iterOf, node.name, Number(chosen))).states;
        }
        const box = drawGraph(child.graph, shown, `${node.name} · ${child.label}`);
        if (picker) box.insertBefore(picker, box.children[1]);
        found.push(box);
        visit(child.graph);
      }
    }
  };
  visit(graph);
  return found;
}

function legend() {
  const item = (label, color) => el("span", {}, el("i", { style: `border-color:${color}` }), label);
  return el("p", { class: "legend" }, item("succeeded", "#1d8102"), item("failed", "#d13212"), item("caught", "#c47f00"), item("running", "#0073bb"), item("not run", "#879596"));
}

function statePanel(states) {
  if (!selectedState) return el("section", { id: "state" }, el("h2", {}, "State"), el("p", { class: "hint" }, "Select a state in the graph."));
  const s = states.get(selectedState);
  if (!s) return el("section", { id: "state" }, el("h2", {}, selectedState), el("p", { class: "hint" }, "This execution did not enter it."));
  return el("section", { id: "state", "data-state": selectedState },
    el("h2", {}, selectedState, " ", el("span", { class: "status " + s.status.toUpperCase() }, s.status)),
    el("h3", {}, "Input"), el("pre", { class: "input" }, pretty(s.inputs[s.inputs.length - 1] ?? "")),
    el("h3", {}, "Output"), el("pre", { class: "output" }, pretty(s.outputs[s.outputs.length - 1] ?? "")),
    el("h3", {}, `Events (${s.events.length})`), eventTable(s.events, new Map()));
}

function details(event) {
  const entry = Object.entries(event).find(([k]) => k.endsWith("EventDetails"));
  return entry ? JSON.stringify(entry[1]) : "";
}

function eventTable(events, stateOf, start) {
  const first = start ?? (events[0] ? events[0].timestamp : 0);
  return el("table", { class: "events" },
    el("thead", {}, el("tr", {}, el("th", {}, "ID"), el("th", {}, "Type"), el("th", {}, "State"), el("th", {}, "Elapsed (ms)"), el("th", {}, "Details"))),
    el("tbody", {}, events.map((e) => el("tr", { "data-type": e.type },
      el("td", {}, e.id), el("td", {}, e.type), el("td", {}, stateOf.get(e.id) ?? ""),
      el("td", {}, Math.round((e.timestamp - first) * 1000)),
      el("td", { class: "details" }, details(e).slice(0, 400))))));
}

// The task a TaskSucceeded/TaskFailed answers: back along previousEventId to its TaskScheduled.
function scheduledOf(event, byId) {
  let current = event;
  for (let i = 0; current && i < 5; i++) {
    if (current.type === "TaskScheduled") return current;
    current = byId.get(current.previousEventId);
  }
  return null;
}

// The agent's conversation: the question, each model turn with its tool calls, their results.
function conversation(execution, events, byId) {
  const input = parse(execution.input) || {};
  if (typeof input !== "object" || !input.question) return null;
  const results = new Map();
  for (const event of events) {
    const done = event.taskSucceededEventDetails || event.taskFailedEventDetails;
    if (!done) continue;
    const scheduled = scheduledOf(event, byId);
    if (scheduled) results.set(scheduled.id, { ok: !!event.taskSucceededEventDetails, value: parse(done.output ?? done.cause) });
  }
  const section = el("section", { id: "conversation" }, el("h2", {}, "Conversation"),
    el("div", { class: "turn question" }, el("div", { class: "meta" }, "Question"), input.question));
  let turns = 0;
  const calls = new Map();
  for (const event of events) {
    const scheduled = event.taskScheduledEventDetails;
    if (!scheduled) continue;
    const parameters = parse(scheduled.parameters) || {};
    const payload = parameters.Payload || {};
    const detail = parameters.Entries ? parameters.Entries[0].Detail : parse(parameters.MessageBody ?? parameters.Message);
    if (payload.agent && payload.conversation_id !== undefined) {
      const result = results.get(event.id);
      const response = result && result.ok ? (result.value.Payload || result.value) : null;
      turns += 1;
      const turn = el("div", { class: "turn model", "data-turn": turns }, el("div", { class: "meta" }, `Model turn ${turns}`));
      if (!result) turn.append(el("p", { class: "hint" }, "waiting for the model…"));
      else if (!result.ok) turn.append(el("pre", { class: "error" }, pretty(result.value)));
      else {
        if (response.text) turn.append(el("p", { class: "text" }, response.text));
        for (const call of response.tool_calls || []) {
          const box = el("div", { class: "tool-call", "data-tool": call.name }, el("strong", {}, call.name), el("pre", { class: "tool-input" }, pretty(call.input)));
          calls.set(call.id, box);
          turn.append(box);
        }
        const u = response.usage || {};
        turn.append(el("div", { class: "meta usage" }, `${u.input_tokens ?? 0} input tokens · ${u.output_tokens ?? 0} output tokens · $${(u.estimated_cost_usd ?? 0).toFixed(4)}`));
      }
      section.append(turn);
    } else if (payload.id && payload.name && payload.input !== undefined) {
      const result = results.get(event.id);
      const box = calls.get(payload.id);
      if (box) {
        const value = result ? (result.ok ? (result.value.Payload || result.value) : result.value) : null;
        const failed = !result || !result.ok || value.is_error;
        if (result && failed) box.classList.add("error");
        box.append(el("div", { class: "meta" }, result ? (failed ? "error result" : "result") : "running…"),
          result ? el("pre", { class: "tool-result" }, pretty(value.content ?? value)) : null);
      }
    } else if (detail && detail.token && detail.kind) {
      const answered = results.has(event.id);
      const box = calls.get(detail.tool_use_id) || section;
      box.append(el("div", { class: "waiting", "data-kind": detail.kind },
        `${detail.kind === "approval" ? "Approval" : "Question"}: ${detail.summary || detail.tool}`,
        answered ? " (answered)" : el("div", { class: "meta" }, "waiting · answer with SendTaskSuccess / SendTaskFailure, token ", el("code", {}, detail.token))));
    }
  }
  const output = parse(execution.output);
  if (output && output.answer !== undefined) {
    const u = output.usage || {};
    section.append(el("div", { class: "turn answer" }, el("div", { class: "meta" }, "Answer"), output.answer,
      el("div", { class: "meta" }, `${output.iterations} iterations · ${u.input_tokens ?? 0} + ${u.output_tokens ?? 0} tokens · $${(u.estimated_cost_usd ?? 0).toFixed(4)}`)));
  }
  return section;
}

async function showMachines(current) {
  const { stateMachines } = await api("ListStateMachines", { maxResults: 1000 });
  document.getElementById("machines").replaceChildren(...stateMachines.map((m) =>
    el("li", {}, el("a", { href: "#machine=" + encodeURIComponent(m.stateMachineArn), class: m.stateMachineArn === current ? "selected" : null }, m.name))));
}

async function showExecutions(machine, current) {
  const list = document.getElementById("executions");
  document.getElementById("executions-title").hidden = !machine;
  if (!machine) return list.replaceChildren();
  const { executions } = await api("ListExecutions", { stateMachineArn: machine, maxResults: 100 });
  list.replaceChildren(...executions.map((e) =>
    el("li", {}, el("a", { href: "#execution=" + encodeURIComponent(e.executionArn), class: e.executionArn === current ? "selected" : null, title: e.name },
      el("span", { class: "status " + e.status }, e.status), " ", e.name))));
}

async function showExecution(arn) {
  const execution = await api("DescribeExecution", { executionArn: arn });
  const events = await allEvents(arn);
  const name = execution.stateMachineArn.split(":").pop();
  const graph = await (await fetch("/console/graph/" + encodeURIComponent(name))).json();
  const { states, stateOf, byId } = statesOf(events);
  const facts = el("dl", { class: "facts" },
    el("dt", {}, "Execution"), el("dd", {}, execution.executionArn),
    el("dt", {}, "Started"), el("dd", {}, when(execution.startDate)),
    el("dt", {}, "Ended"), el("dd", {}, when(execution.stopDate)),
    execution.error ? [el("dt", {}, "Error"), el("dd", { class: "error" }, execution.error)] : null,
    execution.cause ? [el("dt", {}, "Cause"), el("dd", {}, execution.cause)] : null);
  return [
    el("section", { id: "summary", "data-status": execution.status },
      el("h2", {}, execution.name, " ", el("span", { class: "status " + execution.status, id: "execution-status" }, execution.status)), facts,
      el("h3", {}, "Input"), el("pre", {}, pretty(execution.input)),
      execution.output !== undefined ? [el("h3", {}, "Output"), el("pre", { id: "execution-output" }, pretty(execution.output))] : null),
    el("section", { id: "graph" }, el("h2", {}, "Graph"), legend(),
      el("div", { class: "graphs" }, drawGraph(graph, states), innerGraphs(graph, states, events))),
    statePanel(states),
    conversation(execution, events, byId),
    el("section", { id: "history" }, el("h2", {}, `Events (${events.length})`), eventTable(events, stateOf)),
  ].filter(Boolean);
}

async function render() {
  clearTimeout(timer);
  const { machine, execution } = route();
  const main = document.getElementById("main");
  try {
    const currentMachine = machine || (execution ? machineOf(execution) : null);
    await showMachines(currentMachine);
    await showExecutions(currentMachine, execution);
    if (execution) {
      main.replaceChildren(...(await showExecution(execution)));
      const status = document.getElementById("execution-status").textContent;
      main.dataset.loaded = status;
      if (status === "RUNNING") timer = setTimeout(render, POLL_MS);
    } else {
      main.replaceChildren(el("p", { class: "hint" }, machine ? "Choose an execution." : "Choose a state machine, then one of its executions."));
      timer = setTimeout(render, POLL_MS * 3);
    }
    document.getElementById("refreshed").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    main.replaceChildren(el("section", { class: "error" }, el("h2", {}, "Error"), String(error.message || error)));
  }
}

window.addEventListener("hashchange", () => { selectedState = null; render(); });
render();
