//! Stage 2: shingles, hashed.
//!
//! A shingle is a run of `k` consecutive tokens (word shingles) or characters (character
//! shingles) of the normalised text. Shingles are never materialised: each token is hashed once
//! with xxh3, and a word k-gram's hash combines the k token hashes (a multiply-add over fixed odd
//! constants, then a 64-bit finaliser). This costs a few multiplications per token instead of
//! hashing every k-token span again, and it allocates nothing per token or shingle.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::{Error, Result};
use crate::normalize::{fold_for_tokens, is_separator_byte, normalize_into};

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
    let mut scratch = String::new();
    for_each_shingle(text, shingles, seed, &mut scratch, |h| out.push(h));
    out
}

/// Calls `emit` with the hash of every shingle of `text`, using `scratch` for the normalised text.
///
/// `shingles` must have passed [`Shingles::validate`].
pub(crate) fn for_each_shingle(
    text: &str,
    shingles: Shingles,
    seed: u64,
    scratch: &mut String,
    emit: impl FnMut(u64),
) {
    debug_assert!(shingles.validate().is_ok());
    match shingles {
        Shingles::Words(k) => {
            fold_for_tokens(text, scratch);
            word_shingles(scratch.as_bytes(), k, seed, emit);
        }
        Shingles::Chars(k) => {
            normalize_into(text, scratch);
            char_shingles(scratch, k, seed, emit);
        }
    }
}

/// Odd multipliers that make a k-gram's hash depend on the order of its tokens.
const POSITION_MULTIPLIERS: [u64; MAX_SHINGLE_SIZE] = [
    0x9E37_79B9_7F4A_7C15,
    0xC2B2_AE3D_27D4_EB4F,
    0x1656_67B1_9E37_79F9,
    0xD6E8_FEB8_6659_FD93,
    0xA076_1D64_78BD_642F,
    0xE703_7ED1_A0B4_28DB,
    0x8EBC_6AF0_9C88_C6E3,
    0x5899_65CC_7537_4CC3,
    0x1D8E_4E27_C47D_124F,
    0xFF51_AFD7_ED55_8CCD,
    0xC4CE_B9FE_1A85_EC53,
    0xBF58_476D_1CE4_E5B9,
    0x94D0_49BB_1331_11EB,
    0x2545_F491_4F6C_DD1D,
    0x9FB2_1C65_1E98_DF25,
    0xD1B5_4A32_D192_ED03,
];

/// The 64-bit finaliser of MurmurHash3: every input bit affects every output bit.
#[inline]
pub(crate) fn mix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

#[inline]
fn combine(window: &[u64]) -> u64 {
    let mut acc = 0u64;
    for (t, m) in window.iter().zip(POSITION_MULTIPLIERS.iter()) {
        acc = acc.wrapping_add(t.wrapping_mul(*m));
    }
    mix64(acc)
}

fn word_shingles(text: &[u8], k: usize, seed: u64, mut emit: impl FnMut(u64)) {
    let mut window = [0u64; MAX_SHINGLE_SIZE];
    let mut tokens = 0usize;
    let mut i = 0;
    let n = text.len();
    while i < n {
        // Skip separators, then take the token up to the next one.
        while i < n && is_separator_byte(text[i]) {
            i += 1;
        }
        let start = i;
        while i < n && !is_separator_byte(text[i]) {
            i += 1;
        }
        if start == i {
            break;
        }
        let Some(token) = trim_token(&text[start..i]) else {
            continue;
        };
        let h = xxh3_64_with_seed(token, seed);
        if tokens < k {
            window[tokens] = h;
        } else {
            window.copy_within(1..k, 0);
            window[k - 1] = h;
        }
        tokens += 1;
        if tokens >= k {
            emit(combine(&window[..k]));
        }
    }
    if (1..k).contains(&tokens) {
        emit(combine(&window[..tokens]));
    }
}

/// A token without the punctuation and symbols at its ends (`"said,"` becomes `said`,
/// `(AP)` becomes `ap`, `3.5%` becomes `3.5`); `None` when nothing is left (`-`, `•`, `|`).
///
/// Why: reprints re-punctuate (a quote closed or not, a dash or a comma), and a token that is
/// only punctuation is page chrome or typography. Trimming lifted same-story similarities on
/// real reprints more than it lifted those of different stories.
#[inline]
fn trim_token(token: &[u8]) -> Option<&[u8]> {
    let (first, last) = (token[0], token[token.len() - 1]);
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        return Some(token);
    }
    // Slow path: some end is punctuation or non-ASCII. Tokens come from a `str` split at ASCII
    // bytes, so they are valid UTF-8.
    let text = std::str::from_utf8(token).ok()?;
    let trimmed = text.trim_matches(|c: char| !c.is_alphanumeric());
    (!trimmed.is_empty()).then_some(trimmed.as_bytes())
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
        tokens.iter().map(|t| xxh3_64_with_seed(t.as_bytes(), seed)).collect()
    }

    #[test]
    fn word_bigrams_of_four_tokens() {
        let t = token_hashes(&["a", "b", "c", "d"], 7);
        let expected = vec![combine(&t[0..2]), combine(&t[1..3]), combine(&t[2..4])];
        assert_eq!(shingle_hashes("a b c d", Shingles::Words(2), 7), expected);
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
