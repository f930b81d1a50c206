//! Does `cluster()` stay linear as the pile grows? Times it on piles of 12,500 to 100,000
//! articles and prints the time per article, the working memory per article and the scores
//! against the pile's known stories.
//!
//! ```text
//! cargo run --release --example scale [CORPUS.jsonl] [ARTICLES]
//! ```
//!
//! No public pile of 100,000 labelled news articles ships with the crate, so this one is made
//! from a seed corpus (by default `../shared/bench/news-5k.jsonl` when it exists beside the
//! crate, else the shipped `tests/data/wire-dev.jsonl`):
//!
//! - **Stories** are random walks over the seed corpus's word pairs: each next word is one that
//!   followed the current word somewhere in the corpus. The text reads as word salad, but its
//!   common phrases recur across stories as they do in real news, which is what makes unrelated
//!   articles meet in LSH buckets. Lengths are drawn from the seed articles' lengths.
//! - **Reprints** (one article in five) copy an earlier story and then change it the way
//!   outlets do: a byline in front, a few words swapped (up to 4%), sometimes cut short.
//!
//! The piles are prefixes of one stream, so each holds the one before. `cluster()` runs on one
//! thread (a rayon pool of one) so that the figures are per core, at the defaults, at the
//! defaults with estimated verification, and at the setting comparable with the peers. Linear
//! means a flat column of microseconds per article.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::error::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ahash::AHashMap;
use reprint::{Clusterer, Index, Verification};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().map(PathBuf::from).unwrap_or_else(common::bench_corpus);
    let largest: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(100_000).max(1);
    let seeds: Vec<String> = common::load(&path)?.into_iter().map(|a| a.text).collect();
    let started = Instant::now();
    let pile = Pile::generate(&seeds, largest).ok_or("the seed corpus has no words")?;
    let bytes: usize = pile.texts.iter().map(String::len).sum();
    println!(
        "pile: {largest} articles ({:.0} MB, {} stories) made from {} in {:.1} s",
        bytes as f64 / 1e6,
        pile.stories,
        path.display(),
        started.elapsed().as_secs_f64(),
    );

    // The defaults, the defaults with estimated verification (no shingle sets kept), and the
    // setting comparable with the peers.
    let estimate = Clusterer::builder().verification(Verification::Estimate).build()?;
    let settings = [
        ("defaults", Clusterer::default()),
        ("defaults, estimated verification", estimate),
        ("comparable", common::peers_setting()),
    ];
    #[cfg(feature = "parallel")]
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;

    let mut sizes: Vec<usize> =
        std::iter::successors(Some(largest), |n| (*n >= 25_000).then_some(n / 2)).collect();
    sizes.reverse();
    for (name, clusterer) in &settings {
        println!("cluster(), {name}, one thread:");
        println!(
            "  {:>8} {:>8} {:>10} {:>12} {:>14} {:>8} {:>7}",
            "articles", "MB/s", "seconds", "µs/article", "bytes/article", "groups", "ARI"
        );
        for &n in &sizes {
            let docs = &pile.texts[..n];
            let size: usize = docs.iter().map(String::len).sum();
            let mut clusters = None;
            let mut run = || {
                #[cfg(feature = "parallel")]
                let found = pool.install(|| clusterer.cluster(docs));
                #[cfg(not(feature = "parallel"))]
                let found = clusterer.cluster(docs);
                clusters = Some(found);
            };
            // The first run measures the working memory: the most held from the allocator
            // during the call, beyond what was held before it.
            let start = Counting::reset_peak();
            run();
            let working = Counting::peak() - start;
            let time = common::median_time(3, &mut run);
            let clusters = clusters.take().expect("cluster() ran");
            let predicted: Vec<usize> =
                (0..n).map(|i| clusters.group_of(i).expect("every article is grouped")).collect();
            let scores = reprint::eval::score(&pile.story[..n], &predicted);
            let secs = time.as_secs_f64();
            println!(
                "  {n:>8} {:>8.1} {secs:>10.2} {:>12.1} {:>14} {:>8} {:>7.4}",
                size as f64 / 1e6 / secs,
                secs * 1e6 / n as f64,
                working / n,
                clusters.len(),
                scores.ari,
            );
        }
    }

    // The streaming index, defaults: the pile inserted as one batch, one thread, and the
    // index's memory per article beyond the signature it keeps (4 bytes a slot).
    let signature = 4 * Clusterer::default().config().slots();
    println!("Index::insert_batch, defaults, one thread (bytes beyond the signature):");
    println!(
        "  {:>8} {:>8} {:>10} {:>12} {:>14}",
        "articles", "MB/s", "seconds", "µs/article", "bytes/article"
    );
    for &n in &sizes {
        let articles: Vec<(u64, &str)> =
            pile.texts[..n].iter().enumerate().map(|(i, t)| (i as u64, t.as_str())).collect();
        let size: usize = articles.iter().map(|(_, t)| t.len()).sum();
        let mut index = Index::new(Clusterer::default());
        let start = Instant::now();
        #[cfg(feature = "parallel")]
        pool.install(|| index.insert_batch(&articles));
        #[cfg(not(feature = "parallel"))]
        index.insert_batch(&articles);
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  {n:>8} {:>8.1} {secs:>10.2} {:>12.1} {:>14}",
            size as f64 / 1e6 / secs,
            secs * 1e6 / n as f64,
            (index.memory_bytes() / n).saturating_sub(signature),
        );
    }
    Ok(())
}

