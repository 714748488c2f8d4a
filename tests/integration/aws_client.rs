//! The AWS clients the engine uses, against moto: path-style S3 when an endpoint is set.

use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use kops_wizard::engine::aws::clients::Clients;

use crate::support::Moto;

use crate::support::admin_clients as clients;

#[tokio::test]
async fn s3_uses_path_style_against_an_endpoint_override() {
    let moto = Moto::start();
    let c = clients(&moto).await;
    assert_eq!(c.endpoint.as_deref(), Some(moto.endpoint().as_str()));
    // With virtual-hosted addressing this would go to bucket.127.0.0.1 and fail to resolve.
    c.s3.create_bucket().bucket("client-test").send().await.expect("create bucket");
    c.s3.put_object()
        .bucket("client-test")
        .key("a/b")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .expect("put object");
    let listed = c.s3.list_objects_v2().bucket("client-test").send().await.expect("list");
    let keys: Vec<_> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["a/b"]);
    assert!(
        moto.requests().iter().any(|r| r.contains("PUT /client-test/a/b")),
        "{:?}",
        moto.requests()
    );
}

#[tokio::test]
async fn sts_and_iam_reach_the_same_endpoint() {
    let moto = Moto::start();
    let c = clients(&moto).await;
    let id = c.whoami().await.expect("whoami");
    assert_eq!(id.account, "123456789012");
    c.iam.create_group().group_name("probe").send().await.expect("create group");
    let groups = c.iam.list_groups().send().await.expect("list groups");
    assert_eq!(groups.groups().iter().map(|g| g.group_name()).collect::<Vec<_>>(), ["probe"]);
}

#[tokio::test]
async fn a_dead_endpoint_fails_with_its_address() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIATEST", "secret", None, None, "test"))
        .endpoint_url("http://127.0.0.1:9")
        .load()
        .await;
    let err = Clients::new(&config).whoami().await.expect_err("nothing listens on port 9");
    assert!(err.to_string().contains("cannot reach http://127.0.0.1:9"), "{err}");
}

#[tokio::test]
async fn a_bucket_of_another_account_is_taken_even_where_head_bucket_answers_200() {
    use kops_wizard::engine::store::bucket::BucketAccess;
    let moto = Moto::start();
    crate::support::foreign_bucket(&moto, "someone-elses-state").await;
    let c = clients(&moto).await;
    // moto's HeadBucket says 200 for it (S3 would say 403): the ownership check must not.
    assert!(c.s3.head_bucket().bucket("someone-elses-state").send().await.is_ok());
    assert_eq!(c.bucket_access("someone-elses-state").await.unwrap(), BucketAccess::Taken);
    c.s3.create_bucket().bucket("our-own-state").send().await.expect("create bucket");
    assert_eq!(c.bucket_access("our-own-state").await.unwrap(), BucketAccess::Yours);
    assert_eq!(c.bucket_access("nobodys-state").await.unwrap(), BucketAccess::Free);
    // Setup agrees with the check: creating the taken name is refused with the advice.
    let err = c.create_bucket("someone-elses-state", "us-east-1").await.unwrap_err();
    assert!(err.to_string().contains("belongs to another AWS account"), "{err}");
}
