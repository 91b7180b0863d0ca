//! Import of 5,000 certificate rows into a register of 1,200 people (goal: < 2 s): the CSV read,
//! every row checked and planned, each change signed as the server signs it and folded as a
//! device folds it. (The server's SQLite writes come on top: see `import people` timed by hand
//! in the issue notes.)

use criterion::{criterion_group, criterion_main, Criterion};
use ed25519_zebra::SigningKey;
use ptw_core::authority::{Authority, RegistryOp};
use ptw_core::registry::{Profile, Registry};
use ptw_core::signature::SignatureMemo;
use ptw_core::{Catalog, PersonId};
use ptw_register::{plan_certificates, Sheet};

const PEOPLE: usize = 1_200;
const ROWS: usize = 5_000;

fn plant() -> (Authority, Registry) {
    let mut server = Authority::new(SigningKey::from_bytes(&[5u8; 32]), None);
    let mut ops = vec![
        RegistryOp::Genesis { plant: "bench".into() },
        RegistryOp::SetCatalog { catalog: Catalog::gb30871().expect("catalog") },
    ];
    for n in 0..PEOPLE {
        ops.push(RegistryOp::PutPerson {
            id: PersonId(uuid::Uuid::from_u128(1_000 + n as u128)),
            name: format!("工人{n}"),
            title: "焊工".into(),
            roles: vec![],
            profile: Profile {
                department: format!("车间{}", n % 12), badge: format!("B{n:05}"), ..Profile::default()
            },
        });
    }
    let entries: Vec<_> = ops.into_iter().enumerate().map(|(i, op)| server.append(op, i as i64)).collect();
    let registry = Registry::from_log(&entries, &server.public_key()).expect("folds");
    (server, registry)
}

fn csv() -> String {
    let types = ["焊接与热切割作业证", "高处作业证", "电工作业证", "受限空间作业证", "特种设备焊接操作证"];
    let mut out = String::from("工号,姓名,证书类型,证书编号,发证机关,有效期起,有效期至\n");
    for n in 0..ROWS {
        let p = n % PEOPLE;
        out.push_str(&format!(
            "B{p:05},工人{p},{},T{n:08},江苏省应急管理厅,2024-0{}-01,{}\n",
            types[n % types.len()],
            1 + n % 9,
            46_000 + n % 1_000
        ));
    }
    out
}

fn import(c: &mut Criterion) {
    let (server, registry) = plant();
    let text = csv();
    let plan = plan_certificates(&Sheet::from_csv(text.as_bytes()).expect("csv"), &registry);
    assert!(plan.is_clean(), "{:?}", &plan.problems[..plan.problems.len().min(3)]);
    assert_eq!(plan.added, ROWS);
    let key = server.public_key();
    let head = registry.head.clone();
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.bench_function("import_5000_certificate_rows_read_plan_sign_fold", |b| {
        b.iter(|| {
            let sheet = Sheet::from_csv(text.as_bytes()).expect("csv");
            let plan = plan_certificates(&sheet, &registry);
            let mut writer = Authority::new(SigningKey::from_bytes(&[5u8; 32]), head.clone());
            let mut folded = registry.clone();
            let memo = SignatureMemo::new();
            for (i, op) in plan.ops.into_iter().enumerate() {
                let entry = writer.append(op, 10_000 + i as i64);
                folded.apply_entry(&entry, &key, &memo).expect("folds");
            }
            assert_eq!(folded.certificates.len(), ROWS);
            folded
        })
    });
    group.finish();
}

criterion_group!(benches, import);
criterion_main!(benches);
