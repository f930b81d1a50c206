//! Scores clustering against labelled data: pairwise precision, recall, F1 and the adjusted Rand
//! index, with the worst false merges and misses so that a person can see why.
//!
//! ```text
//! cargo run --release --example evaluate                          # shipped data, defaults
//! cargo run --release --example evaluate -- data.jsonl            # {"id", "story"|"cluster", "text"}
//! cargo run --release --example evaluate -- tests/data/seeds      # a folder of .txt + truth.tsv
//! cargo run --release --example evaluate -- data.jsonl --words 4 --threshold 0.2 --containment
//! cargo run --release --example evaluate -- --sweep --csv sweep.csv --svg sweep.svg
//! ```
//!
//! Options: `--words K`, `--chars K`, `--threshold T`, `--containment`, `--slots N`,
//! `--classic`, `--estimate` (verify by signature estimate), `--single` (single linkage), `--simhash D` (SimHash
//! fingerprints searched within D bits instead of MinHash LSH), `--bands B --rows R`, `--sweep`
//! (shingle kind and size, threshold, measure and slots over every data set given), `--csv PATH`
//! and `--svg PATH` (sweep output).

mod common;

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use common::Article;
use reprint::eval::{Scores, score};
use reprint::{
    Banding, Clusterer, Clusters, Linkage, Scheme, Shingles, SignatureKind, Similarity,
    Verification,
};

/// Settings read from the command line.
#[derive(Clone, Default)]
struct Options {
    files: Vec<PathBuf>,
    shingles: Option<Shingles>,
    threshold: Option<f64>,
    containment: bool,
    slots: Option<usize>,
    classic: bool,
    estimate: bool,
    bands: Option<usize>,
    rows: Option<usize>,
    sweep: bool,
    simhash: Option<u32>,
    single: bool,
    csv: Option<PathBuf>,
    svg: Option<PathBuf>,
}

fn parse_args() -> Result<Options, Box<dyn Error>> {
    let mut o = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--words" => o.shingles = Some(Shingles::Words(value("--words")?.parse()?)),
            "--chars" => o.shingles = Some(Shingles::Chars(value("--chars")?.parse()?)),
            "--threshold" => o.threshold = Some(value("--threshold")?.parse()?),
            "--slots" => o.slots = Some(value("--slots")?.parse()?),
            "--simhash" => o.simhash = Some(value("--simhash")?.parse()?),
            "--bands" => o.bands = Some(value("--bands")?.parse()?),
            "--rows" => o.rows = Some(value("--rows")?.parse()?),
            "--csv" => o.csv = Some(value("--csv")?.into()),
            "--svg" => o.svg = Some(value("--svg")?.into()),
            "--containment" => o.containment = true,
            "--classic" => o.classic = true,
            "--estimate" => o.estimate = true,
            "--single" => o.single = true,
            "--sweep" => o.sweep = true,
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}").into()),
            path => o.files.push(path.into()),
        }
    }
    if o.files.is_empty() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        o.files = vec![data.join("seeds"), data.join("wire-dev.jsonl")];
    }
    Ok(o)
}

fn clusterer(o: &Options) -> Result<Clusterer, Box<dyn Error>> {
    let mut b = Clusterer::builder();
    if let Some(s) = o.shingles {
        b.shingles(s);
    }
    if let Some(t) = o.threshold {
        b.threshold(t);
    }
    if let Some(s) = o.slots {
        b.slots(s);
    }
    if o.containment {
        b.similarity(Similarity::Containment);
    }
    if o.classic {
        b.scheme(Scheme::Classic);
    }
    if o.estimate {
        b.verification(Verification::Estimate);
    }
    if o.single {
        b.linkage(Linkage::Single);
    }
    if let Some(distance) = o.simhash {
        b.signature(SignatureKind::SimHash).simhash_distance(distance);
    }
    match (o.bands, o.rows) {
        (Some(bands), Some(rows)) => {
            b.banding(Banding { bands, rows });
        }
        (None, None) => {}
        _ => return Err("--bands and --rows go together".into()),
    }
    Ok(b.build()?)
}

fn describe(c: &Clusterer) -> String {
    let cfg = c.config();
    if cfg.signature() == SignatureKind::SimHash {
        return format!(
            "{}, {} >= {}, SimHash within {} bits, {:?} verification",
            cfg.shingles(),
            cfg.similarity(),
            cfg.threshold(),
            cfg.simhash_distance(),
            cfg.verification()
        );
    }
    format!(
        "{}, {} >= {}, {} slots ({}), {}, {:?} verification",
        cfg.shingles(),
        cfg.similarity(),
        cfg.threshold(),
        cfg.slots(),
        cfg.scheme(),
        cfg.banding(),
        cfg.verification()
    )
}

