//! The sandbox's made-up schools and students. Each one is computed from
//! (seed, school index, student index) alone, so any page can be produced on
//! demand and the same seed always gives the same people.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};

/// The school year the data describes: 2026/27.
const SCHOOL_YEAR: i32 = 2026;
/// The LA of every sandbox school: Kent, whose towns the addresses use.
pub(super) const LA_CODE: &str = "886";
/// The LA a transferred-in pupil's former UPN was issued by.
const FORMER_LA_CODE: &str = "919";
/// The county of every address.
const COUNTY: &str = "Kent";
/// How many students one school can hold, added pupils included. Student
/// ids and UPN serials are carved from ranges of this size, which is what
/// keeps them unique without remembering them.
pub(super) const SCHOOL_CAPACITY: usize = 8_000;
/// How many schools a sandbox can hold: with [`SCHOOL_CAPACITY`] this fills
/// the seven digits of a UPN's establishment number and serial.
pub(super) const MAX_SCHOOLS: usize = 1_000;

/// A student as the sandbox serves it: the base record generated from the
/// seed, or the latest version after [`super::Sandbox::edit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxStudent {
    /// Wonde's id for the record, e.g. `A1000000001`.
    pub id: String,
    /// Stable unique person id (32 hex digits).
    pub upi: String,
    /// The id inside the school's MIS.
    pub mis_id: String,
    /// Preferred forename.
    pub forename: String,
    /// Preferred surname.
    pub surname: String,
    /// Middle names, if any.
    pub middle_names: Option<String>,
    /// Legal forename.
    pub legal_forename: String,
    /// Legal surname.
    pub legal_surname: String,
    /// `MALE` or `FEMALE`.
    pub gender: String,
    /// Date of birth, consistent with `nc_year` for 2026/27.
    pub date_of_birth: NaiveDate,
    /// Unique Pupil Number: check letter and 12 digits.
    pub upn: String,
    /// A previous UPN, for a few pupils who came from another LA.
    pub former_upn: Option<String>,
    /// National Curriculum year; 0 is Reception (served as `R`).
    pub nc_year: u8,
    /// When the pupil joined this school.
    pub admission_date: NaiveDate,
    /// House number of the home address.
    pub house_number: String,
    /// Street of the home address.
    pub street: Option<String>,
    /// District of the home address, where there is one.
    pub district: Option<String>,
    /// Town of the home address.
    pub town: String,
    /// County of the home address.
    pub county: String,
    /// Postcode of the home address, e.g. `CT1 2AB`.
    pub postcode: String,
    /// The household's landline (served as the student's home phone).
    pub home_phone: String,
    /// SEN status: `N` none, `K` SEN support, `E` EHC plan.
    pub sen_status: String,
    /// Eligible for free school meals.
    pub free_school_meals: bool,
    /// `English`, `Other than English` or `Unclassified`.
    pub eal: String,
    /// Pupil premium.
    pub pupil_premium: bool,
    /// One or two carers, in priority order.
    pub contacts: Vec<SandboxContact>,
    /// When the record appeared at Wonde.
    pub created_at: DateTime<Utc>,
    /// When the record last changed (what `updated_after` compares).
    pub updated_at: DateTime<Utc>,
}

/// A student's carer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxContact {
    /// Wonde's id for the contact.
    pub id: String,
    /// `Mrs`, `Ms`, `Miss` or `Mr`.
    pub title: String,
    /// Forename.
    pub forename: String,
    /// Surname.
    pub surname: String,
    /// e.g. `Mother`, `Father`, `Grandmother`, `Foster Carer`.
    pub relationship: String,
    /// Whether the carer has parental responsibility.
    pub parental_responsibility: bool,
    /// Mobile number (in the range Ofcom keeps for drama, so never real).
    pub phone: String,
    /// Email address at `example.com`.
    pub email: String,
}

/// Primary or secondary: which NC years a school teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Primary,
    Secondary,
}

