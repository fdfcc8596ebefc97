//! The objects a distributed Map reads (`ItemReader`) and writes (`ResultWriter`): an S3-like
//! store, behind a small trait so the engine does not depend on an AWS SDK.
//!
//! [`DirStore`] serves a local directory (a bucket is a subdirectory), [`MemoryStore`] a map
//! held in memory (tests). An implementation over the S3 API (for real S3 or a local S3 API
//! server) lives outside the engine, in the CLI crate. Without a store, a Map with an
//! `ItemReader` or `ResultWriter` fails with [`crate::errors::ITEM_READER_FAILED`] or
//! [`crate::errors::RESULT_WRITER_FAILED`] and a cause that says how to configure one.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;

/// The largest object the engine reads or writes: bigger objects are refused with
/// [`ObjectError::TooLarge`] before they are read. The service reads bigger files (it streams
/// them); the engine holds an object in memory while it parses it, so it bounds that memory.
pub const MAX_OBJECT_BYTES: u64 = 64 * 1024 * 1024;

/// The most objects a `listObjectsV2` item reader lists before it stops with a named error
/// (see [`crate::limits::MAX_MAP_RUN_ITEMS`]): pages are read one at a time, so a bucket of a
/// million keys costs one page of memory before the limit is hit.
pub const LIST_PAGE_SIZE: usize = 1000;

/// One object of a listing, with the fields the service gives a `listObjectsV2` item
/// (`Etag`, `Key`, `LastModified`, `Size`, `StorageClass`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectSummary {
    /// The object's key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its entity tag, with the quotes S3 writes around it.
    pub etag: String,
    /// When it was last written, as S3 prints it (`2024-01-01T00:00:00.000Z`).
    pub last_modified: String,
    /// `STANDARD` unless the store knows better.
    pub storage_class: String,
}

/// One page of a listing, and the token of the next page (none after the last).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListPage {
    /// The objects of this page, in key order.
    pub objects: Vec<ObjectSummary>,
    /// The continuation token of the next page.
    pub next: Option<String>,
}

/// Why a store could not serve a request.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ObjectError {
    /// No such bucket.
    #[error("The specified bucket does not exist: {0}")]
    NoSuchBucket(String),
    /// No such key in the bucket.
    #[error("The specified key does not exist: s3://{bucket}/{key}")]
    NoSuchKey {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
    /// A bucket or key that is empty, absolute, or holds `..` (it would leave the store's
    /// directory).
    #[error("Invalid bucket or key: {0}")]
    InvalidName(String),
    /// An object over [`MAX_OBJECT_BYTES`].
    #[error("The object s3://{bucket}/{key} has {size} bytes, more than the {max} sfn-local reads")]
    TooLarge {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Anything else (an I/O error, the S3 API's answer).
    #[error("{0}")]
    Other(String),
}

impl ObjectError {
    /// [`ObjectError::NoSuchKey`] for `bucket` and `key`.
    pub fn no_such_key(bucket: &str, key: &str) -> Self {
        Self::NoSuchKey {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
        }
    }

    /// [`ObjectError::TooLarge`]: the object `bucket`/`key` has `size` bytes, over `max`.
    pub fn too_large(bucket: &str, key: &str, size: u64, max: u64) -> Self {
        Self::TooLarge {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            size,
            max,
        }
    }
}

/// What a distributed Map reads and writes: S3's `GetObject`, `ListObjectsV2` and `PutObject`,
/// reduced to what the Map needs.
#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// The object's bytes; [`ObjectError::TooLarge`] past `max_bytes`, without reading it.
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, ObjectError>;

    /// One page (at most [`LIST_PAGE_SIZE`] objects) of the keys under `prefix`, in key order,
    /// from the page `continuation` names (the first when `None`).
    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<ListPage, ObjectError>;

    /// Writes the object, replacing any before; the bucket must exist.
    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError>;
}

/// Refuses a bucket or key that would leave the store: empty, absolute, or with a `..`
/// component (S3 allows such keys; a store over a directory cannot serve them safely).
fn relative(name: &str) -> Result<&Path, ObjectError> {
    let path = Path::new(name);
    let safe = !name.is_empty()
        && !name.contains('\0')
        && path.components().all(|c| matches!(c, Component::Normal(_)));
    if safe {
        Ok(path)
    } else {
        Err(ObjectError::InvalidName(name.to_owned()))
    }
}

/// A store over a local directory: bucket `b`, key `k` is the file `root/b/k`.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    /// A store over `root` (each bucket a subdirectory).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, ObjectError> {
        if bucket.contains('/') {
            return Err(ObjectError::InvalidName(bucket.to_owned()));
        }
        Ok(self.root.join(relative(bucket)?))
    }

    /// The file of `key` in the bucket folder `dir`. A path through a symbolic link below the
    /// bucket is refused: listings do not follow links, so reads and writes do not either (a
    /// link would reach files outside the directory).
    fn object_path(dir: &Path, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let relative = relative(key)?;
        let mut path = dir.to_path_buf();
        for component in relative.components() {
            path.push(component);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ObjectError::Other(format!(
                        "s3://{bucket}/{key} goes through a symbolic link, which sfn-local does not follow"
                    )));
                }
                Ok(_) => {}
                // Nothing further exists (a write creates it).
                Err(_) => break,
            }
        }
        Ok(dir.join(relative))
    }

    fn existing_bucket(&self, bucket: &str) -> Result<PathBuf, ObjectError> {
        let dir = self.bucket_dir(bucket)?;
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(ObjectError::NoSuchBucket(bucket.to_owned()))
        }
    }
}

