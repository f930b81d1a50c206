//! Loads an index from damaged bytes: `Index::load` must return an error, never panic, and
//! never allocate by trusting a count in the file.
//!
//! The input is used twice:
//! - as a whole file, raw;
//! - as edits to a real saved index: the input's first half gives up to eight articles (cut at
//!   each 0xFF byte) that are inserted and saved; its second half, read as (offset, xor) byte
//!   pairs, alters the saved bytes. Unaltered, the file must load back with the same groups.
//!   Altered, it must load (if the change was invisible) or fail with an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use reprint::{Clusterer, Index, Shingles, Verification};

fn clusterers() -> [Clusterer; 2] {
    [
        Clusterer::default(),
        Clusterer::builder()
            .shingles(Shingles::Chars(4))
            .slots(16)
            .verification(Verification::Estimate)
            .build()
            .expect("valid settings"),
    ]
}

fuzz_target!(|data: &[u8]| {
    let (texts, edits) = data.split_at(data.len() / 2);
    for clusterer in clusterers() {
        let _ = Index::load(clusterer.clone(), data);

        let mut index = Index::new(clusterer.clone());
        for (id, piece) in texts.split(|&b| b == 0xFF).take(8).enumerate() {
            index.insert(id as u64, &String::from_utf8_lossy(piece));
        }
        let mut saved = Vec::new();
        index.save(&mut saved).expect("saving to memory");
        let back = Index::load(clusterer.clone(), saved.as_slice()).expect("an intact index");
        assert_eq!(back.groups(), index.groups());

        let mut altered = saved.clone();
        for pair in edits.chunks_exact(2) {
            let at = usize::from(pair[0]) * altered.len() / 256;
            altered[at] ^= pair[1];
        }
        if let Ok(loaded) = Index::load(clusterer.clone(), altered.as_slice()) {
            let _ = loaded.groups();
        }
        // Cut short anywhere: always an error.
        let cut = edits.first().map_or(0, |&b| usize::from(b) * saved.len() / 256);
        assert!(Index::load(clusterer, &saved[..cut]).is_err());
    }
});
