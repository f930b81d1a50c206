//! Inputs a scraper may produce that could break a deduplicator: masses of identical copies,
//! unrelated articles wrapped in the same page chrome, one huge article, articles with no words,
//! scripts written without spaces, invisible and malformed characters.
//!
//! Sizes are small so that the suite stays fast in a debug build; `examples/adversarial.rs`
//! runs the same corpora at full size and prints time and memory.

use proptest::collection::vec;
use proptest::prelude::*;
mod common;

use common::{Rng, article};
use reprint::{Clusterer, Clusters, Shingles, Similarity, Verification};

// ---------------------------------------------------------------------------------------------
// Deterministic English-like text.

/// `text` with `edits` words replaced by others, at positions drawn from `seed`.
fn edit_words(text: &str, edits: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut words: Vec<&str> = text.split(' ').collect();
    for _ in 0..edits {
        let at = rng.below(words.len());
        words[at] = "REPLACED";
    }
    words.join(" ")
}

/// Checks what `Clusters` promises whatever the input: a partition in canonical order, and
/// pairs inside groups with similarities in `[threshold, 1]`.
fn assert_partition(clusters: &Clusters, n: usize, threshold: f64) {
    let mut seen = vec![false; n];
    for (g, members) in clusters.groups().iter().enumerate() {
        assert!(!members.is_empty());
        assert!(members.windows(2).all(|w| w[0] < w[1]), "unsorted group {members:?}");
        for &i in members {
            assert!(i < n && !seen[i], "index {i} twice or out of range");
            seen[i] = true;
            assert_eq!(clusters.group_of(i), Some(g));
        }
    }
    assert!(seen.iter().all(|&s| s), "an index is in no group");
    assert!(clusters.groups().windows(2).all(|w| w[0][0] < w[1][0]), "groups out of order");
    for p in clusters.pairs() {
        assert!(p.a < p.b && p.b < n);
        assert_eq!(clusters.group_of(p.a), clusters.group_of(p.b));
        assert!(p.similarity >= threshold && p.similarity <= 1.0, "{p:?}");
    }
}

fn singletons_except(n: usize, together: &[usize]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> =
        (0..n).filter(|i| !together.contains(i)).map(|i| vec![i]).collect();
    groups.push(together.to_vec());
    groups.sort();
    groups
}

// ---------------------------------------------------------------------------------------------
// Masses of copies, shared chrome, one huge article.

#[test]
fn a_thousand_identical_articles_form_one_group() {
    let text = article(1, 300);
    let docs = vec![text.as_str(); 1000];
    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    assert_eq!(clusters.groups(), [(0..1000).collect::<Vec<_>>()]);
    assert_eq!(clusters.representatives(), [0]);
    // The bucket cap keeps the verified pairs linear: each copy meets the first and its
    // predecessor, never all 499,500 pairs.
    assert!(clusters.pairs().len() < 2 * docs.len(), "{} pairs", clusters.pairs().len());
}

/// Unrelated stories inside one site's chrome: a 30-word header and a 30-word footer around
/// 300 words of story. A share `c` of common shingles gives a Jaccard of `c / (2 - c)`: here
/// about 0.09, below the 0.16 threshold. (Chrome making up more than 28% of every page would
/// reach it: the crate does not strip boilerplate.)
#[test]
fn shared_header_and_footer_do_not_merge_unrelated_articles() {
    let header = format!("Breaking News Network Home World Politics Sport {}", article(7, 22));
    let footer = format!("{} Copyright all rights reserved Privacy Terms Contact", article(8, 22));
    let n = 1000;
    let mut docs: Vec<String> =
        (0..n).map(|i| format!("{header}\n{}\n{footer}", article(1000 + i as u64, 300))).collect();
    // A reprint of article 17 with five words edited, planted at the end.
    let story = article(1000 + 17, 300);
    docs[n - 1] = format!("{header}\n{}\n{footer}", edit_words(&story, 5, 99));

    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, n, 0.16);
    assert_eq!(clusters.groups(), singletons_except(n, &[17, n - 1]));
    assert_eq!(clusters.pairs().len(), 1);
    assert!(clusters.pairs()[0].similarity > 0.8, "{:?}", clusters.pairs()[0]);

    // The chrome alone is not enough even for containment at 0.5.
    let containment =
        Clusterer::builder().similarity(Similarity::Containment).threshold(0.5).build().unwrap();
    let clusters = containment.cluster(&docs);
    assert_partition(&clusters, n, 0.5);
    assert_eq!(clusters.groups(), singletons_except(n, &[17, n - 1]));
}

