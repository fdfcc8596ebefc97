//! What an agent asks people: approval of tool calls before they run, and answers to the
//! questions the model puts to the user. Both wait on a Step Functions task token, which costs
//! nothing while it waits (for days if need be); the request goes out through a destination the
//! deployment chooses, and whoever answers calls SendTaskSuccess or SendTaskFailure with the
//! token (`sfn-agent approve`, `deny`, `answer`).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::protocol::ToolSpec;

/// The name of the built-in tool that asks the user a question.
pub const ASK_USER_TOOL: &str = "ask_user";

/// The error a denial sends with SendTaskFailure (`sfn-agent deny`); the machine catches it and
/// tells the model.
pub const APPROVAL_DENIED: &str = "Approval.Denied";

/// The EventBridge `source` of approval requests and questions.
pub const REQUEST_SOURCE: &str = "sfn-agent";
/// The EventBridge `detail-type` of an approval request.
pub const APPROVAL_DETAIL_TYPE: &str = "Agent Approval Request";
/// The EventBridge `detail-type` of a question to the user (not `Agent Question`, which the
/// construct's rules take as a question that starts a run).
pub const QUESTION_DETAIL_TYPE: &str = "Agent Question To User";

/// How long a request waits for an answer when the agent does not say: a day.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(24 * 60 * 60);

/// Where approval requests and questions go when the agent is deployed. Locally, `sfn-agent
/// run` asks on the terminal whatever this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestDestination {
    /// An event on an EventBridge bus (`${RequestEventBusName}`): the default; a rule routes it
    /// to whatever notifies people.
    #[default]
    EventBridge,
    /// A message on an SNS topic (`${RequestTopicArn}`): e-mail or chat subscribers.
    Sns,
    /// A message on an SQS queue (`${RequestQueueUrl}`): `sfn-agent approvals` lists pending ones.
    Sqs,
}

impl RequestDestination {
    /// The DefinitionSubstitutions key that names the bus, topic or queue.
    pub fn placeholder(self) -> &'static str {
        match self {
            RequestDestination::EventBridge => "RequestEventBusName",
            RequestDestination::Sns => "RequestTopicArn",
            RequestDestination::Sqs => "RequestQueueUrl",
        }
    }

    /// The Task resource that sends the request and waits for the token.
    pub fn resource(self) -> &'static str {
        match self {
            RequestDestination::EventBridge => "arn:aws:states:::events:putEvents.waitForTaskToken",
            RequestDestination::Sns => "arn:aws:states:::sns:publish.waitForTaskToken",
            RequestDestination::Sqs => "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        }
    }
}

/// What an agent asks people, as its builder was told.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct People {
    /// Tools whose calls wait for approval.
    pub approval: ApprovalTools,
    /// Whether the model may ask the user questions ([`ASK_USER_TOOL`]).
    pub ask_user: bool,
    /// How long a request waits before the run goes on without an answer.
    pub wait: Option<Duration>,
    /// Where requests go when deployed.
    pub destination: RequestDestination,
}

/// Which tool calls wait for approval.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ApprovalTools {
    /// None: every call runs at once.
    #[default]
    None,
    /// The calls of these tools.
    Tools(Vec<String>),
    /// Every tool call (sub-agents and questions aside).
    All,
}

impl People {
    /// Whether the agent ever waits for a person.
    pub fn waits(&self) -> bool {
        self.ask_user || self.approval != ApprovalTools::None
    }

    /// How long a request waits, in seconds.
    pub fn wait_seconds(&self) -> u64 {
        self.wait.unwrap_or(DEFAULT_WAIT).as_secs()
    }
}

/// The built-in tool that lets the model ask the person a clarifying question mid-run.
pub fn ask_user_spec() -> ToolSpec {
    ToolSpec::new(
        ASK_USER_TOOL,
        "Asks the person you are helping a clarifying question and waits for their answer, \
         which comes back as this tool's result. Use it only when you cannot go on without \
         the answer; ask one short, specific question.",
        json!({
            "type": "object",
            "properties": {
                "question": {
                    "type": "string",
                    "description": "The question, as the person will read it.",
                    "minLength": 1,
                    "maxLength": 2000
                }
            },
            "required": ["question"],
            "additionalProperties": false
        }),
    )
}

/// The input of an agent called as a tool: the question the parent's model writes for it.
pub fn sub_agent_spec(name: &str, description: &str) -> ToolSpec {
    ToolSpec::new(
        name,
        description,
        json!({
            "type": "object",
            "properties": {
                "question": {
                    "type": "string",
                    "description": "The question for this agent, complete in itself: it does not see your conversation.",
                    "minLength": 1,
                    "maxLength": 20000
                }
            },
            "required": ["question"],
            "additionalProperties": false
        }),
    )
}
