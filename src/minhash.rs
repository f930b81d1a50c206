//! Stage 3: MinHash signatures.
//!
//! A signature summarises an article's shingle set in a fixed number of 32-bit slots such that
//! the share of equal slots between two signatures estimates the Jaccard similarity of the two
//! sets (Broder 1997). Two schemes are offered:
//!
//! - [`Scheme::OnePermutation`] (the default): one-permutation hashing with densification. Each
//!   shingle hash is used once: its high bits pick a slot, its low bits compete for that slot's
//!   minimum. Slots left empty (short articles) are filled by fast densification (Mai et al., UAI
//!   2020), which keeps the estimate's collision probability and, unlike the optimal
//!   densification of Shrivastava (ICML 2017), costs O(slots · log slots) for any article. Cost:
//!   O(shingles + slots · log slots).
//! - [`Scheme::Classic`]: k independent hash functions, the minimum of each over the set. The
//!   textbook reference, O(shingles × slots); kept for comparison and for users who need it.
//!
//! Both estimate Jaccard with standard error `sqrt(J(1-J)/slots)`. With the number of distinct
//! shingles of each article (which a signature carries), they also estimate containment:
//! `|A∩B| = J(|A|+|B|)/(1+J)`, divided by the smaller set's size.

use std::fmt;

use crate::error::{Error, Result};
use crate::shingle::{BATCH, Shingles, for_each_shingle, mix64};

/// The largest number of slots a signature may have.
pub const MAX_SLOTS: usize = 4096;

/// The value of a slot that no shingle fell into. A one-permutation slot takes the least value
/// of its shingles as they are, this one included: a slot whose only shingles have this value
/// (one in 2^32 each) counts as empty and densification fills it, where keeping shingles off
/// this value cost three instructions a shingle.
const EMPTY: u32 = u32::MAX;

/// How MinHash signatures are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Scheme {
    /// One-permutation hashing with fast densification: one hash per shingle, whatever the
    /// number of slots. The default.
    #[default]
    OnePermutation,
    /// Classic k-permutation MinHash: one hash per shingle per slot. Much slower; the reference.
    Classic,
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scheme::OnePermutation => f.write_str("one-permutation"),
            Scheme::Classic => f.write_str("classic"),
        }
    }
}

/// Everything that decides a signature's values. Signatures with different parameters cannot
/// be compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SignatureParams {
    pub(crate) scheme: Scheme,
    pub(crate) shingles: Shingles,
    pub(crate) slots: usize,
    pub(crate) seed: u64,
}

impl SignatureParams {
    /// The MinHash scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The shingles the signature was computed over.
    pub fn shingles(&self) -> Shingles {
        self.shingles
    }

    /// The number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The hashing seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

impl fmt::Display for SignatureParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} MinHash, {} slots, {}, seed {:#x}",
            self.scheme, self.slots, self.shingles, self.seed
        )
    }
}

/// The MinHash signature of one article.
///
/// Made by [`Clusterer::signature`](crate::Clusterer::signature). It carries its parameters and
/// the number of distinct shingles of the article; comparing it with a signature made with other
/// parameters is an error.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Signature {
    params: SignatureParams,
    shingle_count: u32,
    slots: Box<[u32]>,
}

impl Signature {
    /// The parameters the signature was made with.
    pub fn params(&self) -> &SignatureParams {
        &self.params
    }

    /// The slot values.
    pub fn slots(&self) -> &[u32] {
        &self.slots
    }

    /// The number of distinct shingles of the article (saturating at `u32::MAX`).
    pub fn shingle_count(&self) -> usize {
        self.shingle_count as usize
    }

    /// Whether the article had no shingle at all (empty or blank text). An empty signature is
    /// similar to nothing, not even to another empty one.
    pub fn is_empty(&self) -> bool {
        self.shingle_count == 0
    }

    /// Estimated Jaccard similarity of the two articles' shingle sets, in `[0, 1]`.
    ///
    /// # Errors
    ///
    /// [`Error::IncompatibleSignatures`] if the signatures were made with different parameters.
    pub fn jaccard(&self, other: &Signature) -> Result<f64> {
        self.check(other)?;
        Ok(self.jaccard_unchecked(other))
    }

    /// Estimated containment: the share of the smaller shingle set found in the larger one, in
    /// `[0, 1]`. A truncated reprint is contained in the full article even when their Jaccard
    /// similarity is low.
    ///
    /// # Errors
    ///
    /// [`Error::IncompatibleSignatures`] if the signatures were made with different parameters.
    pub fn containment(&self, other: &Signature) -> Result<f64> {
        self.check(other)?;
        Ok(self.containment_unchecked(other))
    }

    fn check(&self, other: &Signature) -> Result<()> {
        if self.params == other.params {
            Ok(())
        } else {
            Err(Error::IncompatibleSignatures { left: self.params, right: other.params })
        }
    }

    pub(crate) fn jaccard_unchecked(&self, other: &Signature) -> f64 {
        debug_assert_eq!(self.params, other.params);
        jaccard_of_slots(&self.slots, self.shingle_count(), &other.slots, other.shingle_count())
    }

    pub(crate) fn containment_unchecked(&self, other: &Signature) -> f64 {
        let j = self.jaccard_unchecked(other);
        containment_from_jaccard(j, self.shingle_count(), other.shingle_count())
    }
}

/// Estimated Jaccard from two signatures' slots and shingle counts: the share of equal slots;
/// an empty article (count 0) is similar to nothing.
pub(crate) fn jaccard_of_slots(a: &[u32], a_count: usize, b: &[u32], b_count: usize) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    if a_count == 0 || b_count == 0 {
        return 0.0;
    }
    let equal = a.iter().zip(b).filter(|(x, y)| x == y).count();
    equal as f64 / a.len() as f64
}

