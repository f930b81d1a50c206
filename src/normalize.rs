//! Stage 1: Unicode normalisation.
//!
//! Reprints of one story differ in ways that carry no meaning: typographic quotes against
//! straight ones, an en dash against a hyphen, compatibility forms (`ﬁ`, full-width letters),
//! capitals in a headline, line breaks where a page wrapped its text. Normalisation removes those
//! differences before anything is hashed:
//!
//! 1. NFKC (Unicode compatibility composition), skipped when a quick check shows the text is
//!    already in NFKC, and never run on ASCII;
//! 2. lower case;
//! 3. typographic quotes, apostrophes, dashes and the ellipsis folded to their ASCII forms;
//! 4. white space and control characters turned into single spaces, format characters that
//!    render as nothing (zero-width spaces and joiners, direction marks, the soft hyphen, the byte
//!    order mark) removed;
//! 5. each character of a script written without spaces between words (Han, Hiragana,
//!    Katakana, Thai, Lao, Khmer, Myanmar) set apart as a token of its own, so that word
//!    shingles over such text become character shingles instead of one giant "word".
//!
//! Punctuation is otherwise kept here: the shingle stage trims it from the ends of tokens
//! (`said,` and `said` are one token) but keeps it inside them (`u.s`, `3.5`).

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// Returns the normalised form of `text`: the exact string that the shingle stage tokenises.
///
/// Tokens in the result are separated by single ASCII spaces, with none at either end.
///
/// # Example
///
/// ```
/// assert_eq!(reprint::normalize("  The “Quick”\tFOX — ran…"), "the \"quick\" fox - ran...");
/// ```
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Like [`normalize`], but writes into `out` (cleared first) so that a caller can reuse one
/// buffer across many texts.
pub fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    let mut sink = Sink { out, pending_space: false };
    // Normalisation never acts across an ASCII separator (NFKC composes nothing across one, and
    // every other step maps characters one by one), so the runs between separators are
    // normalised one at a time: ASCII runs only need lower case, and only runs holding a
    // non-ASCII character take the per-character path.
    let bytes = text.as_bytes();
    let mut non_ascii = first_non_ascii(bytes);
    let mut runs = Runs::new(bytes);
    while let Some((start, end)) = runs.next() {
        sink.space();
        if non_ascii < start {
            non_ascii = start + first_non_ascii(&bytes[start..]);
        }
        let run = &text[start..end];
        if end <= non_ascii {
            sink.push_ascii(run);
        } else if is_nfkc_quick(run.chars()) == IsNormalized::Yes {
            // Most non-ASCII news text is already in NFKC, and the quick check says so without
            // normalising.
            for c in run.chars() {
                sink.push_folded(c);
            }
        } else {
            for c in run.nfkc() {
                sink.push_folded(c);
            }
        }
    }
}

/// Whether the ASCII byte `b` separates tokens: white space and control characters.
#[inline]
fn is_separator_byte(b: u8) -> bool {
    b <= b' ' || b == 0x7f
}

struct Sink<'a> {
    out: &'a mut String,
    pending_space: bool,
}

impl Sink<'_> {
    #[inline]
    fn space(&mut self) {
        self.pending_space = !self.out.is_empty();
    }

    #[inline]
    fn push(&mut self, c: char) {
        if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        self.out.push(c);
    }

    /// Pushes an ASCII run without separators, lower-cased.
    #[inline]
    fn push_ascii(&mut self, run: &str) {
        debug_assert!(run.bytes().all(|b| b.is_ascii() && !is_separator_byte(b)));
        if self.pending_space {
            self.out.push(' ');
            self.pending_space = false;
        }
        let at = self.out.len();
        self.out.push_str(run);
        self.out[at..].make_ascii_lowercase();
    }

    fn push_folded(&mut self, c: char) {
        if c.is_ascii() {
            if is_separator_byte(c as u8) {
                self.space();
            } else {
                self.push(c.to_ascii_lowercase());
            }
            return;
        }
        match c {
            c if c.is_whitespace() || c.is_control() => self.space(),
            // Format characters that render as nothing: dropped, so that a zero-width space
            // inside a word does not split it and a direction mark does not make a new token.
            '\u{00AD}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}' => {}
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}'
            | '\u{00B4}' => self.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
            | '\u{00BB}' => self.push('"'),
            '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
                self.push('-')
            }
            '\u{2026}' => {
                self.push('.');
                self.push('.');
                self.push('.');
            }
            // CJK symbols and punctuation (ideographic full stop, comma, brackets): separators.
            '\u{3000}'..='\u{303F}' => self.space(),
            c if is_unspaced_script(c) => {
                self.space();
                self.push(c);
                self.space();
            }
            c => {
                for l in c.to_lowercase() {
                    self.push(l);
                }
            }
        }
    }
}

