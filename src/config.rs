//! Settings: every default in one place, and the builder that checks them.

use crate::cluster::Clusterer;
use crate::error::{Error, Result};
use crate::lsh::Banding;
use crate::minhash::{MAX_SLOTS, Scheme};
use crate::shingle::Shingles;

/// The similarity measure that decides whether two articles are reprints of each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Similarity {
    /// `|A∩B| / |A∪B|` of the shingle sets. Symmetric and strict: a copy truncated to a third of
    /// the article scores about 1/3 against it. The default.
    #[default]
    Jaccard,
    /// `|A∩B| / min(|A|, |B|)`: how much of the shorter article the longer one contains. Finds
    /// heavily truncated reprints, but also scores a short text highly against any long article
    /// that quotes it.
    Containment,
}

impl std::fmt::Display for Similarity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Similarity::Jaccard => f.write_str("Jaccard"),
            Similarity::Containment => f.write_str("containment"),
        }
    }
}

/// The signature family that finds candidate pairs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureKind {
    /// MinHash signatures with LSH banding. The default: it finds reprints at low similarity.
    #[default]
    MinHash,
    /// 64-bit SimHash fingerprints searched within a Hamming distance (see
    /// [`ClustererBuilder::simhash_distance`]): 8 bytes an article, but it finds only close
    /// copies (see the [`simhash`](crate::simhash) module for the trade-off).
    SimHash,
}

/// How verified pairs join articles into groups.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Linkage {
    /// Groups are the connected components of verified pairs: one verified pair joins two
    /// groups. Finds every copy of a story however it was edited, but a chain of pairs can join
    /// articles that are not reprints of each other (A like B, B like C, A unlike C).
    Single,
    /// Verified pairs are taken strongest first, and one joins two groups only when at least
    /// half of the pairs between the groups' first eight members also pass verification. A
    /// reprint must resemble its group, not just one member of it, so chains of templated items
    /// (dividend notices, bond issues) do not grow into giant groups.
    #[default]
    Majority,
}

/// How a candidate pair found by LSH is checked against the threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verification {
    /// Compute the similarity exactly from the two articles' shingle sets (each distinct
    /// shingle as the upper 32 bits of its hash, the keys that also give the shingle count),
    /// kept from signing and sorted for the articles that have a candidate. Pairs whose
    /// signature estimate lies more than four standard errors below the threshold are rejected
    /// without it. The default: near a low threshold, a 256-slot estimate's standard error
    /// (about 0.023 at similarity 0.16) is as wide as the gap between reprints and different
    /// stories on the same event.
    #[default]
    Exact,
    /// Use the signature estimate alone: no shingle set is kept, at the cost of
    /// misjudging pairs whose similarity lies within a few standard errors of the threshold.
    ///
    /// It saves memory, and some time. At the defaults' low threshold, large batches bring
    /// many chance candidates; when they outnumber the articles, the low byte of each slot
    /// rejects most of them before two whole signatures are compared. The `scale` example
    /// measures both: on 100,000 articles, on one thread, this takes under half the working
    /// memory of `Exact` and runs about a tenth faster.
    Estimate,
}

/// The settings of a [`Clusterer`]; see [`ClustererBuilder`] for what each one means.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub(crate) shingles: Shingles,
    pub(crate) scheme: Scheme,
    pub(crate) slots: usize,
    pub(crate) seed: u64,
    pub(crate) threshold: f64,
    pub(crate) similarity: Similarity,
    pub(crate) verification: Verification,
    pub(crate) banding: Option<Banding>,
    pub(crate) bucket_cap: usize,
    pub(crate) signature: SignatureKind,
    pub(crate) simhash_distance: u32,
    pub(crate) linkage: Linkage,
}

/// The largest SimHash search distance: beyond it the permuted tables' keys get so short that
/// the search is no faster than comparing every pair.
pub const MAX_SIMHASH_DISTANCE: u32 = 16;

