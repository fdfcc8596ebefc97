//! Task resources → handlers: Lambda functions by name, ARN or `${Placeholder}` (in-process,
//! or through a Lambda emulator's Invoke API), and any other resource by its exact ARN.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, OnceLock};

use serde_json::{Value, json};

use chrono::{DateTime, Utc};

use crate::errors::{
    Failure, LAMBDA_RESOURCE_NOT_FOUND, LAMBDA_SERVICE_EXCEPTION, RUNTIME, serialized_len,
};
use crate::limits::MAX_PAYLOAD_DEPTH;

/// An error a handler returns: for a Lambda, its `errorType` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    /// The error name that Retry and Catch match (a Lambda's `errorType`).
    pub error: String,
    /// What went wrong (a Lambda's `errorMessage`, which the engine wraps in the error object
    /// the service shows, or that whole object as the runtime sends it, kept as it is; for a
    /// `Lambda.*` or `States.*` error, the service's text).
    pub cause: String,
}

impl From<TaskError> for Failure {
    fn from(e: TaskError) -> Self {
        Failure::new(e.error, e.cause)
    }
}

impl TaskError {
    /// An error with this name and message.
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }
}

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for TaskError {}

/// The code behind a Task: a Lambda function's handler, or any resource's.
///
/// The payload is shared with the execution, whose history shows it: a handler that only
/// reads it (`payload["id"]`, `T::deserialize(&*payload)`) costs no copy, and one that needs
/// to own it takes one with `Arc::unwrap_or_clone(payload)`. A real Lambda gets its own copy
/// of the payload too, so nothing a handler does can change the execution's data.
#[async_trait::async_trait]
pub trait LambdaHandler: Send + Sync {
    /// Runs with the task's payload and returns its result or its error.
    async fn invoke(&self, payload: Arc<Value>) -> Result<Value, TaskError>;
}

struct FnHandler<F>(F);

