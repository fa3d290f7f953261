//! A real PostgreSQL from the machine's binaries: initdb, start, database created, login with the
//! generated password only.

mod support;

#[tokio::test]
async fn starts_creates_database_and_rejects_wrong_password() {
    let pg = support::TestPostgres::start().await;
    pg.target
        .ping("classify")
        .await
        .expect("login with generated password");
    let mut wrong = pg.target.clone();
    wrong.password = "not-the-password".into();
    assert!(
        wrong.ping("classify").await.is_err(),
        "a wrong password must be refused"
    );
}
