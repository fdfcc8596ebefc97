//! The DynamoDB conversation store: one item per turn.
//!
//! Table: partition key `conversation_id` (S), sort key `turn` (N). Each item holds the
//! [`Turn`]'s messages as the JSON bytes of one binary attribute, `turn_json` (B), the
//! handler's response for it in another, `response_json` (B), and `expires_at` (epoch seconds)
//! for DynamoDB TTL. A turn is written with `attribute_not_exists(conversation_id)`, so a second
//! writer of the same turn fails with [`StoreError::Conflict`] instead of overwriting it.
//!
//! **Binary attributes.** A cold Lambda reads a conversation's every item: JSON text in a
//! string attribute came back escaped inside DynamoDB's JSON (every quote `\"`, a tool result's
//! own JSON twice over), unescaped byte by byte by the SDK, then parsed in two passes (messages,
//! response). A binary attribute travels as base64, which the SDK decodes in bulk, and the turn
//! is parsed in one pass.
//!
//! **The response apart.** The history's `Query` asks for `turn_json` only: a turn's response
//! (about a quarter of its bytes, repeating its text and tool calls) is needed only to replay
//! the turn for a Lambda retry, and [`ConversationStore::load_response`] reads it then, with a
//! `Query` for that one item. The items written before it was apart hold it inside
//! `turn_json`, and are read as they are.
//!
//! **The older items** (before `turn_json`): `messages` and `response` as JSON strings beside
//! `iteration`, `execution`, `provider` and `model` attributes. They are still read, as written.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use agent_builder::LlmResponse;

use super::{ConversationStore, StoreError, StoredResponse, Turn, truncate_tool_results};

/// DynamoDB's item size limit is 400 KB; items are kept under this many bytes, leaving room for
/// attribute names and DynamoDB's own accounting.
pub const MAX_ITEM_BYTES: usize = 390 * 1024;

/// The conversation id of [`DynamoStore::warm_up`]'s query: no handler request can name it
/// usefully, and finding it empty is all the query is for.
const WARM_UP_ID: &str = "sfn-agent:warm-up";

/// The longest [`DynamoStore::warm_up`] waits.
pub const WARM_UP_WAIT: Duration = Duration::from_secs(2);

/// The attribute holding the turn, without its response, as JSON bytes.
const TURN_JSON: &str = "turn_json";

/// The attribute holding the turn's response as JSON bytes.
const RESPONSE_JSON: &str = "response_json";

/// Days a conversation is kept when `CONVERSATION_TTL_DAYS` is not set.
const DEFAULT_TTL_DAYS: u64 = 30;

/// Conversations in a DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    ttl: Option<Duration>,
    page_size: Option<i32>,
}

