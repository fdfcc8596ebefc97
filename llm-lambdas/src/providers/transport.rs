//! The wire: the HTTP client, sending a request, reading the reply with a size cap (compressed
//! bodies too), `retry-after`, and what a failure without an HTTP reply says.

use std::time::Duration;

use agent_builder::Provider;

use super::config::{ProviderConfigError, base_url_variable};
use crate::error::LlmError;

/// An HTTP client with a timeout, shared by the HTTP adapters.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client, ProviderConfigError> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| ProviderConfigError::HttpClient(e.to_string()))
}

/// A reply read off the wire: its status, its `retry-after` and its body (decompressed, at most
/// [`MAX_REPLY_BYTES`]). What each provider's [`super::http_model::HttpApi`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReply {
    /// The HTTP status.
    pub status: u16,
    /// Seconds the server asked to wait (`retry-after`, `retry-after-ms`, OpenAI's reset headers).
    pub retry_after_seconds: Option<u64>,
    /// The body as text.
    pub body: String,
}

/// What went wrong below an error, read down its `source()` chain: the innermost I/O error's
/// kind when there is one (`connection refused`), else the chain's messages joined, each once.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut messages: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        let text = e.to_string();
        // Wrappers often repeat their source's text: keep each piece once, and skip hyper's
        // generic `client error (Connect)`, which says nothing the rest does not.
        if !text.is_empty()
            && !text.starts_with("client error (")
            && !messages.iter().any(|m| m.contains(&text))
        {
            messages.push(text);
        }
        current = e.source();
    }
    let all = messages.join(": ");
    let lower = all.to_ascii_lowercase();
    let last = messages.last().cloned().unwrap_or_default();
    use std::io::ErrorKind as K;
    match io_kind {
        Some(K::ConnectionRefused) => return "connection refused".to_string(),
        Some(K::ConnectionReset) => return "the connection was reset".to_string(),
        Some(K::ConnectionAborted) => return "the connection was aborted".to_string(),
        Some(K::TimedOut) => return "the connection timed out".to_string(),
        _ => {}
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        format!("the host name could not be resolved ({last})")
    } else if [
        "certificate",
        "tls",
        "handshake",
        "corrupt message",
        "alert",
        "peer",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        format!("the TLS connection failed ({last})")
    } else if messages.len() > 1 {
        // The outermost message only repeats the URL; the rest says what happened.
        messages[1..].join(": ")
    } else {
        all
    }
}

/// The error for a request that got no HTTP reply (or whose reply broke off).
fn transport_error(provider: Provider, timeout: Duration, e: &reqwest::Error) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout {
            provider: provider.to_string(),
            seconds: timeout.as_secs(),
        };
    }
    let url = e
        .url()
        .map(|u| {
            // A URL never carries a key here (keys travel in headers), but drop any query anyway.
            let mut u = u.clone();
            u.set_query(None);
            u.to_string()
        })
        .unwrap_or_else(|| "the provider".to_string());
    let cause = root_cause(e);
    let variable = base_url_variable(provider);
    let message = if e.is_builder() {
        format!(
            "the request could not be built ({cause}); check that the API key is one line with no spaces, and {variable}"
        )
    } else if e.is_connect() {
        format!("could not connect to {url}: {cause}; check {variable}")
    } else if e.is_body() || e.is_decode() {
        format!("the reply from {url} broke off: {cause}; the state machine retries")
    } else {
        format!("the request to {url} failed: {cause}; check {variable} and the network")
    };
    LlmError::Network {
        provider: provider.to_string(),
        message,
    }
}

/// The most bytes a reply may hold, on the wire and once decompressed: 16 MiB.
///
/// One turn's reply is a few KB, a long one a few hundred (a model's `max_tokens` bounds it), so
/// nothing a provider sends comes near this. Without a cap a hostile or broken server can make
/// the Lambda allocate without bound: a 200 KB gzip body inflating to 200 MB took 626 MB.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// Sends a request and reads the whole reply, at most [`MAX_REPLY_BYTES`] of it, mapping
/// transport failures to [`LlmError`].
pub(crate) async fn send(
    provider: Provider,
    request: reqwest::RequestBuilder,
    timeout: Duration,
) -> Result<RawReply, LlmError> {
    let transport = |e: reqwest::Error| transport_error(provider, timeout, &e);
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    let retry_after_seconds = retry_after(response.headers());
    let encoding = response
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if response
        .content_length()
        .is_some_and(|n| n > MAX_REPLY_BYTES as u64)
    {
        return Err(too_large(provider, status, "on the wire"));
    }
    // Read chunk by chunk, so a body without a length (chunked) is cut at the cap too.
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > MAX_REPLY_BYTES {
            return Err(too_large(provider, status, "on the wire"));
        }
        bytes.extend_from_slice(&chunk);
    }
    let body = decoded_body(&encoding, &bytes)
        .map_err(|TooLarge| too_large(provider, status, "once decompressed"))?;
    Ok(RawReply {
        status,
        retry_after_seconds,
        body,
    })
}

/// A body over [`MAX_REPLY_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge;

fn too_large(provider: Provider, status: u16, where_: &str) -> LlmError {
    LlmError::ServerError {
        provider: provider.to_string(),
        status,
        message: format!(
            "the reply is larger than {} MiB {where_}, which no model turn is; the rest was not read. Check the base URL: something other than the provider (or a broken proxy) answered",
            MAX_REPLY_BYTES / (1024 * 1024)
        ),
    }
}

