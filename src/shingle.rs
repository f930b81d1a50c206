//! Stage 2: shingles, hashed.
//!
//! A shingle is a run of `k` consecutive tokens (word shingles) or characters (character
//! shingles) of the normalised text. Shingles are never materialised: each token is hashed once
//! (one folded multiply for tokens of up to 16 bytes, xxh3 for longer ones), and a word k-gram's
//! hash combines the k token hashes (a polynomial in one odd constant, rolled from one k-gram to
//! the next for k up to 5, summed anew for larger k, then one folded 64x64 → 128-bit multiply).
//! This costs a few multiplications per token (k + 1 past k = 5) instead of hashing every
//! k-token span again, and it allocates nothing per token or shingle.
//!
//! Tokens are found on the raw text, not on a normalised copy. Normalisation only changes what
//! lies between two ASCII separators (white space and control bytes): NFKC never composes
//! across them, and every other step maps characters one by one. So each run of bytes between
//! separators is tokenised on its own: an all-ASCII run (nearly every run of English news) only
//! needs lower case and its punctuation trimmed, and only a run holding a non-ASCII byte goes
//! through [`normalize_into`]. Runs are found 64 bytes at a time from a bit mask of separator
//! bytes, which spares a mispredicted branch at the end of every token.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::{Error, Result};
use crate::normalize::{first_non_ascii, is_unspaced_script, normalize_into, separator_mask};

/// The largest shingle size accepted, in tokens or characters.
pub const MAX_SHINGLE_SIZE: usize = 16;

/// How an article is cut into shingles.
///
/// The default is `Words(3)`: see [`ClustererBuilder::shingles`](crate::ClustererBuilder::shingles)
/// for why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub enum Shingles {
    /// Overlapping runs of `k` tokens. Tokens are runs of non-space characters of the normalised
    /// text with the punctuation and symbols at their ends trimmed (tokens that are only
    /// punctuation are dropped); each character of a script written without spaces (Chinese,
    /// Japanese, Thai, ...) is a token of its own.
    Words(usize),
    /// Overlapping runs of `k` characters of the normalised text, spaces included.
    Chars(usize),
}

impl Default for Shingles {
    fn default() -> Self {
        Shingles::Words(3)
    }
}

impl Shingles {
    /// The shingle size `k`.
    pub fn size(&self) -> usize {
        match *self {
            Shingles::Words(k) | Shingles::Chars(k) => k,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let size = self.size();
        if size == 0 {
            return Err(Error::ZeroShingleSize);
        }
        if size > MAX_SHINGLE_SIZE {
            return Err(Error::ShingleSizeTooLarge { size, max: MAX_SHINGLE_SIZE });
        }
        Ok(())
    }
}

impl std::fmt::Display for Shingles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Shingles::Words(k) => write!(f, "word {k}-grams"),
            Shingles::Chars(k) => write!(f, "char {k}-grams"),
        }
    }
}

/// Returns the hashes of the shingles of `text`, in order of appearance, repeats included.
///
/// Text with at least one token but fewer than `k` gives a single shingle made of all its
/// tokens, so that a very short article still matches its exact copies. Text with no token
/// (empty, white space, invisible characters only) gives no shingle.
///
/// # Example
///
/// ```
/// use reprint::{Shingles, shingle_hashes};
///
/// let a = shingle_hashes("a b c d", Shingles::Words(2), 0);
/// assert_eq!(a.len(), 3); // "a b", "b c", "c d"
/// // Normalisation makes case and spacing irrelevant.
/// assert_eq!(a, shingle_hashes("A  b\nC d", Shingles::Words(2), 0));
/// ```
pub fn shingle_hashes(text: &str, shingles: Shingles, seed: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut scratch = ShingleScratch::default();
    let _ = for_each_shingle(text, shingles, seed, &mut scratch, |h| out.push(h));
    out
}

/// What receives the shingle hashes of a text: any `FnMut(u64)`, or a type of its own.
pub(crate) trait Sink {
    fn shingle(&mut self, h: u64);

    /// Takes a batch of shingle hashes, in order. A sink of its own type overrides this to run
    /// a few tight loops over the batch instead of one long loop body per shingle.
    #[inline(always)]
    fn shingles(&mut self, hashes: &[u64]) {
        for &h in hashes {
            self.shingle(h);
        }
    }

    /// Takes the hashes of the `K`-grams of a batch of token hashes: [`combine`] of each window
    /// of `K` of them, in order, as [`kgram_hashes`] gives them.
    #[inline(always)]
    fn kgrams<const K: usize>(&mut self, tokens: &[u64]) {
        for h in kgram_hashes::<K>(tokens) {
            self.shingle(h);
        }
    }
}

impl<F: FnMut(u64)> Sink for F {
    #[inline(always)]
    fn shingle(&mut self, h: u64) {
        self(h)
    }
}

