//! Loopback stand-ins for the services an LLM Lambda talks to, on plain threads so they can
//! serve a Lambda binary in another process: a minimal HTTP/1.1 server, and on it a DynamoDB
//! that knows the two operations the conversation store uses (`Query`, `PutItem`).
//!
//! DynamoDB speaks JSON 1.0 over `POST /` with the operation in `X-Amz-Target`
//! (`DynamoDB_20120810.Query`), items as attribute-value maps (`{"S": "…"}`, `{"N": "1"}`), and
//! errors as `{"__type": "…#ConditionalCheckFailedException", "message": …}` with status 400
//! (<https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/Programming.Errors.html>).
//! Shared by `tests/store_dynamo_loopback.rs` and `benches/runtime_api.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One HTTP request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path and query.
    pub path: String,
    /// Header names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Extra headers (`Content-Length` is added).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, content_type: &str, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// The handler of a server: called on the connection's thread, so it may block.
pub type Handle = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// Serves `handle` on a loopback port (keep-alive, one thread per connection) for the life of
/// the process; returns the address.
pub fn serve(handle: Handle) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = connection(stream, &handle);
            });
        }
    });
    Ok(address)
}

fn connection(stream: TcpStream, handle: &Handle) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        let response = handle(request);
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-length: {}\r\n",
            response.status,
            response.body.len()
        );
        for (name, value) in &response.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&response.body);
        writer.write_all(&bytes)?;
    }
    Ok(())
}

fn read_request(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v): &(String, String)| v.clone())
    };
    let mut body = Vec::new();
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            reader.read_exact(&mut body[start..])?;
            line.clear();
            reader.read_line(&mut line)?;
        }
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

/// What one `Query` asked and returned.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryLog {
    /// The conversation (`:c`).
    pub conversation_id: String,
    /// The turn it read after (`:t` of `turn > :t`).
    pub after: u64,
    /// The one turn it read (`:t` of `turn = :t`).
    pub only: Option<u64>,
    /// The items it returned.
    pub items: usize,
    /// The attributes it was asked to return (`ProjectionExpression`, names resolved), or none
    /// for all.
    pub projection: Option<Vec<String>>,
}

/// A DynamoDB table keyed by `conversation_id` (S) and `turn` (N), serving `Query` (with
/// `#c = :c AND #t > :t` or `#t = :t`, `Limit`, `ExclusiveStartKey` and
/// `ProjectionExpression`) and
/// `PutItem` (with `attribute_not_exists`), and recording every query.
///
/// Items are kept as JSON text, rendered once when stored, and so is their projection to
/// `turn_json` (the one `DynamoStore` asks for), so a `Query` costs the mock little
/// more than copying bytes (the bench measures the binary, not the mock).
#[derive(Debug, Default)]
pub struct Dynamo {
    items: Mutex<BTreeMap<(String, u64), Stored>>,
    /// Every query served, in order.
    pub queries: Mutex<Vec<QueryLog>>,
}

/// The key of an item: `conversation_id` and `turn`.
fn key_of(item: &Value) -> (String, u64) {
    (
        item["conversation_id"]["S"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        item["turn"]["N"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default(),
    )
}

const AMZ_JSON: &str = "application/x-amz-json-1.0";

/// The projections rendered ahead of time: `DynamoStore`'s, and the one it asked for before
/// (`turn` too), so the bench serves a binary of either age as fast.
const TURN_PROJECTIONS: [&[&str]; 2] = [&["turn_json"], &["turn", "turn_json"]];

/// One item: as stored, and rendered whole and projected.
#[derive(Debug)]
struct Stored {
    item: Value,
    whole: String,
    projected: [String; 2],
}

impl Stored {
    fn new(item: Value) -> Self {
        let projected = TURN_PROJECTIONS.map(|names| project(&item, names).to_string());
        Self {
            whole: item.to_string(),
            item,
            projected,
        }
    }

    fn render(&self, projection: Option<&[String]>) -> std::borrow::Cow<'_, str> {
        let Some(names) = projection else {
            return self.whole.as_str().into();
        };
        match TURN_PROJECTIONS
            .iter()
            .position(|p| names.iter().eq(p.iter()))
        {
            Some(i) => self.projected[i].as_str().into(),
            None => project(&self.item, names).to_string().into(),
        }
    }
}

/// The item's attributes named in `names`.
fn project<S: AsRef<str>>(item: &Value, names: &[S]) -> Value {
    let kept = item
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| names.iter().any(|n| n.as_ref() == name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Value::Object(kept)
}

/// The attribute names of a `ProjectionExpression`, `#names` resolved.
fn projection(body: &Value) -> Option<Vec<String>> {
    let expression = body["ProjectionExpression"].as_str()?;
    Some(
        expression
            .split(',')
            .map(|name| {
                let name = name.trim();
                body["ExpressionAttributeNames"][name]
                    .as_str()
                    .unwrap_or(name)
                    .to_string()
            })
            .collect(),
    )
}

fn dynamo_error(kind: &str, message: &str) -> Response {
    Response::json(
        400,
        AMZ_JSON,
        &json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message}),
    )
}

