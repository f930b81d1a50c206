//! Clusters a handful of arbitrary articles and checks what the output promises.
//!
//! The input is cut at every 0xFF byte (which never occurs in UTF-8) into at most eight
//! articles, each decoded lossily. Three clusterers run: the default, containment with
//! signature estimates, and character 4-grams on small signatures. For each:
//! - the groups are a partition of the input indices: every index exactly once, each group
//!   ascending, groups ordered by smallest member;
//! - `group_of` and `representatives` agree with the groups;
//! - every pair is `a < b`, inside one group, sorted, with a similarity in `[0, 1]` at or above
//!   the threshold;
//! - two copies of an article that has shingles are always in the same group;
//! - with fewer articles than the bucket cap, reversing the input reverses nothing but the
//!   indices: the partition is the same.
//!
//! `Clusterer::similarity` is checked to be symmetric, in `[0, 1]`, and 1 for an article with
//! itself (0 for an article with no shingle).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use reprint::{Clusterer, Clusters, Shingles, Similarity, Verification};

const MAX_ARTICLES: usize = 8;

fn clusterers() -> &'static [Clusterer] {
    static CLUSTERERS: OnceLock<Vec<Clusterer>> = OnceLock::new();
    CLUSTERERS.get_or_init(|| {
        vec![
            Clusterer::default(),
            Clusterer::builder()
                .similarity(Similarity::Containment)
                .verification(Verification::Estimate)
                .threshold(0.5)
                .build()
                .expect("valid settings"),
            Clusterer::builder()
                .shingles(Shingles::Chars(4))
                .slots(32)
                .threshold(0.3)
                .build()
                .expect("valid settings"),
        ]
    })
}

/// The groups as a sorted list of sorted groups: comparable across input orders.
fn partition(groups: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut p: Vec<Vec<usize>> = groups.to_vec();
    for g in &mut p {
        g.sort_unstable();
    }
    p.sort();
    p
}

fn check(clusterer: &Clusterer, docs: &[String], clusters: &Clusters) {
    let n = docs.len();
    let groups = clusters.groups();
    assert_eq!(clusters.len(), groups.len());
    assert_eq!(clusters.is_empty(), n == 0);

    // A partition, in canonical order.
    let mut seen = vec![false; n];
    for (g, members) in groups.iter().enumerate() {
        assert!(!members.is_empty());
        assert!(members.windows(2).all(|w| w[0] < w[1]), "{members:?}");
        for &i in members {
            assert!(i < n && !seen[i], "{groups:?}");
            seen[i] = true;
            assert_eq!(clusters.group_of(i), Some(g));
        }
        assert!(members.contains(&clusters.representatives()[g]));
    }
    assert!(seen.iter().all(|&s| s));
    assert!(groups.windows(2).all(|w| w[0][0] < w[1][0]), "{groups:?}");
    assert_eq!(clusters.representatives().len(), groups.len());
    assert_eq!(clusters.group_of(n), None);

    // Pairs: sorted, inside one group, similarity at the threshold or above, never above 1.
    let threshold = clusterer.config().threshold();
    let pairs = clusters.pairs();
    assert!(pairs.windows(2).all(|w| (w[0].a, w[0].b) < (w[1].a, w[1].b)));
    for p in pairs {
        assert!(p.a < p.b && p.b < n);
        assert_eq!(clusters.group_of(p.a), clusters.group_of(p.b));
        assert!((0.0..=1.0).contains(&p.similarity), "{p:?}");
        assert!(p.similarity >= threshold, "{p:?}");
    }

    // Exact copies of an article with shingles always meet.
    let signatures = clusterer.signatures(docs);
    for a in 0..n {
        for b in a + 1..n {
            if docs[a] == docs[b] && !signatures[a].is_empty() {
                assert_eq!(clusters.group_of(a), clusters.group_of(b), "{a} and {b}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let docs: Vec<String> = data
        .split(|&b| b == 0xFF)
        .take(MAX_ARTICLES)
        .map(|piece| String::from_utf8_lossy(piece).into_owned())
        .collect();

    for clusterer in clusterers() {
        let clusters = clusterer.cluster(&docs);
        check(clusterer, &docs, &clusters);

        let reversed: Vec<String> = docs.iter().rev().cloned().collect();
        let back = clusterer.cluster(&reversed);
        check(clusterer, &reversed, &back);
        let n = docs.len();
        let unreversed: Vec<Vec<usize>> =
            back.groups().iter().map(|g| g.iter().map(|&i| n - 1 - i).collect()).collect();
        assert_eq!(partition(clusters.groups()), partition(&unreversed));
    }

    let default = &clusterers()[0];
    for a in &docs {
        let own = default.similarity(a, a);
        let has_shingles = !default.signature(a).is_empty();
        assert_eq!(own, if has_shingles { 1.0 } else { 0.0 }, "{a:?}");
        for b in &docs {
            let s = default.similarity(a, b);
            assert!((0.0..=1.0).contains(&s));
            assert_eq!(s, default.similarity(b, a));
        }
    }
});