#[async_trait::async_trait]
impl<F, Fut> LambdaHandler for FnHandler<F>
where
    F: Fn(Arc<Value>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send,
{
    async fn invoke(&self, payload: Arc<Value>) -> Result<Value, TaskError> {
        (self.0)(payload).await
    }
}

/// Makes a handler of an async closure:
/// `handler_fn(|payload| async move { Ok(json!({"id": payload["id"]})) })`.
pub fn handler_fn<F, Fut>(f: F) -> impl LambdaHandler
where
    F: Fn(Arc<Value>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, TaskError>> + Send,
{
    FnHandler(f)
}

/// Where a Lambda function runs.
#[derive(Clone)]
pub(crate) enum Target {
    Handler(Arc<dyn LambdaHandler>),
    Url(String),
}

/// Task resources → handlers.
#[derive(Default)]
pub struct Registry {
    lambdas: HashMap<String, Target>,
    resources: HashMap<String, Arc<dyn LambdaHandler>>,
    http: OnceLock<reqwest::Client>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("lambdas", &self.lambdas.keys().collect::<Vec<_>>())
            .field("resources", &self.resources.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A Lambda by function name, full ARN, or `${Placeholder}` as written in the definition.
    /// Used for `arn:aws:states:::lambda:invoke` (FunctionName in Parameters/Arguments) and for
    /// plain Lambda ARNs as `Resource`.
    pub fn lambda(&mut self, function: &str, handler: impl LambdaHandler + 'static) -> &mut Self {
        self.lambdas
            .insert(function.to_owned(), Target::Handler(Arc::new(handler)));
        self
    }

    /// A Lambda served by an emulator's Invoke API (`cargo lambda watch`), base URL.
    pub fn lambda_url(&mut self, function: &str, base_url: &str) -> &mut Self {
        self.lambdas.insert(
            function.to_owned(),
            Target::Url(base_url.trim_end_matches('/').to_owned()),
        );
        self
    }

    /// Any other Task resource ARN (activities, SDK integrations) by exact resource string; the
    /// handler receives the effective parameters and returns the result.
    pub fn resource(&mut self, resource: &str, handler: impl LambdaHandler + 'static) -> &mut Self {
        self.resources
            .insert(resource.to_owned(), Arc::new(handler));
        self
    }

    /// Whether a Lambda function (by name, ARN or placeholder) has a handler or a URL.
    pub fn has_lambda(&self, function: &str) -> bool {
        self.find_lambda(function).is_some()
    }

    fn find_lambda(&self, function: &str) -> Option<&Target> {
        if let Some(t) = self.lambdas.get(function) {
            return Some(t);
        }
        let name = function_name(function);
        // Most often registered under its plain name: found without scanning every entry.
        if name != function
            && function_name(name) == name
            && let Some(t) = self.lambdas.get(name)
        {
            return Some(t);
        }
        self.lambdas
            .iter()
            .find(|(key, _)| function_name(key) == name)
            .map(|(_, t)| t)
    }

    pub(crate) fn find_resource(&self, resource: &str) -> Option<Arc<dyn LambdaHandler>> {
        if let Some(h) = self.resources.get(resource) {
            return Some(h.clone());
        }
        let base = resource
            .strip_suffix(".waitForTaskToken")
            .or_else(|| resource.strip_suffix(".sync:2"))
            .or_else(|| resource.strip_suffix(".sync"))?;
        self.resources.get(base).cloned()
    }

    /// Invokes a Lambda function and returns its response payload, or the failure the service
    /// would report: the function's `errorType` as the error, its error object as the cause.
    pub(crate) async fn invoke_lambda(
        &self,
        function: &str,
        payload: Arc<Value>,
    ) -> Result<Value, Failure> {
        let target = self.lambda_target(function);
        self.invoke_target(target.as_ref(), function, payload).await
    }

    /// The registered Lambda `function` resolves to, so a Task can find it once.
    pub(crate) fn lambda_target(&self, function: &str) -> Option<Target> {
        self.find_lambda(function).cloned()
    }

    /// [`Registry::invoke_lambda`] with the function already resolved (`None`: not registered).
    pub(crate) async fn invoke_target(
        &self,
        target: Option<&Target>,
        function: &str,
        payload: Arc<Value>,
    ) -> Result<Value, Failure> {
        match target {
            Some(Target::Handler(handler)) => handler
                .invoke(payload)
                .await
                .map_err(|e| lambda_failure(&e.error, &e.cause)),
            // Boxed: an HTTP call's future is large, and every in-process call would carry its
            // size (and copy it) otherwise.
            Some(Target::Url(base)) => Box::pin(self.invoke_url(base, function, &payload)).await,
            None => Err(Failure::new(
                LAMBDA_RESOURCE_NOT_FOUND,
                format!(
                    "Function not found: {} (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException). \
                     sfn-local: no handler is registered for the Lambda function '{function}'; register one with \
                     Registry::lambda or point it at a Lambda emulator with Registry::lambda_url \
                     (sfn-agent exec --lambda-url {}=http://127.0.0.1:9000)",
                    lambda_arn(function),
                    function_name(function)
                ),
            )),
        }
    }

    async fn invoke_url(
        &self,
        base: &str,
        function: &str,
        payload: &Value,
    ) -> Result<Value, Failure> {
        let client = match self.http.get() {
            Some(c) => c.clone(),
            None => {
                let c = reqwest::Client::builder().build().map_err(|e| {
                    Failure::new(
                        LAMBDA_SERVICE_EXCEPTION,
                        format!("cannot build an HTTP client: {e}"),
                    )
                })?;
                let _ = self.http.set(c.clone());
                c
            }
        };
        let url = format!(
            "{base}/2015-03-31/functions/{}/invocations",
            function_name(function)
        );
        let response = client.post(&url).json(payload).send().await.map_err(|e| {
            Failure::new(
                LAMBDA_SERVICE_EXCEPTION,
                format!("The Lambda emulator at {url} could not be reached: {e}"),
            )
        })?;
        let status = response.status();
        let function_error = response
            .headers()
            .get("X-Amz-Function-Error")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.text().await.map_err(|e| {
            Failure::new(
                LAMBDA_SERVICE_EXCEPTION,
                format!("The Lambda emulator at {url} sent an unreadable response: {e}"),
            )
        })?;
        if status.as_u16() == 404 {
            return Err(Failure::new(
                LAMBDA_RESOURCE_NOT_FOUND,
                format!(
                    "Function not found: {} (emulator at {base}): {body}",
                    lambda_arn(function)
                ),
            ));
        }
        if !status.is_success() {
            return Err(Failure::new(
                LAMBDA_SERVICE_EXCEPTION,
                format!("The Lambda emulator at {url} answered {status}: {body}"),
            ));
        }
        if let Some(kind) = function_error {
            let parsed: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let error = parsed
                .get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or(kind);
            return Err(Failure::new(error, body));
        }
        if body.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&body).map_err(|e| {
            Failure::new(
                LAMBDA_SERVICE_EXCEPTION,
                format!(
                    "The Lambda function '{function}' returned a payload that is not JSON: {e}"
                ),
            )
        })
    }

    /// Runs a non-Lambda resource's handler.
    pub(crate) async fn invoke_resource(
        &self,
        resource: &str,
        payload: Arc<Value>,
    ) -> Result<Value, Failure> {
        match self.find_resource(resource) {
            Some(handler) => handler.invoke(payload).await.map_err(Failure::from),
            None => Err(Failure::new(
                RUNTIME,
                format!(
                    "sfn-local: no handler is registered for the Task resource '{resource}'; register one with Registry::resource"
                ),
            )),
        }
    }
}

/// The failure the service reports for a handler's error. A function error has the `errorType`
/// as the error and the function's error object as JSON text as the cause: built from the
/// message, or the handler's cause as it is when it is such an object already (what a runtime
/// sends, `{"errorMessage":…,"errorType":…,"requestId":…,"stackTrace":[…]}`, as an emulator's
/// body is taken). The service's own errors, `Lambda.*` (`Lambda.ResourceNotFoundException`)
/// and `States.*`, keep their text as the cause (recorded in localstack's
/// `test_no_such_function`: "Function not found: arn:…").
pub(crate) fn lambda_failure(error_type: &str, message: &str) -> Failure {
    if error_type.starts_with("Lambda.")
        || error_type.starts_with("States.")
        || is_error_object(message)
    {
        return Failure::new(error_type, message);
    }
    let cause = json!({"errorType": error_type, "errorMessage": message, "trace": []});
    Failure::new(error_type, cause.to_string())
}

/// Whether `text` is a Lambda runtime's error object (JSON with `errorMessage` or `errorType`).
fn is_error_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Map<String, Value>>(text)
            .is_ok_and(|o| o.contains_key("errorMessage") || o.contains_key("errorType"))
}

/// The result of `arn:aws:states:::lambda:invoke`: the function's payload in the Invoke API's
/// response, as the service returns it, with the headers the recordings show (localstack's
/// `test_invoke`): `Content-Length` (the payload's length as a Python function's runtime
/// writes it, which is what the recorded functions are), `Date` (`now`, as HTTP writes dates)
/// and an X-Ray `X-Amzn-Trace-Id`, besides the request id.
pub(crate) fn lambda_invoke_result(payload: Value, now: DateTime<Utc>) -> Value {
    /// HTTP's date format, parsed once.
    static HTTP_DATE: LazyLock<Vec<chrono::format::Item<'static>>> = LazyLock::new(|| {
        chrono::format::StrftimeItems::new("%a, %d %b %Y %H:%M:%S GMT")
            .parse_to_owned()
            .unwrap_or_default()
    });
    // One random draw makes the request id and the trace's ids (made-up ids, all of them).
    let random = uuid::Uuid::new_v4();
    let request_id = random.to_string();
    let length = python_json_len(&payload).to_string();
    let date = now.format_with_items(HTTP_DATE.iter()).to_string();
    let bits = random.as_u128();
    let trace_id = format!(
        "Root=1-{:08x}-{:024x};Parent={:016x};Sampled=0",
        now.timestamp(),
        bits >> 32,
        bits as u64
    );
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {
                "X-Amz-Executed-Version": ["$LATEST"],
                "x-amzn-Remapped-Content-Length": ["0"],
                "Connection": ["keep-alive"],
                "x-amzn-RequestId": [request_id],
                "Content-Length": [length],
                "Date": [date],
                "X-Amzn-Trace-Id": [trace_id],
                "Content-Type": ["application/json"]
            },
            "HttpHeaders": {
                "Connection": "keep-alive",
                "Content-Length": length,
                "Content-Type": "application/json",
                "Date": date,
                "X-Amz-Executed-Version": "$LATEST",
                "x-amzn-Remapped-Content-Length": "0",
                "x-amzn-RequestId": request_id,
                "X-Amzn-Trace-Id": trace_id
            },
            "HttpStatusCode": 200
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": 200
    })
}