#[test]
fn one_huge_article_among_small_ones() {
    // About 2 MB of text, and a copy of it with a different first line.
    let huge = article(5, 320_000);
    assert!(huge.len() > 2_000_000, "{}", huge.len());
    let huge_copy = format!("Reprinted from the wire. {huge}");
    let mut docs: Vec<String> = (0..50).map(|i| article(100 + i, 150)).collect();
    docs.push(huge);
    docs.push(article(100 + 3, 150)); // an exact copy of article 3
    docs.push(huge_copy);
    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    let mut expected = singletons_except(docs.len(), &[3, 51]);
    expected.retain(|g| g != &[50] && g != &[52]);
    expected.push(vec![50, 52]);
    expected.sort();
    assert_eq!(clusters.groups(), expected);
}

// ---------------------------------------------------------------------------------------------
// Articles with no words.

/// An article with no token (empty, blank, invisible or punctuation only) has no shingle: it is
/// similar to nothing, not even to an exact copy, and stands alone. A one-word article has one
/// shingle (its word, without the punctuation at its ends), so its copies group.
#[test]
fn empty_blank_one_word_and_punctuation_only_articles() {
    let docs = [
        "",                         // 0
        " ",                        // 1
        "\n\t \r\n",                // 2
        "word",                     // 3
        "Word.",                    // 4
        "  WORD  ",                 // 5
        "...",                      // 6
        "...",                      // 7
        "!?!",                      // 8
        "—",                        // 9
        "another",                  // 10
        "\u{3000}\u{200B}\u{FEFF}", // 11: ideographic space, zero-width space, BOM
        "",                         // 12
        "\u{1}\u{7f}",              // 13: control characters only
    ];
    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    assert_eq!(clusters.groups(), singletons_except(docs.len(), &[3, 4, 5]));
    for i in [0, 1, 2, 6, 11, 13] {
        assert_eq!(Clusterer::default().similarity(docs[i], docs[i]), 0.0, "{i}");
    }

    // Character shingles keep punctuation: "..." is one shingle and its copy groups, "word."
    // differs from "word", and blank articles still stand alone.
    let chars = Clusterer::builder().shingles(Shingles::Chars(5)).build().unwrap();
    let clusters = chars.cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    let mut expected = singletons_except(docs.len(), &[3, 5]);
    expected.retain(|g| g != &[6] && g != &[7]);
    expected.push(vec![6, 7]);
    expected.sort();
    assert_eq!(clusters.groups(), expected);

    let empty: [&str; 0] = [];
    assert!(reprint::cluster(&empty).is_empty());
}

// ---------------------------------------------------------------------------------------------
// Scripts written without spaces, and Arabic.

const ZH: &str = "北京时间周三晚间，国家气象中心发布暴雨橙色预警，预计未来三天华南地区将出现强降\
    雨天气，部分地区累计降雨量可能超过二百毫米。气象专家提醒，沿海城市居民应注意防范城市内涝和山\
    洪地质灾害，尽量减少外出。交通运输部门表示，已经启动应急预案，对重点路段加强巡查，并及时发布\
    道路通行信息。教育部门也通知各地学校，根据天气情况灵活调整上课时间，确保师生安全。电力公司已\
    派出抢修队伍在各地待命，以便在线路受损时尽快恢复供电。";
const ZH_REPRINT: &str = "【本报讯】北京时间周四晚间，国家气象中心发布暴雨橙色预警，预计未来三天\
    华南地区将出现强降雨天气，部分地区累计降雨量可能超过两百毫米。气象专家提醒，沿海城市居民应注\
    意防范城市内涝和山洪地质灾害，尽可能减少外出。交通运输部门表示，已经启动应急预案，对重点路段\
    加强巡查，并及时发布道路通行信息。教育部门也通知各地学校，根据天气情况灵活调整上课时间，确保\
    师生安全。电力公司已派出抢修队伍在各地待命，以便在线路受损时尽快恢复供电。（编辑：李明）本文\
    来源于新华网，转载请注明出处。";
