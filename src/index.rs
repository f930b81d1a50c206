//! A streaming index: articles are inserted as they arrive, and each insertion answers "which
//! earlier articles is this a reprint of?" without clustering everything again.
//!
//! The index runs the same pipeline as [`Clusterer::cluster`]: each article's MinHash signature
//! is cut into LSH bands (or its SimHash fingerprint keyed by the permuted tables), the articles
//! that share a band (a table key) with it become candidates, and every candidate is verified
//! exactly as `cluster` verifies it (from the shingle sets with [`Verification::Exact`], from the
//! sketches with [`Verification::Estimate`]). Inserting articles `0, 1, 2, ...` in order
//! therefore finds the same verified pairs as clustering them in one batch, and
//! [`Index::groups`] joins them with the clusterer's [`Linkage`], giving the
//! groups `cluster` gives.
//!
//! The one difference lies in buckets larger than the bucket cap (see
//! [`ClustererBuilder::bucket_cap`](crate::ClustererBuilder::bucket_cap)): a batch knows a
//! bucket's final size, the index only its size so far, so an article that joined a bucket while
//! it was still small was compared with all its members. The index then finds every pair the
//! batch finds, and possibly a few more.
//!
//! # Example
//!
//! ```
//! use reprint::Index;
//!
//! let mut index = Index::default();
//! let story = "The Senate passed the spending bill late on Friday after a long debate over \
//!     border security, sending it to the president, who is expected to sign it.";
//! index.insert(1, &format!("WASHINGTON (AP) - {story}"));
//! index.insert(2, "Local volunteers planted four hundred trees along the river on Saturday.");
//! let matches = index.insert(3, &format!("{story} Copyright 2024."));
//! assert_eq!(matches.len(), 1);
//! assert_eq!(matches[0].id, 1);
//! assert!(matches[0].similarity > 0.5);
//! assert_eq!(index.groups(), [vec![1, 3], vec![2]]);
//! ```
//!
//! # Saved indexes
//!
//! [`Index::save`] writes a versioned binary format, all integers little-endian:
//!
//! 1. the magic bytes `RPRNTIDX` and the format version ([`FORMAT_VERSION`], a `u32`);
//! 2. the configuration: signature family and SimHash distance, shingle kind and size, MinHash
//!    scheme, slots, seed, similarity measure, threshold, verification, LSH bands and rows,
//!    bucket cap, and a fingerprint of how text is normalised, tokenised and hashed (the xxh3
//!    hash of the signature, SimHash fingerprint and shingle set of a fixed probe text, so that a
//!    release that changes any of those refuses older files instead of giving wrong answers);
//!    then the xxh3 hash of everything so far;
//! 3. the number of articles and of verified pairs, then each article (its id, its number of
//!    distinct shingles, its signature as `u32`s, or its fingerprint as two `u32`s, low half
//!    first, and, with exact verification, its shingle set: a `u64` length, then its sorted
//!    shingle keys as `u32`s), then each verified pair
//!    (two article positions and the similarity as an `f64`);
//! 4. the xxh3 hash of everything before it.
//!
//! [`Index::load`] reads the file back for a given [`Clusterer`] and checks each part: another
//! file ([`Error::BadMagic`]), another format version ([`Error::UnsupportedVersion`]), another
//! configuration ([`Error::ConfigMismatch`], naming the setting), a file cut short
//! ([`Error::Truncated`]), or altered ([`Error::ChecksumMismatch`], [`Error::Corrupt`]). Lengths
//! read from the file never decide an allocation by themselves: buffers grow only as the bytes
//! they describe arrive.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;

use ahash::RandomState;
use hashbrown::{HashTable, hash_table};
use xxhash_rust::xxh3::Xxh3Default;

use crate::cluster::{
    Clusterer, FILTER_BLOCK, Linkage, Pair, SetScratch, exact_similarity, filter_map_sorted_pairs,
    majority_links, plausible_pair, sketch_key, sorted_keys,
};
use crate::config::{SignatureKind, Similarity, Verification};
use crate::error::{Error, Result};
use crate::lsh::{BAND_BLOCK, Banding};
use crate::minhash::{Scheme, Scratch, containment_from_jaccard, jaccard_of_slots};
use crate::shingle::Shingles;
use crate::simhash::{FingerprintScratch, hamming};

/// The version of the format [`Index::save`] writes and [`Index::load`] reads. Version 3 has
/// the layout of version 2 but hashes word k-grams with a rolled polynomial; it was raised so
/// that a version 2 file is refused as [`Error::UnsupportedVersion`], naming the cause. (A
/// release that hashes text differently is otherwise caught by the header's text fingerprint,
/// as [`Error::ConfigMismatch`].)
pub const FORMAT_VERSION: u32 = 3;

const MAGIC: [u8; 8] = *b"RPRNTIDX";

/// The most articles an index holds at once (slots are `u32`s with one bit reserved).
const MAX_ARTICLES: usize = (1 << 31) - 1;

/// An earlier article that a new one is a reprint of.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Match {
    /// The id the earlier article was inserted with.
    pub id: u64,
    /// The similarity of the two articles in the configured measure (exact or estimated, as
    /// configured): the same value [`Clusterer::cluster`] reports for the pair.
    pub similarity: f64,
}

/// A streaming index of articles; see the [module docs](self) for how it relates to
/// [`Clusterer::cluster`] and for the file format.
///
/// Articles are identified by a `u64` id chosen by the caller (a database key, a hash of the
/// URL). Inserting an id that is already present replaces that article, as a map would.
///
/// Both signature families work: with [`SignatureKind::MinHash`] candidates share an LSH band,
/// with [`SignatureKind::SimHash`] their fingerprints agree on one of the permuted tables' keys
/// and lie within the search distance, as in [`Clusterer::cluster`].
///
/// Memory per article: its sketch (a MinHash signature of 4 bytes per slot, or an 8-byte SimHash
/// fingerprint), with exact verification its shingle set (4 bytes per distinct shingle), and
/// about 8 bytes per LSH band (or SimHash table) for the buckets (a 5-byte table entry, in
/// tables at most 7/8 full), more for bands whose bucket it shares with other articles.
/// [`Index::insert_batch`] sizes the arrays and tables for the batch; one-by-one insertions
/// grow them by doubling. [`Index::memory_bytes`] gives the total.
#[derive(Clone)]
pub struct Index {
    clusterer: Clusterer,
    family: Family,
    /// Sketch length in `u32`s: the signature's slots, or 2 for a SimHash fingerprint.
    width: usize,
    /// Per slot, in insertion order: the caller's id.
    ids: Vec<u64>,
    /// Per slot: whether the article is still in the index. Removed articles keep their slot
    /// (without their shingle set) until the index is compacted.
    live: Vec<bool>,
    /// Per slot: the number of distinct shingles.
    counts: Vec<u32>,
    /// Per slot: the sketch's `width` values, one after the other.
    sketches: Vec<u32>,
    /// Per slot: the shingle set, sorted shingle keys (exact verification only; the vector
    /// is empty otherwise).
    sets: Vec<Box<[u32]>>,
    /// The slots of live articles, found by id: the table holds slots and hashes the id each
    /// one has in `ids`.
    slot_of: HashTable<u32>,
    /// Hashes ids for `slot_of`.
    id_hasher: RandomState,
    buckets: Buckets,
    /// Every verified pair found so far; pairs with a removed article are skipped, then
    /// dropped when the index is compacted.
    links: Vec<Link>,
    /// Number of removed slots.
    dead: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Link {
    /// The earlier article's slot.
    a: u32,
    /// The later article's slot.
    b: u32,
    similarity: f64,
}

/// How candidates are found: the configured signature family with its keys.
#[derive(Clone)]
enum Family {
    /// Keys are LSH bands of the MinHash signature.
    MinHash(Banding),
    /// Keys are the fingerprint's bits under each permuted table's mask; candidates must then
    /// lie within `max_distance` bits.
    SimHash { masks: Vec<u64>, max_distance: u32 },
}

impl Family {
    /// The number of keys (and bucket maps) per article.
    fn keys(&self) -> usize {
        match self {
            Family::MinHash(banding) => banding.bands,
            Family::SimHash { masks, .. } => masks.len(),
        }
    }

