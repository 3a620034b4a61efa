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
    /// A file was written by a newer usagebook; we refuse to touch it rather
    /// than lose what it holds.
    UnsupportedFormat {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

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
