//! The product index: tantivy in memory, rebuilt from the product events at start (see
//! `events.rs`). Matching is typo tolerant: each query word matches exactly (boosted) or
//! within an edit distance that grows with its length.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Mutex;
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Facet, FacetOptions, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TEXT,
    Value,
};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, doc};

/// What the index keeps of a product.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedProduct {
    pub id: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price_cents: i64,
    pub stock: i64,
}

#[derive(Debug, Default, Clone)]
pub struct Filters {
    pub category: Option<String>,
    pub min_price_cents: Option<i64>,
    pub max_price_cents: Option<i64>,
    pub in_stock: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub score: f32,
    /// (field, text with matched words in `<b>…</b>`), for fields with a match.
    pub highlights: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub struct Results {
    pub hits: Vec<Hit>,
    pub total: usize,
    /// Categories of every matching product, with counts, most common first.
    pub categories: Vec<(String, u64)>,
}

#[derive(Debug, thiserror::Error)]
#[error("search index: {0}")]
pub struct IndexError(String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

struct Fields {
    id: Field,
    name: Field,
    description: Field,
    category: Field,
    price: Field,
    stock: Field,
}

pub struct ProductIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    /// The current products: a stock change re-indexes the whole document from here.
    products: Mutex<HashMap<String, IndexedProduct>>,
}

/// Words shorter than this must match exactly.
const FUZZY_FROM: usize = 4;
/// Words this long may have two typos.
const TWO_TYPOS_FROM: usize = 8;

impl ProductIndex {
    pub fn new() -> Result<ProductIndex, IndexError> {
        let mut schema = Schema::builder();
        let fields = Fields {
            id: schema.add_text_field("id", STRING | STORED),
            name: schema.add_text_field("name", TEXT | STORED),
            description: schema.add_text_field("description", TEXT | STORED),
            category: schema.add_facet_field("category", FacetOptions::default()),
            price: schema.add_i64_field("price_cents", INDEXED | FAST),
            stock: schema.add_i64_field("stock", INDEXED | FAST),
        };
        let index = Index::create_in_ram(schema.build());
        let writer = index.writer(15_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(ProductIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            products: Mutex::new(HashMap::new()),
        })
    }

    /// Adds or replaces a product.
    pub fn upsert(&self, product: IndexedProduct) -> Result<(), IndexError> {
        self.upsert_all(vec![product])
    }

    /// Adds or replaces products, in one commit.
    pub fn upsert_all(&self, products: Vec<IndexedProduct>) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for product in &products {
            writer.delete_term(Term::from_field_text(self.fields.id, &product.id));
            writer.add_document(self.document(product))?;
        }
        self.commit(&mut writer)?;
        let mut known = self.products.lock().unwrap_or_else(|p| p.into_inner());
        for product in products {
            known.insert(product.id.clone(), product);
        }
        Ok(())
    }

    /// Updates a product's stock (unknown products are ignored: their creation will
    /// carry the stock).
    pub fn set_stock(&self, id: &str, stock: i64) -> Result<(), IndexError> {
        let current = self
            .products
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned();
        match current {
            Some(product) => self.upsert(IndexedProduct { stock, ..product }),
            None => Ok(()),
        }
    }

