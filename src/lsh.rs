//! Stage 4: locality-sensitive hashing by banding.
//!
//! A signature of `slots` values is cut into `bands` bands of `rows` values; two articles become
//! a candidate pair when all rows of at least one band agree. For Jaccard similarity `s` that
//! happens with probability `1 - (1 - s^rows)^bands`, an S-curve whose steep part sits near
//! `(1/bands)^(1/rows)` (Leskovec, Rajaraman, Ullman, *Mining of Massive Datasets*, ch. 3).
//!
//! Each band is reduced to one `u64` key. Hashing the band instead of storing it does not lower
//! recall; it only adds a false candidate with probability 2^-64 per pair of bands, which
//! verification then rejects.

use crate::minhash::Signature;
use crate::shingle::mix64;

/// How many bands of how many rows LSH cuts a signature into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Banding {
    /// Number of bands: more bands find more candidates (higher recall, more work).
    pub bands: usize,
    /// Rows per band: more rows make each band stricter (fewer false candidates).
    pub rows: usize,
}

impl Banding {
    /// The probability that two articles whose Jaccard similarity is `similarity` share at least
    /// one band: `1 - (1 - s^rows)^bands`.
    pub fn probability(&self, similarity: f64) -> f64 {
        let s = similarity.clamp(0.0, 1.0);
        1.0 - (1.0 - s.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// The banding that best separates Jaccard similarities above `threshold` from those below
    /// it with at most `slots` slots: it minimises the false-positive area (probability of
    /// becoming a candidate, integrated over similarities below the threshold) times
    /// `false_positive_weight` plus the false-negative area (probability of being missed,
    /// integrated above it) times `1 - false_positive_weight`. Candidates are verified
    /// afterwards, so a missed pair costs more than a false candidate: the clusterer uses a
    /// weight of 0.1 (datasketch, whose procedure this is, uses 0.5).
    ///
    /// `threshold` is clamped to `[0.01, 1]`, the weight to `[0, 1]`, `slots` to at least 1.
    pub fn optimal(threshold: f64, slots: usize, false_positive_weight: f64) -> Banding {
        let t = threshold.clamp(0.01, 1.0);
        let w = false_positive_weight.clamp(0.0, 1.0);
        let slots = slots.max(1);
        // Both areas are midpoint sums (see `STEPS`). For each number of rows, a point's
        // chance of sharing no band is `(1 - s^rows)^bands`, kept from one number of bands to
        // the next by one multiply, where a `powi` per point and banding took 1.4 ms at 256
        // slots and 31 ms at 4,096 (now 0.15 and 1.8), paid by every clusterer built.
        let (below, h_below) = midpoints(0.0, t);
        let (above, h_above) = midpoints(t, 1.0);
        let mut best = Banding { bands: 1, rows: 1 };
        let mut best_cost = f64::INFINITY;
        // Beyond 64 rows a band is all but impossible to share below similarity 0.9.
        for rows in 1..=slots.min(64) {
            let kept = |s: f64| 1.0 - s.powi(rows as i32);
            let (kept_below, kept_above) = (below.map(kept), above.map(kept));
            let (mut none_below, mut none_above) = ([1.0; STEPS], [1.0; STEPS]);
            for bands in 1..=slots / rows {
                let b = Banding { bands, rows };
                for (none, kept) in none_below.iter_mut().zip(&kept_below) {
                    *none *= kept;
                }
                for (none, kept) in none_above.iter_mut().zip(&kept_above) {
                    *none *= kept;
                }
                let fp = none_below.iter().map(|none| 1.0 - none).sum::<f64>() * h_below;
                let fneg = none_above.iter().sum::<f64>() * h_above;
                let cost = w * fp + (1.0 - w) * fneg;
                // Ties go to fewer slots used (less work).
                if cost < best_cost - 1e-12 {
                    best_cost = cost;
                    best = b;
                }
            }
        }
        best
    }

    pub(crate) fn fits(&self, slots: usize) -> bool {
        self.bands >= 1 && self.rows >= 1 && self.bands.saturating_mul(self.rows) <= slots
    }

    /// The key of band `band` of `signature`.
    #[inline]
    pub(crate) fn key(&self, signature: &[u32], band: usize) -> u64 {
        let start = band * self.rows;
        keyed_rows(band_seed(band), &signature[start..start + self.rows])
    }
}

/// The start of band `band`'s key, which depends on the band alone.
#[inline]
fn band_seed(band: usize) -> u64 {
    mix64(band as u64 ^ 0xA076_1D64_78BD_642F)
}

/// The key of a band with this seed whose rows hold `values`: the rows two at a time, as one
/// 64-bit word, each word mixed into the key (a last odd row alone). [`mix64`] is a bijection,
/// so two bands of two rows get the same key only when their rows are equal; a key per row
/// cost twice the multiplies, and computing keys was a quarter of finding candidates.
#[inline]
fn keyed_rows(seed: u64, values: &[u32]) -> u64 {
    let words = values.chunks_exact(2);
    let last = words.remainder().first().map(|&v| u64::from(v));
    let key = words.fold(seed, |acc, w| mix64(acc ^ (u64::from(w[0]) | u64::from(w[1]) << 32)));
    last.map_or(key, |v| mix64(key ^ v))
}

impl std::fmt::Display for Banding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bands x {} rows", self.bands, self.rows)
    }
}

