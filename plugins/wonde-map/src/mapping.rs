//! Wonde records in the host's canonical form.
//!
//! All the knowledge of which Wonde field feeds which data item lives here,
//! as pure functions, so it can be tested natively and changed in one place.
//! A data item is sent only when the block it comes from was sent: a missing
//! include says nothing about the student, while a null field inside a sent
//! block says "empty" and is sent as `None`.

use crate::wire::{self, entries, Text};
use b2b_normalise::{key, ItemKind, Key};
use b2b_plugin_sdk::incoming;

type Items = Vec<(String, Option<String>)>;

/// The most items one student can carry, so that its list is allocated once.
const MAX_ITEMS: usize = 23;

/// A school as the host records it, or `None` when Wonde gave it no id.
pub fn school(school: &wire::School) -> Option<incoming::School> {
    Some(incoming::School {
        source_id: school.id.trimmed()?.to_owned(),
        name: owned(&school.name).unwrap_or_default(),
        urn: school.urn.trimmed().and_then(|urn| urn.parse().ok()),
        la_code: owned(&school.la_code),
        establishment_number: owned(&school.establishment_number),
        region_domain: school.region.as_ref().and_then(|r| owned(&r.domain)),
    })
}

/// A student in canonical form, or `None` when Wonde gave it no id.
pub fn student(student: &wire::Student) -> Option<incoming::Student> {
    let source_id = student.id.trimmed()?.to_owned();
    let mut items = Vec::with_capacity(MAX_ITEMS);
    basic(student, &mut items);
    education(student, &mut items);
    let contact_details = student
        .contact_details
        .as_ref()
        .and_then(|c| c.data.as_ref());
    if let Some(home) = contact_details
        .and_then(|c| c.addresses.as_ref())
        .and_then(|a| a.home.as_ref())
    {
        address(home, &mut items);
    }
    if let Some(e) = student
        .extended_details
        .as_ref()
        .and_then(|e| e.data.as_ref())
    {
        extended(e, &mut items);
    }
    Some(incoming::Student {
        source_id,
        upi: owned(&student.upi),
        items,
        contacts: student
            .contacts
            .as_ref()
            .and_then(|c| c.data.as_ref())
            .map(|list| entries(list).map(contact).collect()),
    })
}

/// The id of a deleted student, or `None` for an entry without one or typed
/// as something else (the request asks for students only; an entry typed
/// otherwise is left out all the same).
pub fn deleted_student(deletion: &wire::Deletion) -> Option<String> {
    let kind = deletion.kind.trimmed();
    if kind.is_some_and(|kind| !kind.eq_ignore_ascii_case("student")) {
        return None;
    }
    owned(&deletion.id)
}

/// The basic details live on the student itself, so they are always sent.
fn basic(s: &wire::Student, items: &mut Items) {
    push(items, "basic.forename", owned(&s.forename));
    push(items, "basic.middle_names", owned(&s.middle_names));
    push(items, "basic.surname", owned(&s.surname));
    push(items, "basic.legal_forename", owned(&s.legal_forename));
    push(items, "basic.legal_surname", owned(&s.legal_surname));
    push(items, "basic.gender", s.gender.trimmed().map(gender));
    push(items, "basic.date_of_birth", date(&s.date_of_birth));
}

/// Identifiers and education from `education_details`; the NC year falls
/// back to the `year` include, so it is sent when either block was.
fn education(s: &wire::Student, items: &mut Items) {
    let details = s.education_details.as_ref().and_then(|e| e.data.as_ref());
    let year = s.year.as_ref().and_then(|y| y.data.as_ref());
    if let Some(d) = details {
        push(items, "identifiers.upn", owned(&d.upn));
        push(items, "identifiers.former_upn", owned(&d.former_upn));
        push(items, "education.admission_date", date(&d.admission_date));
        push(items, "education.leaving_date", date(&d.leaving_date));
    }
    if details.is_some() || year.is_some() {
        let nc_year = details
            .and_then(|d| owned(&d.current_nc_year))
            .or_else(|| year.and_then(|y| owned(&y.code)));
        push(items, "education.nc_year", nc_year);
    }
}