    fn key(&self, sketch: &[u32], band: usize) -> u64 {
        match self {
            Family::MinHash(banding) => banding.key(sketch, band),
            Family::SimHash { masks, .. } => fingerprint_bits(sketch) & masks[band],
        }
    }
}

/// A SimHash fingerprint stored as two `u32`s, low half first.
fn fingerprint_bits(sketch: &[u32]) -> u64 {
    debug_assert_eq!(sketch.len(), 2);
    u64::from(sketch[0]) | u64::from(sketch[1]) << 32
}

/// An article hashed and ready to insert.
/// What verification needs of one article, stored or new.
#[derive(Clone, Copy)]
struct Article<'a> {
    sketch: &'a [u32],
    count: usize,
    set: &'a [u32],
}

struct Prepared {
    sketch: Vec<u32>,
    /// The number of distinct shingles; 0 for an empty article.
    count: usize,
    set: Box<[u32]>,
}

impl Prepared {
    fn article(&self) -> Article<'_> {
        Article { sketch: &self.sketch, count: self.count, set: &self.set }
    }
}

#[derive(Default)]
struct Buffers {
    scratch: Scratch,
    fingerprint: FingerprintScratch,
    /// The last article's shingle keys, and the counts for sorting them.
    keys: Vec<u32>,
    counts: Vec<usize>,
}

impl Default for Index {
    /// An empty index with the default settings: `Index::new(Clusterer::default())`.
    fn default() -> Self {
        Index::new(Clusterer::default())
    }
}

impl fmt::Debug for Index {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Index")
            .field("config", self.clusterer.config())
            .field("len", &self.len())
            .field("pairs", &self.links.len())
            .finish_non_exhaustive()
    }
}

impl Index {
    /// An empty index that hashes, bands and verifies articles as `clusterer` does.
    pub fn new(clusterer: Clusterer) -> Index {
        let config = clusterer.config();
        let (family, width) = match config.signature {
            SignatureKind::MinHash => (Family::MinHash(clusterer.banding()), config.slots),
            SignatureKind::SimHash => {
                let tables = clusterer.tables();
                let family = Family::SimHash {
                    masks: tables.masks().to_vec(),
                    max_distance: tables.max_distance(),
                };
                (family, 2)
            }
        };
        Index {
            buckets: Buckets::new(family.keys()),
            family,
            width,
            ids: Vec::new(),
            live: Vec::new(),
            counts: Vec::new(),
            sketches: Vec::new(),
            sets: Vec::new(),
            slot_of: HashTable::new(),
            id_hasher: fixed_state(0x5107),
            links: Vec::new(),
            dead: 0,
            clusterer,
        }
    }

    /// The clusterer whose settings the index uses.
    pub fn clusterer(&self) -> &Clusterer {
        &self.clusterer
    }

    /// The number of articles in the index.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether the index holds no article.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Whether an article with this id is in the index.
    pub fn contains(&self, id: u64) -> bool {
        self.slot(id).is_some()
    }

