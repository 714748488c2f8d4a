//! Teardown weeks later, of a broken cluster, behind a proxy: the cluster's API and AWS as they
//! really behave (a controller racing teardown or stopped, an admin certificate run out, a
//! company proxy that alone can reach the servers). Judged by what ELBv2, EC2 and the fake
//! cluster's API log hold afterwards.

use std::fs;

use crate::support::faults::{Fault, FaultProxy, Rule};
use crate::support::{Moto, TestEnv, python_c, ready_env, run};

const CLUSTER: &str = "later.example.com";

fn answers(env: &TestEnv) -> std::path::PathBuf {
    env.answers(&format!(
        "[state_store]\nbucket = \"later-kops-state\"\n[ssh]\nkey_type = \"ed25519\"\n\
         [cluster]\nname = \"{CLUSTER}\"\n[validate]\nwait = \"1m\"\ninterval = \"100ms\"\n"
    ))
}

fn wizard(env: &TestEnv, args: &[&str]) -> (i32, String, String) {
    let file = answers(env);
    run(env.wizard().args(args).arg("-c").arg(file))
}

/// The ELBv2 load balancers and target groups moto has, by name, asked with boto3.
fn elbv2(moto: &Moto) -> (Vec<String>, Vec<String>) {
    let j = futures_lite(crate::support::judge::Judge::new(moto));
    let out = j.boto3(
        "import json\nelb = boto3.client('elbv2', **kw)\n\
         print(json.dumps([sorted(l['LoadBalancerName'] for l in elb.describe_load_balancers()['LoadBalancers']),\
         sorted(t['TargetGroupName'] for t in elb.describe_target_groups()['TargetGroups'])]))",
    );
    serde_json::from_str(&out).expect("boto3's answer")
}

/// Runs a future to its end on a runtime of its own (the tests here are plain `#[test]`s
/// that spawn the wizard and wait).
fn futures_lite<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// The fake cluster API's request log: `METHOD PATH STATUS` per request.
fn api_log(env: &TestEnv) -> String {
    fs::read_to_string(env.path("fake-kops/k8s/requests.log")).expect("the fake API's log")
}

/// The setup's NLB for the smoke test exists in ELBv2, with its target group.
fn setup_with_an_nlb(env: &TestEnv, moto: &Moto) {
    let (code, out, err) = wizard(env, &["setup", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("both pods answered through load balancer"), "{out}");
    let (lbs, tgs) = elbv2(moto);
    assert!(lbs.iter().any(|l| l.starts_with("k8s-")), "{lbs:?}");
    assert!(!tgs.is_empty(), "{tgs:?}");
}

/// What moto's ELBv2 still has after a teardown: nothing, judged by boto3.
fn no_balancers_left(moto: &Moto, out: &str) {
    let (lbs, tgs) = elbv2(moto);
    assert!(lbs.is_empty() && tgs.is_empty(), "left in ELBv2: {lbs:?} {tgs:?}\n{out}");
}

/// The cloud controller deletes its target groups while teardown looks: AWS answers
/// `TargetGroupNotFound` to a description (here injected by the fault proxy, once for each
/// kind of question). Gone is what teardown wants: it goes on, and one run leaves nothing.
#[test]
fn target_groups_vanishing_while_teardown_looks_stop_nothing() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(&moto);
    let mut env = ready_env(&moto);
    env.set("AWS_ENDPOINT_URL", proxy.endpoint());
    setup_with_an_nlb(&env, &moto);
    let gone = Fault::Gone("TargetGroupNotFound");
    for op in ["DescribeTargetGroups", "DescribeTags"] {
        proxy.add(Rule::new("elasticloadbalancing", op, gone).wizard_only().nth(&[1, 2]));
    }
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}\n{}", proxy.report());
    assert!(out.contains("nothing left"), "{out}");
    assert!(proxy.injected().len() >= 3, "the races were not met: {}", proxy.report());
    no_balancers_left(&moto, &out);
}