/// The home address: the block is the `home` object itself, since a student
/// with only a postal or work address has told us nothing about home.
fn address(home: &wire::Address, items: &mut Items) {
    push(items, "address.house", house(home));
    push(items, "address.apartment", owned(&home.apartment));
    push(items, "address.street", owned(&home.street));
    push(items, "address.district", owned(&home.district));
    push(items, "address.town", owned(&home.town));
    push(items, "address.county", owned(&home.county));
    push(items, "address.postcode", owned(&home.postcode));
}

/// Flags arrive as JSON booleans, which [`Text`] already reads as
/// `true`/`false`; other text is kept as sent.
fn extended(e: &wire::ExtendedDetails, items: &mut Items) {
    push(items, "extended.sen_status", owned(&e.sen_status));
    push(
        items,
        "extended.free_school_meals",
        owned(&e.free_school_meals),
    );
    push(
        items,
        "extended.eal",
        owned(&e.english_as_additional_language_status),
    );
    push(
        items,
        "extended.pupil_premium",
        owned(&e.premium_pupil_indicator),
    );
}

fn contact(c: &wire::Contact) -> incoming::Contact {
    let details = c.contact_details.as_ref().and_then(|d| d.data.as_ref());
    let phones = details.and_then(|d| d.phones.as_ref());
    let emails = details.and_then(|d| d.emails.as_ref());
    incoming::Contact {
        name: joined(c.forename.trimmed(), c.surname.trimmed(), " "),
        relationship: owned(&c.relationship.relationship),
        phone: phones.and_then(|p| first(&[&p.mobile, &p.phone, &p.primary])),
        email: emails.and_then(|e| first(&[&e.email, &e.primary])),
        parental_responsibility: flag(&c.relationship.parental_responsibility),
    }
}

fn push(items: &mut Items, key: &str, value: Option<String>) {
    items.push((key.to_owned(), value));
}

/// The value trimmed and copied, `None` when absent or blank.
fn owned(text: &Text) -> Option<String> {
    text.trimmed().map(str::to_owned)
}

/// The first of `texts` that is not blank.
fn first(texts: &[&Text]) -> Option<String> {
    texts.iter().find_map(|t| owned(t))
}

/// `a` and `b` joined by `separator`, or whichever is present.
fn joined(a: Option<&str>, b: Option<&str>, separator: &str) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("{a}{separator}{b}")),
        (a, b) => a.or(b).map(str::to_owned),
    }
}

/// The house number, else the house name; both as "name, number".
fn house(home: &wire::Address) -> Option<String> {
    joined(home.house_name.trimmed(), home.house_number.trimmed(), ", ")
}

/// Wonde spells gender out; the held record uses the one-letter code.
fn gender(value: &str) -> String {
    if value.eq_ignore_ascii_case("MALE") {
        "M".into()
    } else if value.eq_ignore_ascii_case("FEMALE") {
        "F".into()
    } else {
        value.into()
    }
}

/// A date as `YYYY-MM-DD` when the value starts with one (a date object's
/// `date` carries a time after it); any other text is kept as sent, for the
/// host to compare by meaning.
fn date(text: &Text) -> Option<String> {
    let value = text.trimmed()?;
    let day = value.get(..10).filter(|d| is_iso_date(d.as_bytes()));
    Some(day.unwrap_or(value).to_owned())
}

fn is_iso_date(d: &[u8]) -> bool {
    d.iter().enumerate().all(|(i, &b)| match i {
        4 | 7 => b == b'-',
        _ => b.is_ascii_digit(),
    })
}