impl Phase {
    /// Wonde's `phase_of_education`.
    pub(super) fn label(self) -> &'static str {
        match self {
            Phase::Primary => "PRIMARY",
            Phase::Secondary => "SECONDARY",
        }
    }

    /// The first and last NC year taught.
    fn years(self) -> (u8, u8) {
        match self {
            Phase::Primary => (0, 6),
            Phase::Secondary => (7, 11),
        }
    }
}

/// A school's fixed details.
#[derive(Debug)]
pub(super) struct School {
    pub id: String,
    pub name: String,
    pub urn: u32,
    pub establishment_number: String,
    pub phase: Phase,
    pub mis: &'static str,
    pub address: Address,
}

/// A postal address.
#[derive(Debug)]
pub(super) struct Address {
    pub house_number: String,
    pub street: String,
    pub district: Option<String>,
    pub town: &'static Town,
    pub postcode: String,
}

/// A Kent town: its postcode districts and some of its neighbourhoods.
#[derive(Debug)]
pub(super) struct Town {
    pub name: &'static str,
    outward: &'static [&'static str],
    districts: &'static [&'static str],
}

#[rustfmt::skip]
const TOWNS: &[Town] = &[
    Town { name: "Canterbury", outward: &["CT1", "CT2"], districts: &["Wincheap", "Hales Place", "Thanington"] },
    Town { name: "Margate", outward: &["CT9"], districts: &["Cliftonville", "Westbrook"] },
    Town { name: "Ramsgate", outward: &["CT11", "CT12"], districts: &["Newington", "Pegwell"] },
    Town { name: "Dover", outward: &["CT16", "CT17"], districts: &["River", "Buckland"] },
    Town { name: "Folkestone", outward: &["CT19", "CT20"], districts: &["Cheriton", "Sandgate"] },
    Town { name: "Maidstone", outward: &["ME14", "ME15", "ME16"], districts: &["Allington", "Penenden Heath", "Shepway"] },
    Town { name: "Sittingbourne", outward: &["ME10"], districts: &["Milton Regis", "Kemsley"] },
    Town { name: "Ashford", outward: &["TN23", "TN24"], districts: &["Kennington", "Willesborough"] },
    Town { name: "Tunbridge Wells", outward: &["TN1", "TN2", "TN4"], districts: &["Southborough", "Sherwood"] },
    Town { name: "Sevenoaks", outward: &["TN13"], districts: &["Riverhead", "Kippington"] },
    Town { name: "Dartford", outward: &["DA1", "DA2"], districts: &["Temple Hill", "Wilmington"] },
    Town { name: "Gravesend", outward: &["DA11", "DA12"], districts: &["Northfleet", "Riverview Park"] },
];

#[rustfmt::skip]
const GIRLS: &[&str] = &[
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia", "Grace",
    "Freya", "Willow", "Florence", "Emily", "Ella", "Poppy", "Evie", "Elsie", "Charlotte", "Evelyn",
    "Sienna", "Daisy", "Phoebe", "Aisha", "Maryam", "Zara", "Amira", "Zoë", "Hannah", "Chloe",
    "Maja", "Zuzanna", "Priya", "Niamh", "Mary-Kate",
];

#[rustfmt::skip]
const BOYS: &[&str] = &[
    "Noah", "Muhammad", "Oliver", "George", "Leo", "Arthur", "Oscar", "Harry", "Theodore",
    "Freddie", "Jack", "Charlie", "Henry", "Alfie", "Thomas", "Jacob", "Archie", "Joshua", "Ethan",
    "Isaac", "James", "William", "Finley", "Lucas", "Mason", "Reuben", "Yusuf", "Ibrahim", "Kacper",
    "Jakub", "Dylan", "Rhys", "Aarav", "Samuel", "Tomás", "Jean-Luc",
];

#[rustfmt::skip]
const WOMEN: &[&str] = &[
    "Sarah", "Emma", "Claire", "Laura", "Rebecca", "Gemma", "Nicola", "Kerry", "Joanne", "Michelle",
    "Fatima", "Agnieszka", "Rachel", "Stacey", "Hayley", "Samantha", "Nadia", "Shabana", "Lisa",
    "Karen", "Amy", "Jennifer", "Chidinma", "Joanna",
];

