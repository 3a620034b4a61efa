//! An event log opened with the `gitSync` option (issue 13): every event
//! appended also goes to this device's segments in the git repository,
//! which a background thread syncs every `syncInterval`, and once more,
//! bounded, at close. The log file itself stays what it was (E1): the
//! segments are a second copy for the other devices, with the same event
//! ids, so the merged view and a read of the log agree.

use super::{Event, EventLog};
use crate::error::{Error, Result};
use crate::gitsync::{GitSync, GitSyncConfig, MergedStats, SegmentWriter, SyncReport, SyncStatus};
use parking_lot::Mutex;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Options of [`EventLog::open_with`]: `{"gitSync": {...}}` in JSON, the
/// same object a file-backed tracker takes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventLogOptions {
    pub git_sync: Option<GitSyncConfig>,
}

impl EventLogOptions {
    /// `None` or `{}`: no options. Unknown keys are errors naming the key.
    pub fn from_json(json: Option<&str>) -> Result<Self> {
        let Some(text) = json.filter(|t| !t.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let v: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("event log options are not JSON: {e}")))?;
        let o = v
            .as_object()
            .ok_or_else(|| Error::invalid("event log options must be a JSON object"))?;
        let mut opts = Self::default();
        for (k, v) in o {
            match k.as_str() {
                "gitSync" if v.is_null() => {}
                "gitSync" => opts.git_sync = Some(GitSyncConfig::from_json(v)?),
                other => {
                    return Err(Error::invalid(format!(
                        "unknown event log option {other}; known: gitSync"
                    )))
                }
            }
        }
        Ok(opts)
    }
}

/// Where the device id of an event log's git sync is kept: next to the
/// log, outside the repository (`events.jsonl` → `events.git-device-id`).
pub fn device_id_file(log: &Path) -> PathBuf {
    log.with_extension("git-device-id")
}

pub(super) struct GitPart {
    sync: Arc<GitSync>,
    segments: Mutex<SegmentWriter>,
    timer: Mutex<Option<(crossbeam_channel::Sender<()>, JoinHandle<()>)>>,
}

impl GitPart {
    pub(super) fn open(log: &Path, cfg: &GitSyncConfig) -> Result<Option<GitPart>> {
        if !cfg.enabled {
            return Ok(None);
        }
        let sync = Arc::new(GitSync::open(cfg.clone(), &device_id_file(log))?);
        let segments = SegmentWriter::new(
            sync.device_dir(),
            &sync.device,
            cfg.segment_max_bytes,
            cfg.segment_max_age,
            false,
        );
        let timer = if cfg.sync_interval.is_zero() {
            None
        } else {
            let (stop, stopped) = crossbeam_channel::bounded::<()>(1);
            let g = sync.clone();
            let every = cfg.sync_interval;
            let h = std::thread::Builder::new()
                .name("usagebook-eventlog-gitsync".into())
                .spawn(move || {
                    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) =
                        stopped.recv_timeout(every)
                    {
                        // Errors and offline spells are kept in the status;
                        // the next interval retries.
                        let _ = g.sync(Some(every.max(Duration::from_secs(120))));
                    }
                })
                .map_err(|e| Error::io("starting the git sync thread", e))?;
            Some((stop, h))
        };
        Ok(Some(GitPart {
            sync,
            segments: Mutex::new(segments),
            timer: Mutex::new(timer),
        }))
    }

    pub(super) fn append(&self, event: &Event) -> Result<()> {
        self.segments
            .lock()
            .append_events(std::slice::from_ref(event))
    }

    /// Stops the timer, then one final sync bounded by `closeTimeout`.
    pub(super) fn close(&self) -> Result<()> {
        if let Some((stop, h)) = self.timer.lock().take() {
            let _ = stop.send(());
            let _ = h.join();
        }
        // Lines a failed append left queued are written first.
        let pending = self.segments.lock().append_events(&[]);
        let synced = self
            .sync
            .sync(Some(self.sync.cfg.close_timeout))
            .map(|_| ());
        pending.and(synced)
    }
}

impl EventLog {
    /// Opens the log at `path` for appending, with options: with `gitSync`
    /// every event appended is also written to this device's segments in
    /// the repository and synced (docs/git-sync.md). Without options this
    /// is [`EventLog::open`].
    pub fn open_with(path: impl AsRef<Path>, opts: &EventLogOptions) -> Result<EventLog> {
        let mut log = EventLog::open(path)?;
        if let Some(cfg) = &opts.git_sync {
            log.git = GitPart::open(&log.path, cfg)?;
        }
        Ok(log)
    }

    fn git_part(&self) -> Result<&GitPart> {
        self.git.as_ref().ok_or_else(|| {
            Error::invalid("this event log has no git sync: open it with the gitSync option")
        })
    }

    /// Syncs the git repository at once (`gitSync`).
    pub fn sync_now(&self) -> Result<SyncReport> {
        let g = self.git_part()?;
        g.segments.lock().append_events(&[])?;
        g.sync.sync(None)
    }

    /// Every device's events in the repository, as of the last sync.
    pub fn merged_stats(&self) -> Result<MergedStats> {
        self.git_part()?.sync.merged_stats()
    }

    /// The git sync's state; `None` without `gitSync`.
    pub fn git_status(&self) -> Option<SyncStatus> {
        self.git.as_ref().map(|g| g.sync.status())
    }

    /// The final, bounded sync (`gitSync`); also done when the log is
    /// dropped. Without git sync there is nothing to do. Twice is fine.
    pub fn close(&mut self) -> Result<()> {
        match self.git.take() {
            Some(g) => g.close(),
            None => Ok(()),
        }
    }
}

impl Drop for EventLog {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