    /// The ids of the articles in the index, in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.ids.iter().zip(&self.live).filter(|(_, live)| **live).map(|(&id, _)| id)
    }

    /// Adds an article and returns the earlier articles it is a reprint of: those whose
    /// similarity reaches the threshold, best first (ties by ascending id).
    ///
    /// If an article with the same `id` is already present, it is removed first: the new text
    /// replaces it and is not compared with it. An empty article is kept (it counts in
    /// [`len`](Index::len) and forms a group of its own) but matches nothing.
    ///
    /// # Panics
    ///
    /// If the index already holds `2^31 - 1` articles.
    pub fn insert(&mut self, id: u64, text: &str) -> Vec<Match> {
        let prepared = self.prepare(text, &mut Buffers::default());
        self.insert_prepared(id, prepared)
    }

    /// Inserts many articles, in order, and returns each one's matches as
    /// [`insert`](Index::insert) would. The signatures (and shingle sets) are computed in
    /// parallel with the `parallel` feature; the insertions then run in order, so the result
    /// does not depend on the number of threads and equals inserting the articles one by one.
    ///
    /// # Panics
    ///
    /// If the index would hold more than `2^31 - 1` articles.
    pub fn insert_batch<S: AsRef<str> + Sync>(&mut self, articles: &[(u64, S)]) -> Vec<Vec<Match>> {
        let prepared = self.prepare_all(articles);
        self.reserve(articles.len());
        let mut seen = HashSet::with_capacity_and_hasher(articles.len(), fixed_state(0x5108));
        if articles.iter().all(|&(id, _)| !self.contains(id) && seen.insert(id)) {
            return self.insert_new(articles, prepared);
        }
        articles.iter().zip(prepared).map(|(&(id, _), p)| self.insert_prepared(id, p)).collect()
    }

    /// Makes room for `additional` more articles, so that inserting them does not grow the
    /// index's arrays and bucket tables on the way (growing a bucket table computes the key of
    /// each of its buckets again from a sketch). [`insert_batch`](Index::insert_batch)
    /// reserves for its batch by itself. The room is allocated at once: about `8 × bands`
    /// bytes and a sketch an article.
    ///
    /// # Panics
    ///
    /// If the new capacity overflows `usize`, as [`Vec::reserve`] does.
    pub fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
        self.live.reserve(additional);
        self.counts.reserve(additional);
        self.sketches.reserve(additional.saturating_mul(self.width));
        if self.exact() {
            self.sets.reserve(additional);
        }
        let (ids, hasher) = (&self.ids, &self.id_hasher);
        self.slot_of.reserve(additional, |&s| hasher.hash_one(ids[s as usize]));
        self.buckets.reserve(additional, |band| {
            stored_keys(&self.family, &self.sketches, self.width, band)
        });
    }

    /// The articles in the index that `text` is a reprint of, best first, without inserting it:
    /// what [`insert`](Index::insert) would return for a new id.
    pub fn query(&self, text: &str) -> Vec<Match> {
        self.query_with_min(text, 0.0)
    }

    /// Like [`query`](Index::query), keeping only matches whose similarity is at least
    /// `min_similarity`. The index only finds pairs at or above the threshold it was built
    /// with, so a minimum at or below the threshold changes nothing.
    pub fn query_with_min(&self, text: &str, min_similarity: f64) -> Vec<Match> {
        let prepared = self.prepare(text, &mut Buffers::default());
        let mut candidates = Vec::new();
        if prepared.count > 0 {
            for band in 0..self.family.keys() {
                let key = self.family.key(&prepared.sketch, band);
                let keys = stored_keys(&self.family, &self.sketches, self.width, band);
                self.buckets.candidates(band, key, self.cap(), keys, &mut candidates);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut matches: Vec<Match> = self
            .verify(prepared.article(), &candidates)
            .filter(|&(_, similarity)| similarity >= min_similarity)
            .map(|(slot, similarity)| Match { id: self.ids[slot as usize], similarity })
            .collect();
        sort_matches(&mut matches);
        matches
    }

    /// Removes the article with this id; returns whether it was present. Its verified pairs
    /// go with it: it is no longer returned by queries nor part of any group.
    pub fn remove(&mut self, id: u64) -> bool {
        let ids = &self.ids;
        let Ok(entry) =
            self.slot_of.find_entry(self.id_hasher.hash_one(id), |&s| ids[s as usize] == id)
        else {
            return false;
        };
        let slot = entry.remove().0;
        let s = slot as usize;
        if self.counts[s] > 0 {
            for band in 0..self.family.keys() {
                let key = self.family.key(self.sketch(s), band);
                let keys = stored_keys(&self.family, &self.sketches, self.width, band);
                self.buckets.remove(band, key, slot, keys);
            }
        }
        self.live[s] = false;
        if let Some(set) = self.sets.get_mut(s) {
            *set = Box::default();
        }
        self.dead += 1;
        // Removed slots keep their signature and pairs until they outnumber the live ones;
        // compacting then costs as much as the insertions since the last time, so removal stays
        // amortised O(bands).
        if self.dead > 64 && self.dead > self.len() {
            self.compact();
        }
        true
    }

    /// The groups of reprints among the articles in the index: the verified pairs found so far,
    /// joined with the clusterer's [`Linkage`], each group a list of ids in
    /// ascending order, ordered by their smallest id. Every article is in exactly one group.
    /// With ids `0, 1, 2, ...` given in insertion order this is
    /// [`Clusters::groups`](crate::Clusters::groups) of the same articles (see the
    /// [module docs](self) for the one exception). Computed on each call: with majority
    /// linkage, a few exact comparisons per verified pair.
    pub fn groups(&self) -> Vec<Vec<u64>> {
        let n = self.ids.len();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &mut [u32], mut x: u32) -> u32 {
            while parent[x as usize] != x {
                parent[x as usize] = parent[parent[x as usize] as usize];
                x = parent[x as usize];
            }
            x
        }
        // The same linkage as `cluster`: over slots in insertion order, so inserting articles
        // in input order gives `cluster`'s groups.
        let live: Vec<Pair> = self
            .links
            .iter()
            .filter(|l| self.live[l.a as usize] && self.live[l.b as usize])
            .map(|l| Pair { a: l.a as usize, b: l.b as usize, similarity: l.similarity })
            .collect();
        let joined = match self.clusterer.config().linkage() {
            Linkage::Single => live,
            Linkage::Majority => majority_links(
                n,
                live,
                |slot| sketch_key([self.sketch(slot)]),
                |a, b| self.judge(self.article(a), self.article(b)).is_some(),
            ),
        };
        for link in &joined {
            let (ra, rb) = (find(&mut parent, link.a as u32), find(&mut parent, link.b as u32));
            if ra != rb {
                // The smaller root wins, so roots stay deterministic.
                let (lo, hi) = (ra.min(rb), ra.max(rb));
                parent[hi as usize] = lo;
            }
        }
        let mut group_of_root = vec![usize::MAX; n];
        let mut groups: Vec<Vec<u64>> = Vec::new();
        for slot in 0..n as u32 {
            if !self.live[slot as usize] {
                continue;
            }
            let root = find(&mut parent, slot) as usize;
            if group_of_root[root] == usize::MAX {
                group_of_root[root] = groups.len();
                groups.push(Vec::new());
            }
            let g = group_of_root[root];
            groups[g].push(self.ids[slot as usize]);
        }
        for g in &mut groups {
            g.sort_unstable();
        }
        groups.sort_unstable_by_key(|g| g[0]);
        groups
    }

    /// An estimate of the heap memory the index holds, in bytes: its arrays at their capacity
    /// and its hash tables at their bucket count.
    pub fn memory_bytes(&self) -> usize {
        use std::mem::size_of;
        let vec = |cap: usize, size: usize| cap * size;
        vec(self.ids.capacity(), size_of::<u64>())
            + vec(self.live.capacity(), 1)
            + vec(self.counts.capacity(), size_of::<u32>())
            + vec(self.sketches.capacity(), size_of::<u32>())
            + vec(self.sets.capacity(), size_of::<Box<[u32]>>())
            + self.sets.iter().map(|s| s.len() * size_of::<u32>()).sum::<usize>()
            + vec(self.links.capacity(), size_of::<Link>())
            + self.slot_of.allocation_size()
            + self.buckets.memory_bytes()
    }

    /// Writes the index to `writer` in the format described in the [module docs](self).
    /// Removed articles are left out.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if writing fails.
    pub fn save<W: Write>(&self, writer: W) -> Result<()> {
        let mut out = HashingWriter { inner: BufWriter::new(writer), hasher: Xxh3Default::new() };
        out.put(&MAGIC)?;
        out.put(&FORMAT_VERSION.to_le_bytes())?;
        Header::of(&self.clusterer).write(&mut out)?;
        let header_sum = out.hasher.digest();
        out.put(&header_sum.to_le_bytes())?;

        // Slots are renumbered without the removed ones.
        let mut new_slot = vec![u32::MAX; self.ids.len()];
        for (next, slot) in (0..self.ids.len()).filter(|&s| self.live[s]).enumerate() {
            new_slot[slot] = next as u32;
        }
        let links: Vec<&Link> = self
            .links
            .iter()
            .filter(|l| self.live[l.a as usize] && self.live[l.b as usize])
            .collect();
        out.put(&(self.len() as u64).to_le_bytes())?;
        out.put(&(links.len() as u64).to_le_bytes())?;
        let exact = self.clusterer.config().verification == Verification::Exact;
        let mut buf = Vec::with_capacity(12 + 4 * self.width);
        for slot in (0..self.ids.len()).filter(|&s| self.live[s]) {
            buf.clear();
            buf.extend_from_slice(&self.ids[slot].to_le_bytes());
            buf.extend_from_slice(&self.counts[slot].to_le_bytes());
            for v in self.sketch(slot) {
                buf.extend_from_slice(&v.to_le_bytes());
            }
            if exact {
                let set = &self.sets[slot];
                buf.extend_from_slice(&(set.len() as u64).to_le_bytes());
                for h in set.iter() {
                    buf.extend_from_slice(&h.to_le_bytes());
                }
            }
            out.put(&buf)?;
        }
        for link in links {
            out.put(&new_slot[link.a as usize].to_le_bytes())?;
            out.put(&new_slot[link.b as usize].to_le_bytes())?;
            out.put(&link.similarity.to_bits().to_le_bytes())?;
        }
        let checksum = out.hasher.digest();
        out.inner.write_all(&checksum.to_le_bytes()).map_err(io_error)?;
        out.inner.flush().map_err(io_error)
    }

    /// Writes the index to the file at `path`: first to a temporary file beside it, then
    /// renamed over `path`, so that a failure never leaves a half-written index there.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] if the file cannot be written.
    pub fn save_path<P: AsRef<Path>>(&self, path: P) -> Result<()> {
        let path = path.as_ref();
        let Some(name) = path.file_name() else {
            return Err(Error::Io {
                kind: io::ErrorKind::InvalidInput,
                message: format!("{} is not a file path", path.display()),
            });
        };
        let mut tmp_name = name.to_os_string();
        tmp_name.push(".tmp");
        let tmp = path.with_file_name(tmp_name);
        let written = File::create(&tmp).map_err(io_error).and_then(|file| {
            self.save(&file)?;
            file.sync_all().map_err(io_error)
        });
        match written.and_then(|()| std::fs::rename(&tmp, path).map_err(io_error)) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Best effort: the error that matters is the one already in hand.
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// Reads an index written by [`save`](Index::save) with the settings of `clusterer`.
    ///
    /// `reader` is read in small pieces: wrap a file in a [`BufReader`] (as
    /// [`load_path`](Index::load_path) does). Exactly the bytes `save` wrote are read.
    ///
    /// # Errors
    ///
    /// [`Error::BadMagic`] if the data is not a saved index, [`Error::UnsupportedVersion`] if it
    /// was written in another format version, [`Error::ConfigMismatch`] if it was made with other
    /// settings (or by a release that normalises or hashes text differently),
    /// [`Error::Truncated`] if it ends early, [`Error::ChecksumMismatch`] or [`Error::Corrupt`] if
    /// its bytes were altered, [`Error::Io`] if reading fails.
    pub fn load<R: Read>(clusterer: Clusterer, reader: R) -> Result<Index> {
        let mut input = HashingReader { inner: reader, hasher: Xxh3Default::new() };
        if input.array::<8>()? != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = u32::from_le_bytes(input.array()?);
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
        }
        let found = Header::read(&mut input)?;
        let header_sum = input.hasher.digest();
        let stored = u64::from_le_bytes(input.array()?);
        if stored != header_sum {
            return Err(Error::ChecksumMismatch { stored, computed: header_sum });
        }
        Header::of(&clusterer).check(&found)?;

        let mut index = Index::new(clusterer);
        let exact = index.clusterer.config().verification == Verification::Exact;
        let articles = input.u64()?;
        let links = input.u64()?;
        if articles > MAX_ARTICLES as u64 {
            return Err(Error::Corrupt { what: "article count" });
        }
        // Capacities from the file are capped: a corrupted count must not allocate by itself.
        let initial = (articles as usize).min(1 << 12);
        index.reserve(initial);
        let mut buf = vec![0u8; 12 + 4 * index.width];
        let mut sketch = vec![0u32; index.width];
        for _ in 0..articles {
            input.fill(&mut buf)?;
            let id = u64::from_le_bytes(buf[..8].try_into().unwrap_or_default());
            let count = u32::from_le_bytes(buf[8..12].try_into().unwrap_or_default());
            for (v, bytes) in sketch.iter_mut().zip(buf[12..].chunks_exact(4)) {
                *v = u32::from_le_bytes(bytes.try_into().unwrap_or_default());
            }
            let set = if exact { input.sorted_set()? } else { Box::default() };
            if index.contains(id) {
                return Err(Error::Corrupt { what: "an article id occurs twice" });
            }
            if (count == 0) != set.is_empty() && exact {
                return Err(Error::Corrupt { what: "shingle set size" });
            }
            index.push(id, count, &sketch, set);
        }
        let n = index.ids.len() as u32;
        index.links.reserve((links as usize).min(1 << 12));
        for _ in 0..links {
            let a = input.u32()?;
            let b = input.u32()?;
            let similarity = f64::from_bits(input.u64()?);
            if !(a < b && b < n) {
                return Err(Error::Corrupt { what: "a pair refers to no article" });
            }
            if !(0.0..=1.0).contains(&similarity) {
                return Err(Error::Corrupt { what: "a pair similarity is not in [0, 1]" });
            }
            index.links.push(Link { a, b, similarity });
        }
        let computed = input.hasher.digest();
        let mut stored = [0u8; 8];
        input.inner.read_exact(&mut stored).map_err(read_error)?;
        let stored = u64::from_le_bytes(stored);
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }
        Ok(index)
    }

    /// Reads the index saved in the file at `path`; see [`load`](Index::load).
    ///
    /// # Errors
    ///
    /// As [`load`](Index::load).
    pub fn load_path<P: AsRef<Path>>(clusterer: Clusterer, path: P) -> Result<Index> {
        let file = File::open(path).map_err(io_error)?;
        Index::load(clusterer, BufReader::new(file))
    }

    // ---- internals ----

    fn cap(&self) -> usize {
        self.clusterer.config().bucket_cap
    }

    fn sketch(&self, slot: usize) -> &[u32] {
        &self.sketches[slot * self.width..(slot + 1) * self.width]
    }

    /// The slot of the live article `id`.
    fn slot(&self, id: u64) -> Option<u32> {
        self.slot_of.find(self.id_hasher.hash_one(id), |&s| self.ids[s as usize] == id).copied()
    }

    fn exact(&self) -> bool {
        self.clusterer.config().verification == Verification::Exact
    }

    fn prepare(&self, text: &str, buffers: &mut Buffers) -> Prepared {
        // With exact verification, the shingle set is made of the keys that signing counted,
        // sorted: the text is not shingled again.
        let exact = self.clusterer.config().verification == Verification::Exact;
        let Buffers { scratch, fingerprint, keys, counts } = buffers;
        keys.clear();
        let (sketch, count) = match &self.family {
            Family::MinHash(_) => {
                let signer = self.clusterer.signer();
                let signature = if exact {
                    signer.sign_listing(text, scratch, keys)
                } else {
                    signer.sign(text, scratch)
                };
                (signature.slots().to_vec(), signature.shingle_count())
            }
            Family::SimHash { .. } => {
                let print = self.clusterer.fingerprinter().fingerprint(text, fingerprint);
                if exact {
                    fingerprint.keys_into(keys);
                }
                let bits = print.bits();
                (vec![bits as u32, (bits >> 32) as u32], print.shingle_count())
            }
        };
        let set = if exact && count > 0 {
            sorted_keys(keys, counts).into_boxed_slice()
        } else {
            Box::default()
        };
        Prepared { sketch, count, set }
    }

    fn prepare_all<S: AsRef<str> + Sync>(&self, articles: &[(u64, S)]) -> Vec<Prepared> {
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            articles
                .par_iter()
                .map_init(Buffers::default, |buffers, (_, text)| {
                    self.prepare(text.as_ref(), buffers)
                })
                .collect()
        }
        #[cfg(not(feature = "parallel"))]
        {
            let mut buffers = Buffers::default();
            articles.iter().map(|(_, text)| self.prepare(text.as_ref(), &mut buffers)).collect()
        }
    }

    fn insert_prepared(&mut self, id: u64, prepared: Prepared) -> Vec<Match> {
        // Replacing first also settles any compaction before the new slot is numbered.
        self.remove(id);
        let slot = self.ids.len();
        assert!(slot < MAX_ARTICLES, "an index holds at most 2^31 - 1 articles");
        let slot = slot as u32;
        let mut candidates = Vec::new();
        if prepared.count > 0 {
            let cap = self.cap();
            for band in 0..self.family.keys() {
                let key = self.family.key(&prepared.sketch, band);
                let keys = stored_keys(&self.family, &self.sketches, self.width, band);
                self.buckets.add(band, key, slot, cap, keys, &mut candidates);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let found: Vec<(u32, f64)> = self.verify(prepared.article(), &candidates).collect();
        let mut matches = Vec::with_capacity(found.len());
        for &(earlier, similarity) in &found {
            self.links.push(Link { a: earlier, b: slot, similarity });
            matches.push(Match { id: self.ids[earlier as usize], similarity });
        }
        let count = u32::try_from(prepared.count).unwrap_or(u32::MAX);
        self.push_entry(id, count, &prepared.sketch, prepared.set);
        sort_matches(&mut matches);
        matches
    }

    /// Inserts a batch of articles whose ids are all new and distinct, with the result of
    /// inserting them one by one ([`insert_prepared`](Index::insert_prepared)), in three passes:
    ///
    /// - every article is stored;
    /// - each band's buckets take every article in turn, [`BAND_BLOCK`] bands at a time. Each
    ///   article finds in a bucket the earlier articles of that band's key, as one by one;
    /// - each article's candidates are verified (in parallel with the `parallel` feature),
    ///   against the articles before it alone, as one by one, the pairs of a large batch taken
    ///   by blocks of articles (see [`filter_map_sorted_pairs`]).
    ///
    /// One article at a time files an article in every band's table in turn: once the tables
    /// outgrow the cache, that is a miss a band. One band at a time reads one table, which stays
    /// in the cache, and the keys of the batch's articles in that band, which are computed
    /// [`BAND_BLOCK`] bands at a time from one read of each sketch.
    fn insert_new<S>(&mut self, articles: &[(u64, S)], prepared: Vec<Prepared>) -> Vec<Vec<Match>> {
        let first = self.ids.len();
        let n = articles.len();
        assert!(first + n <= MAX_ARTICLES, "an index holds at most 2^31 - 1 articles");
        let counts: Vec<usize> = prepared.iter().map(|p| p.count).collect();
        for (&(id, _), p) in articles.iter().zip(prepared) {
            let count = u32::try_from(p.count).unwrap_or(u32::MAX);
            self.push_entry(id, count, &p.sketch, p.set);
        }
        // The articles with a sketch: the empty ones have no bands.
        let live: Vec<usize> = (0..n).filter(|&i| counts[i] > 0).collect();
        let mut candidates: Vec<Vec<u32>> = vec![Vec::new(); n];
        let (cap, bands) = (self.cap(), self.family.keys());
        let mut keys = Vec::new();
        for block in (0..bands).step_by(BAND_BLOCK) {
            let block = block..bands.min(block + BAND_BLOCK);
            // The keys of the block's bands, a run of `n` for each band.
            keys.clear();
            keys.resize(block.len() * n, 0);
            for &i in &live {
                let sketch = self.sketch(first + i);
                for (j, band) in block.clone().enumerate() {
                    keys[j * n + i] = self.family.key(sketch, band);
                }
            }
            for (j, band) in block.enumerate() {
                let batch = &keys[j * n..(j + 1) * n];
                let stored = stored_keys(&self.family, &self.sketches, self.width, band);
                let key_of = |slot: u32| match (slot as usize).checked_sub(first) {
                    Some(i) => batch[i],
                    None => stored(slot),
                };
                for &i in &live {
                    let slot = (first + i) as u32;
                    self.buckets.add(band, batch[i], slot, cap, key_of, &mut candidates[i]);
                }
            }
        }
        // The candidates as pairs (article, earlier article), sorted and without repeats.
        let mut pairs = Vec::new();
        for (i, found) in candidates.iter_mut().enumerate() {
            found.sort_unstable();
            found.dedup();
            let slot = (first + i) as u32;
            pairs.extend(found.iter().map(|&earlier| (slot, earlier)));
        }
        drop(candidates);
        // Verification reads the sketches of both articles (and the shingle sets of the few
        // pairs that need them).
        let block = (FILTER_BLOCK / (4 * self.width).max(1)).max(1);
        let verified = filter_map_sorted_pairs(&pairs, self.ids.len(), block, |slot, earlier| {
            let new =
                Article { count: counts[slot as usize - first], ..self.article(slot as usize) };
            self.judge(self.article(earlier as usize), new)
        });
        drop(pairs);
        let mut verified = verified.into_iter().peekable();
        (first..first + n)
            .map(|slot| {
                let slot = slot as u32;
                let mut matches = Vec::new();
                while let Some(((_, earlier), similarity)) =
                    verified.next_if(|&((s, _), _)| s == slot)
                {
                    self.links.push(Link { a: earlier, b: slot, similarity });
                    matches.push(Match { id: self.ids[earlier as usize], similarity });
                }
                sort_matches(&mut matches);
                matches
            })
            .collect()
    }

    /// Appends an article and files it in its buckets (used when loading and compacting, where
    /// no candidate is needed).
    fn push(&mut self, id: u64, count: u32, sketch: &[u32], set: Box<[u32]>) {
        let slot = self.ids.len() as u32;
        if count > 0 {
            for band in 0..self.family.keys() {
                let key = self.family.key(sketch, band);
                let keys = stored_keys(&self.family, &self.sketches, self.width, band);
                self.buckets.add(band, key, slot, usize::MAX, keys, &mut Vec::new());
            }
        }
        self.push_entry(id, count, sketch, set);
    }

    fn push_entry(&mut self, id: u64, count: u32, sketch: &[u32], set: Box<[u32]>) {
        debug_assert_eq!(sketch.len(), self.width);
        let slot = self.ids.len() as u32;
        self.ids.push(id);
        self.live.push(true);
        self.counts.push(count);
        self.sketches.extend_from_slice(sketch);
        if self.exact() {
            self.sets.push(set);
        } else {
            debug_assert!(set.is_empty());
        }
        let (ids, hasher) = (&self.ids, &self.id_hasher);
        self.slot_of
            .insert_unique(hasher.hash_one(id), slot, |&s| hasher.hash_one(ids[s as usize]));
    }

    /// The candidates (sorted, distinct, live) whose similarity with `new` reaches the
    /// threshold, verified as [`Clusterer::cluster`] verifies a pair: the earlier article is the
    /// pair's first member.
    fn verify<'a>(
        &'a self,
        new: Article<'a>,
        candidates: &'a [u32],
    ) -> impl Iterator<Item = (u32, f64)> + 'a {
        candidates.iter().filter_map(move |&c| {
            debug_assert!(self.live[c as usize]);
            self.judge(self.article(c as usize), new).map(|s| (c, s))
        })
    }

    /// The stored article in `slot`.
    fn article(&self, slot: usize) -> Article<'_> {
        Article {
            sketch: self.sketch(slot),
            count: self.counts[slot] as usize,
            set: self.sets.get(slot).map_or(&[], |set| set),
        }
    }

    /// The similarity of `a` and `b` if the pair passes verification, as `cluster` decides it:
    /// SimHash pairs must lie within the distance, then are verified exactly or (estimate) kept
    /// with similarity `1 - distance / 64`; MinHash pairs far below the threshold skip the exact
    /// comparison.
    fn judge(&self, a: Article<'_>, b: Article<'_>) -> Option<f64> {
        let config = self.clusterer.config();
        let (threshold, measure) = (config.threshold, config.similarity);
        let exact = config.verification == Verification::Exact;
        if let Family::SimHash { max_distance, .. } = self.family {
            if a.count == 0 || b.count == 0 {
                return None;
            }
            let d = hamming(fingerprint_bits(a.sketch), fingerprint_bits(b.sketch));
            if d > max_distance {
                return None;
            }
            if !exact {
                return Some(1.0 - f64::from(d) / 64.0);
            }
            let similarity = exact_similarity(a.set, b.set, measure);
            return (similarity >= threshold).then_some(similarity);
        }
        let similarity = if exact {
            // The filter of `cluster`, on the same low 16 bits of each slot.
            // One sum in 16-bit lanes (at most `MAX_SLOTS` places), which compiles to vector
            // compares; a count of the places compiled to 64-bit lanes.
            let equal =
                a.sketch.iter().zip(b.sketch).map(|(&x, &y)| u16::from(x as u16 == y as u16));
            let equal_low = usize::from(equal.fold(0u16, u16::wrapping_add));
            if !plausible_pair(equal_low, config.slots, threshold, measure, a.count, b.count) {
                return None;
            }
            exact_similarity(a.set, b.set, measure)
        } else {
            let j_est = jaccard_of_slots(a.sketch, a.count, b.sketch, b.count);
            match measure {
                Similarity::Jaccard => j_est,
                Similarity::Containment => containment_from_jaccard(j_est, a.count, b.count),
            }
        };
        (similarity >= threshold).then_some(similarity)
    }

    /// Rebuilds the index without its removed articles, keeping insertion order.
    fn compact(&mut self) {
        let mut fresh = Index::new(self.clusterer.clone());
        fresh.reserve(self.len());
        let mut new_slot = vec![u32::MAX; self.ids.len()];
        let mut sets = std::mem::take(&mut self.sets);
        for (slot, new) in new_slot.iter_mut().enumerate() {
            if self.live[slot] {
                // Without exact verification there are no sets.
                let set = sets.get_mut(slot).map(std::mem::take).unwrap_or_default();
                *new = fresh.ids.len() as u32;
                fresh.push(self.ids[slot], self.counts[slot], self.sketch(slot), set);
            }
        }
        fresh.links = self
            .links
            .iter()
            .filter(|l| self.live[l.a as usize] && self.live[l.b as usize])
            .map(|l| Link { a: new_slot[l.a as usize], b: new_slot[l.b as usize], ..*l })
            .collect();
        *self = fresh;
    }
}

