//! Error names the state machine matches in Retry and Catch, defined once.
//!
//! Lambdas raise these as their error type (the `errorType` of a Lambda error), and the ASL
//! matches them by name, so a name changed here changes both sides at once.

/// The agent used all its iterations without a final answer.
pub const AGENT_MAX_ITERATIONS: &str = "Agent.MaxIterations";
/// The execution input has no usable question.
pub const AGENT_INVALID_INPUT: &str = "Agent.InvalidInput";

/// The provider said 429: too many requests. Retryable.
pub const LLM_RATE_LIMITED: &str = "LLM.RateLimited";
/// The provider is overloaded (529, 503). Retryable.
pub const LLM_OVERLOADED: &str = "LLM.Overloaded";
/// The provider did not answer in time. Retryable.
pub const LLM_TIMEOUT: &str = "LLM.Timeout";
/// The provider failed (other 5xx). Retryable.
pub const LLM_SERVER_ERROR: &str = "LLM.ServerError";
/// The provider refused the request as malformed (400). Not retryable.
pub const LLM_BAD_REQUEST: &str = "LLM.BadRequest";
/// The API key is missing, wrong or not allowed (401, 403). Not retryable.
pub const LLM_AUTH_FAILED: &str = "LLM.AuthFailed";
/// The conversation no longer fits the model's context window. Not retryable.
pub const LLM_CONTEXT_TOO_LONG: &str = "LLM.ContextTooLong";
/// Another execution wrote the same conversation turn first. Retryable: the next attempt
/// reloads the history.
pub const CONVERSATION_CONFLICT: &str = "Conversation.Conflict";

/// The conversation store failed for another reason than a conflict (table missing, access
/// denied, throttled beyond the SDK's retries, an item over DynamoDB's size limit). Not retried by
/// default: the cause says what to fix.
pub const CONVERSATION_STORE_FAILED: &str = "Conversation.StoreFailed";
/// The agent's final answer did not match its output schema, even after the model was shown the
/// errors once. Not retryable.
pub const AGENT_INVALID_OUTPUT: &str = "Agent.InvalidOutput";
/// The agent's configuration cannot be used: a tool's input schema or the output schema is not a
/// valid JSON Schema. Not retryable.
pub const AGENT_INVALID_CONFIG: &str = "Agent.InvalidConfig";

/// The LLM Lambda's errors that a retry can cure.
pub const LLM_RETRYABLE: &[&str] = &[
    LLM_RATE_LIMITED,
    LLM_OVERLOADED,
    LLM_TIMEOUT,
    LLM_SERVER_ERROR,
    CONVERSATION_CONFLICT,
];

/// The Lambda service's own transient errors, which AWS recommends retrying on every Lambda task.
pub const LAMBDA_TRANSIENT: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];