fn io_error(e: std::io::Error) -> ObjectError {
    ObjectError::Other(e.to_string())
}

/// One page of a directory's listing: the first [`LIST_PAGE_SIZE`] + 1 keys (in order) under
/// `prefix` past `after`, kept in a bounded heap while the tree is walked, so a directory of a
/// million files costs a page of memory. Entries are told apart by their type, which reading
/// the directory gives, with no `stat` per file.
struct PageWalk<'a> {
    base: &'a Path,
    prefix: &'a str,
    after: Option<&'a str>,
    /// The smallest keys so far (a max-heap: its top is the first to drop).
    keys: std::collections::BinaryHeap<String>,
}

/// The deepest folder a listing walks into (a key with more `/`s than this is not listed, an
/// error says so): the walk recurses once a level.
const MAX_LIST_DEPTH: usize = 128;

impl PageWalk<'_> {
    /// Walks `dir`, `depth` folders below the bucket. Symbolic links are not followed (the
    /// entry's own type is read), so a link cannot make the walk loop.
    fn walk(&mut self, dir: &Path, depth: usize) -> std::io::Result<()> {
        if depth > MAX_LIST_DEPTH {
            return Err(std::io::Error::other(format!(
                "{} is more than {MAX_LIST_DEPTH} folders deep; sfn-local lists no deeper",
                dir.display()
            )));
        }
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                self.walk(&path, depth + 1)?;
            } else if kind.is_file()
                && let Ok(rel) = path.strip_prefix(self.base)
                // A name that is not UTF-8 is no S3 key: such a file is not listed.
                && let Some(key) = rel
                    .components()
                    .map(|c| c.as_os_str().to_str())
                    .collect::<Option<Vec<_>>>()
                    .map(|parts| parts.join("/"))
            {
                if !key.starts_with(self.prefix) || self.after.is_some_and(|a| key.as_str() <= a) {
                    continue;
                }
                if self.keys.len() <= LIST_PAGE_SIZE {
                    self.keys.push(key);
                } else if self.keys.peek().is_some_and(|top| key < *top) {
                    self.keys.pop();
                    self.keys.push(key);
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for DirStore {
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, ObjectError> {
        use std::io::Read as _;
        let path = Self::object_path(&self.existing_bucket(bucket)?, bucket, key)?;
        // Only a regular file is an object; checked before it is opened, as opening a named
        // pipe would wait for a writer for ever.
        if !std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            return Err(ObjectError::no_such_key(bucket, key));
        }
        let file = std::fs::File::open(&path).map_err(|_| ObjectError::no_such_key(bucket, key))?;
        let meta = file.metadata().map_err(io_error)?;
        if meta.len() > max_bytes {
            return Err(ObjectError::too_large(bucket, key, meta.len(), max_bytes));
        }
        // At most one byte past the limit: a file that grew since is still refused.
        let mut body = Vec::with_capacity(meta.len() as usize);
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(io_error)?;
        if body.len() as u64 > max_bytes {
            return Err(ObjectError::too_large(
                bucket,
                key,
                body.len() as u64,
                max_bytes,
            ));
        }
        Ok(body)
    }

    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<ListPage, ObjectError> {
        let dir = self.existing_bucket(bucket)?;
        // A directory listing is neither sorted nor paged: each page walks the tree and keeps
        // the first keys past the token.
        let mut page = PageWalk {
            base: &dir,
            prefix,
            after: continuation,
            keys: std::collections::BinaryHeap::new(),
        };
        page.walk(&dir, 0).map_err(io_error)?;
        let mut keys = page.keys.into_sorted_vec();
        let more = keys.len() > LIST_PAGE_SIZE;
        keys.truncate(LIST_PAGE_SIZE);
        let next = more.then(|| keys.last().cloned()).flatten();
        let mut objects = Vec::with_capacity(keys.len());
        for key in keys {
            let meta = std::fs::metadata(dir.join(&key))
                .map_err(|e| ObjectError::Other(format!("s3://{bucket}/{key}: {e}")))?;
            let modified = meta
                .modified()
                .ok()
                .map(chrono::DateTime::<chrono::Utc>::from)
                .unwrap_or_default();
            objects.push(ObjectSummary {
                etag: format!(
                    "\"{:016x}{:016x}\"",
                    meta.len(),
                    modified.timestamp_millis()
                ),
                key,
                size: meta.len(),
                last_modified: crate::clock::iso(modified),
                storage_class: "STANDARD".to_owned(),
            });
        }
        Ok(ListPage { objects, next })
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        // As S3, a write needs its bucket.
        let path = Self::object_path(&self.existing_bucket(bucket)?, bucket, key)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_error)?;
        }
        std::fs::write(&path, body).map_err(io_error)
    }
}