/// The length of `value`'s JSON text as Python's `json.dumps` writes it: a space after each
/// `,` and `:`, and a character beyond ASCII as `\uXXXX` (two of them beyond the BMP).
fn python_json_len(value: &Value) -> usize {
    fn escaped_extra(s: &str) -> usize {
        s.chars()
            .filter(|c| !c.is_ascii())
            .map(|c| if c.len_utf16() == 2 { 12 } else { 6 } - c.len_utf8())
            .sum()
    }
    fn extra(value: &Value, depth: usize) -> usize {
        if depth == 0 {
            return 0;
        }
        match value {
            Value::String(s) => escaped_extra(s),
            Value::Array(items) => {
                items.len().saturating_sub(1)
                    + items.iter().map(|v| extra(v, depth - 1)).sum::<usize>()
            }
            Value::Object(fields) => {
                2 * fields.len() - usize::from(!fields.is_empty())
                    + fields
                        .iter()
                        .map(|(k, v)| escaped_extra(k) + extra(v, depth - 1))
                        .sum::<usize>()
            }
            _ => 0,
        }
    }
    serialized_len(value) + extra(value, MAX_PAYLOAD_DEPTH)
}

/// The function name in a name, a full or partial ARN (with or without a qualifier), or a
/// `${Placeholder}`.
pub(crate) fn function_name(function: &str) -> &str {
    // The part after a `function` part, in an ARN or a partial ARN (`account:function:name`).
    let mut parts = function.split(':');
    if parts.any(|p| p == "function") {
        return parts.next().unwrap_or(function);
    }
    if function.starts_with("arn:") {
        return function;
    }
    // `name:qualifier`.
    match function.split_once(':') {
        Some((name, qualifier)) if !qualifier.contains(':') && !function.starts_with("${") => name,
        _ => function,
    }
}