/// Containment `|A∩B| / min(|A|, |B|)` from Jaccard and the set sizes, clamped to `[0, 1]`.
pub(crate) fn containment_from_jaccard(j: f64, a: usize, b: usize) -> f64 {
    let smaller = a.min(b);
    if smaller == 0 {
        return 0.0;
    }
    let intersection = j * (a + b) as f64 / (1.0 + j);
    (intersection / smaller as f64).clamp(0.0, 1.0)
}

/// Computes signatures with fixed parameters; holds the per-slot hash constants.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    params: SignatureParams,
    /// (multiplier, increment) per slot, for the classic scheme only.
    permutations: Vec<(u64, u64)>,
    /// Who offers to whom in the first rounds of densification, for the one-permutation scheme
    /// only: see [`Offers`]. Shared, so that a clone of a clusterer does not copy it.
    offers: std::sync::Arc<Offers>,
}

/// Reusable buffers, one per thread.
#[derive(Default)]
pub(crate) struct Scratch {
    text: crate::shingle::ShingleScratch,
    distinct: DistinctCounter,
    /// The one-permutation sink's slot values and set-aside keys.
    buffers: SinkBuffers,
    densify: DensifyBuffers,
}

/// Buffers of the largest size the one-permutation sink can need, so that its loop indexes
/// them with no bounds check: a slot is below [`MAX_SLOTS`] and a batch holds at most
/// [`BATCH`] shingles. Allocated when first used: a new scratch costs nothing.
#[derive(Default)]
struct SinkBuffers {
    values: Option<Box<[u32; MAX_SLOTS]>>,
    aside: Option<Box<[u32; BATCH]>>,
    fresh: Option<Box<[u32; BATCH]>>,
}

impl SinkBuffers {
    fn get(&mut self) -> (&mut [u32; MAX_SLOTS], &mut [u32; BATCH], &mut [u32; BATCH]) {
        (
            self.values.get_or_insert_with(|| Box::new([EMPTY; MAX_SLOTS])),
            self.aside.get_or_insert_with(|| Box::new([0; BATCH])),
            self.fresh.get_or_insert_with(|| Box::new([0; BATCH])),
        )
    }
}

impl Signer {
    pub(crate) fn new(params: SignatureParams) -> Signer {
        let (permutations, offers) = match params.scheme {
            Scheme::OnePermutation => {
                (Vec::new(), std::sync::Arc::new(Offers::new(params.seed, params.slots)))
            }
            Scheme::Classic => {
                let mut state = params.seed;
                let permutations = (0..params.slots)
                    .map(|_| (splitmix64(&mut state) | 1, splitmix64(&mut state)))
                    .collect();
                (permutations, std::sync::Arc::default())
            }
        };
        Signer { params, permutations, offers }
    }

    pub(crate) fn sign(&self, text: &str, scratch: &mut Scratch) -> Signature {
        self.sign_with::<false>(text, scratch, &mut Vec::new())
    }

    /// Signs `text` and appends its distinct shingle keys (see [`DistinctCounter::key`]) to
    /// `keys`, in no particular order: a batch keeps the keys of many articles in one vector.
    pub(crate) fn sign_listing(
        &self,
        text: &str,
        scratch: &mut Scratch,
        keys: &mut Vec<u32>,
    ) -> Signature {
        let signature = self.sign_with::<true>(text, scratch, keys);
        if self.params.scheme == Scheme::Classic {
            scratch.distinct.keys_into(keys);
        }
        signature
    }

    /// Signs `text`; with `LIST`, the one-permutation sink also appends the distinct keys to
    /// `listed` as it finds them, which costs a store a shingle where reading them out of the
    /// table afterwards costs a look at every cell, four or more a key.
    fn sign_with<const LIST: bool>(
        &self,
        text: &str,
        scratch: &mut Scratch,
        listed: &mut Vec<u32>,
    ) -> Signature {
        let slots = self.params.slots;
        let Scratch { text: buf, distinct, buffers: sink_buffers, densify: buffers } = scratch;
        // About one shingle per 6 bytes of text: a table at most an eighth full, whose first
        // probe nearly always finds the key or an empty cell (a fuller one mispredicts more
        // than clearing the larger table costs).
        distinct.reset(text.len() / 5 + 16);
        let values = match self.params.scheme {
            Scheme::OnePermutation => {
                let (values, aside, fresh) = sink_buffers.get();
                values[..slots].fill(EMPTY);
                let sink = OnePermutationSink::<LIST> {
                    distinct: std::mem::take(distinct),
                    collided: [0; COLLIDED],
                    collided_len: 0,
                    slots: slots as u64,
                    values,
                    aside,
                    fresh,
                    listed: std::mem::take(listed),
                };
                let mut sink =
                    for_each_shingle(text, self.params.shingles, self.params.seed, buf, sink);
                sink.insert_collided();
                *distinct = sink.distinct;
                *listed = sink.listed;
                let mut values = Box::<[u32]>::from(&values[..slots]);
                if distinct.count() > 0 {
                    fill_empty(&mut values, buffers, self.params.seed, &self.offers);
                }
                values
            }
            Scheme::Classic => {
                let mut values = vec![EMPTY; slots].into_boxed_slice();
                let _ = for_each_shingle(text, self.params.shingles, self.params.seed, buf, |h| {
                    if distinct.insert(h) {
                        for (v, &(a, b)) in values.iter_mut().zip(&self.permutations) {
                            let x = ((a.wrapping_mul(h).wrapping_add(b)) >> 32) as u32;
                            *v = (*v).min(x.min(EMPTY - 1));
                        }
                    }
                });
                values
            }
        };
        Signature {
            params: self.params,
            shingle_count: u32::try_from(distinct.count()).unwrap_or(u32::MAX),
            slots: values,
        }
    }
}

