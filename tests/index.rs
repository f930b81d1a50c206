//! The streaming index: it agrees with `cluster()`, forgets removed articles, and survives a
//! save and load, while damaged files are refused.

use std::collections::BTreeSet;
use std::path::Path;

use reprint::{
    Clusterer, Error, Index, Match, Scheme, SignatureKind, Similarity, Verification,
    index::FORMAT_VERSION,
};

fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/seeds");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    files.iter().map(|p| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned()).collect()
}

fn wire_dev() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire-dev.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect()
}

/// Inserts `docs` with ids `0, 1, ...` one at a time, checking at each step that `query`
/// announced what `insert` then returned; gives the index and every insertion's matches.
fn build(clusterer: &Clusterer, docs: &[String]) -> (Index, Vec<Vec<Match>>) {
    let mut index = Index::new(clusterer.clone());
    let mut all = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let announced = index.query(doc);
        let matches = index.insert(i as u64, doc);
        assert_eq!(announced, matches, "article {i}");
        all.push(matches);
    }
    (index, all)
}

/// The index finds exactly the pairs, with exactly the similarities, and the groups that
/// `cluster` finds.
fn assert_agrees_with_cluster(clusterer: &Clusterer, docs: &[String]) {
    let clusters = clusterer.cluster(docs);
    let (index, matches) = build(clusterer, docs);
    let mut from_index: Vec<(usize, usize, u64)> = Vec::new();
    for (b, found) in matches.iter().enumerate() {
        for m in found {
            assert!(m.similarity >= clusterer.config().threshold());
            from_index.push((m.id as usize, b, m.similarity.to_bits()));
        }
        // Best first, ties by id.
        assert!(found.windows(2).all(|w| w[0].similarity > w[1].similarity
            || (w[0].similarity == w[1].similarity && w[0].id < w[1].id)));
    }
    from_index.sort_unstable();
    let from_cluster: Vec<(usize, usize, u64)> =
        clusters.pairs().iter().map(|p| (p.a, p.b, p.similarity.to_bits())).collect();
    assert_eq!(from_index, from_cluster, "{:?}", clusterer.config());
    let groups: Vec<Vec<u64>> =
        clusters.groups().iter().map(|g| g.iter().map(|&i| i as u64).collect()).collect();
    assert_eq!(index.groups(), groups);
    assert_eq!(index.len(), docs.len());

    // A batch insertion gives the same answers.
    let mut batch = Index::new(clusterer.clone());
    let articles: Vec<(u64, &str)> =
        docs.iter().enumerate().map(|(i, d)| (i as u64, d.as_str())).collect();
    assert_eq!(batch.insert_batch(&articles), matches);
    assert_eq!(batch.groups(), groups);
}

#[test]
fn seeds_stream_into_the_true_groups() {
    let docs = seeds();
    let (index, matches) = build(&Clusterer::default(), &docs);
    assert_eq!(index.groups(), [vec![0, 1, 2], vec![3], vec![4]]);
    assert!(matches[0].is_empty());
    assert_eq!(matches[1].iter().map(|m| m.id).collect::<Vec<_>>(), [0]);
    assert!(matches[3].is_empty() && matches[4].is_empty());
    assert_agrees_with_cluster(&Clusterer::default(), &docs);
}

#[test]
fn index_agrees_with_cluster_on_wire_dev() {
    let docs = wire_dev();
    assert_agrees_with_cluster(&Clusterer::default(), &docs);
}

#[test]
fn index_agrees_with_cluster_in_other_configurations() {
    let docs = wire_dev();
    let configs = [
        Clusterer::builder().verification(Verification::Estimate).build().unwrap(),
        Clusterer::builder().similarity(Similarity::Containment).threshold(0.3).build().unwrap(),
        Clusterer::builder()
            .similarity(Similarity::Containment)
            .verification(Verification::Estimate)
            .threshold(0.3)
            .build()
            .unwrap(),
        Clusterer::builder().scheme(Scheme::Classic).slots(64).threshold(0.3).build().unwrap(),
        Clusterer::builder().shingles(reprint::Shingles::Chars(5)).threshold(0.3).build().unwrap(),
        Clusterer::builder().signature(SignatureKind::SimHash).build().unwrap(),
        Clusterer::builder()
            .signature(SignatureKind::SimHash)
            .simhash_distance(12)
            .verification(Verification::Estimate)
            .build()
            .unwrap(),
    ];
    for clusterer in &configs {
        assert_agrees_with_cluster(clusterer, &docs);
    }
}

