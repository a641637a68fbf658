//! Wonde's JSON shapes. Students are the volume (hundreds of thousands in
//! a benchmark), so they are written through borrowed structs straight into
//! the response buffer; fields that are always null are typed `()`.

use super::data::{self, SandboxContact, SandboxStudent};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// `{"data": ...}`: a single object, and the wrapper of every include.
#[derive(Serialize)]
pub(super) struct Data<T> {
    pub data: T,
}

/// A page of a list: `{"data": [...], "meta": {"pagination": ...}}`.
#[derive(Serialize)]
pub(super) struct Page<T> {
    pub data: Vec<T>,
    pub meta: Meta,
}

#[derive(Serialize)]
pub(super) struct Meta {
    pub pagination: Pagination,
}

#[derive(Serialize)]
pub(super) struct Pagination {
    pub next: Option<String>,
    pub previous: Option<String>,
    pub more: bool,
    pub per_page: usize,
    pub current_page: usize,
}

/// Wonde's date object.
#[derive(Serialize)]
pub(super) struct WondeDate {
    date: String,
    timezone_type: u8,
    timezone: &'static str,
}

impl WondeDate {
    /// A moment, in UTC (created, updated, deleted).
    pub(super) fn utc(at: DateTime<Utc>) -> WondeDate {
        WondeDate {
            date: at.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            timezone_type: 3,
            timezone: "UTC",
        }
    }

    /// A calendar date, at local midnight (birthdays, admissions).
    fn local(day: NaiveDate) -> WondeDate {
        WondeDate {
            date: format!("{} 00:00:00.000000", day.format("%Y-%m-%d")),
            timezone_type: 3,
            timezone: "Europe/London",
        }
    }
}

/// Which student includes a request asked for.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Includes {
    contact_details: bool,
    education_details: bool,
    extended_details: bool,
    year: bool,
    contacts: bool,
}

impl Includes {
    /// From `include=a,b.c`: a nested include asks for its first part;
    /// includes the sandbox does not serve are ignored.
    pub(super) fn parse(list: &str) -> Includes {
        let mut includes = Includes::default();
        for name in list
            .split(',')
            .map(|n| n.trim().split('.').next().unwrap_or_default())
        {
            match name {
                "contact_details" => includes.contact_details = true,
                "education_details" => includes.education_details = true,
                "extended_details" => includes.extended_details = true,
                "year" => includes.year = true,
                "contacts" => includes.contacts = true,
                _ => {}
            }
        }
        includes
    }
}

#[derive(Serialize)]
pub(super) struct Student<'a> {
    id: &'a str,
    upi: &'a str,
    mis_id: &'a str,
    initials: String,
    title: (),
    surname: &'a str,
    forename: &'a str,
    middle_names: Option<&'a str>,
    legal_surname: &'a str,
    legal_forename: &'a str,
    gender: &'a str,
    gender_identity: (),
    date_of_birth: WondeDate,
    restored_at: (),
    created_at: WondeDate,
    updated_at: WondeDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    contact_details: Option<Data<ContactDetails<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    education_details: Option<Data<Education<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extended_details: Option<Data<Extended<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    year: Option<Data<Year>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    contacts: Option<Data<Vec<Contact<'a>>>>,
}

impl<'a> Student<'a> {
    /// `s` of school number `school`, with the includes asked for.
    pub(super) fn new(s: &'a SandboxStudent, school: usize, includes: Includes) -> Student<'a> {
        Student {
            id: &s.id,
            upi: &s.upi,
            mis_id: &s.mis_id,
            initials: initials(s),
            title: (),
            surname: &s.surname,
            forename: &s.forename,
            middle_names: s.middle_names.as_deref(),
            legal_surname: &s.legal_surname,
            legal_forename: &s.legal_forename,
            gender: &s.gender,
            gender_identity: (),
            date_of_birth: WondeDate::local(s.date_of_birth),
            restored_at: (),
            created_at: WondeDate::utc(s.created_at),
            updated_at: WondeDate::utc(s.updated_at),
            contact_details: block(includes.contact_details, || ContactDetails::new(s)),
            education_details: block(includes.education_details, || Education::new(s)),
            extended_details: block(includes.extended_details, || Extended::new(s)),
            year: block(includes.year, || Year::new(school, s.nc_year)),
            contacts: block(includes.contacts, || {
                s.contacts.iter().enumerate().map(Contact::new).collect()
            }),
        }
    }
}

/// An include, built only when it was asked for.
fn block<T>(wanted: bool, make: impl FnOnce() -> T) -> Option<Data<T>> {
    wanted.then(|| Data { data: make() })
}

/// The first letter of each name, forename first.
fn initials(s: &SandboxStudent) -> String {
    let names = [Some(&s.forename), s.middle_names.as_ref(), Some(&s.surname)];
    names
        .into_iter()
        .flatten()
        .flat_map(|n| n.split_whitespace())
        .filter_map(|n| n.chars().next())
        .collect()
}

#[derive(Serialize)]
struct ContactDetails<'a> {
    phones: Phones<'a>,
    emails: Emails<'a>,
    addresses: Addresses<'a>,
    salutation: (),
}