/// One-permutation hashing of a stream of shingle hashes, counting the distinct ones. Owns its
/// state or holds it through fixed-size arrays, so that the tokenizer's loop keeps it in
/// registers and indexes it with no bounds check.
struct OnePermutationSink<'a, const LIST: bool> {
    distinct: DistinctCounter,
    /// Keys whose first cell in `distinct` held another key, not yet inserted.
    collided: [u32; COLLIDED],
    collided_len: usize,
    slots: u64,
    /// The slot values, in the first `slots` entries.
    values: &'a mut [u32; MAX_SLOTS],
    /// Keys of a batch whose first cell held another key, not yet inserted.
    aside: &'a mut [u32; BATCH],
    /// With `LIST`: the keys of a batch that were new, in order, before they join `listed`.
    fresh: &'a mut [u32; BATCH],
    /// With `LIST`: the keys in `distinct`, in the order they were inserted, after those of
    /// the articles signed before.
    listed: Vec<u32>,
}

/// How many colliding keys wait before they are inserted.
const COLLIDED: usize = 64;

impl<const LIST: bool> OnePermutationSink<'_, LIST> {
    /// Inserts the keys set aside by [`Self::shingle`] with the probing insert.
    #[inline(never)]
    fn insert_collided(&mut self) {
        for i in 0..self.collided_len {
            self.insert_aside(self.collided[i]);
        }
        self.collided_len = 0;
    }

    /// Inserts a key set aside, with the probing insert.
    #[inline]
    fn insert_aside(&mut self, key: u32) {
        if self.distinct.insert_key(key) && LIST {
            self.listed.push(key);
        }
    }

    /// A batch of shingle hashes, in one loop that keeps its state in registers. Keys whose
    /// first cell in `distinct` holds another key are set aside, as in `shingle`, and inserted
    /// after.
    #[inline(always)]
    fn take(&mut self, hashes: impl ExactSizeIterator<Item = u64>) {
        if hashes.len() > BATCH {
            // Not from the tokenizer, whose batches fit the buffers.
            hashes.for_each(|h| crate::shingle::Sink::shingle(self, h));
            return;
        }
        // Room for the whole batch, so that no key needs to grow the table: at most a quarter
        // full once every key set aside is inserted.
        self.insert_collided();
        while (self.distinct.count + hashes.len()) * 4 >= self.distinct.capacity() {
            self.distinct.grow();
        }
        if self.distinct.mask >= FIXED_CELLS {
            // A very long article: one shingle at a time.
            hashes.for_each(|h| crate::shingle::Sink::shingle(self, h));
            return;
        }
        let distinct = &mut self.distinct;
        let mut count = distinct.count;
        let Some((table, mask)) = distinct.fixed() else {
            debug_assert!(false, "the table is read through an array");
            return;
        };
        let aside = &mut *self.aside;
        let mut collided = 0;
        let first = count;
        let fresh = &mut *self.fresh;
        let slots = self.slots;
        let values = &mut *self.values;
        for h in hashes {
            let key = DistinctCounter::key(h);
            let cell = &mut table[(key as usize & mask) % FIXED_CELLS];
            let (free, fits) = DistinctCounter::first_cell(cell, key);
            if LIST {
                // Kept when the key is new: the next new key goes one place further. Fewer
                // than `BATCH` keys of this batch are new before this one.
                fresh[(count - first) % BATCH] = key;
            }
            count += usize::from(free);
            // Fewer than `BATCH` keys come before this one.
            aside[collided % BATCH] = key;
            collided += usize::from(!fits);
            // As in `shingle`; the slot is below `slots`, and so below `MAX_SLOTS`.
            let slot = (((h >> 32) * slots) >> 32) as usize;
            let value = h as u32;
            let v = &mut values[slot % MAX_SLOTS];
            *v = std::hint::select_unpredictable(value < *v, value, *v);
        }
        distinct.count = count;
        if LIST {
            self.listed.extend_from_slice(&fresh[..count - first]);
        }
        for i in 0..collided {
            self.insert_aside(self.aside[i]);
        }
    }
}

impl<const LIST: bool> crate::shingle::Sink for OnePermutationSink<'_, LIST> {
    #[inline(always)]
    fn shingles(&mut self, hashes: &[u64]) {
        self.take(hashes.iter().copied());
    }

    #[inline(always)]
    fn kgrams<const K: usize>(&mut self, tokens: &[u64]) {
        self.take(crate::shingle::kgram_hashes::<K>(tokens));
    }

    #[inline(always)]
    fn shingle(&mut self, h: u64) {
        // The distinct count with no branch on the table's content: the key goes to its first
        // cell when that cell is empty or holds it already (nearly always: the table is at most
        // a quarter full), and is set aside for a probing insert otherwise. A branch on the cell
        // waited for the whole hash chain and mispredicted on every collision. Keys set aside
        // are inserted before the count is read, so the count is exact.
        let distinct = &mut self.distinct;
        if (distinct.count + self.collided_len) * 4 >= distinct.capacity() {
            self.insert_collided();
            self.distinct.grow_if_full();
        }
        let distinct = &mut self.distinct;
        let key = DistinctCounter::key(h);
        let (free, fits) = match distinct.table.get_mut(key as usize & distinct.mask) {
            Some(cell) => DistinctCounter::first_cell(cell, key),
            None => (false, false),
        };
        distinct.count += usize::from(free);
        if LIST && free {
            self.listed.push(key);
        }
        self.collided[self.collided_len % COLLIDED] = key;
        self.collided_len += usize::from(!fits);
        if self.collided_len == COLLIDED {
            self.insert_collided();
        }
        // High 32 bits choose the slot (multiply-shift range reduction), low 32 bits are the
        // value (see `EMPTY` for the top value).
        let slot = (((h >> 32) * self.slots) >> 32) as usize;
        let value = h as u32;
        // Unconditional store: whether a shingle lowers its slot is a coin toss that a branch
        // would mispredict.
        let v = &mut self.values[slot % MAX_SLOTS];
        *v = (*v).min(value);
    }
}