#[test]
fn batches_answer_as_one_by_one_insertions() {
    let docs = wire_dev();
    let configs = [
        Clusterer::default(),
        Clusterer::builder().verification(Verification::Estimate).build().unwrap(),
        // Buckets past the cap hand over only their first and last members.
        Clusterer::builder().bucket_cap(2).build().unwrap(),
        Clusterer::builder().signature(SignatureKind::SimHash).build().unwrap(),
    ];
    let pairs = |ids: &[u64]| -> Vec<(u64, &str)> {
        ids.iter().map(|&i| (i, docs[i as usize % docs.len()].as_str())).collect()
    };
    for clusterer in &configs {
        // New ids into an index that already holds articles: the batch's buckets meet the
        // stored ones.
        let (one_by_one, matches) = build(clusterer, &docs);
        let half = docs.len() / 2;
        let (mut batched, mut found) = build(clusterer, &docs[..half]);
        let rest: Vec<u64> = (half as u64..docs.len() as u64).collect();
        found.extend(batched.insert_batch(&pairs(&rest)));
        assert_eq!(found, matches, "{:?}", clusterer.config());
        assert_eq!(batched.groups(), one_by_one.groups());

        // Batches that repeat an id, or hold one already stored, replace articles on the way.
        let batches: [&[u64]; 3] = [&[0, 1, 2, 1, 3], &[2, 90, 91, 0], &[5, 6, 7]];
        let (mut one_by_one, mut batched) =
            (Index::new(clusterer.clone()), Index::new(clusterer.clone()));
        for ids in batches {
            let ids: Vec<u64> = ids.iter().map(|&i| i * 7 % 60).collect();
            let expected: Vec<Vec<Match>> =
                pairs(&ids).into_iter().map(|(id, text)| one_by_one.insert(id, text)).collect();
            assert_eq!(batched.insert_batch(&pairs(&ids)), expected);
            assert_eq!(batched.groups(), one_by_one.groups());
        }
    }
}

#[test]
fn query_with_min_filters_and_the_threshold_still_holds() {
    let docs = seeds();
    let (index, _) = build(&Clusterer::default(), &docs[..2]);
    let all = index.query(&docs[2]);
    assert!(!all.is_empty());
    assert_eq!(index.query_with_min(&docs[2], 0.0), all);
    let best = all[0].similarity;
    assert_eq!(index.query_with_min(&docs[2], best), all[..1]);
    assert!(index.query_with_min(&docs[2], best + 1e-9).is_empty());
    // An article matches its own copy with similarity 1.
    assert_eq!(index.query(&docs[0])[0], Match { id: 0, similarity: 1.0 });
}

#[test]
fn removed_articles_are_no_longer_returned() {
    let docs = seeds();
    let (mut index, _) = build(&Clusterer::default(), &docs);
    assert!(index.query(&docs[1]).iter().any(|m| m.id == 0));
    assert!(index.remove(0));
    assert!(!index.remove(0));
    assert!(!index.contains(0));
    assert_eq!(index.len(), 4);
    assert!(index.query(&docs[1]).iter().all(|m| m.id != 0));
    assert!(index.query(&docs[0]).iter().all(|m| m.id != 0));
    assert_eq!(index.ids().collect::<Vec<_>>(), [1, 2, 3, 4]);
    // The groups are those of the remaining articles.
    let rest = Clusterer::default().cluster(&docs[1..]);
    let expected: Vec<Vec<u64>> =
        rest.groups().iter().map(|g| g.iter().map(|&i| i as u64 + 1).collect()).collect();
    assert_eq!(index.groups(), expected);
    // Removing every article leaves an empty index that still works.
    for id in 1..5 {
        assert!(index.remove(id));
    }
    assert!(index.is_empty());
    assert!(index.groups().is_empty());
    assert!(index.query(&docs[1]).is_empty());
    assert!(index.insert(9, &docs[1]).is_empty());
}

