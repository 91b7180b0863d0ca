//! Finding permits and whose turn it is, through the store and a real SQLite file: search by a
//! part of the number, the title, the location's name or a person's name; "waiting for me";
//! and the turn on each list row, kept with every write and derived again for rows from before.

mod common;
use chrono::Duration;
use common::*;
use ptw_core::api::{Action, ListQuery};
use ptw_core::offers::ActionKind;
use ptw_core::{PermitId, PersonId, Status};
use ptw_store::Store;

fn query() -> ListQuery {
    ListQuery { limit: 200, ..Default::default() }
}

fn found(store: &Store, q: ListQuery) -> Vec<PermitId> {
    let mut ids: Vec<PermitId> = store.list(&q).expect("list").into_iter().map(|s| s.id).collect();
    ids.sort();
    ids
}

fn searched(store: &Store, text: &str) -> Vec<PermitId> {
    found(store, ListQuery { text: Some(text.into()), ..query() })
}

fn waiting_for(store: &Store, person: PersonId) -> Vec<PermitId> {
    found(store, ListQuery { waiting_for: Some(person), ..query() })
}

fn sorted(mut ids: Vec<PermitId>) -> Vec<PermitId> {
    ids.sort();
    ids
}

#[test]
fn search_finds_a_permit_by_part_of_its_title_number_location_or_people_and_nothing_else() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("device.db"));
    let t = t0();
    let zhao = person("赵磊");
    let mut form = hot_work_form(&store, t + Duration::minutes(30));
    form.title = "罐区 T-101 出料管线法兰焊接".into();
    let flange = store.create_permit(zhao, form.clone(), t).expect("flange");
    form.title = "泵房 100%_检修".into();
    form.guardian = Some(person("周敏"));
    let pump = store.create_permit(zhao, form, t).expect("pump");

    assert_eq!(searched(&store, "法兰"), vec![flange.id], "a part of the title");
    assert_eq!(searched(&store, "t-101 出料"), vec![flange.id], "case does not matter");
    let tail = &flange.number[flange.number.len() - 4..];
    assert_eq!(searched(&store, tail), vec![flange.id], "a part of the number");
    assert_eq!(searched(&store, "周敏"), vec![pump.id], "the guardian's name");
    assert_eq!(searched(&store, "赵磊"), sorted(vec![flange.id, pump.id]), "the applicant's name");
    let place = store.registry().location(flange.form.location.expect("a location")).expect("known").name.clone();
    assert_eq!(searched(&store, &place), sorted(vec![flange.id, pump.id]), "the location's name");
    // LIKE's wildcards are text like any other.
    assert_eq!(searched(&store, "100%_"), vec![pump.id]);
    assert_eq!(searched(&store, "%"), vec![pump.id], "a % is a percent sign, not 'anything'");
    assert_eq!(searched(&store, "_"), vec![pump.id], "an _ is an underscore, not 'any character'");
    assert!(searched(&store, "%%").is_empty());
    assert!(searched(&store, "不存在的作业").is_empty());
    assert_eq!(searched(&store, "   ").len(), 2, "blank text filters nothing");
    // Filters combine.
    let drafts = ListQuery { text: Some("法兰".into()), status: Some(Status::Draft), ..query() };
    assert_eq!(found(&store, drafts), vec![flange.id]);
    let other_type = ListQuery { text: Some("法兰".into()), permit_type: Some("confined_space".into()), ..query() };
    assert!(found(&store, other_type).is_empty());

    // By area: the location's area, from the register.
    let area = store.registry().location(flange.form.location.expect("a location")).expect("known").area.clone();
    assert_eq!(found(&store, ListQuery { area: Some(area), ..query() }), sorted(vec![flange.id, pump.id]));
    assert!(found(&store, ListQuery { area: Some("没有这个区域".into()), ..query() }).is_empty());
    // By date: planned windows overlapping [from, to). Both run 30 min to 4 h 30 min from t.
    let ms = |m: i64| (t + Duration::minutes(m)).timestamp_millis();
    let within = |from: i64, to: i64| found(&store, ListQuery { planned_within: Some((ms(from), ms(to))), ..query() });
    assert_eq!(within(0, 31).len(), 2, "overlaps the start");
    assert!(within(0, 30).is_empty(), "ends as the work begins: no overlap");
    assert_eq!(within(269, 400).len(), 2, "overlaps the end");
    assert!(within(270, 400).is_empty(), "begins as the work ends: no overlap");
}

