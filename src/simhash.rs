//! The second signature family: 64-bit SimHash fingerprints (Charikar 2002) and an index that
//! finds every fingerprint within a Hamming distance (Manku, Jain, Das Sarma, WWW 2007).
//!
//! A fingerprint is 8 bytes an article, against 1 KB for a 256-slot MinHash signature. Each
//! shingle hash votes on each of the 64 bits (+1 where its bit is set, −1 where not), weighted by
//! how often the shingle occurs (term frequency); a fingerprint bit is set where the votes are
//! positive. The Hamming distance between two fingerprints estimates the angle between the
//! articles' shingle-count vectors: `distance / 64 ≈ angle / π`.
//!
//! The trade-off: SimHash separates near-verbatim copies well, but the angle moves slowly at low
//! overlap. Two articles sharing 16% of their shingles (a typical web reprint with its own page
//! chrome) lie about 26 bits apart on average, unrelated ones about 32, with a spread of ±4 bits:
//! at the distances an index can search efficiently (a few bits), SimHash finds only close
//! copies. Use MinHash (the default) for reprints; use SimHash where 8 bytes an article matters
//! more than recall of edited copies.
//!
//! Counting votes bit by bit costs 64 operations per shingle. Here each byte of the hash is
//! spread into eight one-byte lanes of a `u64` by table lookup, so one addition counts eight
//! bits; the lanes are flushed into wide counters every 255 shingles, before a lane can overflow.

use std::fmt;

use crate::error::{Error, Result};
use crate::lsh::bucket_pairs;
use crate::minhash::DistinctCounter;
use crate::shingle::{Shingles, for_each_shingle};

/// Everything that decides a fingerprint's bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FingerprintParams {
    pub(crate) shingles: Shingles,
    pub(crate) seed: u64,
}

impl FingerprintParams {
    /// The shingles the fingerprint was computed over.
    pub fn shingles(&self) -> Shingles {
        self.shingles
    }

    /// The hashing seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl fmt::Display for FingerprintParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "64-bit SimHash, {}, seed {:#x}", self.shingles, self.seed)
    }
}

/// The 64-bit SimHash fingerprint of one article.
///
/// Made by [`Clusterer::fingerprint`](crate::Clusterer::fingerprint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Fingerprint {
    params: FingerprintParams,
    bits: u64,
    shingle_count: u32,
}

impl Fingerprint {
    /// The parameters the fingerprint was made with.
    pub fn params(&self) -> &FingerprintParams {
        &self.params
    }

    /// The 64 bits.
    pub fn bits(&self) -> u64 {
        self.bits
    }

    /// The number of distinct shingles of the article (saturating at `u32::MAX`).
    pub fn shingle_count(&self) -> usize {
        self.shingle_count as usize
    }

    /// Whether the article had no shingle at all. An empty fingerprint (all bits zero) is
    /// similar to nothing.
    pub fn is_empty(&self) -> bool {
        self.shingle_count == 0
    }

    /// The number of bits in which the two fingerprints differ, `0..=64`.
    ///
    /// # Errors
    ///
    /// [`Error::IncompatibleFingerprints`] if the fingerprints were made with different
    /// parameters.
    pub fn distance(&self, other: &Fingerprint) -> Result<u32> {
        if self.params != other.params {
            return Err(Error::IncompatibleFingerprints { left: self.params, right: other.params });
        }
        Ok(hamming(self.bits, other.bits))
    }

    /// `1 - distance / 64`: 1 for equal fingerprints, about 0.5 for unrelated articles, 0 for
    /// empty ones.
    ///
    /// # Errors
    ///
    /// [`Error::IncompatibleFingerprints`] if the fingerprints were made with different
    /// parameters.
    pub fn similarity(&self, other: &Fingerprint) -> Result<f64> {
        let d = self.distance(other)?;
        Ok(if self.is_empty() || other.is_empty() { 0.0 } else { 1.0 - f64::from(d) / 64.0 })
    }
}