/// The default seed: the bytes of "reprint" and a zero, so that signatures are reproducible.
pub const DEFAULT_SEED: u64 = 0x7265_7072_696E_7400;

impl Default for Config {
    fn default() -> Self {
        Config {
            shingles: Shingles::Words(3),
            scheme: Scheme::OnePermutation,
            slots: 256,
            seed: DEFAULT_SEED,
            threshold: 0.16,
            similarity: Similarity::Jaccard,
            verification: Verification::Exact,
            banding: None,
            bucket_cap: 100,
            signature: SignatureKind::MinHash,
            simhash_distance: 6,
            linkage: Linkage::Majority,
        }
    }
}

impl Config {
    /// Shingle kind and size.
    pub fn shingles(&self) -> Shingles {
        self.shingles
    }
    /// MinHash scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// Signature slots.
    pub fn slots(&self) -> usize {
        self.slots
    }
    /// Hashing seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Similarity threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    /// Similarity measure.
    pub fn similarity(&self) -> Similarity {
        self.similarity
    }
    /// Verification of candidates.
    pub fn verification(&self) -> Verification {
        self.verification
    }
    /// The LSH banding in use: the one set with [`ClustererBuilder::banding`], or the one
    /// derived from the threshold and the number of slots.
    pub fn banding(&self) -> Banding {
        self.banding.unwrap_or_else(|| auto_banding(self.lsh_threshold(), self.slots))
    }
    /// Cap on LSH bucket size before a bucket is paired linearly instead of all pairs.
    pub fn bucket_cap(&self) -> usize {
        self.bucket_cap
    }
    /// Signature family.
    pub fn signature(&self) -> SignatureKind {
        self.signature
    }
    /// Hamming distance within which SimHash fingerprints are candidates.
    pub fn simhash_distance(&self) -> u32 {
        self.simhash_distance
    }
    /// How verified pairs join groups.
    pub fn linkage(&self) -> Linkage {
        self.linkage
    }

    /// The Jaccard similarity LSH must catch. For containment `c`, two sets whose sizes differ
    /// by a factor of two or less have Jaccard at least `c / (3 - c)`; that is what LSH aims at.
    fn lsh_threshold(&self) -> f64 {
        match self.similarity {
            Similarity::Jaccard => self.threshold,
            Similarity::Containment => self.threshold / (3.0 - self.threshold),
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        self.shingles.validate()?;
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::InvalidThreshold { value: self.threshold });
        }
        if self.slots == 0 || self.slots > MAX_SLOTS {
            return Err(Error::InvalidSlots { slots: self.slots });
        }
        if let Some(b) = self.banding
            && !b.fits(self.slots)
        {
            return Err(Error::InvalidBanding { bands: b.bands, rows: b.rows, slots: self.slots });
        }
        if self.simhash_distance > MAX_SIMHASH_DISTANCE {
            return Err(Error::InvalidDistance {
                distance: self.simhash_distance,
                max: MAX_SIMHASH_DISTANCE,
            });
        }
        if self.bucket_cap < 2 {
            return Err(Error::InvalidBucketCap { cap: self.bucket_cap });
        }
        Ok(())
    }
}

/// The weight of false positives when the banding is derived from the threshold. Candidates
/// are verified, so a false candidate costs one comparison (about a microsecond) while a missed
/// reprint is lost for good: the false-negative area weighs nine times as much.
const FALSE_POSITIVE_WEIGHT: f64 = 0.1;

fn auto_banding(threshold: f64, slots: usize) -> Banding {
    Banding::optimal(threshold, slots, FALSE_POSITIVE_WEIGHT)
}

