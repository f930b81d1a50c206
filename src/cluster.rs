//! Stages 5 and 6: verification of candidate pairs, and clusters by union-find.

pub(crate) use crate::config::Linkage;
use std::cell::RefCell;
use std::collections::HashMap;

use crate::config::{ClustererBuilder, Config, SignatureKind, Similarity, Verification};
use crate::lsh::{
    Banding, SignatureTable, TABLE_CHUNK, TableChunk, TableLayout, candidate_pairs,
    sort_by_top_bits,
};
use crate::minhash::{
    DistinctCounter, Scratch, Signature, SignatureParams, Signer, containment_from_jaccard,
};
use crate::shingle::for_each_shingle;
use crate::simhash::{
    self, Fingerprint, FingerprintParams, FingerprintScratch, Fingerprinter, HammingTables,
};

/// Groups articles into reprints of the same story. Holds its settings; cheap to share between
/// threads.
///
/// `Clusterer::default()` (or [`Clusterer::new`]) has the documented defaults;
/// [`Clusterer::builder`] chooses others.
#[derive(Clone, Debug)]
pub struct Clusterer {
    config: Config,
    banding: Banding,
    signer: Signer,
    fingerprinter: Fingerprinter,
    tables: HammingTables,
}

impl Default for Clusterer {
    /// The default clusterer. Deriving the banding takes a moment, so it is built once and
    /// cloned afterwards.
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<Clusterer> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(|| Clusterer::from_config(Config::default())).clone()
    }
}

/// A pair of articles verified as reprints of each other.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    /// Index of the first article (the smaller index).
    pub a: usize,
    /// Index of the second article.
    pub b: usize,
    /// Their similarity, in the configured measure: exact or estimated, as configured.
    pub similarity: f64,
}

impl Clusterer {
    /// A clusterer with the default settings.
    pub fn new() -> Clusterer {
        Clusterer::default()
    }

    /// A builder for a clusterer with chosen settings.
    pub fn builder() -> ClustererBuilder {
        ClustererBuilder::new()
    }

    pub(crate) fn banding(&self) -> Banding {
        self.banding
    }

    pub(crate) fn signer(&self) -> &Signer {
        &self.signer
    }

    pub(crate) fn fingerprinter(&self) -> &Fingerprinter {
        &self.fingerprinter
    }

    pub(crate) fn tables(&self) -> &HammingTables {
        &self.tables
    }

