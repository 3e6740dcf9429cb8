//! The proving-key cache: keys that took minutes to generate, kept for the next run of the
//! same circuit (an aggregation step of the same shape, audit chunks of the same size).
//!
//! ```text
//! <dir>/
//!   aggregation/<key>/   pk.bin, shape.json   an aggregation circuit's keys
//!   audit/<key>/         pk.bin               an audit chunk circuit's keys
//!   srs/                 trimmed SRS copies (small; not counted, never removed)
//! ```
//!
//! An aggregation circuit's proving key at k = 21 takes 2-3 GB, so the cache keeps under a
//! size limit ([`DEFAULT_CACHE_LIMIT`] unless set): before an entry is stored, the least
//! recently used entries are removed until it fits. A key the cache cannot take (larger than
//! the limit, or a write that fails: a full disk) is reported as a [`CacheNote`] and never
//! fails the run that made it: the keys are in memory, the proof goes on.

use crate::stored::write_atomic;
use snarkml_circuits::CircuitError;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The cache's size limit unless one is given: room for about six aggregation circuits'
/// keys at k = 21.
pub const DEFAULT_CACHE_LIMIT: u64 = 16 << 30;

/// The default proving-key cache: `$SNARKML_CACHE_DIR`, else `$XDG_CACHE_HOME/snarkml`, else
/// `~/.cache/snarkml`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SNARKML_CACHE_DIR") {
        return d.into();
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("snarkml");
    }
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/snarkml"))
        .unwrap_or_else(|| std::env::temp_dir().join("snarkml-cache"))
}

/// The kinds of entries, each a directory of `<key>/` entries.
const KINDS: [&str; 2] = ["aggregation", "audit"];

/// A proving-key cache directory and the size its entries keep under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCache {
    dir: PathBuf,
    limit: u64,
}

/// What storing an entry did besides storing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheNote {
    /// Least recently used entries were removed to make room.
    Evicted {
        /// How many.
        entries: usize,
        /// Their size in bytes.
        bytes: u64,
    },
    /// The entry was not stored (the run goes on with the keys in memory).
    NotStored {
        /// Why, in one line.
        reason: String,
    },
}

/// Writes one file of an entry; called twice, once to measure and once to write.
pub type WriteFile<'a> = &'a dyn Fn(&mut dyn Write) -> std::io::Result<()>;

impl KeyCache {
    /// The cache at `dir`, with the default limit.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyCache {
            dir: dir.into(),
            limit: DEFAULT_CACHE_LIMIT,
        }
    }

    /// The same cache with entries kept under `limit` bytes in all.
    pub fn with_limit(mut self, limit: u64) -> Self {
        self.limit = limit;
        self
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The size its entries keep under, in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// The directory of entry `key` of `kind`.
    pub fn entry(&self, kind: &str, key: &str) -> PathBuf {
        self.dir.join(kind).join(key)
    }

    /// Reads entry `key` of `kind` with `read` (`None` when it is absent, incomplete or
    /// unreadable), marking it as used now.
    pub fn load<T>(
        &self,
        kind: &str,
        key: &str,
        read: impl FnOnce(&Path) -> Option<T>,
    ) -> Option<T> {
        let entry = self.entry(kind, key);
        let value = read(&entry)?;
        mark_used(&entry);
        Some(value)
    }

    /// Every complete or partial entry: its directory, size and last use.
    pub fn entries(&self) -> Vec<CacheEntry> {
        let mut out = Vec::new();
        for kind in KINDS {
            let Ok(dir) = std::fs::read_dir(self.dir.join(kind)) else {
                continue;
            };
            for entry in dir.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    let (bytes, used) = measure_dir(&path);
                    out.push(CacheEntry { path, bytes, used });
                }
            }
        }
        out
    }

    /// Stores entry `key` of `kind`: `files` written in this order (readers take an entry
    /// whose last file is there), after removing the least recently used entries until the
    /// cache keeps under its limit with it. Never fails: what it could not do is in the notes.
    pub fn store(&self, kind: &str, key: &str, files: &[(&str, WriteFile<'_>)]) -> Vec<CacheNote> {
        let mut notes = Vec::new();
        let mut size = 0u64;
        for (_, write) in files {
            let mut count = Count(0);
            if let Err(e) = write(&mut count) {
                return vec![not_stored(format!("cannot serialize the keys: {e}"))];
            }
            size += count.0;
        }
        let entry = self.entry(kind, key);
        let _ = std::fs::remove_dir_all(&entry);
        if size > self.limit {
            return vec![not_stored(format!(
                "the keys take {}, more than the key cache's limit of {}",
                gib(size),
                gib(self.limit)
            ))];
        }
        let mut others = self.entries();
        let mut used: u64 = others.iter().map(|e| e.bytes).sum();
        // Oldest first.
        others.sort_by_key(|e| e.used);
        let (mut evicted, mut freed) = (0, 0);
        for old in &others {
            if used + size <= self.limit {
                break;
            }
            if std::fs::remove_dir_all(&old.path).is_ok() {
                used -= old.bytes;
                evicted += 1;
                freed += old.bytes;
            }
        }
        if evicted > 0 {
            notes.push(CacheNote::Evicted {
                entries: evicted,
                bytes: freed,
            });
        }
        if let Err(e) = write_entry(&entry, files) {
            let _ = std::fs::remove_dir_all(&entry);
            notes.push(not_stored(e));
        }
        notes
    }
}

/// One entry of the cache.
#[derive(Clone, Debug)]
pub struct CacheEntry {
    /// Its directory.
    pub path: PathBuf,
    /// The size of its files in bytes.
    pub bytes: u64,
    /// When it was last stored or read.
    pub used: SystemTime,
}

impl std::fmt::Display for CacheNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheNote::Evicted { entries, bytes } => write!(
                f,
                "removed {entries} least recently used key cache entr{} ({}) to keep under the cache's limit",
                if *entries == 1 { "y" } else { "ies" },
                gib(*bytes)
            ),
            CacheNote::NotStored { reason } => write!(f, "keys not cached: {reason}"),
        }
    }
}