/// Steps of the midpoint rule that [`Banding::optimal`] integrates by: the integrands are
/// smooth, and the choice between neighbouring bandings does not need more.
const STEPS: usize = 64;

/// The midpoints of the [`STEPS`] steps from `a` to `b`, and the step.
fn midpoints(a: f64, b: f64) -> ([f64; STEPS], f64) {
    let h = (b - a) / STEPS as f64;
    (std::array::from_fn(|i| a + (i as f64 + 0.5) * h), h)
}

/// Candidate pairs `(i, j)` with `i < j`, sorted and without repeats, of the signatures that share
/// a band. Empty signatures never become candidates.
///
/// A bucket (articles sharing one band key) of at most `bucket_cap` members yields all its
/// pairs. A larger one is text shared by that many articles: boilerplate, or one story reprinted
/// that often. Expanding it would cost the square of its size, so each member is paired only
/// with the bucket's first member and with the member before it. Work stays linear; identical
/// articles still all meet (through the first member), and articles that truly are reprints of
/// each other usually also share other, smaller buckets. What it can cost: a pair whose only
/// shared band lies in oversized buckets, and that is not similar to their first member, is
/// missed.
///
/// Bands are taken [`BAND_BLOCK`] at a time: each signature is read once per block, for the keys
/// of all the block's bands, where one band at a time reads a few bytes of every signature per
/// band and misses the cache on nearly all of them; the table keeps each block's slots of all
/// articles together. The keys of each band are then grouped with
/// [`sort_by_top_bits`] (band keys are uniform hashes, like shingle hashes).
///
/// Each article's band key is folded to its top 32 bits and packed with the article's index
/// into one 8-byte entry (see [`band_entry`]): half the bytes to write, sort and read back of a
/// 16-byte `(key, article)`. Two bands of different rows then share a key once in 2^32; that
/// only adds a candidate pair, which verification rejects.
pub(crate) fn candidate_pairs(
    table: &SignatureTable,
    banding: Banding,
    bucket_cap: usize,
) -> Vec<(u32, u32)> {
    debug_assert!(bucket_cap >= 2);
    debug_assert!(u32::try_from(table.len()).is_ok());
    debug_assert_eq!(table.layout, TableLayout::new(table.layout.slots, banding));
    let rows = banding.rows;
    // Articles with a signature: the empty ones have no bands.
    let live = (0..table.len()).filter(|&i| table.shingle_count(i) > 0).count();
    let per_block = |scratch: &mut BandScratch, block: usize| -> Vec<(u32, u32)> {
        let bands = block * BAND_BLOCK..((block + 1) * BAND_BLOCK).min(banding.bands);
        let BandScratch { keys, marks, shared, sorted, counts } = scratch;
        let seeds: Vec<u64> = bands.clone().map(band_seed).collect();
        keys.clear();
        keys.resize(seeds.len() * live, 0);
        // Rows known at compile time make each key a few instructions with no loop.
        match rows {
            1 => block_entries::<1>(table, block, rows, &seeds, keys),
            2 => block_entries::<2>(table, block, rows, &seeds, keys),
            3 => block_entries::<3>(table, block, rows, &seeds, keys),
            4 => block_entries::<4>(table, block, rows, &seeds, keys),
            8 => block_entries::<8>(table, block, rows, &seeds, keys),
            _ => block_entries::<0>(table, block, rows, &seeds, keys),
        }
        let mut pairs = Vec::new();
        for band_keys in keys.chunks_exact(live.max(1)) {
            let candidates = if band_keys.len() <= FEW_KEYS {
                band_keys
            } else {
                repeated_keys(band_keys, marks, shared);
                &shared[..]
            };
            sort_by_top_bits(candidates, |&entry| entry, counts, sorted);
            for bucket in sorted.chunk_by(|a, b| a >> 32 == b >> 32) {
                if bucket.len() > 1 {
                    bucket_pairs(bucket, |&entry| entry as u32, bucket_cap, &mut pairs);
                }
            }
        }
        pairs
    };
    let blocks = banding.bands.div_ceil(BAND_BLOCK);
    #[cfg(feature = "parallel")]
    let pairs: Vec<Vec<(u32, u32)>> = {
        use rayon::prelude::*;
        (0..blocks).into_par_iter().map_init(BandScratch::default, per_block).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let pairs: Vec<Vec<(u32, u32)>> = {
        let mut scratch = BandScratch::default();
        (0..blocks).map(|block| per_block(&mut scratch, block)).collect()
    };
    sorted_distinct_pairs(pairs, table.len())
}

/// Sets `entries`, one run of `live` entries per band of block `block` (whose band seeds are
/// `seeds`), to the [`band_entry`] of every live article. `R` is `rows`, or 0 for a number of
/// rows without a constant of its own.
fn block_entries<const R: usize>(
    table: &SignatureTable,
    block: usize,
    rows: usize,
    seeds: &[u64],
    entries: &mut [u64],
) {
    let rows = if R == 0 { rows } else { R };
    let live = entries.len() / seeds.len().max(1);
    let mut lanes: Vec<&mut [u64]> = entries.chunks_exact_mut(live.max(1)).collect();
    // The block's group of slots, article after article, in memory order.
    for (i, (article, group)) in table.group_of_all(block).enumerate() {
        for ((lane, &seed), values) in lanes.iter_mut().zip(seeds).zip(group.chunks_exact(rows)) {
            if let Some(entry) = lane.get_mut(i) {
                *entry = band_entry(keyed_rows(seed, values), article);
            }
        }
    }
}

/// A band key's top 32 bits, then `article`: sorting entries sorts them by key, and the articles
/// of one key in ascending order.
#[inline]
fn band_entry(key: u64, article: u32) -> u64 {
    (key & !u64::from(u32::MAX)) | u64::from(article)
}

/// How many bands [`candidate_pairs`] keys in one pass over the signatures. Eight bands of up to
/// a few rows span a cache line or two of each signature; the blocks are also the unit of
/// parallel work.
pub(crate) const BAND_BLOCK: usize = 8;

/// Where [`SignatureTable`] keeps each slot: the slots of a block of [`BAND_BLOCK`] bands form a
/// *group* of `width` slots (the last group is padded), and the signature's slots past the bands
/// fill further groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TableLayout {
    slots: usize,
    width: usize,
    groups: usize,
}