    pub fn delete(&self, id: &str) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer.delete_term(Term::from_field_text(self.fields.id, id));
        self.commit(&mut writer)?;
        self.products
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        Ok(())
    }

    /// How many products are indexed.
    pub fn product_count(&self) -> usize {
        self.products
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    fn commit(&self, writer: &mut IndexWriter) -> Result<(), IndexError> {
        writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    fn document(&self, p: &IndexedProduct) -> TantivyDocument {
        let f = &self.fields;
        doc!(
            f.id => p.id.clone(),
            f.name => p.name.clone(),
            f.description => p.description.clone(),
            f.category => Facet::from_path([p.category.as_str()]),
            f.price => p.price_cents,
            f.stock => p.stock,
        )
    }

    /// Products matching `text` (every word, allowing typos) and `filters`, best first.
    pub fn search(
        &self,
        text: &str,
        filters: &Filters,
        offset: usize,
        limit: usize,
    ) -> Result<Results, IndexError> {
        let f = &self.fields;
        let mut analyzer = self.index.tokenizer_for_field(f.name)?;
        let words = tokens(&mut analyzer, text);
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for word in &words {
            let mut either: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (field, boost) in [(f.name, 3.0), (f.description, 1.0)] {
                let term = Term::from_field_text(field, word);
                either.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                        boost * 2.0,
                    )),
                ));
                let distance = typo_budget(word);
                if distance > 0 {
                    either.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(term, distance, true)),
                            boost,
                        )),
                    ));
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(either))));
        }
        if let Some(category) = &filters.category {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.category, &Facet::from_path([category.as_str()])),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if filters.min_price_cents.is_some() || filters.max_price_cents.is_some() {
            let bound = |value: Option<i64>| match value {
                Some(v) => Bound::Included(Term::from_field_i64(f.price, v)),
                None => Bound::Unbounded,
            };
            must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    bound(filters.min_price_cents),
                    bound(filters.max_price_cents),
                )),
            ));
        }
        match filters.in_stock {
            Some(true) => must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(f.stock, 1)),
                    Bound::Unbounded,
                )),
            )),
            Some(false) => must.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    Bound::Unbounded,
                    Bound::Included(Term::from_field_i64(f.stock, 0)),
                )),
            )),
            None => {}
        }
        let query: Box<dyn Query> = if must.is_empty() {
            Box::new(AllQuery)
        } else if words.is_empty() {
            // Filters alone: every product passing them.
            must.push((Occur::Must, Box::new(AllQuery)));
            Box::new(BooleanQuery::new(must))
        } else {
            Box::new(BooleanQuery::new(must))
        };

        let searcher = self.reader.searcher();
        let mut facets = FacetCollector::for_field("category");
        facets.add_facet(Facet::root());
        let (top, total, facets) = searcher.search(
            &query,
            &(
                TopDocs::with_limit(limit.max(1))
                    .and_offset(offset)
                    .order_by_score(),
                Count,
                facets,
            ),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top.into_iter().take(limit) {
            let document: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                document
                    .get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut highlights = Vec::new();
            for (label, field) in [("name", f.name), ("description", f.description)] {
                if let Some(marked) = highlight(&mut analyzer, &text(field), &words) {
                    highlights.push((label, marked));
                }
            }
            hits.push(Hit {
                id: text(f.id),
                score,
                highlights,
            });
        }
        let categories = facets
            .top_k(Facet::root(), 50)
            .into_iter()
            .map(|(facet, count)| {
                let value = facet
                    .to_path()
                    .last()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                (value, count)
            })
            .collect();
        Ok(Results {
            hits,
            total,
            categories,
        })
    }
}

/// How many typos a query word may have.
fn typo_budget(word: &str) -> u8 {
    match word.chars().count() {
        n if n >= TWO_TYPOS_FROM => 2,
        n if n >= FUZZY_FROM => 1,
        _ => 0,
    }
}

/// The analysed words of `text` (lowercased and stemmed as the index stores them).
fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        if !out.contains(&token.text) {
            out.push(token.text.clone());
        }
    }
    out
}