/// Reusable buffers for [`for_each_shingle`], one per thread.
#[derive(Default)]
pub(crate) struct ShingleScratch {
    /// The text normalised, for character shingles.
    text: String,
    /// The text lower-cased (ASCII only) and padded, for word shingles.
    lower: Vec<u8>,
    /// Token hashes of the current batch, after the last `k - 1` of the one before.
    tokens: Vec<u64>,
    /// Shingle hashes of the current batch.
    kgrams: Vec<u64>,
    /// The normalised form of the last run that held a non-ASCII character.
    normalised: String,
}

/// Gives `sink` the hash of every shingle of `text`, using `scratch` for buffers, and hands
/// `sink` back.
///
/// Word shingles are made a batch at a time: the token hashes of a batch first, then their
/// k-gram hashes, then the sink takes the batch. Each stage is a short loop whose iterations
/// overlap in the processor, where one loop doing everything per token held more state than
/// there are registers and waited on every mispredicted branch of the tokenizer.
///
/// `shingles` must have passed [`Shingles::validate`].
#[inline(always)]
pub(crate) fn for_each_shingle<S: Sink>(
    text: &str,
    shingles: Shingles,
    seed: u64,
    scratch: &mut ShingleScratch,
    mut sink: S,
) -> S {
    debug_assert!(shingles.validate().is_ok());
    match shingles {
        Shingles::Words(k) => word_shingles(text, k, seed, scratch, sink),
        Shingles::Chars(k) => {
            let buf = &mut scratch.text;
            normalize_into(text, buf);
            join_unspaced(buf);
            char_shingles(buf, k, seed, |h| sink.shingle(h));
            sink
        }
    }
}

/// The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.
#[inline]
pub(crate) fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// The multiplier of the k-gram finaliser.
const FOLD_MULTIPLIER: u64 = 0x2D35_8DCC_AA6C_78A5;

/// The odd constant `M` of the k-gram polynomial: the token hashes `t₁ … t_k` of a k-gram sum to
/// `t₁·M^(k-1) + t₂·M^(k-2) + … + t_k` (wrapping), which depends on their order.
const KGRAM_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// The k-gram polynomial of `window`, by Horner's rule.
#[inline(always)]
fn polynomial(window: &[u64]) -> u64 {
    window.iter().fold(0u64, |acc, &t| acc.wrapping_mul(KGRAM_MULTIPLIER).wrapping_add(t))
}

/// `KGRAM_MULTIPLIER` to the power `k`, wrapping.
const fn kgram_power(k: usize) -> u64 {
    let mut power = 1u64;
    let mut i = 0;
    while i < k {
        power = power.wrapping_mul(KGRAM_MULTIPLIER);
        i += 1;
    }
    power
}

/// A k-gram polynomial folded by one 64x64 → 128-bit multiply (the high half XOR the low half,
/// as wyhash and aHash finish).
///
/// Why the fold and not [`mix64`]: it is one multiply deep where `mix64` is two multiplies and
/// three shift-XORs deep, and this chain sits between every token and the distinct-count probe
/// and slot update that depend on it. Every output bit still depends on every input bit: the
/// high half of the product depends on all 64 bits of the sum, and is XORed into every bit of
/// the low half, so a signature's slot (high bits) and value (low bits) both see the whole sum.
#[inline(always)]
fn fold(sum: u64) -> u64 {
    let product = u128::from(sum) * u128::from(FOLD_MULTIPLIER);
    (product as u64) ^ ((product >> 64) as u64)
}

/// A k-gram's hash from its token hashes: their polynomial (see [`KGRAM_MULTIPLIER`]), folded.
#[inline(always)]
pub(crate) fn combine(window: &[u64]) -> u64 {
    fold(polynomial(window))
}

/// The hashes of the `K`-grams of `tokens`, in order: [`combine`] of each window of `K`, rolled
/// from one window to the next (times `M`, plus the token that enters, minus the one that leaves
/// times `M^K`). Two multiplies a k-gram whatever `K`, where summing each window anew takes
/// `K`: at word 5-grams the shingle loop ran 59 instructions a token that way, 51 rolled.
#[inline(always)]
pub(crate) fn kgram_hashes<const K: usize>(
    tokens: &[u64],
) -> impl ExactSizeIterator<Item = u64> + '_ {
    // The first `K - 1` tokens summed, and each step adds one: no term leaves at the first.
    let mut sum = polynomial(tokens.get(..K - 1).unwrap_or_default());
    let mut leaving = 0u64;
    let entering = tokens.get(K - 1..).unwrap_or_default();
    entering.iter().zip(tokens).map(move |(&new, &first)| {
        sum = sum.wrapping_mul(KGRAM_MULTIPLIER).wrapping_add(new).wrapping_sub(leaving);
        // The window's first token leaves at the next step, by then times `M^K`.
        leaving = first.wrapping_mul(const { kgram_power(K) });
        fold(sum)
    })
}