#[rustfmt::skip]
const MEN: &[&str] = &[
    "David", "Paul", "Mark", "Andrew", "Richard", "Daniel", "Christopher", "Stephen", "Lee",
    "Craig", "Imran", "Tomasz", "Gary", "Darren", "Wayne", "Jason", "Simon", "Matthew", "Adebayo",
    "Kevin", "Michał", "Shahid", "Ian", "Neil",
];

#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards", "Hughes",
    "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner", "Martin",
    "Cooper", "Hill", "Khan", "Begum", "Ahmed", "Hussain", "Singh", "Kaur", "Nowak", "Kowalski",
    "Wiśniewska", "O'Brien", "O'Connor", "McCarthy", "Okafor", "Adeyemi", "Mensah", "Nguyen",
    "Chen", "Smith-Jones", "Ward", "Bennett",
];

#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Station", "Church", "Victoria", "Mill", "London", "Park", "High", "Queens", "Kings", "Orchard",
    "Manor", "Chapel", "School", "Castle", "Albert", "Windmill", "Hop Garden", "Cherry", "Beech",
    "Roman",
];

#[rustfmt::skip]
const STREET_KINDS: &[&str] = &[
    "Road", "Street", "Lane", "Close", "Avenue", "Way", "Gardens", "Drive",
];

#[rustfmt::skip]
const SCHOOL_NAMES: &[&str] = &[
    "Oakfield", "St Peter's CofE", "Hillside", "Brookfield", "Riverview", "Holy Cross Catholic",
    "Westgate", "Kingsmead", "Ashgrove", "Beechwood", "Meadowbank", "Parkside", "St Mary's CofE",
    "Downs View", "Castle Hill", "Oaks Park", "Weald", "Whitstable Road",
];

const SECONDARY_KINDS: &[&str] = &["Academy", "High School", "Grammar School", "School"];

const MIS_NAMES: &[&str] = &["SIMS", "Arbor", "Bromcom", "ScholarPack"];

/// Letters a postcode's inward code may end with (never C, I, K, M, O or V).
const INWARD_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";

/// Separate random streams so a school and a student never share a sequence.
const SCHOOL_STREAM: u64 = 1;
const STUDENT_STREAM: u64 = 2;

/// When every generated record was created and last changed, as in a
/// recorded Wonde response.
pub(super) fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 20, 10, 23, 33).unwrap()
}

/// A Wonde-style id: `A` and ten digits. `space` keeps schools (0),
/// students (1), contacts (2) and year groups (3) apart.
pub(super) fn wonde_id(space: u64, n: usize) -> String {
    format!("A{:010}", space * 1_000_000_000 + n as u64)
}

/// The year group of NC year `nc_year`: `R` for Reception, else the number.
pub(super) fn year_code(nc_year: u8) -> String {
    if nc_year == 0 {
        "R".to_string()
    } else {
        nc_year.to_string()
    }
}

/// The year group's display name.
pub(super) fn year_name(nc_year: u8) -> String {
    if nc_year == 0 {
        "Reception".to_string()
    } else {
        format!("Year {nc_year}")
    }
}

/// School number `index` of a sandbox made from `seed`.
pub(super) fn school(seed: u64, index: usize) -> School {
    let mut rng = Rng::new(&[seed, SCHOOL_STREAM, index as u64]);
    let phase = if rng.percent(70) {
        Phase::Primary
    } else {
        Phase::Secondary
    };
    let town = rng.pick(TOWNS);
    let (name, establishment_base) = match phase {
        Phase::Primary => (format!("{} Primary School", rng.pick(SCHOOL_NAMES)), 2000),
        Phase::Secondary => (
            format!("{} {}", rng.pick(SCHOOL_NAMES), rng.pick(SECONDARY_KINDS)),
            4000,
        ),
    };
    let mis = *rng.pick(MIS_NAMES);
    School {
        id: wonde_id(0, index + 1),
        name,
        urn: 118_000 + index as u32,
        establishment_number: (establishment_base + index).to_string(),
        phase,
        mis,
        address: address(&mut rng, town),
    }
}

