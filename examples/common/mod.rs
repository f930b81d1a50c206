//! Reading articles for the examples: a folder of `.txt` files or a JSONL file.

#![allow(dead_code)] // each example uses part of this module

use std::error::Error;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// One article: an id, an optional label (its story), and the text.
pub struct Article {
    pub id: String,
    pub label: Option<String>,
    pub text: String,
}

/// The sample articles the crate ships: the five seed articles.
pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seeds")
}

/// The throughput corpus, `../shared/bench/news-5k.jsonl`, when it exists beside the crate,
/// else the wire articles the crate ships.
pub fn bench_corpus() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bench = root.join("../shared/bench/news-5k.jsonl");
    if bench.exists() { bench } else { root.join("tests/data/wire-dev.jsonl") }
}

/// The setting the peer comparison uses (`../shared/bench/peers_bench.py`): word 5-grams, 128
/// slots in 16 bands of 8 rows, threshold 0.7, and the signature's estimate as verification
/// (no second pass over the text).
pub fn peers_setting() -> reprint::Clusterer {
    reprint::Clusterer::builder()
        .shingles(reprint::Shingles::Words(5))
        .slots(128)
        .banding(reprint::Banding { bands: 16, rows: 8 })
        .threshold(0.7)
        .verification(reprint::Verification::Estimate)
        .build()
        .expect("a valid setting")
}

/// The median wall time of `repeats` runs of `f` (at least one).
pub fn median_time(repeats: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort_unstable();
    times[times.len() / 2]
}

/// Reads a folder of `.txt` files (sorted by name; labels from a `truth.tsv` beside them, if
/// any) or a JSONL file with `{"id", "text"}` per line (and `"story"` or `"cluster"` as label).
pub fn load(path: &Path) -> Result<Vec<Article>, Box<dyn Error>> {
    if path.is_dir() { load_dir(path) } else { load_jsonl(path) }
}

fn load_dir(dir: &Path) -> Result<Vec<Article>, Box<dyn Error>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let truth = fs::read_to_string(dir.join("truth.tsv")).unwrap_or_default();
    let label_of = |name: &str| {
        truth.lines().find_map(|l| {
            let (file, story) = l.split_once('\t')?;
            (file == name).then(|| story.to_string())
        })
    };
    files
        .iter()
        .map(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            // Invalid UTF-8 is replaced by U+FFFD rather than rejected: scraped text often has some.
            let text = String::from_utf8_lossy(&fs::read(p)?).into_owned();
            Ok(Article { label: label_of(&name), id: name, text })
        })
        .collect()
}

fn load_jsonl(path: &Path) -> Result<Vec<Article>, Box<dyn Error>> {
    let mut articles = Vec::new();
    for (n, line) in fs::read_to_string(path)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| format!("{}:{}: not JSON: {e}", path.display(), n + 1))?;
        let text = value["text"]
            .as_str()
            .ok_or_else(|| format!("{}:{}: no \"text\" string", path.display(), n + 1))?;
        let as_string = |v: &serde_json::Value| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        articles.push(Article {
            id: as_string(&value["id"]).unwrap_or_else(|| (n + 1).to_string()),
            label: as_string(&value["story"]).or_else(|| as_string(&value["cluster"])),
            text: text.to_string(),
        });
    }
    Ok(articles)
}

/// The first non-blank line of `text`, cut to `max` characters.
pub fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}