/// `text` with the words that match a query word (as the search did) in `<b>…</b>`, or
/// `None` when none does.
fn highlight(analyzer: &mut TextAnalyzer, text: &str, words: &[String]) -> Option<String> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        let matches = words.iter().any(|w| {
            let budget = usize::from(typo_budget(w));
            edit_distance(&token.text, w) <= budget
        });
        if matches {
            spans.push((token.offset_from, token.offset_to));
        }
    }
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len() + spans.len() * 7);
    let mut at = 0;
    for (from, to) in spans {
        if from < at || to > text.len() {
            continue;
        }
        out.push_str(&text[at..from]);
        out.push_str("<b>");
        out.push_str(&text[from..to]);
        out.push_str("</b>");
        at = to;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// Levenshtein distance with adjacent transpositions costing one, as the fuzzy queries
/// count them.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous2 = vec![0usize; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(previous2[j - 2] + 1);
            }
        }
        previous2 = std::mem::replace(&mut previous, current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(
        id: &str,
        name: &str,
        description: &str,
        category: &str,
        price: i64,
        stock: i64,
    ) -> IndexedProduct {
        IndexedProduct {
            id: id.into(),
            name: name.into(),
            description: description.into(),
            category: category.into(),
            price_cents: price,
            stock,
        }
    }

    fn ids(results: &Results) -> Vec<&str> {
        results.hits.iter().map(|h| h.id.as_str()).collect()
    }

    fn catalogue() -> ProductIndex {
        let index = ProductIndex::new().unwrap();
        index
            .upsert(product(
                "1",
                "Brass desk lamp",
                "A warm reading light",
                "lighting",
                4900,
                3,
            ))
            .unwrap();
        index
            .upsert(product(
                "2",
                "Ceramic mug",
                "Holds coffee, tea or pens",
                "kitchen",
                900,
                0,
            ))
            .unwrap();
        index
            .upsert(product(
                "3",
                "Floor lamp",
                "Tall lamp for the living room",
                "lighting",
                12900,
                1,
            ))
            .unwrap();
        index
            .upsert(product(
                "4",
                "Teapot",
                "Ceramic, for loose tea",
                "kitchen",
                2500,
                5,
            ))
            .unwrap();
        index
    }

    #[test]
    fn words_match_with_typos_and_are_highlighted() {
        let index = catalogue();
        let results = index.search("lmap", &Filters::default(), 0, 10).unwrap();
        let mut found = ids(&results);
        found.sort_unstable();
        assert_eq!(found, ["1", "3"]);
        let floor = results.hits.iter().find(|h| h.id == "3").unwrap();
        assert!(
            floor
                .highlights
                .contains(&("name", "Floor <b>lamp</b>".to_owned())),
            "{floor:?}"
        );
        // Every word must match (in the name or the description); a match in the name
        // and more matches rank higher.
        let results = index
            .search("ceramic tea", &Filters::default(), 0, 10)
            .unwrap();
        assert_eq!(ids(&results), ["2", "4"]);
        let results = index.search("lamp", &Filters::default(), 0, 10).unwrap();
        assert_eq!(ids(&results), ["3", "1"]);
        assert!(
            index
                .search("teapot lamp", &Filters::default(), 0, 10)
                .unwrap()
                .hits
                .is_empty()
        );
        // Short words get no typo allowance.
        assert!(
            index
                .search("mig", &Filters::default(), 0, 10)
                .unwrap()
                .hits
                .is_empty()
        );
    }

    #[test]
    fn filters_facets_paging_and_updates() {
        let index = catalogue();
        let all = index.search("", &Filters::default(), 0, 10).unwrap();
        assert_eq!(all.total, 4);
        assert_eq!(
            all.categories,
            [("kitchen".to_owned(), 2), ("lighting".to_owned(), 2)]
        );
        let filters = Filters {
            category: Some("kitchen".into()),
            in_stock: Some(true),
            ..Filters::default()
        };
        assert_eq!(ids(&index.search("", &filters, 0, 10).unwrap()), ["4"]);
        let cheap = Filters {
            max_price_cents: Some(5000),
            min_price_cents: Some(1000),
            ..Filters::default()
        };
        let mut found = ids(&index.search("", &cheap, 0, 10).unwrap())
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        found.sort();
        assert_eq!(found, ["1", "4"]);
        let page = index.search("", &Filters::default(), 2, 10).unwrap();
        assert_eq!((page.hits.len(), page.total), (2, 4));

        index.set_stock("2", 7).unwrap();
        let in_stock = Filters {
            in_stock: Some(true),
            ..Filters::default()
        };
        assert_eq!(index.search("mug", &in_stock, 0, 10).unwrap().total, 1);
        index.delete("2").unwrap();
        assert_eq!(
            index
                .search("mug", &Filters::default(), 0, 10)
                .unwrap()
                .total,
            0
        );
        assert_eq!(index.product_count(), 3);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("lamp", "lamp"), 0);
        assert_eq!(edit_distance("lmap", "lamp"), 1);
        assert_eq!(edit_distance("lam", "lamp"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
