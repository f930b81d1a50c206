//! The crate's error type.
//!
//! Only configuration and the comparison of incompatible signatures can fail: text never does.

use std::fmt;

use crate::minhash::SignatureParams;

/// What went wrong when building a [`Clusterer`](crate::Clusterer) or comparing signatures.
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
    /// The two signatures were made with different parameters and cannot be compared.
    IncompatibleSignatures {
        /// Parameters of the left-hand signature.
        left: SignatureParams,
        /// Parameters of the right-hand signature.
        right: SignatureParams,
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
            Error::IncompatibleSignatures { left, right } => write!(
                f,
                "cannot compare signatures made with different parameters: {left} vs {right}"
            ),
        }
    }
}

impl std::error::Error for Error {}
