//! Dodo-style pages over a key range: `page_size`, `page_number`, and an opaque
//! `cursor` for clients that walk far. A page reads what it returns plus what
//! it skips, never more.

use super::{s, sdk_error, Item, Store};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use std::collections::{BTreeMap, HashMap};

const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;
/// Pages past this are reached with `cursor`, so no request reads more than
/// `MAX_PAGE_NUMBER * MAX_PAGE_SIZE` items to skip.
const MAX_PAGE_NUMBER: u32 = 100;
const MAX_CURSOR_LEN: usize = 2048;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub skip: usize,
    pub cursor: Option<Cursor>,
}

/// The key of the last item a page returned, so the next page starts after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor(BTreeMap<String, String>);

impl Cursor {
    fn from_item(item: &Item, key_attributes: &[&str]) -> Option<Self> {
        key_attributes
            .iter()
            .map(|name| Some((name.to_string(), item.get(*name)?.as_s().ok()?.clone())))
            .collect::<Option<BTreeMap<_, _>>>()
            .map(Cursor)
    }

    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(&self.0).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    pub fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::validation("cursor", "is not a cursor this list returned");
        if text.len() > MAX_CURSOR_LEN {
            return Err(invalid());
        }
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid())?;
        serde_json::from_slice(&bytes).map(Cursor).map_err(|_| invalid())
    }
}

impl PageRequest {
    /// From the query string. The Dodo SDK's auto-pager asks for the first page with
    /// `page_number` 0 (or none) and then for 2, 3, ...; so 0 and 1 both name the
    /// first page and no item is skipped by it.
    pub fn from_query(
        page_size: Option<&str>,
        page_number: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Self, ApiError> {
        let size = page_size_from("page_size", page_size)?;
        let number = match page_number {
            None => 0,
            Some(text) => text
                .parse::<u32>()
                .ok()
                .filter(|n| *n <= MAX_PAGE_NUMBER)
                .ok_or_else(|| {
                    ApiError::validation(
                        "page_number",
                        format!(
                            "must be an integer from 0 to {MAX_PAGE_NUMBER}; further pages are reached with cursor"
                        ),
                    )
                })?,
        };
        let cursor = cursor.filter(|c| !c.is_empty()).map(Cursor::decode).transpose()?;
        let skip = if cursor.is_some() {
            0
        } else {
            (number.max(1) as usize - 1) * size
        };
        Ok(Self { size, skip, cursor })
    }
}

impl PageRequest {
    /// From the query string of a list that pages with `limit` and `iterator`
    /// (Dodo's webhooks): the iterator is the cursor of the page before.
    pub fn from_limit(limit: Option<&str>, iterator: Option<&str>) -> Result<Self, ApiError> {
        let size = page_size_from("limit", limit)?;
        let cursor = iterator
            .filter(|c| !c.is_empty())
            .map(|text| {
                Cursor::decode(text).map_err(|_| ApiError::validation("iterator", "is not one this list returned"))
            })
            .transpose()?;
        Ok(Self { size, skip: 0, cursor })
    }
}

/// The page size a query value asks for, `field` naming it in a refusal.
fn page_size_from(field: &str, text: Option<&str>) -> Result<usize, ApiError> {
    match text {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| ApiError::validation(field, format!("must be an integer from 1 to {MAX_PAGE_SIZE}"))),
    }
}

/// A key range to page through: a partition of the table or of an index.
pub(crate) struct KeyRange<'a> {
    pub index: Option<&'a str>,
    pub partition_attribute: &'a str,
    pub partition: String,
    /// The attributes that make up an item's key in this range, table keys included.
    pub key_attributes: &'a [&'a str],
    /// Only sort keys that start with this.
    pub sort_prefix: Option<String>,
    /// Oldest (or lowest id) first, rather than newest first.
    pub ascending: bool,
    /// What an item must also meet; items that fail it are read and skipped,
    /// so a page costs what it returns plus what it skips.
    pub filter: Filter,
    /// Read at most one Query's worth per page: a filtered page may then be
    /// short and still have a next cursor, but its cost is bounded by its size.
    pub one_query: bool,
}