impl DynamoStore {
    /// A store on `table`, keeping turns for 30 days.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            ttl: Some(Duration::from_secs(DEFAULT_TTL_DAYS * 86_400)),
            page_size: None,
        }
    }

    /// A store configured from the environment: the table from `CONVERSATION_TABLE`, the expiry
    /// from `CONVERSATION_TTL_DAYS` (default 30; 0 keeps turns forever).
    pub fn from_env(config: &aws_config::SdkConfig) -> Result<Self, StoreError> {
        let table = std::env::var("CONVERSATION_TABLE").map_err(|_| StoreError::Failed {
            conversation_id: String::new(),
            message: "CONVERSATION_TABLE is not set; set it to the DynamoDB table's name".into(),
        })?;
        let days = match std::env::var("CONVERSATION_TTL_DAYS") {
            Ok(v) => v.trim().parse::<u64>().map_err(|_| StoreError::Failed {
                conversation_id: String::new(),
                message: format!(
                    "CONVERSATION_TTL_DAYS is `{v}`, not a whole number of days; set it to e.g. 30 (0 keeps turns forever)"
                ),
            })?,
            Err(_) => DEFAULT_TTL_DAYS,
        };
        Ok(Self::new(Client::new(config), table).with_ttl_days(days))
    }

    /// Sets how long turns are kept, in days; 0 writes no `expires_at`, so turns never expire.
    pub fn with_ttl_days(mut self, days: u64) -> Self {
        self.ttl = (days > 0).then(|| Duration::from_secs(days * 86_400));
        self
    }

    /// Reads at most `items` turns per `Query` page (DynamoDB's own 1 MB page limit applies
    /// anyway); for tests of the pagination.
    pub fn with_page_size(mut self, items: i32) -> Self {
        self.page_size = Some(items);
        self
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Makes one `Query` that finds nothing (a conversation id no conversation has), at most
    /// [`WARM_UP_WAIT`], and ignores how it ends: the SDK's first request builds its HTTPS
    /// client (reading the system's TLS roots), resolves the credentials and the endpoint and
    /// opens the connection, which cost a Lambda's first invocation about 20 ms more than the
    /// others. Called at init; a real failure is reported by the first invocation.
    pub async fn warm_up(&self) {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", "conversation_id")
            .expression_attribute_values(":c", AttributeValue::S(WARM_UP_ID.into()))
            .limit(1)
            .send();
        match tokio::time::timeout(WARM_UP_WAIT, query).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::debug!(error = %DisplayErrorContext(&e), "warm-up query failed"),
            Err(_) => tracing::debug!("warm-up query timed out"),
        }
    }

    /// Creates the table with the store's key schema (on-demand billing) unless it exists. The
    /// deployed table comes from the CDK app; this is for local DynamoDB-API servers and tests.
    pub async fn create_table_if_missing(&self) -> Result<(), StoreError> {
        let failed = |message: String| StoreError::Failed {
            conversation_id: String::new(),
            message,
        };
        let exists = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await;
        match exists {
            Ok(_) => return Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") => {}
            Err(e) => {
                return Err(failed(format!(
                    "describing table `{}`: {}",
                    self.table,
                    DisplayErrorContext(&e)
                )));
            }
        }
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let attr = |name: &str, t: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(t)
                .build()
        };
        let built = (|| {
            Ok::<_, aws_sdk_dynamodb::error::BuildError>((
                key("conversation_id", KeyType::Hash)?,
                key("turn", KeyType::Range)?,
                attr("conversation_id", ScalarAttributeType::S)?,
                attr("turn", ScalarAttributeType::N)?,
            ))
        })()
        .map_err(|e| failed(format!("building the table definition: {e}")))?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(built.0)
            .key_schema(built.1)
            .attribute_definitions(built.2)
            .attribute_definitions(built.3)
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceInUseException") => Ok(()),
            Err(e) => Err(failed(format!(
                "creating table `{}`: {}",
                self.table,
                DisplayErrorContext(&e)
            ))),
        }
    }

    /// The turns after `after`, every page of them, in order. `projected` asks DynamoDB for
    /// `turn_json` only (the turn's number is inside it, the page's key comes back in
    /// `LastEvaluatedKey` anyway, and every other attribute costs the SDK's parser); then `None`
    /// says an item had no `turn_json`, an item of the oldest format, to be read again whole.
    async fn query_turns(
        &self,
        conversation_id: &str,
        after: u32,
        projected: bool,
    ) -> Result<Option<Vec<Turn>>, StoreError> {
        let mut turns = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        // The sort key where the last page stopped: each page must stop further on, or a
        // reply that repeats its `LastEvaluatedKey` would page forever.
        let mut stopped_at: Option<u32> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                // Names, not words: attribute names never collide with DynamoDB's reserved words.
                .key_condition_expression("#c = :c AND #t > :t")
                .expression_attribute_names("#c", "conversation_id")
                .expression_attribute_names("#t", "turn")
                .expression_attribute_values(":c", AttributeValue::S(conversation_id.to_string()))
                .expression_attribute_values(":t", AttributeValue::N(after.to_string()))
                .set_projection_expression(projected.then(|| TURN_JSON.to_string()))
                .consistent_read(true)
                .set_limit(self.page_size)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    self.failed(
                        conversation_id,
                        "loading the conversation",
                        DisplayErrorContext(&e).to_string(),
                    )
                })?;
            for item in page.items() {
                if projected && !item.contains_key(TURN_JSON) {
                    return Ok(None);
                }
                turns.push(self.turn_of_item(conversation_id, item)?);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => {
                    let at = key
                        .get("turn")
                        .and_then(|v| v.as_n().ok())
                        .and_then(|n| n.parse::<u32>().ok());
                    match at {
                        Some(at) if stopped_at.is_none_or(|before| at > before) => {
                            stopped_at = Some(at);
                            start = Some(key);
                        }
                        _ => {
                            return Err(self.failed(
                                conversation_id,
                                "loading the conversation",
                                format!(
                                    "the Query's LastEvaluatedKey does not move past turn {}: {key:?}",
                                    stopped_at.map_or("0".into(), |t| t.to_string())
                                ),
                            ));
                        }
                    }
                }
                _ => break,
            }
        }
        turns.sort_by_key(|t| t.turn);
        Ok(Some(turns))
    }

    fn failed(&self, conversation_id: &str, what: &str, detail: String) -> StoreError {
        StoreError::Failed {
            conversation_id: conversation_id.to_string(),
            message: format!(
                "{what} in DynamoDB table `{}`: {detail}. Check that the table exists with keys conversation_id (S) and turn (N) and that the Lambda's role may read and write it",
                self.table
            ),
        }
    }

    fn item_of_turn(
        &self,
        conversation_id: &str,
        turn: &Turn,
    ) -> Result<HashMap<String, AttributeValue>, StoreError> {
        let encode = |what: &str, r: serde_json::Result<Vec<u8>>| {
            r.map_err(|e| {
                self.failed(
                    conversation_id,
                    &format!("encoding the {what}"),
                    e.to_string(),
                )
            })
        };
        // The response goes into an attribute of its own, which loads do not read.
        let mut head = turn.clone();
        let response = std::mem::take(&mut head.response);
        let response = match response {
            StoredResponse::Apart => None,
            response => Some(encode("response", serde_json::to_vec(&response))?),
        };
        let mut json = encode("turn", serde_json::to_vec(&head))?;
        // Attribute names, numbers, the response, and the scalars written beside `turn_json`.
        let fixed = conversation_id.len()
            + turn.model.len()
            + turn.execution.as_ref().map_or(0, String::len)
            + response.as_ref().map_or(0, Vec::len)
            + 180;
        if fixed + json.len() > MAX_ITEM_BYTES {
            let excess = fixed + json.len() - MAX_ITEM_BYTES;
            truncate_tool_results(&mut head.messages, excess);
            json = encode("turn", serde_json::to_vec(&head))?;
            if fixed + json.len() > MAX_ITEM_BYTES {
                return Err(self.failed(
                    conversation_id,
                    &format!("storing turn {}", turn.turn),
                    format!(
                        "the turn is {} bytes even with its tool results truncated, over DynamoDB's 400 KB item limit; lower the agent's max_tokens",
                        fixed + json.len()
                    ),
                ));
            }
        }
        let mut item = HashMap::from([
            (
                "conversation_id".to_string(),
                AttributeValue::S(conversation_id.to_string()),
            ),
            ("turn".to_string(), AttributeValue::N(turn.turn.to_string())),
            (TURN_JSON.to_string(), AttributeValue::B(Blob::new(json))),
            // Written for whoever reads the table (the console, a query by hand), never read
            // back: `turn_json` holds them too.
            (
                "iteration".to_string(),
                AttributeValue::N(turn.iteration.to_string()),
            ),
            (
                "provider".to_string(),
                AttributeValue::S(turn.provider.to_string()),
            ),
            ("model".to_string(), AttributeValue::S(turn.model.clone())),
        ]);
        if let Some(response) = response {
            item.insert(
                RESPONSE_JSON.to_string(),
                AttributeValue::B(Blob::new(response)),
            );
        }
        if let Some(execution) = &turn.execution {
            item.insert(
                "execution".to_string(),
                AttributeValue::S(execution.clone()),
            );
        }
        if let Some(ttl) = self.ttl {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            item.insert(
                "expires_at".to_string(),
                AttributeValue::N((now + ttl).as_secs().to_string()),
            );
        }
        Ok(item)
    }

    fn turn_of_item(
        &self,
        conversation_id: &str,
        item: &HashMap<String, AttributeValue>,
    ) -> Result<Turn, StoreError> {
        let bad = |detail: String| self.failed(conversation_id, "reading a stored turn", detail);
        if let Some(json) = item.get(TURN_JSON) {
            let json = json
                .as_b()
                .map_err(|_| bad(format!("attribute `{TURN_JSON}` is not binary")))?;
            // Checked as UTF-8 once, so the parser need not check each of its strings.
            let json = std::str::from_utf8(json.as_ref())
                .map_err(|e| bad(format!("`{TURN_JSON}` is not UTF-8 text: {e}")))?;
            return serde_json::from_str(json)
                .map_err(|e| bad(format!("`{TURN_JSON}` is not a valid turn: {e}")));
        }
        // An item written before `turn_json`.
        let s = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_s().ok())
                .ok_or_else(|| bad(format!("attribute `{name}` is missing or not a string")))
        };
        let n = |name: &str| {
            item.get(name)
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u32>().ok())
                .ok_or_else(|| bad(format!("attribute `{name}` is missing or not a number")))
        };
        Ok(Turn {
            turn: n("turn")?,
            iteration: n("iteration")?,
            execution: item.get("execution").and_then(|v| v.as_s().ok()).cloned(),
            provider: s("provider")?.parse().map_err(bad)?,
            model: s("model")?.clone(),
            messages: serde_json::from_str(s("messages")?)
                .map_err(|e| bad(format!("`messages` is not valid JSON messages: {e}")))?,
            response: serde_json::from_str(s("response")?)
                .map_err(|e| bad(format!("`response` is not a valid response: {e}")))?,
        })
    }
}