#[test]
fn waiting_for_me_follows_the_permit_from_step_to_step_and_the_row_says_whose_turn_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("device.db");
    let mut store = open_demo(&db);
    let t = t0();
    let (zhao, liu, wang, li) = (person("赵磊"), person("刘洋"), person("王强"), person("李娜"));
    let id = store.create_permit(zhao, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft").id;
    assert_eq!(waiting_for(&store, zhao), vec![id], "the draft waits for its applicant to submit");
    assert!(waiting_for(&store, liu).is_empty());

    store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submit");
    assert_eq!(waiting_for(&store, liu), vec![id], "the workshop director signs next");
    assert!(waiting_for(&store, zhao).is_empty(), "never the applicant's own approval");
    assert!(waiting_for(&store, wang).is_empty(), "the safety step is not open yet");
    let row = store.list(&ListQuery { me: Some(liu), ..query() }).expect("list").remove(0);
    assert!(row.mine, "刘洋's row says it is his turn");
    assert!(!store.list(&ListQuery { me: Some(zhao), ..query() }).expect("list")[0].mine);
    assert!(!store.list(&query()).expect("list")[0].mine, "nobody asked: nobody's");
    assert_eq!(row.turn.action, Some(ActionKind::Approve));
    assert!(row.turn.who.contains(&liu), "{:?}", row.turn);
    assert_eq!(row.turn.role.as_ref().map(|r| r.0.as_str()), Some("workshop_director"));

    // What the detail page offers 赵磊 and 刘洋 agrees.
    let view = store.permit(id, t + Duration::minutes(2)).expect("view");
    let offered = |p: PersonId| {
        store.with_offers(view.clone(), p).offers.into_iter().filter(|o| o.mine).map(|o| o.action).collect::<Vec<_>>()
    };
    assert!(offered(liu).contains(&ActionKind::Approve));
    assert!(!offered(zhao).contains(&ActionKind::Approve));

    store.act(liu, id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(3)).expect("workshop");
    assert_eq!(waiting_for(&store, wang), vec![id]);
    assert!(waiting_for(&store, liu).is_empty());
    store.act(wang, id, Action::Approve { comment: "同意".into() }, t + Duration::minutes(4)).expect("safety");
    assert_eq!(waiting_for(&store, li), vec![id], "the guardian starts the work");
    let row = store.list(&query()).expect("list").remove(0);
    assert_eq!((row.status, row.turn.action), (Status::Approved, Some(ActionKind::Start)));

    // A database whose rows lack the turn (written before it was kept) gets it back on open.
    drop(store);
    {
        let conn = rusqlite::Connection::open(&db).expect("open the file");
        conn.execute_batch("UPDATE permits SET turn = NULL; DELETE FROM permit_turns;").expect("forget turns");
    }
    let store = open_demo(&db);
    assert_eq!(waiting_for(&store, li), vec![id]);
    assert_eq!(store.list(&query()).expect("list")[0].turn.action, Some(ActionKind::Start));
}

#[test]
fn a_rejected_permit_is_revised_by_its_applicant_and_a_closed_one_copied_without_its_dates() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = open_demo(&dir.path().join("device.db"));
    let t = t0();
    let (zhao, liu, wang) = (person("赵磊"), person("刘洋"), person("王强"));
    let id = store.create_permit(zhao, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft").id;
    // Only a rejected permit is revised.
    let early = store.revise(zhao, id, t);
    assert!(matches!(early, Err(ptw_store::StoreError::Refused(ptw_core::Violation::NotAllowedInStatus { .. }))));
    store.act(zhao, id, Action::Submit, t + Duration::minutes(1)).expect("submit");
    store.act(liu, id, Action::Reject { comment: "盲板未加".into() }, t + Duration::minutes(2)).expect("reject");
    // Only by its applicant.
    let other = store.revise(liu, id, t + Duration::minutes(3));
    assert!(matches!(other, Err(ptw_store::StoreError::Refused(ptw_core::Violation::NotApplicant))), "{other:?}");

    let revision = store.revise(zhao, id, t + Duration::minutes(3)).expect("revised");
    assert_eq!(revision.state.status, Status::Draft);
    assert_eq!(revision.form.revises, Some(id));
    assert_eq!(revision.form.title, store.permit(id, t).expect("old").form.title);
    let old = store.with_links(store.permit(id, t).expect("old")).expect("links");
    assert_eq!(old.state.status, Status::Rejected, "the rejected permit stays as it was");
    assert_eq!(old.links.revised_by.iter().map(|l| l.id).collect::<Vec<_>>(), vec![revision.id]);
    let new = store.with_links(store.permit(revision.id, t).expect("new")).expect("links");
    assert_eq!(new.links.revises.map(|l| l.number), Some(old.number.clone()));
    // The link survives the draft being edited (a device cannot move it by editing the form).
    let mut form = new.form.clone();
    form.revises = None;
    form.title = "改过的标题".into();
    let edited = store.update_draft(zhao, revision.id, form, t + Duration::minutes(4)).expect("edit");
    assert_eq!(edited.form.revises, Some(id));
    // A draft of someone else's that claims to revise it (its form says so: a device's word,
    // here written straight into the row) links to nothing, either way.
    let stranger = store.create_permit(wang, hot_work_form(&store, t + Duration::minutes(30)), t).expect("draft").id;
    {
        let conn = rusqlite::Connection::open(dir.path().join("device.db")).expect("open the file");
        conn.execute("UPDATE permits SET revises = ?1 WHERE id = ?2", [id.to_string(), stranger.to_string()])
            .expect("forge the link");
    }
    let old = store.with_links(store.permit(id, t).expect("old")).expect("links");
    assert_eq!(old.links.revised_by.iter().map(|l| l.id).collect::<Vec<_>>(), vec![revision.id], "not {stranger}");
    let mut forged = store.permit(stranger, t).expect("stranger");
    forged.form.revises = Some(id);
    assert_eq!(store.with_links(forged).expect("links").links.revises, None);
    // A new permit never claims to revise one.
    let mut claimed = hot_work_form(&store, t + Duration::minutes(30));
    claimed.revises = Some(id);
    assert_eq!(store.create_permit(zhao, claimed, t).expect("created").form.revises, None);

    // A permit copied as a template: a draft of the copier's, same work, no dates.
    let copy = store.copy_as_template(wang, id, t + Duration::minutes(5)).expect("copied");
    assert_eq!(copy.state.status, Status::Draft);
    assert_eq!(copy.form.applicant, Some(wang));
    assert_eq!((copy.form.planned_start, copy.form.planned_end), (None, None));
    assert_eq!(copy.form.precautions, old.form.precautions);
    assert_eq!(copy.form.location, old.form.location);
    assert!(copy.state.timeline.is_empty() && copy.state.gas_tests.is_empty());
}
