//! Real reprints gathered from public news pages: 95 page openings with their chrome, 20 groups
//! of reprints and 43 different articles on the same events that must stay apart.

use std::path::Path;

use reprint::eval::score;

fn wire() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire-dev.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["story"].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn default_clustering_scores_high_on_real_reprints() {
    let data = wire();
    assert_eq!(data.len(), 95);
    let texts: Vec<&str> = data.iter().map(|(_, t)| t.as_str()).collect();
    let stories: Vec<&str> = data.iter().map(|(s, _)| s.as_str()).collect();
    let clusters = reprint::cluster(&texts);
    let groups: Vec<usize> = (0..texts.len()).map(|i| clusters.group_of(i).unwrap()).collect();
    let s = score(&stories, &groups);
    assert_eq!(s.true_pairs, 47);
    assert!(s.ari >= 0.97, "{s:?}");
    assert!(s.precision >= 0.97 && s.recall >= 0.95, "{s:?}");
}

#[test]
fn textbook_settings_miss_most_reprints() {
    // Word 5-grams at Jaccard 0.9, the usual deduplication default, finds almost none of them:
    // the reason the defaults are what they are.
    let data = wire();
    let texts: Vec<&str> = data.iter().map(|(_, t)| t.as_str()).collect();
    let stories: Vec<&str> = data.iter().map(|(s, _)| s.as_str()).collect();
    let c = reprint::Clusterer::builder()
        .shingles(reprint::Shingles::Words(5))
        .threshold(0.9)
        .build()
        .unwrap();
    let clusters = c.cluster(&texts);
    let groups: Vec<usize> = (0..texts.len()).map(|i| clusters.group_of(i).unwrap()).collect();
    assert!(score(&stories, &groups).recall < 0.1);
}