#[inline(always)]
fn word_shingles<S: Sink>(
    text: &str,
    k: usize,
    seed: u64,
    scratch: &mut ShingleScratch,
    emit: S,
) -> S {
    // Common sizes get a window of constant length and rolled k-gram sums; larger sizes sum
    // each window anew.
    match k {
        1 => word_kgrams::<1, S>(text, k, seed, scratch, emit),
        2 => word_kgrams::<2, S>(text, k, seed, scratch, emit),
        3 => word_kgrams::<3, S>(text, k, seed, scratch, emit),
        4 => word_kgrams::<4, S>(text, k, seed, scratch, emit),
        5 => word_kgrams::<5, S>(text, k, seed, scratch, emit),
        _ => word_kgrams::<MAX_SHINGLE_SIZE, S>(text, k, seed, scratch, emit),
    }
}

/// Word k-grams with a window of `K` token hashes; `k` is used only when `K` is
/// [`MAX_SHINGLE_SIZE`], the size for every `k` without a constant of its own.
#[inline(always)]
fn word_kgrams<const K: usize, S: Sink>(
    text: &str,
    k: usize,
    seed: u64,
    scratch: &mut ShingleScratch,
    mut emit: S,
) -> S {
    let k = if K < MAX_SHINGLE_SIZE { K } else { k };
    debug_assert!((1..=K).contains(&k));
    let keys = TokenKeys::new(seed);
    let ShingleScratch { lower, tokens, kgrams, normalised, .. } = scratch;
    let mut stream = TokenStream::new(text, lower, normalised);
    tokens.resize(BATCH + MAX_SHINGLE_SIZE, 0);
    // Token hashes carried over from the batch before (its last k - 1), and all tokens so far.
    let mut held = 0;
    let mut total = 0usize;
    // `tokens` holds a batch after the `k - 1` held, so the chunk is always there.
    while let Some(batch) = tokens[held..].first_chunk_mut::<BATCH>() {
        let n = stream.fill(batch, |bytes, start, len| keys.hash(bytes, start, len));
        total += n;
        let have = held + n;
        if have >= k {
            if K < MAX_SHINGLE_SIZE {
                emit.kgrams::<K>(&tokens[..have]);
            } else {
                kgrams.clear();
                kgrams.extend(tokens[..have].windows(k).map(combine));
                emit.shingles(kgrams);
            }
            tokens.copy_within(have + 1 - k..have, 0);
            held = k - 1;
        } else {
            held = have;
        }
        if stream.finished() {
            break;
        }
    }
    // Fewer tokens than k: one shingle of them all.
    if (1..k).contains(&total) {
        emit.shingle(combine(&tokens[..total]));
    }
    emit
}

/// The masks that keep the first `len` bytes of a 16-byte little-endian read, as (low, high)
/// halves: a table look-up instead of shifts by a variable amount.
const TOKEN_MASKS: [(u64, u64); 17] = {
    let mut masks = [(0u64, 0u64); 17];
    let mut len = 1;
    while len <= 16 {
        let low = if len >= 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 };
        let high = if len >= 16 {
            u64::MAX
        } else if len > 8 {
            (1u64 << (8 * (len - 8))) - 1
        } else {
            0
        };
        masks[len] = (low, high);
        len += 1;
    }
    masks
};

/// Hashes one token to 64 bits. Tokens of up to 16 bytes (nearly all words) are read as one
/// 128-bit integer and folded by a 64x64 → 128-bit multiply (the core of wyhash): no branch on
/// the length, where xxh3 has one per length class that mispredicts from word to word. Longer
/// tokens go to xxh3.
struct TokenKeys {
    seed: u64,
    low: u64,
    high: u64,
}

impl TokenKeys {
    fn new(seed: u64) -> TokenKeys {
        let mut state = seed;
        let low = crate::minhash::splitmix64(&mut state);
        let high = crate::minhash::splitmix64(&mut state);
        TokenKeys { seed, low, high }
    }

    /// Out of line, so that the short path inlines into the tokenizer's loop.
    #[cold]
    #[inline(never)]
    fn hash_long(&self, token: &[u8]) -> u64 {
        xxh3_64_with_seed(token, self.seed)
    }

    /// The hash of the token `bytes[start..start + len]`. When `bytes` holds 16 bytes from
    /// `start`, they are read at once (the bytes beyond the token are masked off), which spares
    /// a copy.
    #[inline]
    pub(crate) fn hash(&self, bytes: &[u8], start: usize, len: usize) -> u64 {
        debug_assert!(len > 0 && start + len <= bytes.len());
        if len > 16 {
            return self.hash_long(&bytes[start..start + len]);
        }
        let bytes: [u8; 16] = match bytes.get(start..start + 16) {
            Some(head) => head.try_into().unwrap_or([0; 16]),
            None => {
                let mut padded = [0u8; 16];
                padded[..len].copy_from_slice(&bytes[start..start + len]);
                padded
            }
        };
        let (low_mask, high_mask) = TOKEN_MASKS[len];
        let value = u128::from_le_bytes(bytes);
        let a = (value as u64 & low_mask) ^ self.low;
        let b = ((value >> 64) as u64 & high_mask) ^ self.high ^ len as u64;
        let product = u128::from(a) * u128::from(b);
        // No finaliser here: k-gram hashes are folded by `combine`.
        (product as u64) ^ ((product >> 64) as u64) ^ a.rotate_left(32)
    }
}