/// The key in `band` of a stored article, computed from its sketch (the bucket tables store
/// no key).
fn stored_keys<'a>(
    family: &'a Family,
    sketches: &'a [u32],
    width: usize,
    band: usize,
) -> impl Fn(u32) -> u64 + 'a {
    move |slot| {
        let at = slot as usize * width;
        family.key(&sketches[at..at + width], band)
    }
}

/// Best first; ties by ascending id.
fn sort_matches(matches: &mut [Match]) {
    matches.sort_unstable_by(|x, y| y.similarity.total_cmp(&x.similarity).then(x.id.cmp(&y.id)));
}

pub(crate) fn fixed_map<K, V>(salt: u64) -> HashMap<K, V, RandomState> {
    HashMap::with_hasher(fixed_state(salt))
}

/// A hasher with fixed seeds: nothing the index returns depends on them, but fixed seeds keep
/// runs reproducible down to their memory layout.
fn fixed_state(salt: u64) -> RandomState {
    RandomState::with_seeds(
        0x7265_7072_696E_7400 ^ salt,
        0x243F_6A88_85A3_08D3,
        0x1319_8A2E_0370_7344,
        0xA409_3822_299F_31D0,
    )
}

/// The LSH buckets: per band, band key to members in insertion order.
///
/// Most buckets hold one article, so a bucket is stored as a single `u32`: the member's slot,
/// or (top bit set) where its list starts in `lists` when it has several. That keeps a bucket
/// at one table entry instead of a table entry plus a list.
///
/// The tables store neither the band key nor its hash: both are computed again from the first
/// member's sketch, which the index keeps anyway, whenever a look-up meets an entry with the
/// same 7-bit tag (the table's control byte) and when a table grows. An entry is then 5 bytes
/// (the `u32` and its control byte) where a map from key to bucket took 9: the buckets are
/// most of an index's memory beyond the sketches.
///
/// Buckets are told apart by their band keys folded to 32 bits ([`bucket_key`]), as
/// `cluster` pairs them: two different band keys then share a bucket with probability 2⁻³²
/// per pair and band; the extra candidate is verified like any other, so it can only add a
/// pair that passes verification.
#[derive(Clone)]
struct Buckets {
    bands: Vec<HashTable<u32>>,
    lists: Lists,
}

