//! The engine's limits, in one place: the service's own quotas where it has one, and the
//! bounds that keep hostile definitions and inputs from exhausting the stack, the memory or the
//! time of the process (each says where its number comes from).
//!
//! An input past a limit ends in a named error (a failed state or execution), never a panic,
//! an abort or a hang.

/// The most events an execution's history holds. The service's hard quota: "AWS Step
/// Functions has a hard quota of 25,000 entries in the execution event history. When an
/// execution reaches 24,999 events, it waits for the next event to happen. If the event number
/// 25,000 is ExecutionSucceeded, the execution finishes successfully. If \[it\] isn't
/// ExecutionSucceeded, the ExecutionFailed event is logged" (developer guide, "Avoid reaching
/// the history quota", `bp-history-limit.html`). It is what bounds an endless loop, a task
/// retried without end and a loop that grows its payload.
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The cause of the execution's failure at [`MAX_HISTORY_EVENTS`], with the error
/// `States.Runtime`: the service's own output, as users report it (for example
/// github.com/loads/ardere issue 86: `{"error": "States.Runtime", "cause": "The execution
/// reached the maximum number of history events (25000)."}`).
pub const HISTORY_LIMIT_CAUSE: &str =
    "The execution reached the maximum number of history events (25000).";

/// The deepest an intrinsic function call may nest (`States.Array(States.Array(…))`). The
/// parser and evaluator recurse once per level; the service documents no depth, and real
/// definitions nest two or three calls, so 64 leaves room and stays far from the stack's end.
pub const MAX_INTRINSIC_DEPTH: usize = 64;

/// The most operators, parentheses and `!` a JSONPath filter (`[?(…)]`) may hold. Its parser
/// and evaluator recurse once per level (a chain of `&&` is a tree as deep as it is long), and
/// 10,000 nested parentheses overflowed the stack; real filters have a handful of terms.
pub const MAX_FILTER_TERMS: usize = 256;

/// The deepest a JSON payload (a state's input or output, the execution's input) may nest.
/// Values are walked, copied, converted for JSONata, printed and dropped recursively, so a
/// loop that wraps its input in one more object each time overflowed the stack (a debug
/// build's conversion for JSONata takes 2 KB a level, and a Map iteration's thread has 2 MiB).
/// The service's own number is not documented (Jackson, the JVM's JSON library, refuses more
/// than 1,000 by default); serde_json, which reads the execution input and the Lambdas'
/// answers here, refuses more than 128 by default, and states may build twice that.
pub const MAX_PAYLOAD_DEPTH: usize = 256;

/// How deep a JSONata expression may be, counted by the JSONata module's pre-scan: each
/// operator, unary minus and opening bracket counts one (an upper bound of the depth of the
/// expression's tree). The library parses and drops expressions recursively (`jsonata-rs`, the
/// library before, evaluated recursively too), and a chain of 2,000
/// `+`, or 1,000 unary minuses, overflowed the stack. Expressions up to
/// [`JSONATA_INLINE_DEPTH`] run on the caller's stack, deeper ones on a thread with a stack
/// of [`JSONATA_DEEP_STACK_BYTES`], and past this one the state fails with
/// `States.QueryEvaluationError`. Real expressions have a few dozen operators.
pub const MAX_JSONATA_DEPTH: usize = 400;

/// The deepest `(`, `[` and `{` may nest in a JSONata expression (outside string literals):
/// the library's parser recursed into a stack overflow some hundreds deep.
pub const MAX_JSONATA_NESTING: usize = 128;

/// The deepest a JSONata expression may be, by [`MAX_JSONATA_DEPTH`]'s count, to run on the
/// caller's stack: a Map iteration runs on a worker thread of tokio (2 MiB of stack), where
/// the library's parser in a debug build needs some kilobytes a level.
pub const JSONATA_INLINE_DEPTH: usize = 48;

/// The stack of the thread that evaluates a JSONata expression deeper than
/// [`JSONATA_INLINE_DEPTH`] (the memory is reserved, and only what is used is committed).
pub const JSONATA_DEEP_STACK_BYTES: usize = 256 * 1024 * 1024;

/// The longest a regular expression of a JSONPath filter (`=~ /…/`) may be, and the most
/// memory its compiled form may take: matching runs in time linear in the text (the `regex`
/// crate), and these bound the pattern's side.
pub const MAX_REGEX_PATTERN_BYTES: usize = 10_000;

/// See [`MAX_REGEX_PATTERN_BYTES`].
pub const MAX_REGEX_COMPILED_BYTES: usize = 1024 * 1024;

/// The most items (after `MaxItems`) a distributed Map runs locally; past it the Map Run fails
/// with `States.ItemReaderFailed`, naming the limit. The service runs up to 100,000,000
/// (`MaxItems`' own maximum, developer guide "ReaderConfig"), as child executions it keeps in
/// its own storage; the engine keeps each child's result in memory, so it bounds them.
pub const MAX_MAP_RUN_ITEMS: usize = 100_000;

/// The most bytes of header names and values the CSV rows of one `ItemReader` may add up to.
/// Each row is an object keyed by every header, so a first row of a million short headers over
/// many short rows would build far more than the file holds; past this the read fails with
/// `States.ItemReaderFailed`. Four times the largest object read (64 MiB).
pub const MAX_CSV_ITEMS_BYTES: usize = 256 * 1024 * 1024;

/// The most child executions one execution starts, counting those of nested Map Runs (a child
/// whose own distributed Map starts children): past it the Map Run that asks for one more fails
/// with `States.Runtime`, naming the limit. A Map Run is bounded by [`MAX_MAP_RUN_ITEMS`], but
/// a Map Run in each of its children would multiply them (the service bills and runs each); a
/// local run of this many children takes seconds.
pub const MAX_CHILD_EXECUTIONS: usize = 100_000;

/// How many child executions of one Map Run the engine runs at once. The service's default
/// `MaxConcurrency` for a distributed Map is 10,000 (developer guide: "MaxConcurrency";
/// `0` means that default); locally they share the process's threads, so at most this many
/// run at once, fewer when `MaxConcurrency` says so.
pub const MAX_LOCAL_CHILD_CONCURRENCY: usize = 64;

/// How many child executions of one execution (nested Map Runs included) keep their whole
/// record (history included) in [`crate::Execution::map_runs`]; past it only their first and
/// last events are kept. A Map Run over 100,000 items would otherwise hold 100,000 histories.
pub const MAX_KEPT_CHILD_EXECUTIONS: usize = 1_000;

/// How many bytes of JSON text the inputs and outputs of one execution's child executions
/// (nested ones included) may add up to: their records hold them (a `ResultWriter` writes them
/// all), and 100,000 children of 256 KB each would otherwise hold 25 GB. Past it the Map Run
/// that ran the child fails with `States.Runtime`, naming the limit.
pub const MAX_CHILD_EXECUTION_BYTES: usize = 256 * 1024 * 1024;