/// The tokens of a text, found a batch at a time: the whitespace-separated runs of
/// [`normalize`](crate::normalize)`(text)`, trimmed of non-alphanumeric characters at both
/// ends, those left empty dropped.
///
/// Runs are found on a lower-cased copy of the raw text (see the module's documentation), a
/// 64-byte block at a time: the block's mask of separator bytes gives a mask of run starts and
/// one of run ends, and the runs are taken in order, a bit of each mask at a time. The run that
/// crosses into the next block is the one left with no end in its block: it ends at the next
/// block's first separator, taken with no branch on whether it crosses.
///
/// Each block is read through a window of fixed length ([`WINDOW`] bytes), so that reading a
/// token's bytes needs no bounds check, and a block is only started when the batch has room for
/// every run that can start in it, so that writing a token's hash needs none either.
pub(crate) struct TokenStream<'a> {
    text: &'a str,
    /// `text` lower-cased, then [`PADDING`].
    padded: &'a [u8],
    /// Position of the first non-ASCII byte at or after the current run (most texts have none
    /// or few, so most runs are known to be ASCII without looking at their bytes).
    non_ascii: usize,
    /// Offset of the current block, the next block's separator mask, and the starts and ends of
    /// the runs of the current block not yet taken (a run ends at the separator that follows
    /// it; the ends of runs that started in an earlier block are left out).
    base: usize,
    next_separators: u64,
    starts: u64,
    ends: u64,
    /// 1 if the last byte of the current block is not a separator.
    carry: u64,
    /// The normalised form of the last run holding a non-ASCII character, and how far its
    /// tokens were taken.
    normalised: &'a mut String,
    taken: usize,
    /// Whether the last block has been taken.
    blocks_done: bool,
}

/// How many token hashes [`TokenStream::fill`] writes at most.
pub(crate) const BATCH: usize = 1024;

/// The bytes seen from a block: the block, the next one (where a run that starts in the block
/// may end), and 16 more (so that 16 bytes can be read from any token start in the two).
const WINDOW: usize = 144;

/// The most runs that can start in one block: every other byte.
const MAX_RUNS_PER_BLOCK: usize = 32;

/// NUL bytes after the text, which are separators: a whole window can be read from any block
/// of the text, and 16 bytes from any token's start.
const PADDING: [u8; WINDOW] = [0; WINDOW];