const LIST: u32 = 1 << 31;

impl Buckets {
    fn new(bands: usize) -> Buckets {
        Buckets { bands: (0..bands).map(|_| HashTable::new()).collect(), lists: Lists::default() }
    }

    /// The members a new article in bucket `key` of `band` is compared with, as the batch
    /// clusterer pairs a bucket: all of them while the bucket, with the new article, holds at
    /// most `cap`; beyond that only the first and the last (the new article's predecessor), so
    /// that the cost per insertion stays bounded. `key_of` gives a stored slot's key in `band`.
    fn candidates(
        &self,
        band: usize,
        key: u64,
        cap: usize,
        key_of: impl Fn(u32) -> u64,
        out: &mut Vec<u32>,
    ) {
        let fold = bucket_key(key);
        let lists = &self.lists;
        let same = |&v: &u32| fold_of(lists, &key_of, v) == fold;
        if let Some(&v) = self.bands[band].find(table_hash(fold), same) {
            if v & LIST == 0 {
                out.push(v);
            } else {
                push_members(lists.members(v & !LIST), cap, out);
            }
        }
    }

    /// [`candidates`](Buckets::candidates), then adds `slot` to the bucket.
    fn add(
        &mut self,
        band: usize,
        key: u64,
        slot: u32,
        cap: usize,
        key_of: impl Fn(u32) -> u64,
        out: &mut Vec<u32>,
    ) {
        debug_assert!(slot < LIST);
        let fold = bucket_key(key);
        let Buckets { bands, lists } = self;
        if bands[band].len() == bands[band].capacity() {
            // The new article's slot comes after every stored one.
            grow(&mut bands[band], lists, slot as usize, &key_of);
        }
        let entry = {
            let lists = &*lists;
            let stored = |&v: &u32| fold_of(lists, &key_of, v);
            bands[band].entry(table_hash(fold), |v| stored(v) == fold, |v| table_hash(stored(v)))
        };
        match entry {
            hash_table::Entry::Vacant(e) => {
                e.insert(slot);
            }
            hash_table::Entry::Occupied(mut e) => {
                let v = *e.get();
                if v & LIST == 0 {
                    out.push(v);
                    *e.get_mut() = LIST | lists.pair(v, slot);
                } else {
                    push_members(lists.members(v & !LIST), cap, out);
                    *e.get_mut() = LIST | lists.push(v & !LIST, slot);
                }
            }
        }
    }

