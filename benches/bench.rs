//! Per-stage benchmarks over the articles the crate ships (`tests/data/wire-dev.jsonl`: 95 real
//! news pages, 165 KB).
//!
//! Text stages report bytes per second, the index and `cluster()` articles per second. Each timed
//! loop asserts a result known beforehand, so that a broken stage cannot look fast. Run with
//! `cargo bench`; `cargo run --release --example throughput` prints MB/s on a larger corpus.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprint::{
    Clusterer, Index, Scheme, Shingles, SignatureKind, Verification, normalize_into, shingle_hashes,
};

const DATASET: &str = "wire-dev";

/// The shipped articles.
fn articles() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/wire-dev.jsonl");
    std::fs::read_to_string(path)
        .expect("tests/data/wire-dev.jsonl ships with the crate")
        .lines()
        .filter_map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).ok()?;
            Some(value["text"].as_str()?.to_string())
        })
        .collect()
}

/// `n` articles: the shipped ones over and over, each copy with a line of its own appended, as
/// a republisher adds a footer.
fn batch(n: usize) -> Vec<String> {
    let docs = articles();
    (0..n).map(|i| format!("{}\nCopy {i} of the story.", docs[i % docs.len()])).collect()
}

fn bytes(docs: &[String]) -> u64 {
    docs.iter().map(|d| d.len() as u64).sum()
}

/// Normalisation alone (the form the char-shingle stage hashes).
fn normalise(c: &mut Criterion) {
    let docs = articles();
    let mut out = String::new();
    let expected: usize = docs.iter().map(|d| reprint::normalize(d).len()).sum();
    let mut g = c.benchmark_group("normalise");
    g.throughput(Throughput::Bytes(bytes(&docs)));
    g.bench_function(BenchmarkId::new("normalize_into", DATASET), |b| {
        b.iter(|| {
            let mut total = 0;
            for d in &docs {
                normalize_into(black_box(d), &mut out);
                total += out.len();
            }
            assert_eq!(total, expected);
        })
    });
    g.finish();
}

/// Tokenising and hashing shingles, collected into a `Vec` per article.
fn shingle(c: &mut Criterion) {
    let docs = articles();
    let mut g = c.benchmark_group("shingle");
    g.throughput(Throughput::Bytes(bytes(&docs)));
    for shingles in [Shingles::Words(3), Shingles::Words(5), Shingles::Chars(5)] {
        let expected: usize = docs.iter().map(|d| shingle_hashes(d, shingles, 0).len()).sum();
        let name = match shingles {
            Shingles::Words(k) => format!("words{k}"),
            Shingles::Chars(k) => format!("chars{k}"),
            _ => unreachable!("only the two kinds above are benchmarked"),
        };
        g.bench_function(BenchmarkId::new(name, DATASET), |b| {
            b.iter(|| {
                let n: usize =
                    docs.iter().map(|d| shingle_hashes(black_box(d), shingles, 0).len()).sum();
                assert_eq!(n, expected);
            })
        });
    }
    g.finish();
}

/// Raw text to MinHash signature, one article per call.
fn minhash(c: &mut Criterion) {
    let docs = articles();
    let mut g = c.benchmark_group("minhash");
    g.throughput(Throughput::Bytes(bytes(&docs)));
    for (name, scheme, slots) in [
        ("default_256", Scheme::OnePermutation, 256),
        ("oph_128", Scheme::OnePermutation, 128),
        ("classic_128", Scheme::Classic, 128),
    ] {
        let clusterer = Clusterer::builder().scheme(scheme).slots(slots).build().unwrap();
        // Every article of the corpus has text: no signature is empty.
        g.bench_function(BenchmarkId::new(name, DATASET), |b| {
            b.iter(|| {
                for d in &docs {
                    let s = clusterer.signature(black_box(d));
                    assert!(s.slots().len() == slots && !s.is_empty());
                }
            })
        });
    }
    g.finish();
}

/// Raw text to 64-bit SimHash fingerprint, one article per call.
fn simhash(c: &mut Criterion) {
    let docs = articles();
    let clusterer = Clusterer::default();
    let expected: Vec<u64> = docs.iter().map(|d| clusterer.fingerprint(d).bits()).collect();
    let mut g = c.benchmark_group("simhash");
    g.throughput(Throughput::Bytes(bytes(&docs)));
    g.bench_function(BenchmarkId::new("fingerprint_words3", DATASET), |b| {
        b.iter(|| {
            for (d, &bits) in docs.iter().zip(&expected) {
                assert_eq!(clusterer.fingerprint(black_box(d)).bits(), bits);
            }
        })
    });
    g.finish();
}

/// The streaming index: LSH insert (signature, bands, buckets, matches) and query.
fn index(c: &mut Criterion) {
    let docs = articles();
    let articles: Vec<(u64, &str)> =
        docs.iter().enumerate().map(|(i, d)| (i as u64, &**d)).collect();
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Elements(docs.len() as u64));
    for (name, verification) in
        [("exact", Verification::Exact), ("estimate", Verification::Estimate)]
    {
        let clusterer = Clusterer::builder().verification(verification).build().unwrap();
        let mut full = Index::new(clusterer.clone());
        full.insert_batch(&articles);
        let expected_matches: usize = docs.iter().map(|d| full.query(d).len()).sum();
        g.bench_function(BenchmarkId::new(format!("insert_{name}"), DATASET), |b| {
            b.iter(|| {
                let mut index = Index::new(clusterer.clone());
                for &(id, text) in &articles {
                    index.insert(id, black_box(text));
                }
                assert_eq!(index.len(), docs.len());
            })
        });
        g.bench_function(BenchmarkId::new(format!("query_{name}"), DATASET), |b| {
            b.iter(|| {
                // Each article finds itself and its reprints.
                let n: usize = docs.iter().map(|d| full.query(black_box(d)).len()).sum();
                assert_eq!(n, expected_matches);
            })
        });
    }
    g.finish();
}

/// `cluster()` end to end on a few thousand articles.
fn cluster(c: &mut Criterion) {
    let docs = batch(2_000);
    let clusterer = Clusterer::default();
    let expected = clusterer.cluster(&docs).len();
    // Copies of one article are reprints of each other: at most one group per shipped article.
    assert!(expected <= articles().len());
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function(BenchmarkId::new("default", "wire-dev_x2000"), |b| {
        b.iter(|| assert_eq!(clusterer.cluster(black_box(&docs)).len(), expected))
    });
    let simhash = Clusterer::builder().signature(SignatureKind::SimHash).build().unwrap();
    let expected_simhash = simhash.cluster(&docs).len();
    g.bench_function(BenchmarkId::new("simhash", "wire-dev_x2000"), |b| {
        b.iter(|| assert_eq!(simhash.cluster(black_box(&docs)).len(), expected_simhash))
    });
    g.finish();
}

/// Building a clusterer with a threshold of its own, which derives its LSH banding: the cost a
/// program pays that builds one per request.
fn build(c: &mut Criterion) {
    let mut g = c.benchmark_group("build");
    g.bench_function("threshold_0.3", |b| {
        b.iter(|| {
            let clusterer = Clusterer::builder().threshold(black_box(0.3)).build().unwrap();
            assert_eq!(clusterer.config().banding().rows, 3);
        })
    });
    g.finish();
}

fn config() -> Criterion {
    // Short runs: the stages are fast and the corpus small; medians settle within a second.
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = normalise, shingle, minhash, simhash, index, cluster, build
}
criterion_main!(benches);