impl TableLayout {
    pub(crate) fn new(slots: usize, banding: Banding) -> TableLayout {
        let width = (BAND_BLOCK * banding.rows).clamp(1, slots.max(1));
        TableLayout { slots, width, groups: slots.div_ceil(width) }
    }

    /// The table part of `signatures` (at most [`TABLE_CHUNK`], all with this layout's number of
    /// slots): each group of every article in turn.
    pub(crate) fn pack(&self, signatures: &[Signature]) -> TableChunk {
        debug_assert!(signatures.len() <= TABLE_CHUNK);
        let m = signatures.len();
        let mut values = vec![0; self.groups * m * self.width];
        for (x, signature) in signatures.iter().enumerate() {
            debug_assert_eq!(signature.slots().len(), self.slots);
            for (g, group) in signature.slots().chunks(self.width).enumerate() {
                let at = (g * m + x) * self.width;
                values[at..at + group.len()].copy_from_slice(group);
            }
        }
        let counts = signatures.iter().map(|s| s.shingle_count() as u32).collect();
        TableChunk { values, counts }
    }
}

/// Articles per part of a [`SignatureTable`].
pub(crate) const TABLE_CHUNK: usize = 64;

/// [`TABLE_CHUNK`] articles' part of a [`SignatureTable`].
pub(crate) struct TableChunk {
    values: Vec<u32>,
    counts: Vec<u32>,
}

/// A batch's MinHash signatures, laid out for banding. The articles come in parts of
/// [`TABLE_CHUNK`]; within a part, one group of slots (see [`TableLayout`]) of every article,
/// then the next group. The pass of [`candidate_pairs`] over one block of bands thus reads the
/// table in memory order. Over separate signatures it read a cache line of each in turn, a
/// kilobyte apart, and waited on memory for most of its time.
pub(crate) struct SignatureTable {
    layout: TableLayout,
    /// Shingle counts, article after article; 0 for an empty article.
    counts: Vec<u32>,
    chunks: Vec<Vec<u32>>,
}

impl SignatureTable {
    /// The table of the articles of `chunks`, in order; every chunk but the last holds
    /// [`TABLE_CHUNK`] articles.
    pub(crate) fn new(layout: TableLayout, chunks: Vec<TableChunk>) -> SignatureTable {
        let counts: Vec<u32> = chunks.iter().flat_map(|c| c.counts.iter().copied()).collect();
        let chunks: Vec<Vec<u32>> = chunks.into_iter().map(|c| c.values).collect();
        debug_assert!(chunks.len() == counts.len().div_ceil(TABLE_CHUNK));
        SignatureTable { layout, counts, chunks }
    }