const ZH_OTHER: &str = "本市图书馆昨天宣布，将在暑假期间延长开放时间，每天晚上九点闭馆，并新增儿\
    童阅读区和自习座位。馆长介绍说，今年新购入图书三万余册，涵盖科技、历史、文学等多个领域，读者\
    可以通过手机预约借阅。此外，图书馆还将举办一系列公益讲座，邀请作家和学者与市民面对面交流，分\
    享读书心得。市民普遍对这一举措表示欢迎，认为这为学生和上班族提供了更多学习机会，也让城市的文\
    化生活更加丰富。有读者表示，希望图书馆今后能在周末安排更多亲子活动。";

const JA: &str = "東京都は二十日、新しい防災計画を発表した。大地震が起きた場合に備えて、都内の全\
    ての小中学校に非常食と飲料水を三日分備蓄するほか、避難所の運営訓練を年二回実施する。また、外\
    国人観光客向けに多言語の案内アプリを開発し、災害時の避難経路や給水所の場所を知らせる仕組みを\
    整える。知事は記者会見で「一人ひとりが日頃から備えることが大切だ」と述べ、家庭での備蓄も呼び\
    かけた。計画の費用は約百二十億円と見込まれている。";
const JA_REPRINT: &str = "【共同】東京都は二十一日、新しい防災計画を発表した。大地震が起きた場合\
    に備えて、都内の全ての小中学校に非常食と飲料水を三日分備蓄するほか、避難所の運営訓練を年二回\
    実施する。また、外国人観光客向けに多言語の案内アプリを開発し、災害時の避難経路や給水所の場所\
    を知らせる仕組みを整える。知事は記者会見で「一人一人が日頃から備えることが大切だ」と述べ、家\
    庭での備蓄も呼びかけた。計画の費用は約百三十億円と見込まれている。（この記事は配信元の許可を\
    得て転載しています）";
const JA_OTHER: &str = "今年の夏は記録的な猛暑となり、各地の海水浴場やプールは多くの家族連れでに\
    ぎわった。気象庁によると、七月の平均気温は観測史上最も高く、熱中症で病院に運ばれた人の数も過\
    去最多を更新した。専門家は、こまめな水分補給とエアコンの適切な使用を呼びかけている。一方で、\
    農家からは野菜の生育が遅れているとの声も上がっており、秋以降の価格への影響が心配されている。\
    政府は電力の需給が厳しくなるとして、節電への協力も求めている。";

const TH: &str = "กรมอุตุนิยมวิทยาประกาศเตือนว่าในช่วงสามวันข้างหน้าจะมีฝนตกหนักในหลายจังหวัดทางภาคเหนือและภาคตะวันออกเฉียงเหนือ \
    ประชาชนที่อาศัยอยู่ใกล้แม่น้ำและเชิงเขาควรระมัดระวังน้ำป่าไหลหลากและดินถล่ม \
    เจ้าหน้าที่ท้องถิ่นได้เตรียมศูนย์พักพิงชั่วคราวและเรือกู้ภัยไว้แล้ว \
    นอกจากนี้ยังขอให้ผู้ขับขี่รถยนต์ลดความเร็วและหลีกเลี่ยงการเดินทางในเวลากลางคืน";
const TH_REPRINT: &str = "ข่าวด่วน \
    กรมอุตุนิยมวิทยาประกาศเตือนว่าในช่วงสี่วันข้างหน้าจะมีฝนตกหนักในหลายจังหวัดทางภาคเหนือและภาคตะวันออกเฉียงเหนือ \
    ประชาชนที่อาศัยอยู่ใกล้แม่น้ำและเชิงเขาควรระมัดระวังน้ำป่าไหลหลากและดินถล่ม \
    เจ้าหน้าที่ท้องถิ่นได้เตรียมศูนย์พักพิงชั่วคราวและเรือกู้ภัยไว้เรียบร้อยแล้ว \
    นอกจากนี้ยังขอให้ผู้ขับขี่รถยนต์ลดความเร็วและหลีกเลี่ยงการเดินทางในเวลากลางคืน \
    ติดตามข่าวสารเพิ่มเติมได้ที่เว็บไซต์ของเรา";
const TH_OTHER: &str = "รัฐบาลเปิดตัวโครงการส่งเสริมการท่องเที่ยวชุมชน \
    โดยจะมอบเงินสนับสนุนให้กับหมู่บ้านที่มีแหล่งท่องเที่ยวทางธรรมชาติและวัฒนธรรม \
    นักท่องเที่ยวสามารถจองที่พักแบบโฮมสเตย์และเข้าร่วมกิจกรรมทำอาหารพื้นบ้านได้ผ่านแอปพลิเคชัน \
    รัฐมนตรีกล่าวว่าโครงการนี้จะช่วยสร้างรายได้ให้ชาวบ้านและกระจายนักท่องเที่ยวออกจากเมืองใหญ่";

