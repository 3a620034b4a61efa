//! The write-ahead journal behind the `process` and `power` durability
//! modes (X5).
//!
//! Segments are pre-sized files mapped into memory. `track` copies one
//! checksummed record into the mapping while holding the tracker lock: no
//! system call, yet the bytes are in the kernel's page cache and survive a
//! `kill -9` of the process. `power` mode additionally waits for the writer
//! to fdatasync the segment (group commit). After a snapshot covers every
//! record of a sealed segment, the segment is deleted.
//!
//! Segment: 16-byte header (`UBJRNL01` + 8 reserved bytes), then records
//! `[u32 len][u32 crc32(payload)][payload]`, little-endian; a zero length
//! marks the end. Payload: seq u64, ts_ms i64, prompt u64, completion u64,
//! total u64, duration f64 bits (NaN = absent), status u8, bridge len u16,
//! bridge UTF-8 bytes.

use crate::error::{Error, Result};
use crate::model::UsageStatus;
use crate::totals::LogRecord;
use memmap2::MmapMut;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SEGMENT_BYTES: usize = 8 << 20;
const MAGIC: &[u8; 8] = b"UBJRNL01";
const HEADER: usize = 16;
const FIXED_PAYLOAD: usize = 8 * 6 + 1 + 2;
/// A sealed-or-not segment bigger than this is rotated once a snapshot
/// covers it, so the journal stays small.
const ROTATE_AFTER: usize = 1 << 20;

/// One record read back from the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRecord {
    pub seq: u64,
    pub ts_ms: i64,
    pub prompt: u64,
    pub completion: u64,
    pub total: u64,
    pub duration_ms: f64,
    pub status: UsageStatus,
    pub bridge: String,
}

struct Segment {
    id: u64,
    path: PathBuf,
    file: Arc<File>,
    map: MmapMut,
    offset: usize,
    max_seq: u64,
}

struct Sealed {
    path: PathBuf,
    file: Arc<File>,
    max_seq: u64,
}

pub struct Journal {
    dir: PathBuf,
    current: Segment,
    sealed: Vec<Sealed>,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("seg-{id:016}.ubj"))
}

