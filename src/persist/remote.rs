//! Backups in S3-compatible object storage (`backup-storage s3://bucket/prefix`), through the `object_store`
//! crate. A backup's objects are `<prefix>/<id>/<file>`, the same files as on local disk; the manifest is put
//! last and deleted first, so a listing never shows a backup whose data is not all there.
//!
//! The server's commands are synchronous, and object_store is async: each call runs on a small runtime of its
//! own, on a thread of its own, so it never nests inside the server's runtime.

use super::backup::{Manifest, MANIFEST};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, PutPayload};
use std::path::Path;
use std::sync::Arc;

/// Where and how to reach the bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// `s3://bucket/prefix`.
    pub url: String,
    /// A custom endpoint (`http://127.0.0.1:9000` for MinIO, moto, ...); empty: AWS.
    pub endpoint: String,
    pub region: String,
    /// Empty: taken from the standard environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, ...).
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// A bucket and prefix holding backups.
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    pub url: String,
}

fn run<T: Send>(f: impl std::future::Future<Output = Result<T, String>> + Send) -> Result<T, String> {
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("object storage: {e}"))?;
            rt.block_on(f)
        })
        .join()
        .unwrap_or_else(|_| Err("object storage: the request panicked".into()))
    })
}

impl Remote {
    /// Parses `s3://bucket/prefix` and builds the client (no request is made yet).
    ///
    /// # Errors
    /// The URL is not `s3://bucket[/prefix]`, or the settings are refused by the client builder.
    pub fn open(s: &S3Settings) -> Result<Remote, String> {
        let rest = s
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("backup-storage '{}': expected s3://bucket/prefix", s.url))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("backup-storage '{}': no bucket", s.url));
        }
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if !s.region.is_empty() {
            b = b.with_region(&s.region);
        }
        if !s.endpoint.is_empty() {
            b = b.with_endpoint(&s.endpoint).with_allow_http(s.endpoint.starts_with("http://"));
        }
        if !s.access_key_id.is_empty() {
            b = b.with_access_key_id(&s.access_key_id).with_secret_access_key(&s.secret_access_key);
        }
        let store = b.build().map_err(|e| format!("backup-storage '{}': {e}", s.url))?;
        Ok(Remote { store: Arc::new(store), prefix: prefix.trim_matches('/').to_string(), url: s.url.clone() })
    }

    fn path(&self, id: &str, file: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(format!("{id}/{file}"))
        } else {
            ObjectPath::from(format!("{}/{id}/{file}", self.prefix))
        }
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) -> String {
        format!("{} {what}: {e}", self.url)
    }

    /// Uploads backup `m`'s files from `dir`: the data first, the manifest last.
    ///
    /// # Errors
    /// A file cannot be read or an upload fails.
    pub fn upload(&self, m: &Manifest, dir: &Path) -> Result<(), String> {
        let stored = m.stored_file();
        let files = [stored.as_str(), MANIFEST];
        run(async {
            for f in files {
                let local = dir.join(f);
                let data = std::fs::read(&local).map_err(|e| format!("{}: {e}", local.display()))?;
                self.store
                    .put(&self.path(&m.id, f), PutPayload::from(data))
                    .await
                    .map_err(|e| self.fail(&format!("upload of {}/{f}", m.id), e))?;
            }
            Ok(())
        })
    }

    /// Downloads backup `m`'s files into `dir`: the data first, the manifest last.
    ///
    /// # Errors
    /// A download fails or a file cannot be written.
    pub fn download(&self, m: &Manifest, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let stored = m.stored_file();
        let files = [stored.as_str(), MANIFEST];
        run(async {
            for f in files {
                let got =
                    self.store.get(&self.path(&m.id, f)).await.map_err(|e| self.fail(&format!("{}/{f}", m.id), e))?;
                let bytes = got.bytes().await.map_err(|e| self.fail(&format!("{}/{f}", m.id), e))?;
                let local = dir.join(f);
                std::fs::write(&local, &bytes).map_err(|e| format!("{}: {e}", local.display()))?;
            }
            Ok(())
        })
    }

    /// The manifest of backup `id`, or `None` when the bucket has none.
    ///
    /// # Errors
    /// The request fails or the manifest is unreadable.
    pub fn manifest(&self, id: &str) -> Result<Option<Manifest>, String> {
        run(async {
            match self.store.get(&self.path(id, MANIFEST)).await {
                Ok(got) => {
                    let bytes = got.bytes().await.map_err(|e| self.fail(id, e))?;
                    serde_json::from_slice(&bytes).map(Some).map_err(|e| self.fail(&format!("{id}/{MANIFEST}"), e))
                }
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.fail(id, e)),
            }
        })
    }

    /// Every complete backup in the bucket, oldest first.
    ///
    /// # Errors
    /// A request fails.
    pub fn list(&self) -> Result<Vec<Manifest>, String> {
        let prefix = (!self.prefix.is_empty()).then(|| ObjectPath::from(self.prefix.as_str()));
        let listed =
            run(async { self.store.list_with_delimiter(prefix.as_ref()).await.map_err(|e| self.fail("listing", e)) })?;
        let mut out = Vec::new();
        for dir in listed.common_prefixes {
            if let Some(id) = dir.filename() {
                if let Some(m) = self.manifest(id)? {
                    out.push(m);
                }
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Deletes backup `m`'s objects: the manifest first.
    ///
    /// # Errors
    /// A request fails.
    pub fn delete(&self, m: &Manifest) -> Result<(), String> {
        let stored = m.stored_file();
        let files = [MANIFEST, stored.as_str()];
        run(async {
            for f in files {
                match self.store.delete(&self.path(&m.id, f)).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(self.fail(&format!("delete of {}/{f}", m.id), e)),
                }
            }
            Ok(())
        })
    }
}