#[test]
fn removing_many_articles_keeps_answers_equal_to_a_fresh_index() {
    let docs = wire_dev();
    let clusterer = Clusterer::default();
    let (mut index, _) = build(&clusterer, &docs);
    // Remove two thirds, which compacts the index on the way.
    for i in (0..docs.len()).filter(|i| i % 3 != 0) {
        assert!(index.remove(i as u64));
    }
    let mut fresh = Index::new(clusterer.clone());
    for i in (0..docs.len()).filter(|i| i % 3 == 0) {
        fresh.insert(i as u64, &docs[i]);
    }
    assert_eq!(index.groups(), fresh.groups());
    for doc in &docs {
        assert_eq!(index.query(doc), fresh.query(doc));
    }
}

#[test]
fn inserting_an_existing_id_replaces_the_article() {
    let docs = seeds();
    let (mut index, _) = build(&Clusterer::default(), &docs);
    // Article 1 becomes a copy of story C: it now matches 4, and 0 and 2, which were joined
    // only through it (their own similarity is below the threshold), fall apart.
    let matches = index.insert(1, &docs[4]);
    assert_eq!(matches, [Match { id: 4, similarity: 1.0 }]);
    assert_eq!(index.len(), 5);
    assert_eq!(index.groups(), [vec![0], vec![1, 4], vec![2], vec![3]]);
}

#[test]
fn empty_articles_are_kept_and_match_nothing() {
    let mut index = Index::default();
    assert!(index.insert(1, "").is_empty());
    assert!(index.insert(2, "  \n ").is_empty());
    assert!(index.query("").is_empty());
    assert_eq!(index.len(), 2);
    assert_eq!(index.groups(), [vec![1], vec![2]]);
    let mut saved = Vec::new();
    index.save(&mut saved).unwrap();
    let loaded = Index::load(Clusterer::default(), saved.as_slice()).unwrap();
    assert_eq!(loaded.groups(), [vec![1], vec![2]]);
}

fn assert_same_answers(a: &Index, b: &Index, probes: &[String]) {
    assert_eq!(a.len(), b.len());
    assert_eq!(a.ids().collect::<Vec<_>>(), b.ids().collect::<Vec<_>>());
    assert_eq!(a.groups(), b.groups());
    for p in probes {
        assert_eq!(a.query(p), b.query(p));
    }
}

#[test]
fn save_and_load_round_trip() {
    let docs = wire_dev();
    for clusterer in [
        Clusterer::default(),
        Clusterer::builder().verification(Verification::Estimate).build().unwrap(),
        Clusterer::builder()
            .signature(SignatureKind::SimHash)
            .simhash_distance(16)
            .build()
            .unwrap(),
    ] {
        let (mut index, _) = build(&clusterer, &docs[..60]);
        index.remove(7);
        let mut saved = Vec::new();
        index.save(&mut saved).unwrap();
        let mut loaded = Index::load(clusterer.clone(), saved.as_slice()).unwrap();
        assert_same_answers(&index, &loaded, &docs);
        // Both go on alike.
        for (i, doc) in docs.iter().enumerate().skip(60) {
            assert_eq!(index.insert(i as u64, doc), loaded.insert(i as u64, doc));
        }
        assert_same_answers(&index, &loaded, &docs);
        // Saving the loaded index gives the same bytes as saving the original.
        let (mut x, mut y) = (Vec::new(), Vec::new());
        index.save(&mut x).unwrap();
        loaded.save(&mut y).unwrap();
        assert_eq!(x, y);
    }
}