/// Fills the empty slots of an article that has shingles: by [`densify`] when a shingle filled
/// a slot, else (every shingle had the value [`EMPTY`], one in 2^32 each) with the value below
/// it in every slot.
fn fill_empty(values: &mut [u32], buffers: &mut DensifyBuffers, seed: u64, offers: &Offers) {
    if !values.contains(&EMPTY) {
        return;
    }
    if values.iter().all(|&v| v == EMPTY) {
        values.fill(EMPTY - 1);
    } else {
        densify(values, buffers, seed, offers);
    }
}

/// Fast densification (Mai, Rao, Kapilevich, Rossi, Abbasi-Yadkori, Sinha, UAI 2020): in rounds
/// `t = 1, 2, ...`, every slot that a shingle fell into offers its value to the slot
/// `h(slot, t)`, which takes it if it is still empty.
///
/// Why it keeps the Jaccard estimate: the offers that reach an empty slot `i` form one fixed
/// sequence of source slots (ordered by round, then by source), the same for every article; slot
/// `i` takes the value of the first source in that sequence that the article filled. That is the
/// condition under which densified one-permutation sketches agree in a slot with probability
/// equal to the Jaccard similarity. Why this scheme: it takes O(slots · log slots) hashes
/// whatever the article, where the probing of optimal densification (Shrivastava 2017) takes
/// O(slots² / filled) — 250 times the cost at 4,096 slots for a one-word article.
///
/// How it is computed: the rule above gives each empty slot the value of the first filled
/// source among those that offer to it, so each empty slot looks up that list (precomputed per
/// [`Signer`] for the first rounds, see [`Offers`]) and stops at its first filled source:
/// about `slots / filled` look-ups per empty slot. Playing the rounds forward instead made
/// every filled slot hash and offer in every round until the last empty slot was reached: a
/// dozen rounds of a hundred offers for a 150-shingle news brief at 256 slots, more than its
/// shingles cost. Only slots that no filled source reaches within those rounds go on to rounds
/// played forward.
///
/// Both ways give the same result, so each article takes the cheaper: an article that filled
/// only a few slots (a headline alone) would look through long lists in vain, `slots / filled`
/// entries for each of nearly `slots` empty slots, where playing the rounds forward costs about
/// `slots · ln(empty)` offers whatever the article.
fn densify(values: &mut [u32], buffers: &mut DensifyBuffers, seed: u64, offers: &Offers) {
    let slots = values.len();
    let DensifyBuffers { filled, empty: empty_slots } = buffers;
    filled.clear();
    filled.extend(values.iter().map(|&v| v != EMPTY));
    debug_assert!(filled.contains(&true), "densify needs at least one non-empty slot");
    let sources = filled.iter().filter(|&&f| f).count();
    let empty = slots - sources;
    // An offer hashes; a look-up reads two bytes: about four look-ups to an offer.
    if empty as f64 > 4.0 * sources as f64 * (empty as f64 + 1.0).ln() {
        densify_forward(values, filled, seed, 1, empty);
        return;
    }
    // The empty slots, listed with no branch on each slot: whether a slot was filled is a coin
    // toss for an article that fills about half of them, and a branch mispredicted on every
    // other slot.
    empty_slots.clear();
    empty_slots.resize(slots, 0);
    let mut listed = 0;
    for (i, &f) in filled.iter().enumerate() {
        if let Some(entry) = empty_slots.get_mut(listed) {
            *entry = i as u16;
        }
        listed += usize::from(!f);
    }
    let mut empty = 0;
    for &i in &empty_slots[..listed] {
        let i = usize::from(i);
        // `filled` keeps marking the original sources: a slot filled here is not one.
        match first_filled(offers.to(i), filled) {
            Some(j) => values[i] = values[j],
            None => empty += 1,
        }
    }
    densify_forward(values, filled, seed, offers.rounds + 1, empty);
}

/// Reusable buffers for [`densify`].
#[derive(Default)]
struct DensifyBuffers {
    /// Which slots a shingle filled.
    filled: Vec<bool>,
    /// The slots no shingle filled.
    empty: Vec<u16>,
}

/// Plays the rounds of [`densify`] forward from round `round` until the `empty` slots still
/// empty are filled: each source (a slot marked in `filled`) offers its value to its target,
/// which takes it if it is still empty.
fn densify_forward(
    values: &mut [u32],
    filled: &[bool],
    seed: u64,
    mut round: usize,
    mut empty: usize,
) {
    if empty == 0 {
        return;
    }
    let slots = values.len();
    let sources: Vec<usize> = (0..slots).filter(|&j| filled[j]).collect();
    while empty > 0 {
        for &j in &sources {
            let i = offer(seed, j, round, slots);
            if values[i] == EMPTY {
                values[i] = values[j];
                empty -= 1;
            }
        }
        round += 1;
    }
}

/// The first slot of `list` that is `filled`. Eight at a time, with no branch inside a group:
/// a branch per slot, taken or not by the toss of which slots an article filled, mispredicted
/// once for nearly every empty slot.
#[inline]
fn first_filled(list: &[u16], filled: &[bool]) -> Option<usize> {
    let mut groups = list.chunks_exact(8);
    for group in groups.by_ref() {
        let mut found = 0u32;
        for (k, &j) in group.iter().enumerate() {
            found |= u32::from(filled[usize::from(j)]) << k;
        }
        if found != 0 {
            return Some(usize::from(group[found.trailing_zeros() as usize]));
        }
    }
    groups.remainder().iter().map(|&j| usize::from(j)).find(|&j| filled[j])
}

