//! The plant's time zone and calendar, set by IT at the server's console (`plant calendar`)
//! and kept in the registry every device folds.

mod common;
use common::*;
use ptw_core::registry::PlantSettings;

fn settings(server: &Server) -> PlantSettings {
    serde_json::from_str(&server.admin(&["plant", "show"])).expect("`plant show` prints the settings as JSON")
}

#[test]
fn it_sets_the_calendar_changes_only_what_it_is_given_and_refuses_bad_input_changing_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    server.admin(&["demo", "seed"]);
    let before = settings(&server);
    assert_eq!(before.time_zone, "Asia/Shanghai");
    assert_eq!(before.calendar.rest_weekdays, vec![6, 7]);

    server.admin(&["plant", "calendar", "--holidays", "2027-01-01, 2027-02-06", "--night", "20:00-04:00"]);
    let after = settings(&server);
    let date = |s: &str| s.parse::<chrono::NaiveDate>().expect("date");
    assert_eq!(after.calendar.holidays, vec![date("2027-01-01"), date("2027-02-06")]);
    assert_eq!(after.calendar.night_start.to_string(), "20:00:00");
    assert_eq!(after.calendar.night_end.to_string(), "04:00:00");
    assert_eq!(after.calendar.rest_weekdays, vec![6, 7], "not given, kept");
    assert_eq!(
        (after.demo, after.min_pin_digits),
        (before.demo, before.min_pin_digits),
        "the rest of the settings kept"
    );

    for (args, says) in [
        (vec!["--time-zone", "Mars/Olympus"], "not a time zone"),
        (vec!["--rest-weekdays", "6,8"], "1 (Monday) to 7 (Sunday)"),
        (vec!["--holidays", "2027-13-01"], "YYYY-MM-DD"),
        (vec!["--night", "22:00"], "HH:MM-HH:MM"),
        (vec!["--night", "25:00-06:00"], "HH:MM"),
    ] {
        let mut all = vec!["plant", "calendar"];
        all.extend(&args);
        let err = server.admin_refused(&all);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert_eq!(settings(&server), after, "a refused change changes nothing");

    // A plant that works every day around the clock.
    server.admin(&["plant", "calendar", "--rest-weekdays", "", "--holidays", "", "--night", "none"]);
    let always = settings(&server);
    assert!(always.calendar.rest_weekdays.is_empty() && always.calendar.holidays.is_empty());
    assert_eq!(always.calendar.night_start, always.calendar.night_end);
}

#[test]
fn demo_seed_brings_a_demo_plant_up_to_date_once_and_never_touches_a_real_plant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    assert!(server.admin(&["demo", "seed"]).contains("seeded the demo plant"));
    assert!(server.admin(&["demo", "seed"]).contains("up to date; nothing seeded"), "a second seed changes nothing");

    let real = tempfile::tempdir().expect("temp dir");
    let plant = Server::start(real.path());
    plant.admin(&["user", "add", "--name", "钱某"]);
    assert!(plant.admin(&["demo", "seed"]).contains("not the demo; nothing seeded"));
    let people = plant.admin(&["user", "list"]);
    assert_eq!(people.lines().count(), 1, "{people}");
}

/// The safety manager reviews the catalog as JSON, changes a number, and IT loads it; a
/// catalog that does not hold together is refused naming the entry, and nothing changes.
#[test]
fn the_catalog_is_printed_checked_and_replaced_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = Server::start(dir.path());
    server.admin(&["demo", "seed"]);
    let printed = server.admin(&["plant", "catalog"]);
    let mut catalog = ptw_core::Catalog::from_json(&printed).expect("`plant catalog` prints the catalog");
    assert_eq!(catalog.permit_types.len(), 8);
    assert!(printed.contains("GB/T 3608"), "the sources are printed with the values");

    // NFPA 51B's 60 minutes instead of 30 for the fire watch.
    for g in &mut catalog.permit_types[0].grades {
        g.fire_watch.as_mut().expect("hot work has a fire watch").minutes = 60;
    }
    let file = dir.path().join("catalog.json");
    std::fs::write(&file, serde_json::to_string(&catalog).expect("json")).expect("write");
    let path = file.to_str().expect("utf-8 path");
    assert!(server.admin(&["plant", "set-catalog", path]).contains("8 operation types"));
    let now = ptw_core::Catalog::from_json(&server.admin(&["plant", "catalog"])).expect("catalog");
    assert_eq!(now.grade("hot_work", "grade_1").and_then(|g| g.fire_watch.as_ref()).map(|w| w.minutes), Some(60));

    // A step naming a role nobody defined, and a file that is no catalog: refused, unchanged.
    let mut broken = now.clone();
    broken.permit_types[2].grades[0].flow[0].role = ptw_core::Role::new("wizard");
    std::fs::write(&file, serde_json::to_string(&broken).expect("json")).expect("write");
    let err = server.admin_refused(&["plant", "set-catalog", path]);
    assert!(err.contains("work_at_height/grade_iv/workshop_approval: unknown role wizard"), "{err}");
    std::fs::write(&file, "{\"version\": 1}").expect("write");
    assert!(server.admin_refused(&["plant", "set-catalog", path]).contains("is not a catalog"));
    let after = ptw_core::Catalog::from_json(&server.admin(&["plant", "catalog"])).expect("catalog");
    assert_eq!(after, now, "a refused catalog changes nothing");
}
