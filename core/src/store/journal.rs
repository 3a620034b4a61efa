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
//! Segment: 16-byte header (magic + 8 reserved bytes), then records
//! `[u32 len][u32 crc32(payload)][payload]`, little-endian; a zero length
//! marks the end. The magic names the payload layout:
//!
//! - `UBJRNL02` (written now): seq u64, ts_ms i64, prompt u64, completion
//!   u64, total u64, duration f64 bits (NaN = absent), cache_read u32,
//!   cache_write u32, reasoning u32, status u8, bridge len u16, bridge UTF-8
//!   bytes;
//! - `UBJRNL01` (read, never written): the same without the three parts.

use crate::error::{Error, Result};
use crate::model::{Usage, UsageStatus};
use crate::totals::LogRecord;
use memmap2::MmapMut;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SEGMENT_BYTES: usize = 8 << 20;
/// Segments this version writes: records with the three parts.
const MAGIC: &[u8; 8] = b"UBJRNL02";
/// Segments written before parts were recorded: still replayed.
const MAGIC_V1: &[u8; 8] = b"UBJRNL01";
const HEADER: usize = 16;
const FIXED_PAYLOAD: usize = 8 * 6 + 4 * 3 + 1 + 2;
const FIXED_PAYLOAD_V1: usize = 8 * 6 + 1 + 2;
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
    /// The parts (0 in a version-1 segment).
    pub cache_read: u32,
    pub cache_write: u32,
    pub reasoning: u32,
}

impl JournalRecord {
    /// The T1 counts and the parts.
    pub fn usage(&self) -> Usage {
        Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            total_tokens: self.total,
            cache_read_tokens: u64::from(self.cache_read),
            cache_write_tokens: u64::from(self.cache_write),
            reasoning_tokens: u64::from(self.reasoning),
        }
    }
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

/// What [`read_all`] found in a journal directory.
#[derive(Debug, Default)]
pub struct JournalRead {
    /// Every intact record, segment by segment in file order.
    pub records: Vec<JournalRecord>,
    /// Segments with at least one damaged record (or an unreadable header):
    /// their intact records are in `records`; the owner moves the files
    /// aside instead of deleting them (T10).
    pub damaged: Vec<PathBuf>,
}