    pub(crate) fn from_config(config: Config) -> Clusterer {
        debug_assert!(config.validate().is_ok());
        let signer = Signer::new(SignatureParams {
            scheme: config.scheme,
            shingles: config.shingles,
            slots: config.slots,
            seed: config.seed,
        });
        let fingerprinter =
            Fingerprinter::new(FingerprintParams { shingles: config.shingles, seed: config.seed });
        let tables = HammingTables::new(config.simhash_distance);
        Clusterer { banding: config.banding(), config, signer, fingerprinter, tables }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The MinHash signature of one article.
    pub fn signature(&self, text: &str) -> Signature {
        with_scratch(&SIGNING, text.len() <= KEPT_SCRATCH_TEXT, |scratch| {
            self.signer.sign(text, scratch)
        })
    }

    /// The signature of an article given as bytes that may not be valid UTF-8 (as a scraper
    /// returns them): each invalid sequence is replaced by U+FFFD, the replacement character,
    /// which is then a letter like any other. Valid UTF-8 gives the same signature as
    /// [`Clusterer::signature`].
    pub fn signature_bytes(&self, bytes: &[u8]) -> Signature {
        self.signature(&String::from_utf8_lossy(bytes))
    }

    /// The signatures of many articles, computed in parallel with the `parallel` feature; the
    /// result does not depend on the number of threads.
    pub fn signatures<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Vec<Signature> {
        par_map(docs, |_, text, scratch| self.signer.sign(text.as_ref(), scratch))
    }

    /// The 64-bit SimHash fingerprint of one article, over the configured shingles and seed.
    pub fn fingerprint(&self, text: &str) -> Fingerprint {
        with_scratch(&FINGERPRINTING, text.len() <= KEPT_SCRATCH_TEXT, |scratch| {
            self.fingerprinter.fingerprint(text, scratch)
        })
    }

    /// The fingerprints of many articles, in parallel with the `parallel` feature.
    pub fn fingerprints<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Vec<Fingerprint> {
        par_map(docs, |_, text, scratch| self.fingerprinter.fingerprint(text.as_ref(), scratch))
    }

    /// The exact similarity of two articles in the configured measure, from their shingle sets.
    pub fn similarity(&self, a: &str, b: &str) -> f64 {
        let mut scratch = SetScratch::default();
        let a = self.shingle_set(a, &mut scratch);
        let b = self.shingle_set(b, &mut scratch);
        exact_similarity(&a, &b, self.config.similarity)
    }

    /// Groups `docs` into reprints of the same story.
    ///
    /// Every article is in exactly one group; an article with no reprint (and an empty one) is a
    /// group of its own. See [`Clusters`] for what the result holds.
    ///
    /// Time and memory per article creep up as the batch grows. At the defaults' low threshold,
    /// two unrelated articles that share a few common phrases become a candidate pair now and
    /// then, and that chance does not fall with the batch's size: on the `scale` example's pile
    /// of generated news, 4 candidate pairs an article at 12,500 articles and 26 at 100,000.
    /// They are all held at once while they are verified.
    ///
    /// # Panics
    ///
    /// If `docs` holds more than `u32::MAX` articles.
    pub fn cluster<S: AsRef<str> + Sync>(&self, docs: &[S]) -> Clusters {
        assert!(u32::try_from(docs.len()).is_ok(), "at most u32::MAX articles per batch");
        let cap = self.config.bucket_cap;
        // With exact verification, each article's shingle keys are kept from the pass that
        // counted them, so that verification need not shingle the text again.
        let exact = self.config.verification == Verification::Exact;
        // Articles are sketched a chunk at a time, each chunk's keys in one vector.
        let starts: Vec<usize> = (0..docs.len()).step_by(TABLE_CHUNK).collect();
        let chunk = |start: usize| &docs[start..docs.len().min(start + TABLE_CHUNK)];
        let (sketches, keys, candidates) = match self.config.signature {
            SignatureKind::MinHash => {
                // Signed a part of the table at a time (see `SignatureTable`).
                let layout = TableLayout::new(self.config.slots, self.banding);
                let (chunks, keys): (Vec<TableChunk>, Vec<ChunkKeys>) =
                    par_map(&starts, |_, &start, scratch: &mut Scratch| {
                        let part = chunk(start);
                        let mut keys = ChunkKeys::for_texts(part, exact);
                        let signatures: Vec<Signature> = part
                            .iter()
                            .map(|text| {
                                if !exact {
                                    return self.signer.sign(text.as_ref(), scratch);
                                }
                                let signature = self.signer.sign_listing(
                                    text.as_ref(),
                                    scratch,
                                    &mut keys.keys,
                                );
                                keys.ends.push(keys.keys.len());
                                signature
                            })
                            .collect();
                        keys.keys.shrink_to_fit();
                        (layout.pack(&signatures), keys)
                    })
                    .into_iter()
                    .unzip();
                let table = SignatureTable::new(layout, chunks);
                let candidates = candidate_pairs(&table, self.banding, cap);
                (Sketches::MinHash(table), keys, candidates)
            }
            SignatureKind::SimHash => {
                let (fingerprints, keys): (Vec<Vec<Fingerprint>>, Vec<ChunkKeys>) =
                    par_map(&starts, |_, &start, scratch: &mut FingerprintScratch| {
                        let part = chunk(start);
                        let mut keys = ChunkKeys::for_texts(part, exact);
                        let fingerprints = part
                            .iter()
                            .map(|text| {
                                let fingerprint =
                                    self.fingerprinter.fingerprint(text.as_ref(), scratch);
                                if exact {
                                    scratch.keys_into(&mut keys.keys);
                                    keys.ends.push(keys.keys.len());
                                }
                                fingerprint
                            })
                            .collect();
                        keys.keys.shrink_to_fit();
                        (fingerprints, keys)
                    })
                    .into_iter()
                    .unzip();
                let fingerprints: Vec<Fingerprint> = fingerprints.into_iter().flatten().collect();
                let candidates = simhash::candidate_pairs(&fingerprints, &self.tables, cap);
                (Sketches::SimHash(fingerprints), keys, candidates)
            }
        };
        let sets: Vec<&[u32]> = keys.iter().flat_map(ChunkKeys::sets).collect();
        let (pairs, judge) = self.verify(sets, &sketches, candidates);
        let pairs = match self.config.linkage {
            Linkage::Single => pairs,
            Linkage::Majority => {
                majority_links(docs.len(), pairs, |i| sketches.key(i), |a, b| judge.passes(a, b))
            }
        };
        let counts: Vec<usize> = (0..docs.len()).map(|i| sketches.shingle_count(i)).collect();
        Clusters::from_pairs(&counts, pairs)
    }

    /// Keeps the candidate pairs whose similarity reaches the threshold.
    ///
    /// `sets` holds each article's distinct shingle keys, unsorted, with exact verification.
    fn verify<'a>(
        &self,
        sets: Vec<&'a [u32]>,
        sketches: &'a Sketches,
        candidates: Vec<(u32, u32)>,
    ) -> (Vec<Pair>, Judge<'a>) {
        let threshold = self.config.threshold;
        let measure = self.config.similarity;
        // Pairs far below the threshold by the signature estimate skip the exact comparison.
        let plausible = |candidates: Vec<(u32, u32)>| -> Vec<(u32, u32)> {
            let Sketches::MinHash(table) = sketches else { return candidates };
            let slots = table.slots();
            // The low 16 bits of every slot, article after article: 512 bytes an article, read
            // in order, where the slots of one article lie in a cache line of each group of the
            // table. Equal slots have equal low bits, and unequal ones do once in 65,536, so the
            // share of equal low bits is never below the estimate and exceeds it by a few
            // hundredths of a slot on average: the few pairs that only it lets through are
            // decided by exact verification like the rest.
            let low_bits = table.low_parts(|v| v as u16);
            let bits_of = |i: usize| &low_bits[i * slots..(i + 1) * slots];
            let block = (FILTER_BLOCK / (2 * slots).max(1)).max(1);
            let kept = filter_map_sorted_pairs(&candidates, table.len(), block, |a, b| {
                let (a, b) = (a as usize, b as usize);
                let (count_a, count_b) = (table.shingle_count(a), table.shingle_count(b));
                let equal = equal_places(bits_of(a), bits_of(b));
                plausible_pair(equal, slots, threshold, measure, count_a, count_b).then_some(())
            });
            kept.into_iter().map(|(pair, ())| pair).collect()
        };
        let (candidates, judge) = match (self.config.verification, sketches) {
            (Verification::Estimate, Sketches::MinHash(table)) => {
                (candidates, Judge::MinHash { table, measure, threshold })
            }
            (Verification::Estimate, Sketches::SimHash(fps)) => {
                (candidates, Judge::SimHash { fps, max_distance: self.tables.max_distance() })
            }
            (Verification::Exact, _) => {
                let plausible = plausible(candidates);
                // The candidates come sorted: each run of pairs with the same first article
                // puts its keys in a table once, and the other article of each pair is
                // looked up in it.
                let runs: Vec<&[(u32, u32)]> = plausible.chunk_by(|x, y| x.0 == y.0).collect();
                let pairs: Vec<Vec<Pair>> = par_map(&runs, |_, run, table: &mut KeyTable| {
                    let a = run[0].0 as usize;
                    table.fill(sets[a]);
                    let passing = run.iter().filter_map(|&(_, b)| {
                        let b = b as usize;
                        let similarity = table.similarity(sets[a], sets[b], measure);
                        (similarity >= threshold).then_some(Pair { a, b, similarity })
                    });
                    passing.collect()
                });
                let judge = Judge::Exact { sets, measure, threshold };
                return (pairs.into_iter().flatten().collect(), judge);
            }
        };
        let keep = |a: u32, b: u32| {
            let similarity = judge.similarity(a as usize, b as usize);
            judge.keeps(similarity).then_some(similarity)
        };
        let kept = match sketches {
            // Most candidates are chance pairs far below the threshold. The low byte of every
            // slot, article after article, is a quarter of the signatures: equal slots have
            // equal low bytes, so the share of equal low bytes is never below the estimate,
            // and a pair at which even that falls short is rejected without reading the
            // signatures. Past the cache, in blocks of articles, as the filter of exact
            // verification goes. Taking the low bytes reads the whole table, so only batches
            // whose pairs outnumber their articles take them; with fewer pairs (696 on news-5k
            // at the peers' setting) the whole signatures of those few pairs are read instead.
            Sketches::MinHash(table) if candidates.len() > table.len() => {
                let slots = table.slots();
                let low_bytes = table.low_parts(|v| v as u8);
                let bytes_of = |i: u32| &low_bytes[i as usize * slots..(i as usize + 1) * slots];
                let block = (FILTER_BLOCK / slots.max(1)).max(1);
                filter_map_sorted_pairs(&candidates, table.len(), block, |a, b| {
                    let bound = equal_places(bytes_of(a), bytes_of(b));
                    let (x, y) = (a as usize, b as usize);
                    // The slack covers the rounding of the estimate, which could otherwise
                    // fall by an ulp as the equal slots rise.
                    let most = estimated_similarity(table, measure, x, y, || bound);
                    if most < threshold - 1e-9 {
                        return None;
                    }
                    keep(a, b)
                })
            }
            Sketches::MinHash(table) => {
                let block = (FILTER_BLOCK / (4 * table.slots()).max(1)).max(1);
                filter_map_sorted_pairs(&candidates, table.len(), block, keep)
            }
            Sketches::SimHash(_) => {
                par_filter_map(&candidates, |&(a, b)| Some(((a, b), keep(a, b)?)))
            }
        };
        let pair = |((a, b), similarity)| Pair { a: a as usize, b: b as usize, similarity };
        let pairs = kept.into_iter().map(pair).collect();
        (pairs, judge)
    }