    fn remove(&mut self, band: usize, key: u64, slot: u32, key_of: impl Fn(u32) -> u64) {
        let fold = bucket_key(key);
        let Buckets { bands, lists } = self;
        let found = {
            let lists = &*lists;
            bands[band].find_entry(table_hash(fold), |&v| fold_of(lists, &key_of, v) == fold)
        };
        let Ok(mut e) = found else {
            debug_assert!(false, "a live article is in each of its buckets");
            return;
        };
        let v = *e.get();
        if v & LIST == 0 {
            debug_assert_eq!(v, slot);
            e.remove();
            return;
        }
        *e.get_mut() = match lists.remove(v & !LIST, slot) {
            Bucket::Single(member) => member,
            Bucket::List(at) => LIST | at,
        };
    }

    /// Room in every band for `additional` more buckets, so that a batch's buckets are filed
    /// without the tables growing (growing computes every stored key again).
    fn reserve<K: Fn(u32) -> u64>(&mut self, additional: usize, key_of: impl Fn(usize) -> K) {
        let Buckets { bands, lists } = self;
        for (band, table) in bands.iter_mut().enumerate() {
            let key_of = key_of(band);
            table.reserve(additional, |&v| table_hash(fold_of(lists, &key_of, v)));
        }
    }

    fn memory_bytes(&self) -> usize {
        self.bands.iter().map(HashTable::allocation_size).sum::<usize>() + self.lists.memory_bytes()
    }
}

/// The buckets of two members or more, their lists in one vector: a list is a block of
/// [`block_cells`] `u32`s, its length and then its members, found by where it starts (in units
/// of [`UNIT`] cells, so that a `u32` without its top bit reaches 32 GiB of lists). A list that
/// outgrows its block, or shrinks to half of it, moves to a block of the right size; the
/// blocks it leaves are reused by the next lists of their size, never merged or given back:
/// the arena only shrinks when removals make the index compact itself, which builds it anew.
///
/// Why not a vector per list: most lists hold two or three members (at 100,000 articles at the
/// defaults, 1.5 of 1.7 million), and a vector took 24 bytes for itself and a heap block of
/// at least 32 bytes for those 8 or 12. Here they take 16 bytes, and no call to the allocator
/// per list.
#[derive(Clone, Default)]
struct Lists {
    cells: Vec<u32>,
    /// Per size class (blocks of `UNIT << class` cells), where free blocks start.
    free: Vec<Vec<u32>>,
}

/// What is left of a bucket after a member is removed from its list.
enum Bucket {
    Single(u32),
    List(u32),
}

/// Cells per unit of a list's start: the smallest block.
const UNIT: usize = 4;

/// The cells of the block that holds a list of `len` members: its length, then its members,
/// rounded up to a power of two of at least [`UNIT`].
fn block_cells(len: usize) -> usize {
    (len + 1).next_power_of_two().max(UNIT)
}

impl Lists {
    /// The members of the list that starts at `at`.
    fn members(&self, at: u32) -> &[u32] {
        let at = at as usize * UNIT;
        let len = self.cells[at] as usize;
        &self.cells[at + 1..at + 1 + len]
    }

    /// A block for a list of `len` members, its length set; returns where it starts.
    fn allocate(&mut self, len: usize) -> u32 {
        let cells = block_cells(len);
        let class = (cells / UNIT).trailing_zeros() as usize;
        let at = match self.free.get_mut(class).and_then(Vec::pop) {
            Some(at) => at,
            None => {
                let start = self.cells.len();
                self.cells.resize(start + cells, 0);
                u32::try_from(start / UNIT)
                    .ok()
                    .filter(|&at| at < LIST)
                    .expect("bucket lists of an index fit in 32 GiB")
            }
        };
        self.cells[at as usize * UNIT] = len as u32;
        at
    }

    /// Frees the block of the list that starts at `at`.
    fn release(&mut self, at: u32) {
        let len = self.cells[at as usize * UNIT] as usize;
        let class = (block_cells(len) / UNIT).trailing_zeros() as usize;
        if self.free.len() <= class {
            self.free.resize(class + 1, Vec::new());
        }
        self.free[class].push(at);
    }

    /// A new list of two members; returns where it starts.
    fn pair(&mut self, first: u32, second: u32) -> u32 {
        let at = self.allocate(2);
        let cell = at as usize * UNIT;
        self.cells[cell + 1..cell + 3].copy_from_slice(&[first, second]);
        at
    }

    /// Appends `slot` to the list that starts at `at`; returns where the list starts now.
    fn push(&mut self, at: u32, slot: u32) -> u32 {
        let cell = at as usize * UNIT;
        let len = self.cells[cell] as usize;
        let at = if block_cells(len + 1) == block_cells(len) {
            self.cells[cell] = (len + 1) as u32;
            at
        } else {
            let moved = self.allocate(len + 1);
            let to = moved as usize * UNIT;
            self.cells.copy_within(cell + 1..cell + 1 + len, to + 1);
            self.cells[cell] = len as u32;
            self.release(at);
            moved
        };
        self.cells[at as usize * UNIT + len + 1] = slot;
        at
    }

    /// Removes `slot` from the list that starts at `at`, keeping the others' order.
    fn remove(&mut self, at: u32, slot: u32) -> Bucket {
        let cell = at as usize * UNIT;
        let len = self.cells[cell] as usize;
        let members = cell + 1..cell + 1 + len;
        let Some(p) = self.cells[members.clone()].iter().position(|&s| s == slot) else {
            debug_assert!(false, "a live article is in each of its buckets");
            return Bucket::List(at);
        };
        self.cells.copy_within(cell + 2 + p..members.end, cell + 1 + p);
        let len = len - 1;
        if len == 1 {
            let single = self.cells[cell + 1];
            self.cells[cell] = 2;
            self.release(at);
            return Bucket::Single(single);
        }
        if block_cells(len) == block_cells(len + 1) {
            self.cells[cell] = len as u32;
            return Bucket::List(at);
        }
        let moved = self.allocate(len);
        let to = moved as usize * UNIT;
        self.cells.copy_within(cell + 1..cell + 1 + len, to + 1);
        self.cells[cell] = (len + 1) as u32;
        self.release(at);
        Bucket::List(moved)
    }

    fn memory_bytes(&self) -> usize {
        self.cells.capacity() * 4
            + self.free.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.free.iter().map(|f| f.capacity() * 4).sum::<usize>()
    }
}

/// Doubles a full bucket table. The table stores no hashes, so each bucket's key is computed
/// again from its first member's sketch; this goes through the buckets in the order of those
/// members, and so reads the sketches in memory order, where the table's own growth read them
/// in its order, one cache miss a bucket.
/// `slots` is where the slots stored end (the members' slots are below it).
fn grow(table: &mut HashTable<u32>, lists: &Lists, slots: usize, key_of: impl Fn(u32) -> u64) {
    // Each bucket under its first member (a slot is the first member of one bucket a band at
    // most), so that a pass over the slots finds them in order.
    let mut by_first = vec![u64::MAX; slots];
    for &v in table.iter() {
        let first = first_member(lists, v) as usize;
        if first >= by_first.len() {
            by_first.resize(first + 1, u64::MAX);
        }
        by_first[first] = u64::from(v);
    }
    let hash = |v: u32| table_hash(fold_of(lists, &key_of, v));
    let mut grown = HashTable::with_capacity(2 * table.capacity().max(4));
    for (first, &v) in by_first.iter().enumerate() {
        if let Ok(v) = u32::try_from(v) {
            let h = table_hash(bucket_key(key_of(first as u32)));
            grown.insert_unique(h, v, |&v| hash(v));
        }
    }
    *table = grown;
}