const AR: &str = "أعلنت وزارة الصحة اليوم عن إطلاق حملة وطنية للتطعيم ضد الإنفلونزا الموسمية \
    تستهدف كبار السن والأطفال والعاملين في القطاع الصحي. وقال المتحدث باسم الوزارة إن اللقاحات \
    متوفرة مجانا في جميع المراكز الصحية الحكومية، ودعا المواطنين إلى المبادرة بالتطعيم قبل \
    بداية فصل الشتاء. وأضاف أن الحملة ستستمر لمدة شهرين، وأن فرقا متنقلة ستزور المدارس والقرى \
    النائية لضمان وصول اللقاح إلى الجميع.";
const AR_REPRINT: &str = "عاجل - أعلنت وزارة الصحة أمس عن إطلاق حملة وطنية للتطعيم ضد \
    الإنفلونزا الموسمية تستهدف كبار السن والأطفال والعاملين في القطاع الصحي. وقال المتحدث باسم \
    الوزارة إن اللقاحات متوفرة مجانا في جميع المراكز الصحية الحكومية، ودعا المواطنين إلى \
    المبادرة بالتطعيم قبل بداية فصل الشتاء. وأضاف أن الحملة ستستمر لمدة ستين يوما، وأن فرقا \
    متنقلة ستزور المدارس والقرى النائية لضمان وصول اللقاح إلى الجميع. جميع الحقوق محفوظة \
    للوكالة";
const AR_OTHER: &str = "افتتح المتحف الوطني معرضا جديدا يضم أكثر من مئتي قطعة أثرية نادرة تعود \
    إلى حضارات قديمة عاشت في المنطقة. ويستمر المعرض ثلاثة أشهر، ويتضمن جولات إرشادية باللغتين \
    العربية والإنجليزية، إضافة إلى ورش عمل للأطفال حول تاريخ الكتابة والفنون. وأكد مدير المتحف \
    أن الدخول سيكون مجانيا للطلاب في أيام الأحد من كل أسبوع.";

/// Per language: the original, a different story, and a reprint with a header, a footer and a
/// few characters changed. Expected groups: each original with its reprint.
fn multilingual() -> (Vec<&'static str>, Vec<Vec<usize>>) {
    let docs = vec![
        ZH, ZH_OTHER, ZH_REPRINT, JA, JA_OTHER, JA_REPRINT, TH, TH_OTHER, TH_REPRINT, AR, AR_OTHER,
        AR_REPRINT,
    ];
    let groups = (0..4).flat_map(|l| [vec![3 * l, 3 * l + 2], vec![3 * l + 1]]).collect();
    (docs, groups)
}

#[test]
fn texts_are_long_enough_to_mean_something() {
    for text in multilingual().0 {
        assert!(text.chars().count() >= 200, "{} characters", text.chars().count());
    }
}

#[test]
fn reprints_in_chinese_japanese_thai_and_arabic_group_with_word_shingles() {
    let (docs, expected) = multilingual();
    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    assert_eq!(clusters.groups(), expected);
}

/// Character shingles are taken over the normalised text, in which every character of an
/// unspaced script stands between spaces: `Chars(k)` spans about `k / 2` such characters. Below
/// `Chars(6)`, unrelated Thai texts (whose vowel and tone marks are characters of their own)
/// share too many short grams: 0.31 at `Chars(3)`, 0.24 at `Chars(4)`, 0.12 at `Chars(5)`.
#[test]
fn reprints_in_chinese_japanese_thai_and_arabic_group_with_character_shingles() {
    let (docs, expected) = multilingual();
    for k in [6, 8, 12] {
        let clusterer = Clusterer::builder().shingles(Shingles::Chars(k)).build().unwrap();
        let clusters = clusterer.cluster(&docs);
        assert_partition(&clusters, docs.len(), 0.16);
        assert_eq!(clusters.groups(), expected, "Chars({k})");
    }
}