    /// The table of `signatures`, made one part after another.
    #[cfg(test)]
    pub(crate) fn of(signatures: &[Signature], banding: Banding) -> SignatureTable {
        let slots = signatures.first().map_or(1, |s| s.slots().len());
        let layout = TableLayout::new(slots, banding);
        SignatureTable::new(
            layout,
            signatures.chunks(TABLE_CHUNK).map(|c| layout.pack(c)).collect(),
        )
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }

    /// Slots per signature.
    pub(crate) fn slots(&self) -> usize {
        self.layout.slots
    }

    pub(crate) fn shingle_count(&self, i: usize) -> usize {
        self.counts[i] as usize
    }

    /// The groups of article `i` in order, without the padding: its slots, in pieces.
    pub(crate) fn groups(&self, i: usize) -> impl Iterator<Item = &[u32]> + '_ {
        let TableLayout { slots, width, groups } = self.layout;
        let (c, x) = (i / TABLE_CHUNK, i % TABLE_CHUNK);
        let m = (self.len() - c * TABLE_CHUNK).min(TABLE_CHUNK);
        let chunk = &self.chunks[c];
        (0..groups).map(move |g| {
            let at = (g * m + x) * width;
            &chunk[at..at + width.min(slots - g * width)]
        })
    }

    /// `low(slot)` of every slot, article after article, each article's slots in order (the
    /// low 16 bits or the low byte: equal slots have equal low parts). The table is read in
    /// memory order, a part at a time, where reading each article's groups in turn takes a
    /// cache line from each of its part's groups.
    pub(crate) fn low_parts<T: Copy + Default>(&self, low: impl Fn(u32) -> T) -> Vec<T> {
        let TableLayout { slots, width, .. } = self.layout;
        let mut parts = vec![T::default(); self.len() * slots];
        for (chunk, out) in self.chunks.iter().zip(parts.chunks_mut(TABLE_CHUNK * slots)) {
            let m = out.len() / slots.max(1);
            for (g, part) in chunk.chunks(m * width).enumerate() {
                let start = g * width;
                let used = width.min(slots - start);
                for (group, article) in part.chunks_exact(width).zip(out.chunks_exact_mut(slots)) {
                    let out = &mut article[start..start + used];
                    for (part, &value) in out.iter_mut().zip(group) {
                        *part = low(value);
                    }
                }
            }
        }
        parts
    }

    /// Group `g` of every article that is not empty, padded, with the article's index, in
    /// memory order.
    fn group_of_all(&self, g: usize) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        let width = self.layout.width;
        self.chunks.iter().enumerate().flat_map(move |(c, chunk)| {
            let m = (self.len() - c * TABLE_CHUNK).min(TABLE_CHUNK);
            let part = &chunk[g * m * width..(g + 1) * m * width];
            let first = c * TABLE_CHUNK;
            part.chunks_exact(width)
                .zip(&self.counts[first..first + m])
                .enumerate()
                .filter(|(_, (_, count))| **count > 0)
                .map(move |(x, (group, _))| ((first + x) as u32, group))
        })
    }

    /// How many slots of articles `a` and `b` are equal. The places are counted in eight lanes,
    /// which compile to vector compares and adds.
    pub(crate) fn equal_slots(&self, a: usize, b: usize) -> usize {
        const LANES: usize = 8;
        let mut lanes = [0u32; LANES];
        let mut tail = 0;
        for (x, y) in self.groups(a).zip(self.groups(b)) {
            let (xs, ys) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
            tail += xs.remainder().iter().zip(ys.remainder()).filter(|(u, v)| u == v).count();
            for (u, v) in xs.zip(ys) {
                for l in 0..LANES {
                    lanes[l] += u32::from(u[l] == v[l]);
                }
            }
        }
        lanes.iter().map(|&n| n as usize).sum::<usize>() + tail
    }
}

/// Buffers for one block of bands, reused from block to block.
#[derive(Default)]
struct BandScratch {
    /// The [`band_entry`] of every live article, one run a band.
    keys: Vec<u64>,
    marks: Vec<u64>,
    /// The entries of a band whose key may be shared.
    shared: Vec<u64>,
    sorted: Vec<u64>,
    counts: Vec<usize>,
}

/// Up to this many keys, [`candidate_pairs`] sorts them all; past it, only those that
/// [`repeated_keys`] keeps (a quarter to a third of them with the defaults). With a branch on
/// each key, keeping them cost more than sorting all of a few thousand; with none, sorting the
/// bands of news-5k's 5,000 articles and pairing their buckets took 4.4 ms instead of 7.0.
const FEW_KEYS: usize = 1 << 8;

