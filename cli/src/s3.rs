//! The objects of a distributed Map on the S3 API: [`S3Store`] implements
//! `sfn_local::ObjectStore` with `aws-sdk-s3`, for real S3 or a local S3 API server (moto).
//! It lives here rather than in `sfn-local` so the engine builds no AWS SDK: a crate that only
//! runs machines on local files (`sfn_local::DirStore`) does not pay for it.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use sfn_local::objects::{LIST_PAGE_SIZE, ListPage, ObjectError, ObjectStore, ObjectSummary};

/// An object store over the S3 API.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    /// A store over this client.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// A store for an S3 API at `endpoint` (moto: `http://127.0.0.1:5000`), with path-style
    /// addressing (a local server has no per-bucket host names); credentials and region from
    /// the usual AWS environment and profile (`us-east-1` when neither names a region).
    pub async fn for_endpoint(endpoint: &str) -> Self {
        let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .load()
            .await;
        // A server that accepts the connection and then stalls must not hang the execution.
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .operation_timeout(Duration::from_secs(300))
            .build();
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(true)
            .timeout_config(timeouts);
        if shared.region().is_none() {
            config = config.region(aws_config::Region::new("us-east-1"));
        }
        let config = config.build();
        Self::new(Client::from_conf(config))
    }
}

/// An SDK error as the store's error: a missing bucket or key by name, anything else by its
/// message and code.
fn error<E>(bucket: &str, key: &str, e: aws_sdk_s3::error::SdkError<E>) -> ObjectError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug,
{
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default();
    match code {
        "NoSuchBucket" => ObjectError::NoSuchBucket(bucket.to_owned()),
        "NoSuchKey" | "NotFound" => ObjectError::no_such_key(bucket, key),
        _ => {
            let message = e
                .as_service_error()
                .and_then(|s| s.message())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{e:?}"));
            ObjectError::Other(format!("S3 {code}: {message}"))
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, ObjectError> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| error(bucket, key, e))?;
        let size = object.content_length().unwrap_or_default().max(0) as u64;
        if size > max_bytes {
            return Err(ObjectError::too_large(bucket, key, size, max_bytes));
        }
        // Read chunk by chunk, so a server that sends more than it announced is still cut off.
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(size as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| ObjectError::Other(e.to_string()))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(ObjectError::too_large(
                    bucket,
                    key,
                    bytes.len() as u64,
                    max_bytes,
                ));
            }
        }
        Ok(bytes)
    }

    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<ListPage, ObjectError> {
        let mut request = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(LIST_PAGE_SIZE as i32);
        if !prefix.is_empty() {
            request = request.prefix(prefix);
        }
        if let Some(token) = continuation {
            request = request.continuation_token(token);
        }
        let page = request.send().await.map_err(|e| error(bucket, "", e))?;
        // A listed object without its key or size is a broken reply, not an empty object.
        let broken = |what: &str| {
            ObjectError::Other(format!(
                "S3 ListObjectsV2 of bucket {bucket}: an object without its {what}"
            ))
        };
        let objects = page
            .contents()
            .iter()
            .map(|o| {
                Ok(ObjectSummary {
                    key: o.key().ok_or_else(|| broken("Key"))?.to_owned(),
                    size: o.size().ok_or_else(|| broken("Size"))?.max(0) as u64,
                    etag: o.e_tag().unwrap_or_default().to_owned(),
                    last_modified: o
                        .last_modified()
                        .and_then(|t| t.fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime).ok())
                        .unwrap_or_default(),
                    storage_class: o
                        .storage_class()
                        .map_or("STANDARD", |c| c.as_str())
                        .to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // A truncated page without a token would end the listing early, as if it were whole; a
        // token is followed unless the page says it is the last.
        let next = match (page.is_truncated(), page.next_continuation_token()) {
            (Some(true) | None, Some(token)) => Some(token.to_owned()),
            (Some(true), None) => {
                return Err(ObjectError::Other(format!(
                    "S3 ListObjectsV2 of bucket {bucket}: a truncated page without a NextContinuationToken"
                )));
            }
            _ => None,
        };
        Ok(ListPage { objects, next })
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| error(bucket, key, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    /// An S3 API on loopback that answers every request with `body` (XML, status 200).
    fn answering(body: &'static str) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let mut request = [0u8; 8192];
                let _ = stream.read(&mut request);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        format!("http://{address}")
    }

    fn store(endpoint: &str) -> S3Store {
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::for_tests())
            .force_path_style(true)
            .build();
        S3Store::new(Client::from_conf(config))
    }

    /// A listed object without its key is a broken reply, not an object named "".
    #[tokio::test]
    async fn a_listed_object_without_a_key_is_an_error() {
        let endpoint = answering(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated><Contents><Size>3</Size></Contents></ListBucketResult>"#,
        );
        let error = store(&endpoint)
            .list_objects_v2("b", "", None)
            .await
            .expect_err("no key");
        assert!(error.to_string().contains("without its Key"), "{error}");
    }

    /// A page that holds a continuation token but does not say whether it is truncated is
    /// followed, not taken as the last.
    #[tokio::test]
    async fn a_token_without_is_truncated_is_followed() {
        let endpoint = answering(
            r#"<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Contents><Key>a</Key><Size>1</Size></Contents><NextContinuationToken>t2</NextContinuationToken></ListBucketResult>"#,
        );
        let page = store(&endpoint)
            .list_objects_v2("b", "", None)
            .await
            .expect("a page");
        assert_eq!(page.objects.len(), 1);
        assert_eq!(page.next.as_deref(), Some("t2"));
    }
}
