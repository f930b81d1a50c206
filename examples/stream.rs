//! Feeds articles to a streaming index one at a time, printing each new article's matches, then
//! saves the index, loads it back and checks that it gives the same answers.
//!
//! ```text
//! cargo run --release --example stream                  # the sample articles the crate ships
//! cargo run --release --example stream -- articles/     # a folder of .txt files
//! cargo run --release --example stream -- feed.jsonl    # measure: throughput, bytes per article
//! ```
//!
//! Given a JSONL file (`{"id", "text"}` per line), it measures instead of printing every
//! article: insertion and query throughput, batch insertion, the size of the saved index and the
//! memory the index holds.

mod common;

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use reprint::{Clusterer, Index};

fn main() -> Result<(), Box<dyn Error>> {
    let path = std::env::args_os().nth(1).map(PathBuf::from);
    match path {
        Some(path) if path.is_file() => measure(&path),
        path => walkthrough(&path.unwrap_or_else(common::sample_dir)),
    }
}

fn walkthrough(path: &Path) -> Result<(), Box<dyn Error>> {
    // 1. Read the articles; each one's id in the index is its position.
    let articles = common::load(path)?;
    println!("Streaming {} articles from {}\n", articles.len(), path.display());

    // 2. Insert them one at a time, as a feed would deliver them, and show what each reprints.
    let mut index = Index::default();
    for (i, article) in articles.iter().enumerate() {
        let matches = index.insert(i as u64, &article.text);
        println!("[{i}] {}  {}", article.id, common::first_line(&article.text, 60));
        if matches.is_empty() {
            println!("      new story");
        }
        for m in &matches {
            let earlier = &articles[m.id as usize];
            println!("      reprint of [{}] {} (similarity {:.3})", m.id, earlier.id, m.similarity);
        }
    }

    // 3. The groups of reprints so far, as `cluster` would find them.
    println!("\nGroups:");
    for group in index.groups() {
        let names: Vec<String> = group.iter().map(|&i| format!("[{i}]")).collect();
        println!("  {}", names.join(" "));
    }

    // 4. Save the index to a file and load it back with the same settings.
    let file = std::env::temp_dir().join(format!("reprint-stream-{}.idx", std::process::id()));
    index.save_path(&file)?;
    let size = std::fs::metadata(&file)?.len();
    let loaded = Index::load_path(Clusterer::default(), &file)?;
    std::fs::remove_file(&file)?;
    println!(
        "\nSaved {} articles in {size} bytes ({} per article) and loaded them back.",
        index.len(),
        size / index.len().max(1) as u64
    );

    // 5. The loaded index answers every article exactly as the original does.
    let same = articles.iter().all(|a| loaded.query(&a.text) == index.query(&a.text));
    println!("Same answers for all {} articles after loading: {same}", articles.len());
    if let Some(last) = articles.last() {
        let answers: Vec<String> = loaded
            .query(&last.text)
            .iter()
            .map(|m| format!("[{}] {:.3}", m.id, m.similarity))
            .collect();
        println!(
            "  e.g. the loaded index matches [{}] with {}",
            articles.len() - 1,
            answers.join(", ")
        );
    }

    // 6. Removing an article takes it out of every answer.
    if let Some(first) = articles.first() {
        let mut loaded = loaded;
        loaded.remove(0);
        let still = loaded.query(&first.text).iter().any(|m| m.id == 0);
        println!("After removing [0], a query for its text returns it: {still}");
    }
    if !same {
        return Err("the loaded index answered differently".into());
    }
    Ok(())
}

/// Throughput and size figures for a JSONL file of articles.
fn measure(path: &Path) -> Result<(), Box<dyn Error>> {
    let articles = common::load(path)?;
    let texts: Vec<&str> = articles.iter().map(|a| a.text.as_str()).collect();
    let n = texts.len();
    let mb = texts.iter().map(|t| t.len()).sum::<usize>() as f64 / 1e6;
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    println!("{n} articles, {mb:.1} MB, from {}; {threads} threads available\n", path.display());
    let rate = |what: &str, seconds: f64| {
        println!(
            "{what:<34} {seconds:>7.3} s  {:>9.0} articles/s  {:>7.1} MB/s",
            n as f64 / seconds,
            mb / seconds
        );
    };

    // 1. Insert one at a time (one thread), as a feed would.
    let rss_before = proc_status_kib("VmRSS");
    let start = Instant::now();
    let mut index = Index::default();
    let mut pairs = 0;
    for (i, text) in texts.iter().enumerate() {
        pairs += index.insert(i as u64, text).len();
    }
    rate("insert, one at a time", start.elapsed().as_secs_f64());
    let rss_after = proc_status_kib("VmRSS");

    // 2. Query every article against the full index (one thread); each finds at least itself.
    let start = Instant::now();
    let mut found = 0;
    for (i, text) in texts.iter().enumerate() {
        let matches = index.query(text);
        assert!(
            texts[i].split_whitespace().next().is_none()
                || matches.iter().any(|m| m.id == i as u64),
            "article {i} does not find itself"
        );
        found += matches.len();
    }
    rate("query every article", start.elapsed().as_secs_f64());

    // 3. The same insertions as one batch: signatures in parallel, insertion in order.
    let batch: Vec<(u64, &str)> = texts.iter().enumerate().map(|(i, t)| (i as u64, *t)).collect();
    let start = Instant::now();
    let mut batched = Index::default();
    let batch_pairs: usize = batched.insert_batch(&batch).iter().map(Vec::len).sum();
    rate("insert_batch", start.elapsed().as_secs_f64());
    assert_eq!(batch_pairs, pairs, "batch and one-at-a-time insertion disagree");
    drop(batched);

    // 4. For comparison: clustering the whole set at once.
    let start = Instant::now();
    let clusters = reprint::cluster(&texts);
    rate("cluster() on all, for comparison", start.elapsed().as_secs_f64());
    let groups: Vec<Vec<u64>> =
        clusters.groups().iter().map(|g| g.iter().map(|&i| i as u64).collect()).collect();

    // 5. Save and load.
    let file = std::env::temp_dir().join(format!("reprint-measure-{}.idx", std::process::id()));
    let start = Instant::now();
    index.save_path(&file)?;
    let save_s = start.elapsed().as_secs_f64();
    let size = std::fs::metadata(&file)?.len();
    let start = Instant::now();
    let loaded = Index::load_path(Clusterer::default(), &file)?;
    let load_s = start.elapsed().as_secs_f64();
    std::fs::remove_file(&file)?;
    rate("save", save_s);
    rate("load", load_s);

    println!();
    println!("verified pairs found while inserting: {pairs}; matches over all queries: {found}");
    println!("groups equal to cluster(): {}", index.groups() == groups);
    println!("loaded index has the same groups: {}", loaded.groups() == index.groups());
    println!("on disk:   {size} bytes, {} bytes per article", size / n.max(1) as u64);
    println!(
        "in memory: {} bytes per article (Index::memory_bytes), {} bytes per article (VmRSS \
         grew {:.1} MB while inserting); VmHWM {:.1} MB",
        index.memory_bytes() / n.max(1),
        rss_after.saturating_sub(rss_before) * 1024 / n.max(1) as u64,
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        proc_status_kib("VmHWM") as f64 / 1024.0
    );
    Ok(())
}

/// A field of `/proc/self/status` in KiB (0 where there is none, as off Linux).
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
