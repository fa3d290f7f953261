//! What the format readers share: the items they emit, their fatal errors, and a byte counter
//! for progress.

use super::row::{Notice, RawRow, RowError};
use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One row as a reader saw it.
#[derive(Debug)]
pub(crate) enum Item {
    /// Read; still to be validated. Boxed: rows are far larger than the other variants.
    Row(Box<RawRow>),
    /// Unreadable (bad UTF-8, bad JSON, too large, …); skipped.
    Bad(RowError),
    /// Worth telling, nothing skipped (e.g. ignored CSV columns).
    Notice(Notice),
}

/// Where a reader sends rows; `Break` stops reading (the consumer has gone away).
pub(crate) type Sink<'a> = &'a mut dyn FnMut(Item) -> ControlFlow<()>;

/// Problems that stop reading a file (rows before them are kept).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("read error: {0}")]
    Io(#[from] std::io::Error),
    /// A JSON array with broken syntax: there is no reliable way to find the next record.
    #[error(
        "JSON syntax error in record {row} ({detail}); nothing after it can be read (JSONL files resume at the next line)"
    )]
    Syntax {
        /// The record where parsing failed.
        row: u64,
        /// serde_json's message, with line and column.
        detail: String,
    },
    /// The top level is not a JSON array.
    #[error(
        "expected a JSON array of records ({detail}); for one object per line use --format jsonl"
    )]
    NotAnArray {
        /// What was found.
        detail: String,
    },
    /// The CSV header is unusable.
    #[error("CSV header: {0}")]
    Header(String),
}

/// A reader that counts the bytes read through it.
pub(crate) struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Counting<R> {
    /// Wraps `inner`; the count is shared with whoever holds `count`.
    pub(crate) fn new(inner: R, count: Arc<AtomicU64>) -> Self {
        Self { inner, count }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}