/// The maximal runs of non-separator bytes of a text, in order, as `(start, end)`.
///
/// Works 64 bytes at a time: a mask of the separator bytes gives every run start and end of the
/// block, and they are taken with bit scans.
pub(crate) struct Runs<'a> {
    bytes: &'a [u8],
    /// Offset of the current block.
    base: usize,
    /// Run starts and ends (one past the last byte) in the current block not yet taken.
    starts: u64,
    ends: u64,
    /// Start of a run that continues past the current block, or `NONE`.
    open: usize,
    /// 1 if the current block ended inside a run.
    carry: u64,
}

impl<'a> Runs<'a> {
    const NONE: usize = usize::MAX;

    pub(crate) fn new(bytes: &'a [u8]) -> Runs<'a> {
        // An empty first "block" before offset 0: the first call of `next` loads block 0.
        Runs {
            bytes,
            base: 0usize.wrapping_sub(64),
            starts: 0,
            ends: 0,
            open: Self::NONE,
            carry: 0,
        }
    }

    #[inline(always)]
    pub(crate) fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.open != Self::NONE {
                if self.ends != 0 {
                    let end = self.base + self.ends.trailing_zeros() as usize;
                    self.ends &= self.ends - 1;
                    let start = std::mem::replace(&mut self.open, Self::NONE);
                    return Some((start, end));
                }
            } else if self.starts != 0 {
                let start = self.base + self.starts.trailing_zeros() as usize;
                self.starts &= self.starts - 1;
                if self.ends != 0 {
                    let end = self.base + self.ends.trailing_zeros() as usize;
                    self.ends &= self.ends - 1;
                    return Some((start, end));
                }
                // The run goes on into the next block.
                self.open = start;
            }
            self.base = self.base.wrapping_add(64);
            if self.base >= self.bytes.len() {
                self.base = self.bytes.len();
                let start = std::mem::replace(&mut self.open, Self::NONE);
                return (start != Self::NONE).then_some((start, self.bytes.len()));
            }
            let block = &self.bytes[self.base..];
            let separators = if let Some(block) = block.first_chunk::<64>() {
                separator_mask(block)
            } else {
                // The last, short block: padded with NUL bytes, which are separators.
                let mut padded = [0u8; 64];
                padded[..block.len()].copy_from_slice(block);
                separator_mask(&padded)
            };
            let word = !separators;
            let before = (word << 1) | self.carry;
            self.starts = word & !before;
            self.ends = separators & before;
            self.carry = word >> 63;
        }
    }
}

/// Bit `i` is set when `block[i]` separates tokens: ASCII white space and ASCII control bytes
/// (`<= b' '` or DEL), as [`normalize`](crate::normalize) treats them. With SSE2 (every x86-64
/// processor) a compare and a byte-mask instruction take 16 bytes at a time; elsewhere, 8 bytes
/// at a time in a `u64` ([`separator_mask_swar`]). No byte-by-byte branch either way.
#[cfg(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2"))]
#[inline]
pub(crate) fn separator_mask(block: &[u8; 64]) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, min_u8_m128i, move_mask_i8_m128i};
    let space = m128i::from([b' '; 16]);
    let del = m128i::from([0x7f_u8; 16]);
    let (chunks, _) = block.as_chunks::<16>();
    let mut mask = 0u64;
    for (i, chunk) in chunks.iter().enumerate() {
        let bytes = m128i::from(*chunk);
        // Unsigned `b <= b' '` is `min(b, b' ') == b`.
        let low = cmp_eq_mask_i8_m128i(min_u8_m128i(bytes, space), bytes);
        let separator = low | cmp_eq_mask_i8_m128i(bytes, del);
        // The mask holds 16 bits.
        mask |= u64::from(move_mask_i8_m128i(separator) as u16) << (16 * i);
    }
    mask
}

/// [`separator_mask`] where SSE2 is not available.
#[cfg(not(all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2")))]
#[inline]
pub(crate) fn separator_mask(block: &[u8; 64]) -> u64 {
    separator_mask_swar(block)
}

/// [`separator_mask`] eight bytes at a time in a `u64` (SWAR).
#[cfg_attr(
    all(any(target_arch = "x86", target_arch = "x86_64"), target_feature = "sse2"),
    allow(dead_code)
)]
#[inline]
pub(crate) fn separator_mask_swar(block: &[u8; 64]) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut mask = 0u64;
    for (i, chunk) in block.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let low7 = x & !HI;
        // No sum carries into the next byte: low7 <= 0x7f.
        let above_space = (low7 + 0x5f * LO) & HI; // low7 >= 0x21
        let del = (low7 + LO) & HI; // low7 == 0x7f
        let separator = !x & HI & (!above_space | del);
        // Gather the eight high bits into one byte, byte j to bit j.
        let bits = ((separator >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff;
        mask |= bits << (8 * i);
    }
    mask
}