/// Sets `out` to the items of `keys` whose key may occur more than once: all those whose key
/// does, and a few others. Most band keys are unique, and sorting them all only to find the few
/// that repeat cost more than the rest of the banding. Each key marks its place in a table of
/// two bits per place, about eight places per key, so small that it stays in the cache: the
/// first bit says a key came to this place, the second that another came after it. The items
/// whose place got the second bit are kept (a unique key sharing its place with another is
/// kept too, and dropped when sorting finds it alone).
fn repeated_keys(keys: &[u64], marks: &mut Vec<u64>, out: &mut Vec<u64>) {
    out.clear();
    // At most 2^32 places, so that a place depends on the key alone, not the article.
    let bits = (keys.len() * 8).next_power_of_two().trailing_zeros().clamp(6, 32);
    let places = 1 << bits;
    let shift = 64 - bits;
    marks.clear();
    marks.resize(places / 32, 0);
    let at = |key: u64| {
        let place = (key >> shift) as usize;
        (place / 32, 2 * (place % 32) as u32)
    };
    for &key in keys {
        let (word, bit) = at(key);
        let m = marks[word];
        marks[word] = m | (1 << bit) | ((m >> bit) & 1) << (bit + 1);
    }
    // Every item is written and the position moves on past those kept: whether a key repeats
    // is a coin toss that a branch would mispredict.
    out.resize(keys.len(), 0);
    let mut kept = 0;
    for &key in keys {
        let (word, bit) = at(key);
        if let Some(slot) = out.get_mut(kept) {
            *slot = key;
        }
        kept += ((marks[word] >> (bit + 1)) & 1) as usize;
    }
    out.truncate(kept);
}

/// The pairs of all `chunks`, sorted, without repeats. A pair found in several bands appears
/// once per band. Two counting sorts put them in order (`n` is the number of articles): by
/// second article, then, taking the second articles in ascending order, by first article, so
/// that each first article's pairs come out sorted and a repeat is always the pair placed just
/// before it. Sorting each first article's pairs on their own took as long as both passes, and
/// mispredicted a branch on most comparisons.
///
/// Each chunk is freed as soon as the first pass has placed its pairs, and the second pass
/// only starts then: the raw pairs (8 bytes each, a pair of reprints once per band they share)
/// are the largest thing candidate generation holds, and the two passes' arrays take 4 bytes
/// a pair each.
fn sorted_distinct_pairs(chunks: Vec<Vec<(u32, u32)>>, n: usize) -> Vec<(u32, u32)> {
    // Where each second article's pairs start, and each first article's.
    let mut by_second = vec![0usize; n + 1];
    let mut by_first = vec![0usize; n + 1];
    for &(a, b) in chunks.iter().flatten() {
        by_first[a as usize + 1] += 1;
        by_second[b as usize + 1] += 1;
    }
    for x in 1..=n {
        by_first[x] += by_first[x - 1];
        by_second[x] += by_second[x - 1];
    }
    let total = by_second[n];
    // The first articles, grouped by second article. Each group then ends where the next one
    // started.
    let mut firsts = vec![0u32; total];
    for chunk in chunks {
        for (a, b) in chunk {
            let at = &mut by_second[b as usize];
            firsts[*at] = a;
            *at += 1;
        }
    }
    // The second articles, grouped by first article, in ascending order. A repeat is written
    // like any pair but not kept: the next one overwrites it.
    let mut seconds = vec![0u32; total];
    let mut end = by_first.clone();
    let mut last = vec![u32::MAX; n];
    let mut begin = 0;
    for (b, &group_end) in by_second.iter().take(n).enumerate() {
        let b = b as u32;
        for &a in &firsts[begin..group_end] {
            let a = a as usize;
            seconds[end[a]] = b;
            end[a] += usize::from(last[a] != b);
            last[a] = b;
        }
        begin = group_end;
    }
    drop((firsts, by_second, last));
    let distinct = (0..n).map(|a| end[a] - by_first[a]).sum();
    let mut pairs = Vec::with_capacity(distinct);
    for a in 0..n {
        pairs.extend(seconds[by_first[a]..end[a]].iter().map(|&b| (a as u32, b)));
    }
    pairs
}