#[async_trait::async_trait]
impl ConversationStore for DynamoStore {
    async fn load(&self, conversation_id: &str) -> Result<Vec<Turn>, StoreError> {
        self.load_after(conversation_id, 0).await
    }

    async fn load_after(&self, conversation_id: &str, after: u32) -> Result<Vec<Turn>, StoreError> {
        match self.query_turns(conversation_id, after, true).await? {
            Some(turns) => Ok(turns),
            // An item of the older format, whose attributes the projection left out.
            None => Ok(self
                .query_turns(conversation_id, after, false)
                .await?
                .unwrap_or_default()),
        }
    }

    /// A turn loaded without its response reads it with a `Query` for that one item.
    async fn load_response(
        &self,
        conversation_id: &str,
        turn: &Turn,
    ) -> Result<LlmResponse, StoreError> {
        if !turn.response.is_apart() {
            // An older item, whose `turn_json` held the response.
            return super::parse_response(conversation_id, turn);
        }
        let what = format!("reading the response of turn {}", turn.turn);
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#c = :c AND #t = :t")
            .expression_attribute_names("#c", "conversation_id")
            .expression_attribute_names("#t", "turn")
            .expression_attribute_values(":c", AttributeValue::S(conversation_id.to_string()))
            .expression_attribute_values(":t", AttributeValue::N(turn.turn.to_string()))
            .projection_expression(RESPONSE_JSON)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                self.failed(conversation_id, &what, DisplayErrorContext(&e).to_string())
            })?;
        let json = page
            .items()
            .first()
            .and_then(|item| item.get(RESPONSE_JSON))
            .ok_or_else(|| {
                self.failed(
                    conversation_id,
                    &what,
                    format!("the item has no `{RESPONSE_JSON}` attribute"),
                )
            })?
            .as_b()
            .map_err(|_| {
                self.failed(
                    conversation_id,
                    &what,
                    format!("attribute `{RESPONSE_JSON}` is not binary"),
                )
            })?;
        serde_json::from_slice(json.as_ref()).map_err(|e| {
            self.failed(
                conversation_id,
                &what,
                format!("`{RESPONSE_JSON}` is not a valid response: {e}"),
            )
        })
    }

    async fn append(&self, conversation_id: &str, turn: &Turn) -> Result<(), StoreError> {
        let item = self.item_of_turn(conversation_id, turn)?;
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(conversation_id)")
            .send()
            .await;
        match put {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => {
                Err(StoreError::Conflict {
                    conversation_id: conversation_id.to_string(),
                    turn: turn.turn,
                })
            }
            Err(e) => Err(self.failed(
                conversation_id,
                &format!("storing turn {}", turn.turn),
                DisplayErrorContext(&e).to_string(),
            )),
        }
    }
}