    /// The shingle set of `text`: its distinct shingle keys (the upper 32 bits of each shingle
    /// hash, as [`DistinctCounter`] counts them), sorted.
    pub(crate) fn shingle_set(&self, text: &str, scratch: &mut SetScratch) -> Vec<u32> {
        let SetScratch { text: buf, hashes, keys, .. } = scratch;
        hashes.clear();
        let Collect(hashes) = for_each_shingle(
            text,
            self.config.shingles,
            self.config.seed,
            buf,
            Collect(std::mem::take(hashes)),
        );
        keys.clear();
        keys.extend(hashes.iter().map(|&h| DistinctCounter::key(h)));
        scratch.hashes = hashes;
        let mut set = sorted_keys(&scratch.keys, &mut scratch.counts);
        set.dedup();
        set
    }
}

/// `keys` sorted, in a vector of their own.
pub(crate) fn sorted_keys(keys: &[u32], counts: &mut Vec<usize>) -> Vec<u32> {
    let mut set = Vec::with_capacity(keys.len());
    sort_by_top_bits(keys, |&k| u64::from(k) << 32, counts, &mut set);
    set
}

/// Reusable buffers for [`Clusterer::shingle_set`], one per thread.
#[derive(Default)]
pub(crate) struct SetScratch {
    text: crate::shingle::ShingleScratch,
    hashes: Vec<u64>,
    keys: Vec<u32>,
    counts: Vec<usize>,
}

/// Collects shingle hashes. It owns its vector, so that the tokenizer's loop keeps it in
/// registers (see [`for_each_shingle`]).
struct Collect(Vec<u64>);

impl crate::shingle::Sink for Collect {
    #[inline(always)]
    fn shingle(&mut self, h: u64) {
        self.0.push(h);
    }

    #[inline(always)]
    fn shingles(&mut self, hashes: &[u64]) {
        self.0.extend_from_slice(hashes);
    }

    #[inline(always)]
    fn kgrams<const K: usize>(&mut self, tokens: &[u64]) {
        self.0.extend(crate::shingle::kgram_hashes::<K>(tokens));
    }
}

/// The Jaccard similarity that corresponds to `threshold` in `measure` for this pair's sizes.
pub(crate) fn jaccard_threshold(
    threshold: f64,
    measure: Similarity,
    a_count: usize,
    b_count: usize,
) -> f64 {
    match measure {
        Similarity::Jaccard => threshold,
        Similarity::Containment => {
            // c = |A∩B| / m with m = min size; J = c·m / (|A| + |B| - c·m).
            let (x, y) = (a_count as f64, b_count as f64);
            let shared = threshold * x.min(y);
            if x + y - shared <= 0.0 { 1.0 } else { (shared / (x + y - shared)).min(1.0) }
        }
    }
}

/// Whether a candidate pair goes on to exact verification: unless the share of its slots whose
/// low 16 bits are equal (`equal_low` of `slots`, never below the signature's estimate) lies
/// more than four standard deviations below the Jaccard similarity that the threshold means
/// for the pair's sizes. `cluster` and the streaming index both decide by this, so that they
/// verify the same pairs.
pub(crate) fn plausible_pair(
    equal_low: usize,
    slots: usize,
    threshold: f64,
    measure: Similarity,
    count_a: usize,
    count_b: usize,
) -> bool {
    let j = jaccard_threshold(threshold, measure, count_a, count_b);
    let sigma = (j * (1.0 - j) / slots as f64).sqrt();
    equal_low as f64 / slots as f64 >= j - 4.0 * sigma
}

/// Bytes of the data that verification reads, in a block of articles of
/// [`filter_map_sorted_pairs`]: two blocks fit in the last-level cache of common processors.
/// Measured on the filter of exact verification in `cluster()`, 100,000 articles at the
/// defaults (51 MB of low bits, a 32 MB cache): the filter took 1.6 times as long with blocks
/// of 1 MB, as long with 8 MB, and 1.2 times as long with 16 MB.
pub(crate) const FILTER_BLOCK: usize = 4 << 20;

/// The pairs of `candidates` (sorted, of `articles` articles) to which `f` gives a value, with
/// that value, in order.
///
/// Data of each article that fits in the cache is read at random at little cost. Past that,
/// each pair's second article would cost a miss. So once the articles fill four blocks of
/// `block`, the pairs whose first articles lie in one block (a run, since they come sorted)
/// are taken by the block of their second article, whose data are then read from the cache by
/// every pair of the run that falls in it; the pairs kept are sorted again.
pub(crate) fn filter_map_sorted_pairs<T: Send>(
    candidates: &[(u32, u32)],
    articles: usize,
    block: usize,
    f: impl Fn(u32, u32) -> Option<T> + Sync,
) -> Vec<((u32, u32), T)> {
    let filter = |pairs: &[(u32, u32)]| par_filter_map(pairs, |&(a, b)| Some(((a, b), f(a, b)?)));
    if articles <= 4 * block {
        return filter(candidates);
    }
    let (mut counts, mut order) = (Vec::new(), Vec::new());
    let mut kept = Vec::new();
    for run in candidates.chunk_by(|x, y| x.0 as usize / block == y.0 as usize / block) {
        sort_by_block(run, block, &mut counts, &mut order);
        let mut found = filter(&order);
        found.sort_unstable_by_key(|&(pair, _)| pair);
        kept.append(&mut found);
    }
    kept
}

/// Copies `pairs` into `out` (cleared first) in the order of the block of `block` articles that
/// their second article lies in, pairs of one block in their order in `pairs`.
fn sort_by_block(
    pairs: &[(u32, u32)],
    block: usize,
    counts: &mut Vec<usize>,
    out: &mut Vec<(u32, u32)>,
) {
    let block_of = |&(_, b): &(u32, u32)| b as usize / block;
    let blocks = pairs.iter().map(block_of).max().map_or(0, |last| last + 1);
    counts.clear();
    counts.resize(blocks + 1, 0);
    for pair in pairs {
        counts[block_of(pair) + 1] += 1;
    }
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
    out.clear();
    out.resize(pairs.len(), (0, 0));
    // counts[b] is where block b's pairs start; each pair moves it on.
    for pair in pairs {
        let at = &mut counts[block_of(pair)];
        out[*at] = *pair;
        *at += 1;
    }
}

/// The number of places where `x` and `y` hold equal values (at most [`MAX_SLOTS`]). Written
/// as one sum, the loop compiles to vector compares and subtracts; a sum in lanes over rows of
/// the slices compiled to a byte-at-a-time loop.
///
/// [`MAX_SLOTS`]: crate::MAX_SLOTS
fn equal_places<T: PartialEq>(x: &[T], y: &[T]) -> usize {
    debug_assert!(x.len() < usize::from(u16::MAX));
    let equal = x.iter().zip(y).map(|(u, v)| u16::from(u == v));
    usize::from(equal.fold(0u16, u16::wrapping_add))
}