impl<'a> TokenStream<'a> {
    pub(crate) fn new(
        text: &'a str,
        lower: &'a mut Vec<u8>,
        normalised: &'a mut String,
    ) -> TokenStream<'a> {
        // Lower-casing ASCII in place leaves every other byte, and so every separator, where it
        // was.
        lower.clear();
        lower.reserve(text.len() + PADDING.len());
        lower.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
        lower.extend_from_slice(&PADDING);
        normalised.clear();
        let padded = &lower[..];
        TokenStream {
            text,
            padded,
            non_ascii: first_non_ascii(&padded[..text.len()]),
            // Before block 0, with no start left: the first `fill` moves to block 0.
            base: 0usize.wrapping_sub(64),
            next_separators: block_separators(padded, 0),
            starts: 0,
            ends: 0,
            carry: 0,
            normalised,
            taken: 0,
            blocks_done: false,
        }
    }

    /// Whether every token has been taken.
    pub(crate) fn finished(&self) -> bool {
        self.blocks_done && self.taken >= self.normalised.len()
    }

    /// Writes `hash(bytes, start, len)` for the next tokens into `out` and returns how many: up
    /// to [`BATCH`], fewer when the next block might not fit or the text ends (see
    /// [`Self::finished`]). The token is `bytes[start..start + len]`; `bytes` holds at least
    /// 16 bytes from `start` when the token is ASCII.
    ///
    /// Not inlined: called once a batch, it gets the registers to itself.
    #[inline(never)]
    pub(crate) fn fill(
        &mut self,
        out: &mut [u64; BATCH],
        mut hash: impl FnMut(&[u8], usize, usize) -> u64,
    ) -> usize {
        let mut n = 0;
        loop {
            // The tokens of a normalised run not yet taken.
            while self.taken < self.normalised.len() {
                if n == out.len() {
                    return n;
                }
                let rest = &self.normalised[self.taken..];
                let t = rest.split(' ').next().unwrap_or(rest);
                self.taken += t.len() + 1;
                let t = t.trim_matches(|c: char| !c.is_alphanumeric());
                if let Some(slot) = out.get_mut(n).filter(|_| !t.is_empty()) {
                    *slot = hash(t.as_bytes(), 0, t.len());
                    n += 1;
                }
            }
            if self.blocks_done {
                return n;
            }
            let stop;
            (n, stop) = self.blocks(out, n, &mut hash);
            match stop {
                Stop::Full => return n,
                Stop::Done => self.blocks_done = true,
                Stop::Slow(start) => match self.slow_run(start, out, n, &mut hash) {
                    Ok(taken) => n = taken,
                    Err(end) => {
                        // The run's original text (its ends are ASCII bytes, so char
                        // boundaries).
                        normalize_into(&self.text[start..end], self.normalised);
                        self.taken = 0;
                    }
                },
            }
        }
    }

    /// Writes the hashes of the tokens of the next runs into `out` from `n`, block after block,
    /// until the batch might not hold the next block's runs, the text ends, or a run goes on
    /// past its block's window or may hold a non-ASCII byte. Returns the new `n` and why it
    /// stopped.
    ///
    /// The state of the stream lives in locals for the loop's sake, and the loop makes no call
    /// on its common path: values that live across a call would have to stay in the few
    /// registers that calls preserve, and the rest would be read from the stack on every run.
    #[inline(never)]
    fn blocks(
        &mut self,
        out: &mut [u64; BATCH],
        mut n: usize,
        hash: &mut impl FnMut(&[u8], usize, usize) -> u64,
    ) -> (usize, Stop) {
        let padded = self.padded;
        let len = self.text.len();
        let (mut base, mut starts, mut ends, mut carry) =
            (self.base, self.starts, self.ends, self.carry);
        let mut next_separators = self.next_separators;
        let mut non_ascii = self.non_ascii;
        let stop = 'blocks: loop {
            if starts == 0 {
                // The next block.
                base = base.wrapping_add(64);
                if base >= len {
                    base = len;
                    break Stop::Done;
                }
                let separators = next_separators;
                next_separators = block_separators(padded, base + 64);
                let word = !separators;
                starts = word & !((word << 1) | carry);
                // Separators that follow a run; with a carry, the first of them ends the run that
                // crosses in from the block before.
                ends = separators & ((word << 1) | carry);
                ends &= ends.wrapping_sub(carry);
                carry = word >> 63;
                if starts == 0 {
                    continue;
                }
            }
            if n + MAX_RUNS_PER_BLOCK > BATCH {
                break Stop::Full;
            }
            // The padding makes the window whole for every block of the text.
            let Some(window) = padded.get(base..).and_then(|w| w.first_chunk::<WINDOW>()) else {
                debug_assert!(false, "the padding is too short");
                (base, starts) = (len, 0);
                break Stop::Done;
            };
            // Where the run that crosses into the next block ends: 128 when it goes on past the
            // window.
            let crossing_end = 64 + next_separators.trailing_zeros() as usize;
            let first_start = base + starts.trailing_zeros() as usize;
            if non_ascii < first_start {
                non_ascii = skip_ascii(&padded[..len], first_start);
            }
            // A run that ends past this offset in the window may hold a non-ASCII byte, or goes
            // on past the window, and takes the slow path; nearly every block of English text
            // has neither.
            let fast_end = (non_ascii - base).min(127);
            while starts != 0 {
                let offset = starts.trailing_zeros() as usize;
                let end = if ends == 0 { crossing_end } else { ends.trailing_zeros() as usize };
                starts &= starts - 1;
                ends &= ends.wrapping_sub(1);
                if end > fast_end {
                    break 'blocks Stop::Slow(base + offset);
                }
                // Most words start and end with a letter or digit, and most others have one
                // punctuation mark at an end: both kinds are taken with no branch on which.
                // The masks keep every index inside the window, where they are anyway, so that
                // no read needs a bounds check.
                // The four bytes are read at once, not the inner two after the outer two:
                // whether the token is clean is known sooner.
                let at = |i: usize| ALPHANUMERIC[usize::from(window[i & 127])];
                let (head, tail) = (at(offset), at(end - 1));
                let first = offset + usize::from(!head);
                let stop = end - usize::from(!tail);
                let clean =
                    (first < stop) & (head | at(offset + 1)) & (tail | at(end.wrapping_sub(2)));
                let (first, last) = if clean {
                    (first, stop - 1)
                } else if let Some((first, last)) = trim_ascii(&window[offset..end]) {
                    (offset + first, offset + last)
                } else {
                    continue;
                };
                out[n % BATCH] = hash(window, first & 127, last + 1 - first);
                n += 1;
            }
        };
        (self.base, self.starts, self.ends, self.carry) = (base, starts, ends, carry);
        self.next_separators = next_separators;
        self.non_ascii = non_ascii;
        (n, stop)
    }

    /// A run that starts at `start` and goes on past its block's window or may hold a non-ASCII
    /// byte: hashes its token into `out` at `n` and returns the new `n`, or returns the run's
    /// end when it holds a non-ASCII byte.
    #[cold]
    #[inline(never)]
    fn slow_run(
        &mut self,
        start: usize,
        out: &mut [u64; BATCH],
        n: usize,
        hash: &mut impl FnMut(&[u8], usize, usize) -> u64,
    ) -> std::result::Result<usize, usize> {
        let lower = &self.padded[..self.text.len()];
        let end = run_end(self.padded, start);
        if self.non_ascii < start {
            self.non_ascii = skip_ascii(lower, start);
        }
        if end > self.non_ascii {
            return Err(end);
        }
        let Some((first, last)) = trim_ascii(&lower[start..end]) else {
            return Ok(n);
        };
        out[n % BATCH] = hash(self.padded, start + first, last + 1 - first);
        Ok(n + 1)
    }
}

