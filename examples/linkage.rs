//! Compares single and majority linkage on a corpus without story labels, such as a wire feed
//! with resends: how large the groups grow, how many pairs end up inside groups, and (when the
//! records carry a `"topics"` list, as Reuters-21578 does) how many of those pairs join articles
//! whose topics have nothing in common.
//!
//! ```text
//! cargo run --release --example linkage -- ../shared/bench/reuters21578.jsonl
//! ```

use std::error::Error;
use std::time::Instant;

use reprint::{Clusterer, Linkage};

fn main() -> Result<(), Box<dyn Error>> {
    // 1. Read `{"text", "topics"?}` per line.
    let path = std::env::args().nth(1).ok_or("usage: linkage <file.jsonl>")?;
    let mut texts = Vec::new();
    let mut topics: Vec<Vec<String>> = Vec::new();
    for line in std::fs::read_to_string(&path)?.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        texts.push(v["text"].as_str().ok_or("a record has no \"text\"")?.to_string());
        let list = v["topics"].as_array().map(|a| a.iter().filter_map(|t| t.as_str()));
        topics.push(list.map(|l| l.map(str::to_string).collect()).unwrap_or_default());
    }
    println!("{} articles from {path}\n", texts.len());

    // 2. Cluster with each linkage, everything else at its default.
    for linkage in [Linkage::Single, Linkage::Majority] {
        let clusterer = Clusterer::builder().linkage(linkage).build()?;
        let start = Instant::now();
        let clusters = clusterer.cluster(&texts);
        let secs = start.elapsed().as_secs_f64();

        // 3. Count the pairs inside groups, and those whose topic lists share nothing.
        let mut sizes: Vec<usize> = clusters.duplicates().map(<[usize]>::len).collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        let (mut inside, mut labelled, mut disjoint) = (0u64, 0u64, 0u64);
        for group in clusters.duplicates() {
            for (x, &i) in group.iter().enumerate() {
                for &j in &group[x + 1..] {
                    inside += 1;
                    if !topics[i].is_empty() && !topics[j].is_empty() {
                        labelled += 1;
                        if !topics[i].iter().any(|t| topics[j].contains(t)) {
                            disjoint += 1;
                        }
                    }
                }
            }
        }
        println!("{linkage:?} linkage ({secs:.2} s):");
        println!("  groups with reprints  {}", sizes.len());
        println!("  largest groups        {:?}", &sizes[..sizes.len().min(8)]);
        println!("  pairs inside groups   {inside}");
        println!("  ... both with topics  {labelled}, of which with disjoint topics {disjoint}\n");
    }
    Ok(())
}