/// Builds a [`Clusterer`] with chosen settings. Every setting has a default; `build` checks
/// them all at once.
///
/// # Example
///
/// ```
/// use reprint::{Clusterer, Shingles, Similarity};
///
/// let clusterer = Clusterer::builder()
///     .shingles(Shingles::Words(4))
///     .similarity(Similarity::Containment)
///     .threshold(0.3)
///     .build()?;
/// let clusters = clusterer.cluster(&["a b c d e f", "a b c d e f g", "x y z"]);
/// assert_eq!(clusters.groups(), [vec![0, 1], vec![2]]);
/// # Ok::<(), reprint::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClustererBuilder {
    config: Config,
}

impl ClustererBuilder {
    /// A builder with every setting at its default.
    pub fn new() -> ClustererBuilder {
        ClustererBuilder::default()
    }

    /// Checks the settings and builds the clusterer.
    ///
    /// # Errors
    ///
    /// A threshold outside `(0, 1]`, a SimHash distance above [`MAX_SIMHASH_DISTANCE`], a
    /// shingle size of 0 or above
    /// [`MAX_SHINGLE_SIZE`](crate::MAX_SHINGLE_SIZE), slots outside `1..=`[`MAX_SLOTS`], a fixed
    /// banding that does not fit the slots, or a bucket cap below 2.
    pub fn build(&self) -> Result<Clusterer> {
        self.config.validate()?;
        Ok(Clusterer::from_config(self.config.clone()))
    }

    /// How articles are cut into shingles.
    ///
    /// Word 3-grams are the default. On real reprints (page openings with their chrome), word
    /// 3-grams separate reprints from different stories on the same event better than any other
    /// size: 2-grams are shared by unrelated articles on the same subject, while 4- and 5-grams
    /// are broken by the small edits, re-punctuation and machine translation that reprints
    /// undergo (a translated-and-back reprint keeps few 5-grams). Use [`Shingles::Chars`] for
    /// short texts or to match across tokenisation differences.
    pub fn shingles(&mut self, shingles: Shingles) -> &mut Self {
        self.config.shingles = shingles;
        self
    }

    /// The MinHash scheme. The default is [`Scheme::OnePermutation`], one hash per shingle;
    /// [`Scheme::Classic`] gives estimates of the same quality at `slots` times the hashing cost.
    pub fn scheme(&mut self, scheme: Scheme) -> &mut Self {
        self.config.scheme = scheme;
        self
    }

    /// Number of 32-bit slots in a signature. The default is 256.
    ///
    /// More slots give a finer estimate (standard error `sqrt(J(1-J)/slots)`) and let LSH use
    /// more bands, which is what finds reprints at a low threshold: with 2-row bands, a pair at
    /// Jaccard 0.17 becomes a candidate with probability 0.97 at 256 slots but 0.84 at 128.
    /// One-permutation hashing costs almost nothing per extra slot; memory is 4 bytes a slot.
    pub fn slots(&mut self, slots: usize) -> &mut Self {
        self.config.slots = slots;
        self
    }

    /// Seed of every hash. The default is [`DEFAULT_SEED`]; signatures made with different seeds
    /// cannot be compared.
    pub fn seed(&mut self, seed: u64) -> &mut Self {
        self.config.seed = seed;
        self
    }

    /// The similarity at or above which two articles count as reprints of each other. The
    /// default is 0.16 (Jaccard of word 3-gram sets).
    ///
    /// Reprints of news copy share whole sentences but each page adds its own headline,
    /// byline, promos and footer, and some copies are truncated or edited: on real reprints the
    /// weakest same-story pairs score 0.18–0.19, while different stories on the same event
    /// (sharing quotes and background) reach 0.14. 0.16 sits in the middle of that gap. The
    /// textbook 0.5 and above finds almost no real reprint.
    pub fn threshold(&mut self, threshold: f64) -> &mut Self {
        self.config.threshold = threshold;
        self
    }

    /// The similarity measure compared with the threshold. The default is
    /// [`Similarity::Jaccard`], which measured better on real reprints: containment also links
    /// short same-event articles to long ones that quote them.
    pub fn similarity(&mut self, similarity: Similarity) -> &mut Self {
        self.config.similarity = similarity;
        self
    }