/// The number of differing bits.
#[inline]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// `LANES[b]` has byte `j` equal to bit `j` of `b`.
const LANES: [u64; 256] = {
    let mut t = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut j = 0;
        while j < 8 {
            if b & (1 << j) != 0 {
                t[b] |= 1 << (8 * j);
            }
            j += 1;
        }
        b += 1;
    }
    t
};

/// Computes fingerprints with fixed parameters.
#[derive(Clone, Debug)]
pub(crate) struct Fingerprinter {
    params: FingerprintParams,
}

/// Per-thread buffers for fingerprinting.
#[derive(Default)]
pub(crate) struct FingerprintScratch {
    text: crate::shingle::ShingleScratch,
    distinct: DistinctCounter,
    aside: Vec<u32>,
    batch: Vec<u64>,
}

/// The votes of the shingles of one article, and their distinct count. Owns its state, so that
/// the shingle loop keeps it in registers.
///
/// Eight u64 accumulators of eight byte lanes each: lane j of accumulator i counts bit 8i + j.
/// They are flushed into `counts` every 255 shingles.
struct Votes {
    lanes: [u64; 8],
    counts: [u32; 64],
    pending: u32,
    total: u64,
    distinct: DistinctCounter,
    /// Buffers for [`DistinctCounter::insert_all`] and for a batch of k-gram hashes.
    aside: Vec<u32>,
    batch: Vec<u64>,
}

impl Votes {
    #[inline(always)]
    fn vote(&mut self, h: u64) {
        self.vote_all(&[h]);
    }

    /// The votes of `hashes`, in runs that end where the lanes must be flushed: no check per
    /// shingle.
    #[inline(always)]
    fn vote_all(&mut self, mut hashes: &[u64]) {
        self.total += hashes.len() as u64;
        while !hashes.is_empty() {
            let run = ((255 - self.pending) as usize).min(hashes.len());
            let mut lanes = self.lanes;
            for &h in &hashes[..run] {
                for (lane, &b) in lanes.iter_mut().zip(h.to_le_bytes().iter()) {
                    *lane += LANES[b as usize];
                }
            }
            self.lanes = lanes;
            self.pending += run as u32;
            hashes = &hashes[run..];
            if self.pending == 255 {
                self.flush();
            }
        }
    }

    fn flush(&mut self) {
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            for (j, c) in self.counts[8 * i..8 * i + 8].iter_mut().enumerate() {
                *c += ((*lane >> (8 * j)) & 0xFF) as u32;
            }
            *lane = 0;
        }
        self.pending = 0;
    }
}

impl crate::shingle::Sink for Votes {
    #[inline(always)]
    fn shingle(&mut self, h: u64) {
        self.distinct.insert(h);
        self.vote(h);
    }

    #[inline(always)]
    fn shingles(&mut self, hashes: &[u64]) {
        self.distinct.insert_all(hashes, &mut self.aside);
        self.vote_all(hashes);
    }

    #[inline(always)]
    fn kgrams<const K: usize>(&mut self, tokens: &[u64]) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        batch.extend(crate::shingle::kgram_hashes::<K>(tokens));
        self.shingles(&batch);
        self.batch = batch;
    }
}

impl FingerprintScratch {
    /// Appends the distinct shingle keys of the article fingerprinted last to `out`, in no
    /// particular order.
    pub(crate) fn keys_into(&self, out: &mut Vec<u32>) {
        self.distinct.keys_into(out);
    }
}

impl Fingerprinter {
    pub(crate) fn new(params: FingerprintParams) -> Fingerprinter {
        Fingerprinter { params }
    }