/// Student number `index` of school number `school_index`, as first served.
pub(super) fn student(
    seed: u64,
    school_index: usize,
    school: &School,
    index: usize,
) -> SandboxStudent {
    let mut rng = Rng::new(&[seed, STUDENT_STREAM, school_index as u64, index as u64]);
    // Unique across the sandbox: the basis of the ids and the UPN.
    let number = school_index * SCHOOL_CAPACITY + index;
    let female = rng.percent(50);
    let names = if female { GIRLS } else { BOYS };
    let forename = rng.pick(names).to_string();
    let middle_names = rng.percent(40).then(|| rng.pick(names).to_string());
    let surname = rng.pick(SURNAMES).to_string();
    let (first, last) = school.phase.years();
    let nc_year = first + rng.below(u64::from(last - first) + 1) as u8;
    let home = if rng.percent(80) {
        school.address.town
    } else {
        rng.pick(TOWNS)
    };
    let address = address(&mut rng, home);
    let free_school_meals = rng.percent(20);
    SandboxStudent {
        id: wonde_id(1, number),
        upi: format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64()),
        mis_id: (1001 + index).to_string(),
        legal_forename: forename.clone(),
        legal_surname: surname.clone(),
        gender: if female { "FEMALE" } else { "MALE" }.to_string(),
        date_of_birth: date_of_birth(&mut rng, nc_year),
        nc_year,
        upn: upn(LA_CODE, number, nc_year),
        former_upn: rng.percent(3).then(|| upn(FORMER_LA_CODE, number, nc_year)),
        admission_date: admission_date(&mut rng, school.phase, nc_year),
        house_number: address.house_number,
        street: Some(address.street),
        district: address.district,
        town: address.town.name.to_string(),
        county: COUNTY.to_string(),
        postcode: address.postcode,
        home_phone: format!("01632 960{:03}", rng.below(1000)),
        sen_status: rng.weighted(&[("N", 85), ("K", 12), ("E", 3)]).to_string(),
        free_school_meals,
        eal: rng
            .weighted(&[
                ("English", 80),
                ("Other than English", 18),
                ("Unclassified", 2),
            ])
            .to_string(),
        pupil_premium: free_school_meals || rng.percent(5),
        contacts: carers(&mut rng, number, &surname),
        forename,
        middle_names,
        surname,
        created_at: base_time(),
        updated_at: base_time(),
    }
}

/// A UPN as the school that admitted the pupil to Reception would have
/// issued it: LA, establishment, year of issue, serial. `number` fills the
/// establishment and serial digits, so no two students share a UPN.
fn upn(la_code: &str, number: usize, nc_year: u8) -> String {
    let serial = 2_000_000 + number;
    let issued = (SCHOOL_YEAR - i32::from(nc_year)) % 100;
    let digits = format!(
        "{la_code}{:04}{issued:02}{:03}",
        serial / 1000,
        serial % 1000
    );
    let letter = crate::upn::check_letter(&digits).expect("a UPN body is 12 digits");
    format!("{letter}{digits}")
}

/// A birthday in the academic year that puts a child in `nc_year` in
/// 2026/27: 1 September to 31 August.
fn date_of_birth(rng: &mut Rng, nc_year: u8) -> NaiveDate {
    let born_from = SCHOOL_YEAR - i32::from(nc_year) - 6;
    let start = ymd(born_from, 9, 1);
    let days = (ymd(born_from + 1, 8, 31) - start).num_days() as u64 + 1;
    start + Days::new(rng.below(days))
}

/// Most pupils joined at the start of their first year at the school; some
/// moved in later.
fn admission_date(rng: &mut Rng, phase: Phase, nc_year: u8) -> NaiveDate {
    let years_here = i32::from(nc_year - phase.years().0);
    let start = ymd(SCHOOL_YEAR - years_here, 9, 1);
    if years_here == 0 || rng.percent(85) {
        return start;
    }
    let days = (ymd(SCHOOL_YEAR, 9, 1) - start).num_days() as u64;
    start + Days::new(rng.below(days))
}

fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).expect("a real calendar date")
}

fn address(rng: &mut Rng, town: &'static Town) -> Address {
    let letter = |rng: &mut Rng| char::from(*rng.pick(INWARD_LETTERS));
    Address {
        house_number: (1 + rng.below(180)).to_string(),
        street: format!("{} {}", rng.pick(STREETS), rng.pick(STREET_KINDS)),
        district: rng
            .percent(40)
            .then(|| rng.pick(town.districts).to_string()),
        postcode: format!(
            "{} {}{}{}",
            rng.pick(town.outward),
            rng.below(10),
            letter(rng),
            letter(rng)
        ),
        town,
    }
}

/// Who a carer is to the child.
#[derive(Clone, Copy)]
struct Role {
    relationship: &'static str,
    female: bool,
    parent: bool,
}

const MOTHER: Role = Role {
    relationship: "Mother",
    female: true,
    parent: true,
};
const FATHER: Role = Role {
    relationship: "Father",
    female: false,
    parent: true,
};
const GRANDMOTHER: Role = Role {
    relationship: "Grandmother",
    female: true,
    parent: false,
};
const GRANDFATHER: Role = Role {
    relationship: "Grandfather",
    female: false,
    parent: false,
};
const FOSTER_CARER: Role = Role {
    relationship: "Foster Carer",
    female: true,
    parent: false,
};

/// One or two carers: usually a parent, often both.
fn carers(rng: &mut Rng, number: usize, child_surname: &str) -> Vec<SandboxContact> {
    let first = *rng.weighted(&[
        (MOTHER, 70),
        (FATHER, 20),
        (GRANDMOTHER, 5),
        (FOSTER_CARER, 5),
    ]);
    let partner = match first.relationship {
        "Mother" => Some(FATHER),
        "Father" => Some(MOTHER),
        "Grandmother" => Some(GRANDFATHER),
        _ => None,
    };
    let second = partner.filter(|_| rng.percent(60));
    [Some(first), second]
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(k, role)| carer(rng, role, wonde_id(2, number * 2 + k), child_surname))
        .collect()
}

fn carer(rng: &mut Rng, role: Role, id: String, child_surname: &str) -> SandboxContact {
    let forename = rng.pick(if role.female { WOMEN } else { MEN }).to_string();
    let surname = if role.parent && rng.percent(85) {
        child_surname.to_string()
    } else {
        rng.pick(SURNAMES).to_string()
    };
    let title = if role.female {
        *rng.weighted(&[("Mrs", 50), ("Ms", 30), ("Miss", 20)])
    } else {
        "Mr"
    };
    SandboxContact {
        id,
        title: title.to_string(),
        phone: format!("07700 900{:03}", rng.below(1000)),
        email: format!(
            "{}.{}{}@example.com",
            email_part(&forename),
            email_part(&surname),
            rng.below(100)
        ),
        relationship: role.relationship.to_string(),
        parental_responsibility: role.parent || role.relationship == "Foster Carer",
        forename,
        surname,
    }
}

/// A name as it would appear in an email address: lower-case ASCII letters.
fn email_part(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// SplitMix64: tiny, fast, and its output never changes between versions or
/// platforms, which is what makes a seed reproduce the same data.
struct Rng(u64);

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for one record, keyed by every number that identifies it.
    fn new(key: &[u64]) -> Rng {
        Rng(key
            .iter()
            .fold(GOLDEN, |state, &k| mix(state ^ mix(k.wrapping_add(GOLDEN)))))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    /// A number in `0..n`; the modulo bias is far too small to matter here.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// One of `items`, each as likely as its weight.
    fn weighted<'a, T>(&mut self, items: &'a [(T, u64)]) -> &'a T {
        let mut roll = self.below(items.iter().map(|(_, w)| w).sum());
        for (item, weight) in items {
            if roll < *weight {
                return item;
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }
}