/// Sorts `items` into `out` (cleared first), in the order of `T`, for items whose `key` is a
/// uniformly distributed hash that orders them first (`x < y` implies `key(x) <= key(y)`):
/// shingle hashes, band keys.
///
/// One counting pass on the keys' top bits, with about as many buckets as items, leaves each
/// item a few places at most from where it belongs, and an insertion sort finishes the job in
/// linear time: about twice as fast as a comparison sort of the whole. Equal items (repeated
/// shingles, articles that share a band) cost the insertion sort nothing, but keys made to share
/// their top bits would make it quadratic, so once it has moved items [`MOVES_PER_ITEM`] places
/// per item on average, a comparison sort finishes instead.
pub(crate) fn sort_by_top_bits<T: Copy + Ord + Default>(
    items: &[T],
    key: impl Fn(&T) -> u64,
    counts: &mut Vec<usize>,
    out: &mut Vec<T>,
) {
    // Few items: the comparison sort is quicker than clearing the counts.
    const SMALL: usize = 64;
    // At most 2^16 buckets, so that the counts stay in the L1/L2 cache.
    const MAX_BITS: u32 = 16;
    out.clear();
    let n = items.len();
    if n <= SMALL {
        out.extend_from_slice(items);
        out.sort_unstable();
        return;
    }
    let bits = (usize::BITS - (n - 1).leading_zeros()).min(MAX_BITS);
    let shift = 64 - bits;
    let bucket = |x: &T| (key(x) >> shift) as usize;
    counts.clear();
    counts.resize((1 << bits) + 1, 0);
    for x in items {
        counts[bucket(x) + 1] += 1;
    }
    for b in 1..counts.len() {
        counts[b] += counts[b - 1];
    }
    out.resize(n, T::default());
    // counts[b] is where bucket b starts; each item moves it on.
    for x in items {
        let at = &mut counts[bucket(x)];
        out[*at] = *x;
        *at += 1;
    }
    // Items are in bucket order; each moves back past at most its bucket's other items.
    let mut budget = MOVES_PER_ITEM * n;
    for i in 1..n {
        let x = out[i];
        let mut j = i;
        while j > 0 && out[j - 1] > x {
            out[j] = out[j - 1];
            j -= 1;
        }
        out[j] = x;
        budget = budget.saturating_sub(i - j);
        if budget == 0 {
            out.sort_unstable();
            return;
        }
    }
}

/// The insertion sort's budget in [`sort_by_top_bits`]: uniform keys need well under one move
/// per item.
const MOVES_PER_ITEM: usize = 4;