/// The folded band key of bucket `v`, from its first member's sketch.
fn fold_of(lists: &Lists, key_of: &impl Fn(u32) -> u64, v: u32) -> u32 {
    bucket_key(key_of(first_member(lists, v)))
}

/// The first member of bucket `v`: the slot itself, or the first of its list (a list holds
/// two members or more).
fn first_member(lists: &Lists, v: u32) -> u32 {
    if v & LIST == 0 { v } else { lists.cells[(v & !LIST) as usize * UNIT + 1] }
}

/// The hash a bucket table files a folded band key under: the fold itself in the low half,
/// which chooses the position, and a multiple of it in the high half, whose top 7 bits are
/// the tag.
fn table_hash(fold: u32) -> u64 {
    let h = u64::from(fold);
    h | h.wrapping_mul(0x9E37_79B9_7F4A_7C15) << 32
}

/// A band key folded to the 32 bits a bucket table stores: the high half of a product with an
/// odd constant, which depends on every bit of the key (SimHash table keys are raw fingerprint
/// bits, not hashes).
fn bucket_key(key: u64) -> u32 {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32
}

fn push_members(members: &[u32], cap: usize, out: &mut Vec<u32>) {
    if members.len() < cap {
        out.extend_from_slice(members);
    } else if let (Some(&first), Some(&last)) = (members.first(), members.last()) {
        out.push(first);
        out.push(last);
    }
}

/// The configuration as the file records it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Header {
    signature: u8,
    simhash_distance: u32,
    shingle_kind: u8,
    shingle_size: u32,
    scheme: u8,
    slots: u32,
    seed: u64,
    similarity: u8,
    threshold: f64,
    verification: u8,
    bands: u32,
    rows: u32,
    bucket_cap: u64,
    text: u64,
}

/// Exercises every step of normalisation and tokenisation: case, typographic quotes, dashes
/// and ellipses, compatibility forms, full-width letters, invisible characters, punctuation at
/// token ends and inside them, scripts written without spaces, and repeated words.
const PROBE: &str = "The “Quick” BROWN fox — jumped… over ﬁve ＦＵＬＬ-width dogs, said Dr. O’Neil \
    (AP); 3.5% of U.S. zero\u{200B}width soft\u{AD}hyphen\tTAB\r\nnew line. 東京は今日も晴れでした。\
    ภาษาไทย Ünïcödé ΑΒΓ кириллица the quick brown fox the quick brown fox.";

impl Header {
    fn of(clusterer: &Clusterer) -> Header {
        let config = clusterer.config();
        let (shingle_kind, shingle_size) = match config.shingles {
            Shingles::Words(k) => (0, k as u32),
            Shingles::Chars(k) => (1, k as u32),
        };
        let banding = clusterer.banding();
        Header {
            signature: match config.signature {
                SignatureKind::MinHash => 0,
                SignatureKind::SimHash => 1,
            },
            simhash_distance: config.simhash_distance,
            shingle_kind,
            shingle_size,
            scheme: match config.scheme {
                Scheme::OnePermutation => 0,
                Scheme::Classic => 1,
            },
            slots: config.slots as u32,
            seed: config.seed,
            similarity: match config.similarity {
                Similarity::Jaccard => 0,
                Similarity::Containment => 1,
            },
            threshold: config.threshold,
            verification: match config.verification {
                Verification::Exact => 0,
                Verification::Estimate => 1,
            },
            bands: banding.bands as u32,
            rows: banding.rows as u32,
            bucket_cap: config.bucket_cap as u64,
            text: text_fingerprint(clusterer),
        }
    }

    fn write<W: Write>(&self, out: &mut HashingWriter<W>) -> Result<()> {
        out.put(&[self.signature])?;
        out.put(&self.simhash_distance.to_le_bytes())?;
        out.put(&[self.shingle_kind])?;
        out.put(&self.shingle_size.to_le_bytes())?;
        out.put(&[self.scheme])?;
        out.put(&self.slots.to_le_bytes())?;
        out.put(&self.seed.to_le_bytes())?;
        out.put(&[self.similarity])?;
        out.put(&self.threshold.to_bits().to_le_bytes())?;
        out.put(&[self.verification])?;
        out.put(&self.bands.to_le_bytes())?;
        out.put(&self.rows.to_le_bytes())?;
        out.put(&self.bucket_cap.to_le_bytes())?;
        out.put(&self.text.to_le_bytes())
    }

    fn read<R: Read>(input: &mut HashingReader<R>) -> Result<Header> {
        Ok(Header {
            signature: input.u8()?,
            simhash_distance: input.u32()?,
            shingle_kind: input.u8()?,
            shingle_size: input.u32()?,
            scheme: input.u8()?,
            slots: input.u32()?,
            seed: input.u64()?,
            similarity: input.u8()?,
            threshold: f64::from_bits(input.u64()?),
            verification: input.u8()?,
            bands: input.u32()?,
            rows: input.u32()?,
            bucket_cap: input.u64()?,
            text: input.u64()?,
        })
    }

    /// `Ok` if `found` is this configuration; otherwise the first setting that differs.
    fn check(&self, found: &Header) -> Result<()> {
        let mismatch = |field: &'static str, expected: String, found: String| {
            Err(Error::ConfigMismatch { field, expected, found })
        };
        let shingles = |kind: u8, size: u32| match kind {
            0 => Shingles::Words(size as usize).to_string(),
            1 => Shingles::Chars(size as usize).to_string(),
            other => format!("unknown shingle kind {other}"),
        };
        let name = |code: u8, names: [&str; 2]| {
            names
                .get(code as usize)
                .map_or_else(|| format!("unknown code {code}"), |n| n.to_string())
        };
        let e = self;
        let f = found;
        if e.signature != f.signature {
            let names = ["MinHash", "SimHash"];
            return mismatch("signature", name(e.signature, names), name(f.signature, names));
        }
        if e.simhash_distance != f.simhash_distance {
            return mismatch(
                "SimHash distance",
                e.simhash_distance.to_string(),
                f.simhash_distance.to_string(),
            );
        }
        if (e.shingle_kind, e.shingle_size) != (f.shingle_kind, f.shingle_size) {
            return mismatch(
                "shingles",
                shingles(e.shingle_kind, e.shingle_size),
                shingles(f.shingle_kind, f.shingle_size),
            );
        }
        if e.scheme != f.scheme {
            let names = ["one-permutation", "classic"];
            return mismatch("scheme", name(e.scheme, names), name(f.scheme, names));
        }
        if e.slots != f.slots {
            return mismatch("slots", e.slots.to_string(), f.slots.to_string());
        }
        if e.seed != f.seed {
            return mismatch("seed", format!("{:#x}", e.seed), format!("{:#x}", f.seed));
        }
        if e.similarity != f.similarity {
            let names = ["Jaccard", "containment"];
            return mismatch("similarity", name(e.similarity, names), name(f.similarity, names));
        }
        if e.threshold.to_bits() != f.threshold.to_bits() {
            return mismatch("threshold", e.threshold.to_string(), f.threshold.to_string());
        }
        if e.verification != f.verification {
            let names = ["exact", "estimate"];
            return mismatch(
                "verification",
                name(e.verification, names),
                name(f.verification, names),
            );
        }
        if (e.bands, e.rows) != (f.bands, f.rows) {
            let banding = |b: u32, r: u32| format!("{b} bands x {r} rows");
            return mismatch("banding", banding(e.bands, e.rows), banding(f.bands, f.rows));
        }
        if e.bucket_cap != f.bucket_cap {
            return mismatch("bucket cap", e.bucket_cap.to_string(), f.bucket_cap.to_string());
        }
        if e.text != f.text {
            return mismatch(
                "text hashing",
                format!("{:#018x}", e.text),
                format!("{:#018x}", f.text),
            );
        }
        Ok(())
    }
}

