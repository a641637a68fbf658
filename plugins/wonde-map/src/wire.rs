//! Wonde's JSON as it arrives, read leniently.
//!
//! Wonde documents few field types and newer records carry fields older ones
//! lack, so every field here is optional, unknown fields are skipped, and a
//! leaf of an unexpected type is read as absent rather than failing the whole
//! page (one odd student must not stop a school's import). Strings borrow from
//! the response body where they can, so a page is parsed once and copied only
//! into the records handed to the host.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A leaf value: a string, a number or a flag (as its text), or a date object
/// `{"date": ..., "timezone_type": ..., "timezone": ...}` (as its `date`).
/// Null, arrays and other objects read as absent.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    /// The value trimmed, or `None` when it is absent or blank.
    pub fn trimmed(&self) -> Option<&str> {
        self.0.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

struct TextVisitor<'a>(PhantomData<&'a ()>);

/// The keys of a date object that matter.
#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum DateKey {
    Date,
    #[serde(other)]
    Other,
}

impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
    type Value = Text<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number, flag or date object")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Text::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut date = Text(None);
        while let Some(key) = map.next_key()? {
            match key {
                DateKey::Date => date = map.next_value()?,
                DateKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(date)
    }
}

/// An include, which Wonde always wraps: `{"data": ...}`. The block counts as
/// sent only when `data` is there.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Wrapped<T> {
    pub data: Option<T>,
}

/// A list whose entries may be null; null entries are skipped.
pub type List<T> = Option<Vec<Option<T>>>;

/// The entries of a [`List`] that are there.
pub fn entries<T>(list: &List<T>) -> impl Iterator<Item = &T> {
    list.iter().flatten().flatten()
}

/// A list response: `{"data": [...], "meta": {"pagination": {...}}}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Page<'a, T> {
    pub data: List<T>,
    #[serde(borrow)]
    pub meta: Option<Meta<'a>>,
}

impl<T> Page<'_, T> {
    /// The URL of the next page, if Wonde says there is one. `next` is opaque
    /// (a page number or a cursor); `more: false` also ends the walk.
    pub fn next(&self) -> Option<&str> {
        let pagination = self.meta.as_ref()?.pagination.as_ref()?;
        if pagination.more.trimmed() == Some("false") {
            return None;
        }
        pagination.next.trimmed()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta<'a> {
    #[serde(borrow)]
    pub pagination: Option<Pagination<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Pagination<'a> {
    #[serde(borrow)]
    pub next: Text<'a>,
    #[serde(borrow)]
    pub more: Text<'a>,
}

/// A school from `GET schools`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct School<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub name: Text<'a>,
    #[serde(borrow)]
    pub urn: Text<'a>,
    #[serde(borrow)]
    pub la_code: Text<'a>,
    #[serde(borrow)]
    pub establishment_number: Text<'a>,
    #[serde(borrow)]
    pub region: Option<Region<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Region<'a> {
    #[serde(borrow)]
    pub domain: Text<'a>,
}

/// A student with the includes the import asks for.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Student<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow)]
    pub upi: Text<'a>,
    #[serde(borrow)]
    pub forename: Text<'a>,
    #[serde(borrow)]
    pub middle_names: Text<'a>,
    #[serde(borrow)]
    pub surname: Text<'a>,
    #[serde(borrow)]
    pub legal_forename: Text<'a>,
    #[serde(borrow)]
    pub legal_surname: Text<'a>,
    #[serde(borrow)]
    pub gender: Text<'a>,
    #[serde(borrow)]
    pub date_of_birth: Text<'a>,
    #[serde(borrow)]
    pub contact_details: Option<Wrapped<ContactDetails<'a>>>,
    #[serde(borrow)]
    pub education_details: Option<Wrapped<EducationDetails<'a>>>,
    #[serde(borrow)]
    pub extended_details: Option<Wrapped<ExtendedDetails<'a>>>,
    #[serde(borrow)]
    pub year: Option<Wrapped<Year<'a>>>,
    #[serde(borrow)]
    pub contacts: Option<Wrapped<List<Contact<'a>>>>,
}