fn not_stored(reason: String) -> CacheNote {
    CacheNote::NotStored { reason }
}

fn write_entry(entry: &Path, files: &[(&str, WriteFile<'_>)]) -> Result<(), String> {
    std::fs::create_dir_all(entry)
        .map_err(|e| format!("cannot create {}: {e}", entry.display()))?;
    for (name, write) in files {
        let path = entry.join(name);
        write_atomic(&path, |w| {
            let mut w = BufWriter::with_capacity(1 << 20, w);
            write(&mut w)
                .and_then(|()| w.flush())
                .map_err(|e| CircuitError::io(&path, e))
        })
        .map_err(|e| match e {
            CircuitError::Io { source, .. } => format!("cannot write {}: {source}", path.display()),
            e => e.to_string(),
        })?;
    }
    Ok(())
}

/// A buffered reader of a cache file (a proving key is read from it without a copy of its
/// bytes in memory), `None` when it cannot be opened.
pub fn reader(path: &Path) -> Option<std::io::BufReader<std::fs::File>> {
    let file = std::fs::File::open(path).ok()?;
    Some(std::io::BufReader::with_capacity(1 << 20, file))
}

/// Sets the modification time of an entry's files to now: its last use.
fn mark_used(entry: &Path) {
    let now = SystemTime::now();
    for file in std::fs::read_dir(entry).into_iter().flatten().flatten() {
        if let Ok(f) = std::fs::File::options().append(true).open(file.path()) {
            let _ = f.set_modified(now);
        }
    }
}

/// The size of a directory's files and the latest modification among them.
fn measure_dir(dir: &Path) -> (u64, SystemTime) {
    let (mut bytes, mut used) = (0, SystemTime::UNIX_EPOCH);
    for file in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(meta) = file.metadata() {
            bytes += meta.len();
            used = used.max(meta.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        }
    }
    (bytes, used)
}

/// A writer that only counts.
struct Count(u64);

impl Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `bytes` in GiB or MiB, one decimal (in bytes below one MiB).
fn gib(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> impl Fn(&mut dyn Write) -> std::io::Result<()> {
        move |w| w.write_all(&vec![7u8; n])
    }

    fn keys(cache: &KeyCache) -> Vec<String> {
        let mut names: Vec<String> = cache
            .entries()
            .iter()
            .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_least_recently_used_entries_go_first_to_keep_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let cache = KeyCache::new(dir.path()).with_limit(3000);
        let (k1, shape) = (bytes(1000), bytes(10));
        for key in ["a", "b"] {
            assert_eq!(
                cache.store(
                    "aggregation",
                    key,
                    &[("pk.bin", &k1), ("shape.json", &shape)]
                ),
                []
            );
            // Modification times a few milliseconds apart order the entries.
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // `a` read after `b` was stored: `b` is now the least recently used.
        let read = cache.load("aggregation", "a", |e| std::fs::read(e.join("pk.bin")).ok());
        assert_eq!(read.map(|b| b.len()), Some(1000));
        std::thread::sleep(std::time::Duration::from_millis(20));
        let notes = cache.store("audit", "c", &[("pk.bin", &bytes(1500))]);
        assert_eq!(
            notes,
            [CacheNote::Evicted {
                entries: 1,
                bytes: 1010
            }]
        );
        assert_eq!(keys(&cache), ["a", "c"]);
        let used: u64 = cache.entries().iter().map(|e| e.bytes).sum();
        assert_eq!(used, 2510);
        // A missing entry reads as none.
        assert!(cache
            .load("aggregation", "b", |e| std::fs::read(e.join("pk.bin")).ok())
            .is_none());
    }

    #[test]
    fn keys_larger_than_the_limit_or_unwritable_are_reported_not_stored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = KeyCache::new(dir.path()).with_limit(100);
        let notes = cache.store("audit", "big", &[("pk.bin", &bytes(101))]);
        assert_eq!(
            notes,
            [not_stored(
                "the keys take 101 bytes, more than the key cache's limit of 100 bytes".into()
            )]
        );
        assert!(keys(&cache).is_empty());
        // The cache directory is a file: the entry cannot be written, and nothing is left.
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, b"x").unwrap();
        let notes = KeyCache::new(&file).store("audit", "k", &[("pk.bin", &bytes(10))]);
        assert!(
            matches!(&notes[..], [CacheNote::NotStored { reason }] if reason.starts_with("cannot create")),
            "{notes:?}"
        );
        // A write that fails (measured first, then written: the second call fails, as a full
        // disk does): reported, the partial entry removed.
        let calls = std::cell::Cell::new(0);
        let failing = |w: &mut dyn Write| -> std::io::Result<()> {
            calls.set(calls.get() + 1);
            w.write_all(&[1; 10])?;
            match calls.get() {
                1 => Ok(()),
                _ => Err(std::io::Error::other("out of space")),
            }
        };
        let notes = cache.store("audit", "k", &[("pk.bin", &failing)]);
        assert!(
            matches!(&notes[..], [CacheNote::NotStored { reason }] if reason.contains("out of space")),
            "{notes:?}"
        );
        assert!(keys(&cache).is_empty());
    }
}