/// A broken cluster: its API answers, but its cloud controller never removes the deleted
/// Service's NLB (crash-looping, its nodes gone; the Service stays Terminating behind its
/// finalizer). Teardown waits its bounded time, says so, deletes the NLB, its listener and its
/// target group directly, and goes on to `kops delete cluster`: one run, nothing left.
#[test]
fn a_cluster_whose_cloud_controller_is_down_is_torn_down_in_one_run() {
    let moto = Moto::start();
    let mut env = ready_env(&moto);
    env.set("KOPS_WIZARD_CONTROLLER_WAIT", "3s");
    setup_with_an_nlb(&env, &moto);
    fs::write(env.path("fake-kops/k8s/controller-stopped"), b"").unwrap();
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("the cluster's cloud controller did not remove")
            && out.contains("within 3s")
            && out.contains("deleted directly"),
        "{out}"
    );
    assert!(out.contains("nothing left"), "{out}");
    // The Service was deleted through the API first (it stayed Terminating there).
    let log = api_log(&env);
    assert!(
        log.contains(&format!(
            "DELETE /clusters/{CLUSTER}/api/v1/namespaces/kops-wizard-smoke 200"
        )),
        "{log}"
    );
    no_balancers_left(&moto, &out);
}

/// The client certificate of the setup's kubeconfig, by serial number.
fn kubeconfig_serial(path: &std::path::Path) -> String {
    let script = format!(
        "import base64, re\nfrom cryptography import x509\ntext = open({:?}).read()\n\
         b64 = re.search(r'client-certificate-data: (\\S+)', text).group(1)\n\
         print(x509.load_pem_x509_certificate(base64.b64decode(b64)).serial_number)",
        path.display().to_string()
    );
    let (code, out, err) = python_c(&[], &script);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

/// The HTTP status the cluster's API answers a `GET /version` with the kubeconfig's own
/// certificate (what kubectl would meet).
fn status_with(kubeconfig: &std::path::Path) -> String {
    let script = format!(
        "import base64, re, ssl, tempfile, urllib.request, urllib.error\n\
         text = open({:?}).read()\n\
         get = lambda k: base64.b64decode(re.search(k + r': (\\S+)', text).group(1))\n\
         server = re.search(r'server: (\\S+)', text).group(1)\n\
         d = tempfile.mkdtemp()\n\
         open(d + '/c', 'wb').write(get('client-certificate-data'))\n\
         open(d + '/k', 'wb').write(get('client-key-data'))\n\
         open(d + '/ca', 'wb').write(get('certificate-authority-data'))\n\
         ctx = ssl.create_default_context(cafile=d + '/ca')\n\
         ctx.load_cert_chain(d + '/c', d + '/k')\n\
         try:\n    print(urllib.request.urlopen(server + '/version', context=ctx).status)\n\
         except urllib.error.HTTPError as e:\n    print(e.code)\n",
        kubeconfig.display().to_string()
    );
    let (code, out, err) = python_c(&[], &script);
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

/// Weeks later the setup's admin certificate has run out (kops's lasts 18 hours): the API
/// answers 401 to it. `smoke-test` and teardown each get a fresh, short-lived one from the state
/// store into a private file of their own, so the Service goes through the API (not deleted
/// blind behind a live controller), the user's kubeconfig is not where the certificate went, and
/// the file is gone afterwards.
#[test]
fn an_expired_admin_certificate_is_replaced_by_a_fresh_one_for_each_run() {
    let moto = Moto::start();
    let env = ready_env(&moto);
    setup_with_an_nlb(&env, &moto);
    let kubeconfig = env.home().join(".kube/config");
    let serial = kubeconfig_serial(&kubeconfig);
    fs::write(env.path("fake-kops/k8s/revoked"), format!("{serial}\n")).unwrap();
    let before = fs::read(&kubeconfig).unwrap();
    // The old certificate is refused now, as an expired one is.
    assert_eq!(status_with(&kubeconfig), "401", "the fake API still takes the old certificate");

    let calls_before = env.kops_calls().len();
    let (code, out, err) = wizard(&env, &["smoke-test"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(fs::read(&kubeconfig).unwrap(), before, "the user's kubeconfig was rewritten");

    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("cannot be used"), "the API was taken for dead: {out}");
    let log = api_log(&env);
    assert!(
        log.contains(&format!(
            "DELETE /clusters/{CLUSTER}/api/v1/namespaces/kops-wizard-smoke 200"
        )),
        "the Service did not go through the API: {log}"
    );
    no_balancers_left(&moto, &out);
    // Each run's certificate went to a file of its own, gone since.
    let exports: Vec<String> = env.kops_calls()[calls_before..]
        .iter()
        .filter_map(|c| {
            let argv: Vec<&str> = c["argv"].as_array()?.iter().filter_map(|a| a.as_str()).collect();
            argv.starts_with(&["export", "kubeconfig"]).then(|| argv.join(" "))
        })
        .collect();
    assert!(exports.len() >= 2, "{exports:?}");
    for e in &exports {
        let path = e.split("--kubeconfig ").nth(1).expect("a file of the run's own");
        assert!(!path.contains("/.kube/"), "{e}");
        assert!(!std::path::Path::new(path).exists(), "{path} was left behind");
        assert!(e.contains("--admin=3600s"), "{e}");
    }
}

/// A company network: moto and the cluster's API have names no resolver knows, which only the
/// environment's proxy reaches (`HTTPS_PROXY`/`HTTP_PROXY`, no `NO_PROXY`), and the NLB's name
/// leads to the pods only through it. Setup with its smoke test and teardown both finish, so
/// every network path took the proxy: the SDK's clients, the hand-written client (teardown's
/// inventory and final check), kube's client, and the smoke test's HTTP. Teardown runs on a
/// machine without the setup's kubeconfig (a colleague's laptop): the Service still goes
/// through the API. Judged by ELBv2 and EC2, asked directly.
#[test]
fn behind_a_proxy_setup_with_its_smoke_test_and_teardown_both_finish() {
    let moto = Moto::start();
    let mut env = TestEnv::behind_proxy(&moto);
    env.install_fake_kops();
    let (code, out, err) = wizard(&env, &["doctor"]);
    let proxy = env.proxy().unwrap().url();
    assert!(out.contains(&format!("HTTPS_PROXY {proxy}")), "doctor names the proxy:\n{out}\n{err}");
    assert!(code == 0 || code == 1, "{out}\n{err}");

    setup_with_an_nlb(&env, &moto);
    let through = env.proxy().unwrap().requests();
    let moto_host = format!("http://moto.kw-test:{}/", moto.port);
    assert!(
        through.iter().any(|r| r.contains(&moto_host)),
        "AWS not through the proxy: {through:?}"
    );
    assert!(
        through.iter().any(|r| r.starts_with("CONNECT k8s.kw-test:")),
        "the cluster's API not through the proxy: {through:?}"
    );
    assert!(
        through
            .iter()
            .any(|r| r.starts_with("GET http://") && r.ends_with(".elb.amazonaws.com/hostname")),
        "the smoke test's HTTP not through the proxy: {through:?}"
    );

    fs::remove_file(env.home().join(".kube/config")).unwrap();
    let (code, out, err) = wizard(&env, &["teardown", "--yes"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("nothing left"), "{out}");
    let log = api_log(&env);
    assert!(
        log.contains(&format!(
            "DELETE /clusters/{CLUSTER}/api/v1/namespaces/kops-wizard-smoke 200"
        )),
        "the Service did not go through the API: {log}"
    );
    no_balancers_left(&moto, &out);
    let tagged = crate::support::judge::boto3_as(
        &moto.endpoint(),
        moto.admin_key().0,
        moto.admin_key().1,
        &format!(
            "ec2 = boto3.client('ec2', **kw)\n\
             print(len(ec2.describe_instances(Filters=[{{'Name': 'tag:KubernetesCluster', 'Values': ['{CLUSTER}']}},\
             {{'Name': 'instance-state-name', 'Values': ['pending', 'running', 'stopping', 'stopped']}}])['Reservations']))"
        ),
    );
    assert_eq!(tagged.trim(), "0", "instances left: {tagged}");
    let refused: Vec<_> =
        env.proxy().unwrap().requests().into_iter().filter(|r| r.starts_with("REFUSED")).collect();
    assert!(refused.is_empty(), "{refused:?}");
}
