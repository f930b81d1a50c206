//! How fast is it? Prints MB/s and articles/s for each stage on a JSONL corpus.
//!
//! ```text
//! cargo run --release --example throughput [CORPUS.jsonl] [REPEATS]
//! ```
//!
//! The corpus holds one JSON object a line with a `"text"` field. Without an argument it is
//! `../shared/bench/news-5k.jsonl` (5,000 English news articles of about 4 KB) when that file
//! exists beside the crate, else the shipped `tests/data/wire-dev.jsonl`. Every figure is the
//! median of several repeats: on a shared machine single runs are noisy.

mod common;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reprint::{Clusterer, Index, Shingles, Signature, Verification};

fn main() -> Result<(), Box<dyn Error>> {
    // Step 1: read the corpus.
    let mut args = std::env::args().skip(1);
    let path = args.next().map(PathBuf::from).unwrap_or_else(common::bench_corpus);
    let repeats: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(7).max(1);
    let docs = load_texts(&path)?;
    if docs.is_empty() {
        return Err(format!("{}: no article with a \"text\" field", path.display()).into());
    }
    let bytes: usize = docs.iter().map(String::len).sum();
    println!(
        "corpus: {} ({} articles, {:.1} MB, {:.1} KB per article); median of {repeats} runs",
        path.display(),
        docs.len(),
        bytes as f64 / 1e6,
        bytes as f64 / docs.len() as f64 / 1e3,
    );
    let report = |what: &str, time: Duration| {
        let secs = time.as_secs_f64();
        println!(
            "  {what:<44} {:>8.1} MB/s {:>10.0} articles/s {:>9.1} ms",
            bytes as f64 / 1e6 / secs,
            docs.len() as f64 / secs,
            secs * 1e3,
        );
    };

    // Step 2: raw text to one signature at a time, on this thread, with three settings: the
    // comparable one (128 slots, the word 5-grams peers use), 128 slots at our word 3-grams, and
    // the defaults (256 slots, word 3-grams).
    println!("raw text -> MinHash signature, one thread, one article per call:");
    let settings = [
        (
            "128 slots, word 5-grams",
            Clusterer::builder().slots(128).shingles(Shingles::Words(5)).build()?,
        ),
        ("128 slots, word 3-grams", Clusterer::builder().slots(128).build()?),
        ("256 slots, word 3-grams (default)", Clusterer::default()),
    ];
    for (name, clusterer) in &settings {
        let time = median_time(repeats, || {
            let mut filled = 0;
            for d in &docs {
                filled += clusterer.signature(d).slots().len();
            }
            assert_eq!(filled, docs.len() * clusterer.config().slots());
        });
        report(name, time);
    }

    // SimHash: raw text to a 64-bit fingerprint over the default word 3-grams.
    let clusterer = Clusterer::default();
    let time = median_time(repeats, || {
        let set: usize =
            docs.iter().map(|d| clusterer.fingerprint(d).bits().count_ones() as usize).sum();
        assert!(set > 0);
    });
    println!("raw text -> SimHash fingerprint, one thread, one article per call:");
    report("64 bits, word 3-grams", time);

    // Step 3: the same work as a batch (`Clusterer::signatures`) on local rayon pools of one and
    // two threads. The ratio is the parallel speed-up.
    #[cfg(feature = "parallel")]
    println!("raw text -> signatures, batch, rayon pool:");
    #[cfg(feature = "parallel")]
    for (name, clusterer) in &settings[1..] {
        let mut medians = Vec::new();
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            let time = median_time(repeats, || {
                let signatures: Vec<Signature> = pool.install(|| clusterer.signatures(&docs));
                assert_eq!(signatures.len(), docs.len());
            });
            report(&format!("{name}, {threads} thread(s)"), time);
            medians.push(time.as_secs_f64());
        }
        println!("  speed-up on 2 threads: {:.2}x", medians[0] / medians[1]);
    }

    // Step 4: `cluster()` end to end, on one thread and on two: with the defaults, and with the
    // settings the peer comparison uses (word 5-grams, 128 slots in 16 bands of 8 rows,
    // threshold 0.7, the estimate as verification: no second pass over the text).
    let comparable = common::peers_setting();
    let clusterer = Clusterer::default();
    let before = memory_kb("VmRSS:");
    for (name, clusterer) in [("comparable", &comparable), ("defaults", &clusterer)] {
        println!("cluster() end to end, {name}:");
        let mut groups = 0;
        #[cfg(feature = "parallel")]
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            let time = median_time(repeats.min(5), || {
                groups = pool.install(|| clusterer.cluster(&docs)).len();
                assert!(groups > 0 && groups <= docs.len());
            });
            report(&format!("{threads} thread(s)"), time);
        }
        #[cfg(not(feature = "parallel"))]
        {
            let time = median_time(repeats.min(5), || {
                groups = clusterer.cluster(&docs).len();
                assert!(groups > 0 && groups <= docs.len());
            });
            report("1 thread", time);
        }
        println!("  {groups} groups, {} articles joined to an earlier one", docs.len() - groups);
    }

    // Step 5: memory. The peak resident set (VmHWM) covers the corpus and everything above; the
    // growth above the resident set before clustering is the peak working memory of cluster():
    // signatures, band keys, candidate pairs, and the shingle sets of exact verification.
    let signature_bytes = std::mem::size_of::<Signature>() + 4 * clusterer.config().slots();
    println!("memory:");
    if let (Some(peak), Some(start)) = (memory_kb("VmHWM:"), before) {
        let per_article = (peak.saturating_sub(start) * 1024) as f64 / docs.len() as f64;
        println!("  peak resident (VmHWM)                        {:>8.1} MB", peak as f64 / 1e3);
        println!("  peak growth during cluster() per article     {per_article:>8.0} bytes");
    }
    println!("  one signature (256 slots)                    {signature_bytes:>8} bytes");

    // Step 6: the streaming index's own memory per article, beyond the signatures (4 bytes a
    // slot): with estimated verification it holds only signatures and LSH buckets (one table
    // entry per band), with exact verification (the default) also each article's shingle
    // hashes; and at the comparable setting, whose 16 bands need far fewer entries than the
    // defaults' 120.
    let articles: Vec<(u64, &str)> =
        docs.iter().enumerate().map(|(i, d)| (i as u64, d.as_str())).collect();
    let settings = [
        (
            "defaults, Estimate verification",
            Clusterer::builder().verification(Verification::Estimate).build()?,
        ),
        ("defaults, Exact verification", Clusterer::default()),
        ("comparable", comparable),
    ];
    for (name, clusterer) in settings {
        let slots = clusterer.config().slots();
        let bands = clusterer.config().banding().bands;
        let mut index = Index::new(clusterer);
        let start = Instant::now();
        index.insert_batch(&articles);
        let secs = start.elapsed().as_secs_f64();
        let per_article = index.memory_bytes() as f64 / docs.len() as f64;
        println!(
            "  index, {name} ({bands} bands): {per_article:.0} bytes per article, \
             {:.0} beyond the signature; built at {:.1} MB/s",
            per_article - 4.0 * slots as f64,
            bytes as f64 / 1e6 / secs,
        );
    }
    Ok(())
}

/// The `"text"` field of every line of a JSONL file.
fn load_texts(path: &Path) -> Result<Vec<String>, Box<dyn Error>> {
    let mut texts = Vec::new();
    for (n, line) in std::fs::read_to_string(path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), n + 1))?;
        if let Some(text) = value["text"].as_str() {
            texts.push(text.to_string());
        }
    }
    Ok(texts)
}

/// The median wall time of `repeats` runs of `f`, after one warm-up run.
fn median_time(repeats: usize, mut f: impl FnMut()) -> Duration {
    f();
    common::median_time(repeats, f)
}

/// A `kB` field of `/proc/self/status` (Linux only).
fn memory_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}
