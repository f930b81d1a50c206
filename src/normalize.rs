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
    // ASCII is always in NFKC; most non-ASCII news text is too, and the quick check says so
    // without normalising.
    if text.is_ascii() || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        for c in text.chars() {
            sink.push_folded(c);
        }
    } else {
        for c in text.nfkc() {
            sink.push_folded(c);
        }
    }
}

/// Whether the ASCII byte `b` separates tokens: white space and control characters. The shingle
/// stage splits raw text at the same bytes.
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

/// Characters of scripts that do not put spaces between words.
fn is_unspaced_script(c: char) -> bool {
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
}