/// Clusters labelled articles and scores the result; articles without a label are each their
/// own story.
fn evaluate(c: &Clusterer, articles: &[Article]) -> (Clusters, Scores) {
    let texts: Vec<&str> = articles.iter().map(|a| a.text.as_str()).collect();
    let clusters = c.cluster(&texts);
    let truth: Vec<String> = articles
        .iter()
        .map(|a| a.label.clone().unwrap_or_else(|| format!("\u{0}{}", a.id)))
        .collect();
    let predicted: Vec<usize> = (0..articles.len()).filter_map(|i| clusters.group_of(i)).collect();
    let scores = score(&truth, &predicted);
    (clusters, scores)
}

fn report(c: &Clusterer, path: &Path, articles: &[Article]) {
    let (clusters, s) = evaluate(c, articles);
    let labelled = articles.iter().filter(|a| a.label.is_some()).count();
    println!("== {} ({} articles, {} labelled)", path.display(), articles.len(), labelled);
    println!("   {}", describe(c));
    println!(
        "   precision {:.3}  recall {:.3}  F1 {:.3}  ARI {:.3}",
        s.precision, s.recall, s.f1, s.ari
    );
    println!(
        "   pairs: {} true, {} predicted, {} correct; {} groups, {} with reprints",
        s.true_pairs,
        s.predicted_pairs,
        s.correct_pairs,
        clusters.len(),
        clusters.duplicates().count()
    );
    let same_story =
        |i: usize, j: usize| articles[i].label.is_some() && articles[i].label == articles[j].label;
    let mut merges = Vec::new();
    let mut misses = Vec::new();
    for i in 0..articles.len() {
        for j in i + 1..articles.len() {
            let together = clusters.group_of(i) == clusters.group_of(j);
            if together != same_story(i, j) {
                let sim = c.similarity(&articles[i].text, &articles[j].text);
                if together { &mut merges } else { &mut misses }.push((sim, i, j));
            }
        }
    }
    let show = |title: &str, list: &mut Vec<(f64, usize, usize)>| {
        if list.is_empty() {
            return;
        }
        list.sort_by(|a, b| b.0.total_cmp(&a.0));
        println!("   {title} ({}; exact similarity, highest first):", list.len());
        for &(sim, i, j) in list.iter().take(5) {
            println!("     {sim:.3}  {} | {}", articles[i].id, articles[j].id);
            for k in [i, j] {
                println!("            {}", common::first_line(&articles[k].text, 80));
            }
        }
    };
    show("false merges", &mut merges);
    show("misses", &mut misses);
    println!();
}

/// One sweep row.
struct Row {
    data: String,
    shingles: Shingles,
    similarity: Similarity,
    slots: usize,
    threshold: f64,
    scores: Scores,
}

fn sweep(o: &Options, sets: &[(PathBuf, Vec<Article>)]) -> Result<(), Box<dyn Error>> {
    let thresholds: Vec<f64> = (1..=30).map(|i| i as f64 * 0.02).collect();
    let mut shingles: Vec<Shingles> = (1..=5).map(Shingles::Words).collect();
    shingles.extend((3..=7).map(Shingles::Chars));
    let mut rows = Vec::new();
    for (path, articles) in sets {
        let data = data_name(path);
        for &sh in &shingles {
            for similarity in [Similarity::Jaccard, Similarity::Containment] {
                for slots in [128, 256] {
                    for &threshold in &thresholds {
                        let c = Clusterer::builder()
                            .shingles(sh)
                            .similarity(similarity)
                            .slots(slots)
                            .threshold(threshold)
                            .verification(if o.estimate {
                                Verification::Estimate
                            } else {
                                Verification::Exact
                            })
                            .build()?;
                        let (_, scores) = evaluate(&c, articles);
                        rows.push(Row {
                            data: data.clone(),
                            shingles: sh,
                            similarity,
                            slots,
                            threshold,
                            scores,
                        });
                    }
                }
            }
        }
    }
    // The table: for each configuration, the best ARI per data set, and the band of thresholds
    // where every data set reaches ARI 0.97 (robustness matters more than the peak).
    println!(
        "{:<14} {:<12} {:>5}  {:<13} best ARI per data set (at threshold)",
        "shingles", "measure", "slots", "ARI>=0.97 at"
    );
    let mut keys: Vec<(Shingles, Similarity, usize)> = Vec::new();
    for r in &rows {
        if !keys.contains(&(r.shingles, r.similarity, r.slots)) {
            keys.push((r.shingles, r.similarity, r.slots));
        }
    }
    let names: Vec<String> = sets.iter().map(|(p, _)| data_name(p)).collect();
    for &(sh, sim, slots) in &keys {
        let of_key = |r: &&Row| r.shingles == sh && r.similarity == sim && r.slots == slots;
        let good: Vec<f64> = thresholds
            .iter()
            .copied()
            .filter(|&t| {
                rows.iter()
                    .filter(of_key)
                    .filter(|r| r.threshold == t)
                    .all(|r| r.scores.ari >= 0.97)
            })
            .collect();
        let band = match (good.first(), good.last()) {
            (Some(lo), Some(hi)) => format!("{lo:.2}-{hi:.2}"),
            _ => "none".to_string(),
        };
        let mut line =
            format!("{:<14} {:<12} {:>5}  {band:<13}", sh.to_string(), sim.to_string(), slots);
        for data in &names {
            let best = rows.iter().filter(of_key).filter(|r| &r.data == data).fold(
                None::<&Row>,
                |best, r| match best {
                    Some(b) if b.scores.ari >= r.scores.ari => Some(b),
                    _ => Some(r),
                },
            );
            if let Some(b) = best {
                write!(line, " {data}: {:.3} ({:.2})", b.scores.ari, b.threshold)?;
            }
        }
        println!("{line}");
    }
    if let Some(csv) = &o.csv {
        let mut out =
            String::from("data,shingles,measure,slots,threshold,precision,recall,f1,ari\n");
        for r in &rows {
            writeln!(
                out,
                "{},{},{},{},{:.2},{:.4},{:.4},{:.4},{:.4}",
                r.data,
                r.shingles,
                r.similarity,
                r.slots,
                r.threshold,
                r.scores.precision,
                r.scores.recall,
                r.scores.f1,
                r.scores.ari
            )?;
        }
        std::fs::write(csv, out)?;
        println!("wrote {}", csv.display());
    }
    if let Some(svg) = &o.svg {
        std::fs::write(svg, plot(&rows, sets)?)?;
        println!("wrote {}", svg.display());
    }
    Ok(())
}