/// Exact similarity of two sorted, distinct hash sets. Empty sets are similar to nothing.
pub(crate) fn exact_similarity(a: &[u32], b: &[u32], measure: Similarity) -> f64 {
    similarity_of_counts(intersection_size(a, b), a.len(), b.len(), measure)
}

/// Jaccard or containment from the size of the intersection and of the two sets.
fn similarity_of_counts(shared: usize, a: usize, b: usize, measure: Similarity) -> f64 {
    if a == 0 || b == 0 {
        return 0.0;
    }
    let j = shared as f64 / (a + b - shared) as f64;
    match measure {
        Similarity::Jaccard => j,
        Similarity::Containment => containment_from_jaccard(j, a, b),
    }
}

/// One article's distinct shingle keys in an open-addressing table, for counting how many keys
/// of other articles it holds. Sorting every set for a merge cost about as much as the merges
/// themselves; a table is filled once for all the pairs of its article, and a look-up costs one
/// load and no branch on whether the key is there.
///
/// Keys are uniform hashes, so a table at most an eighth full nearly always finds a key, or
/// its absence, in the first cell. Keys made to share their low bits would make probing
/// quadratic: past a budget of probes per key, the table gives up and the similarity comes from
/// sorted copies of the two sets instead.
#[derive(Default)]
struct KeyTable {
    /// 0 marks an empty cell; key 0 is recorded in `zero`.
    cells: Vec<u32>,
    mask: usize,
    zero: bool,
    /// The probes went over budget while filling.
    overflowed: bool,
}

/// Probes per key, on average, past which [`KeyTable`] gives up.
const PROBES_PER_KEY: usize = 4;

/// Keys that [`KeyTable::shared`] looks up in one run before it probes for those set aside.
const KEY_RUN: usize = 64;

/// Sets of more keys than this do not leave their [`KeyTable`] to the thread.
const KEPT_TABLE_KEYS: usize = 1 << 18;

impl KeyTable {
    /// Puts `keys` (distinct) in the table, in place of what it held.
    fn fill(&mut self, keys: &[u32]) {
        // An eighth full at most; a quarter for large sets, where memory counts.
        let room = if keys.len() <= 1 << 16 { 8 } else { 4 };
        let size = (keys.len() * room).next_power_of_two().max(16);
        self.cells.clear();
        self.cells.resize(size, 0);
        self.mask = size - 1;
        self.zero = false;
        self.overflowed = false;
        let mut budget = PROBES_PER_KEY * keys.len() + 64;
        for &k in keys {
            if k == 0 {
                self.zero = true;
                continue;
            }
            let mut i = k as usize & self.mask;
            while self.cells[i] != 0 {
                i = (i + 1) & self.mask;
                budget = budget.saturating_sub(1);
            }
            if budget == 0 {
                self.overflowed = true;
                return;
            }
            self.cells[i] = k;
        }
        // Cell 0 is the first cell of key 0, which is never in a cell: when empty, it gets a key
        // whose first cell is another (1), so that looking key 0 up never finds it there. No key
        // is missing for it: a key whose first cell is 0 would be there, and a probe that passes
        // it goes on to the next empty cell.
        if self.cells[0] == 0 {
            self.cells[0] = 1;
        }
    }

    /// How many of `keys` (distinct) the table holds, or `None` when probing goes over budget.
    ///
    /// Keys are taken [`KEY_RUN`] at a time: each one found in its first cell is counted, with
    /// no branch, and those whose first cell holds another key are set aside (there is one in
    /// sixteen or so, and a branch on each mispredicts), then probed for further on.
    fn shared(&self, keys: &[u32]) -> Option<usize> {
        if self.overflowed {
            return None;
        }
        // Every index masked with `mask` is in this slice, so reading it needs no bounds check.
        let cells = self.cells.get(..=self.mask)?;
        let mask = self.mask;
        let mut budget = PROBES_PER_KEY * keys.len() + 64;
        let mut n = 0;
        let mut aside = [0u32; KEY_RUN];
        for run in keys.chunks(KEY_RUN) {
            let mut m = 0;
            for &k in run {
                let c = cells[k as usize & mask];
                let found = usize::from(c == k);
                n += found;
                aside[m % KEY_RUN] = k;
                // Cell 0 never holds 0, so key 0 is always set aside.
                m += usize::from(c != 0) - found;
            }
            for &k in &aside[..m] {
                if k == 0 {
                    n += usize::from(self.zero);
                    continue;
                }
                let (found, probes) = self.probe(k, k as usize & mask);
                n += usize::from(found);
                budget = budget.checked_sub(probes)?;
            }
        }
        Some(n)
    }

    /// Whether `key`, whose first cell `i` holds another key, is further on, and how many cells
    /// that took.
    #[cold]
    #[inline(never)]
    fn probe(&self, key: u32, mut i: usize) -> (bool, usize) {
        let mut probes = 0;
        loop {
            i = (i + 1) & self.mask;
            probes += 1;
            match self.cells[i] {
                c if c == key => return (true, probes),
                0 => return (false, probes),
                _ => {}
            }
        }
    }

    /// The similarity of the sets `a`, which the table holds, and `b`.
    fn similarity(&self, a: &[u32], b: &[u32], measure: Similarity) -> f64 {
        let shared = self.shared(b).unwrap_or_else(|| {
            let mut counts = Vec::new();
            intersection_size(&sorted_keys(a, &mut counts), &sorted_keys(b, &mut counts))
        });
        similarity_of_counts(shared, a.len(), b.len(), measure)
    }
}

/// The size of the intersection of two sorted, distinct sets.
///
/// The hashes are random, so which side a merge advances is a coin toss that a branch
/// mispredicts about every other step. This merge takes blocks of [`BLOCK`] values from each
/// side, counts the equal values among all pairs of the two blocks (no branch on the values),
/// and moves past the block whose last value is smaller (both on a tie). Each pair of blocks
/// meets at most once, and a value of the block left behind can match nothing further on: the
/// other side's later values are larger than its last one.
fn intersection_size(a: &[u32], b: &[u32]) -> usize {
    const BLOCK: usize = 2;
    let (mut i, mut j, mut n) = (0, 0, 0);
    while let (Some(x), Some(y)) = (a[i..].first_chunk::<BLOCK>(), b[j..].first_chunk::<BLOCK>()) {
        for &u in x {
            for &v in y {
                n += usize::from(u == v);
            }
        }
        let (last_x, last_y) = (x[BLOCK - 1], y[BLOCK - 1]);
        i += BLOCK * usize::from(last_x <= last_y);
        j += BLOCK * usize::from(last_y <= last_x);
    }
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

/// The distinct shingle keys of a chunk of articles, article after article in one vector. A
/// vector for each article cost an allocation and a copy of its keys, and on a first call the
/// fresh pages of memory that those allocations touched: that made signing news-5k in
/// `cluster()` a third slower on a first call, a twentieth on later ones.
#[derive(Default)]
struct ChunkKeys {
    keys: Vec<u32>,
    /// Where each article's keys end.
    ends: Vec<usize>,
}

impl ChunkKeys {
    /// An empty list with room for one key per 5 bytes of `texts` (news has about one per 6),
    /// up to 4 MB: a longer chunk grows the vector as it goes. With no room when the keys are
    /// not kept.
    fn for_texts<S: AsRef<str>>(texts: &[S], kept: bool) -> ChunkKeys {
        if !kept {
            return ChunkKeys::default();
        }
        let bytes: usize = texts.iter().map(|t| t.as_ref().len()).sum();
        ChunkKeys {
            keys: Vec::with_capacity((bytes / 5 + 16).min(1 << 20)),
            ends: Vec::with_capacity(texts.len()),
        }
    }

    /// Each article's keys, in order.
    fn sets(&self) -> impl Iterator<Item = &[u32]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.keys[start..end])
    }
}

