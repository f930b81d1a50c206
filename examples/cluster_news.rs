//! Clusters news articles into groups of reprints and prints each group.
//!
//! ```text
//! cargo run --release --example cluster_news                 # the sample articles the crate ships
//! cargo run --release --example cluster_news -- articles/    # a folder of .txt files
//! cargo run --release --example cluster_news -- feed.jsonl   # {"id", "text"} per line
//! ```

mod common;

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    // 1. Read the articles: the path given, or the shipped samples.
    let path = std::env::args_os().nth(1).map(PathBuf::from).unwrap_or_else(common::sample_dir);
    let articles = common::load(&path)?;
    let texts: Vec<&str> = articles.iter().map(|a| a.text.as_str()).collect();
    let bytes: usize = texts.iter().map(|t| t.len()).sum();

    // 2. Cluster them with the default settings.
    let start = Instant::now();
    let clusters = reprint::cluster(&texts);
    let elapsed = start.elapsed();

    // 3. Print every group that has reprints, with each member's first line and the verified
    //    pair similarities, then the articles that stand alone.
    let with_reprints = clusters.duplicates().count();
    println!(
        "{} articles ({:.1} MB) from {}: {} groups, {} with reprints, in {:.3} s\n",
        articles.len(),
        bytes as f64 / 1e6,
        path.display(),
        clusters.len(),
        with_reprints,
        elapsed.as_secs_f64()
    );
    for (g, members) in clusters.groups().iter().enumerate() {
        if members.len() < 2 {
            continue;
        }
        let rep = clusters.representatives()[g];
        println!(
            "Group {} ({} articles; representative {}):",
            g + 1,
            members.len(),
            articles[rep].id
        );
        for &i in members {
            println!("  {:<28} {}", articles[i].id, common::first_line(&articles[i].text, 70));
        }
        for p in clusters.pairs_in(g) {
            println!("    {} ~ {}: {:.3}", articles[p.a].id, articles[p.b].id, p.similarity);
        }
        println!();
    }
    let alone: Vec<&str> = clusters
        .groups()
        .iter()
        .filter(|g| g.len() == 1)
        .map(|g| articles[g[0]].id.as_str())
        .collect();
    if !alone.is_empty() {
        println!("No reprint found for {} articles:", alone.len());
        for id in alone.iter().take(20) {
            println!("  {id}");
        }
        if alone.len() > 20 {
            println!("  ... and {} more", alone.len() - 20);
        }
    }
    Ok(())
}