/// A DynamoDB filter expression, built up by conjunction.
#[derive(Default)]
pub(crate) struct Filter {
    conditions: Vec<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl Filter {
    pub fn eq(self, attribute: &str, value: AttributeValue) -> Self {
        let i = self.names.len();
        self.raw(
            &format!("#f{i} = :f{i}"),
            &[(&format!("#f{i}"), attribute)],
            vec![(format!(":f{i}"), value)],
        )
    }

    /// A condition written out; its placeholders must not start with `#f` or `:f`.
    pub fn raw(mut self, condition: &str, names: &[(&str, &str)], values: Vec<(String, AttributeValue)>) -> Self {
        self.conditions.push(format!("({condition})"));
        self.names
            .extend(names.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self.values.extend(values);
        self
    }
}

impl<'a> KeyRange<'a> {
    /// One partition of an overloaded index (`gsi1`, `gsi2`), newest first.
    pub fn index(index: &'a str, partition: String) -> Self {
        let (partition_attribute, key_attributes): (&str, &[&str]) = match index {
            "gsi1" => ("gsi1pk", &["gsi1pk", "gsi1sk", "pk", "sk"]),
            _ => ("gsi2pk", &["gsi2pk", "gsi2sk", "pk", "sk"]),
        };
        Self {
            index: Some(index),
            partition_attribute,
            partition,
            key_attributes,
            sort_prefix: None,
            ascending: false,
            filter: Filter::default(),
            one_query: false,
        }
    }

    /// One partition of the table itself.
    pub fn table(partition: String) -> Self {
        Self {
            index: None,
            partition_attribute: "pk",
            partition,
            key_attributes: &["pk", "sk"],
            sort_prefix: None,
            ascending: false,
            filter: Filter::default(),
            one_query: false,
        }
    }

    /// The items of the range whose sort key starts with `prefix`, in ascending order.
    pub fn ascending_from(self, prefix: Option<&str>) -> Self {
        Self {
            sort_prefix: prefix.map(str::to_string),
            ascending: true,
            ..self
        }
    }

    pub fn filtered(self, filter: Filter) -> Self {
        Self { filter, ..self }
    }

    /// Filtered, each page reading at most what one Query of its size reads.
    pub fn filtered_within_one_query(self, filter: Filter) -> Self {
        Self {
            filter,
            one_query: true,
            ..self
        }
    }
}

pub(crate) struct PageOfItems {
    pub items: Vec<Item>,
    pub next_cursor: Option<String>,
}

impl Store {
    /// Newest first (ids sort by time), `page.skip` items skipped, at most `page.size` returned.
    pub(crate) async fn query_page(&self, range: KeyRange<'_>, page: &PageRequest) -> Result<PageOfItems, ApiError> {
        let start = match &page.cursor {
            Some(cursor) => {
                let matches_range = cursor.0.len() == range.key_attributes.len()
                    && range.key_attributes.iter().all(|a| cursor.0.contains_key(*a))
                    && cursor.0.get(range.partition_attribute) == Some(&range.partition)
                    && range.sort_prefix.as_ref().is_none_or(|prefix| {
                        cursor
                            .0
                            .get(range.key_attributes[1])
                            .is_some_and(|sort| sort.starts_with(prefix))
                    });
                if !matches_range {
                    return Err(ApiError::validation("cursor", "is not a cursor this list returned"));
                }
                Some(
                    cursor
                        .0
                        .iter()
                        .map(|(k, v)| (k.clone(), s(v)))
                        .collect::<HashMap<_, _>>(),
                )
            }
            None => None,
        };
        let wanted = page.skip + page.size + 1; // one more tells whether another page exists
        let mut collected: Vec<Item> = Vec::new();
        let mut exclusive_start = start;
        // Where a page cut short by `one_query` resumes: the last key it read.
        let mut resume_after: Option<Item> = None;
        loop {
            let mut query = self
                .db
                .query()
                .table_name(&self.table)
                .set_index_name(range.index.map(str::to_string))
                .scan_index_forward(range.ascending)
                .limit((wanted - collected.len()).min(1000) as i32)
                .expression_attribute_names("#p", range.partition_attribute)
                .expression_attribute_values(":p", s(&range.partition))
                .key_condition_expression("#p = :p")
                .set_exclusive_start_key(exclusive_start.take());
            if let Some(prefix) = &range.sort_prefix {
                let sort_attribute = range.key_attributes[1];
                query = query
                    .expression_attribute_names("#s", sort_attribute)
                    .expression_attribute_values(":s", s(prefix))
                    .key_condition_expression("#p = :p AND begins_with(#s, :s)");
            }
            if !range.filter.conditions.is_empty() {
                for (name, attribute) in &range.filter.names {
                    query = query.expression_attribute_names(name, attribute);
                }
                for (placeholder, value) in &range.filter.values {
                    query = query.expression_attribute_values(placeholder, value.clone());
                }
                query = query.filter_expression(range.filter.conditions.join(" AND "));
            }
            let output = query.send().await.map_err(sdk_error)?;
            collected.extend(output.items.unwrap_or_default());
            match output.last_evaluated_key {
                Some(last) if collected.len() < wanted && range.one_query => {
                    resume_after = Some(last);
                    break;
                }
                Some(last) if collected.len() < wanted => exclusive_start = Some(last),
                _ => break,
            }
        }
        let has_more = collected.len() > page.skip + page.size;
        let items: Vec<Item> = collected.into_iter().skip(page.skip).take(page.size).collect();
        let next_cursor = if has_more { items.last() } else { resume_after.as_ref() }
            .and_then(|last| Cursor::from_item(last, range.key_attributes))
            .map(|c| c.encode());
        Ok(PageOfItems { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let page = PageRequest::from_query(None, None, None).unwrap();
        assert_eq!((page.size, page.skip), (10, 0));
        for bad in ["0", "101", "-1", "ten"] {
            let err = PageRequest::from_query(Some(bad), None, None).unwrap_err();
            assert!(err.message.starts_with("page_size"), "{bad}");
        }
        assert!(PageRequest::from_query(None, Some("-1"), None)
            .unwrap_err()
            .message
            .starts_with("page_number"));
    }

    #[test]
    fn page_zero_and_one_are_the_first_page() {
        let skip = |n: &str| PageRequest::from_query(Some("5"), Some(n), None).unwrap().skip;
        assert_eq!((skip("0"), skip("1"), skip("2"), skip("3")), (0, 0, 5, 10));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let item: Item = HashMap::from([("pk".into(), s("BIZ#b")), ("sk".into(), s("ENT#x"))]);
        let cursor = Cursor::from_item(&item, &["pk", "sk"]).unwrap();
        let page = PageRequest::from_query(None, Some("4"), Some(&cursor.encode())).unwrap();
        assert_eq!(page.cursor, Some(cursor));
        assert_eq!(page.skip, 0, "a cursor wins over page_number");
        let err = PageRequest::from_query(None, None, Some("not-a-cursor")).unwrap_err();
        assert_eq!((err.status, err.message.starts_with("cursor")), (422, true));
    }
}