/// Why [`TokenStream::blocks`] stopped.
enum Stop {
    /// The batch might not hold the runs of the next block.
    Full,
    /// The text has no block left.
    Done,
    /// The run that starts here goes on past its block's window or may hold a non-ASCII byte;
    /// its start and end have been taken from the block's masks.
    Slow(usize),
}

/// The position of the first non-ASCII byte of `lower` at or after `start`, or beyond any text.
/// Out of line: it is called at most once a run, and the loops that call it keep their
/// registers.
#[inline(never)]
fn skip_ascii(lower: &[u8], start: usize) -> usize {
    start + first_non_ascii(lower.get(start..).unwrap_or_default())
}

/// The separator mask of the block at `base` of a padded text; all separators past the text.
#[inline(always)]
fn block_separators(padded: &[u8], base: usize) -> u64 {
    match padded.get(base..).and_then(|b| b.first_chunk::<64>()) {
        Some(block) => separator_mask(block),
        None => u64::MAX,
    }
}

/// The end of the run that starts at `start`: its first separator.
fn run_end(padded: &[u8], start: usize) -> usize {
    // The padding holds separators, so there is one.
    start + padded[start..].iter().position(|&b| b <= b' ' || b == 0x7f).unwrap_or(0)
}

/// Whether each byte is an ASCII letter or digit: one load and no branch, where
/// `is_ascii_alphanumeric` compiles to two range tests with a branch each.
const ALPHANUMERIC: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = (b as u8).is_ascii_alphanumeric();
        b += 1;
    }
    table
};

/// The first and last alphanumeric bytes of an ASCII token: trimming the punctuation and symbols
/// at its ends makes `"said,"` into `said`, `(AP)` into `ap`, `3.5%` into `3.5`; `None` when
/// nothing is left (`-`, `|`).
///
/// Why: reprints re-punctuate (a quote closed or not, a dash or a comma), and a token that is
/// only punctuation is page chrome or typography. Trimming lifted same-story similarities on
/// real reprints more than it lifted those of different stories. Non-ASCII tokens are trimmed of
/// every character that is not alphanumeric in Unicode's sense.
#[inline]
fn trim_ascii(token: &[u8]) -> Option<(usize, usize)> {
    let first = token.iter().position(u8::is_ascii_alphanumeric)?;
    let last = token.iter().rposition(u8::is_ascii_alphanumeric)?;
    Some((first, last))
}

/// Removes the spaces that normalisation sets around each character of a script written
/// without spaces (there so that word shingles see one token per character): character
/// shingles must see `東京は`, not `東 京 は`, or a k-gram would hold only about k/2 characters.
fn join_unspaced(text: &mut String) {
    if text.is_ascii() {
        return;
    }
    let chars: Vec<char> = text.chars().collect();
    let unspaced = |i: Option<&char>| i.is_some_and(|&c| is_unspaced_script(c));
    let mut joined = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let beside_unspaced = i > 0 && unspaced(chars.get(i - 1)) || unspaced(chars.get(i + 1));
        if c != ' ' || !beside_unspaced {
            joined.push(c);
        }
    }
    *text = joined;
}

