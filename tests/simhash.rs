//! SimHash fingerprints on the seed articles and through `cluster()`.

use std::path::Path;

use reprint::{Clusterer, SignatureKind, Verification};

fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seeds");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

#[test]
fn near_duplicates_are_closer_than_other_stories() {
    let c = Clusterer::default();
    let fps = c.fingerprints(&seeds());
    let d = |i: usize, j: usize| fps[i].distance(&fps[j]).unwrap();
    let same = [d(0, 1), d(1, 2), d(0, 2)];
    let across = [d(0, 3), d(0, 4), d(1, 3), d(1, 4), d(2, 3), d(2, 4), d(3, 4)];
    let mean = |x: &[u32]| x.iter().sum::<u32>() as f64 / x.len() as f64;
    assert!(mean(&same) < mean(&across), "same {same:?} across {across:?}");
    // A lightly edited copy (a word changed, a footer added) is closer than any other story.
    // The re-edited and translated copies are not, always: at their overlap SimHash distances
    // spread by a few bits, which is why MinHash is the default.
    let docs = seeds();
    let edited =
        format!("{}\nCopyright 2022 CBS Interactive Inc.", docs[0].replacen("Russia", "Moscow", 1));
    let near = c.fingerprint(&edited).distance(&fps[0]).unwrap();
    assert!(near < *across.iter().min().unwrap(), "edited {near}, across {across:?}");
}

#[test]
fn exact_copies_cluster_through_simhash() {
    let docs = [
        "The council approved the new budget on Tuesday after a three hour debate.",
        "the council approved the new budget on tuesday after a three hour debate",
        "A storm closed the coastal highway and cut power to thousands of homes.",
    ];
    for verification in [Verification::Exact, Verification::Estimate] {
        let c = Clusterer::builder()
            .signature(SignatureKind::SimHash)
            .verification(verification)
            .build()
            .unwrap();
        let clusters = c.cluster(&docs);
        assert_eq!(clusters.groups(), [vec![0, 1], vec![2]]);
        assert_eq!(clusters.pairs()[0].similarity, 1.0);
    }
}

#[test]
fn distance_is_checked_in_build() {
    assert_eq!(
        Clusterer::builder().simhash_distance(17).build().err(),
        Some(reprint::Error::InvalidDistance { distance: 17, max: reprint::MAX_SIMHASH_DISTANCE })
    );
}
