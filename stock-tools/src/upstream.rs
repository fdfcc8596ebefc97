//! Calling a tool's upstream service: an outage, a timeout or an unreadable answer becomes a
//! [`ToolError::Upstream`]; a 4xx is handed back for the tool to explain.

use std::time::Duration;

use serde::de::DeserializeOwned;

use sfn_agent_tool::ToolError;

/// A service a tool calls.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    client: reqwest::Client,
    /// The service as the model should name it to the user.
    service: &'static str,
    timeout: Duration,
}

/// The answer to a request that reached the service.
pub(crate) enum Reply<T> {
    /// 2xx with a readable body.
    Ok(T),
    /// 4xx: the request was refused; the body, for the tool to explain.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The body, at most a few KB.
        body: String,
    },
}

impl Upstream {
    pub(crate) fn new(client: reqwest::Client, service: &'static str, timeout: Duration) -> Self {
        Self {
            client,
            service,
            timeout,
        }
    }

    /// GETs `url` with `query` and reads the JSON answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
    ) -> Result<Reply<T>, ToolError> {
        let response = self
            .client
            .get(url)
            .query(query)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(self.unavailable(format!("it answered HTTP {}", status.as_u16())));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if status.is_client_error() {
            let body = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
            return Ok(Reply::Refused {
                status: status.as_u16(),
                body,
            });
        }
        if !status.is_success() {
            return Err(self.unavailable(format!("it answered HTTP {}", status.as_u16())));
        }
        serde_json::from_slice::<T>(&bytes)
            .map(Reply::Ok)
            .map_err(|e| {
                self.unavailable(format!("it sent an answer this tool could not read ({e})"))
            })
    }

    /// An outage of this service.
    pub(crate) fn unavailable(&self, problem: String) -> ToolError {
        ToolError::Upstream {
            service: self.service.to_string(),
            problem,
        }
    }

    /// A refusal that no request of this tool should get (a 404, 401, 403…): the service is
    /// probably not the one configured in `env` (a wrong URL, a proxy), or is down.
    pub(crate) fn misconfigured(&self, status: u16, env: &str) -> ToolError {
        self.unavailable(format!(
            "it answered {}; the service may be misconfigured ({env})",
            status_text(status)
        ))
    }

    fn transport_error(&self, error: &reqwest::Error) -> ToolError {
        if error.is_timeout() {
            self.unavailable(format!(
                "it did not answer within {}",
                seconds(self.timeout)
            ))
        } else if error.is_connect() {
            self.unavailable("it could not be reached".to_string())
        } else {
            self.unavailable("the connection failed".to_string())
        }
    }
}

/// `404 Not Found`, or `HTTP 499` for a status without a standard name.
pub(crate) fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
    {
        Some(reason) => format!("{status} {reason}"),
        None => format!("HTTP {status}"),
    }
}

fn seconds(d: Duration) -> String {
    if d.as_millis().is_multiple_of(1000) {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