/// The pairs one bucket contributes; members (`article` of each) are in ascending index order.
pub(crate) fn bucket_pairs<T>(
    bucket: &[T],
    article: impl Fn(&T) -> u32,
    cap: usize,
    pairs: &mut Vec<(u32, u32)>,
) {
    if bucket.len() <= cap {
        for (x, a) in bucket.iter().enumerate() {
            for b in &bucket[x + 1..] {
                pairs.push((article(a), article(b)));
            }
        }
    } else {
        let first = article(&bucket[0]);
        for w in bucket.windows(2) {
            let (a, b) = (article(&w[0]), article(&w[1]));
            pairs.push((a, b));
            if a != first {
                pairs.push((first, b));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probability_at_known_points() {
        let b = Banding { bands: 20, rows: 5 };
        assert_eq!(b.probability(0.0), 0.0);
        assert_eq!(b.probability(1.0), 1.0);
        // MMDS table 3.3: s = 0.5 gives 0.470.
        assert!((b.probability(0.5) - 0.470).abs() < 0.001);
    }

    /// [`Banding::optimal`] the straightforward way: each area integrated anew for every
    /// banding, from [`Banding::probability`].
    fn reference_optimal(threshold: f64, slots: usize, false_positive_weight: f64) -> Banding {
        let integrate = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| {
            let h = (b - a) / STEPS as f64;
            (0..STEPS).map(|i| f(a + (i as f64 + 0.5) * h)).sum::<f64>() * h
        };
        let t = threshold.clamp(0.01, 1.0);
        let w = false_positive_weight.clamp(0.0, 1.0);
        let slots = slots.max(1);
        let mut best = Banding { bands: 1, rows: 1 };
        let mut best_cost = f64::INFINITY;
        for rows in 1..=slots.min(64) {
            for bands in 1..=slots / rows {
                let b = Banding { bands, rows };
                let fp = integrate(&|s| b.probability(s), 0.0, t);
                let fneg = integrate(&|s| 1.0 - b.probability(s), t, 1.0);
                let cost = w * fp + (1.0 - w) * fneg;
                if cost < best_cost - 1e-12 {
                    best_cost = cost;
                    best = b;
                }
            }
        }
        best
    }

    #[test]
    fn optimal_banding_is_the_reference_one() {
        for slots in [1, 3, 16, 100, 256] {
            // The defaults' threshold (containment 0.16 as a Jaccard threshold) among others.
            for t in (1..=20).map(|i| f64::from(i) / 20.0).chain([0.001, 0.16 / 2.84]) {
                for w in [0.0, 0.1, 0.5, 1.0] {
                    assert_eq!(
                        Banding::optimal(t, slots, w),
                        reference_optimal(t, slots, w),
                        "threshold {t}, {slots} slots, weight {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn optimal_banding_moves_with_the_threshold() {
        let low = Banding::optimal(0.2, 128, 0.5);
        let high = Banding::optimal(0.8, 128, 0.5);
        assert!(low.fits(128) && high.fits(128));
        assert!(low.rows < high.rows, "{low} vs {high}");
        // The S-curve's steep part sits near the threshold.
        let knee = |b: Banding| (1.0 / b.bands as f64).powf(1.0 / b.rows as f64);
        assert!((knee(high) - 0.8).abs() < 0.15, "{high}");
        assert!((knee(low) - 0.2).abs() < 0.15, "{low}");
    }

    #[test]
    fn small_bucket_gives_all_pairs_large_one_is_linear() {
        let bucket: Vec<(u64, u32)> = (0..4).map(|i| (9, i)).collect();
        let mut pairs = Vec::new();
        bucket_pairs(&bucket, |&(_, i)| i, 4, &mut pairs);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
        pairs.clear();
        bucket_pairs(&bucket, |&(_, i)| i, 3, &mut pairs);
        assert_eq!(pairs, vec![(0, 1), (1, 2), (0, 2), (2, 3), (0, 3)]);
    }

    /// The straightforward candidate generation: one band at a time, a comparison sort of its
    /// keys, then one sort of all pairs.
    fn reference_pairs(signatures: &[Signature], banding: Banding, cap: usize) -> Vec<(u32, u32)> {
        let mut pairs = Vec::new();
        for band in 0..banding.bands {
            // Keys folded to 32 bits, as `candidate_pairs` folds them.
            let mut keys: Vec<(u64, u32)> = signatures
                .iter()
                .enumerate()
                .filter(|(_, s)| !s.is_empty())
                .map(|(i, s)| (banding.key(s.slots(), band) >> 32, i as u32))
                .collect();
            keys.sort_unstable();
            for bucket in keys.chunk_by(|a, b| a.0 == b.0) {
                bucket_pairs(bucket, |&(_, i)| i, cap, &mut pairs);
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
    }

    proptest::proptest! {
        #[test]
        fn sort_by_top_bits_sorts(
            values in proptest::collection::vec(proptest::num::u64::ANY, 0..400),
            crowded in proptest::collection::vec(0u64..8, 0..400),
        ) {
            let (mut counts, mut out) = (Vec::new(), Vec::new());
            // Uniform values, and values that share their top bits (large buckets, repeats).
            let crowded: Vec<u64> = crowded.iter().map(|&v| (v << 40) | (v % 3)).collect();
            for input in [&values, &crowded] {
                sort_by_top_bits(input, |&h| h, &mut counts, &mut out);
                let mut expected = input.clone();
                expected.sort_unstable();
                proptest::prop_assert_eq!(&out, &expected);
            }
        }

        #[test]
        fn sort_by_top_bits_keeps_ties_in_article_order(
            keys in proptest::collection::vec(0u64..40, 65..300),
        ) {
            // Few distinct keys spread over the whole range: many articles share each key.
            let items: Vec<(u64, u32)> =
                keys.iter().enumerate().map(|(i, &k)| (k.wrapping_mul(0x9E37_79B9_7F4A_7C15), i as u32)).collect();
            let (mut counts, mut out) = (Vec::new(), Vec::new());
            sort_by_top_bits(&items, |&(k, _)| k, &mut counts, &mut out);
            let mut expected = items.clone();
            expected.sort_unstable();
            proptest::prop_assert_eq!(out, expected);
        }

        #[test]
        fn candidates_match_the_straightforward_generation(
            texts in proptest::collection::vec("[a-d]( [a-d]){0,12}", 0..90),
            rows in 1usize..4,
            cap in 2usize..6,
        ) {
            let clusterer = crate::Clusterer::builder().slots(24).build().map_err(|e| {
                proptest::test_runner::TestCaseError::fail(e.to_string())
            })?;
            let signatures = clusterer.signatures(&texts);
            let banding = Banding { bands: 24 / rows, rows };
            proptest::prop_assert_eq!(
                candidate_pairs(&SignatureTable::of(&signatures, banding), banding, cap),
                reference_pairs(&signatures, banding, cap)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn repeated_keys_keeps_every_repeat(
            picks in proptest::collection::vec((0u64..400, proptest::num::u64::ANY), 0..3000),
        ) {
            // Keys from a small set of uniform hashes, so that some repeat and most do not.
            let keys: Vec<u64> = picks
                .iter()
                .enumerate()
                .map(|(i, &(k, salt))| {
                    let key = if k < 100 { mix64(k) } else { mix64(salt) };
                    band_entry(key, i as u32)
                })
                .collect();
            let (mut marks, mut out) = (Vec::new(), Vec::new());
            repeated_keys(&keys, &mut marks, &mut out);
            let mut seen = std::collections::HashMap::new();
            for &entry in &keys {
                *seen.entry(entry >> 32).or_insert(0) += 1;
            }
            let repeats: Vec<u64> = keys.iter().copied().filter(|e| seen[&(e >> 32)] > 1).collect();
            // Every repeat is kept, in order; what else is kept is a subsequence of the keys.
            let mut kept = out.iter().copied().filter(|e| seen[&(e >> 32)] > 1);
            proptest::prop_assert!(repeats.iter().all(|&x| kept.next() == Some(x)));
            let mut rest = keys.iter();
            proptest::prop_assert!(out.iter().all(|x| rest.any(|y| y == x)));
        }
    }

    #[test]
    fn many_articles_give_the_straightforward_candidates() {
        // More articles than `FEW_KEYS`, so that the bands go through `repeated_keys`; three
        // words of forty, so that many articles share bands and most bands are unique.
        let n = FEW_KEYS + 3000;
        let texts: Vec<String> = (0..n as u64)
            .map(|i| {
                let h = mix64(i);
                format!("w{} w{} w{} x{}", h % 40, (h >> 8) % 40, (h >> 16) % 40, (h >> 24) % 3)
            })
            .collect();
        let clusterer = crate::Clusterer::builder()
            .slots(24)
            .shingles(crate::Shingles::Words(1))
            .build()
            .unwrap();
        let signatures = clusterer.signatures(&texts);
        let banding = Banding { bands: 12, rows: 2 };
        let table = SignatureTable::of(&signatures, banding);
        let (mut marks, mut kept) = (Vec::new(), Vec::new());
        let keys: Vec<u64> = signatures
            .iter()
            .zip(0..)
            .map(|(s, i)| band_entry(banding.key(s.slots(), 0), i))
            .collect();
        repeated_keys(&keys, &mut marks, &mut kept);
        assert!(kept.len() < keys.len(), "{} kept of {}", kept.len(), keys.len());
        assert_eq!(candidate_pairs(&table, banding, 5), reference_pairs(&signatures, banding, 5));
    }

    #[test]
    fn unique_keys_are_mostly_dropped() {
        let keys: Vec<u64> = (0..5000).map(|i| band_entry(mix64(i), i as u32)).collect();
        let (mut marks, mut kept) = (Vec::new(), Vec::new());
        repeated_keys(&keys, &mut marks, &mut kept);
        // A place holds one key in eight: about one key in eight shares its place.
        assert!(kept.len() < keys.len() / 4, "{} kept", kept.len());
    }

    #[test]
    fn table_gives_back_each_signature() {
        let texts: Vec<String> =
            (0..150).map(|i| format!("story {} line {} of the wire", i % 7, i)).collect();
        let layouts = [(24, 1), (24, 2), (24, 3), (24, 5), (7, 2), (256, 2), (128, 32), (100, 3)];
        for (slots, rows) in layouts {
            let clusterer = crate::Clusterer::builder().slots(slots).build().unwrap();
            let mut signatures = clusterer.signatures(&texts);
            signatures[3] = clusterer.signature("");
            let banding = Banding { bands: slots / rows, rows };
            let table = SignatureTable::of(&signatures, banding);
            assert_eq!(table.len(), texts.len());
            let low_bits = table.low_parts(|v| v as u16);
            assert_eq!(low_bits.len(), texts.len() * slots);
            let low_bytes = table.low_parts(|v| v as u8);
            for (i, s) in signatures.iter().enumerate() {
                assert_eq!(table.groups(i).collect::<Vec<_>>().concat(), s.slots());
                let low: Vec<u16> = s.slots().iter().map(|&v| v as u16).collect();
                assert_eq!(low_bits[i * slots..(i + 1) * slots], low, "{slots} slots, {rows} rows");
                let low: Vec<u8> = s.slots().iter().map(|&v| v as u8).collect();
                assert_eq!(
                    low_bytes[i * slots..(i + 1) * slots],
                    low,
                    "{slots} slots, {rows} rows"
                );
                assert_eq!(table.shingle_count(i), s.shingle_count());
                for j in [0, 1, 64, 149] {
                    let equal = s.slots().iter().zip(signatures[j].slots()).filter(|(x, y)| x == y);
                    assert_eq!(table.equal_slots(i, j), equal.count(), "{slots} slots");
                }
            }
        }
    }

    #[test]
    fn pairs_found_in_several_bands_appear_once() {
        let chunks = vec![vec![(2, 3), (0, 4), (0, 1)], vec![], vec![(0, 1), (2, 3), (0, 2)]];
        assert_eq!(sorted_distinct_pairs(chunks, 5), vec![(0, 1), (0, 2), (0, 4), (2, 3)]);
        assert_eq!(sorted_distinct_pairs(vec![], 0), vec![]);
    }

    #[test]
    fn band_keys_depend_on_band_and_values() {
        let b = Banding { bands: 2, rows: 2 };
        let sig = [1, 2, 1, 2];
        assert_ne!(b.key(&sig, 0), b.key(&sig, 1));
        assert_eq!(b.key(&[1, 2, 0, 0], 0), b.key(&sig, 0));
        assert_ne!(b.key(&[2, 1, 0, 0], 0), b.key(&sig, 0));
    }
}