/// A store held in memory: `bucket/key` → bytes. Buckets exist once an object is in them (or
/// [`MemoryStore::create_bucket`] made them).
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    buckets: Mutex<std::collections::BTreeSet<String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes an empty bucket.
    pub fn create_bucket(&self, bucket: &str) {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(bucket.to_owned());
    }

    /// Puts an object (and its bucket), at once.
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        self.create_bucket(bucket);
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((bucket.to_owned(), key.to_owned()), body.into());
    }

    /// An object's bytes, if it is there.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(bucket.to_owned(), key.to_owned()))
            .cloned()
    }

    /// Every key of a bucket, in order.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.objects
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    fn has_bucket(&self, bucket: &str) -> bool {
        self.buckets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(bucket)
    }
}

#[async_trait]
impl ObjectStore for MemoryStore {
    async fn get_object(
        &self,
        bucket: &str,
        key: &str,
        max_bytes: u64,
    ) -> Result<Vec<u8>, ObjectError> {
        if !self.has_bucket(bucket) {
            return Err(ObjectError::NoSuchBucket(bucket.to_owned()));
        }
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let Some(body) = objects.get(&(bucket.to_owned(), key.to_owned())) else {
            return Err(ObjectError::no_such_key(bucket, key));
        };
        if body.len() as u64 > max_bytes {
            return Err(ObjectError::too_large(
                bucket,
                key,
                body.len() as u64,
                max_bytes,
            ));
        }
        Ok(body.clone())
    }

    async fn list_objects_v2(
        &self,
        bucket: &str,
        prefix: &str,
        continuation: Option<&str>,
    ) -> Result<ListPage, ObjectError> {
        if !self.has_bucket(bucket) {
            return Err(ObjectError::NoSuchBucket(bucket.to_owned()));
        }
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let mut page: Vec<ObjectSummary> = objects
            .iter()
            .filter(|((b, k), _)| {
                b == bucket && k.starts_with(prefix) && continuation.is_none_or(|c| k.as_str() > c)
            })
            .take(LIST_PAGE_SIZE + 1)
            .map(|((_, key), body)| ObjectSummary {
                key: key.clone(),
                size: body.len() as u64,
                // S3's ETag of an object put in one part: its MD5.
                etag: format!(
                    "\"{}\"",
                    crate::digest::hash(body, "MD5").unwrap_or_default()
                ),
                last_modified: "1970-01-01T00:00:00.000Z".to_owned(),
                storage_class: "STANDARD".to_owned(),
            })
            .collect();
        let more = page.len() > LIST_PAGE_SIZE;
        page.truncate(LIST_PAGE_SIZE);
        let next = more.then(|| page.last().map(|o| o.key.clone())).flatten();
        Ok(ListPage {
            objects: page,
            next,
        })
    }