    pub(crate) fn fingerprint(&self, text: &str, scratch: &mut FingerprintScratch) -> Fingerprint {
        let FingerprintScratch { text: buf, distinct, aside, batch } = scratch;
        distinct.reset(text.len() / 5 + 16);
        let votes = Votes {
            lanes: [0; 8],
            counts: [0; 64],
            pending: 0,
            total: 0,
            distinct: std::mem::take(distinct),
            aside: std::mem::take(aside),
            batch: std::mem::take(batch),
        };
        let mut votes = for_each_shingle(text, self.params.shingles, self.params.seed, buf, votes);
        votes.flush();
        let Votes { counts, total, .. } = votes;
        (*distinct, *aside, *batch) = (votes.distinct, votes.aside, votes.batch);
        // A bit is set when more than half of the shingle occurrences have it set: the sign of
        // the sum of +1/−1 votes.
        let mut bits = 0u64;
        for (i, &c) in counts.iter().enumerate() {
            if 2 * u64::from(c) > total {
                bits |= 1 << i;
            }
        }
        Fingerprint {
            params: self.params,
            bits,
            shingle_count: u32::try_from(distinct.count()).unwrap_or(u32::MAX),
        }
    }
}

/// Permuted tables for a Hamming search within `max_distance` bits.
///
/// The 64 bits are cut into `max_distance + 2` blocks. Two fingerprints within `max_distance`
/// bits differ in at most `max_distance` blocks, so they agree exactly on at least two: one table
/// per pair of blocks, keyed by those two blocks' bits, holds every pair that can be within
/// reach. That makes `C(max_distance + 2, 2)` tables (10 at distance 3) with keys of
/// `2 · 64 / (max_distance + 2)` bits (25 at distance 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HammingTables {
    max_distance: u32,
    masks: Vec<u64>,
}

impl HammingTables {
    /// Tables for a search within `max_distance` bits (at most 62).
    pub fn new(max_distance: u32) -> HammingTables {
        let k = max_distance.min(62);
        let blocks = k as usize + 2;
        let block_mask = |b: usize| -> u64 {
            let start = b * 64 / blocks;
            let end = (b + 1) * 64 / blocks;
            let width = end - start;
            if width == 64 { u64::MAX } else { ((1u64 << width) - 1) << start }
        };
        let mut masks = Vec::new();
        for a in 0..blocks {
            for b in a + 1..blocks {
                masks.push(block_mask(a) | block_mask(b));
            }
        }
        HammingTables { max_distance: k, masks }
    }

    /// The distance searched within.
    pub fn max_distance(&self) -> u32 {
        self.max_distance
    }

    /// The number of tables.
    pub fn tables(&self) -> usize {
        self.masks.len()
    }

    pub(crate) fn masks(&self) -> &[u64] {
        &self.masks
    }
}