/// The offers of the first rounds of [`densify`], by receiving slot: for slot `i`, the slots
/// that offer to it, in the order of the offers (by round, then by offering slot). They depend
/// only on the seed and the number of slots, not on the article.
#[derive(Clone, Debug, Default)]
struct Offers {
    /// How many rounds the lists cover.
    rounds: usize,
    /// Where the list of each slot starts in `from`, and where the last one ends.
    starts: Box<[u32]>,
    /// The offering slots, list after list.
    from: Box<[u16]>,
}

impl Offers {
    /// Offers of as many rounds as fit in 2^16 entries (128 KB), up to 256. A slot is missed by
    /// every filled slot for `r` rounds with probability `(1 - 1/slots)^(filled r)`: at 256
    /// slots and 256 rounds, about `e^-filled`, so only articles of a few shingles go past the
    /// lists.
    fn new(seed: u64, slots: usize) -> Offers {
        let rounds = ((1 << 16) / slots).clamp(1, 256);
        let mut counts = vec![0u32; slots + 1];
        let targets: Vec<(usize, u16)> = (1..=rounds)
            .flat_map(|round| {
                // Slots are at most MAX_SLOTS, which fits in a u16.
                (0..slots).map(move |j| (offer(seed, j, round, slots), j as u16))
            })
            .collect();
        for &(i, _) in &targets {
            counts[i + 1] += 1;
        }
        for i in 0..slots {
            counts[i + 1] += counts[i];
        }
        let starts: Box<[u32]> = counts.clone().into_boxed_slice();
        // A stable counting sort by receiving slot keeps each list in the order of the offers.
        let mut from = vec![0u16; targets.len()];
        for &(i, j) in &targets {
            from[counts[i] as usize] = j;
            counts[i] += 1;
        }
        Offers { rounds, starts, from: from.into_boxed_slice() }
    }

    /// The slots that offer to slot `i`, in order.
    fn to(&self, i: usize) -> &[u16] {
        &self.from[self.starts[i] as usize..self.starts[i + 1] as usize]
    }
}

