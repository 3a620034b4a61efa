//! The one error type of the core. Bindings map each variant to their own
//! error kind (C status code, Python exception class, Node `code`).

use std::path::PathBuf;

/// Everything that can go wrong in usagebook, with enough context to say
/// what was wrong and what to do about it (X1).
#[derive(Debug)]
pub enum Error {
    /// The caller passed something we refuse; the message names the field.
    InvalidArgument(String),
    /// Another tracker (in this or another process) owns the directory (T11).
    Locked(PathBuf),
    /// The tracker was closed; no further calls are accepted.
    Closed,
    /// An I/O operation failed; `context` says which file and what we were doing.
    Io {
        context: String,
        source: std::io::Error,
    },
    /// A hold would take spend past a budget (L7); nothing was recorded.
    BudgetExceeded(Box<BudgetExceeded>),
    /// A rate limit refused the request (R3); nothing was recorded and no
    /// limit's slot was taken.
    RateLimited(Box<crate::ledger::rate::RateLimited>),
    /// A file was written by a newer usagebook; we refuse to touch it rather
    /// than lose what it holds.
    UnsupportedFormat {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Why a hold was refused: enough for a caller to explain it and to retry
/// after `reset_at_ms` (L7). Money in nano-USD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetExceeded {
    /// The budget's scope, e.g. `"all"`.
    pub scope: String,
    /// The budget's window, e.g. `"day"`.
    pub window: String,
    pub limit_nusd: i64,
    pub spent_nusd: i64,
    pub reserved_nusd: i64,
    pub requested_nusd: i64,
    /// When the window resets (the next local midnight), epoch ms.
    pub reset_at_ms: i64,
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidArgument(msg) => write!(f, "invalid argument: {msg}"),
            Error::Locked(path) => write!(
                f,
                "usage directory {} is locked by another tracker (in this or another process); close it first or use another directory",
                path.display()
            ),
            Error::Closed => write!(f, "the tracker is closed"),
            Error::BudgetExceeded(b) => {
                let usd = crate::ledger::money::nano_to_usd;
                write!(
                    f,
                    "budget exceeded: {} {} budget ${:.6}, spent ${:.6}, reserved ${:.6}, requested ${:.6}; resets at {}",
                    b.scope,
                    b.window,
                    usd(b.limit_nusd),
                    usd(b.spent_nusd),
                    usd(b.reserved_nusd),
                    usd(b.requested_nusd),
                    crate::timefmt::format_iso_ms(b.reset_at_ms)
                )
            }
            Error::RateLimited(r) => write!(f, "rate limited: {r}"),
            Error::Io { context, source } => write!(f, "{context}: {source}"),
            Error::UnsupportedFormat {
                path,
                found,
                supported,
            } => write!(
                f,
                "{} has format version {found}, newer than this usagebook supports ({supported}); upgrade usagebook to read it (the file was left untouched)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