    /// The signature family. The default is [`SignatureKind::MinHash`]; with
    /// [`SignatureKind::SimHash`] candidates are the pairs whose fingerprints lie within
    /// [`simhash_distance`](Self::simhash_distance) bits, then verified as configured (with
    /// [`Verification::Estimate`], being within the distance is the test, and a pair's
    /// similarity is `1 - distance / 64`).
    pub fn signature(&mut self, signature: SignatureKind) -> &mut Self {
        self.config.signature = signature;
        self
    }

    /// The Hamming distance within which SimHash fingerprints become candidates. The default is
    /// 6; the maximum is [`MAX_SIMHASH_DISTANCE`].
    ///
    /// The search uses `C(d + 2, 2)` permuted tables (28 at 6) keyed on `128 / (d + 2)` bits (16
    /// at 6): larger distances find more edited copies but cost more tables and larger buckets.
    pub fn simhash_distance(&mut self, distance: u32) -> &mut Self {
        self.config.simhash_distance = distance;
        self
    }

    /// How verified pairs join articles into groups. The default is [`Linkage::Majority`].
    pub fn linkage(&mut self, linkage: Linkage) -> &mut Self {
        self.config.linkage = linkage;
        self
    }

    /// How candidates are verified. The default is [`Verification::Exact`].
    pub fn verification(&mut self, verification: Verification) -> &mut Self {
        self.config.verification = verification;
        self
    }

    /// A fixed LSH banding. By default the banding is derived from the threshold and the number
    /// of slots by minimising the weighted areas of false candidates and of missed pairs under
    /// the S-curve (see [`Banding::optimal`]); at the defaults that is 120 bands of 2 rows.
    /// More rows per band find fewer candidates: faster, but pairs near the threshold are
    /// missed more often.
    pub fn banding(&mut self, banding: Banding) -> &mut Self {
        self.config.banding = Some(banding);
        self
    }

    /// The largest LSH bucket expanded to all its pairs. The default is 100.
    ///
    /// A bucket holds the articles that share one band. When more than this many do (a
    /// boilerplate paragraph, or a story reprinted that many times), each member is compared only
    /// with the bucket's first member and its predecessor, so the work stays linear in the number
    /// of articles. The cost is that a pair meeting only in oversized buckets may be missed;
    /// reprints usually share several bands, so this is rare.
    pub fn bucket_cap(&mut self, cap: usize) -> &mut Self {
        self.config.bucket_cap = cap;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert!(Config::default().validate().is_ok());
        assert_eq!(Config::default().banding(), Banding { bands: 120, rows: 2 });
    }

    #[test]
    fn bad_settings_fail_in_build() {
        assert_eq!(
            Clusterer::builder().threshold(0.0).build().err(),
            Some(Error::InvalidThreshold { value: 0.0 })
        );
        assert!(matches!(
            Clusterer::builder().threshold(f64::NAN).build(),
            Err(Error::InvalidThreshold { .. })
        ));
        assert_eq!(
            Clusterer::builder().slots(0).build().err(),
            Some(Error::InvalidSlots { slots: 0 })
        );
        assert_eq!(
            Clusterer::builder().shingles(Shingles::Words(0)).build().err(),
            Some(Error::ZeroShingleSize)
        );
        assert_eq!(
            Clusterer::builder().slots(64).banding(Banding { bands: 33, rows: 2 }).build().err(),
            Some(Error::InvalidBanding { bands: 33, rows: 2, slots: 64 })
        );
        assert_eq!(
            Clusterer::builder().banding(Banding { bands: 0, rows: 2 }).build().err(),
            Some(Error::InvalidBanding { bands: 0, rows: 2, slots: 256 })
        );
        assert_eq!(
            Clusterer::builder().bucket_cap(1).build().err(),
            Some(Error::InvalidBucketCap { cap: 1 })
        );
    }
}