/// The index of the first non-ASCII byte of `bytes`, or `usize::MAX / 2` (beyond any text, and
/// safe to add a position to) when there is none. 32 bytes at a time, then 8 at a time in the
/// 32 that hold one.
pub(crate) fn first_non_ascii(bytes: &[u8]) -> usize {
    const HI: u64 = 0x8080_8080_8080_8080;
    let word = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
    let mut blocks = bytes.chunks_exact(32);
    for (i, block) in blocks.by_ref().enumerate() {
        let any = block.chunks_exact(8).fold(0, |any, chunk| any | word(chunk));
        if any & HI != 0 {
            let (j, x) = block
                .chunks_exact(8)
                .map(|chunk| word(chunk) & HI)
                .enumerate()
                .find(|&(_, x)| x != 0)
                .unwrap_or((0, 0));
            return i * 32 + j * 8 + (x.trailing_zeros() / 8) as usize;
        }
    }
    let done = bytes.len() - blocks.remainder().len();
    blocks.remainder().iter().position(|b| !b.is_ascii()).map_or(usize::MAX / 2, |i| done + i)
}

/// Characters of scripts that do not put spaces between words.
pub(crate) fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}'       // Thai, Lao
        | '\u{1000}'..='\u{109F}'     // Myanmar
        | '\u{1780}'..='\u{17FF}'     // Khmer
        | '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'     // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'     // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'     // CJK unified ideographs
        | '\u{F900}'..='\u{FAFF}'     // CJK compatibility ideographs
        | '\u{20000}'..='\u{3FFFF}' // CJK extensions B and later
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_lowercases_and_collapses_space() {
        assert_eq!(normalize("  Hello,\n\tWORLD  \r\n"), "hello, world");
    }

    #[test]
    fn typographic_punctuation_is_folded() {
        assert_eq!(normalize("‘It’s’ “so” – said—he…"), "'it's' \"so\" - said-he...");
    }

    #[test]
    fn nfkc_applies_to_compatibility_forms() {
        // The ligature "ﬁ" and full-width letters decompose to ASCII under NFKC.
        assert_eq!(normalize("ﬁne ＡＢＣ"), "fine abc");
    }

    #[test]
    fn invisible_format_characters_are_removed() {
        assert_eq!(normalize("zero\u{200B}width\u{200D} \u{200F}rtl\u{FEFF}"), "zerowidth rtl");
    }

    #[test]
    fn control_characters_separate_tokens() {
        assert_eq!(normalize("a\u{0}b\u{7f}c\u{85}d"), "a b c d");
    }

    #[test]
    fn unspaced_scripts_become_one_token_per_character() {
        assert_eq!(normalize("東京は晴れ。"), "東 京 は 晴 れ");
        assert_eq!(normalize("ภาษา"), "ภ า ษ า");
    }

    #[test]
    fn empty_and_blank_texts_normalise_to_empty() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize(" \t\n\u{3000}\u{200B}"), "");
    }

    #[test]
    fn first_non_ascii_finds_the_first_at_every_position() {
        for len in [0, 1, 7, 8, 31, 32, 33, 64, 100] {
            let ascii = vec![b'a'; len];
            assert_eq!(first_non_ascii(&ascii), usize::MAX / 2, "{len}");
            for at in 0..len {
                let mut bytes = ascii.clone();
                bytes[at] = 0xc3;
                if at + 1 < len {
                    bytes[len - 1] = 0xa9;
                }
                assert_eq!(first_non_ascii(&bytes), at, "{len} {at}");
            }
        }
    }

    #[test]
    fn separator_mask_marks_white_space_and_controls() {
        let mut block = [b'a'; 64];
        for (i, b) in [(0, b' '), (5, b'\t'), (9, 0x7f), (17, 0), (40, 0xc3), (63, b'\n')] {
            block[i] = b;
        }
        assert_eq!(separator_mask(&block), 1 | 1 << 5 | 1 << 9 | 1 << 17 | 1 << 63);
        assert_eq!(separator_mask_swar(&block), separator_mask(&block));
        let all: Vec<u8> = (0..=255).collect();
        for chunk in all.chunks(64) {
            let chunk = chunk.try_into().unwrap();
            let mask = separator_mask(chunk);
            assert_eq!(separator_mask_swar(chunk), mask);
            for (i, &b) in chunk.iter().enumerate() {
                let expected = b <= b' ' || b == 0x7f;
                assert_eq!(mask >> i & 1 == 1, expected, "byte {b:#x}");
            }
        }
    }

    /// The definition, one character at a time over the whole text.
    fn reference_normalize(text: &str) -> String {
        let mut out = String::new();
        let mut sink = Sink { out: &mut out, pending_space: false };
        if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
            text.chars().for_each(|c| sink.push_folded(c));
        } else {
            text.nfkc().for_each(|c| sink.push_folded(c));
        }
        out
    }

    #[test]
    fn runs_match_the_reference_at_block_edges() {
        for text in [
            "x".repeat(63) + " Ab",
            "y".repeat(64) + "\u{301} z",
            " ".repeat(63) + "ÉCOLE" + &"\t".repeat(64) + "c\u{B4}d",
            "é".repeat(40) + "\u{200B}ﬁ",
        ] {
            assert_eq!(normalize(&text), reference_normalize(&text), "{text:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn runs_match_the_reference(text in "(\\PC|[ \t\n\u{0}-\u{1f}\u{7f}aA.,-]){0,200}") {
            proptest::prop_assert_eq!(normalize(&text), reference_normalize(&text));
        }
    }
}