/// A batch's sketches, of the configured family.
enum Sketches {
    MinHash(SignatureTable),
    SimHash(Vec<Fingerprint>),
}

impl Sketches {
    fn shingle_count(&self, i: usize) -> usize {
        match self {
            Sketches::MinHash(table) => table.shingle_count(i),
            Sketches::SimHash(f) => f[i].shingle_count(),
        }
    }

    /// [`sketch_key`] of article `i`'s sketch, as the streaming index stores it.
    fn key(&self, i: usize) -> u64 {
        match self {
            Sketches::MinHash(table) => sketch_key(table.groups(i)),
            Sketches::SimHash(f) => {
                let bits = f[i].bits();
                sketch_key([&[bits as u32, (bits >> 32) as u32][..]])
            }
        }
    }
}

/// A key of an article drawn from its sketch (signature slots or fingerprint halves) alone, not
/// from where it sits in the input: [`majority_links`] orders pairs of equal similarity by it,
/// so that the groups do not depend on the order of the input.
pub(crate) fn sketch_key<'a>(values: impl IntoIterator<Item = &'a [u32]>) -> u64 {
    let mut h = 0u64;
    for &v in values.into_iter().flatten() {
        h = (h.rotate_left(23) ^ u64::from(v)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    h
}

/// Decides whether two articles are similar enough, the way verification does. Used again by
/// [`Linkage::Majority`] for pairs that were never candidates.
enum Judge<'a> {
    /// Exact similarity from each article's distinct shingle keys, unsorted.
    Exact { sets: Vec<&'a [u32]>, measure: Similarity, threshold: f64 },
    /// Estimated similarity from MinHash signatures.
    MinHash { table: &'a SignatureTable, measure: Similarity, threshold: f64 },
    /// SimHash fingerprints within the search distance.
    SimHash { fps: &'a [Fingerprint], max_distance: u32 },
}

impl Judge<'_> {
    fn similarity(&self, a: usize, b: usize) -> f64 {
        match self {
            Judge::Exact { sets, measure, .. } => {
                let (x, y) = (sets[a], sets[b]);
                with_scratch(&KEY_TABLE, x.len() <= KEPT_TABLE_KEYS, |table: &mut KeyTable| {
                    table.fill(x);
                    table.similarity(x, y, *measure)
                })
            }
            Judge::MinHash { table, measure, .. } => {
                estimated_similarity(table, *measure, a, b, || table.equal_slots(a, b))
            }
            Judge::SimHash { fps, .. } => {
                1.0 - f64::from(simhash::hamming(fps[a].bits(), fps[b].bits())) / 64.0
            }
        }
    }

    /// Whether a candidate with this similarity passes. SimHash candidates were already
    /// filtered by distance (`1 - distance / 64` is reported, not compared).
    fn keeps(&self, similarity: f64) -> bool {
        match self {
            Judge::Exact { threshold, .. } | Judge::MinHash { threshold, .. } => {
                similarity >= *threshold
            }
            Judge::SimHash { .. } => true,
        }
    }

    fn passes(&self, a: usize, b: usize) -> bool {
        match self {
            Judge::Exact { threshold, .. } | Judge::MinHash { threshold, .. } => {
                self.similarity(a, b) >= *threshold
            }
            Judge::SimHash { fps, max_distance } => {
                !fps[a].is_empty()
                    && !fps[b].is_empty()
                    && simhash::hamming(fps[a].bits(), fps[b].bits()) <= *max_distance
            }
        }
    }
}

/// The similarity of articles `a` and `b` that `equal()` equal slots of their signatures
/// estimate: it rises with the equal slots.
fn estimated_similarity(
    table: &SignatureTable,
    measure: Similarity,
    a: usize,
    b: usize,
    equal: impl FnOnce() -> usize,
) -> f64 {
    let (count_a, count_b) = (table.shingle_count(a), table.shingle_count(b));
    if count_a == 0 || count_b == 0 {
        return 0.0;
    }
    let j = equal() as f64 / table.slots() as f64;
    match measure {
        Similarity::Jaccard => j,
        Similarity::Containment => containment_from_jaccard(j, count_a, count_b),
    }
}

/// How many members of each group [`Linkage::Majority`] compares before a merge: the work per
/// merge is bounded by its square, so no group, however large, makes linking quadratic.
const LINK_SAMPLE: usize = 8;

/// Joins groups through verified pairs, strongest first, but only where at least half of the
/// pairs between the two groups' first [`LINK_SAMPLE`] members also pass verification. Returns
/// the verified pairs that end up inside a group.
///
/// Every pair of `pairs` must pass, and `passes` must be symmetric: each pair is compared at
/// most once.
///
/// Which of two pairs of equal similarity goes first can decide the groups (one join may make
/// the majority test of the other fail), so ties are ordered by the articles' `key`s, which
/// depend on their content only, and not by their indices: reordering the input reorders
/// nothing else. The members of a merged group are listed in an order decided by the same
/// keys, so that the sample of a large group does not depend on the input order either.
pub(crate) fn majority_links(
    n: usize,
    mut pairs: Vec<Pair>,
    key: impl Fn(usize) -> u64,
    passes: impl Fn(usize, usize) -> bool,
) -> Vec<Pair> {
    // Each article's key once: a key reads the whole sketch.
    let mut keys = vec![0u64; n];
    let mut keyed = vec![false; n];
    for p in &pairs {
        for x in [p.a, p.b] {
            if !keyed[x] {
                keys[x] = key(x);
                keyed[x] = true;
            }
        }
    }
    let by_content = |p: &Pair| {
        let (x, y) = (keys[p.a], keys[p.b]);
        (x.min(y), x.max(y))
    };
    // Strongest pairs first; ties by content, then (articles with equal keys: in practice
    // copies, already joined) by index, so the result never depends on timing.
    pairs.sort_by(|x, y| {
        y.similarity
            .total_cmp(&x.similarity)
            .then(by_content(x).cmp(&by_content(y)))
            .then((x.a, x.b).cmp(&(y.a, y.b)))
    });
    // Each comparison's outcome, by unordered pair: groups are sampled again at every merge,
    // so the same pairs come up many times (on Reuters-21578, two thirds of the comparisons
    // were repeats), and every verified pair is known to pass.
    let mut outcomes: HashMap<(usize, usize), bool, _> = crate::index::fixed_map(1);
    outcomes.extend(pairs.iter().map(|p| ((p.a.min(p.b), p.a.max(p.b)), true)));
    let mut sets = UnionFind::new(n);
    // Members of each root's group, in the order they joined (empty means just the root).
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    let sample = |members: &[Vec<usize>], root: usize| -> Vec<usize> {
        if members[root].is_empty() {
            vec![root]
        } else {
            members[root].iter().copied().take(LINK_SAMPLE).collect()
        }
    };
    for p in &pairs {
        let (ra, rb) = (sets.find(p.a), sets.find(p.b));
        if ra == rb {
            continue;
        }
        let (xa, xb) = (sample(&members, ra), sample(&members, rb));
        let mut pass = 0;
        for &x in &xa {
            for &y in &xb {
                let outcome = outcomes.entry((x.min(y), x.max(y))).or_insert_with(|| passes(x, y));
                pass += usize::from(*outcome);
            }
        }
        if 2 * pass < xa.len() * xb.len() {
            continue;
        }
        let root = sets.union(ra, rb);
        let group = |members: &mut [Vec<usize>], r: usize| {
            let listed = std::mem::take(&mut members[r]);
            if listed.is_empty() { vec![r] } else { listed }
        };
        let (mut first, mut second) = (group(&mut members, ra), group(&mut members, rb));
        if (keys[second[0]], second[0]) < (keys[first[0]], first[0]) {
            std::mem::swap(&mut first, &mut second);
        }
        first.extend(second);
        members[root] = first;
    }
    pairs.retain(|p| sets.find(p.a) == sets.find(p.b));
    pairs.sort_by_key(|p| (p.a, p.b));
    pairs
}

thread_local! {
    /// Buffers of [`Clusterer::signature`] and [`Clusterer::fingerprint`], reused from call to
    /// call on each thread: allocating and growing them for each article cost about a tenth of
    /// signing a 4 KB article.
    static SIGNING: RefCell<Scratch> = RefCell::default();
    static FINGERPRINTING: RefCell<FingerprintScratch> = RefCell::default();
    /// The table of [`Linkage::Majority`]'s exact comparisons.
    static KEY_TABLE: RefCell<KeyTable> = RefCell::default();
}

/// Texts longer than this do not leave their buffers (several times their size) to the thread.
const KEPT_SCRATCH_TEXT: usize = 1 << 20;

/// `f` with this thread's buffers in `local`, or with new ones where those are unavailable
/// (in use, or the thread is ending). The buffers are kept for the next call if `keep`.
fn with_scratch<W: Default + 'static, T>(
    local: &'static std::thread::LocalKey<RefCell<W>>,
    keep: bool,
    f: impl FnOnce(&mut W) -> T,
) -> T {
    let taken = local.try_with(|cell| cell.try_borrow_mut().map(|mut w| std::mem::take(&mut *w)));
    let mut scratch = match taken {
        Ok(Ok(scratch)) => scratch,
        _ => W::default(),
    };
    let result = f(&mut scratch);
    if keep {
        let _ = local.try_with(|cell| {
            if let Ok(mut w) = cell.try_borrow_mut() {
                *w = scratch;
            }
        });
    }
    result
}

/// `f(index, doc, scratch)` for every doc, in parallel with the `parallel` feature, with one
/// scratch buffer per worker. The output is in input order whatever the number of threads.
fn par_map<S, T, W, F>(docs: &[S], f: F) -> Vec<T>
where
    S: Sync,
    T: Send,
    W: Default,
    F: Fn(usize, &S, &mut W) -> T + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        docs.par_iter().enumerate().map_init(W::default, |w, (i, d)| f(i, d, w)).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        let mut w = W::default();
        docs.iter().enumerate().map(|(i, d)| f(i, d, &mut w)).collect()
    }
}

