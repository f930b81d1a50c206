//! Deterministic English-like text, shared by the tests and the adversarial example.

#![allow(dead_code)] // each user takes part of it

/// SplitMix64: a tiny seeded generator, so every corpus is the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

pub const WORDS: &str = "the of and to in said on for was with that by at from his her their after \
    before police city council government minister president election vote budget tax school hospital \
    river storm flood fire court judge trial company shares market bank rates prices oil \
    gas energy power plant workers union strike talks deal agreement border troops army war \
    peace talks leaders summit week month year monday tuesday friday morning night two \
    three four hundred thousand million people residents officials spokesman report study \
    scientists research data water food farmers crops rain heat record team match season \
    coach players fans stadium goal win loss new old large small local national foreign \
    public private early late last next first second final announced reported confirmed \
    denied warned expected planned opened closed rose fell grew cut raised signed rejected \
    approved moved left arrived bridge road train airport flight ship port harbour village \
    region province state capital street building museum library children parents teachers \
    students doctors patients nurses";

/// `words` words of English-like text in sentences of 6 to 17 words.
pub fn article(seed: u64, words: usize) -> String {
    let vocabulary: Vec<&str> = WORDS.split_ascii_whitespace().collect();
    let mut rng = Rng(seed);
    let mut text = String::with_capacity(words * 7);
    let mut in_sentence = 0;
    let mut sentence_len = 6 + rng.below(12);
    for _ in 0..words {
        let word = vocabulary[rng.below(vocabulary.len())];
        if in_sentence == 0 {
            text.push_str(&word[..1].to_uppercase());
            text.push_str(&word[1..]);
        } else {
            text.push_str(word);
        }
        in_sentence += 1;
        if in_sentence == sentence_len {
            text.push_str(". ");
            in_sentence = 0;
            sentence_len = 6 + rng.below(12);
        } else {
            text.push(' ');
        }
    }
    text
}
