//! A sandbox pupil as an LA would hold it.

use crate::SandboxStudent;

/// The items an LA would hold for a pupil, keyed as the host's item
/// catalogue and mapped as the import maps them: the demo and the tests seed
/// held records that agree with what the sandbox sends.
pub fn held_record(s: &SandboxStudent) -> Vec<(&'static str, Option<String>)> {
    let flag = |b: bool| Some(b.to_string());
    vec![
        ("basic.forename", Some(s.forename.clone())),
        ("basic.middle_names", s.middle_names.clone()),
        ("basic.surname", Some(s.surname.clone())),
        ("basic.legal_forename", Some(s.legal_forename.clone())),
        ("basic.legal_surname", Some(s.legal_surname.clone())),
        ("basic.gender", Some(s.gender.chars().take(1).collect())),
        ("basic.date_of_birth", Some(s.date_of_birth.to_string())),
        ("identifiers.upn", Some(s.upn.clone())),
        ("identifiers.former_upn", s.former_upn.clone()),
        ("address.house", Some(s.house_number.clone())),
        ("address.street", s.street.clone()),
        ("address.district", s.district.clone()),
        ("address.town", Some(s.town.clone())),
        ("address.county", Some(s.county.clone())),
        ("address.postcode", Some(s.postcode.clone())),
        (
            "education.nc_year",
            Some(if s.nc_year == 0 {
                "R".into()
            } else {
                s.nc_year.to_string()
            }),
        ),
        (
            "education.admission_date",
            Some(s.admission_date.to_string()),
        ),
        ("extended.sen_status", Some(s.sen_status.clone())),
        ("extended.free_school_meals", flag(s.free_school_meals)),
        ("extended.eal", Some(s.eal.clone())),
        ("extended.pupil_premium", flag(s.pupil_premium)),
    ]
}
