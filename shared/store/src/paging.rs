//! Dodo-style pages over a key range: `page_size`, `page_number`, and an opaque
//! `cursor` for clients that walk far.
//!
//! `page_number` has no upper bound. The SDKs' auto-pagers ask for page 1, 2, 3, ...
//! of the same query, so when a numbered page from 2 on has a next page, where it
//! ended is remembered for a few minutes (a bookmark keyed by a digest of the
//! query and the page size): page n then starts where page n−1 ended, and costs
//! what page 1 costs plus one small read and one small write. Page 2 reads page 1
//! again. A page asked out of order starts from the nearest earlier bookmark and
//! skips the pages between (reading them); with none it skips every item before
//! it, so its cost is bounded by the list's length.

use super::{n, s, sdk_error, Item, Store};
use crate::error::ApiError;
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use base64::Engine;
use std::collections::BTreeMap;

const DEFAULT_PAGE_SIZE: usize = 10;
const MAX_PAGE_SIZE: usize = 100;
const MAX_CURSOR_LEN: usize = 2048;
/// How long a page's end is remembered: long enough for a walk, short enough
/// that a later walk of a changed list starts afresh.
const BOOKMARK_SECONDS: u64 = 600;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub start: PageStart,
}

/// Where a page starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// From the first item, remembering nothing (a walk inside a service).
    First,
    /// Page n of a numbered walk (0 and 1 both the first): its end is remembered for page n+1.
    Number(u64),
    /// After the item a cursor names.
    After(Cursor),
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

    pub(crate) fn from_map(keys: BTreeMap<String, String>) -> Self {
        Cursor(keys)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
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
        let keys: BTreeMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        // DynamoDB refuses an empty key value in ExclusiveStartKey; no item has one.
        if keys.values().any(String::is_empty) {
            return Err(invalid());
        }
        Ok(Cursor(keys))
    }
}

impl PageRequest {
    /// The first page of `size` items of a walk inside a service.
    pub fn first(size: usize) -> Self {
        Self {
            size,
            start: PageStart::First,
        }
    }

    /// From the query string. The Dodo SDK's auto-pager asks for the first page with
    /// `page_number` 0 (or none) and then for 2, 3, ...; so 0 and 1 both name the
    /// first page and no item is skipped by it. A number past the end of any list
    /// (even past u64) is an empty page, not an error.
    pub fn from_query(
        page_size: Option<&str>,
        page_number: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Self, ApiError> {
        let size = page_size_from("page_size", page_size)?;
        let number = match page_number {
            None => 0,
            Some(text) if !text.is_empty() && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_digit()) => {
                text.parse::<u64>().unwrap_or(u64::MAX)
            }
            Some(_) => return Err(ApiError::validation("page_number", "must be an integer of 0 or more")),
        };
        let start = match cursor.filter(|c| !c.is_empty()) {
            Some(text) => PageStart::After(Cursor::decode(text)?),
            None => PageStart::Number(number),
        };
        Ok(Self { size, start })
    }

    /// Whether this is a walk's first page (for a list of at most one item).
    pub fn is_first(&self) -> bool {
        matches!(self.start, PageStart::First | PageStart::Number(0 | 1))
    }

    /// How many items come before this page when counting from the first.
    pub(crate) fn items_before(&self) -> usize {
        match self.start {
            PageStart::Number(n) => usize::try_from(n.max(1) - 1)
                .unwrap_or(usize::MAX)
                .saturating_mul(self.size),
            _ => 0,
        }
    }
}