fn data_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// ARI against threshold for word k-gram Jaccard at 256 slots, one panel per data set.
fn plot(rows: &[Row], sets: &[(PathBuf, Vec<Article>)]) -> Result<String, Box<dyn Error>> {
    let (w, h, pad) = (520.0, 360.0, 50.0);
    let colours = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e"];
    let mut svg = String::new();
    let total_w = w * sets.len() as f64;
    writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{total_w}" height="{h}" font-family="sans-serif" font-size="12">"#
    )?;
    writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#)?;
    for (p, (path, _)) in sets.iter().enumerate() {
        let data = data_name(path);
        let x0 = p as f64 * w;
        let x = |t: f64| x0 + pad + (t / 0.6) * (w - 2.0 * pad);
        let y = |a: f64| h - pad - a.clamp(-0.1, 1.0).max(0.0) * (h - 2.0 * pad);
        writeln!(
            svg,
            r#"<text x="{}" y="20" text-anchor="middle" font-size="14">ARI vs Jaccard threshold: {data}</text>"#,
            x0 + w / 2.0
        )?;
        writeln!(
            svg,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            x(0.0),
            y(0.0),
            x(0.6),
            y(0.0)
        )?;
        writeln!(
            svg,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
            x(0.0),
            y(0.0),
            x(0.0),
            y(1.0)
        )?;
        for i in 0..=6 {
            let t = i as f64 * 0.1;
            writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{t:.1}</text>"#,
                x(t),
                y(0.0) + 16.0
            )?;
        }
        for i in 0..=5 {
            let a = i as f64 * 0.2;
            writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{a:.1}</text>"#,
                x(0.0) - 6.0,
                y(a) + 4.0
            )?;
            writeln!(
                svg,
                r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#ddd"/>"##,
                x(0.0),
                y(a),
                x(0.6),
                y(a)
            )?;
        }
        writeln!(
            svg,
            r##"<text x="{}" y="{}" fill="#777">default 0.16</text>"##,
            x(0.16) + 4.0,
            y(0.03)
        )?;
        writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">threshold</text>"#,
            x(0.3),
            h - 12.0
        )?;
        writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" transform="rotate(-90 {} {})">ARI</text>"#,
            x0 + 14.0,
            y(0.5),
            x0 + 14.0,
            y(0.5)
        )?;
        writeln!(
            svg,
            r##"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4"/>"##,
            x(0.16),
            y(0.0),
            x(0.16),
            y(1.0)
        )?;
        for (k, colour) in (1..=5).zip(colours) {
            let points: Vec<String> = rows
                .iter()
                .filter(|r| {
                    r.data == data
                        && r.shingles == Shingles::Words(k)
                        && r.similarity == Similarity::Jaccard
                        && r.slots == 256
                })
                .map(|r| format!("{:.1},{:.1}", x(r.threshold), y(r.scores.ari)))
                .collect();
            writeln!(
                svg,
                r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
                points.join(" ")
            )?;
            writeln!(
                svg,
                r#"<text x="{}" y="{}" fill="{colour}">word {k}-grams</text>"#,
                x0 + w - pad - 80.0,
                40.0 + 15.0 * k as f64
            )?;
        }
    }
    writeln!(svg, "</svg>")?;
    Ok(svg)
}

fn main() -> Result<(), Box<dyn Error>> {
    let o = parse_args()?;
    let sets: Vec<(PathBuf, Vec<Article>)> = o
        .files
        .iter()
        .map(|p| common::load(p).map(|a| (p.clone(), a)))
        .collect::<Result<_, _>>()?;
    if o.sweep {
        return sweep(&o, &sets);
    }
    let c = clusterer(&o)?;
    for (path, articles) in &sets {
        report(&c, path, articles);
    }
    Ok(())
}
