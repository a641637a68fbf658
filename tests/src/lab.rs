//! A database and a Wonde sandbox of its own: what the import tests share.

use crate::TestDb;
use b2b_host::service::ActionResult;
use b2b_host::storage::{conflicts::Filter, students};
use b2b_wonde_sandbox::held_record;
use b2b_wonde_sandbox::{Config, Fault, FaultRule, Sandbox};

/// The token the sandbox accepts.
pub const TOKEN: &str = "tok-9f8e7d6c5b4a-secret";

/// A fresh database pointed at a Wonde sandbox of its own on 127.0.0.1.
pub struct Lab {
    /// The database.
    pub t: TestDb,
    /// The sandbox it imports from.
    pub sandbox: Sandbox,
}

/// A sandbox of `schools` schools of `students_per_school` pupils, and a
/// database pointed at it with its token.
pub fn lab(schools: usize, students_per_school: usize) -> Lab {
    let t = TestDb::new();
    let sandbox = Sandbox::start(Config {
        schools,
        students_per_school,
        seed: 7,
        token: TOKEN.into(),
        port: 0,
    })
    .unwrap();
    t.svc
        .point_wonde_at(&sandbox.base_url(), Some(TOKEN))
        .unwrap();
    Lab { t, sandbox }
}

impl Lab {
    /// Imports (a delta after the first).
    pub fn import(&self) -> ActionResult {
        self.t.svc.import(&[], false).unwrap()
    }

    /// Seeds a held record that is an exact copy of what the sandbox serves,
    /// as the LA would hold it, then lets `change` alter it.
    pub fn hold(
        &self,
        school: usize,
        index: usize,
        change: impl FnOnce(&mut Vec<(&'static str, Option<String>)>),
    ) -> i64 {
        let s = self.sandbox.student(school, index).unwrap();
        let mut items = held_record(&s);
        change(&mut items);
        let values: Vec<(&str, Option<&str>)> =
            items.iter().map(|(k, v)| (*k, v.as_deref())).collect();
        students::insert(self.t.svc.conn(), None, &values).unwrap()
    }

    /// Makes every request for one school's data answer 403 (the school
    /// has not approved access), so that school's file fails.
    pub fn refuse_school(&self, school: &str) {
        self.sandbox.inject(FaultRule {
            school: Some(school.into()),
            page: None,
            skip: 0,
            times: u32::MAX,
            fault: Fault::Status(403),
        });
    }

    /// The open conflicts of a held student: item and incoming value.
    pub fn open_conflicts(&self, student: i64) -> Vec<(String, Option<String>)> {
        let filter = Filter {
            student_id: Some(student),
            ..Filter::default()
        };
        self.t
            .svc
            .conflicts(&filter, 100)
            .unwrap()
            .into_iter()
            .map(|c| (c.item, c.incoming_value))
            .collect()
    }
}

/// Sets one item of a record being built.
pub fn set(items: &mut [(&'static str, Option<String>)], key: &str, value: Option<&str>) {
    items.iter_mut().find(|(k, _)| *k == key).unwrap().1 = value.map(str::to_string);
}