#[derive(Serialize)]
struct Phones<'a> {
    phone: &'a str,
    primary: &'a str,
    home: &'a str,
    work: (),
    mobile: Option<&'a str>,
}

#[derive(Serialize)]
struct Emails<'a> {
    email: Option<&'a str>,
    primary: Option<&'a str>,
    home: Option<&'a str>,
    work: (),
}

#[derive(Serialize)]
struct Addresses<'a> {
    home: Address<'a>,
}

#[derive(Serialize)]
struct Address<'a> {
    house_number: &'a str,
    house_name: (),
    apartment: (),
    street: Option<&'a str>,
    district: Option<&'a str>,
    town: &'a str,
    county: &'a str,
    country: &'static str,
    postcode: &'a str,
}

impl<'a> ContactDetails<'a> {
    /// The household's landline, and the first carer's mobile and email.
    fn new(s: &'a SandboxStudent) -> ContactDetails<'a> {
        let carer = s.contacts.first();
        let email = carer.map(|c| c.email.as_str());
        ContactDetails {
            phones: Phones {
                phone: &s.home_phone,
                primary: &s.home_phone,
                home: &s.home_phone,
                work: (),
                mobile: carer.map(|c| c.phone.as_str()),
            },
            emails: Emails {
                email,
                primary: email,
                home: email,
                work: (),
            },
            addresses: Addresses {
                home: Address {
                    house_number: &s.house_number,
                    house_name: (),
                    apartment: (),
                    street: s.street.as_deref(),
                    district: s.district.as_deref(),
                    town: &s.town,
                    county: &s.county,
                    country: "United Kingdom",
                    postcode: &s.postcode,
                },
            },
            salutation: (),
        }
    }
}

#[derive(Serialize)]
struct Education<'a> {
    upn: &'a str,
    former_upn: Option<&'a str>,
    current_nc_year: String,
    admission_date: WondeDate,
    leaving_date: (),
}

impl<'a> Education<'a> {
    fn new(s: &'a SandboxStudent) -> Education<'a> {
        Education {
            upn: &s.upn,
            former_upn: s.former_upn.as_deref(),
            current_nc_year: data::year_code(s.nc_year),
            admission_date: WondeDate::local(s.admission_date),
            leaving_date: (),
        }
    }
}

#[derive(Serialize)]
struct Extended<'a> {
    sen_status: &'a str,
    free_school_meals: bool,
    english_as_additional_language_status: &'a str,
    premium_pupil_indicator: bool,
}

impl<'a> Extended<'a> {
    fn new(s: &'a SandboxStudent) -> Extended<'a> {
        Extended {
            sen_status: &s.sen_status,
            free_school_meals: s.free_school_meals,
            english_as_additional_language_status: &s.eal,
            premium_pupil_indicator: s.pupil_premium,
        }
    }
}

#[derive(Serialize)]
struct Year {
    id: String,
    code: String,
    name: String,
    description: String,
}

impl Year {
    fn new(school: usize, nc_year: u8) -> Year {
        // Year groups are per school; 12 ids per school cover R to 11.
        let name = data::year_name(nc_year);
        Year {
            id: data::wonde_id(3, school * 12 + usize::from(nc_year)),
            code: data::year_code(nc_year),
            description: name.clone(),
            name,
        }
    }
}

#[derive(Serialize)]
struct Contact<'a> {
    id: &'a str,
    title: &'a str,
    forename: &'a str,
    surname: &'a str,
    relationship: Relationship<'a>,
    contact_details: Data<ContactReach<'a>>,
}

#[derive(Serialize)]
struct Relationship<'a> {
    relationship: &'a str,
    parental_responsibility: bool,
    priority: usize,
}

/// How to reach a carer.
#[derive(Serialize)]
struct ContactReach<'a> {
    phones: CarerPhones<'a>,
    emails: CarerEmails<'a>,
}

#[derive(Serialize)]
struct CarerPhones<'a> {
    phone: &'a str,
    mobile: &'a str,
}

#[derive(Serialize)]
struct CarerEmails<'a> {
    email: &'a str,
}

impl<'a> Contact<'a> {
    /// Carer number `k` (0 first) of a student.
    fn new((k, c): (usize, &'a SandboxContact)) -> Contact<'a> {
        Contact {
            id: &c.id,
            title: &c.title,
            forename: &c.forename,
            surname: &c.surname,
            relationship: Relationship {
                relationship: &c.relationship,
                parental_responsibility: c.parental_responsibility,
                priority: k + 1,
            },
            contact_details: Data {
                data: ContactReach {
                    phones: CarerPhones {
                        phone: &c.phone,
                        mobile: &c.phone,
                    },
                    emails: CarerEmails { email: &c.email },
                },
            },
        }
    }
}

/// A student deleted at source.
#[derive(Serialize)]
pub(super) struct Deletion {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    deleted_at: WondeDate,
}

impl Deletion {
    pub(super) fn student((id, at): (String, DateTime<Utc>)) -> Deletion {
        Deletion {
            id,
            kind: "student",
            deleted_at: WondeDate::utc(at),
        }
    }
}