/// The synthetic pile: each article's text and its story.
struct Pile {
    texts: Vec<String>,
    story: Vec<usize>,
    stories: usize,
}

impl Pile {
    /// `count` articles made from the seed texts' words, the same for the same seed texts.
    fn generate(seeds: &[String], count: usize) -> Option<Pile> {
        let chain = Chain::new(seeds)?;
        let lengths: Vec<usize> = seeds.iter().map(|s| s.split_whitespace().count()).collect();
        let mut rng = Rng(0x5ca1_ab1e);
        let mut pile = Pile { texts: Vec::with_capacity(count), story: Vec::new(), stories: 0 };
        for _ in 0..count {
            if pile.stories > 0 && rng.below(5) == 0 {
                let source = pile.texts.len() - 1 - rng.below(pile.texts.len().min(20_000));
                let text = reprint_of(&pile.texts[source], &chain, &mut rng);
                pile.story.push(pile.story[source]);
                pile.texts.push(text);
            } else {
                let words = lengths[rng.below(lengths.len())].max(1);
                pile.texts.push(chain.walk(words, &mut rng));
                pile.story.push(pile.stories);
                pile.stories += 1;
            }
        }
        Some(pile)
    }
}

/// A reprint of `text`: a byline, a few words swapped for others, sometimes the end cut off.
fn reprint_of(text: &str, chain: &Chain, rng: &mut Rng) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    let swaps = words.len() * rng.below(5) / 100;
    for _ in 0..swaps {
        let at = rng.below(words.len());
        words[at] = chain.words[rng.below(chain.words.len())];
    }
    if rng.below(5) == 0 {
        let keep = words.len() * (70 + rng.below(26)) / 100;
        words.truncate(keep.max(1));
    }
    let mut out = String::with_capacity(text.len() + 40);
    if rng.below(2) == 0 {
        let name = |rng: &mut Rng| chain.words[rng.below(chain.words.len())];
        out.push_str(&format!("By {} {} | Wire staff\n", name(rng), name(rng)));
    }
    out.push_str(&words.join(" "));
    out
}

/// Which words follow which in the seed texts, with repeats, so that common pairs are drawn
/// as often as they occur.
struct Chain<'a> {
    words: Vec<&'a str>,
    next: Vec<Vec<u32>>,
}

impl<'a> Chain<'a> {
    fn new(seeds: &'a [String]) -> Option<Chain<'a>> {
        let mut ids: AHashMap<&str, u32> = AHashMap::new();
        let mut chain = Chain { words: Vec::new(), next: Vec::new() };
        for text in seeds {
            let mut previous: Option<u32> = None;
            for word in text.split_whitespace() {
                let id = *ids.entry(word).or_insert_with(|| {
                    chain.words.push(word);
                    chain.next.push(Vec::new());
                    (chain.words.len() - 1) as u32
                });
                if let Some(p) = previous {
                    chain.next[p as usize].push(id);
                }
                previous = Some(id);
            }
        }
        (!chain.words.is_empty()).then_some(chain)
    }

    /// `words` words, starting anywhere and starting again anywhere at a dead end.
    fn walk(&self, words: usize, rng: &mut Rng) -> String {
        let mut out = String::new();
        let mut at = rng.below(self.words.len());
        for i in 0..words {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(self.words[at]);
            let next = &self.next[at];
            at = if next.is_empty() {
                rng.below(self.words.len())
            } else {
                next[rng.below(next.len())] as usize
            };
        }
        out
    }
}

/// SplitMix64: a small, seeded, reproducible generator.
struct Rng(u64);

impl Rng {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((u128::from(z) * n as u128) >> 64) as usize
    }
}

/// The global allocator of this program: the system's, counting the bytes held from it and
/// the most held since the count was last reset. Unlike the resident set, the count leaves
/// out what the allocator keeps in reserve from earlier runs.
struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

impl Counting {
    fn grew(bytes: usize) {
        let held = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
        PEAK.fetch_max(held, Ordering::Relaxed);
    }

    fn shrank(bytes: usize) {
        HELD.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Sets the peak to the bytes held now, and returns them.
    fn reset_peak() -> usize {
        let held = HELD.load(Ordering::Relaxed);
        PEAK.store(held, Ordering::Relaxed);
        held
    }

    fn peak() -> usize {
        PEAK.load(Ordering::Relaxed)
    }
}

// SAFETY: every call goes to the system allocator with the arguments it was given, so the
// system allocator's guarantees hold; the counting touches no memory of the caller.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let block = unsafe { System.alloc(layout) };
        if !block.is_null() {
            Counting::grew(layout.size());
        }
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let block = unsafe { System.alloc_zeroed(layout) };
        if !block.is_null() {
            Counting::grew(layout.size());
        }
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a block this allocator gave, with its layout.
        unsafe { System.dealloc(block, layout) };
        Counting::shrank(layout.size());
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, with a valid new size.
        let moved = unsafe { System.realloc(block, layout, size) };
        if !moved.is_null() {
            // The difference: a block that moves is held twice only inside this call.
            Counting::grew(size.saturating_sub(layout.size()));
            Counting::shrank(layout.size().saturating_sub(size));
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;
