//! The output depends only on the input and the settings: not on the number of threads, not on
//! the run.

mod common;

use common::{Rng, WORDS};
use reprint::{Clusterer, Clusters, Scheme, Shingles, Similarity, Verification};

/// About 250 articles: 180 stories, a third of them reprinted one to three times with a header, a footer and
/// a few words changed, some truncated; reprints are shuffled among the originals.
fn corpus() -> Vec<String> {
    let words: Vec<&str> = WORDS.split_ascii_whitespace().collect();
    let mut rng = Rng(2024);
    let mut story =
        |len: usize| -> Vec<&str> { (0..len).map(|_| words[rng.below(words.len())]).collect() };
    let stories: Vec<Vec<&str>> = (0..180).map(|i| story(60 + (i * 37) % 200)).collect();
    let mut rng = Rng(7);
    let mut docs: Vec<String> = stories.iter().map(|s| s.join(" ")).collect();
    for s in stories.iter().step_by(3) {
        for copy in 0..1 + rng.below(3) {
            let mut words = s.clone();
            for _ in 0..3 {
                let at = rng.below(words.len());
                words[at] = "edited";
            }
            if copy == 2 {
                words.truncate(words.len() * 2 / 3);
            }
            let text =
                format!("Wire Service Copy {copy}. {} Reprinted by permission.", words.join(" "));
            let at = rng.below(docs.len() + 1);
            docs.insert(at, text);
        }
    }
    docs
}

fn clusterers() -> Vec<Clusterer> {
    vec![
        Clusterer::default(),
        Clusterer::builder().similarity(Similarity::Containment).threshold(0.5).build().unwrap(),
        Clusterer::builder().verification(Verification::Estimate).build().unwrap(),
        Clusterer::builder().shingles(Shingles::Chars(12)).build().unwrap(),
        Clusterer::builder().scheme(Scheme::Classic).slots(64).build().unwrap(),
        // A small bucket cap sends the common buckets down the linear path.
        Clusterer::builder().shingles(Shingles::Words(1)).bucket_cap(3).build().unwrap(),
    ]
}

fn assert_same(a: &Clusters, b: &Clusters, what: &str) {
    assert_eq!(a.groups(), b.groups(), "{what}: groups");
    assert_eq!(a.pairs(), b.pairs(), "{what}: pairs");
    assert_eq!(a.representatives(), b.representatives(), "{what}: representatives");
    assert_eq!(a, b, "{what}");
}

#[test]
fn the_corpus_has_reprints_to_find() {
    let docs = corpus();
    assert!(docs.len() > 240, "{}", docs.len());
    let clusters = reprint::cluster(&docs);
    let with_reprints = clusters.duplicates().count();
    assert!((50..=70).contains(&with_reprints), "{with_reprints} groups with reprints");
}

#[test]
fn repeated_runs_give_identical_output() {
    let docs = corpus();
    for clusterer in clusterers() {
        let first = clusterer.cluster(&docs);
        let what = format!("{:?}", clusterer.config());
        assert_same(&first, &clusterer.cluster(&docs), &what);
        assert_eq!(clusterer.signatures(&docs), clusterer.signatures(&docs));
        // A fresh clusterer with the same settings is the same function.
        let again = Clusterer::builder()
            .shingles(clusterer.config().shingles())
            .scheme(clusterer.config().scheme())
            .slots(clusterer.config().slots())
            .similarity(clusterer.config().similarity())
            .verification(clusterer.config().verification())
            .threshold(clusterer.config().threshold())
            .bucket_cap(clusterer.config().bucket_cap())
            .build()
            .unwrap();
        assert_same(&first, &again.cluster(&docs), &what);
    }
}

#[test]
fn signatures_one_at_a_time_equal_the_batch() {
    let docs = corpus();
    let clusterer = Clusterer::default();
    let batch = clusterer.signatures(&docs);
    for (doc, sig) in docs.iter().zip(&batch) {
        assert_eq!(&clusterer.signature(doc), sig);
    }
}

#[cfg(feature = "parallel")]
#[test]
fn one_thread_and_many_give_identical_output() {
    let docs = corpus();
    let pool = |threads: usize| {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a thread pool")
    };
    let (one, four) = (pool(1), pool(4));
    for clusterer in clusterers() {
        let what = format!("{:?}", clusterer.config());
        let single = one.install(|| clusterer.cluster(&docs));
        assert_same(&single, &four.install(|| clusterer.cluster(&docs)), &what);
    }
    // More threads than cores, and signatures on their own.
    let clusterer = Clusterer::default();
    let single = one.install(|| clusterer.cluster(&docs));
    assert_same(&single, &pool(7).install(|| clusterer.cluster(&docs)), "7 threads");
    assert_eq!(
        one.install(|| clusterer.signatures(&docs)),
        four.install(|| clusterer.signatures(&docs))
    );
}