/// A hash of the signature, fingerprint and shingle set of [`PROBE`]: it changes whenever this
/// release normalises, tokenises or hashes text differently from the one that wrote a file.
fn text_fingerprint(clusterer: &Clusterer) -> u64 {
    let mut hasher = Xxh3Default::new();
    let signature = clusterer.signature(PROBE);
    hasher.update(&(signature.shingle_count() as u64).to_le_bytes());
    for v in signature.slots() {
        hasher.update(&v.to_le_bytes());
    }
    hasher.update(&clusterer.fingerprint(PROBE).bits().to_le_bytes());
    for h in clusterer.shingle_set(PROBE, &mut SetScratch::default()) {
        hasher.update(&h.to_le_bytes());
    }
    hasher.digest()
}

fn io_error(e: io::Error) -> Error {
    Error::Io { kind: e.kind(), message: e.to_string() }
}

fn read_error(e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::UnexpectedEof { Error::Truncated } else { io_error(e) }
}

struct HashingWriter<W: Write> {
    inner: BufWriter<W>,
    hasher: Xxh3Default,
}

impl<W: Write> HashingWriter<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.inner.write_all(bytes).map_err(io_error)
    }
}

struct HashingReader<R: Read> {
    inner: R,
    hasher: Xxh3Default,
}

impl<R: Read> HashingReader<R> {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        self.inner.read_exact(buf).map_err(read_error)?;
        self.hasher.update(buf);
        Ok(())
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut buf = [0u8; N];
        self.fill(&mut buf)?;
        Ok(buf)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A `u64` length, then that many strictly ascending `u32`s, read in chunks so that the
    /// allocation grows only with the bytes actually present.
    fn sorted_set(&mut self) -> Result<Box<[u32]>> {
        const CHUNK: usize = 4096;
        let len = self.u64()?;
        let mut set: Vec<u32> = Vec::with_capacity((len as usize).min(CHUNK));
        let mut left = len;
        let mut bytes = vec![0u8; 4 * CHUNK.min(len as usize)];
        while left > 0 {
            let take = (left as usize).min(CHUNK);
            let chunk = &mut bytes[..4 * take];
            self.fill(chunk)?;
            set.extend(
                chunk.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default())),
            );
            left -= take as u64;
        }
        if set.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Error::Corrupt { what: "a shingle set is not sorted" });
        }
        Ok(set.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_checksum_is_xxh3_of_the_bytes() {
        let bytes: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let mut h = Xxh3Default::new();
        h.update(&bytes[..3]);
        h.update(&bytes[3..]);
        assert_eq!(h.digest(), xxhash_rust::xxh3::xxh3_64(&bytes));
    }

    #[test]
    fn buckets_keep_order_and_cap_comparisons() {
        let mut b = Buckets::new(1);
        let mut out = Vec::new();
        for slot in 0..5 {
            out.clear();
            b.add(0, 7, slot, 3, |_| 7, &mut out);
            let expected: &[u32] = match slot {
                0 => &[],
                1 => &[0],
                2 => &[0, 1],
                3 => &[0, 2],
                _ => &[0, 3],
            };
            assert_eq!(out, expected, "slot {slot}");
        }
        b.remove(0, 7, 0, |_| 7);
        b.remove(0, 7, 3, |_| 7);
        out.clear();
        // Three members left: a fourth would overflow the cap of 3.
        b.candidates(0, 7, 3, |_| 7, &mut out);
        assert_eq!(out, [1, 4]);
        out.clear();
        b.candidates(0, 7, 4, |_| 7, &mut out);
        assert_eq!(out, [1, 2, 4]);
        b.remove(0, 7, 1, |_| 7);
        b.remove(0, 7, 2, |_| 7);
        out.clear();
        b.candidates(0, 7, 3, |_| 7, &mut out);
        assert_eq!(out, [4]);
        // The list grew from a block of 4 cells (at unit 0) to one of 8 (at unit 1), came
        // back to the first when it shrank, and left it when one member was left: both blocks
        // are free, and no other was taken.
        assert_eq!(b.lists.free, [vec![0], vec![1]]);
        assert_eq!(b.lists.cells.len(), 12);
        b.remove(0, 7, 4, |_| 7);
        assert!(b.bands[0].is_empty());
    }

    #[test]
    fn lists_keep_members_in_order_through_moves() {
        // Lists grow, then shrink, across block sizes, losing members at every position, and
        // freed blocks are reused: after every step each list must read back as a plain
        // vector would.
        let mut lists = Lists::default();
        let mut plain: Vec<Vec<u32>> = Vec::new();
        let mut at: Vec<u32> = Vec::new();
        for l in 0..5u32 {
            at.push(lists.pair(100 * l, 100 * l + 1));
            plain.push(vec![100 * l, 100 * l + 1]);
        }
        let (mut grown, mut shrunk, mut reused) = (0, 0, 0);
        for step in 0..400u32 {
            let l = (step as usize * 7 + step as usize / 5) % 5;
            let grow = if step < 200 { step % 4 != 3 } else { step % 4 == 3 };
            let old = at[l];
            if grow || plain[l].len() <= 2 {
                let cells = lists.cells.len();
                at[l] = lists.push(old, 1000 + step);
                plain[l].push(1000 + step);
                grown += usize::from(at[l] != old);
                reused += usize::from(at[l] != old && lists.cells.len() == cells);
            } else {
                let position = step as usize * 13 % plain[l].len();
                let gone = plain[l].remove(position);
                match lists.remove(old, gone) {
                    Bucket::List(moved) => at[l] = moved,
                    Bucket::Single(_) => panic!("step {step}: more than one member was left"),
                }
                shrunk += usize::from(at[l] != old);
            }
            for (l, members) in plain.iter().enumerate() {
                assert_eq!(lists.members(at[l]), &members[..], "step {step}, list {l}");
            }
        }
        assert!(grown > 10 && shrunk > 5 && reused > 5, "{grown} {shrunk} {reused}");
        // Down to two members, then one: the one left is the bucket, whichever was removed.
        for (l, keep_first) in [(0, true), (1, false)] {
            while plain[l].len() > 2 {
                let gone = plain[l].remove(1);
                let Bucket::List(moved) = lists.remove(at[l], gone) else {
                    panic!("more than one member was left");
                };
                at[l] = moved;
                assert_eq!(lists.members(at[l]), &plain[l][..]);
            }
            let (gone, left) = if keep_first { (1, 0) } else { (0, 1) };
            match lists.remove(at[l], plain[l][gone]) {
                Bucket::Single(member) => assert_eq!(member, plain[l][left]),
                Bucket::List(_) => panic!("one member was left"),
            }
        }
    }

    #[test]
    fn buckets_survive_their_tables_growing() {
        // Keys from a slot's number: even slots alone in their buckets, odd ones in 13 shared
        // ones, so that each growth moves single members and lists alike.
        let key = |slot: u32| {
            if slot.is_multiple_of(2) { u64::from(slot) } else { 5000 + u64::from(slot % 13) }
        };
        let mut b = Buckets::new(1);
        let mut out = Vec::new();
        for slot in 0..2000 {
            out.clear();
            b.add(0, key(slot), slot, usize::MAX, key, &mut out);
            let expected: Vec<u32> = (0..slot).filter(|&s| key(s) == key(slot)).collect();
            assert_eq!(out, expected, "slot {slot}");
        }
        assert!(b.bands[0].capacity() >= 1013);
        for k in (0..2000).step_by(2).chain(5000..5013) {
            out.clear();
            b.candidates(0, k, usize::MAX, key, &mut out);
            let expected: Vec<u32> = (0..2000).filter(|&s| key(s) == k).collect();
            assert_eq!(out, expected, "key {k}");
        }
    }

    #[test]
    fn compaction_keeps_answers() {
        let mut index = Index::new(Clusterer::builder().slots(32).build().unwrap());
        let text = |i: u64| format!("story {} words about {} things and more words here", i % 7, i);
        for i in 0..300 {
            index.insert(i, &text(i));
        }
        for i in 0..200 {
            assert!(index.remove(i));
        }
        assert!(index.ids.len() < 300, "compacted");
        assert_eq!(index.len(), 100);
        let mut fresh = Index::new(index.clusterer().clone());
        for i in 200..300 {
            fresh.insert(i, &text(i));
        }
        assert_eq!(index.groups(), fresh.groups());
        assert_eq!(index.query(&text(5)), fresh.query(&text(5)));
    }
}