fn char_shingles(text: &str, k: usize, seed: u64, mut emit: impl FnMut(u64)) {
    // Byte offsets of the last k character starts, as a ring.
    let mut starts = [0usize; MAX_SHINGLE_SIZE];
    let mut chars = 0usize;
    for (offset, c) in text.char_indices() {
        starts[chars % k] = offset;
        chars += 1;
        if chars >= k {
            let first = starts[chars % k];
            let end = offset + c.len_utf8();
            emit(xxh3_64_with_seed(&text.as_bytes()[first..end], seed));
        }
    }
    if (1..k).contains(&chars) {
        emit(xxh3_64_with_seed(text.as_bytes(), seed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_hashes(tokens: &[&str], seed: u64) -> Vec<u64> {
        let keys = TokenKeys::new(seed);
        tokens.iter().map(|t| keys.hash(t.as_bytes(), 0, t.len())).collect()
    }

    #[test]
    fn word_bigrams_of_four_tokens() {
        let t = token_hashes(&["a", "b", "c", "d"], 7);
        let expected = vec![combine(&t[0..2]), combine(&t[1..3]), combine(&t[2..4])];
        assert_eq!(shingle_hashes("a b c d", Shingles::Words(2), 7), expected);
    }

    #[test]
    fn rolled_kgram_hashes_are_the_windows_combined() {
        fn check<const K: usize>(tokens: &[u64]) {
            for len in 0..=tokens.len() {
                let t = &tokens[..len];
                let windows: Vec<u64> = t.windows(K).map(combine).collect();
                assert_eq!(kgram_hashes::<K>(t).len(), windows.len(), "K {K}, {len} tokens");
                assert_eq!(kgram_hashes::<K>(t).collect::<Vec<_>>(), windows, "K {K}, {len}");
            }
        }
        // Repeats included: a rolled sum must drop exactly the token that leaves.
        let tokens: Vec<u64> = (0..40u64).map(|i| mix64(i % 13)).collect();
        check::<1>(&tokens);
        check::<2>(&tokens);
        check::<3>(&tokens);
        check::<4>(&tokens);
        check::<5>(&tokens);
        check::<MAX_SHINGLE_SIZE>(&tokens);
    }

    #[test]
    fn kgrams_run_on_across_batches() {
        // Several batches of tokens: the last k - 1 of each start the next one's k-grams.
        let words: Vec<String> = (0..3 * BATCH).map(|i| format!("w{}", i % 700)).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let t = token_hashes(&refs, 3);
        for k in [1, 3, 5, 9] {
            let expected: Vec<u64> = t.windows(k).map(combine).collect();
            assert_eq!(shingle_hashes(&words.join(" "), Shingles::Words(k), 3), expected, "{k}");
        }
    }

    #[test]
    fn punctuation_at_token_ends_is_trimmed() {
        let t = token_hashes(&["he", "said", "ap"], 0);
        let expected = vec![combine(&t)];
        assert_eq!(shingle_hashes("He — said, (AP)", Shingles::Words(3), 0), expected);
        assert_eq!(shingle_hashes("«He» said… ¿ap?", Shingles::Words(3), 0), expected);
        // Inner punctuation stays: "u.s" and "3.5" are tokens.
        let t = token_hashes(&["u.s", "3.5"], 0);
        assert_eq!(shingle_hashes("U.S. 3.5%", Shingles::Words(2), 0), vec![combine(&t)]);
        assert!(shingle_hashes("- • | ...", Shingles::Words(1), 0).is_empty());
    }

    #[test]
    fn word_order_matters() {
        let ab = shingle_hashes("a b", Shingles::Words(2), 0);
        let ba = shingle_hashes("b a", Shingles::Words(2), 0);
        assert_eq!(ab.len(), 1);
        assert_ne!(ab, ba);
    }

    #[test]
    fn fewer_tokens_than_k_give_one_shingle() {
        let t = token_hashes(&["only", "two"], 0);
        assert_eq!(shingle_hashes("Only two", Shingles::Words(5), 0), vec![combine(&t)]);
        assert!(shingle_hashes("   ", Shingles::Words(5), 0).is_empty());
        assert!(shingle_hashes("", Shingles::Chars(3), 0).is_empty());
    }

    #[test]
    fn char_trigrams_hash_spans_of_normalised_text() {
        let got = shingle_hashes("AB  cd", Shingles::Chars(3), 1);
        let spans = ["ab ", "b c", " cd"];
        let expected: Vec<u64> = spans.iter().map(|s| xxh3_64_with_seed(s.as_bytes(), 1)).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn char_shingles_of_unspaced_scripts_see_no_spaces() {
        let spans = ["東京", "京は", "は晴", "晴れ"];
        let expected: Vec<u64> = spans.iter().map(|s| xxh3_64_with_seed(s.as_bytes(), 3)).collect();
        assert_eq!(shingle_hashes("東京は晴れ。", Shingles::Chars(2), 3), expected);
        // Spaces between words of spaced scripts stay.
        let latin = shingle_hashes("ab cd", Shingles::Chars(3), 3);
        assert_eq!(latin[0], xxh3_64_with_seed(b"ab ", 3));
    }

    #[test]
    fn char_shingles_count_characters_not_bytes() {
        // Four two-byte characters give three character bigrams.
        assert_eq!(shingle_hashes("éèêë", Shingles::Chars(2), 0).len(), 3);
    }

    #[test]
    fn seed_changes_every_hash() {
        let a = shingle_hashes("one two three four", Shingles::Words(3), 1);
        let b = shingle_hashes("one two three four", Shingles::Words(3), 2);
        assert_eq!(a.len(), 2);
        assert!(a.iter().zip(&b).all(|(x, y)| x != y));
    }

    /// The definition of tokens, written the slow and obvious way.
    fn reference_tokens(text: &str) -> Vec<String> {
        crate::normalize(text)
            .split(' ')
            .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn fast_tokens(text: &str) -> Vec<String> {
        let mut tokens = Vec::new();
        let (mut lower, mut normalised) = (Vec::new(), String::new());
        let mut stream = TokenStream::new(text, &mut lower, &mut normalised);
        // Batches end before a block that might not fit, and inside long normalised runs. Each
        // hash is the token's ordinal: a batch must hold the hashes of its tokens, in order, as
        // many as it says.
        let mut out = [0u64; BATCH];
        while !stream.finished() {
            let before = tokens.len();
            let n = stream.fill(&mut out, |bytes, start, len| {
                let t = &bytes[start..start + len];
                tokens.push(String::from_utf8(t.to_vec()).expect("tokens are UTF-8"));
                tokens.len() as u64
            });
            assert_eq!(n, tokens.len() - before, "batch length");
            assert!(out[..n].iter().zip(before as u64 + 1..).all(|(&h, i)| h == i), "batch order");
        }
        tokens
    }

    #[test]
    fn tokens_match_the_reference() {
        let texts = [
            String::new(),
            " ".into(),
            "a".into(),
            "The  Quick\tBROWN\nfox\u{1}jumps\u{7f}over".into(),
            "He — said, (AP) «he» said… ¿ap? U.S. 3.5%".into(),
            "zero\u{200B}width\u{a0}nbsp ﬁne ＡＢＣ 東京は晴れ。 e\u{301}t\u{e9} \u{b4}x".into(),
            "x".repeat(63),
            "x".repeat(64),
            "y".repeat(64) + " z",
            " ".repeat(63) + "ab" + &" ".repeat(64) + "c",
            "word ".repeat(40) + "Ünïcode “quoted” tail",
            // Runs longer than two blocks, trimmed or not, and one that ends the text.
            "a".repeat(200) + " b (" + &"x".repeat(150) + ").",
            " ".repeat(60) + &"long".repeat(40),
            "é".repeat(70) + " " + &"z".repeat(130) + " ,.;",
            // More tokens than a batch holds, with long runs and non-ASCII ones near its end.
            "a b ".repeat(1100),
            "ab, ".repeat(1010) + &"x".repeat(150) + " (ça) " + &"cd ".repeat(100),
            // A normalised run of more tokens than a batch holds (one per character).
            "ab ".repeat(500) + &"東京".repeat(600) + " cd",
        ];
        for text in &texts {
            assert_eq!(fast_tokens(text), reference_tokens(text), "{text:?}");
        }
    }

    #[test]
    fn token_hash_reads_past_the_token_alike() {
        let keys = TokenKeys::new(7);
        let text = b"abcdefghijklmnopqrstuvwxyz0123456789";
        for len in 1..=20 {
            for start in [0, 3, 30] {
                let token = &text[start..(start + len).min(text.len())];
                let alone = keys.hash(token, 0, token.len());
                assert_eq!(keys.hash(text, start, token.len()), alone, "{start} {len}");
            }
        }
        // Distinct tokens of every short length hash apart, and the seed matters.
        let mut hashes: Vec<u64> = (1..=16).map(|len| keys.hash(text, 0, len)).collect();
        hashes.extend((0..=9).map(|d| keys.hash(&[b'0' + d], 0, 1)));
        hashes.push(TokenKeys::new(8).hash(b"a", 0, 1));
        let n = hashes.len();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), n);
    }

    proptest::proptest! {
        #[test]
        fn tokens_match_the_reference_on_any_text(text in "(\\PC|[ \t\n\u{0}-\u{1f}aA.,-]){0,200}") {
            proptest::prop_assert_eq!(fast_tokens(&text), reference_tokens(&text));
        }

        /// Mostly ASCII, which takes the fast path: runs of every length up to past a window,
        /// crossing block boundaries at every offset, with a rare non-ASCII character.
        #[test]
        fn ascii_tokens_match_the_reference(
            text in "([a-zA-Z0-9.,()'-]{1,3}|[a-z]{4,70}|é|[ \t\n\u{0}]{1,3}){0,120}",
        ) {
            proptest::prop_assert_eq!(fast_tokens(&text), reference_tokens(&text));
        }
    }

    #[test]
    fn validation() {
        assert_eq!(Shingles::Words(0).validate(), Err(Error::ZeroShingleSize));
        assert_eq!(
            Shingles::Chars(17).validate(),
            Err(Error::ShingleSizeTooLarge { size: 17, max: MAX_SHINGLE_SIZE })
        );
        assert!(Shingles::Words(MAX_SHINGLE_SIZE).validate().is_ok());
    }
}
