//! The real binary in a real terminal (tmux): what a person at the keyboard meets. Judged by
//! AWS's state (plain SDK calls), the screen, and `stty -a` after the program exits.

use crate::support::tmux::{confirm_teardown, cooked};
use crate::support::{Moto, TestEnv, admin_clients, run};

const ANSWERS: &str = r#"
[state_store]
bucket = "typed-kops-state"
[ssh]
key_type = "ed25519"
[cluster]
name = "typed.example.com"
[validate]
wait = "1m"
interval = "100ms"
"#;

async fn users(moto: &Moto) -> usize {
    admin_clients(moto).await.iam.list_users().send().await.unwrap().users().len()
}

#[tokio::test]
async fn teardown_asks_for_the_name_and_a_wrong_one_deletes_nothing() {
    let moto = Moto::start();
    let mut env = TestEnv::new(Some(&moto));
    env.install_fake_kops();
    let file = env.answers(ANSWERS);
    let (code, out, err) = run(env.wizard().args(["setup", "--yes", "-c"]).arg(&file));
    assert_eq!(code, 0, "{out}\n{err}");
    let bin = env!("CARGO_BIN_EXE_kops-wizard").to_string();
    // The line mode's typed confirmation (a terminal without --plain gets the full screen).
    let argv = [bin, "teardown".into(), "--plain".into(), "-c".into(), file.display().to_string()];

    let (code, screen, stty) = confirm_teardown(&env, &argv, (100, 30), "typed.example.org");
    assert!(screen.contains("Type the cluster name (typed.example.com)"), "{screen}");
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("Nothing was deleted"), "{screen}");
    assert!(cooked(&stty), "the terminal was left raw: {stty}");
    assert_eq!(users(&moto).await, 1, "a wrong name deleted the user");
    let buckets = admin_clients(&moto).await.s3.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 1, "a wrong name deleted the bucket");

    let (code, screen, stty) = confirm_teardown(&env, &argv, (100, 30), "typed.example.com");
    assert_eq!(code, 0, "{screen}");
    assert!(cooked(&stty), "{stty}");
    assert_eq!(users(&moto).await, 0);
    let buckets = admin_clients(&moto).await.s3.list_buckets().send().await.unwrap();
    assert!(buckets.buckets().is_empty());
}
