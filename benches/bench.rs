//! Per-stage benchmarks over the sample articles the crate ships.
//!
//! Each timed loop asserts a known property of its result, so that a broken stage cannot look
//! fast. Run with `cargo bench`; `cargo run --release --example throughput` prints MB/s on a
//! larger corpus.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use reprint::{Clusterer, Scheme, Shingles, normalize_into, shingle_hashes};

/// The shipped sample articles, repeated with small edits to make a batch of `n`.
fn corpus(n: usize) -> Vec<String> {
    let samples: Vec<String> =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seeds"))
            .expect("examples/data/sample.jsonl is part of the crate")
            .lines()
            .filter_map(|line| {
                let start = line.find("\"text\": \"")? + 9;
                Some(line[start..line.len() - 2].replace("\\n", "\n").replace("\\\"", "\""))
            })
            .collect();
    (0..n).map(|i| format!("{} {i}", samples[i % samples.len()])).collect()
}

fn bytes(docs: &[String]) -> u64 {
    docs.iter().map(|d| d.len() as u64).sum()
}

fn text_stages(c: &mut Criterion) {
    let docs = corpus(200);
    let mut g = c.benchmark_group("text");
    g.throughput(Throughput::Bytes(bytes(&docs)));
    g.bench_function(BenchmarkId::new("normalize", "sample"), |b| {
        let mut out = String::new();
        b.iter(|| {
            let mut total = 0;
            for d in &docs {
                normalize_into(black_box(d), &mut out);
                total += out.len();
            }
            assert!(total > 0);
        })
    });
    g.bench_function(BenchmarkId::new("shingle_words3", "sample"), |b| {
        b.iter(|| {
            let n: usize = docs
                .iter()
                .map(|d| shingle_hashes(black_box(d), Shingles::Words(3), 0).len())
                .sum();
            assert!(n > 0);
        })
    });
    for (name, scheme, slots) in [
        ("minhash_oph_128", Scheme::OnePermutation, 128),
        ("minhash_oph_256", Scheme::OnePermutation, 256),
        ("minhash_classic_128", Scheme::Classic, 128),
    ] {
        let clusterer = Clusterer::builder().scheme(scheme).slots(slots).build().unwrap();
        g.bench_function(BenchmarkId::new(name, "sample"), |b| {
            b.iter(|| {
                for d in &docs {
                    let s = clusterer.signature(black_box(d));
                    assert_eq!(s.slots().len(), slots);
                }
            })
        });
    }
    g.finish();
}

fn cluster_stage(c: &mut Criterion) {
    let docs = corpus(2000);
    let clusterer = Clusterer::default();
    let mut g = c.benchmark_group("cluster");
    g.sample_size(10);
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function(BenchmarkId::new("cluster", "sample_x2000"), |b| {
        b.iter(|| {
            let clusters = clusterer.cluster(black_box(&docs));
            // Every copy of a sample article is a reprint of the others.
            assert!(clusters.len() < docs.len() / 10);
        })
    });
    g.finish();
}

criterion_group!(benches, text_stages, cluster_stage);
criterion_main!(benches);