    async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), ObjectError> {
        relative(key)?;
        if !self.has_bucket(bucket) {
            return Err(ObjectError::NoSuchBucket(bucket.to_owned()));
        }
        self.insert(bucket, key, body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_store_are_refused() {
        for bad in ["", "../x", "a/../../x", "/etc/passwd", "a\0b"] {
            assert!(relative(bad).is_err(), "{bad}");
        }
        assert!(relative("a/b.json").is_ok());
    }

    #[tokio::test]
    async fn a_dir_store_reads_lists_and_writes() {
        let dir = std::env::temp_dir().join(format!("sfn-local-objects-{}", uuid::Uuid::new_v4()));
        let store = DirStore::new(&dir);
        assert!(matches!(
            store.put_object("b", "x", Vec::new()).await,
            Err(ObjectError::NoSuchBucket(_))
        ));
        std::fs::create_dir_all(dir.join("b")).unwrap();
        store
            .put_object("b", "in/x.json", b"[1]".to_vec())
            .await
            .unwrap();
        store
            .put_object("b", "in/y.json", b"[2, 3]".to_vec())
            .await
            .unwrap();
        assert_eq!(
            store.get_object("b", "in/x.json", 10).await.unwrap(),
            b"[1]"
        );
        assert!(matches!(
            store.get_object("b", "in/y.json", 3).await,
            Err(ObjectError::TooLarge { size: 6, .. })
        ));
        assert!(matches!(
            store.get_object("b", "../b/in/x.json", 10).await,
            Err(ObjectError::InvalidName(_))
        ));
        assert!(matches!(
            store.get_object("nope", "x", 10).await,
            Err(ObjectError::NoSuchBucket(_))
        ));
        let page = store.list_objects_v2("b", "in/", None).await.unwrap();
        let keys: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["in/x.json", "in/y.json"]);
        assert_eq!(page.objects[1].size, 6);
        assert_eq!(page.next, None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn a_listing_stops_at_a_bounded_depth_and_follows_no_link() {
        let dir = std::env::temp_dir().join(format!("sfn-local-deep-{}", uuid::Uuid::new_v4()));
        let store = DirStore::new(&dir);
        let deep = (0..=MAX_LIST_DEPTH).fold(dir.join("b"), |p, _| p.join("d"));
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x"), b"x").unwrap();
        let error = store.list_objects_v2("b", "", None).await.unwrap_err();
        assert!(error.to_string().contains("folders deep"), "{error}");
        std::fs::remove_dir_all(dir.join("b/d")).unwrap();
        // A link back to the bucket is not walked into.
        std::fs::write(dir.join("b/y"), b"y").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.join("b"), dir.join("b/loop")).unwrap();
        let page = store.list_objects_v2("b", "", None).await.unwrap();
        let keys: Vec<_> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["y"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A planted link cannot make a read or a write leave the directory.
    #[cfg(unix)]
    #[tokio::test]
    async fn reads_and_writes_follow_no_link() {
        let dir = std::env::temp_dir().join(format!("sfn-local-links-{}", uuid::Uuid::new_v4()));
        let outside = dir.join("outside");
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret"), b"secret").unwrap();
        std::os::unix::fs::symlink(outside.join("secret"), dir.join("b/file")).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("b/folder")).unwrap();
        let store = DirStore::new(&dir);
        for key in ["file", "folder/secret"] {
            let error = store.get_object("b", key, 100).await.unwrap_err();
            assert!(error.to_string().contains("symbolic link"), "{error}");
        }
        for key in ["file", "folder/new", "folder/deeper/new"] {
            let error = store.put_object("b", key, b"x".to_vec()).await.unwrap_err();
            assert!(error.to_string().contains("symbolic link"), "{error}");
        }
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"secret");
        assert!(!outside.join("new").exists() && !outside.join("deeper").exists());
        std::fs::remove_dir_all(&dir).ok();
    }

    /// A named pipe is no object (opening it would wait for a writer for ever), and a file
    /// whose name is not UTF-8 is no key: neither is read nor listed.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pipes_and_names_that_are_not_utf8_are_no_objects() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = std::env::temp_dir().join(format!("sfn-local-odd-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(dir.join("b/pipe"))
            .status()
            .unwrap();
        assert!(made.success());
        std::fs::write(
            dir.join("b").join(std::ffi::OsStr::from_bytes(b"caf\xe9")),
            b"x",
        )
        .unwrap();
        std::fs::write(dir.join("b/plain"), b"x").unwrap();
        let store = DirStore::new(&dir);
        // On a worker of its own, so a read that blocks fails the test instead of hanging it.
        let reading = {
            let store = store.clone();
            tokio::spawn(async move { store.get_object("b", "pipe", 100).await })
        };
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), reading)
            .await
            .expect("no wait for a writer")
            .unwrap();
        assert!(
            matches!(read, Err(ObjectError::NoSuchKey { .. })),
            "{read:?}"
        );
        let page = store.list_objects_v2("b", "", None).await.unwrap();
        let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["plain"]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn a_dir_store_lists_in_pages_in_key_order() {
        let dir = std::env::temp_dir().join(format!("sfn-local-pages-{}", uuid::Uuid::new_v4()));
        let store = DirStore::new(&dir);
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let total = LIST_PAGE_SIZE * 2 + 5;
        for i in (0..total).rev() {
            let key = format!("p/{}/{i:05}.txt", i % 3);
            store.put_object("b", &key, vec![b'x']).await.unwrap();
        }
        let mut listed = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = store
                .list_objects_v2("b", "p/", token.as_deref())
                .await
                .unwrap();
            assert!(page.objects.len() <= LIST_PAGE_SIZE);
            listed.extend(page.objects.into_iter().map(|o| o.key));
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        let mut expected: Vec<String> = (0..total)
            .map(|i| format!("p/{}/{i:05}.txt", i % 3))
            .collect();
        expected.sort();
        assert_eq!(listed, expected);
        std::fs::remove_dir_all(&dir).ok();
    }
}