/// Pairs `(i, j)`, `i < j`, of non-empty fingerprints within the tables' distance, sorted and
/// without repeats. Buckets larger than `bucket_cap` are paired linearly, as in MinHash LSH.
pub(crate) fn candidate_pairs(
    fingerprints: &[Fingerprint],
    tables: &HammingTables,
    bucket_cap: usize,
) -> Vec<(u32, u32)> {
    let mut pairs = Vec::new();
    let mut keys: Vec<(u64, u32)> = Vec::with_capacity(fingerprints.len());
    for &mask in tables.masks() {
        keys.clear();
        keys.extend(
            fingerprints
                .iter()
                .enumerate()
                .filter(|(_, f)| !f.is_empty())
                .map(|(i, f)| (f.bits & mask, i as u32)),
        );
        keys.sort_unstable();
        for bucket in keys.chunk_by(|a, b| a.0 == b.0) {
            bucket_pairs(bucket, |&(_, i)| i, bucket_cap, &mut pairs);
        }
    }
    pairs.retain(|&(a, b)| {
        hamming(fingerprints[a as usize].bits, fingerprints[b as usize].bits) <= tables.max_distance
    });
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        Fingerprinter::new(FingerprintParams { shingles: Shingles::Words(3), seed: 1 })
            .fingerprint(text, &mut FingerprintScratch::default())
    }

    #[test]
    fn lanes_spread_bits_to_bytes() {
        assert_eq!(LANES[0], 0);
        assert_eq!(LANES[1], 1);
        assert_eq!(LANES[0b1000_0001], 1 | 1 << 56);
        assert_eq!(LANES[255], 0x0101_0101_0101_0101);
    }

    #[test]
    fn one_shingle_gives_its_own_hash() {
        // With a single shingle every vote is unanimous: the fingerprint is the hash itself.
        let h = crate::shingle_hashes("just three words", Shingles::Words(3), 1);
        assert_eq!(h.len(), 1);
        assert_eq!(fp("just three words").bits(), h[0]);
    }

    #[test]
    fn majority_vote_over_many_shingles() {
        // 600 shingles exercise the lane flush (every 255) and the vote.
        let text: String = (0..602).map(|i| format!("w{} ", i % 300)).collect();
        let hashes = crate::shingle_hashes(&text, Shingles::Words(3), 1);
        let mut expected = 0u64;
        for bit in 0..64 {
            let ones = hashes.iter().filter(|h| *h >> bit & 1 == 1).count();
            if 2 * ones > hashes.len() {
                expected |= 1 << bit;
            }
        }
        assert_eq!(fp(&text).bits(), expected);
        assert_eq!(fp(&text).shingle_count(), 300);
    }

    #[test]
    fn distance_laws() {
        let a = fp("the quick brown fox jumps over the lazy dog");
        let b = fp("the quick brown fox jumped over the lazy dog");
        assert_eq!(a.distance(&a), Ok(0));
        assert_eq!(a.distance(&b), b.distance(&a));
        assert_eq!(hamming(0b1011, 0b0110), 3);
        let other = Fingerprinter::new(FingerprintParams { shingles: Shingles::Words(2), seed: 1 })
            .fingerprint("x y", &mut FingerprintScratch::default());
        assert!(matches!(a.distance(&other), Err(Error::IncompatibleFingerprints { .. })));
        let empty = fp("");
        assert!(empty.is_empty());
        assert_eq!(empty.similarity(&empty), Ok(0.0));
    }

    #[test]
    fn tables_follow_the_distance() {
        let t = HammingTables::new(3);
        assert_eq!(t.tables(), 10);
        assert!(t.masks().iter().all(|m| (25..=26).contains(&m.count_ones())));
        let t0 = HammingTables::new(0);
        assert_eq!((t0.tables(), t0.masks()[0]), (1, u64::MAX));
    }
}

#[cfg(test)]
mod oracle {
    use proptest::prelude::*;

    use super::*;

    fn with_bits(bits: u64) -> Fingerprint {
        Fingerprint {
            params: FingerprintParams { shingles: Shingles::Words(3), seed: 0 },
            bits,
            shingle_count: 1,
        }
    }

    proptest! {
        /// The permuted tables find exactly the pairs that comparing every pair finds.
        #[test]
        fn tables_return_exactly_the_pairs_within_distance(
            bases in prop::collection::vec(any::<u64>(), 1..6),
            flips in prop::collection::vec((0usize..6, prop::collection::vec(0u32..64, 0..10)), 0..40),
            k in 0u32..10,
        ) {
            // Fingerprints near a few base values, so that many pairs lie near the distance.
            let mut bits: Vec<u64> = bases.clone();
            for (base, positions) in &flips {
                let mut b = bases[base % bases.len()];
                for p in positions {
                    b ^= 1 << p;
                }
                bits.push(b);
            }
            let fps: Vec<Fingerprint> = bits.iter().map(|&b| with_bits(b)).collect();
            let found = candidate_pairs(&fps, &HammingTables::new(k), usize::MAX);
            let mut expected = Vec::new();
            for i in 0..bits.len() {
                for j in i + 1..bits.len() {
                    if hamming(bits[i], bits[j]) <= k {
                        expected.push((i as u32, j as u32));
                    }
                }
            }
            prop_assert_eq!(found, expected);
        }
    }
}
