//! The data items of the LA's held student record (docs/architecture.md).
//!
//! This catalogue is the one place that knows which items exist, which data
//! group each belongs to, which `students` column holds it and how its values
//! compare. Conflicts, processing rules, the import cache and student edits
//! all name items by key (`group.item`), and SQL only ever uses column names
//! taken from here, never from input.

use crate::error::{Error, Result};
use serde::Serialize;

/// How values of an item compare: the comparison the host shares with the
/// plugins (and the WIT `item-kind`).
pub use b2b_normalise::ItemKind;

fn kind_name<S: serde::Serializer>(kind: &ItemKind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{kind:?}").to_lowercase())
}

/// One data item of the held record.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Item {
    /// The stable key, `group.column`, e.g. `basic.surname`.
    pub key: &'static str,
    /// The data group (`basic`, `identifiers`, `address`, `education`, `extended`).
    pub group: &'static str,
    /// The column of the `students` table that holds it.
    pub column: &'static str,
    /// The label an LA screen shows.
    pub label: &'static str,
    /// How its values compare.
    #[serde(serialize_with = "kind_name")]
    pub kind: ItemKind,
}

macro_rules! items {
    ($($group:literal . $column:literal : $kind:ident, $label:literal;)*) => {
        /// Every item, in the order an LA screen lists them.
        pub const ITEMS: &[Item] = &[
            $(Item {
                key: concat!($group, ".", $column),
                group: $group,
                column: $column,
                label: $label,
                kind: ItemKind::$kind,
            },)*
        ];
    };
}

items! {
    "basic"."forename": Name, "Forename";
    "basic"."middle_names": Name, "Middle names";
    "basic"."surname": Name, "Surname";
    "basic"."legal_forename": Name, "Legal forename";
    "basic"."legal_surname": Name, "Legal surname";
    "basic"."gender": Code, "Gender";
    "basic"."date_of_birth": Date, "Date of birth";
    "identifiers"."upn": Code, "UPN";
    "identifiers"."former_upn": Code, "Former UPN";
    "address"."house": Text, "House number/name";
    "address"."apartment": Text, "Apartment";
    "address"."street": Text, "Street";
    "address"."district": Text, "District";
    "address"."town": Text, "Town";
    "address"."county": Text, "County";
    "address"."postcode": Postcode, "Postcode";
    "education"."nc_year": Code, "NC year";
    "education"."admission_date": Date, "Admission date";
    "education"."leaving_date": Date, "Leaving date";
    "extended"."sen_status": Code, "SEN status";
    "extended"."free_school_meals": Flag, "Free school meals";
    "extended"."eal": Code, "English as an additional language";
    "extended"."pupil_premium": Flag, "Pupil premium";
}

/// Finds an item by key, or says which keys exist.
pub fn lookup(key: &str) -> Result<&'static Item> {
    ITEMS.iter().find(|i| i.key == key).ok_or_else(|| {
        Error::invalid(format!(
            "unknown data item `{key}`; the items are: {}",
            ITEMS.iter().map(|i| i.key).collect::<Vec<_>>().join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_prefixed_by_group() {
        let mut keys: Vec<_> = ITEMS.iter().map(|i| i.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), ITEMS.len());
        assert!(ITEMS.iter().all(|i| i.key.starts_with(i.group)));
    }

    #[test]
    fn unknown_key_lists_the_known_ones() {
        let err = lookup("basic.shoe_size").unwrap_err().to_string();
        assert!(err.contains("basic.surname"), "{err}");
    }
}
