//! Adversarial corpora at full size, with the time and peak memory each one takes.
//!
//! ```text
//! cargo run --release --example adversarial            # every scenario, at three sizes
//! cargo run --release --example adversarial -- chrome 10000   # one scenario at one size
//! ```
//!
//! Scenarios:
//! - `identical`: n copies of one 500-word article (must form one group);
//! - `chrome`: n different 400-word articles inside the same 40-word header and footer (must
//!   stay apart);
//! - `huge`: one 50 MB article among n small ones;
//! - `short`: n distinct two-word articles (headlines, captions) at the default 256 slots;
//! - `slots`: the largest signatures (4,096 slots) on n one-word articles, where
//!   densification fills almost every slot by borrowing.
//!
//! Each scenario runs in a child process of its own so that the peak resident memory it
//! reports (`VmHWM` from `/proc/self/status`, Linux only) is its own. Figures are printed, never
//! checked: they depend on the machine.

use std::error::Error;
use std::process::Command;
use std::time::Instant;

use reprint::Clusterer;

#[path = "../tests/common/mod.rs"]
mod text;

use text::article;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [scenario, n] = args.as_slice() {
        // 1. In a child: build the corpus, cluster it, print one line of figures.
        return run(scenario, n.parse()?);
    }

    // 2. In the parent: run every scenario at growing sizes, each in a fresh process, and show
    //    how time and memory grow from the smallest size to the largest.
    let exe = std::env::current_exe()?;
    println!(
        "{:<10} {:>7} {:>9} {:>8} {:>7} {:>9} {:>10} {:>11}",
        "scenario", "n", "input MB", "groups", "pairs", "seconds", "peak MB", "note"
    );
    let plans: [(&str, &[usize]); 5] = [
        ("identical", &[2_500, 5_000, 10_000]),
        ("chrome", &[2_500, 5_000, 10_000]),
        ("huge", &[1_000]),
        ("short", &[10_000, 40_000]),
        ("slots", &[100, 400]),
    ];
    for (scenario, sizes) in plans {
        let mut figures: Vec<Figures> = Vec::new();
        for &n in sizes {
            let out = Command::new(&exe).arg(scenario).arg(n.to_string()).output()?;
            if !out.status.success() {
                return Err(format!(
                    "{scenario} {n} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                )
                .into());
            }
            let line = String::from_utf8(out.stdout)?;
            print!("{line}");
            figures.push(Figures::parse(&line)?);
        }
        if let [first, .., last] = figures.as_slice() {
            println!(
                "{:<10} {:>7.1}x size gives {:.2}x time and {:.2}x peak memory\n",
                scenario,
                last.n / first.n,
                last.seconds / first.seconds,
                last.peak_mb / first.peak_mb
            );
        }
    }
    Ok(())
}

/// One child's figures, read back from its line of output.
struct Figures {
    n: f64,
    seconds: f64,
    peak_mb: f64,
}

impl Figures {
    fn parse(line: &str) -> Result<Figures, Box<dyn Error>> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let number = |i: usize| -> Result<f64, Box<dyn Error>> {
            Ok(fields.get(i).ok_or("short line")?.parse()?)
        };
        Ok(Figures { n: number(1)?, seconds: number(5)?, peak_mb: number(6)? })
    }
}

fn run(scenario: &str, n: usize) -> Result<(), Box<dyn Error>> {
    let mut note = String::new();
    let clusterer;
    let docs: Vec<String> = match scenario {
        "identical" => {
            clusterer = Clusterer::default();
            vec![article(1, 500); n]
        }
        "chrome" => {
            clusterer = Clusterer::default();
            let header = article(7, 40);
            let footer = article(8, 40);
            (0..n)
                .map(|i| format!("{header}\n{}\n{footer}", article(1_000 + i as u64, 400)))
                .collect()
        }
        "huge" => {
            clusterer = Clusterer::default();
            let mut docs: Vec<String> = (0..n).map(|i| article(100 + i as u64, 300)).collect();
            docs.insert(n / 2, article(5, 8_000_000)); // about 50 MB
            docs
        }
        "short" => {
            clusterer = Clusterer::default();
            (0..n).map(|i| format!("headline {i}")).collect()
        }
        "slots" => {
            let start = Instant::now();
            clusterer = Clusterer::builder().slots(reprint::MAX_SLOTS).build()?;
            note = format!("build {:.2}s", start.elapsed().as_secs_f64());
            (0..n).map(|i| format!("word{i}")).collect()
        }
        other => return Err(format!("unknown scenario {other}").into()),
    };
    let bytes: usize = docs.iter().map(String::len).sum();

    let start = Instant::now();
    let clusters = clusterer.cluster(&docs);
    let seconds = start.elapsed().as_secs_f64();

    println!(
        "{:<10} {:>7} {:>9.1} {:>8} {:>7} {:>9.3} {:>10.1} {:>11}",
        scenario,
        n,
        bytes as f64 / 1e6,
        clusters.len(),
        clusters.pairs().len(),
        seconds,
        peak_resident_mb().unwrap_or(f64::NAN),
        note
    );
    Ok(())
}

/// The process's peak resident set size in MB, from `/proc/self/status` (Linux).
fn peak_resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
