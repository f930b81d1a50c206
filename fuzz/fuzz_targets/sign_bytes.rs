//! Normalises, shingles and signs arbitrary bytes, as a scraper may hand them over.
//!
//! The first byte picks one of eight clusterers (both MinHash schemes, word and character
//! shingles of two sizes each); the rest is the article. Checks:
//! - nothing panics, whatever the bytes (invalid UTF-8 included);
//! - bytes that are valid UTF-8 sign exactly like the same `str`, and other bytes like their
//!   lossy decoding (each invalid sequence becomes U+FFFD);
//! - a signature has the configured number of slots, is empty exactly when the text has no
//!   shingle, counts exactly the distinct shingle hashes, and estimates 1 against itself unless
//!   it is empty (an empty signature is similar to nothing);
//! - normalised text has single spaces between tokens and none at either end.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reprint::{Clusterer, Scheme, Shingles, normalize, shingle_hashes};

/// Classic MinHash costs one hash per shingle per slot, so it gets fewer slots.
fn clusterers() -> &'static [Clusterer] {
    static CLUSTERERS: OnceLock<Vec<Clusterer>> = OnceLock::new();
    CLUSTERERS.get_or_init(|| {
        let mut all = Vec::new();
        for (scheme, slots) in [(Scheme::OnePermutation, 256), (Scheme::Classic, 16)] {
            for shingles in
                [Shingles::Words(1), Shingles::Words(3), Shingles::Chars(1), Shingles::Chars(5)]
            {
                let clusterer = Clusterer::builder()
                    .scheme(scheme)
                    .slots(slots)
                    .shingles(shingles)
                    .build()
                    .expect("valid settings");
                all.push(clusterer);
            }
        }
        all
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, data)) = data.split_first() else {
        return;
    };
    let all = clusterers();
    let clusterer = &all[usize::from(choice) % all.len()];
    let lossy = String::from_utf8_lossy(data);

    let normal = normalize(&lossy);
    assert!(!normal.starts_with(' ') && !normal.ends_with(' '), "{normal:?}");
    assert!(!normal.contains("  "), "{normal:?}");

    let config = clusterer.config();
    let sig = clusterer.signature_bytes(data);
    assert_eq!(sig, clusterer.signature(&lossy));
    assert_eq!(sig.slots().len(), config.slots());

    let mut hashes = shingle_hashes(&lossy, config.shingles(), config.seed());
    assert_eq!(sig.is_empty(), hashes.is_empty());
    hashes.sort_unstable();
    hashes.dedup();
    assert_eq!(sig.shingle_count(), hashes.len());

    let self_estimate = sig.jaccard(&sig).expect("same parameters");
    assert_eq!(self_estimate, if sig.is_empty() { 0.0 } else { 1.0 });
});