/// Existing segment files, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(format!("listing {}", dir.display()), e)),
    };
    for entry in rd.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name
            .strip_prefix("seg-")
            .and_then(|s| s.strip_suffix(".ubj"))
            .and_then(|s| s.parse::<u64>().ok())
        {
            out.push((id, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Reads every intact record of every segment. A torn record (bad length
/// or checksum) ends its segment; the count of such segments is returned.
pub fn read_all(dir: &Path) -> Result<(Vec<JournalRecord>, usize)> {
    let mut records = Vec::new();
    let mut torn = 0;
    for (_, path) in list_segments(dir)? {
        let bytes =
            fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            torn += 1;
            continue;
        }
        let mut off = HEADER;
        while off + 8 <= bytes.len() {
            let len = u32::from_le_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
            if len == 0 {
                break;
            }
            let crc = u32::from_le_bytes(bytes[off + 4..off + 8].try_into().unwrap());
            let end = off + 8 + len;
            if len < FIXED_PAYLOAD || end > bytes.len() {
                torn += 1;
                break;
            }
            let payload = &bytes[off + 8..end];
            match (crc32fast::hash(payload) == crc)
                .then(|| decode(payload))
                .flatten()
            {
                Some(r) => records.push(r),
                None => {
                    torn += 1;
                    break;
                }
            }
            off = end;
        }
    }
    Ok((records, torn))
}

fn decode(p: &[u8]) -> Option<JournalRecord> {
    let u = |i: usize| u64::from_le_bytes(p[i..i + 8].try_into().unwrap());
    let status = UsageStatus::from_u8(p[48])?;
    let blen = u16::from_le_bytes([p[49], p[50]]) as usize;
    let bridge = std::str::from_utf8(p.get(51..51 + blen)?).ok()?.to_string();
    Some(JournalRecord {
        seq: u(0),
        ts_ms: u(8) as i64,
        prompt: u(16),
        completion: u(24),
        total: u(32),
        duration_ms: f64::from_bits(u(40)),
        status,
        bridge,
    })
}

fn create_segment(dir: &Path, id: u64) -> Result<Segment> {
    let path = segment_path(dir, id);
    let ctx = |what: &str| format!("{what} journal segment {}", path.display());
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| Error::io(ctx("creating"), e))?;
    file.set_len(SEGMENT_BYTES as u64)
        .map_err(|e| Error::io(ctx("sizing"), e))?;
    // SAFETY: the file is ours (created above, under the directory lock) and
    // is never truncated while mapped.
    let mut map = unsafe { MmapMut::map_mut(&file) }.map_err(|e| Error::io(ctx("mapping"), e))?;
    map[..8].copy_from_slice(MAGIC);
    Ok(Segment {
        id,
        path,
        file: Arc::new(file),
        map,
        offset: HEADER,
        max_seq: 0,
    })
}

impl Journal {
    /// Starts a fresh segment after `existing` ones (which the caller
    /// deletes once a snapshot covers them).
    pub fn create(dir: &Path) -> Result<Journal> {
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        let next_id = list_segments(dir)?.last().map_or(1, |(id, _)| id + 1);
        let current = create_segment(dir, next_id)?;
        crate::store::atomic::sync_dir(dir)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            current,
            sealed: Vec::new(),
        })
    }

    /// Copies one record into the mapping: no system call unless the
    /// segment is full.
    pub(crate) fn append(&mut self, r: &LogRecord, bridge: &str) -> Result<()> {
        let blen = bridge.len().min(u16::MAX as usize);
        let len = FIXED_PAYLOAD + blen;
        if self.current.offset + 8 + len + 4 > SEGMENT_BYTES {
            self.rotate()?;
        }
        let off = self.current.offset;
        let buf = &mut self.current.map[off..off + 8 + len];
        let p = &mut buf[8..];
        p[0..8].copy_from_slice(&r.seq.to_le_bytes());
        p[8..16].copy_from_slice(&r.ts_ms.to_le_bytes());
        p[16..24].copy_from_slice(&r.prompt.to_le_bytes());
        p[24..32].copy_from_slice(&r.completion.to_le_bytes());
        p[32..40].copy_from_slice(&r.total.to_le_bytes());
        p[40..48].copy_from_slice(&r.duration_ms.to_bits().to_le_bytes());
        p[48] = r.status as u8;
        p[49..51].copy_from_slice(&(blen as u16).to_le_bytes());
        p[51..51 + blen].copy_from_slice(&bridge.as_bytes()[..blen]);
        let crc = crc32fast::hash(p);
        buf[4..8].copy_from_slice(&crc.to_le_bytes());
        // The length goes last: a reader never sees a length without its bytes.
        buf[0..4].copy_from_slice(&(len as u32).to_le_bytes());
        self.current.offset += 8 + len;
        self.current.max_seq = self.current.max_seq.max(r.seq);
        Ok(())
    }

    fn rotate(&mut self) -> Result<()> {
        let next = create_segment(&self.dir, self.current.id + 1)?;
        let old = std::mem::replace(&mut self.current, next);
        self.sealed.push(Sealed {
            path: old.path,
            file: old.file,
            max_seq: old.max_seq,
        });
        Ok(())
    }

    /// The files a power-mode group commit must fdatasync.
    pub fn files_to_sync(&self) -> Vec<Arc<File>> {
        let mut v: Vec<Arc<File>> = self.sealed.iter().map(|s| s.file.clone()).collect();
        v.push(self.current.file.clone());
        v
    }

    /// Called after a snapshot covering every seq below `covered` is durable:
    /// deletes covered sealed segments and rotates a large covered current one.
    pub fn collect_garbage(&mut self, covered: u64) -> Result<Vec<PathBuf>> {
        if self.current.offset > ROTATE_AFTER && self.current.max_seq < covered {
            self.rotate()?;
        }
        let mut removed = Vec::new();
        let mut keep = Vec::new();
        for s in self.sealed.drain(..) {
            if s.max_seq < covered {
                removed.push(s.path);
            } else {
                keep.push(s);
            }
        }
        self.sealed = keep;
        for p in &removed {
            let _ = fs::remove_file(p);
        }
        Ok(removed)
    }

    pub fn current_id(&self) -> u64 {
        self.current.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(seq: u64) -> LogRecord {
        LogRecord {
            seq,
            ts_ms: 1000 + seq as i64,
            prompt: 1,
            completion: 2,
            total: 3,
            duration_ms: f64::NAN,
            bridge: 0,
            status: UsageStatus::Success,
        }
    }

    #[test]
    fn x5_records_written_to_the_mapping_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path()).unwrap();
        for s in 1..=1000 {
            j.append(&rec(s), "openai").unwrap();
        }
        drop(j);
        let (records, torn) = read_all(dir.path()).unwrap();
        assert_eq!(torn, 0);
        assert_eq!(records.len(), 1000);
        assert_eq!(records[999].seq, 1000);
        assert_eq!(records[0].bridge, "openai");
        assert!(records[0].duration_ms.is_nan());
    }

    #[test]
    fn t10_a_torn_record_ends_the_segment_without_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path()).unwrap();
        for s in 1..=3 {
            j.append(&rec(s), "b").unwrap();
        }
        let path = j.current.path.clone();
        drop(j);
        let mut bytes = fs::read(&path).unwrap();
        // Flip a byte in the third record's payload.
        let third = HEADER + 2 * (8 + FIXED_PAYLOAD + 1) + 8 + 3;
        bytes[third] ^= 0xff;
        fs::write(&path, &bytes).unwrap();
        let (records, torn) = read_all(dir.path()).unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(torn, 1);
    }

    #[test]
    fn full_segments_rotate_and_covered_ones_are_collected() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path()).unwrap();
        let long = "x".repeat(1000);
        let per_seg = SEGMENT_BYTES / (8 + FIXED_PAYLOAD + 1000);
        let n = per_seg as u64 + 10;
        for s in 1..=n {
            j.append(&rec(s), &long).unwrap();
        }
        assert_eq!(list_segments(dir.path()).unwrap().len(), 2);
        let removed = j.collect_garbage(n).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(read_all(dir.path()).unwrap().0.len(), 10);
    }
}