impl PageRequest {
    /// From the query string of a list that pages with `limit` and `iterator`
    /// (Dodo's webhooks): the iterator is the cursor of the page before.
    pub fn from_limit(limit: Option<&str>, iterator: Option<&str>) -> Result<Self, ApiError> {
        let size = page_size_from("limit", limit)?;
        let start = match iterator.filter(|c| !c.is_empty()) {
            Some(text) => PageStart::After(
                Cursor::decode(text).map_err(|_| ApiError::validation("iterator", "is not one this list returned"))?,
            ),
            None => PageStart::First,
        };
        Ok(Self { size, start })
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

impl KeyRange<'_> {
    /// The item keys to start after, from a cursor this range returned.
    fn start_after(&self, cursor: &Cursor) -> Result<Item, ApiError> {
        let matches_range = cursor.0.len() == self.key_attributes.len()
            && self.key_attributes.iter().all(|a| cursor.0.contains_key(*a))
            && cursor.0.get(self.partition_attribute) == Some(&self.partition)
            && self.sort_prefix.as_ref().is_none_or(|prefix| {
                cursor
                    .0
                    .get(self.key_attributes[1])
                    .is_some_and(|sort| sort.starts_with(prefix))
            });
        if !matches_range {
            return Err(ApiError::validation("cursor", "is not a cursor this list returned"));
        }
        Ok(cursor.0.iter().map(|(k, v)| (k.clone(), s(v))).collect())
    }

    /// The partition of the bookmarks of this query at this page size: everything
    /// that decides which items a page holds goes into it (the owner's partition
    /// among them), so two queries never share a bookmark.
    fn bookmark_partition(&self, size: usize) -> String {
        let mut query = format!(
            "{:?}\n{}\n{}\n{:?}\n{}\n{}\n{size}",
            self.index, self.partition_attribute, self.partition, self.sort_prefix, self.ascending, self.one_query
        );
        for condition in &self.filter.conditions {
            query.push_str(&format!("\n{condition}"));
        }
        for (name, attribute) in &self.filter.names {
            query.push_str(&format!("\n{name}={attribute}"));
        }
        for (placeholder, value) in &self.filter.values {
            query.push_str(&format!("\n{placeholder}={value:?}"));
        }
        format!("PAGES#{}", crate::digest::sha256_hex(query))
    }
}

/// A bookmark's sort key: page numbers in order as strings.
fn bookmark_sort(page: u64) -> String {
    format!("{page:020}")
}

impl Store {
    /// Newest first (ids sort by time), at most `page.size` items.
    pub(crate) async fn query_page(&self, range: KeyRange<'_>, page: &PageRequest) -> Result<PageOfItems, ApiError> {
        // A page cut short by `one_query` may not be the last, so numbered pages
        // of such a range mean nothing to remember: only cursors walk it.
        let bookmarks = match page.start {
            PageStart::Number(_) if !range.one_query => Some(range.bookmark_partition(page.size)),
            _ => None,
        };
        let (start, mut to_skip) = match &page.start {
            PageStart::First => (None, 0),
            PageStart::After(cursor) => (Some(range.start_after(cursor)?), 0),
            PageStart::Number(number) => match bookmarks.as_deref() {
                Some(partition) if *number >= 2 => match self.nearest_bookmark(partition, number - 1).await? {
                    // Page `ended` ended there: skip the pages between it and this one.
                    Some((ended, cursor)) => match range.start_after(&cursor) {
                        Ok(start) => (
                            Some(start),
                            usize::try_from(number - 1 - ended)
                                .unwrap_or(usize::MAX)
                                .saturating_mul(page.size),
                        ),
                        Err(_) => (None, page.items_before()),
                    },
                    None => (None, page.items_before()),
                },
                _ => (None, page.items_before()),
            },
        };
        let mut items: Vec<Item> = Vec::new();
        let mut exclusive_start = start;
        // Where a page cut short by `one_query` resumes: the last key it read.
        let mut resume_after: Option<Item> = None;
        loop {
            // One more than the page tells whether another page exists.
            let wanted = to_skip.saturating_add(page.size + 1 - items.len());
            let mut query = self
                .db
                .query()
                .table_name(&self.table)
                .set_index_name(range.index.map(str::to_string))
                .scan_index_forward(range.ascending)
                .limit(wanted.min(1000) as i32)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
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
            note_read_units(output.consumed_capacity());
            // Skipped items are counted, not kept: a far page holds one page in memory.
            for item in output.items.unwrap_or_default() {
                if to_skip > 0 {
                    to_skip -= 1;
                } else {
                    items.push(item);
                }
            }
            let full = items.len() > page.size;
            match output.last_evaluated_key {
                Some(last) if !full && range.one_query => {
                    resume_after = Some(last);
                    break;
                }
                Some(last) if !full => exclusive_start = Some(last),
                _ => break,
            }
        }
        let has_more = items.len() > page.size;
        items.truncate(page.size);
        let next = if has_more { items.last() } else { resume_after.as_ref() }
            .and_then(|last| Cursor::from_item(last, range.key_attributes));
        // Page 1 remembers nothing: most first pages are the only page read, and
        // page 2 finds page 1's end by reading it again, for less than a write costs.
        if let (Some(partition), PageStart::Number(number @ 2..), Some(next)) = (&bookmarks, &page.start, &next) {
            self.remember_page_end(partition, *number, next).await;
        }
        Ok(PageOfItems {
            items,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// The latest page at or before `page` whose end is remembered, and where it ended.
    pub(crate) async fn nearest_bookmark(&self, partition: &str, page: u64) -> Result<Option<(u64, Cursor)>, ApiError> {
        let output = self
            .db
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p AND sk <= :page")
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":page", s(bookmark_sort(page)))
            .scan_index_forward(false)
            .limit(1)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(sdk_error)?;
        note_read_units(output.consumed_capacity());
        let now_s = crate::clock::now_millis() / 1000;
        let found = output.items.unwrap_or_default().into_iter().next().and_then(|item| {
            // TTL deletes lazily: an expired bookmark is as good as none.
            let fresh = item
                .get("purge_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|purge_at| purge_at > now_s);
            let ended = item.get("sk")?.as_s().ok()?.parse::<u64>().ok()?;
            let cursor = Cursor::decode(item.get("cursor")?.as_s().ok()?).ok()?;
            fresh.then_some((ended, cursor))
        });
        Ok(found)
    }

    /// Remembers where page `page` ended. A bookmark only saves reads, so one
    /// that cannot be written is logged and the page is answered all the same.
    pub(crate) async fn remember_page_end(&self, partition: &str, page: u64, next: &Cursor) {
        let result = self
            .db
            .put_item()
            .table_name(&self.table)
            .set_item(Some(super::key(partition, bookmark_sort(page))))
            .item("cursor", s(next.encode()))
            .item("purge_at", n(crate::clock::now_millis() / 1000 + BOOKMARK_SECONDS))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(output) => note_write_units(output.consumed_capacity()),
            Err(err) => tracing::warn!(error = %sdk_error(err).message, "a page's end was not remembered"),
        }
    }
}

/// The units a read used, as DynamoDB reported them (`TOTAL`: a read's are read units).
fn note_read_units(capacity: Option<&ConsumedCapacity>) {
    let units = capacity.and_then(ConsumedCapacity::capacity_units).unwrap_or_default();
    crate::aws_calls::note_units(units, 0.0);
}

fn note_write_units(capacity: Option<&ConsumedCapacity>) {
    let units = capacity.and_then(ConsumedCapacity::capacity_units).unwrap_or_default();
    crate::aws_calls::note_units(0.0, units);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_bounds() {
        let page = PageRequest::from_query(None, None, None).unwrap();
        assert_eq!((page.size, page.items_before()), (10, 0));
        for bad in ["0", "101", "-1", "ten"] {
            let err = PageRequest::from_query(Some(bad), None, None).unwrap_err();
            assert!(err.message.starts_with("page_size"), "{bad}");
        }
        for bad in ["-1", "1.5", "", "+2", "2e3"] {
            let err = PageRequest::from_query(None, Some(bad), None).unwrap_err();
            assert!(err.message.starts_with("page_number"), "{bad}");
        }
    }

    #[test]
    fn page_zero_and_one_are_the_first_page() {
        let before = |n: &str| {
            PageRequest::from_query(Some("5"), Some(n), None)
                .unwrap()
                .items_before()
        };
        assert_eq!((before("0"), before("1"), before("2"), before("3")), (0, 0, 5, 10));
    }

    #[test]
    fn page_number_has_no_upper_bound() {
        let before = |n: &str| {
            PageRequest::from_query(Some("100"), Some(n), None)
                .unwrap()
                .items_before()
        };
        assert_eq!(before("101"), 10_000);
        assert_eq!(before("4294967296"), 429_496_729_500);
        // Past u64: still a page (an empty one), never an overflow.
        assert_eq!(before("99999999999999999999999999"), usize::MAX);
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let item: Item = HashMap::from([("pk".into(), s("BIZ#b")), ("sk".into(), s("ENT#x"))]);
        let cursor = Cursor::from_item(&item, &["pk", "sk"]).unwrap();
        let page = PageRequest::from_query(None, Some("4"), Some(&cursor.encode())).unwrap();
        assert_eq!(page.start, PageStart::After(cursor), "a cursor wins over page_number");
        assert_eq!(page.items_before(), 0);
        let err = PageRequest::from_query(None, None, Some("not-a-cursor")).unwrap_err();
        assert_eq!((err.status, err.message.starts_with("cursor")), (422, true));
    }

    #[test]
    fn a_cursor_with_an_empty_key_value_is_refused() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        for json in [r#"{"pk":"BIZ#b","sk":""}"#, r#"{"pk":"","sk":"ENT#x"}"#] {
            let err = PageRequest::from_query(None, None, Some(&engine.encode(json))).unwrap_err();
            assert_eq!((err.status, err.message.starts_with("cursor")), (422, true), "{json}");
        }
    }

    #[test]
    fn bookmarks_are_per_query_and_page_size() {
        let range = || KeyRange::table("BIZ#b".into());
        let filtered =
            |status: &str| KeyRange::table("BIZ#b".into()).filtered(Filter::default().eq("status", s(status)));
        assert_eq!(range().bookmark_partition(10), range().bookmark_partition(10));
        assert_ne!(range().bookmark_partition(10), range().bookmark_partition(20));
        assert_ne!(
            range().bookmark_partition(10),
            KeyRange::table("BIZ#c".into()).bookmark_partition(10)
        );
        assert_ne!(
            filtered("active").bookmark_partition(10),
            filtered("revoked").bookmark_partition(10)
        );
        assert_ne!(
            range().bookmark_partition(10),
            range().ascending_from(None).bookmark_partition(10)
        );
        // Page numbers sort as numbers.
        assert!(bookmark_sort(9) < bookmark_sort(10) && bookmark_sort(10) < bookmark_sort(u64::MAX));
    }
}