/// The slot that slot `j` offers its value to in round `round` of [`densify`].
fn offer(seed: u64, j: usize, round: usize, slots: usize) -> usize {
    let h = mix64(seed ^ ((j as u64) << 32 | round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    (((h >> 32) * slots as u64) >> 32) as usize
}

/// Counts the distinct shingle hashes of one article: an open-addressing set, reused from
/// article to article, at most a quarter full.
///
/// It stores the upper 32 bits of each hash, not all 64: the table of a 4 KB article then takes
/// 16 KB and stays in the L1 cache, where 64-bit keys spilled to L2 and cost a sixth of the
/// signing time. Two distinct shingles of one article share their upper 32 bits with
/// probability about `n² / 2^33` (6·10⁻⁵ for 700 shingles), and are then counted once.
///
/// The table is a power of two of cells, the first `mask + 1` entries of a vector that is
/// never shorter than [`FIXED_CELLS`]: the batch loops read a table of up to that many cells
/// through an array of that length, where a masked index needs no bounds check. Entries past
/// the table are left over from larger tables and never read.
#[derive(Default)]
pub(crate) struct DistinctCounter {
    table: Vec<u32>,
    mask: usize,
    count: usize,
}

/// The length of the array through which batch loops read the table: tables of up to this many
/// cells (articles of up to about 20 KB, nearly every news article) are read with no bounds
/// check. A new scratch allocates this much (64 KB), below the size where the allocator would
/// map fresh pages for it.
const FIXED_CELLS: usize = 1 << 14;

impl DistinctCounter {
    /// Empties the set, sized for `expected` entries. The size is capped (a 50 MB article would
    /// otherwise reserve several times its size up front); larger sets grow as they fill.
    pub(crate) fn reset(&mut self, expected: usize) {
        const MAX_INITIAL: usize = 1 << 16;
        let capacity = (expected.min(MAX_INITIAL) * 4).next_power_of_two().max(64);
        self.clear(capacity);
    }

    /// Empties the set and makes its table `capacity` cells, a power of two. Only those cells
    /// are cleared; a vector longer than needed (after a larger article) is given back.
    fn clear(&mut self, capacity: usize) {
        let len = capacity.max(FIXED_CELLS);
        if self.table.len() == len {
            self.table[..capacity].fill(0);
        } else {
            self.table = vec![0; len];
        }
        self.mask = capacity - 1;
        self.count = 0;
    }

    /// The number of cells of the table: 0 before the first reset.
    fn capacity(&self) -> usize {
        (self.mask + 1).min(self.table.len())
    }

    /// The table through an array of [`FIXED_CELLS`], and its mask, when it has at most that
    /// many cells.
    #[inline(always)]
    fn fixed(&mut self) -> Option<(&mut [u32; FIXED_CELLS], usize)> {
        let mask = self.mask;
        self.table.first_chunk_mut().filter(|_| mask < FIXED_CELLS).map(|table| (table, mask))
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Inserts `h`; returns whether it was new.
    #[inline]
    pub(crate) fn insert(&mut self, h: u64) -> bool {
        self.insert_key(Self::key(h))
    }

    /// Appends the keys in the set to `out`, in no particular order. Every cell is written to a
    /// small buffer and the position moves on past the full ones: a branch on each cell would
    /// mispredict on most of the full ones.
    pub(crate) fn keys_into(&self, out: &mut Vec<u32>) {
        out.reserve(self.count);
        let mut buffer = [0u32; 64];
        for cells in self.table[..self.capacity()].chunks(64) {
            let mut n = 0;
            for &key in cells {
                buffer[n % 64] = key;
                n += usize::from(key != 0);
            }
            out.extend_from_slice(&buffer[..n]);
        }
    }

    /// The key stored for `h`: its upper 32 bits. Zero marks an empty cell; a key of 0 is
    /// stored as 1.
    #[inline]
    pub(crate) fn key(h: u64) -> u32 {
        ((h >> 32) as u32).max(1)
    }

    /// Puts `key` in `cell`, its first cell, if that cell is empty or holds it, with no branch
    /// on which; returns whether the cell was empty, and whether the key is now there (when
    /// not, the caller inserts it by probing later).
    #[inline(always)]
    fn first_cell(cell: &mut u32, key: u32) -> (bool, bool) {
        let old = *cell;
        let new = std::hint::select_unpredictable(old == 0, key, old);
        *cell = new;
        (old == 0, new == key)
    }

    /// Inserts the keys of a batch of shingle hashes, first cells first, with no branch on the
    /// table's content (see [`OnePermutationSink`]); `aside` is a buffer for the keys whose
    /// first cell holds another key.
    #[inline(always)]
    pub(crate) fn insert_all(&mut self, hashes: &[u64], aside: &mut Vec<u32>) {
        while (self.count + hashes.len()) * 4 >= self.capacity() {
            self.grow();
        }
        if aside.len() < hashes.len() {
            aside.resize(hashes.len(), 0);
        }
        let (mut count, mut collided) = (self.count, 0);
        let Some((table, mask)) = self.fixed() else {
            // A very long article: one key at a time.
            for &h in hashes {
                self.insert(h);
            }
            return;
        };
        for &h in hashes {
            let key = Self::key(h);
            let cell = &mut table[(key as usize & mask) % FIXED_CELLS];
            let (free, fits) = Self::first_cell(cell, key);
            count += usize::from(free);
            if let Some(slot) = aside.get_mut(collided) {
                *slot = key;
            }
            collided += usize::from(!fits);
        }
        self.count = count;
        for &key in &aside[..collided] {
            self.insert_key(key);
        }
    }

    /// Grows the table if it is a quarter full.
    #[inline]
    fn grow_if_full(&mut self) {
        if self.count * 4 >= self.capacity() {
            self.grow();
        }
    }

    #[inline]
    fn insert_key(&mut self, key: u32) -> bool {
        if self.count * 4 >= self.capacity() {
            self.grow();
        }
        let i = (key as usize) & self.mask;
        let cell = self.table[i];
        // The table is at most a quarter full: the first cell nearly always holds the key or
        // nothing. Both cases take one path, with no branch on which of the two it was.
        if (cell == key) | (cell == 0) {
            self.table[i] = key;
            let new = cell == 0;
            self.count += usize::from(new);
            return new;
        }
        self.insert_probing(key, i)
    }

    /// Inserts `key`, whose first cell `i` holds another key.
    #[inline(never)]
    fn insert_probing(&mut self, key: u32, mut i: usize) -> bool {
        loop {
            i = (i + 1) & self.mask;
            let cell = self.table[i];
            if cell == key {
                return false;
            }
            if cell == 0 {
                self.table[i] = key;
                self.count += 1;
                return true;
            }
        }
    }

    #[cold]
    fn grow(&mut self) {
        let old: Vec<u32> =
            self.table[..self.capacity()].iter().copied().filter(|&k| k != 0).collect();
        self.clear((self.capacity() * 2).max(64));
        for key in old {
            self.insert_key(key);
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small generator for per-slot constants.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(scheme: Scheme, shingles: Shingles, slots: usize) -> Signer {
        Signer::new(SignatureParams { scheme, shingles, slots, seed: 42 })
    }

    fn sign(s: &Signer, text: &str) -> Signature {
        s.sign(text, &mut Scratch::default())
    }

    #[test]
    fn distinct_counter_counts_exactly() {
        let mut c = DistinctCounter::default();
        c.reset(1);
        for h in [5, 0, 1, 5, 9, 9, 9] {
            c.insert(h << 32);
        }
        // 0 and 1 share a cell by design; 5 and 9 are distinct.
        assert_eq!(c.count(), 3);
        // Only the upper 32 bits count.
        assert!(!c.insert(5 << 32 | 77));
        c.reset(1);
        for h in 0..10_000u64 {
            c.insert(mix64(h));
        }
        assert_eq!(c.count(), 10_000);
    }

    #[test]
    fn one_permutation_counts_exactly_through_collisions_and_growth() {
        let s = signer(Scheme::OnePermutation, Shingles::Words(1), 64);
        let keys = |text: &str| {
            let hashes = crate::shingle_hashes(text, Shingles::Words(1), 42);
            let keys: std::collections::HashSet<u32> =
                hashes.iter().map(|&h| DistinctCounter::key(h)).collect();
            keys.len()
        };
        // Thousands of distinct words and repeats: first-cell collisions are set aside and
        // inserted in batches.
        let words: String = (0..6000).map(|i| format!("w{i} w{} ", i % 97)).collect();
        assert_eq!(sign(&s, &words).shingle_count(), keys(&words));
        // One token per three bytes: more keys than the table is first sized for, so it grows.
        let cjk: String = (0x4E00u32..0x4E00 + 5000).filter_map(char::from_u32).collect();
        assert_eq!(sign(&s, &cjk).shingle_count(), keys(&cjk));
        assert_eq!(keys(&cjk), 5000);
    }

    #[test]
    fn tables_larger_than_the_fixed_view_count_exactly() {
        let s = signer(Scheme::OnePermutation, Shingles::Words(1), 64);
        let keys = |text: &str| {
            let hashes = crate::shingle_hashes(text, Shingles::Words(1), 42);
            hashes
                .iter()
                .map(|&h| DistinctCounter::key(h))
                .collect::<std::collections::HashSet<_>>()
        };
        // 140 KB: the table starts past FIXED_CELLS.
        let long: String = (0..20_000).map(|i| format!("w{i} ")).collect();
        // 18 KB of one-character tokens: the table starts at FIXED_CELLS and grows past it.
        let cjk: String = (0x4E00u32..0x4E00 + 6_000).filter_map(char::from_u32).collect();
        let texts = ["a b c".to_string(), long, "a b c".into(), cjk, "d e".into()];
        let mut scratch = Scratch::default();
        for text in &texts {
            let signature = s.sign(text, &mut scratch);
            assert_eq!(signature.shingle_count(), keys(text).len());
            // A scratch that signed larger articles before gives the same signature.
            assert_eq!(signature, sign(&s, text));
            let mut listed = Vec::new();
            let listing = s.sign_listing(text, &mut scratch, &mut listed);
            assert_eq!(listing, signature);
            assert_eq!(
                listed.iter().copied().collect::<std::collections::HashSet<_>>(),
                keys(text)
            );
        }
    }

    /// The slot values and distinct count of a 64-slot sink fed by `feed`.
    fn sink_result(feed: impl FnOnce(&mut OnePermutationSink<'_, false>)) -> (Vec<u32>, usize) {
        let mut buffers = SinkBuffers::default();
        let (values, aside, fresh) = buffers.get();
        values[..64].fill(EMPTY);
        let mut distinct = DistinctCounter::default();
        distinct.reset(16);
        let mut sink = OnePermutationSink::<false> {
            distinct,
            collided: [0; COLLIDED],
            collided_len: 0,
            slots: 64,
            values,
            aside,
            fresh,
            listed: Vec::new(),
        };
        feed(&mut sink);
        sink.insert_collided();
        (sink.values[..64].to_vec(), sink.distinct.count())
    }

    #[test]
    fn sink_takes_batches_of_any_length_alike() {
        use crate::shingle::Sink;
        // 2,000 distinct hashes, each three times, in batches shorter and longer than BATCH.
        let hashes: Vec<u64> = (0..3 * 2000).map(|i| mix64(i % 2000)).collect();
        let one_by_one = sink_result(|s| hashes.iter().for_each(|&h| s.shingle(h)));
        assert_eq!(one_by_one.1, 2000);
        assert_eq!(sink_result(|s| s.shingles(&hashes)), one_by_one);
        assert_eq!(sink_result(|s| hashes.chunks(BATCH).for_each(|c| s.shingles(c))), one_by_one);
        assert_eq!(sink_result(|s| hashes.chunks(300).for_each(|c| s.shingles(c))), one_by_one);
    }

    #[test]
    fn slots_left_empty_by_shingles_of_the_top_value_are_filled() {
        let offers = Offers::new(7, 64);
        let mut buffers = DensifyBuffers::default();
        let mut values = vec![EMPTY; 64];
        fill_empty(&mut values, &mut buffers, 7, &offers);
        assert!(values.iter().all(|&v| v == EMPTY - 1));
        values.fill(EMPTY);
        values[5] = 9;
        fill_empty(&mut values, &mut buffers, 7, &offers);
        assert!(values.iter().all(|&v| v == 9));
    }

    #[test]
    fn a_shingle_of_the_top_value_leaves_its_slot_as_it_was() {
        use crate::shingle::Sink;
        // Slot 0 (upper bits 0 at 64 slots) gets only the top value; slot 63 gets it and 7.
        let (top, low) = (u64::from(EMPTY), 0xFFFF_FFFF_0000_0000);
        let expected = |values: &[u32]| {
            values[0] == EMPTY && values[63] == 7 && values[1..63].iter().all(|&v| v == EMPTY)
        };
        for batch in [false, true] {
            let feed = [top, low | top, low | 7];
            let (values, count) = sink_result(|s| {
                if batch { s.shingles(&feed) } else { feed.iter().for_each(|&h| s.shingle(h)) }
            });
            assert!(expected(&values), "batch {batch}: {values:?}");
            assert_eq!(count, 2, "batch {batch}");
        }
    }

    #[test]
    fn listed_keys_are_the_distinct_shingle_keys() {
        let words: String = (0..6000).map(|i| format!("w{i} w{} ", i % 97)).collect();
        let cjk: String = (0x4E00u32..0x4E00 + 5000).filter_map(char::from_u32).collect();
        let texts = [String::new(), "one".into(), "a b".into(), "a b a b c".into(), words, cjk];
        for shingles in [Shingles::Words(1), Shingles::Words(3), Shingles::Chars(4)] {
            for scheme in [Scheme::OnePermutation, Scheme::Classic] {
                let s = signer(scheme, shingles, 64);
                let mut scratch = Scratch::default();
                // One vector for every article: each appends its keys after the others'.
                let mut listed = Vec::new();
                for text in &texts {
                    let before = listed.clone();
                    let signature = s.sign_listing(text, &mut scratch, &mut listed);
                    let expected: std::collections::BTreeSet<u32> =
                        crate::shingle_hashes(text, shingles, 42)
                            .iter()
                            .map(|&h| DistinctCounter::key(h))
                            .collect();
                    assert_eq!(listed[..before.len()], before);
                    let mut own = listed[before.len()..].to_vec();
                    own.sort_unstable();
                    assert_eq!(own, expected.into_iter().collect::<Vec<_>>());
                    assert_eq!(own.len(), signature.shingle_count());
                    // The same signature as without the list.
                    assert_eq!(signature.slots(), s.sign(text, &mut scratch).slots());
                }
            }
        }
    }

    #[test]
    fn identical_texts_give_identical_signatures() {
        for scheme in [Scheme::OnePermutation, Scheme::Classic] {
            let s = signer(scheme, Shingles::Words(2), 64);
            let a = sign(&s, "the cat sat on the mat");
            let b = sign(&s, "The  cat sat on the MAT");
            assert_eq!(a, b);
            assert_eq!(a.jaccard(&b), Ok(1.0));
            assert_eq!(a.shingle_count(), 5);
        }
    }

    #[test]
    fn repeated_shingles_count_once() {
        let s = signer(Scheme::OnePermutation, Shingles::Words(1), 16);
        assert_eq!(sign(&s, "a b a b a").shingle_count(), 2);
    }

    /// Densification as its rule states it: rounds played forward, every source offering to
    /// its target, the first offer to an empty slot taken.
    fn densify_by_rounds(values: &mut [u32], seed: u64) {
        let slots = values.len();
        let sources: Vec<usize> = (0..slots).filter(|&j| values[j] != EMPTY).collect();
        let mut round = 1;
        while values.contains(&EMPTY) {
            for &j in &sources {
                let i = offer(seed, j, round, slots);
                if values[i] == EMPTY {
                    values[i] = values[j];
                }
            }
            round += 1;
        }
    }

    proptest::proptest! {
        #[test]
        fn densify_matches_the_rounds_played_forward(
            slots in 1usize..600,
            filled in proptest::collection::vec(proptest::prelude::any::<u32>(), 1..40),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let mut values = vec![EMPTY; slots];
            for (k, v) in filled.iter().enumerate() {
                values[(*v as usize) % slots] = k as u32;
            }
            let mut expected = values.clone();
            densify_by_rounds(&mut expected, seed);
            densify(&mut values, &mut DensifyBuffers::default(), seed, &Offers::new(seed, slots));
            proptest::prop_assert_eq!(values, expected);
        }
    }

    #[test]
    fn densify_both_ways_at_many_slots() {
        let seed = 9;
        let offers = Offers::new(seed, MAX_SLOTS);
        // 4,096 slots list 16 rounds. One filled slot: the rounds are played forward from the
        // first.
        let mut values = vec![EMPTY; MAX_SLOTS];
        values[17] = 5;
        let mut expected = values.clone();
        densify_by_rounds(&mut expected, seed);
        densify(&mut values, &mut DensifyBuffers::default(), seed, &offers);
        assert_eq!(values, expected);
        assert!(values.iter().all(|&v| v == 5));
        // 200 filled slots: looked up, but in 16 rounds about half the empty slots get no
        // offer from a filled one, and go on to the rounds played forward.
        let mut values = vec![EMPTY; MAX_SLOTS];
        for (k, i) in (0..MAX_SLOTS).step_by(20).take(200).enumerate() {
            values[i] = k as u32;
        }
        let sources = 200.0_f64;
        let empty = (MAX_SLOTS - 200) as f64;
        assert!(empty <= 4.0 * sources * (empty + 1.0).ln(), "the look-up is chosen");
        let unreached = (0..MAX_SLOTS)
            .filter(|&i| values[i] == EMPTY)
            .filter(|&i| offers.to(i).iter().all(|&j| values[usize::from(j)] == EMPTY))
            .count();
        assert!(unreached > 100, "{unreached} slots go past the listed rounds");
        let mut expected = values.clone();
        densify_by_rounds(&mut expected, seed);
        densify(&mut values, &mut DensifyBuffers::default(), seed, &offers);
        assert_eq!(values, expected);
    }

    #[test]
    fn densified_signature_has_no_empty_slot() {
        let s = signer(Scheme::OnePermutation, Shingles::Words(1), 128);
        let sig = sign(&s, "just three words");
        assert_eq!(sig.shingle_count(), 3);
        assert!(!sig.slots().contains(&EMPTY));
        // Three shingles give at most three distinct slot values.
        let mut distinct: Vec<u32> = sig.slots().to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() <= 3);
    }

    #[test]
    fn empty_text_is_similar_to_nothing() {
        let s = signer(Scheme::OnePermutation, Shingles::Words(3), 32);
        let e = sign(&s, " \n ");
        assert!(e.is_empty());
        assert_eq!(e.jaccard(&e), Ok(0.0));
        assert_eq!(e.containment(&sign(&s, "a b c")), Ok(0.0));
    }

    #[test]
    fn different_params_do_not_compare() {
        let a = sign(&signer(Scheme::OnePermutation, Shingles::Words(3), 32), "a b c");
        let b = sign(&signer(Scheme::Classic, Shingles::Words(3), 32), "a b c");
        assert_eq!(
            a.jaccard(&b),
            Err(Error::IncompatibleSignatures { left: *a.params(), right: *b.params() })
        );
    }

    #[test]
    fn containment_from_known_sets() {
        // |A| = 10, |B| = 30, A ⊂ B: J = 1/3, containment 1.
        assert!((containment_from_jaccard(1.0 / 3.0, 10, 30) - 1.0).abs() < 1e-12);
        // |A| = |B| = 4 sharing 2: J = 2/6, containment 1/2.
        assert!((containment_from_jaccard(2.0 / 6.0, 4, 4) - 0.5).abs() < 1e-12);
        assert_eq!(containment_from_jaccard(0.5, 0, 4), 0.0);
    }

    #[test]
    fn estimate_is_close_for_a_known_overlap() {
        // Two sets of 1,000 unigrams sharing 500: J = 500 / 1500 = 1/3.
        let a: String = (0..1000).map(|i| format!("w{i} ")).collect();
        let b: String = (500..1500).map(|i| format!("w{i} ")).collect();
        for scheme in [Scheme::OnePermutation, Scheme::Classic] {
            let s = signer(scheme, Shingles::Words(1), 1024);
            let j = sign(&s, &a).jaccard(&sign(&s, &b)).unwrap();
            // 4 standard errors: sqrt(J(1-J)/1024) = 0.0147.
            assert!((j - 1.0 / 3.0).abs() < 0.06, "{scheme}: {j}");
        }
    }
}
