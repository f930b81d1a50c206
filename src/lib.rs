//! Find reprints of the same news story in a pile of articles.
//!
//! Wire copy is republished by hundreds of outlets, each truncating it, re-headlining it, adding
//! a byline, promos or a footer, fixing a few words, sometimes machine-translating it there and
//! back. `reprint` groups those copies together and keeps different stories on the same topic
//! apart.
//!
//! # Overview
//!
//! The pipeline has one module per stage, and data flows one way:
//!
//! 1. [`normalize`](mod@normalize): NFKC, lower case, typographic punctuation folded, white
//!    space collapsed;
//! 2. [`shingle`]: word (or character) k-grams, each hashed to 64 bits without allocating;
//! 3. [`minhash`]: a fixed-size MinHash [`Signature`] per article;
//! 4. [`lsh`]: signatures cut into bands; articles sharing a band become candidate pairs;
//! 5. [`cluster`](mod@cluster): candidates verified against the similarity threshold, then
//!    joined into groups, strongest pairs first; by default a pair joins two groups only when
//!    most pairs between them pass too (see [`Linkage`]), so chains of weak links do not grow
//!    giant groups.
//!
//! [`Index`] runs the same stages on articles as they arrive: insert one, get the earlier
//! articles it reprints; remove, save and load.
//!
//! [`eval`] scores a clustering against known labels (pairwise precision, recall, F1 and the
//! adjusted Rand index), as the `evaluate` example does on labelled data.
//!
//! # Example
//!
//! ```
//! let docs = [
//!     "WASHINGTON (AP) - The Senate passed the spending bill late on Friday after a long debate \
//!      over border security, sending it to the president, who is expected to sign it.",
//!     "The Senate passed the spending bill late on Friday after a long debate over border \
//!      security, sending it to the president, who is expected to sign it. Copyright 2024.",
//!     "Local volunteers planted four hundred trees along the river on Saturday morning.",
//! ];
//! let clusters = reprint::cluster(&docs);
//! assert_eq!(clusters.groups(), [vec![0, 1], vec![2]]);
//! for pair in clusters.pairs() {
//!     println!("{} and {}: similarity {:.2}", pair.a, pair.b, pair.similarity);
//! }
//! ```
//!
//! With chosen settings:
//!
//! ```
//! use reprint::{Clusterer, Shingles};
//!
//! let clusterer = Clusterer::builder().shingles(Shingles::Chars(5)).threshold(0.3).build()?;
//! let clusters = clusterer.cluster(&["東京は今日も晴れでした", "東京は今日も晴れでした。", "大阪は雨"]);
//! assert_eq!(clusters.groups(), [vec![0, 1], vec![2]]);
//! # Ok::<(), reprint::Error>(())
//! ```
//!
//! # Choosing a threshold
//!
//! The default compares word 3-gram sets by Jaccard similarity with a threshold of 0.16. That is
//! far below the 0.5–0.9 of textbook near-duplicate detection, on purpose: two web pages carrying
//! the same wire story share its sentences but little else (each adds its own headline, chrome,
//! promos and footer, and many truncate or edit the story). Measured on real reprints, the
//! weakest same-story pairs score 0.18–0.19, while different stories about the same event, which
//! share quotes and background paragraphs, reach 0.14. Raise the threshold to keep only
//! near-verbatim copies; lower it (or use [`Similarity::Containment`]) to catch heavily truncated
//! copies, at the risk of merging same-event stories.
//!
//! Candidates come from LSH: with the default 256-slot signatures cut into 120 bands of 2 rows, a
//! pair at Jaccard 0.17 becomes a candidate with probability 0.97, a pair at 0.03 with
//! probability 0.10. Every candidate is then verified exactly (see [`Verification`]).
//!
//! Text never makes anything fail: an empty or blank article has no shingle and forms a group
//! of its own; an article with fewer tokens than `k` has one shingle made of all its tokens.
//!
//! # Crate features
//!
//! - `parallel` (on by default): signatures and exact shingle sets are computed on rayon's
//!   thread pool, and LSH bands are bucketed in parallel. The output is identical with and
//!   without it, for any number of threads.
//! - `serde`: `Serialize` and `Deserialize` for [`Signature`], its parameters, and [`Match`].
//!
//! # References
//!
//! - A. Broder. *On the resemblance and containment of documents.* SEQUENCES 1997.
//! - M. Charikar. *Similarity estimation techniques from rounding algorithms.* STOC 2002.
//! - G. S. Manku, A. Jain, A. Das Sarma. *Detecting near-duplicates for web crawling.* WWW 2007.
//! - A. Shrivastava. *Optimal densification for fast and accurate minwise hashing.* ICML 2017.
//! - T. Mai, A. Rao, M. Kapilevich, R. Rossi, Y. Abbasi-Yadkori, R. Sinha. *On densification for
//!   minwise hashing.* UAI 2020.
//! - J. Leskovec, A. Rajaraman, J. Ullman. *Mining of Massive Datasets*, chapter 3.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod cluster;
pub mod config;
pub mod error;
pub mod eval;
pub mod index;
pub mod lsh;
pub mod minhash;
pub mod normalize;
pub mod shingle;
pub mod simhash;

pub use crate::cluster::{Clusterer, Clusters, Pair};
pub use crate::config::{
    ClustererBuilder, Config, DEFAULT_SEED, Linkage, MAX_SIMHASH_DISTANCE, SignatureKind,
    Similarity, Verification,
};
pub use crate::error::{Error, Result};
pub use crate::index::{Index, Match};
pub use crate::lsh::Banding;
pub use crate::minhash::{MAX_SLOTS, Scheme, Signature, SignatureParams};
pub use crate::normalize::{normalize, normalize_into};
pub use crate::shingle::{MAX_SHINGLE_SIZE, Shingles, shingle_hashes};
pub use crate::simhash::{Fingerprint, FingerprintParams, HammingTables};

/// Groups `docs` into reprints of the same story with the default settings:
/// `Clusterer::default().cluster(docs)`.
///
/// See [`Clusterer::cluster`] and [`Clusters`].
pub fn cluster<S: AsRef<str> + Sync>(docs: &[S]) -> Clusters {
    Clusterer::default().cluster(docs)
}

// The public types can be shared across threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Clusterer>();
    assert_send_sync::<Clusters>();
    assert_send_sync::<Signature>();
    assert_send_sync::<Error>();
    assert_send_sync::<Index>();
    assert_send_sync::<Fingerprint>();
    assert_send_sync::<HammingTables>();
    assert_send_sync::<Config>();
};

// The README's code is tested with the crate's docs.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