/// Reads every intact record of every segment. A damaged record (bad
/// length, checksum or content) costs only itself: the reader scans on for
/// the next record whose length and checksum hold, so a flipped bit loses
/// at most the record it hit.
pub fn read_all(dir: &Path) -> Result<JournalRead> {
    let mut out = JournalRead::default();
    for (_, path) in list_segments(dir)? {
        let bytes =
            fs::read(&path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let (v1, bad_header) = match bytes.get(..8) {
            Some(m) if bytes.len() >= HEADER && m == MAGIC => (false, false),
            Some(m) if bytes.len() >= HEADER && m == MAGIC_V1 => (true, false),
            // A damaged magic: the records are still checksummed, so read
            // them in the layout written now.
            _ => (false, true),
        };
        if read_segment(&bytes, v1, &mut out.records) || bad_header {
            out.damaged.push(path);
        }
    }
    Ok(out)
}

/// Appends the intact records of one segment; true if any was damaged.
fn read_segment(bytes: &[u8], v1: bool, records: &mut Vec<JournalRecord>) -> bool {
    let mut damaged = false;
    let mut off = HEADER;
    while off + 8 <= bytes.len() {
        if let Some((r, end)) = record_at(bytes, off, v1) {
            records.push(r);
            off = end;
            continue;
        }
        // Segments are pre-zeroed and written in order: zeros to the end
        // are the clean end of the segment.
        if bytes[off..].iter().all(|&b| b == 0) {
            break;
        }
        damaged = true;
        match (off + 1..bytes.len().saturating_sub(8)).find(|&p| record_at(bytes, p, v1).is_some())
        {
            Some(next) => off = next,
            None => break,
        }
    }
    damaged
}

/// The record starting at `off` if its length, checksum and content hold,
/// with the offset just past it.
fn record_at(bytes: &[u8], off: usize, v1: bool) -> Option<(JournalRecord, usize)> {
    let fixed = if v1 { FIXED_PAYLOAD_V1 } else { FIXED_PAYLOAD };
    let head = bytes.get(off..off + 8)?;
    let len = u32::from_le_bytes(head[0..4].try_into().unwrap()) as usize;
    // Cheap tests first: resynchronising tries this at every byte.
    if len < fixed || len > fixed + u16::MAX as usize {
        return None;
    }
    let payload = bytes.get(off + 8..off + 8 + len)?;
    let crc = u32::from_le_bytes(head[4..8].try_into().unwrap());
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let r = if v1 {
        decode_v1(payload)?
    } else {
        decode(payload)?
    };
    Some((r, off + 8 + len))
}

fn decode(p: &[u8]) -> Option<JournalRecord> {
    let w = |i: usize| u32::from_le_bytes(p[i..i + 4].try_into().unwrap());
    let mut r = decode_common(p, 60)?;
    r.cache_read = w(48);
    r.cache_write = w(52);
    r.reasoning = w(56);
    Some(r)
}

/// A `UBJRNL01` record: no parts.
fn decode_v1(p: &[u8]) -> Option<JournalRecord> {
    decode_common(p, 48)
}

/// The six 8-byte fields, then at `at`: status u8, bridge len u16, bridge.
fn decode_common(p: &[u8], at: usize) -> Option<JournalRecord> {
    let u = |i: usize| u64::from_le_bytes(p[i..i + 8].try_into().unwrap());
    let status = UsageStatus::from_u8(p[at])?;
    let blen = u16::from_le_bytes([p[at + 1], p[at + 2]]) as usize;
    let bridge = std::str::from_utf8(p.get(at + 3..at + 3 + blen)?)
        .ok()?
        .to_string();
    if u(0) > crate::limits::MAX_SEQ {
        return None;
    }
    Some(JournalRecord {
        seq: u(0),
        ts_ms: u(8) as i64,
        prompt: u(16),
        completion: u(24),
        total: u(32),
        duration_ms: f64::from_bits(u(40)),
        status,
        bridge,
        cache_read: 0,
        cache_write: 0,
        reasoning: 0,
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
    if let Err(e) = reserve(&file, SEGMENT_BYTES as u64) {
        // A half-made segment would read as damaged at the next open.
        drop(file);
        let _ = fs::remove_file(&path);
        return Err(Error::io(ctx("reserving space for"), e));
    }
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

/// Allocates every block of the segment now. A memory-mapped write into a
/// hole of a sparse file on a full disk is a SIGBUS that kills the host;
/// with the blocks reserved, a full disk is an error here, at the call.
fn reserve(file: &File, len: u64) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let len = libc::off_t::try_from(len).map_err(std::io::Error::other)?;
        // SAFETY: a plain system call on a file descriptor we own.
        match unsafe { libc::posix_fallocate(file.as_raw_fd(), 0, len) } {
            0 => return Ok(()),
            // The file system cannot preallocate: write the zeros instead.
            libc::EOPNOTSUPP | libc::EINVAL => {}
            e => return Err(std::io::Error::from_raw_os_error(e)),
        }
    }
    write_zeros(file, len)
}

fn write_zeros(mut file: &File, len: u64) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let block = vec![0u8; 1 << 16];
    file.seek(SeekFrom::Start(0))?;
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    Ok(())
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
        p[48..52].copy_from_slice(&r.cache_read.to_le_bytes());
        p[52..56].copy_from_slice(&r.cache_write.to_le_bytes());
        p[56..60].copy_from_slice(&r.reasoning.to_le_bytes());
        p[60] = r.status() as u8;
        p[61..63].copy_from_slice(&(blen as u16).to_le_bytes());
        p[63..63 + blen].copy_from_slice(&bridge.as_bytes()[..blen]);
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
        LogRecord::new(
            seq,
            1000 + seq as i64,
            0,
            &Usage::new(1, 2, 3),
            None,
            UsageStatus::Success,
        )
    }

    /// A `UBJRNL01` segment as the previous version wrote it, by hand from
    /// docs/FORMATS.md: records without parts.
    /// seq, ts_ms, [prompt, completion, total], duration, status, bridge.
    type V1Record<'a> = (u64, i64, [u64; 3], f64, u8, &'a str);

    fn write_v1_segment(path: &Path, records: &[V1Record<'_>]) {
        let mut bytes = b"UBJRNL01".to_vec();
        bytes.extend_from_slice(&[0; 8]);
        for &(seq, ts, [p, c, t], d, status, bridge) in records {
            let mut payload = Vec::new();
            for v in [seq, ts as u64, p, c, t, d.to_bits()] {
                payload.extend_from_slice(&v.to_le_bytes());
            }
            payload.push(status);
            payload.extend_from_slice(&(bridge.len() as u16).to_le_bytes());
            payload.extend_from_slice(bridge.as_bytes());
            bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
        }
        // Pre-sized like a real segment: zeros end it.
        bytes.resize(bytes.len() + 64, 0);
        fs::write(path, bytes).unwrap();
    }

    #[test]
    fn parts_survive_the_journal_and_old_segments_still_replay() {
        let dir = tempfile::tempdir().unwrap();
        write_v1_segment(
            &segment_path(dir.path(), 1),
            &[
                (1, 1000, [10, 5, 15], 120.0, 0, "openai"),
                (2, 1001, [1, 2, 3], f64::NAN, 1, "anthropic"),
            ],
        );
        let mut j = Journal::create(dir.path()).unwrap();
        assert_eq!(j.current_id(), 2);
        let u = Usage {
            cache_read_tokens: 1000,
            cache_write_tokens: 5000,
            reasoning_tokens: 7,
            ..Usage::new(6200, 50, 6250)
        };
        let r = LogRecord::new(3, 1002, 0, &u, Some(9.5), UsageStatus::Error);
        j.append(&r, "anthropic").unwrap();
        drop(j);
        let read = read_all(dir.path()).unwrap();
        let records = read.records;
        assert!(read.damaged.is_empty());
        assert_eq!(records.len(), 3);
        assert_eq!(
            (
                records[0].seq,
                records[0].bridge.as_str(),
                records[0].usage()
            ),
            (1, "openai", Usage::new(10, 5, 15))
        );
        assert_eq!(records[0].duration_ms, 120.0);
        assert_eq!(records[1].status, UsageStatus::Error);
        assert!(records[1].duration_ms.is_nan());
        assert_eq!(records[2].usage(), u);
        assert_eq!(
            (records[2].status, records[2].duration_ms),
            (UsageStatus::Error, 9.5)
        );
        // A damaged version-1 record costs only itself.
        write_v1_segment(
            &segment_path(dir.path(), 1),
            &[(1, 1000, [10, 5, 15], 120.0, 0, "openai")],
        );
        let mut bytes = fs::read(segment_path(dir.path(), 1)).unwrap();
        bytes[HEADER + 8 + 20] ^= 0xff;
        fs::write(segment_path(dir.path(), 1), bytes).unwrap();
        let read = read_all(dir.path()).unwrap();
        assert_eq!((read.records.len(), read.damaged.len()), (1, 1));
        assert_eq!(read.records[0].seq, 3);
    }

    #[test]
    fn x5_records_written_to_the_mapping_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path()).unwrap();
        for s in 1..=1000 {
            j.append(&rec(s), "openai").unwrap();
        }
        drop(j);
        let read = read_all(dir.path()).unwrap();
        let records = read.records;
        assert!(read.damaged.is_empty());
        assert_eq!(records.len(), 1000);
        assert_eq!(records[999].seq, 1000);
        assert_eq!(records[0].bridge, "openai");
        assert!(records[0].duration_ms.is_nan());
    }

    /// Offset of record `i` (0-based) in a segment of `rec(_)` records on
    /// a one-byte bridge.
    fn offset_of(i: usize) -> usize {
        HEADER + i * (8 + FIXED_PAYLOAD + 1)
    }

    fn hundred_records() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::create(dir.path()).unwrap();
        for s in 1..=100 {
            j.append(&rec(s), "b").unwrap();
        }
        let path = j.current.path.clone();
        drop(j);
        (dir, path)
    }

    fn seqs(read: &JournalRead) -> Vec<u64> {
        read.records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn t10_a_flipped_bit_loses_only_the_record_it_hit() {
        // Every byte of record 50 in turn: payload, checksum, length.
        for at in [8 + 3, 8 + 40, 8 + FIXED_PAYLOAD, 5, 0, 1, 3] {
            let (dir, path) = hundred_records();
            let mut bytes = fs::read(&path).unwrap();
            bytes[offset_of(49) + at] ^= 0x10;
            fs::write(&path, &bytes).unwrap();
            let read = read_all(dir.path()).unwrap();
            let want: Vec<u64> = (1..=100).filter(|&s| s != 50).collect();
            assert_eq!(seqs(&read), want, "flip at byte {at} of record 50");
            assert_eq!(read.damaged, vec![path.clone()]);
        }
    }

    #[test]
    fn t10_a_zeroed_length_is_damage_not_the_end() {
        let (dir, path) = hundred_records();
        let mut bytes = fs::read(&path).unwrap();
        bytes[offset_of(9)..offset_of(9) + 4].fill(0);
        fs::write(&path, &bytes).unwrap();
        let read = read_all(dir.path()).unwrap();
        assert_eq!(read.records.len(), 99);
        assert_eq!(read.damaged.len(), 1);
        // The clean end (zeros to the end) is not damage.
        let (dir, _) = hundred_records();
        let read = read_all(dir.path()).unwrap();
        assert_eq!((read.records.len(), read.damaged.len()), (100, 0));
    }

    #[test]
    fn t10_a_segment_with_a_bad_header_keeps_its_records_and_is_reported() {
        let (dir, path) = hundred_records();
        let mut bytes = fs::read(&path).unwrap();
        bytes[2] ^= 1;
        fs::write(&path, &bytes).unwrap();
        let read = read_all(dir.path()).unwrap();
        assert_eq!((read.records.len(), read.damaged.len()), (100, 1));
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
        assert_eq!(read_all(dir.path()).unwrap().records.len(), 10);
    }
}