/// The `contact_details` include of a student or a contact.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContactDetails<'a> {
    #[serde(borrow)]
    pub phones: Option<Phones<'a>>,
    #[serde(borrow)]
    pub emails: Option<Emails<'a>>,
    #[serde(borrow)]
    pub addresses: Option<Addresses<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Phones<'a> {
    #[serde(borrow)]
    pub mobile: Text<'a>,
    #[serde(borrow)]
    pub phone: Text<'a>,
    #[serde(borrow)]
    pub primary: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Emails<'a> {
    #[serde(borrow)]
    pub email: Text<'a>,
    #[serde(borrow)]
    pub primary: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Addresses<'a> {
    #[serde(borrow)]
    pub home: Option<Address<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Address<'a> {
    #[serde(borrow)]
    pub house_number: Text<'a>,
    #[serde(borrow)]
    pub house_name: Text<'a>,
    #[serde(borrow)]
    pub apartment: Text<'a>,
    #[serde(borrow)]
    pub street: Text<'a>,
    #[serde(borrow)]
    pub district: Text<'a>,
    #[serde(borrow)]
    pub town: Text<'a>,
    #[serde(borrow)]
    pub county: Text<'a>,
    #[serde(borrow)]
    pub postcode: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EducationDetails<'a> {
    #[serde(borrow)]
    pub upn: Text<'a>,
    #[serde(borrow)]
    pub former_upn: Text<'a>,
    #[serde(borrow)]
    pub current_nc_year: Text<'a>,
    #[serde(borrow)]
    pub admission_date: Text<'a>,
    #[serde(borrow)]
    pub leaving_date: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ExtendedDetails<'a> {
    #[serde(borrow)]
    pub sen_status: Text<'a>,
    #[serde(borrow)]
    pub free_school_meals: Text<'a>,
    #[serde(borrow)]
    pub english_as_additional_language_status: Text<'a>,
    #[serde(borrow)]
    pub premium_pupil_indicator: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Year<'a> {
    #[serde(borrow)]
    pub code: Text<'a>,
}

/// A carer from the `contacts` include.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Contact<'a> {
    #[serde(borrow)]
    pub forename: Text<'a>,
    #[serde(borrow)]
    pub surname: Text<'a>,
    #[serde(borrow)]
    pub relationship: Relationship<'a>,
    #[serde(borrow)]
    pub contact_details: Option<Wrapped<ContactDetails<'a>>>,
}

/// How a contact relates to the student. Recorded responses show it as a
/// plain string, as an object, or as an object wrapped in `{"data": ...}`;
/// all three read the same.
#[derive(Debug, Default, PartialEq)]
pub struct Relationship<'a> {
    pub relationship: Text<'a>,
    pub parental_responsibility: Text<'a>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Relationship<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RelationshipVisitor(PhantomData))
    }
}

struct RelationshipVisitor<'a>(PhantomData<&'a ()>);

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum RelationshipKey {
    Relationship,
    ParentalResponsibility,
    Data,
    #[serde(other)]
    Other,
}

