//! The crate's error type.
//!
//! Only configuration, the comparison of incompatible signatures and saving or loading an index
//! can fail: text never does.

use std::fmt;

use crate::minhash::SignatureParams;

/// What went wrong when building a [`Clusterer`](crate::Clusterer), comparing signatures, or
/// saving or loading an [`Index`](crate::Index).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The similarity threshold must be a number in `(0, 1]`.
    InvalidThreshold {
        /// The value that was given.
        value: f64,
    },
    /// Shingles need at least one token (or character) each.
    ZeroShingleSize,
    /// The shingle size is larger than the supported maximum.
    ShingleSizeTooLarge {
        /// The size that was given.
        size: usize,
        /// The largest supported size.
        max: usize,
    },
    /// A signature needs between 1 and [`MAX_SLOTS`](crate::MAX_SLOTS) slots.
    InvalidSlots {
        /// The number of slots that was given.
        slots: usize,
    },
    /// A fixed LSH banding must have at least one band of at least one row, and
    /// `bands * rows` may not exceed the number of signature slots.
    InvalidBanding {
        /// Bands that were given.
        bands: usize,
        /// Rows per band that were given.
        rows: usize,
        /// Slots in the signature.
        slots: usize,
    },
    /// The cap on LSH bucket size must be at least 2 (a bucket of one yields no pair).
    InvalidBucketCap {
        /// The cap that was given.
        cap: usize,
    },
    /// The SimHash search distance is larger than the supported maximum.
    InvalidDistance {
        /// The distance that was given.
        distance: u32,
        /// The largest supported distance.
        max: u32,
    },
    /// The two signatures were made with different parameters and cannot be compared.
    IncompatibleSignatures {
        /// Parameters of the left-hand signature.
        left: SignatureParams,
        /// Parameters of the right-hand signature.
        right: SignatureParams,
    },
    /// The two SimHash fingerprints were made with different parameters.
    IncompatibleFingerprints {
        /// Parameters of the left-hand fingerprint.
        left: crate::simhash::FingerprintParams,
        /// Parameters of the right-hand fingerprint.
        right: crate::simhash::FingerprintParams,
    },
    /// Reading or writing a saved [`Index`](crate::Index) failed.
    Io {
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
        /// The I/O error's message.
        message: String,
    },
    /// The data is not a saved index: it does not start with the index's magic bytes.
    BadMagic,
    /// The saved index was written in a format version this release cannot read.
    UnsupportedVersion {
        /// The version in the file.
        found: u32,
        /// The version this release reads and writes.
        supported: u32,
    },
    /// The saved index was made with other settings than the clusterer it is loaded with, or
    /// by a release that normalises, tokenises or hashes text differently.
    ConfigMismatch {
        /// The first setting that differs.
        field: &'static str,
        /// Its value in the clusterer.
        expected: String,
        /// Its value in the file.
        found: String,
    },
    /// The saved index ends early: the file was cut short.
    Truncated,
    /// The saved index's checksum does not match its bytes: the file was altered or damaged.
    ChecksumMismatch {
        /// The checksum stored in the file.
        stored: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// The saved index holds a value that no index can have.
    Corrupt {
        /// What is wrong.
        what: &'static str,
    },
}

/// A `Result` whose error is [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidThreshold { value } => {
                write!(f, "similarity threshold must be in (0, 1], got {value}")
            }
            Error::ZeroShingleSize => write!(f, "shingle size must be at least 1"),
            Error::ShingleSizeTooLarge { size, max } => {
                write!(f, "shingle size {size} is larger than the maximum {max}")
            }
            Error::InvalidSlots { slots } => {
                write!(f, "signature slots must be between 1 and {}, got {slots}", crate::MAX_SLOTS)
            }
            Error::InvalidBanding { bands, rows, slots } => write!(
                f,
                "LSH banding of {bands} bands x {rows} rows does not fit a {slots}-slot signature \
                 (both must be at least 1 and bands * rows <= slots)"
            ),
            Error::InvalidBucketCap { cap } => {
                write!(f, "LSH bucket cap must be at least 2, got {cap}")
            }
            Error::InvalidDistance { distance, max } => {
                write!(f, "SimHash distance {distance} is larger than the maximum {max}")
            }
            Error::IncompatibleSignatures { left, right } => write!(
                f,
                "cannot compare signatures made with different parameters: {left} vs {right}"
            ),
            Error::IncompatibleFingerprints { left, right } => write!(
                f,
                "cannot compare fingerprints made with different parameters: {left} vs {right}"
            ),
            Error::Io { message, .. } => write!(f, "I/O error: {message}"),
            Error::BadMagic => write!(f, "not a saved reprint index (wrong magic bytes)"),
            Error::UnsupportedVersion { found, supported } => write!(
                f,
                "saved index has format version {found}; this release reads version {supported}"
            ),
            Error::ConfigMismatch { field, expected, found } => write!(
                f,
                "saved index was made with other settings: {field} is {found} in the file, \
                 {expected} in the clusterer"
            ),
            Error::Truncated => write!(f, "saved index is truncated"),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "saved index is damaged: checksum {computed:#018x} does not match the stored \
                 {stored:#018x}"
            ),
            Error::Corrupt { what } => write!(f, "saved index is corrupt: {what}"),
        }
    }
}

impl std::error::Error for Error {}