/// The `Some` results of `f` over `items`, in the order of `items` whatever the number of
/// threads; in parallel with the `parallel` feature.
fn par_filter_map<T, U, F>(items: &[T], f: F) -> Vec<U>
where
    T: Sync,
    U: Send,
    F: Fn(&T) -> Option<U> + Sync,
{
    #[cfg(feature = "parallel")]
    {
        use rayon::prelude::*;
        // Rayon's collect keeps the sequential order.
        items.par_iter().filter_map(&f).collect()
    }
    #[cfg(not(feature = "parallel"))]
    {
        items.iter().filter_map(f).collect()
    }
}

/// The result of clustering: every input article in exactly one group.
///
/// Groups are lists of input indices in ascending order, and the groups are ordered by their
/// smallest member, so the result is the same whatever the order in which the work was done.
#[derive(Clone, Debug, PartialEq)]
pub struct Clusters {
    groups: Vec<Vec<usize>>,
    representatives: Vec<usize>,
    group_of: Vec<usize>,
    pairs: Vec<Pair>,
}

impl Clusters {
    fn from_pairs(shingle_counts: &[usize], pairs: Vec<Pair>) -> Clusters {
        let n = shingle_counts.len();
        let mut sets = UnionFind::new(n);
        for p in &pairs {
            sets.union(p.a, p.b);
        }
        // Roots in order of first appearance give groups ordered by smallest member.
        let mut slot_of_root = vec![usize::MAX; n];
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut group_of = vec![0; n];
        for (i, g) in group_of.iter_mut().enumerate() {
            let root = sets.find(i);
            if slot_of_root[root] == usize::MAX {
                slot_of_root[root] = groups.len();
                groups.push(Vec::new());
            }
            *g = slot_of_root[root];
            groups[*g].push(i);
        }
        // The representative is the fullest copy: the member with the most distinct shingles
        // (the first such member on ties). Truncated reprints are contained in it.
        let representatives = groups
            .iter()
            .map(|g| {
                let mut best = g[0];
                for &i in &g[1..] {
                    if shingle_counts[i] > shingle_counts[best] {
                        best = i;
                    }
                }
                best
            })
            .collect();
        Clusters { groups, representatives, group_of, pairs }
    }

    /// The groups: each a sorted list of input indices, ordered by smallest member.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// The groups with two or more members: the articles that have reprints.
    pub fn duplicates(&self) -> impl Iterator<Item = &[usize]> {
        self.groups.iter().filter(|g| g.len() > 1).map(Vec::as_slice)
    }

    /// The number of groups (singletons included).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether there are no groups (the input was empty).
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The representative of each group, in group order: the member with the most distinct
    /// shingles (the fullest copy), the smallest index on ties.
    pub fn representatives(&self) -> &[usize] {
        &self.representatives
    }

