//! Where backups go: `s3://bucket/prefix` (AWS S3, Cloudflare R2, MinIO and other
//! S3-compatible stores) or `file:///path`, opened as an `object_store` store.
//!
//! S3 credentials and endpoints come from the standard AWS environment variables
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`) and the server's `--s3-endpoint` flag, which
//! wins (an R2 account is an endpoint URL, `https://<account>.r2.cloudflarestorage.com`).
//! No credential is ever part of a message: store errors are reported by kind.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};

use crate::error::{Error, Result};

/// How to reach S3-compatible stores, beyond the AWS environment variables.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// An S3 endpoint URL, for stores other than AWS (R2, MinIO); `http://` allows
    /// plain HTTP.
    pub s3_endpoint: Option<String>,
}

/// An opened backup location.
#[derive(Debug, Clone)]
pub struct Location {
    /// As the user wrote it, for messages.
    pub url: String,
    store: Arc<dyn ObjectStore>,
    prefix: StorePath,
}

impl Location {
    pub fn open(url: &str, config: &StoreConfig) -> Result<Location> {
        let invalid = || {
            Error::InvalidInput(format!(
                "invalid backup location \"{url}\": use s3://bucket/prefix or file:///absolute/path"
            ))
        };
        let (store, prefix): (Arc<dyn ObjectStore>, &str) = if let Some(path) =
            url.strip_prefix("file://")
        {
            if !path.starts_with('/') {
                return Err(invalid());
            }
            std::fs::create_dir_all(path)
                .map_err(|e| Error::Store(format!("cannot create backup directory {path}: {e}")))?;
            let store = LocalFileSystem::new_with_prefix(path)
                .map_err(|e| Error::Store(format!("cannot open {path}: {e}")))?;
            (Arc::new(store), "")
        } else if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(invalid());
            }
            (Arc::new(s3_store(bucket, config)?), prefix)
        } else {
            return Err(invalid());
        };
        Ok(Location {
            url: url.to_string(),
            store,
            prefix: StorePath::from(prefix.trim_matches('/')),
        })
    }

    fn path(&self, key: &str) -> StorePath {
        key.split('/')
            .filter(|part| !part.is_empty())
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// Every key under the prefix (and below `under`, if given), with its size.
    pub async fn list(&self, under: &str) -> Result<Vec<(String, u64)>> {
        let root = self.path(under);
        let listed: Vec<_> = self
            .store
            .list(Some(&root))
            .try_collect()
            .await
            .map_err(|e| self.error("list", under, e))?;
        let skip = self.prefix.as_ref().len() + usize::from(!self.prefix.as_ref().is_empty());
        Ok(listed
            .into_iter()
            .map(|meta| (meta.location.as_ref()[skip..].to_string(), meta.size))
            .collect())
    }

    pub async fn put(&self, key: &str, bytes: bytes::Bytes) -> Result<()> {
        self.store
            .put(&self.path(key), PutPayload::from_bytes(bytes))
            .await
            .map_err(|e| self.error("upload", key, e))?;
        Ok(())
    }

    /// Starts uploading a large object in parts of `part_bytes` (S3 wants 5 MiB or
    /// more each).
    pub async fn upload_in_parts(&self, key: &str, part_bytes: usize) -> Result<Parts<'_>> {
        let upload = self
            .store
            .put_multipart(&self.path(key))
            .await
            .map_err(|e| self.error("upload", key, e))?;
        Ok(Parts {
            location: self,
            key: key.to_string(),
            writer: WriteMultipart::new_with_chunk_size(upload, part_bytes),
        })
    }

    pub async fn get(&self, key: &str) -> Result<bytes::Bytes> {
        self.get_if_present(key)
            .await?
            .ok_or_else(|| Error::Store(format!("\"{key}\" is missing from {}", self.url)))
    }

    /// The object's bytes, or None if there is no such object.
    pub async fn get_if_present(&self, key: &str) -> Result<Option<bytes::Bytes>> {
        let got = match self.store.get(&self.path(key)).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error("download", key, e)),
        };
        let bytes = got
            .bytes()
            .await
            .map_err(|e| self.error("download", key, e))?;
        Ok(Some(bytes))
    }

    /// A store error as a message naming the operation and the object, with advice by
    /// kind. The store's own text is left out where it could echo a credential.
    fn error(&self, operation: &str, key: &str, err: object_store::Error) -> Error {
        let at = format!("{operation} of \"{key}\" at {}", self.url);
        let text = err.to_string();
        let refused = matches!(
            err,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || [
            "403 Forbidden",
            "401 Unauthorized",
            "AccessDenied",
            "SignatureDoesNotMatch",
        ]
        .iter()
        .any(|sign| text.contains(sign));
        if refused {
            return Error::Store(format!(
                "{at} was refused: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and \
                 that the key may read and write the bucket)"
            ));
        }
        match err {
            object_store::Error::NotFound { .. } => {
                Error::Store(format!("{at} failed: no such object or bucket"))
            }
            object_store::Error::Generic { source, .. } => {
                Error::Store(format!("{at} failed: {}", redact(&source.to_string())))
            }
            other => Error::Store(format!("{at} failed: {}", redact(&other.to_string()))),
        }
    }
}

/// A multipart upload in progress (`Location::upload_in_parts`): up to four parts are in
/// flight at once.
pub struct Parts<'a> {
    location: &'a Location,
    key: String,
    writer: WriteMultipart,
}

impl Parts<'_> {
    pub async fn put(&mut self, part: bytes::Bytes) -> Result<()> {
        self.writer
            .wait_for_capacity(4)
            .await
            .map_err(|e| self.location.error("upload", &self.key, e))?;
        self.writer.put(part);
        Ok(())
    }

    pub async fn finish(self) -> Result<()> {
        self.writer
            .finish()
            .await
            .map_err(|e| self.location.error("upload", &self.key, e))?;
        Ok(())
    }

    /// Gives the upload up; the store drops the parts sent.
    pub async fn abort(self) {
        let _ = self.writer.abort().await;
    }
}

/// A store's error text without what follows a credential's name (S3 error bodies can
/// quote the access key id and the string that was signed).
fn redact(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    match [
        "accesskeyid",
        "stringtosign",
        "signature",
        "secret",
        "credential",
    ]
    .iter()
    .filter_map(|word| lower.find(word))
    .min()
    {
        Some(at) => format!("{} [rest withheld: it may quote credentials]", &text[..at]),
        None => text.to_string(),
    }
}

fn s3_store(bucket: &str, config: &StoreConfig) -> Result<object_store::aws::AmazonS3> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if env("AWS_ACCESS_KEY_ID").is_none() || env("AWS_SECRET_ACCESS_KEY").is_none() {
        return Err(Error::Store(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the \
             server's environment"
                .into(),
        ));
    }
    let endpoint = config
        .s3_endpoint
        .clone()
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .or_else(|| env("AWS_ENDPOINT"));
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
        || env("AWS_ALLOW_HTTP").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // A store that does not answer fails the backup within about a minute, rather
    // than after object_store's default retries (up to three minutes per request).
    let options = ClientOptions::new()
        .with_allow_http(allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(60));
    let retry = RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(30),
        ..Default::default()
    };
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(options)
        .with_retry(retry);
    if let Some(endpoint) = endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if env("AWS_REGION").is_none() && env("AWS_DEFAULT_REGION").is_none() {
        builder = builder.with_region("us-east-1"); // what S3-compatible stores accept
    }
    builder.build().map_err(|e| {
        Error::Store(format!(
            "cannot use bucket \"{bucket}\": {}",
            redact(&e.to_string())
        ))
    })
}