/// The body as text, decompressed when it is gzip or deflate (zlib) data, never more than
/// [`MAX_REPLY_BYTES`] of it (a decompression bomb stops at the cap, having allocated no more).
///
/// The adapters never ask for compression, but a proxy or a recorded reply may still carry
/// `content-encoding: gzip`. The header alone is not trusted: recorders often keep it while
/// storing the decoded body, so the bytes are decompressed only when they start with the
/// format's magic bytes, and are read as they are otherwise.
pub(crate) fn decoded_body(encoding: &str, bytes: &[u8]) -> Result<String, TooLarge> {
    decoded_body_capped(encoding, bytes, MAX_REPLY_BYTES)
}

fn decoded_body_capped(encoding: &str, bytes: &[u8], cap: usize) -> Result<String, TooLarge> {
    use std::io::Read;
    let mut out = Vec::new();
    // One byte over the cap tells a body of exactly the cap from a bigger one.
    let limit = cap as u64 + 1;
    let decoded = if bytes.starts_with(&[0x1f, 0x8b]) {
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out)
            .is_ok()
    } else if encoding.contains("deflate") && bytes.first() == Some(&0x78) {
        flate2::read::ZlibDecoder::new(bytes)
            .take(limit)
            .read_to_end(&mut out)
            .is_ok()
    } else {
        false
    };
    if out.len() > cap || bytes.len() > cap {
        return Err(TooLarge);
    }
    let text = if decoded { &out[..] } else { bytes };
    Ok(String::from_utf8_lossy(text)
        .trim_start_matches('\u{feff}')
        .to_string())
}

/// Seconds to wait from `retry-after-ms` or `retry-after` (seconds; an HTTP date counts as
/// unknown), else from OpenAI's `x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens`
/// (`"120ms"`, `"6m0s"`), the longer of the two.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some((ms / 1000.0).ceil().max(0.0) as u64);
    }
    if let Some(s) = get("retry-after").and_then(|v| v.trim().parse::<f64>().ok()) {
        return Some(s.ceil().max(0.0) as u64);
    }
    ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]
        .iter()
        .filter_map(|name| get(name).and_then(go_duration_seconds))
        .reduce(f64::max)
        .map(|s| s.ceil().max(0.0) as u64)
}

/// Parses a Go-style duration (`"1h2m3.5s"`, `"120ms"`, `"6m0s"`) to seconds.
fn go_duration_seconds(text: &str) -> Option<f64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return None,
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rate_limit_waits() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            "x-ratelimit-reset-requests",
            reqwest::header::HeaderValue::from_static("120ms"),
        );
        headers.insert(
            "x-ratelimit-reset-tokens",
            reqwest::header::HeaderValue::from_static("6m0s"),
        );
        assert_eq!(retry_after(&headers), Some(360));
        headers.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("7"),
        );
        assert_eq!(retry_after(&headers), Some(7));
        assert_eq!(go_duration_seconds("1h2m3.5s"), Some(3723.5));
        assert_eq!(go_duration_seconds("soon"), None);
    }

    #[test]
    fn bodies_decode_whatever_the_encoding_header_says() {
        use std::io::Write;
        let text = "{\"a\": 1}";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = gz.write_all(text.as_bytes());
        let gzipped = gz.finish().unwrap_or_default();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = zl.write_all(text.as_bytes());
        let zlibbed = zl.finish().unwrap_or_default();
        let ok = |s: &str| Ok::<String, TooLarge>(s.to_string());
        assert_eq!(decoded_body("gzip", &gzipped), ok(text));
        assert_eq!(decoded_body("", &gzipped), ok(text));
        assert_eq!(decoded_body("deflate", &zlibbed), ok(text));
        // A recorder kept the header but stored the decoded body.
        assert_eq!(decoded_body("gzip", text.as_bytes()), ok(text));
        assert_eq!(decoded_body("", "\u{feff}{}".as_bytes()), ok("{}"));
    }

    #[test]
    fn a_decompression_bomb_stops_at_the_cap() {
        use std::io::Write;
        // 4 MB of zeros compress to a few KB; with a 1 MB cap the decoder stops after 1 MB + 1.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for _ in 0..64 {
            let _ = gz.write_all(&[0u8; 65536]);
        }
        let bomb = gz.finish().unwrap_or_default();
        assert!(bomb.len() < 20_000, "{}", bomb.len());
        assert_eq!(decoded_body_capped("gzip", &bomb, 1 << 20), Err(TooLarge));
        assert!(decoded_body_capped("gzip", &bomb, 8 << 20).is_ok());
        assert_eq!(decoded_body_capped("", &[b'x'; 11], 10), Err(TooLarge));
    }

    /// An error wrapping another, as reqwest and hyper wrap the I/O error.
    #[derive(Debug)]
    struct Wrapped(
        &'static str,
        Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    );

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1
                .as_deref()
                .map(|e| e as &(dyn std::error::Error + 'static))
        }
    }

    #[test]
    fn root_causes_come_from_the_source_chain() {
        let chain = |inner: Box<dyn std::error::Error + Send + Sync>| {
            Wrapped(
                "error sending request for url (http://h/v1/x)",
                Some(Box::new(Wrapped("client error (Connect)", Some(inner)))),
            )
        };
        let refused = chain(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        )));
        assert_eq!(root_cause(&refused), "connection refused");
        let dns = chain(Box::new(Wrapped(
            "dns error",
            Some(Box::new(Wrapped(
                "failed to lookup address information",
                None,
            ))),
        )));
        assert_eq!(
            root_cause(&dns),
            "the host name could not be resolved (failed to lookup address information)"
        );
        let tls = chain(Box::new(Wrapped(
            "invalid peer certificate: UnknownIssuer",
            None,
        )));
        assert_eq!(
            root_cause(&tls),
            "the TLS connection failed (invalid peer certificate: UnknownIssuer)"
        );
        let other = chain(Box::new(Wrapped("something odd", None)));
        assert_eq!(root_cause(&other), "something odd");
    }
}