#[test]
fn save_path_and_load_path() {
    let docs = seeds();
    let (index, _) = build(&Clusterer::default(), &docs);
    let dir = std::env::temp_dir().join(format!("reprint-index-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("seeds.idx");
    index.save_path(&path).unwrap();
    let loaded = Index::load_path(Clusterer::default(), &path).unwrap();
    assert_same_answers(&index, &loaded, &docs);
    assert!(matches!(
        Index::load_path(Clusterer::default(), dir.join("missing.idx")),
        Err(Error::Io { kind: std::io::ErrorKind::NotFound, .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A small saved index: three short articles, two of them reprints, and one removed.
fn small_saved(clusterer: &Clusterer) -> Vec<u8> {
    let mut index = Index::new(clusterer.clone());
    index.insert(10, "The council approved the new budget on Tuesday after a long debate.");
    index.insert(11, "Gone soon.");
    index.insert(12, "the council approved the new budget on tuesday after a long debate");
    index.insert(13, "Rain is expected all weekend.");
    index.remove(11);
    let mut saved = Vec::new();
    index.save(&mut saved).unwrap();
    saved
}

fn small_clusterer() -> Clusterer {
    Clusterer::builder().slots(32).build().unwrap()
}

#[test]
fn every_truncation_is_an_error() {
    for clusterer in [
        small_clusterer(),
        Clusterer::builder().slots(32).verification(Verification::Estimate).build().unwrap(),
        Clusterer::builder().signature(SignatureKind::SimHash).build().unwrap(),
    ] {
        let saved = small_saved(&clusterer);
        assert!(Index::load(clusterer.clone(), saved.as_slice()).is_ok());
        for len in 0..saved.len() {
            let result = Index::load(clusterer.clone(), &saved[..len]);
            assert_eq!(result.err(), Some(Error::Truncated), "cut at {len} of {}", saved.len());
        }
    }
}

#[test]
fn every_altered_byte_is_an_error() {
    let clusterer = small_clusterer();
    let saved = small_saved(&clusterer);
    for at in 0..saved.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut altered = saved.clone();
            altered[at] ^= flip;
            assert!(
                Index::load(clusterer.clone(), altered.as_slice()).is_err(),
                "byte {at} ^ {flip:#x}"
            );
        }
    }
}

#[test]
fn altered_parts_give_the_matching_error() {
    let clusterer = small_clusterer();
    let saved = small_saved(&clusterer);
    let load = |bytes: &[u8]| Index::load(clusterer.clone(), bytes).err();
    let mut bad = saved.clone();
    bad[0] = b'X';
    assert_eq!(load(&bad), Some(Error::BadMagic));
    let mut bad = saved.clone();
    bad[8] = 99;
    assert_eq!(
        load(&bad),
        Some(Error::UnsupportedVersion { found: 99, supported: FORMAT_VERSION })
    );
    let mut bad = saved.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(load(&bad), Some(Error::ChecksumMismatch { .. })));
    assert_eq!(load(b"short"), Some(Error::Truncated));
    assert_eq!(load(b"definitely not an index"), Some(Error::BadMagic));
}

#[test]
fn an_absurd_count_does_not_allocate_it() {
    let clusterer = small_clusterer();
    let saved = small_saved(&clusterer);
    // The article count follows the header and its checksum; claim 2^31 - 2 articles, then a
    // shingle set of 2^60 hashes: the loader must run out of bytes, not of memory.
    let mut empty = Vec::new();
    Index::new(clusterer.clone()).save(&mut empty).unwrap();
    // An empty index is the header, two zero counts and the checksum.
    let header = empty.len() - 24;
    let mut bad = saved[..header].to_vec();
    bad.extend_from_slice(&((1u64 << 31) - 2).to_le_bytes());
    bad.extend_from_slice(&0u64.to_le_bytes());
    bad.extend_from_slice(&7u64.to_le_bytes()); // id
    bad.extend_from_slice(&5u32.to_le_bytes()); // shingle count
    bad.extend_from_slice(&[0u8; 4 * 32]); // signature
    bad.extend_from_slice(&(1u64 << 60).to_le_bytes()); // set length
    bad.extend_from_slice(&[1u8; 64]);
    assert_eq!(Index::load(clusterer.clone(), bad.as_slice()).err(), Some(Error::Truncated));
    let mut bad = saved[..header].to_vec();
    bad.extend_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        Index::load(clusterer, bad.as_slice()),
        Err(Error::Corrupt { .. } | Error::Truncated)
    ));
}

#[test]
fn a_file_of_another_configuration_is_refused() {
    let saved = small_saved(&small_clusterer());
    let other = |b: &mut reprint::ClustererBuilder| b.slots(32).build().unwrap();
    let cases: Vec<(Clusterer, &str)> = vec![
        (Clusterer::default(), "slots"),
        (other(Clusterer::builder().seed(1)), "seed"),
        (other(Clusterer::builder().threshold(0.2)), "threshold"),
        (other(Clusterer::builder().shingles(reprint::Shingles::Words(4))), "shingles"),
        (other(Clusterer::builder().scheme(Scheme::Classic)), "scheme"),
        (other(Clusterer::builder().similarity(Similarity::Containment)), "similarity"),
        (other(Clusterer::builder().verification(Verification::Estimate)), "verification"),
        (other(Clusterer::builder().bucket_cap(50)), "bucket cap"),
        (other(Clusterer::builder().banding(reprint::Banding { bands: 8, rows: 4 })), "banding"),
        (other(Clusterer::builder().signature(SignatureKind::SimHash)), "signature"),
        (other(Clusterer::builder().simhash_distance(3)), "SimHash distance"),
    ];
    for (clusterer, field) in cases {
        match Index::load(clusterer, saved.as_slice()) {
            Err(Error::ConfigMismatch { field: f, expected, found }) => {
                assert_eq!(f, field);
                assert_ne!(expected, found);
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let err = Index::load(Clusterer::default(), saved.as_slice()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "saved index was made with other settings: slots is 32 in the file, 256 in the clusterer"
    );
}

#[test]
fn the_index_reports_its_memory() {
    let docs = wire_dev();
    let (index, _) = build(&Clusterer::default(), &docs);
    let bytes = index.memory_bytes();
    // At least the signatures; not absurdly more than signatures, sets and bands.
    assert!(bytes > docs.len() * 256 * 4, "{bytes}");
    assert!(bytes < docs.len() * 100_000, "{bytes}");
    let distinct: BTreeSet<u64> = index.ids().collect();
    assert_eq!(distinct.len(), docs.len());
}

const WORDS: [&str; 12] = [
    "the", "council", "voted", "on", "budget", "rain", "city", "new", "plan", "said", "mayor",
    "tax",
];

fn texts(docs: &[Vec<u8>]) -> Vec<String> {
    docs.iter()
        .map(|d| d.iter().map(|&w| WORDS[w as usize]).collect::<Vec<_>>().join(" "))
        .collect()
}

/// The verified pairs `(earlier, later, similarity bits)` an index finds when `docs` are
/// inserted in order.
fn index_pairs(clusterer: &Clusterer, docs: &[String]) -> BTreeSet<(usize, usize, u64)> {
    let mut index = Index::new(clusterer.clone());
    let mut pairs = BTreeSet::new();
    for (b, doc) in docs.iter().enumerate() {
        for m in index.insert(b as u64, doc) {
            pairs.insert((m.id as usize, b, m.similarity.to_bits()));
        }
    }
    pairs
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Oracle: on any articles whose buckets stay within the cap, the index finds exactly the
    /// pairs `cluster` finds; with a small cap it finds all of them and maybe more.
    #[test]
    fn index_finds_what_cluster_finds(
        docs in proptest::collection::vec(proptest::collection::vec(0..12u8, 0..30), 0..25),
        cap in 2usize..6,
    ) {
        let docs = texts(&docs);
        let clusterer = Clusterer::builder().slots(32).build().unwrap();
        let batch: BTreeSet<(usize, usize, u64)> = clusterer
            .cluster(&docs)
            .pairs()
            .iter()
            .map(|p| (p.a, p.b, p.similarity.to_bits()))
            .collect();
        proptest::prop_assert_eq!(index_pairs(&clusterer, &docs), batch);

        let capped = Clusterer::builder().slots(32).bucket_cap(cap).build().unwrap();
        let batch: BTreeSet<(usize, usize, u64)> = capped
            .cluster(&docs)
            .pairs()
            .iter()
            .map(|p| (p.a, p.b, p.similarity.to_bits()))
            .collect();
        let streamed = index_pairs(&capped, &docs);
        proptest::prop_assert!(batch.is_subset(&streamed), "{batch:?} vs {streamed:?}");
    }

    /// Removing articles and saving and loading never changes what the rest answer.
    #[test]
    fn removal_and_reload_keep_the_remaining_answers(
        docs in proptest::collection::vec(proptest::collection::vec(0..12u8, 0..30), 1..25),
        removed in proptest::collection::vec(proptest::prelude::any::<bool>(), 25),
    ) {
        let docs = texts(&docs);
        let clusterer = Clusterer::builder().slots(32).build().unwrap();
        let mut index = Index::new(clusterer.clone());
        let mut fresh = Index::new(clusterer.clone());
        for (i, doc) in docs.iter().enumerate() {
            index.insert(i as u64, doc);
            if !removed[i] {
                fresh.insert(i as u64, doc);
            }
        }
        for i in (0..docs.len()).filter(|&i| removed[i]) {
            index.remove(i as u64);
        }
        let mut saved = Vec::new();
        index.save(&mut saved).unwrap();
        let loaded = Index::load(clusterer, saved.as_slice()).unwrap();
        for other in [&index, &loaded] {
            proptest::prop_assert_eq!(other.groups(), fresh.groups());
            for doc in &docs {
                proptest::prop_assert_eq!(other.query(doc), fresh.query(doc));
            }
        }
    }
}

/// A chain of articles where only neighbours overlap, all three links equally strong: single
/// linkage joins all four, majority linkage never does. Equal links are taken in an order set
/// by the articles' content, not by their order: an end link first, then the middle one, leaves
/// three articles at one end and one at the other; both end links first, then the middle one,
/// leaves two and two (the middle link then has one passing pair of four). The index follows
/// the clusterer's linkage either way.
#[test]
fn index_groups_follow_the_linkage_on_a_chain() {
    let words = |from: usize| (from..from + 100).map(|i| format!("w{i}")).collect::<Vec<_>>();
    let docs: Vec<String> = [0, 50, 100, 150].iter().map(|&f| words(f).join(" ")).collect();
    let ids = |groups: &[Vec<usize>]| -> Vec<Vec<u64>> {
        groups.iter().map(|g| g.iter().map(|&i| i as u64).collect()).collect()
    };
    for linkage in [reprint::Linkage::Single, reprint::Linkage::Majority] {
        let clusterer = reprint::Clusterer::builder().linkage(linkage).build().unwrap();
        let groups = ids(clusterer.cluster(&docs).groups());
        let allowed = match linkage {
            reprint::Linkage::Single => vec![vec![vec![0u64, 1, 2, 3]]],
            _ => vec![
                vec![vec![0, 1, 2], vec![3]],
                vec![vec![0], vec![1, 2, 3]],
                vec![vec![0, 1], vec![2, 3]],
            ],
        };
        assert!(allowed.contains(&groups), "{linkage:?}: {groups:?}");
        // The same chain in reverse order gives the same groups, mirrored.
        let reversed: Vec<String> = docs.iter().rev().cloned().collect();
        let mut mirrored: Vec<Vec<u64>> = ids(clusterer.cluster(&reversed).groups())
            .iter()
            .map(|g| g.iter().map(|&i| 3 - i).rev().collect())
            .collect();
        mirrored.sort();
        assert_eq!(mirrored, groups, "{linkage:?}");
        let mut index = reprint::Index::new(clusterer);
        for (i, d) in docs.iter().enumerate() {
            index.insert(i as u64, d);
        }
        assert_eq!(index.groups(), groups, "{linkage:?}");
    }
}