impl Dynamo {
    /// Serves a new table on a loopback port; returns it and its endpoint URL.
    pub fn start() -> std::io::Result<(Arc<Self>, String)> {
        let table = Arc::new(Self::default());
        let served = table.clone();
        let address = serve(Arc::new(move |request| served.handle(&request)))?;
        Ok((table, format!("http://{address}")))
    }

    /// Stores an item as it is (an attribute-value map), replacing any with the same key.
    pub fn put(&self, item: Value) {
        let key = key_of(&item);
        if let Ok(mut items) = self.items.lock() {
            items.insert(key, Stored::new(item));
        }
    }

    /// The queries served so far.
    pub fn queries(&self) -> Vec<QueryLog> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }

    fn handle(&self, request: &Request) -> Response {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return dynamo_error("SerializationException", "the body is not JSON");
        };
        match request.header("x-amz-target") {
            Some("DynamoDB_20120810.Query") => self.query(&body),
            Some("DynamoDB_20120810.PutItem") => self.put_item(&body),
            other => dynamo_error(
                "UnknownOperationException",
                &format!("the loopback table does not serve {other:?}"),
            ),
        }
    }

    fn query(&self, body: &Value) -> Response {
        let values = &body["ExpressionAttributeValues"];
        let Some(conversation) = values[":c"]["S"].as_str() else {
            return dynamo_error("ValidationException", "expected :c as the conversation id");
        };
        let t: u64 = values[":t"]["N"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_default();
        let only = body["KeyConditionExpression"]
            .as_str()
            .is_some_and(|k| k.contains("#t = :t"))
            .then_some(t);
        let after = if only.is_some() { 0 } else { t };
        let start = body["ExclusiveStartKey"]["turn"]["N"]
            .as_str()
            .and_then(|n| n.parse::<u64>().ok())
            .map_or(after, |s| s.max(after));
        let limit = body["Limit"].as_u64().map_or(usize::MAX, |l| l as usize);
        let projection = projection(body);
        let Ok(items) = self.items.lock() else {
            return dynamo_error("InternalServerError", "poisoned");
        };
        let range = match only {
            Some(t) => (conversation.to_string(), t)..=(conversation.to_string(), t),
            None => (conversation.to_string(), start + 1)..=(conversation.to_string(), u64::MAX),
        };
        let found: Vec<(&(String, u64), &Stored)> =
            items.range(range).take(limit.saturating_add(1)).collect();
        let more = found.len() > limit;
        let found = &found[..found.len().min(limit)];
        let mut out = format!(
            "{{\"Count\":{n},\"ScannedCount\":{n},\"Items\":[",
            n = found.len()
        );
        for (i, (_, item)) in found.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&item.render(projection.as_deref()));
        }
        out.push(']');
        if more && let Some(((id, turn), _)) = found.last() {
            let key = json!({"conversation_id": {"S": id}, "turn": {"N": turn.to_string()}});
            out.push_str(&format!(",\"LastEvaluatedKey\":{key}"));
        }
        out.push('}');
        let count = found.len();
        drop(items);
        if let Ok(mut q) = self.queries.lock() {
            q.push(QueryLog {
                conversation_id: conversation.to_string(),
                after,
                only,
                items: count,
                projection,
            });
        }
        Response {
            status: 200,
            headers: vec![("content-type".into(), AMZ_JSON.into())],
            body: out.into_bytes(),
        }
    }

    fn put_item(&self, body: &Value) -> Response {
        let item = body["Item"].clone();
        let key = (
            item["conversation_id"]["S"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            item["turn"]["N"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or_default(),
        );
        let Ok(mut items) = self.items.lock() else {
            return dynamo_error("InternalServerError", "poisoned");
        };
        if body["ConditionExpression"]
            .as_str()
            .is_some_and(|c| c.starts_with("attribute_not_exists"))
            && items.contains_key(&key)
        {
            return dynamo_error(
                "ConditionalCheckFailedException",
                "The conditional request failed",
            );
        }
        items.insert(key, Stored::new(item));
        Response::json(200, AMZ_JSON, &json!({}))
    }
}
