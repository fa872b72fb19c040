//! S3 objects: metadata in SQLite, bodies in files under the state folder.
//!
//! Bodies are content addressed: `objects/blobs/AB/ABCDEF...` named by the
//! SHA-256 of their bytes, so two objects with the same bytes share a file.
//! An upload is written to a staging file (`objects/staging/`) by the
//! caller; [`Store::put_object`] moves it into place and commits the
//! object's row under the writer lock, so a reader never sees a row whose
//! body is missing. A body no row refers to any more is removed in the same
//! step. A crash between the move and the commit leaves a file no row names;
//! it is harmless and is removed by [`Store::reset_objects`].
//!
//! Multipart uploads keep their parts as files under
//! `objects/uploads/UPLOAD_ID/PART_NUMBER` and rows in `multipart_parts`,
//! until completed (concatenated into one staged body) or aborted.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};

use crate::{Store, StoreError};

/// An object's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    pub bucket: String,
    pub key: String,
    pub size: u64,
    /// The ETag without quotes: MD5 hex, or `HEX-N` for multipart objects.
    pub etag: String,
    pub content_type: String,
    /// Unix milliseconds.
    pub last_modified: i64,
    /// SHA-256 hex of the body: the name of its file.
    pub blob: String,
    /// Checksums the uploader sent and the twin verified, JSON
    /// `{"CRC32": "base64", ...}`.
    pub checksums: String,
    /// `x-amz-meta-*` pairs, JSON `[["name","value"],...]`.
    pub metadata: String,
}

/// A multipart upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub upload_id: String,
    pub bucket: String,
    pub key: String,
    /// Unix milliseconds.
    pub initiated: i64,
    pub content_type: String,
    pub metadata: String,
    /// The ARN of whoever started it.
    pub initiator: String,
}

/// An uploaded part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub part_number: u32,
    pub size: u64,
    /// MD5 hex, without quotes.
    pub etag: String,
    /// The MD5's 16 bytes (the multipart ETag is the MD5 of these, joined).
    pub md5: Vec<u8>,
}

