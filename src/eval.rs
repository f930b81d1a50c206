//! Scoring a clustering against known labels: pairwise precision, recall and F1, and the
//! adjusted Rand index (Hubert and Arabie 1985).
//!
//! Both views count pairs of articles. A pair is *true* when the labels put both articles in one
//! story, *predicted* when the clustering puts them in one group. Pairwise scores say how many
//! predicted pairs are true (precision) and how many true pairs were predicted (recall); the
//! adjusted Rand index (ARI) scores agreement on all pairs, together and apart, corrected for
//! chance: 1 for identical partitions, about 0 for a random one.

use std::collections::HashMap;
use std::hash::Hash;

/// Pair counts and scores of a predicted partition against the true one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Number of articles.
    pub articles: usize,
    /// Pairs in one story according to the labels.
    pub true_pairs: u64,
    /// Pairs in one group according to the clustering.
    pub predicted_pairs: u64,
    /// Pairs that are both.
    pub correct_pairs: u64,
    /// `correct / predicted` (1 when nothing was predicted).
    pub precision: f64,
    /// `correct / true` (1 when there is nothing to find).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Adjusted Rand index.
    pub ari: f64,
}

/// Scores the partition given by `predicted` labels against the `truth` labels: article `i` has
/// true label `truth[i]` and predicted label `predicted[i]`. Labels are compared for equality
/// only; their values do not matter.
///
/// Only the first `min(truth.len(), predicted.len())` articles are scored.
///
/// # Example
///
/// ```
/// use reprint::eval::score;
///
/// let s = score(&["a", "a", "b", "b"], &[0, 0, 1, 2]);
/// assert_eq!((s.precision, s.recall), (1.0, 0.5));
/// assert!((s.ari - 4.0 / 7.0).abs() < 1e-12);
/// ```
pub fn score<T: Eq + Hash, P: Eq + Hash>(truth: &[T], predicted: &[P]) -> Scores {
    let n = truth.len().min(predicted.len());
    let mut cells: HashMap<(&T, &P), u64> = HashMap::new();
    let mut rows: HashMap<&T, u64> = HashMap::new();
    let mut cols: HashMap<&P, u64> = HashMap::new();
    for (t, p) in truth.iter().zip(predicted).take(n) {
        *cells.entry((t, p)).or_default() += 1;
        *rows.entry(t).or_default() += 1;
        *cols.entry(p).or_default() += 1;
    }
    let pairs = |m: u64| m * m.saturating_sub(1) / 2;
    let correct: u64 = cells.values().copied().map(pairs).sum();
    let true_pairs: u64 = rows.values().copied().map(pairs).sum();
    let predicted_pairs: u64 = cols.values().copied().map(pairs).sum();
    let precision =
        if predicted_pairs == 0 { 1.0 } else { correct as f64 / predicted_pairs as f64 };
    let recall = if true_pairs == 0 { 1.0 } else { correct as f64 / true_pairs as f64 };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    let all = pairs(n as u64) as f64;
    let expected = if all == 0.0 { 0.0 } else { true_pairs as f64 * predicted_pairs as f64 / all };
    let max = (true_pairs + predicted_pairs) as f64 / 2.0;
    // Both partitions trivial in the same way (all singletons, or one group): perfect agreement.
    let ari = if max == expected { 1.0 } else { (correct as f64 - expected) / (max - expected) };
    Scores {
        articles: n,
        true_pairs,
        predicted_pairs,
        correct_pairs: correct,
        precision,
        recall,
        f1,
        ari,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_partitions_score_one() {
        let s = score(&[1, 1, 2, 3, 3, 3], &["x", "x", "y", "z", "z", "z"]);
        assert_eq!((s.precision, s.recall, s.f1, s.ari), (1.0, 1.0, 1.0, 1.0));
        assert_eq!((s.true_pairs, s.predicted_pairs, s.correct_pairs), (4, 4, 4));
    }

    #[test]
    fn textbook_example() {
        // Truth {0,1}{2,3}; prediction {0,1}{2}{3}. Contingency index 1, row pairs 2, column
        // pairs 1, all pairs 6: expected 1/3, max 3/2, ARI = (1 - 1/3) / (3/2 - 1/3) = 4/7.
        let s = score(&[0, 0, 1, 1], &[0, 0, 1, 2]);
        assert!((s.ari - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!((s.precision, s.recall), (1.0, 0.5));
        assert!((s.f1 - 2.0 / 3.0).abs() < 1e-12);
        // ARI is symmetric.
        assert!((score(&[0, 0, 1, 2], &[0, 0, 1, 1]).ari - 4.0 / 7.0).abs() < 1e-12);
    }

    #[test]
    fn everything_in_one_group_against_singletons() {
        let s = score(&[0, 1, 2, 3], &[0, 0, 0, 0]);
        assert_eq!(s.ari, 0.0);
        assert_eq!((s.precision, s.recall), (0.0, 1.0));
        assert_eq!(s.f1, 0.0);
    }

    #[test]
    fn all_singletons_on_both_sides_agree() {
        let s = score(&[0, 1, 2], &[5, 6, 7]);
        assert_eq!((s.precision, s.recall, s.ari), (1.0, 1.0, 1.0));
    }

    #[test]
    fn label_values_do_not_matter() {
        let a = score(&[7, 7, 9, 8], &[1, 2, 2, 3]);
        let b = score(&["p", "p", "q", "r"], &[0, 1, 1, 5]);
        assert_eq!(a, b);
    }
}
