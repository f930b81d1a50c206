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
        let mut best = Banding { bands: 1, rows: 1 };
        let mut best_cost = f64::INFINITY;
        for rows in 1..=slots {
            // Beyond 64 rows a band is all but impossible to share below similarity 0.9.
            if rows > 64 {
                break;
            }
            for bands in 1..=slots / rows {
                let b = Banding { bands, rows };
                let fp = integrate(|s| b.probability(s), 0.0, t);
                let fneg = integrate(|s| 1.0 - b.probability(s), t, 1.0);
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
        let mut acc = mix64(band as u64 ^ 0xA076_1D64_78BD_642F);
        for &v in &signature[start..start + self.rows] {
            acc = mix64(acc ^ u64::from(v));
        }
        acc
    }
}

impl std::fmt::Display for Banding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} bands x {} rows", self.bands, self.rows)
    }
}

/// Midpoint rule over 64 steps: the integrands are smooth, and the choice between neighbouring
/// bandings does not need more.
fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const STEPS: usize = 64;
    let h = (b - a) / STEPS as f64;
    (0..STEPS).map(|i| f(a + (i as f64 + 0.5) * h)).sum::<f64>() * h
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
pub(crate) fn candidate_pairs(
    signatures: &[Signature],
    banding: Banding,
    bucket_cap: usize,
) -> Vec<(u32, u32)> {
    debug_assert!(bucket_cap >= 2);
    debug_assert!(u32::try_from(signatures.len()).is_ok());
    let per_band = |band: usize| -> Vec<(u32, u32)> {
        let mut keys: Vec<(u64, u32)> = signatures
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_empty())
            .map(|(i, s)| (banding.key(s.slots(), band), i as u32))
            .collect();
        keys.sort_unstable();
        let mut pairs = Vec::new();
        for bucket in keys.chunk_by(|a, b| a.0 == b.0) {
            bucket_pairs(bucket, bucket_cap, &mut pairs);
        }
        pairs
    };
    #[cfg(feature = "parallel")]
    let mut pairs: Vec<(u32, u32)> = {
        use rayon::prelude::*;
        (0..banding.bands).into_par_iter().flat_map_iter(per_band).collect()
    };
    #[cfg(not(feature = "parallel"))]
    let mut pairs: Vec<(u32, u32)> = (0..banding.bands).flat_map(per_band).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The pairs one bucket contributes; members are in ascending index order.
pub(crate) fn bucket_pairs(bucket: &[(u64, u32)], cap: usize, pairs: &mut Vec<(u32, u32)>) {
    if bucket.len() <= cap {
        for (x, &(_, a)) in bucket.iter().enumerate() {
            for &(_, b) in &bucket[x + 1..] {
                pairs.push((a, b));
            }
        }
    } else {
        let first = bucket[0].1;
        for w in bucket.windows(2) {
            pairs.push((w[0].1, w[1].1));
            if w[0].1 != first {
                pairs.push((first, w[1].1));
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
        bucket_pairs(&bucket, 4, &mut pairs);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]);
        pairs.clear();
        bucket_pairs(&bucket, 3, &mut pairs);
        assert_eq!(pairs, vec![(0, 1), (1, 2), (0, 2), (2, 3), (0, 3)]);
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