/// A yes/no value in any common spelling; `None` when absent or unclear.
fn flag(text: &Text) -> Option<bool> {
    match key(ItemKind::Flag, text.trimmed()) {
        Key::Flag(value) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The student record from docs/wonde.md, with the includes the import
    /// asks for filled in as that page describes them.
    const STUDENT: &str = r#"{
        "id": "A1749191433", "upi": "8d444684b7aa79bc97f8594a4aab7ce3", "mis_id": "9919",
        "initials": "RB", "title": "Ms", "surname": "Bennett", "forename": "Ruth",
        "middle_names": null, "legal_surname": "Bennett", "legal_forename": "Ruth",
        "gender": "FEMALE", "gender_identity": null,
        "date_of_birth": {"date": "2002-09-29 00:00:00.000000", "timezone_type": 3, "timezone": "Europe/London"},
        "restored_at": null,
        "created_at": {"date": "2024-07-20 10:23:33.000000", "timezone_type": 3, "timezone": "UTC"},
        "updated_at": {"date": "2024-07-20 10:23:33.000000", "timezone_type": 3, "timezone": "UTC"},
        "contact_details": {"data": {
            "phones": {"phone": "01234 567890", "primary": null, "home": null, "work": null, "mobile": null},
            "emails": {"email": null, "primary": null, "home": null, "work": null},
            "addresses": {"home": {"house_number": "12", "house_name": null, "apartment": null,
                "street": "High Street", "district": null, "town": "Town", "county": "Countyshire",
                "country": {"code": "GBR", "name": "United Kingdom"}, "postcode": "AB1 2CD"}},
            "salutation": null}},
        "education_details": {"data": {"upn": "A123456789012", "former_upn": null,
            "current_nc_year": 11,
            "admission_date": {"date": "2018-09-01 00:00:00.000000", "timezone_type": 3, "timezone": "Europe/London"},
            "leaving_date": null}},
        "extended_details": {"data": {"sen_status": "N", "free_school_meals": false,
            "english_as_additional_language_status": "Not known", "premium_pupil_indicator": true}},
        "year": {"data": {"id": "A1", "code": "10", "name": "Year 10"}},
        "contacts": {"data": [
            {"id": "C1", "forename": "Jane", "surname": "Bennett",
             "relationship": {"relationship": "Mother", "parental_responsibility": true, "priority": 1},
             "contact_details": {"data": {"phones": {"mobile": "07700 900123", "phone": "01234 567890"},
                                          "emails": {"email": null, "primary": "jane@example.org"}}}},
            null,
            {"id": "C2", "forename": null, "surname": " Smith ", "relationship": "Grandparent"}
        ]}
    }"#;

    fn map(json: &str) -> incoming::Student {
        let parsed: wire::Student = serde_json::from_str(json).unwrap();
        student(&parsed).unwrap()
    }

    fn items(s: &incoming::Student) -> Vec<(&str, Option<&str>)> {
        s.items
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect()
    }

    #[test]
    fn maps_the_documented_student() {
        let s = map(STUDENT);
        assert_eq!(s.source_id, "A1749191433");
        assert_eq!(s.upi.as_deref(), Some("8d444684b7aa79bc97f8594a4aab7ce3"));
        assert_eq!(
            items(&s),
            [
                ("basic.forename", Some("Ruth")),
                ("basic.middle_names", None),
                ("basic.surname", Some("Bennett")),
                ("basic.legal_forename", Some("Ruth")),
                ("basic.legal_surname", Some("Bennett")),
                ("basic.gender", Some("F")),
                ("basic.date_of_birth", Some("2002-09-29")),
                ("identifiers.upn", Some("A123456789012")),
                ("identifiers.former_upn", None),
                ("education.admission_date", Some("2018-09-01")),
                ("education.leaving_date", None),
                ("education.nc_year", Some("11")),
                ("address.house", Some("12")),
                ("address.apartment", None),
                ("address.street", Some("High Street")),
                ("address.district", None),
                ("address.town", Some("Town")),
                ("address.county", Some("Countyshire")),
                ("address.postcode", Some("AB1 2CD")),
                ("extended.sen_status", Some("N")),
                ("extended.free_school_meals", Some("false")),
                ("extended.eal", Some("Not known")),
                ("extended.pupil_premium", Some("true")),
            ]
        );
        assert!(s.items.len() <= MAX_ITEMS);
    }

    #[test]
    fn maps_contacts_and_skips_null_ones() {
        let contacts = map(STUDENT).contacts.unwrap();
        assert_eq!(
            contacts,
            [
                incoming::Contact {
                    name: Some("Jane Bennett".into()),
                    relationship: Some("Mother".into()),
                    phone: Some("07700 900123".into()),
                    email: Some("jane@example.org".into()),
                    parental_responsibility: Some(true),
                },
                incoming::Contact {
                    name: Some("Smith".into()),
                    relationship: Some("Grandparent".into()),
                    phone: None,
                    email: None,
                    parental_responsibility: None,
                },
            ]
        );
    }

    #[test]
    fn wrapped_relationship_and_fallback_phone() {
        let s = map(r#"{"id": "A1", "contacts": {"data": [{"forename": "Al",
                "relationship": {"data": {"relationship": "Father", "parental_responsibility": "No"}},
                "contact_details": {"data": {"phones": {"mobile": " ", "primary": "0161"}}}}]}}"#);
        let c = &s.contacts.unwrap()[0];
        assert_eq!(c.name.as_deref(), Some("Al"));
        assert_eq!(c.relationship.as_deref(), Some("Father"));
        assert_eq!(c.phone.as_deref(), Some("0161"));
        assert_eq!(c.parental_responsibility, Some(false));
    }

    #[test]
    fn only_sent_blocks_become_items() {
        let s = map(r#"{"id": "A1", "forename": "Ruth", "future_field": {"x": [1]}}"#);
        let keys: Vec<_> = s.items.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.iter().all(|k| k.starts_with("basic.")), "{keys:?}");
        assert_eq!(keys.len(), 7);
        assert_eq!(s.contacts, None);
        assert_eq!(s.upi, None);
    }

    #[test]
    fn null_and_empty_includes() {
        let s = map(
            r#"{"id": "A1", "contact_details": null, "education_details": {"data": null},
                "extended_details": {"data": []}, "contacts": {"data": []},
                "year": {"data": {"code": "R"}}}"#,
        );
        let items = items(&s);
        assert!(items.contains(&("education.nc_year", Some("R"))));
        assert!(!items.iter().any(|(k, _)| k.starts_with("identifiers.")));
        assert!(!items.iter().any(|(k, _)| k.starts_with("address.")));
        // `[]` is how PHP writes an empty object: the block was sent, empty.
        assert!(items.contains(&("extended.sen_status", None)));
        assert_eq!(s.contacts, Some(vec![]));
    }

    #[test]
    fn an_address_block_without_home_sends_no_address() {
        let s = map(
            r#"{"id": "A1", "contact_details": {"data": {"addresses": {"postal": {"street": "x"}}}}}"#,
        );
        assert!(!s.items.iter().any(|(k, _)| k.starts_with("address.")));
    }

    #[test]
    fn every_field_null() {
        let s = map(
            r#"{"id": "A1", "upi": null, "forename": null, "gender": null, "date_of_birth": null,
                "education_details": {"data": {"upn": null, "current_nc_year": null}},
                "contacts": {"data": [{"forename": null, "surname": null, "relationship": null,
                                       "contact_details": null}]}}"#,
        );
        assert!(s.items.iter().all(|(_, v)| v.is_none()));
        assert_eq!(
            s.contacts.unwrap(),
            [incoming::Contact {
                name: None,
                relationship: None,
                phone: None,
                email: None,
                parental_responsibility: None,
            }]
        );
    }

    #[test]
    fn odd_leaf_types_read_as_absent_or_text() {
        let s = map(
            r#"{"id": 42, "forename": ["x"], "surname": {"a": 1}, "gender": " other ",
                "date_of_birth": "29/09/2002"}"#,
        );
        assert_eq!(s.source_id, "42");
        let items = items(&s);
        assert!(items.contains(&("basic.forename", None)));
        assert!(items.contains(&("basic.surname", None)));
        assert!(items.contains(&("basic.gender", Some("other"))));
        assert!(items.contains(&("basic.date_of_birth", Some("29/09/2002"))));
    }

    #[test]
    fn a_student_without_id_is_skipped() {
        for json in [r#"{}"#, r#"{"id": null}"#, r#"{"id": "  "}"#] {
            let parsed: wire::Student = serde_json::from_str(json).unwrap();
            assert!(student(&parsed).is_none(), "{json}");
        }
    }

    #[test]
    fn genders() {
        assert_eq!(gender("MALE"), "M");
        assert_eq!(gender("female"), "F");
        assert_eq!(gender("Not Known"), "Not Known");
    }

    #[test]
    fn dates() {
        let d = |v: &str| date(&Text(Some(v.into())));
        assert_eq!(
            d("2002-09-29 00:00:00.000000").as_deref(),
            Some("2002-09-29")
        );
        assert_eq!(d(" 2002-09-29 ").as_deref(), Some("2002-09-29"));
        assert_eq!(d("2002-9-29").as_deref(), Some("2002-9-29"));
        assert_eq!(d("é").as_deref(), Some("é"));
        assert_eq!(d("2002-09-2é").as_deref(), Some("2002-09-2é"));
        assert_eq!(d(""), None);
    }

    #[test]
    fn houses() {
        let h = |name: Option<&str>, number: Option<&str>| {
            house(&wire::Address {
                house_name: Text(name.map(Into::into)),
                house_number: Text(number.map(Into::into)),
                ..Default::default()
            })
        };
        assert_eq!(h(None, Some("12")).as_deref(), Some("12"));
        assert_eq!(
            h(Some("Rose Cottage"), None).as_deref(),
            Some("Rose Cottage")
        );
        assert_eq!(
            h(Some("Rose Cottage"), Some("12")).as_deref(),
            Some("Rose Cottage, 12")
        );
        assert_eq!(h(Some(" "), None), None);
    }

    #[test]
    fn maps_the_documented_school() {
        let json = r#"{"id": "A1234567890", "name": "Example Academy", "establishment_number": "4001",
            "urn": 100001, "phase_of_education": "SECONDARY", "la_code": "123", "timezone": "Europe/London",
            "mis": "SIMS", "address": {"address_line_1": "1 High St", "address_line_2": null},
            "extended": {"allows_writeback": true,
                "audit_approved_at": {"date": "2024-07-20 10:24:14.000000", "timezone_type": 3, "timezone": "UTC"}},
            "region": {"code": "GBR", "domain": "api.wonde.com",
                "school_url": "https://api.wonde.com/v1.0/schools/A1234567890",
                "identifiers": {"la_code": "123", "establishment_number": "4001", "urn": 100001}}}"#;
        let parsed: wire::School = serde_json::from_str(json).unwrap();
        assert_eq!(
            school(&parsed).unwrap(),
            incoming::School {
                source_id: "A1234567890".into(),
                name: "Example Academy".into(),
                urn: Some(100_001),
                la_code: Some("123".into()),
                establishment_number: Some("4001".into()),
                region_domain: Some("api.wonde.com".into()),
            }
        );
        let bare: wire::School =
            serde_json::from_str(r#"{"id": "A1", "urn": "n/a", "region": null}"#).unwrap();
        let bare = school(&bare).unwrap();
        assert_eq!(
            (bare.name.as_str(), bare.urn, bare.region_domain),
            ("", None, None)
        );
    }
}