fn io_error(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

fn object_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObjectMeta> {
    Ok(ObjectMeta {
        bucket: r.get(0)?,
        key: r.get(1)?,
        size: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
        etag: r.get(3)?,
        content_type: r.get(4)?,
        last_modified: r.get(5)?,
        blob: r.get(6)?,
        checksums: r.get(7)?,
        metadata: r.get(8)?,
    })
}

const OBJECT_COLUMNS: &str =
    "bucket, key, size, etag, content_type, last_modified, blob, checksums, metadata";

impl Store {
    fn objects_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map_or_else(|| PathBuf::from("objects"), |d| d.join("objects"))
    }

    /// A new, unused path for a staging file (the directory exists).
    pub fn staging_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.objects_dir().join("staging");
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
        Ok(dir.join(name))
    }

    /// Where the body named `blob` (SHA-256 hex) is.
    pub fn blob_path(&self, blob: &str) -> PathBuf {
        let prefix = blob.get(0..2).unwrap_or("__");
        self.objects_dir().join("blobs").join(prefix).join(blob)
    }

    fn part_path(&self, upload_id: &str, part_number: u32) -> PathBuf {
        self.objects_dir()
            .join("uploads")
            .join(upload_id)
            .join(part_number.to_string())
    }

    /// Moves the staged body into place and commits `meta` (replacing an
    /// object of the same key); a body left without any object is removed.
    pub fn put_object(&self, meta: &ObjectMeta, staged: &Path) -> Result<(), StoreError> {
        self.put_object_ending(meta, staged, None)
    }

    /// [`Store::put_object`] for the object a multipart upload assembled:
    /// the object and the end of its upload commit together, so a failure
    /// leaves the upload open and the object absent, never both present.
    pub fn complete_upload(
        &self,
        meta: &ObjectMeta,
        staged: &Path,
        upload_id: &str,
    ) -> Result<(), StoreError> {
        self.put_object_ending(meta, staged, Some(upload_id))
    }

    fn put_object_ending(
        &self,
        meta: &ObjectMeta,
        staged: &Path,
        upload_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let target = self.blob_path(&meta.blob);
        self.write(|c| {
            let tx = c.transaction()?;
            if let Some(upload_id) = upload_id {
                forget_upload_rows(&tx, upload_id)?;
            }
            let old: Option<String> = tx
                .query_row(
                    "SELECT blob FROM objects WHERE bucket = ?1 AND key = ?2",
                    params![meta.bucket, meta.key],
                    |r| r.get(0),
                )
                .optional()?;
            place_blob(staged, &target).map_err(to_sql)?;
            tx.execute(
                &format!("INSERT OR REPLACE INTO objects ({OBJECT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    meta.bucket,
                    meta.key,
                    i64::try_from(meta.size).unwrap_or(i64::MAX),
                    meta.etag,
                    meta.content_type,
                    meta.last_modified,
                    meta.blob,
                    meta.checksums,
                    meta.metadata
                ],
            )?;
            tx.commit()?;
            if let Some(old) = old.filter(|o| *o != meta.blob) {
                self.drop_blob_if_unused(c, &old);
            }
            if let Some(upload_id) = upload_id {
                self.remove_upload_parts(upload_id);
            }
            Ok(())
        })
    }

    /// The parts' files of an upload whose rows are gone.
    fn remove_upload_parts(&self, upload_id: &str) {
        let dir = self.objects_dir().join("uploads").join(upload_id);
        if dir.exists()
            && let Err(e) = std::fs::remove_dir_all(&dir)
        {
            tracing::warn!(path = %dir.display(), error = %e, "cannot remove the parts of a finished upload");
        }
    }

    fn drop_blob_if_unused(&self, c: &rusqlite::Connection, blob: &str) {
        let used: rusqlite::Result<i64> = c.query_row(
            "SELECT count(*) FROM objects WHERE blob = ?1",
            [blob],
            |r| r.get(0),
        );
        if let Ok(0) = used {
            let path = self.blob_path(blob);
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove an object body no object uses");
            }
        }
    }

    pub fn object(&self, bucket: &str, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key = ?2"
            ))?
            .query_row(params![bucket, key], object_row)
            .optional()
        })
    }

    /// Deletes an object; false when there was none.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<bool, StoreError> {
        self.write(|c| {
            let blob: Option<String> = c
                .query_row(
                    "DELETE FROM objects WHERE bucket = ?1 AND key = ?2 RETURNING blob",
                    params![bucket, key],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(blob) = &blob {
                self.drop_blob_if_unused(c, blob);
            }
            Ok(blob.is_some())
        })
    }

    /// Objects of `bucket` whose keys start with `prefix` and sort after
    /// `after` (UTF-8 byte order, as S3 lists), at most `limit`.
    pub fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<ObjectMeta>, StoreError> {
        // Keys starting with `prefix` sort from `prefix` itself; the scan
        // stops at the first key past them.
        let from = if after.as_bytes() > prefix.as_bytes() {
            after
        } else {
            prefix
        };
        let strict = from == after && !after.is_empty();
        self.read(|c| {
            let mut statement = c.prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3"
            ))?;
            let rows = statement.query_map(
                params![bucket, from, i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX)],
                object_row,
            )?;
            let mut out = Vec::new();
            for row in rows {
                let row = row?;
                if strict && row.key == after {
                    continue;
                }
                if !row.key.starts_with(prefix) || out.len() >= limit {
                    break;
                }
                out.push(row);
            }
            Ok(out)
        })
    }

    /// Objects and multipart uploads in `bucket`.
    pub fn bucket_contents(&self, bucket: &str) -> Result<(i64, i64), StoreError> {
        self.read(|c| {
            let objects = c.query_row(
                "SELECT count(*) FROM objects WHERE bucket = ?1",
                [bucket],
                |r| r.get(0),
            )?;
            let uploads = c.query_row(
                "SELECT count(*) FROM multipart_uploads WHERE bucket = ?1",
                [bucket],
                |r| r.get(0),
            )?;
            Ok((objects, uploads))
        })
    }

    /// When a bucket was created (Unix milliseconds), if the twin saw it.
    pub fn bucket_created(&self, name: &str) -> Result<Option<i64>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT created_at FROM buckets WHERE name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
        })
    }

    /// Records a new bucket, empty: an upload that finished after an
    /// earlier bucket of this name was deleted left rows that must not
    /// reach the new bucket's owner, so they go, with their bodies.
    pub fn set_bucket_created(&self, name: &str, at: i64) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            let blobs: Vec<String> = tx
                .prepare("DELETE FROM objects WHERE bucket = ?1 RETURNING blob")?
                .query_map([name], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            let uploads: Vec<String> = tx
                .prepare("DELETE FROM multipart_uploads WHERE bucket = ?1 RETURNING upload_id")?
                .query_map([name], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            for upload in &uploads {
                forget_upload_rows(&tx, upload)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO buckets (name, created_at) VALUES (?1, ?2)",
                params![name, at],
            )?;
            tx.commit()?;
            for blob in &blobs {
                self.drop_blob_if_unused(c, blob);
            }
            for upload in &uploads {
                self.remove_upload_parts(upload);
            }
            Ok(())
        })
    }

    pub fn forget_bucket(&self, name: &str) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute("DELETE FROM buckets WHERE name = ?1", [name])
                .map(|_| ())
        })
    }

    /// Removes every object, upload and body (a state starting over).
    pub fn reset_objects(&self) -> Result<(), StoreError> {
        let dir = self.objects_dir();
        self.write(|c| {
            let tx = c.transaction()?;
            for table in ["objects", "multipart_uploads", "multipart_parts", "buckets"] {
                tx.execute(&format!("DELETE FROM {table}"), [])?;
            }
            tx.commit()?;
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(to_sql)?;
            }
            Ok(())
        })
    }

    pub fn create_upload(&self, upload: &Upload) -> Result<(), StoreError> {
        self.write(|c| {
            c.execute(
                "INSERT INTO multipart_uploads (upload_id, bucket, key, initiated, content_type, metadata, initiator) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    upload.upload_id,
                    upload.bucket,
                    upload.key,
                    upload.initiated,
                    upload.content_type,
                    upload.metadata,
                    upload.initiator
                ],
            )
            .map(|_| ())
        })
    }

    pub fn upload(&self, upload_id: &str) -> Result<Option<Upload>, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT upload_id, bucket, key, initiated, content_type, metadata, initiator FROM multipart_uploads WHERE upload_id = ?1",
                [upload_id],
                |r| {
                    Ok(Upload {
                        upload_id: r.get(0)?,
                        bucket: r.get(1)?,
                        key: r.get(2)?,
                        initiated: r.get(3)?,
                        content_type: r.get(4)?,
                        metadata: r.get(5)?,
                        initiator: r.get(6)?,
                    })
                },
            )
            .optional()
        })
    }

    /// Moves a staged part into the upload and records it (replacing a
    /// part of the same number).
    pub fn put_part(&self, upload_id: &str, part: &Part, staged: &Path) -> Result<(), StoreError> {
        let target = self.part_path(upload_id, part.part_number);
        self.write(|c| {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir).map_err(to_sql)?;
            }
            std::fs::rename(staged, &target).map_err(to_sql)?;
            c.execute(
                "INSERT OR REPLACE INTO multipart_parts (upload_id, part_number, size, etag, md5) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    upload_id,
                    part.part_number,
                    i64::try_from(part.size).unwrap_or(i64::MAX),
                    part.etag,
                    part.md5
                ],
            )
            .map(|_| ())
        })
    }

    /// The upload's parts, by part number, with their files.
    pub fn parts(&self, upload_id: &str) -> Result<Vec<(Part, PathBuf)>, StoreError> {
        let parts = self.read(|c| {
            let mut statement = c.prepare(
                "SELECT part_number, size, etag, md5 FROM multipart_parts WHERE upload_id = ?1 ORDER BY part_number",
            )?;
            let rows = statement.query_map([upload_id], |r| {
                Ok(Part {
                    part_number: r.get(0)?,
                    size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    etag: r.get(2)?,
                    md5: r.get(3)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<Part>>>()
        })?;
        Ok(parts
            .into_iter()
            .map(|p| {
                let path = self.part_path(upload_id, p.part_number);
                (p, path)
            })
            .collect())
    }

    /// Forgets an upload and removes its parts (completed or aborted).
    pub fn end_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        self.write(|c| {
            let tx = c.transaction()?;
            forget_upload_rows(&tx, upload_id)?;
            tx.commit()?;
            self.remove_upload_parts(upload_id);
            Ok(())
        })
    }
}

/// Moves `staged` to `target` (its directory created); when `target`
/// exists (the same bytes are already stored), `staged` is removed.
fn place_blob(staged: &Path, target: &Path) -> std::io::Result<()> {
    if target.exists() {
        return std::fs::remove_file(staged);
    }
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::rename(staged, target)
}

/// An upload's rows, inside a transaction; its parts' files go after the
/// commit ([`Store::remove_upload_parts`]).
fn forget_upload_rows(tx: &rusqlite::Transaction<'_>, upload_id: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM multipart_parts WHERE upload_id = ?1",
        [upload_id],
    )?;
    tx.execute(
        "DELETE FROM multipart_uploads WHERE upload_id = ?1",
        [upload_id],
    )?;
    Ok(())
}

fn to_sql(e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// An upload that finished after its bucket was deleted leaves a row;
    /// a new bucket of that name starts without it, and without its body.
    #[test]
    fn a_new_bucket_starts_empty_whatever_a_deleted_one_left() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.set_bucket_created("b", 1).unwrap();
        let staged = store.staging_path("late").unwrap();
        std::fs::write(&staged, b"secret").unwrap();
        let blob = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";
        let meta = ObjectMeta {
            bucket: "b".into(),
            key: "secret".into(),
            size: 6,
            etag: "5ebe2294ecd0e0f08eab7690d2a6ee69".into(),
            content_type: "text/plain".into(),
            last_modified: 2,
            blob: blob.into(),
            checksums: "{}".into(),
            metadata: "[]".into(),
        };
        store.forget_bucket("b").unwrap();
        store.put_object(&meta, &staged).unwrap();
        assert!(store.blob_path(blob).exists());

        store.set_bucket_created("b", 3).unwrap();
        assert_eq!(store.object("b", "secret").unwrap(), None);
        assert_eq!(store.bucket_contents("b").unwrap(), (0, 0));
        assert!(!store.blob_path(blob).exists());
    }

    /// A completed upload: the object in, the upload and its parts gone,
    /// in one transaction.
    #[test]
    fn completing_an_upload_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.set_bucket_created("b", 1).unwrap();
        let meta = ObjectMeta {
            bucket: "b".into(),
            key: "secret".into(),
            size: 6,
            etag: "5ebe2294ecd0e0f08eab7690d2a6ee69-1".into(),
            content_type: "text/plain".into(),
            last_modified: 2,
            blob: "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b".into(),
            checksums: "{}".into(),
            metadata: "[]".into(),
        };
        let upload = Upload {
            upload_id: "u1".into(),
            bucket: "b".into(),
            key: "secret".into(),
            initiated: 4,
            content_type: "text/plain".into(),
            metadata: "[]".into(),
            initiator: "arn:aws:iam::111122223333:root".into(),
        };
        store.create_upload(&upload).unwrap();
        let part = store.staging_path("part").unwrap();
        std::fs::write(&part, b"secret").unwrap();
        let one = Part {
            part_number: 1,
            size: 6,
            etag: "5ebe2294ecd0e0f08eab7690d2a6ee69".into(),
            md5: vec![0; 16],
        };
        store.put_part("u1", &one, &part).unwrap();
        let parts_dir = store.parts("u1").unwrap()[0]
            .1
            .parent()
            .unwrap()
            .to_path_buf();
        assert!(parts_dir.exists());
        let staged = store.staging_path("joined").unwrap();
        std::fs::write(&staged, b"secret").unwrap();
        store.complete_upload(&meta, &staged, "u1").unwrap();
        assert!(store.object("b", "secret").unwrap().is_some());
        assert_eq!(store.upload("u1").unwrap(), None);
        assert_eq!(store.bucket_contents("b").unwrap(), (1, 0));
        assert!(!parts_dir.exists());
    }
}