impl<'a> RelationshipVisitor<'a> {
    fn plain(relationship: Cow<'a, str>) -> Relationship<'a> {
        Relationship {
            relationship: Text(Some(relationship)),
            parental_responsibility: Text(None),
        }
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RelationshipVisitor<'a> {
    type Value = Relationship<'a>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a relationship string or object")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Self::plain(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::plain(Cow::Owned(v.to_owned())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Relationship::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Relationship::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        Relationship::deserialize(deserializer)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Relationship::default();
        while let Some(key) = map.next_key()? {
            match key {
                RelationshipKey::Relationship => out.relationship = map.next_value()?,
                RelationshipKey::ParentalResponsibility => {
                    out.parental_responsibility = map.next_value()?;
                }
                // The wrapper holds the whole relationship.
                RelationshipKey::Data => out = map.next_value()?,
                RelationshipKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// An entry of `GET schools/{id}/deletions`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Deletion<'a> {
    #[serde(borrow)]
    pub id: Text<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(json: &str) -> Option<String> {
        serde_json::from_str::<Text>(json)
            .unwrap()
            .0
            .map(Cow::into_owned)
    }

    #[test]
    fn text_reads_every_leaf_form() {
        assert_eq!(text(r#""a""#).as_deref(), Some("a"));
        assert_eq!(text(r#""a\"b""#).as_deref(), Some("a\"b"));
        assert_eq!(text("true").as_deref(), Some("true"));
        assert_eq!(text("100001").as_deref(), Some("100001"));
        assert_eq!(text("-3").as_deref(), Some("-3"));
        assert_eq!(text("1.5").as_deref(), Some("1.5"));
        assert_eq!(text("null"), None);
        assert_eq!(text("[1, [2], {}]"), None);
        assert_eq!(text(r#"{"x": {"date": 1}}"#), None);
        assert_eq!(
            text(r#"{"date": "2002-09-29 00:00:00.000000", "timezone_type": 3, "timezone": "Europe/London"}"#)
                .as_deref(),
            Some("2002-09-29 00:00:00.000000")
        );
    }

    #[test]
    fn text_borrows_unescaped_strings() {
        let t: Text = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(t.0, Some(Cow::Borrowed("plain"))));
    }

    #[test]
    fn trimmed_drops_blanks() {
        assert_eq!(Text(Some(" a ".into())).trimmed(), Some("a"));
        assert_eq!(Text(Some(" \t".into())).trimmed(), None);
        assert_eq!(Text(None).trimmed(), None);
    }

    #[test]
    fn relationship_in_three_forms() {
        let expected = Relationship {
            relationship: Text(Some("Mother".into())),
            parental_responsibility: Text(Some("true".into())),
        };
        let object =
            r#"{"relationship": "Mother", "parental_responsibility": true, "priority": 1}"#;
        let wrapped = format!(r#"{{"data": {object}}}"#);
        assert_eq!(
            serde_json::from_str::<Relationship>(object).unwrap(),
            expected
        );
        assert_eq!(
            serde_json::from_str::<Relationship>(&wrapped).unwrap(),
            expected
        );
        let plain: Relationship = serde_json::from_str(r#""Mother""#).unwrap();
        assert_eq!(plain.relationship, expected.relationship);
        assert_eq!(plain.parental_responsibility, Text(None));
        assert_eq!(
            serde_json::from_str::<Relationship>("null").unwrap(),
            Relationship::default()
        );
    }

    #[test]
    fn pagination_follows_next_until_null_or_no_more() {
        let page = |meta: &str| {
            let json = format!(r#"{{"data": [], "meta": {meta}}}"#);
            serde_json::from_str::<Page<IgnoredAny>>(&json)
                .unwrap()
                .next()
                .map(str::to_owned)
        };
        let next = r#"{"pagination": {"next": "https://x/v1.0/p?cursor=abc", "more": true}}"#;
        assert_eq!(page(next).as_deref(), Some("https://x/v1.0/p?cursor=abc"));
        assert_eq!(
            page(r#"{"pagination": {"next": "u"}}"#).as_deref(),
            Some("u")
        );
        assert_eq!(
            page(r#"{"pagination": {"next": "u", "more": false}}"#),
            None
        );
        assert_eq!(
            page(r#"{"pagination": {"next": null, "more": true}}"#),
            None
        );
        assert_eq!(page(r#"{"pagination": null}"#), None);
        assert_eq!(page("{}"), None);
        assert_eq!(page("null"), None);
    }

    #[test]
    fn null_data_and_null_entries_are_empty() {
        let page: Page<Deletion> = serde_json::from_str(r#"{"data": null}"#).unwrap();
        assert_eq!(entries(&page.data).count(), 0);
        let page: Page<Deletion> =
            serde_json::from_str(r#"{"data": [null, {"id": "A1"}], "extra": 1}"#).unwrap();
        let ids: Vec<_> = entries(&page.data).map(|d| d.id.trimmed()).collect();
        assert_eq!(ids, [Some("A1")]);
    }
}