#[test]
fn similarities_in_unspaced_scripts_separate_clearly() {
    let clusterer = Clusterer::builder().shingles(Shingles::Chars(8)).build().unwrap();
    for (original, other, reprint) in [
        (ZH, ZH_OTHER, ZH_REPRINT),
        (JA, JA_OTHER, JA_REPRINT),
        (TH, TH_OTHER, TH_REPRINT),
        (AR, AR_OTHER, AR_REPRINT),
    ] {
        for c in [&Clusterer::default(), &clusterer] {
            let same = c.similarity(original, reprint);
            let different = c.similarity(original, other);
            // A reprint here changes a few characters and adds a line; each change touches k
            // character shingles, so Chars(8) scores it lower than word shingles do (0.68 for
            // Japanese), still four times the default threshold.
            assert!(same > 0.6, "{same} for {:?}", c.config().shingles());
            assert!(different < 0.05, "{different} for {:?}", c.config().shingles());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Invisible, malformed and combining characters.

/// `text` with `insert` placed after the first character of every word.
fn inside_words(text: &str, insert: &str) -> String {
    text.split(' ')
        .map(|w| match w.char_indices().nth(1) {
            Some((at, _)) => format!("{}{insert}{}", &w[..at], &w[at..]),
            None => w.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn invisible_characters_do_not_change_an_article() {
    let original = article(3, 200);
    let variants = [
        ("zero-width spaces in words", inside_words(&original, "\u{200B}")),
        ("zero-width joiners in words", inside_words(&original, "\u{200D}")),
        ("zero-width non-joiners", inside_words(&original, "\u{200C}")),
        ("soft hyphens", inside_words(&original, "\u{AD}")),
        ("word joiners and BOMs", inside_words(&original, "\u{2060}\u{FEFF}")),
        ("RTL marks before words", original.replace(' ', " \u{200F}")),
        ("LTR and RTL embeddings", original.replace(' ', "\u{202B} \u{202C}\u{200E}")),
        ("control characters as spaces", original.replace(' ', "\u{1}\u{1b}")),
        ("C1 controls and NEL", original.replace(' ', "\u{85}\u{9c}")),
        ("non-breaking and ideographic spaces", original.replace(' ', "\u{A0}\u{3000}")),
    ];
    for clusterer in
        [Clusterer::default(), Clusterer::builder().shingles(Shingles::Words(1)).build().unwrap()]
    {
        let reference = clusterer.signature(&original);
        for (what, variant) in &variants {
            assert_eq!(clusterer.signature(variant), reference, "{what}");
            assert_eq!(clusterer.similarity(&original, variant), 1.0, "{what}");
        }
    }
    let mut docs = vec![original.clone()];
    docs.extend(variants.iter().map(|(_, v)| v.clone()));
    docs.push(article(4, 200));
    let clusters = reprint::cluster(&docs);
    assert_partition(&clusters, docs.len(), 0.16);
    assert_eq!(clusters.groups(), [(0..docs.len() - 1).collect::<Vec<_>>(), vec![docs.len() - 1]]);
}

#[test]
fn composed_and_decomposed_accents_are_one_text() {
    let composed = "Le café de la rue Saint-Honoré a rouvert ses portes après trois mois de \
                    travaux, à la grande joie des habitués du quartier et des étudiants.";
    let decomposed: String =
        composed.replace('é', "e\u{301}").replace('è', "e\u{300}").replace('à', "a\u{300}");
    assert_ne!(composed, decomposed);
    let c = Clusterer::default();
    assert_eq!(c.signature(composed), c.signature(&decomposed));
    assert_eq!(reprint::cluster(&[composed, decomposed.as_str()]).groups(), [vec![0, 1]]);
}

#[test]
fn stacked_combining_marks_and_mixed_direction_do_not_panic() {
    let base = article(11, 120);
    // "Zalgo" text: 30 combining marks on every letter of the first 200 bytes.
    let marks: String = ('\u{300}'..='\u{36F}').take(30).collect();
    let zalgo: String = base
        .char_indices()
        .map(
            |(i, ch)| {
                if i < 200 && ch.is_alphabetic() { format!("{ch}{marks}") } else { ch.into() }
            },
        )
        .collect();
    // One letter with 20,000 marks, a Hebrew and Arabic run inside English, isolates.
    let pile = format!("a{}", "\u{301}\u{316}".repeat(10_000));
    let mixed = format!("{base} \u{2067}שלום עולם\u{2069} مرحبا \u{202E}reversed\u{202C} {base}");
    let docs = [base.as_str(), &zalgo, &pile, &mixed, "\u{301}\u{301}", "\u{200D}\u{200D}"];
    for clusterer in
        [Clusterer::default(), Clusterer::builder().shingles(Shingles::Chars(4)).build().unwrap()]
    {
        let clusters = clusterer.cluster(&docs);
        assert_partition(&clusters, docs.len(), 0.16);
        // The zalgo copy keeps most of its words: it is still a reprint.
        assert_eq!(clusters.group_of(0), clusters.group_of(1));
    }
}

#[test]
fn invalid_utf8_signs_like_its_replacement_characters() {
    let c = Clusterer::default();
    let inputs: [&[u8]; 8] = [
        b"\xED\xA0\x80", // an unpaired high surrogate, as CESU/WTF-8 encodes it
        b"\xED\xBF\xBF lone low surrogate",
        b"\xC0\xAF overlong slash",
        b"\xF0\x9F\x98 truncated emoji",
        b"\x80\xBF continuation bytes",
        b"\xFE\xFF\xFF\xFE",
        b"\xF4\x90\x80\x80 above the last code point",
        b"",
    ];
    for bytes in inputs {
        let lossy = String::from_utf8_lossy(bytes);
        assert_eq!(c.signature_bytes(bytes), c.signature(&lossy), "{bytes:?}");
    }
    // Valid UTF-8 gives the same signature through either entry point.
    let text = article(12, 100);
    assert_eq!(c.signature_bytes(text.as_bytes()), c.signature(&text));

    // Malformed bytes between words become a token of replacement characters, which are not
    // letters, so the token is trimmed away: the article is unchanged.
    let dirty: Vec<u8> =
        text.split(' ').flat_map(|w| w.bytes().chain(b" \xED\xA0\x80 ".iter().copied())).collect();
    assert_eq!(c.signature_bytes(&dirty), c.signature(&text));
    // Inside a word they are part of the word: "wo\u{FFFD}rd" is not "word".
    assert_ne!(c.signature_bytes(b"one tw\xFFo three"), c.signature("one two three"));
}

// ---------------------------------------------------------------------------------------------
// Properties over arbitrary text.

fn clusterers() -> Vec<Clusterer> {
    vec![
        Clusterer::default(),
        Clusterer::builder()
            .similarity(Similarity::Containment)
            .verification(Verification::Estimate)
            .threshold(0.5)
            .build()
            .unwrap(),
        Clusterer::builder().shingles(Shingles::Chars(3)).slots(64).build().unwrap(),
    ]
}

/// Text drawn mostly from the characters that exercise the normaliser: controls, invisible
/// format characters, combining marks, spaces of every kind, unspaced scripts, RTL letters.
fn tricky_text() -> impl Strategy<Value = String> {
    "[a-zA-Z .,'\\x00-\\x1f\\x7f-\\u{9f}\u{ad}\u{200b}-\u{200f}\u{202a}-\u{202e}\u{2060}-\u{206f}\
     \u{feff}\u{300}-\u{36f}\u{3000}-\u{3003}\u{4e00}-\u{4e20}\u{3041}-\u{3060}\u{e01}-\u{e3a}\
     \u{5d0}-\u{5ea}\u{627}-\u{64a}\u{fb00}-\u{fb06}\u{ff21}-\u{ff3a}\u{fffd}]{0,60}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn arbitrary_unicode_never_panics_and_partitions(docs in vec(any::<String>(), 0..8)) {
        for c in clusterers() {
            let clusters = c.cluster(&docs);
            assert_partition(&clusters, docs.len(), c.config().threshold());
        }
    }

    #[test]
    fn tricky_text_partitions_and_copies_meet(docs in vec(tricky_text(), 1..6)) {
        let mut docs = docs;
        docs.push(docs[0].clone());
        for c in clusterers() {
            let clusters = c.cluster(&docs);
            assert_partition(&clusters, docs.len(), c.config().threshold());
            if !c.signature(&docs[0]).is_empty() {
                prop_assert_eq!(clusters.group_of(0), clusters.group_of(docs.len() - 1));
            }
        }
    }

    #[test]
    fn arbitrary_bytes_sign_like_their_lossy_decoding(bytes in vec(any::<u8>(), 0..200)) {
        let lossy = String::from_utf8_lossy(&bytes);
        for c in clusterers() {
            prop_assert_eq!(c.signature_bytes(&bytes), c.signature(&lossy));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded cost.