    /// The index of the group holding article `doc`, or `None` if `doc` is out of range.
    pub fn group_of(&self, doc: usize) -> Option<usize> {
        self.group_of.get(doc).copied()
    }

    /// Every verified pair, ordered by `(a, b)`. Groups are the connected components of these
    /// pairs.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The verified pairs inside group `group`.
    pub fn pairs_in(&self, group: usize) -> impl Iterator<Item = &Pair> {
        self.pairs.iter().filter(move |p| self.group_of.get(p.a) == Some(&group))
    }
}

/// Disjoint sets with path halving and union by size.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n).collect(), size: vec![1; n] }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b`; returns the root of the joined set.
    fn union(&mut self, a: usize, b: usize) -> usize {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return a;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
        a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimated_verification_keeps_every_candidate_at_the_threshold() {
        // Articles of 60 words from a vocabulary of 80: most pairs are near a 0.4 Jaccard
        // threshold, so the candidates outnumber the articles and the filter by low bytes
        // decides many of them.
        let mut state = 7u64;
        let docs: Vec<String> = (0..300)
            .map(|_| {
                let words = (0..60).map(|_| {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    format!("w{}", (state >> 33) % 80)
                });
                words.collect::<Vec<_>>().join(" ")
            })
            .collect();
        for measure in [Similarity::Jaccard, Similarity::Containment] {
            let clusterer = Clusterer::builder()
                .shingles(crate::Shingles::Words(1))
                .slots(64)
                .threshold(0.4)
                .similarity(measure)
                .verification(Verification::Estimate)
                .linkage(Linkage::Single)
                .build()
                .unwrap();
            let signatures = clusterer.signatures(&docs);
            let table = SignatureTable::of(&signatures, clusterer.banding());
            let candidates =
                candidate_pairs(&table, clusterer.banding(), clusterer.config.bucket_cap);
            assert!(candidates.len() > 4 * docs.len());
            let expected: Vec<(usize, usize, f64)> = candidates
                .iter()
                .map(|&(a, b)| (a as usize, b as usize))
                .filter_map(|(a, b)| {
                    let (x, y) = (&signatures[a], &signatures[b]);
                    let similarity = match measure {
                        Similarity::Jaccard => x.jaccard(y).unwrap(),
                        Similarity::Containment => x.containment(y).unwrap(),
                    };
                    (similarity >= 0.4).then_some((a, b, similarity))
                })
                .collect();
            let near = expected.iter().filter(|p| p.2 < 0.43).count();
            assert!(near > 100, "{near} pairs just above the threshold");
            let found = clusterer.cluster(&docs);
            let found: Vec<(usize, usize, f64)> =
                found.pairs().iter().map(|p| (p.a, p.b, p.similarity)).collect();
            assert_eq!(found, expected, "{measure:?}");
        }
    }

    #[test]
    fn intersection_of_known_sets() {
        assert_eq!(intersection_size(&[1, 2, 3, 7], &[2, 3, 4, 7, 9]), 3);
        assert_eq!(intersection_size(&[], &[1]), 0);
        // {1,2,3} and {2,3,4}: Jaccard 2/4, containment 2/3.
        assert_eq!(exact_similarity(&[1, 2, 3], &[2, 3, 4], Similarity::Jaccard), 0.5);
        assert_eq!(exact_similarity(&[1, 2, 3], &[2, 3, 4], Similarity::Containment), 2.0 / 3.0);
        assert_eq!(exact_similarity(&[], &[], Similarity::Jaccard), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn block_merge_counts_the_intersection(
            a in proptest::collection::btree_set(0u32..300, 0..80),
            b in proptest::collection::btree_set(0u32..300, 0..80),
        ) {
            let (a, b): (Vec<u32>, Vec<u32>) = (a.into_iter().collect(), b.into_iter().collect());
            let expected = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
            proptest::prop_assert_eq!(intersection_size(&a, &b), expected);
            proptest::prop_assert_eq!(intersection_size(&b, &a), expected);
        }

        #[test]
        fn filter_by_blocks_keeps_what_the_plain_filter_keeps(
            pairs in proptest::collection::btree_set((0u32..200, 0u32..200), 0..600),
            block in 1usize..60,
        ) {
            let pairs: Vec<(u32, u32)> = pairs.into_iter().filter(|(a, b)| a < b).collect();
            let keeps = |a: u32, b: u32| (a * 31 + b * 7) % 5 < 2;
            let expected: Vec<(u32, u32)> =
                pairs.iter().copied().filter(|&(a, b)| keeps(a, b)).collect();
            // Of 200 articles, blocks of up to 49 take the pairs by the block of their second
            // article; larger blocks filter them in order.
            let kept = filter_map_sorted_pairs(&pairs, 200, block, |a, b| keeps(a, b).then_some(a + b));
            let sums: Vec<((u32, u32), u32)> = expected.iter().map(|&(a, b)| ((a, b), a + b)).collect();
            proptest::prop_assert_eq!(kept, sums);
        }

        #[test]
        fn table_estimate_matches_the_signature_estimate(
            a in "[a-e]{1,3}( [a-e]{1,3}){0,40}",
            b in "[a-e]{1,3}( [a-e]{1,3}){0,40}",
            slots in proptest::sample::select(vec![1usize, 7, 8, 100, 256]),
        ) {
            let clusterer = Clusterer::builder().slots(slots).build().map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            let (sa, sb) = (clusterer.signature(&a), clusterer.signature(&b));
            let table = SignatureTable::of(&[sa.clone(), sb.clone()], clusterer.banding());
            for measure in [Similarity::Jaccard, Similarity::Containment] {
                let judge = Judge::MinHash { table: &table, measure, threshold: 0.5 };
                let expected = match measure {
                    Similarity::Jaccard => sa.jaccard_unchecked(&sb),
                    Similarity::Containment => sa.containment_unchecked(&sb),
                };
                proptest::prop_assert_eq!(judge.similarity(0, 1), expected);
            }
        }
    }

    #[test]
    fn equal_places_counts_every_place() {
        let x: Vec<u16> = (0..4096).map(|i| i * 7).collect();
        let mut y = x.clone();
        assert_eq!(equal_places(&x, &y), 4096);
        // Changes at the ends and in the middle, and a length that is no multiple of a vector.
        y[0] = 1;
        y[2000] = 2;
        y[4095] = 3;
        assert_eq!(equal_places(&x, &y), 4093);
        assert_eq!(equal_places(&x[..37], &y[..37]), 36);
        assert_eq!(equal_places::<u16>(&[], &[]), 0);
    }

    #[test]
    fn lane_count_of_empty_articles_is_zero() {
        let clusterer = Clusterer::default();
        let (empty, text) = (clusterer.signature(""), clusterer.signature("one two three four"));
        let table = SignatureTable::of(&[empty, text.clone(), text], clusterer.banding());
        let judge = Judge::MinHash { table: &table, measure: Similarity::Jaccard, threshold: 0.5 };
        assert_eq!(judge.similarity(0, 1), 0.0);
        assert_eq!(judge.similarity(0, 0), 0.0);
        assert_eq!(judge.similarity(1, 2), 1.0);
    }

    #[test]
    fn union_find_joins_transitively() {
        let mut u = UnionFind::new(5);
        u.union(0, 3);
        u.union(3, 4);
        assert_eq!(u.find(0), u.find(4));
        assert_ne!(u.find(1), u.find(0));
    }

    /// Distinct keys, small ones (0 among them) as likely as any.
    fn key_sets() -> impl proptest::strategy::Strategy<Value = std::collections::HashSet<u32>> {
        let key = proptest::prop_oneof![0u32..64, proptest::num::u32::ANY];
        proptest::collection::hash_set(key, 0..300)
    }

    proptest::proptest! {
        #[test]
        fn key_table_counts_the_intersection(a in key_sets(), b in key_sets()) {
            let (a, b): (Vec<u32>, Vec<u32>) = (a.into_iter().collect(), b.into_iter().collect());
            let expected = a.iter().filter(|x| b.contains(x)).count();
            let mut table = KeyTable::default();
            table.fill(&a);
            // Small keys fill runs of neighbouring cells, and probing them may go over budget:
            // then the table gives no count, and `similarity` below merges instead.
            if let Some(shared) = table.shared(&b) {
                proptest::prop_assert_eq!(shared, expected);
            }
            let sorted = |s: &[u32]| sorted_keys(s, &mut Vec::new());
            for measure in [Similarity::Jaccard, Similarity::Containment] {
                proptest::prop_assert_eq!(
                    table.similarity(&a, &b, measure),
                    exact_similarity(&sorted(&a), &sorted(&b), measure)
                );
            }
        }
    }

    proptest::proptest! {
        /// Keys are hashes in use: spread over the cells, they never exhaust the budget.
        #[test]
        fn key_table_counts_hashed_keys_itself(
            keys in proptest::collection::hash_set(proptest::num::u32::ANY, 0..2000),
            split in 0.0..1.0f64,
        ) {
            // `a` and `b` share the middle third of the keys, give or take the split.
            let keys: Vec<u32> = keys.into_iter().collect();
            let third = keys.len() / 3;
            let cut = third + (split * third as f64) as usize;
            let (a, b) = (&keys[..cut + third], &keys[cut..]);
            let mut table = KeyTable::default();
            table.fill(a);
            proptest::prop_assert!(!table.overflowed);
            proptest::prop_assert_eq!(table.shared(b), Some(a.len() - cut));
        }
    }

    #[test]
    fn key_table_gives_up_on_keys_that_share_their_low_bits() {
        // Every key has the same first cell: probing would be quadratic.
        let a: Vec<u32> = (1..5000).map(|i| i << 16).collect();
        let b: Vec<u32> = (2500..7500).map(|i| i << 16).collect();
        let mut table = KeyTable::default();
        table.fill(&a);
        assert!(table.overflowed);
        assert_eq!(table.shared(&b), None);
        // 2,500 shared of 7,499: the sorted merge answers instead.
        assert_eq!(table.similarity(&a, &b, Similarity::Jaccard), 2500.0 / 7499.0);
        // A table of uniform keys, asked about keys that all land in one run of cells.
        let uniform: Vec<u32> = (1..5000u32).map(|i| i.wrapping_mul(0x9E37_79B9)).collect();
        table.fill(&uniform);
        assert!(!table.overflowed);
        assert_eq!(table.shared(&a[..10]), Some(0));
    }

    #[test]
    fn reused_buffers_do_not_carry_over_between_calls() {
        let small =
            Clusterer::builder().slots(64).shingles(crate::Shingles::Chars(4)).build().unwrap();
        let large = Clusterer::default();
        let (a, b) = ("Ministers met on Tuesday, the agency said.", "Rain fell in the north.");
        let long = "word ".repeat(KEPT_SCRATCH_TEXT / 4);
        let first = (small.signature(a), small.fingerprint(a));
        let _ = (large.signature(b), large.fingerprint(b), large.signature(&long));
        let _ = large.fingerprint(&long);
        assert_eq!((small.signature(a), small.fingerprint(a)), first);
        // With fresh buffers, as in a batch.
        assert_eq!(small.signatures(&[a]), std::slice::from_ref(&first.0));
        assert_eq!(small.fingerprints(&[a]), [first.1]);
    }

    #[test]
    fn majority_compares_each_pair_once_and_trusts_verified_pairs() {
        // Two stories, {0, 1, 2} and {3, 4, 5}, each a chain of verified pairs, and a weak
        // verified bridge (2, 3). Within a story every pair passes; across, only the bridge.
        let story = |x: usize| x / 3;
        let pair = |a, b, similarity| Pair { a, b, similarity };
        let pairs = vec![
            pair(0, 1, 0.9),
            pair(1, 2, 0.8),
            pair(3, 4, 0.9),
            pair(4, 5, 0.7),
            pair(2, 3, 0.2),
        ];
        let verified: Vec<(usize, usize)> = pairs.iter().map(|p| (p.a, p.b)).collect();
        let asked = std::cell::RefCell::new(Vec::new());
        let passes = |a: usize, b: usize| {
            asked.borrow_mut().push((a.min(b), a.max(b)));
            story(a) == story(b) || (a.min(b), a.max(b)) == (2, 3)
        };
        let kept = majority_links(6, pairs, |x| x as u64, passes);
        let kept: Vec<(usize, usize)> = kept.iter().map(|p| (p.a, p.b)).collect();
        // The bridge has one passing pair of nine between the stories: it is dropped.
        assert_eq!(kept, [(0, 1), (1, 2), (3, 4), (4, 5)]);
        let mut asked = asked.into_inner();
        // (0, 2) and (3, 5) within the stories, and the eight failing pairs across them.
        assert_eq!(asked.len(), 10);
        assert!(asked.iter().all(|p| !verified.contains(p)));
        asked.sort_unstable();
        asked.dedup();
        assert_eq!(asked.len(), 10, "a pair was compared twice");
    }

    #[test]
    fn empty_input_gives_no_group() {
        let c = Clusterer::default().cluster::<&str>(&[]);
        assert!(c.is_empty());
        assert_eq!(c.group_of(0), None);
    }

    #[test]
    fn exact_copies_and_empty_articles() {
        let docs = ["", "the same words in a row", " ", "The same words, in a row."];
        let c = Clusterer::default().cluster(&docs);
        assert_eq!(c.groups(), [vec![0], vec![1, 3], vec![2]]);
        assert_eq!(c.pairs(), [Pair { a: 1, b: 3, similarity: 1.0 }]);
        assert_eq!(c.representatives(), [0, 1, 2]);
        assert_eq!(c.duplicates().collect::<Vec<_>>(), [&[1, 3][..]]);
        assert_eq!(c.pairs_in(1).count(), 1);
    }
}