fn lambda_arn(function: &str) -> String {
    if function.starts_with("arn:") {
        function.to_owned()
    } else {
        format!(
            "arn:aws:lambda:us-east-1:123456789012:function:{}",
            function_name(function)
        )
    }
}

/// How a Task's resource is called and named in its events.
pub(crate) struct TaskResource {
    pub kind: TaskKind,
    /// The resource as written.
    pub resource: Arc<str>,
    /// `resourceType` and `resource` of the task events (`lambda`, `invoke`).
    pub resource_type: Arc<str>,
    pub resource_name: Arc<str>,
    /// The registered Lambda of a [`TaskKind::LambdaArn`] resource, found once.
    pub lambda: Option<Target>,
}

impl std::fmt::Debug for TaskResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskResource")
            .field("kind", &self.kind)
            .field("resource", &self.resource)
            .finish()
    }
}

impl TaskResource {
    pub(crate) fn new(resource: &str, registry: &Registry) -> Self {
        let kind = if resource.contains(":states:::lambda:invoke") {
            TaskKind::LambdaInvoke
        } else if resource.contains(":lambda:") && resource.contains(":function:")
            || (!resource.starts_with("arn:") && registry.has_lambda(resource))
        {
            TaskKind::LambdaArn
        } else {
            TaskKind::Resource
        };
        let (resource_type, resource_name) = resource_type(resource);
        let lambda = if kind == TaskKind::LambdaArn {
            registry.lambda_target(resource)
        } else {
            None
        };
        Self {
            kind,
            lambda,
            resource: resource.into(),
            resource_type: resource_type.into(),
            resource_name: resource_name.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum TaskKind {
    /// `arn:aws:states:::lambda:invoke`: FunctionName + Payload, result wrapped.
    LambdaInvoke,
    /// A Lambda function ARN (or a registered name/placeholder) as the resource.
    LambdaArn,
    /// Any other resource, by its registered handler.
    Resource,
}

pub(crate) fn resource_type(resource: &str) -> (String, String) {
    if let Some(rest) = resource.split(":::").nth(1)
        && let Some((kind, name)) = rest.split_once(':')
    {
        return (kind.to_owned(), name.to_owned());
    }
    if resource.contains(":activity:") {
        return ("activity".into(), resource.to_owned());
    }
    ("lambda".into(), resource.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_split_like_the_console() {
        assert_eq!(
            resource_type("arn:aws:states:::lambda:invoke"),
            ("lambda".to_owned(), "invoke".to_owned())
        );
        assert_eq!(
            resource_type("arn:aws:states:::lambda:invoke.waitForTaskToken"),
            ("lambda".to_owned(), "invoke.waitForTaskToken".to_owned())
        );
    }

    #[test]
    fn function_names_from_arns_and_placeholders() {
        assert_eq!(function_name("MyFunction"), "MyFunction");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:MyFunction"),
            "MyFunction"
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:MyFunction:prod"),
            "MyFunction"
        );
        assert_eq!(
            function_name("123456789012:function:MyFunction"),
            "MyFunction"
        );
        assert_eq!(function_name("MyFunction:1"), "MyFunction");
        assert_eq!(function_name("${CallLlmArn}"), "${CallLlmArn}");
    }

    #[tokio::test]
    async fn lambdas_resolve_by_name_or_arn_and_errors_take_the_lambda_shape() {
        let mut registry = Registry::new();
        registry.lambda(
            "echo",
            handler_fn(|p| async move { Ok(Arc::unwrap_or_clone(p)) }),
        );
        registry.lambda(
            "fails",
            handler_fn(|_| async move { Err(TaskError::new("ValueError", "bad input")) }),
        );
        let out = registry
            .invoke_lambda(
                "arn:aws:lambda:us-east-1:1:function:echo",
                Arc::new(json!({"a": 1})),
            )
            .await
            .unwrap();
        assert_eq!(out, json!({"a": 1}));
        let err = registry
            .invoke_lambda("fails", Arc::new(json!({})))
            .await
            .unwrap_err();
        assert_eq!(err.error, "ValueError");
        let cause: Value = serde_json::from_str(&err.cause).unwrap();
        assert_eq!(
            cause,
            json!({"errorType": "ValueError", "errorMessage": "bad input", "trace": []})
        );
        let missing = registry
            .invoke_lambda("nope", Arc::new(json!({})))
            .await
            .unwrap_err();
        assert_eq!(missing.error, LAMBDA_RESOURCE_NOT_FOUND);
        assert!(missing.cause.contains("'nope'"));
    }

    #[tokio::test]
    async fn emulator_urls_follow_the_invoke_api() {
        use wiremock::matchers::{method, path};
        use wiremock::{Mock, MockServer, ResponseTemplate};
        // Invoke API: POST /2015-03-31/functions/{FunctionName}/invocations; a function error
        // is a 200 with the X-Amz-Function-Error header and the error object as the body
        // (AWS Lambda API reference, "Invoke").
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/2015-03-31/functions/ok/invocations"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"answer": 42})))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/2015-03-31/functions/bad/invocations"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-Amz-Function-Error", "Unhandled")
                    .set_body_json(json!({"errorType": "MyError", "errorMessage": "boom"})),
            )
            .mount(&server)
            .await;
        let mut registry = Registry::new();
        registry.lambda_url("ok", &server.uri());
        registry.lambda_url("bad", &server.uri());
        assert_eq!(
            registry
                .invoke_lambda("ok", Arc::new(json!({})))
                .await
                .unwrap(),
            json!({"answer": 42})
        );
        let err = registry
            .invoke_lambda("bad", Arc::new(json!({})))
            .await
            .unwrap_err();
        assert_eq!(err.error, "MyError");
        assert!(err.cause.contains("boom"));
    }

    #[test]
    fn service_errors_and_runtime_error_objects_keep_their_cause() {
        let missing = lambda_failure("Lambda.ResourceNotFoundException", "Function not found: x");
        assert_eq!(missing.cause, "Function not found: x");
        let object =
            r#"{"errorMessage":"boom","errorType":"Exception","requestId":"r","stackTrace":[]}"#;
        assert_eq!(lambda_failure("Exception", object).cause, object);
        assert_eq!(
            lambda_failure("Exception", "boom").cause,
            r#"{"errorType":"Exception","errorMessage":"boom","trace":[]}"#
        );
    }

    #[test]
    fn content_length_is_the_python_runtime_text_length() {
        // Recorded Content-Length values (localstack's lambda snapshots).
        for (payload, length) in [
            (json!({}), 2),
            (json!("HelloWorld"), 12),
            (json!({"status": "running"}), 21),
            (
                json!({"input_value": "string literal", "input_values": [1, 2, 3]}),
                60,
            ),
            (json!("é"), 8),
        ] {
            assert_eq!(python_json_len(&payload), length, "{payload}");
        }
    }
}
