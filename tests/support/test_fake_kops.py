"""Tests of the kops stand-in (fake_kops.py) against /work/shared/kops-reference.md.

The stand-in is run as a subprocess, exactly as the Rust tests run it, with an isolated
environment (temp HOME, fake AWS keys, FAKE_KOPS_HOME) against one moto server on loopback.
Each test gets its own versioned state bucket, so the assertions can look at what kops left in
S3 (objects, versions, delete markers), in cloud.json, in calls.jsonl and in the kubeconfig.

Run from the repository root:
    python3 -m unittest discover -s tests/support -p 'test_*.py' -v
"""

import base64
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import unittest
import uuid
from pathlib import Path

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

HERE = Path(__file__).resolve().parent
FAKE_KOPS = HERE / "fake_kops.py"
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # keep tests/support free of __pycache__
import fake_kops  # noqa: E402  (pure helpers are unit-tested in-process)

# A throwaway public key and the fingerprint `ssh-keygen -E md5 -lf` prints for it.
ED25519_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmZoF3ncXqL/YSTlBfBhSvpVfrgUBY7nVFJZwEOpYnU "
               "test@fake-kops\n")
ED25519_MD5 = "52:6c:4e:ca:22:59:37:6d:34:04:a8:06:32:e9:20:b9"
RSA_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDULotS3OtQehEr49HiuQpV8uAtoaA9gEPsO6SfRlghiRHONEvtK3bJTZWLW4hb"
           "fU88uSN2XkILmNi7Or11kpDYsPvABquE1Kn55ORXtd9TV8Gv9E3PSsVZnh1KHzUVi4J0hqSTXKnY3QsetYPVSC3w67aXKqskSDf0EWyoy"
           "AOiQj+qAEyEF6k1nvB7m061D2rC8zDm8d+alAdSguTnZQ6xrTUZWUG7GorqKqtA6mDmE26tCzb7dHhYpDLC5liPUlYlZfZXQMbc/3Tyc4P"
           "V5kHQBHd1QcJSQ4jPY3/DtS4ad8Z7ndH/wjj2fVvF9+0MbHtSye08OeuBbtlZ3R6U9ler test@fake-kops\n")
RSA_MD5 = "94:81:f1:6a:1c:d2:43:25:d0:2a:3c:e6:0e:89:bd:e2"

ACCESS_KEY = "AKIAFAKEWIZARD000001"
KLOG_LINE = re.compile(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ [\w.]+\.go:\d+\] ")

SERVER = None
ENDPOINT = None


def setUpModule():
    global SERVER, ENDPOINT
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    SERVER = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    SERVER.start()
    host, port = SERVER.get_host_and_port()
    ENDPOINT = f"http://{host}:{port}"


def tearDownModule():
    if SERVER is not None:
        SERVER.stop()


def kops_command(fake_home):
    """The stand-in as the wizard meets it in the suite: `kops_shim.py`, which hands the call to
    the suite's fork server (scripts/test's moto pool, `KW_MOTO_POOL`) where the stand-in and
    boto3 are imported already; without a pool, `fake_kops.py` in a Python of its own."""
    pool = os.environ.get("KW_MOTO_POOL")
    if not pool or not os.path.exists(pool):
        return [sys.executable, str(FAKE_KOPS)]
    fake_home.mkdir(parents=True, exist_ok=True)
    link = fake_home / "zygote.sock"
    if not link.exists():
        link.symlink_to(pool)
    return [sys.executable, "-S", str(HERE / "kops_shim.py")]


class Result:
    def __init__(self, proc):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return f"<exit {self.code}\n--stdout--\n{self.out}\n--stderr--\n{self.err}>"


class FakeKopsCase(unittest.TestCase):
    cluster = "demo.k8s.local"

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-kops-test-")
        root = Path(self._tmp.name)
        self.home = root / "home"
        self.fake_home = root / "fake-kops-home"
        (self.home / ".ssh").mkdir(parents=True)
        self.pubkey = self.home / ".ssh" / "kops.pub"
        self.pubkey.write_text(ED25519_KEY)
        self.bucket = f"kops-state-{uuid.uuid4().hex[:16]}"
        self.s3 = boto3.session.Session().client(
            "s3", endpoint_url=ENDPOINT, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key="fake-secret", config=Config(s3={"addressing_style": "path"}))
        self.s3.create_bucket(Bucket=self.bucket)
        self.s3.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(self.home),
            "FAKE_KOPS_HOME": str(self.fake_home),
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": "fake-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": ENDPOINT,
            "KOPS_STATE_STORE": f"s3://{self.bucket}",
        }

    def tearDown(self):
        self._tmp.cleanup()

    # -- helpers ---------------------------------------------------------------------------

    def kops(self, *args, **env_overrides):
        env = dict(self.env)
        for key, value in env_overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        proc = subprocess.run([*kops_command(self.fake_home), *args], env=env, capture_output=True,
                              text=True, timeout=60, cwd=self._tmp.name)
        return Result(proc)

    def ok(self, *args, **env):
        result = self.kops(*args, **env)
        self.assertEqual(result.code, 0, result)
        return result

    def fails(self, *args, **env):
        result = self.kops(*args, **env)
        self.assertEqual(result.code, 1, result)
        return result

    def create(self, *extra, name=None):
        return self.ok("create", "cluster", "--name", name or self.cluster, "--zones", "us-east-1a",
                       "--ssh-public-key", str(self.pubkey), *extra)

    def deploy(self, *extra, name=None):
        self.create(*extra, name=name)
        return self.ok("update", "cluster", "--name", name or self.cluster, "--yes", "--admin")

    def current_keys(self, prefix=""):
        resp = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in resp.get("Contents", []))

    def object_text(self, key):
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()

    def cloud(self):
        path = self.fake_home / "cloud.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def calls(self):
        lines = (self.fake_home / "calls.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def kubeconfig(self):
        return fake_kops.yaml_load((self.home / ".kube" / "config").read_text())

    def klog_lines(self, stderr):
        return [line for line in stderr.splitlines() if KLOG_LINE.match(line)]


def json_stream(text):
    """Decode back-to-back JSON objects (validate --wait -o json)."""
    decoder, pos, objs = json.JSONDecoder(), 0, []
    while pos < len(text):
        obj, pos = decoder.raw_decode(text, pos)
        objs.append(obj)
    return objs


# ------------------------------------------------------------------------------------------------
# Pure helpers (no subprocess)
# ------------------------------------------------------------------------------------------------

class HelperTests(unittest.TestCase):
    def test_tabwriter_matches_go_output(self):
        # Output of kops 1.9 `validate cluster` quoted in kubernetes/kops#1674.
        rows = [("NAME", "ROLE", "MACHINETYPE", "MIN", "MAX", "SUBNETS"),
                ("master-eu-west-1a", "Master", "m3.medium", "1", "1", "eu-west-1a"),
                ("nodes", "Node", "t2.medium", "2", "2", "eu-west-1a")]
        self.assertEqual(fake_kops.tabwrite(rows),
                         "NAME\t\t\tROLE\tMACHINETYPE\tMIN\tMAX\tSUBNETS\n"
                         "master-eu-west-1a\tMaster\tm3.medium\t1\t1\teu-west-1a\n"
                         "nodes\t\t\tNode\tt2.medium\t2\t2\teu-west-1a\n")

    def test_go_durations(self):
        self.assertEqual(fake_kops.parse_duration("87600h"), 87600 * 3600)
        self.assertEqual(fake_kops.parse_duration("1h30m"), 5400)
        self.assertEqual(fake_kops.parse_duration("500ms"), 0.5)
        self.assertEqual(fake_kops.format_duration(18 * 3600), "18h0m0s")
        self.assertEqual(fake_kops.format_duration(10), "10s")
        self.assertEqual(fake_kops.format_duration(600), "10m0s")
        with self.assertRaisesRegex(ValueError, r'time: missing unit in duration "10"'):
            fake_kops.parse_duration("10")
        with self.assertRaisesRegex(ValueError, r'time: invalid duration "x"'):
            fake_kops.parse_duration("x")

    def test_ssh_fingerprints_match_ssh_keygen_md5(self):
        self.assertEqual(fake_kops.ssh_fingerprint(ED25519_KEY), ED25519_MD5)
        self.assertEqual(fake_kops.ssh_fingerprint(RSA_KEY), RSA_MD5)
        with self.assertRaises(fake_kops.KopsError):
            fake_kops.ssh_fingerprint("ssh-rsa bm90LWEta2V5 nobody")

    def test_yaml_reads_client_go_kubeconfig_and_round_trips(self):
        text = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: LS0tCg==\n"
                "    server: https://example.com:6443\n  name: other\ncontexts:\n- context:\n"
                "    cluster: other\n    namespace: default\n    user: other\n  name: other\n"
                "current-context: other\nkind: Config\npreferences: {}\nusers:\n- name: other\n  user:\n"
                "    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      args:\n"
                "      - --region\n      - 'us-east-1'\n      command: aws\n      env: null\n")
        data = fake_kops.yaml_load(text)
        self.assertEqual(data["clusters"][0]["cluster"]["server"], "https://example.com:6443")
        self.assertEqual(data["users"][0]["user"]["exec"]["args"], ["--region", "us-east-1"])
        self.assertEqual(data["preferences"], {})
        self.assertIsNone(data["users"][0]["user"]["exec"]["env"])
        self.assertEqual(fake_kops.yaml_load(fake_kops.yaml_dump(data)), data)
        tricky = {"a": "::/0", "b": "1.30", "c": "", "d": "yes", "e": "2024-01-01T00:00:00Z", "f": "x: y",
                  "g": ["0.0.0.0/0"], "h": 3, "i": True, "j": "line1\nline2"}
        self.assertEqual(fake_kops.yaml_load(fake_kops.yaml_dump(tricky)), tricky)

    def test_listings_send_no_slash_in_a_query_value_and_filter_exactly(self):
        # moto in auth mode refuses a signed query value holding `/` (moto-notes.md): the
        # stand-in must ask by the part before the first `/`, with no delimiter, and filter.
        names = ["dev.example.com/config", "dev.example.com/instancegroup/nodes-a",
                "dev.example.com/instancegroup/nodes-b", "dev.example.com/pki/x",
                "dev.example.com.old/instancegroup/nodes-z", "other.example.com/config",
                "stray-object"]
        keys, asked = [], []

        class Paginator:
            def paginate(self, **params):
                asked.append(params)
                prefix = params.get("Prefix", "")
                yield {"Contents": [{"Key": k} for k in keys if k.startswith(prefix)]}

        class Client:
            def get_paginator(self, name):
                self.name = name
                return Paginator()

            def head_bucket(self, **_):
                return {}

            def get_object(self, Bucket, Key):  # noqa: N803 (boto3's names)
                if Key not in keys:
                    from botocore.exceptions import ClientError
                    raise ClientError({"Error": {"Code": "NoSuchKey"}}, "GetObject")
                return {"Body": type("B", (), {"read": lambda self: b"x"})()}

        for url, base in (("s3://bucket", ""), ("s3://bucket/team/a", "team/a/")):
            store = fake_kops.StateStore(url, {})
            store._client = Client()
            keys[:] = [base + k for k in names]
            asked.clear()
            self.assertEqual(store.list("dev.example.com", "instancegroup/"),
                             ["instancegroup/nodes-a", "instancegroup/nodes-b"])
            self.assertEqual(sorted(store.list("dev.example.com")),
                             ["config", "instancegroup/nodes-a", "instancegroup/nodes-b", "pki/x"])
            self.assertEqual(store.list_clusters(), ["dev.example.com", "other.example.com"])
            for params in asked:
                self.assertNotIn("Delimiter", params)
                self.assertNotIn("/", params.get("Prefix", ""), params)


# ------------------------------------------------------------------------------------------------
# The CLI, against moto
# ------------------------------------------------------------------------------------------------

class VersionAndEnvTests(FakeKopsCase):
    def test_version_outputs_and_call_record(self):
        self.assertEqual(self.ok("version").out, "Client version: 1.36.2 (git-v1.36.2)\n")
        self.assertEqual(self.ok("version", "--short", FAKE_KOPS_VERSION="1.30.4").out, "1.30.4\n")
        calls = self.calls()
        aws_env = calls[0].pop("aws_env")
        self.assertEqual(calls[0], {"argv": ["version"], "access_key_id": ACCESS_KEY, "aws_profile": None,
                                    "state_store": f"s3://{self.bucket}", "cluster": None})
        # The names of the AWS variables kops saw, never their values.
        self.assertIn("AWS_ACCESS_KEY_ID", aws_env)
        self.assertNotIn(ACCESS_KEY, aws_env)
        self.assertEqual(calls[1]["argv"], ["version", "--short"])

    def test_missing_fake_kops_home_exits_2(self):
        result = self.kops("version", FAKE_KOPS_HOME=None)
        self.assertEqual(result.code, 2)
        self.assertEqual(result.out, "")
        self.assertIn("FAKE_KOPS_HOME", result.err)

    def test_unknown_command_and_flag(self):
        result = self.fails("frobnicate")
        self.assertTrue(result.err.startswith('Error: unknown command "frobnicate" for "kops"\n'), result)
        result = self.fails("update", "cluster", "--bogus")
        self.assertTrue(result.err.startswith("Error: unknown flag: --bogus\n"), result)

    def test_profile_credentials_and_state_prefix_are_recorded(self):
        aws_dir = self.home / ".aws"
        aws_dir.mkdir()
        (aws_dir / "credentials").write_text(
            "[kops]\naws_access_key_id = AKIAKOPSPROFILE00001\naws_secret_access_key = kops-secret\n")
        store = f"s3://{self.bucket}/team-a"
        self.ok("create", "cluster", "prod.k8s.local", "--zones=us-east-1a", f"--state={store}/",
                AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_PROFILE="kops", KOPS_STATE_STORE=None)
        call = self.calls()[-1]
        self.assertEqual(call["access_key_id"], "AKIAKOPSPROFILE00001")
        self.assertEqual(call["aws_profile"], "kops")
        self.assertEqual(call["state_store"], store)  # --state beats KOPS_STATE_STORE, trailing / trimmed
        self.assertEqual(call["cluster"], "prod.k8s.local")
        self.assertIn("team-a/prod.k8s.local/config", self.current_keys("team-a/"))

    def test_kops_cluster_name_counts_as_name_flag(self):
        self.create()
        result = self.ok("get", "ig", KOPS_CLUSTER_NAME=self.cluster)
        self.assertIn("nodes-us-east-1a", result.out)
        self.assertEqual(self.calls()[-1]["cluster"], self.cluster)
        # kops treats KOPS_CLUSTER_NAME as the --name default: adding a positional name conflicts.
        result = self.fails("validate", "cluster", self.cluster, KOPS_CLUSTER_NAME=self.cluster)
        self.assertIn("Found multiple arguments which look like a cluster name", result.out)
        self.assertTrue(result.err.startswith(
            "Error: cannot specify cluster via --name and positional argument\n"), result)


class CreateClusterTests(FakeKopsCase):
    def test_create_writes_state_store_and_prints_next_steps(self):
        result = self.create("--master-size", "t3.large", "--node-count", "3")
        name = self.cluster
        self.assertTrue(result.out.startswith("Previewing changes that will be made:\n\n"), result)
        self.assertIn("Must specify --yes to apply changes\n", result.out)
        self.assertTrue(result.out.endswith(
            "\nCluster configuration has been created.\n\nSuggestions:\n"
            " * list clusters with: kops get cluster\n"
            f" * edit this cluster with: kops edit cluster {name}\n"
            f" * edit your node instance group: kops edit ig --name={name} nodes-us-east-1a\n"
            f" * edit your control-plane instance group: kops edit ig --name={name} control-plane-us-east-1a\n"
            f"\nFinally configure your cluster with: kops update cluster --name {name} --yes --admin\n\n"), result)
        self.assertIn("Flag --master-size has been deprecated, use --control-plane-size instead\n", result.err)
        self.assertTrue(any(line.endswith("] Gossip is deprecated, using None DNS instead") and line.startswith("W")
                            for line in self.klog_lines(result.err)), result.err)

        keys = self.current_keys(name + "/")
        for key in ("config", "instancegroup/control-plane-us-east-1a", "instancegroup/nodes-us-east-1a",
                    "pki/private/kubernetes-ca/keyset.yaml", "secrets/admin",
                    "pki/ssh/public/admin/" + ED25519_MD5.replace(":", "")):
            self.assertIn(f"{name}/{key}", keys)
        self.assertNotIn(f"{name}/cluster-completed.spec", keys)
        self.assertEqual(self.object_text(f"{name}/pki/ssh/public/admin/{ED25519_MD5.replace(':', '')}"),
                         ED25519_KEY)
        config = fake_kops.yaml_load(self.object_text(f"{name}/config"))
        self.assertEqual(config["spec"]["networking"], {"cilium": {"enableNodePort": True}})
        self.assertEqual(config["spec"]["topology"]["dns"]["type"], "None")

        groups = json.loads(self.ok("get", "instancegroups", "--name", name, "-o", "json").out)
        self.assertEqual([(g["metadata"]["name"], g["spec"]["role"], g["spec"]["machineType"],
                           g["spec"]["minSize"], g["spec"]["maxSize"], g["spec"]["subnets"]) for g in groups],
                         [("control-plane-us-east-1a", "ControlPlane", "t3.large", 1, 1, ["us-east-1a"]),
                          ("nodes-us-east-1a", "Node", "t3.medium", 3, 3, ["us-east-1a"])])
        self.assertEqual(groups[0]["apiVersion"], "kops.k8s.io/v1alpha2")
        self.assertEqual(groups[0]["metadata"]["labels"], {"kops.k8s.io/cluster": name})
        self.assertEqual(self.ok("get", "ig", "--name", name).out,
                         "NAME\t\t\t\tROLE\t\tMACHINETYPE\tMIN\tMAX\tZONES\n"
                         "control-plane-us-east-1a\tControlPlane\tt3.large\t1\t1\tus-east-1a\n"
                         "nodes-us-east-1a\t\tNode\t\tt3.medium\t3\t3\tus-east-1a\n")
        self.assertEqual(self.ok("get", "clusters").out,
                         "NAME\t\tCLOUD\tZONES\ndemo.k8s.local\taws\tus-east-1a\n")
        self.assertEqual(self.fails("get", "cluster", "other.k8s.local").err,
                         'Error: cluster not found "other.k8s.local"\n')

        again = self.fails("create", "cluster", "--name", name, "--zones", "us-east-1a")
        self.assertEqual(again.err, f"Error: cluster \"{name}\" already exists; use 'kops update cluster' "
                                    "to apply changes\n")

    def test_create_rejects_what_kops_rejects(self):
        base = ("create", "cluster", "--name", "bad.k8s.local")
        cases = [
            (("--zones", "us-east-1a", "--networking", "weave"), 'Error: unknown networking mode "weave"\n'),
            (("--zones", "us-east-1a", "--networking", "canal"), 'Error: unknown networking mode "canal"\n'),
            (("--zones", "us-east-1a", "--bastion"), "Error: bastion supports --topology='private' only\n"),
            (("--zones", "us-east-1a,us-east-1b", "--control-plane-count", "2"),
             "Error: [spec.etcdClusters[0].etcdMembers: Invalid value: 2: Should be an odd number of "
             "control-plane-zones for quorum."),
            ((), "Error: must specify at least one zone for the cluster (use --zones)\n"),
        ]
        for extra, expected in cases:
            with self.subTest(extra=extra):
                result = self.fails(*base, *extra)
                self.assertIn(expected, result.err)
        result = self.fails(*base, "--zones", "us-east-1a", KOPS_STATE_STORE=None)
        self.assertIn("Error: State Store: Required value: Please set the --state flag or export "
                      "KOPS_STATE_STORE.\n", result.err)
        self.assertEqual(self.current_keys(), [], "rejected creates must not write anything")
        # Canal still existed before kops 1.34.
        self.ok(*base, "--zones", "us-east-1a", "--networking", "canal", FAKE_KOPS_VERSION="1.33.1")
        config = fake_kops.yaml_load(self.object_text("bad.k8s.local/config"))
        self.assertEqual(config["spec"]["networking"], {"canal": {}})

    def test_private_topology_with_bastion(self):
        self.ok("create", "cluster", "--name", "p.example.com", "--zones", "us-east-1a,us-east-1b,us-east-1c",
                "-t", "private", "--bastion", "--control-plane-count", "3", "--node-count", "4")
        table = self.ok("get", "ig", "--name", "p.example.com").out.splitlines()
        self.assertEqual([row.split()[0:2] for row in table[1:]],
                         [["bastions", "Bastion"], ["control-plane-us-east-1a", "ControlPlane"],
                          ["control-plane-us-east-1b", "ControlPlane"], ["control-plane-us-east-1c", "ControlPlane"],
                          ["nodes-us-east-1a", "Node"], ["nodes-us-east-1b", "Node"], ["nodes-us-east-1c", "Node"]])
        self.assertEqual([row.split()[3] for row in table[5:]], ["2", "1", "1"])  # 4 nodes over 3 zones


class UpdateClusterTests(FakeKopsCase):
    def test_admin_flag_takes_no_separate_value(self):
        self.create()
        result = self.fails("update", "cluster", "--name", self.cluster, "--yes", "--admin", "87600h")
        self.assertIn('\t"87600h" (as argument)\n', result.out)
        self.assertTrue(result.err.startswith(
            "Error: cannot specify cluster via --name and positional argument\n"), result)
        self.assertEqual(self.cloud(), {}, "a rejected update must not create anything")

    def test_update_creates_cloud_kubeconfig_and_state(self):
        self.create("--node-count", "2")
        preview = self.ok("update", "cluster", self.cluster)
        self.assertTrue(preview.out.endswith("Must specify --yes to apply changes\n"), preview)
        self.assertEqual(self.cloud(), {})

        result = self.ok("update", "cluster", "--name", self.cluster, "--yes", "--admin=87600h")
        self.assertTrue(result.out.startswith(
            f"kOps has set your kubectl context to {self.cluster}\n\n"
            "Cluster is starting.  It should be ready in a few minutes.\n\nSuggestions:\n"
            " * validate cluster: kops validate cluster --wait 10m\n"), result)
        self.assertRegex(result.err, r"(?m)^I\d{4} .* executor\.go:\d+\] Tasks: 0 done / \d+ total; \d+ can run$")
        self.assertNotIn("no user authentication", result.err)

        resources = self.cloud()[self.cluster]
        types = {r["type"] for r in resources}
        for rtype in ("autoscaling-group", "instance", "volume", "keypair", "vpc", "subnet", "route-table",
                      "security-group", "internet-gateway", "iam-role", "iam-instance-profile", "sqs",
                      "eventbridge-rule", "load-balancer"):
            self.assertIn(rtype, types)
        instances = [r for r in resources if r["type"] == "instance"]
        self.assertEqual(len(instances), 3)
        self.assertTrue(all(re.fullmatch(r"i-[0-9a-f]{17}", r["id"]) for r in instances))
        keys = self.current_keys(self.cluster + "/")
        self.assertIn(f"{self.cluster}/cluster-completed.spec", keys)
        self.assertEqual(self.object_text(f"{self.cluster}/kops-version.txt"), "1.36.2")

        config = self.kubeconfig()
        self.assertEqual(config["current-context"], self.cluster)
        context = [c for c in config["contexts"] if c["name"] == self.cluster][0]["context"]
        self.assertEqual(context, {"cluster": self.cluster, "user": self.cluster})
        user = [u for u in config["users"] if u["name"] == self.cluster][0]["user"]
        self.assertIn("client-certificate-data", user)
        pem = base64.b64decode(user["client-certificate-data"]).decode()
        self.assertIn(b"lifetime=87600h0m0s", base64.b64decode(pem.splitlines()[1]))

        again = self.ok("update", "cluster", self.cluster, "--yes")
        self.assertIn("\nCluster changes have been applied to the cloud.\n", again.out)
        self.assertIn("Exported kubeconfig with no user authentication", again.err)
        self.assertEqual(len(self.cloud()[self.cluster]), len(resources), "later updates create nothing new")
        self.assertEqual(self.ok("update", "cluster", self.cluster).out, "No changes need to be applied\n")


class ValidateClusterTests(FakeKopsCase):
    def test_phases_in_json_mode(self):
        self.create("--node-count", "3")
        before = self.fails("validate", "cluster", self.cluster, "-o", "json")
        self.assertEqual(before.out, "", "a never-deployed cluster's API is unreachable")
        self.ok("update", "cluster", self.cluster, "--yes", "--admin")

        unreachable = self.fails("validate", "cluster", self.cluster, "-o", "json")
        self.assertEqual(unreachable.out, "")
        self.assertEqual(unreachable.err,
                         "Error: validation failed: unexpected error during validation: unable to resolve "
                         f"Kubernetes cluster API URL dns: lookup api.{self.cluster} on 127.0.0.53:53: "
                         "no such host\n")

        dns = self.fails("validate", "cluster", "-o", "json", "--name", self.cluster)
        self.assertFalse(dns.out.endswith("\n"))
        body = json.loads(dns.out)
        self.assertEqual([f["type"] for f in body["failures"]], ["dns"])
        self.assertIn("203.0.113.123", body["failures"][0]["message"])
        self.assertEqual(dns.err, "Error: validation failed: cluster not yet healthy\n")

        joining = json.loads(self.fails("validate", "cluster", self.cluster, "-o", "json").out)
        kinds = {f["type"] for f in joining["failures"]}
        self.assertEqual(kinds, {"Machine", "Node", "InstanceGroup", "Pod"})
        messages = [f["message"] for f in joining["failures"]]
        self.assertTrue(any(re.fullmatch(r'machine "i-[0-9a-f]{17}" has not yet joined cluster', m) for m in messages))
        self.assertIn('InstanceGroup "nodes-us-east-1a" did not have enough nodes 2 vs 3', messages)
        self.assertTrue(any(n["status"] == "False" for n in joining["nodes"]))
        with_ig = [f for f in joining["failures"] if f["type"] == "Machine"][0]
        self.assertEqual(with_ig["instanceGroup"]["metadata"]["name"], "nodes-us-east-1a")

        for _ in range(2):  # ready from the fourth attempt on
            ready = self.ok("validate", "cluster", self.cluster, "-o", "json")
            body = json.loads(ready.out)
            self.assertNotIn("failures", body)
            self.assertEqual(len(body["nodes"]), 4)
            self.assertEqual({n["status"] for n in body["nodes"]}, {"True"})
            self.assertEqual(set(body["nodes"][0]), {"name", "zone", "role", "hostname", "status"})

        missing = self.fails("validate", "cluster", "nope.k8s.local", "-o", "json")
        self.assertEqual(missing.err, "Error: validation failed: error reading cluster configuration: "
                                      'Cluster.kops.k8s.io "nope.k8s.local" not found\n')

    def test_wait_streams_objects_and_table_output(self):
        self.deploy()
        steps = {"FAKE_KOPS_VALIDATE_STEPS": "unreachable=1,dns=0,joining=1"}
        result = self.ok("validate", "cluster", self.cluster, "-o", "json", "--wait", "10m", **steps)
        objs = json_stream(result.out)
        self.assertEqual(len(objs), 2)
        self.assertIn("failures", objs[0])
        self.assertNotIn("failures", objs[1])
        warnings = [line for line in self.klog_lines(result.err) if line.startswith("W")]
        self.assertEqual(len(warnings), 2)
        self.assertTrue(warnings[0].endswith("(will retry): " + fake_kops.unreachable_error(self.cluster)))
        self.assertTrue(warnings[1].endswith("] (will retry): cluster not yet healthy"))

        table = self.ok("validate", "cluster", self.cluster).out
        nodes = sorted((r["id"], "control-plane" if r["instanceGroup"].startswith("control") else "node")
                       for r in self.cloud()[self.cluster] if r["type"] == "instance")
        self.assertEqual(table,
                         f"Validating cluster {self.cluster}\n\n"
                         "INSTANCE GROUPS\n"
                         "NAME\t\t\t\tROLE\t\tMACHINETYPE\tMIN\tMAX\tSUBNETS\n"
                         "control-plane-us-east-1a\tControlPlane\tt3.medium\t1\t1\tus-east-1a\n"
                         "nodes-us-east-1a\t\tNode\t\tt3.medium\t1\t1\tus-east-1a\n"
                         "\nNODE STATUS\n"
                         "NAME\t\t\tROLE\t\tREADY\n"
                         + "".join(f"{i}\t{role}\t" + ("\t" if role == "node" else "") + "True\n"
                                   for i, role in nodes)
                         + f"\nYour cluster {self.cluster} is ready\n")

    def test_never_ready_times_out(self):
        self.deploy()
        result = self.fails("validate", "cluster", self.cluster, "-o", "json", "--wait", "30s", "--interval", "10s",
                            FAKE_KOPS_VALIDATE="never-ready")
        objs = json_stream(result.out)
        self.assertEqual(len(objs), 4)  # attempts at 0s, 10s, 20s, 30s
        self.assertTrue(all("failures" in o for o in objs))
        self.assertTrue(result.err.endswith("Error: validation failed: wait time exceeded during validation\n"))
        # --interval only exists since kops 1.29.
        old = self.fails("validate", "cluster", self.cluster, "--interval", "5s", FAKE_KOPS_VERSION="1.28.5")
        self.assertTrue(old.err.startswith("Error: unknown flag: --interval\n"))


class BadKopsTests(FakeKopsCase):
    """The FAKE_KOPS_VALIDATE error and output modes and FAKE_KOPS_HANG's checks."""

    def test_validate_errors_read_as_kops_words_them(self):
        self.deploy()
        expected = {
            "unauthorized": "unexpected error during validation: error listing nodes: Unauthorized\n",
            "expired-token": "api error ExpiredToken: The security token included in the request is expired\n",
            "access-denied": "api error AccessDenied: Access Denied\n",
            "no-cluster": f'error reading cluster configuration: Cluster.kops.k8s.io "{self.cluster}" not found\n',
            "no-bucket": "api error NoSuchBucket: The specified bucket does not exist\n",
        }
        for mode, tail in expected.items():
            result = self.fails("validate", "cluster", self.cluster, "-o", "json", FAKE_KOPS_VALIDATE=mode)
            self.assertTrue(result.err.startswith("Error: validation failed: "), (mode, result))
            self.assertTrue(result.err.endswith(tail), (mode, result))
            self.assertEqual(result.out, "", mode)

    def test_validate_output_modes(self):
        self.deploy()
        garbage = self.ok("validate", "cluster", self.cluster, "-o", "json", FAKE_KOPS_VALIDATE="garbage")
        self.assertTrue(garbage.out.startswith("<html>"), garbage)
        cut = self.fails("validate", "cluster", self.cluster, "-o", "json", FAKE_KOPS_VALIDATE="truncated-json")
        with self.assertRaises(json.JSONDecodeError):
            json.loads(cut.out)
        empty = self.ok("validate", "cluster", self.cluster, "-o", "json", FAKE_KOPS_VALIDATE="empty")
        self.assertEqual((empty.out, empty.err), ("", ""))
        silent = self.fails("validate", "cluster", self.cluster, "-o", "json", FAKE_KOPS_VALIDATE="silent-failure")
        self.assertEqual((silent.out, silent.err), ("", ""))

    def test_unknown_modes_are_configuration_errors(self):
        self.assertEqual(self.kops("version", FAKE_KOPS_VALIDATE="sometimes").code, 2)
        self.assertEqual(self.kops("version", FAKE_KOPS_HANG="forever").code, 2)


class FailOnceTests(FakeKopsCase):
    def test_create_and_update_fail_exactly_once(self):
        env = {"FAKE_KOPS_FAIL_ONCE": "create,update"}
        first = self.fails("create", "cluster", self.cluster, "--zones", "us-east-1a", **env)
        self.assertTrue(first.err.startswith("Error: error writing updated configuration:"), first)
        self.assertEqual(self.current_keys(), [], "the injected failure changes nothing")
        self.ok("create", "cluster", self.cluster, "--zones", "us-east-1a", **env)
        failed = self.fails("update", "cluster", self.cluster, "--yes", "--admin", **env)
        self.assertIn("Invalid IAM Instance Profile name", failed.err)
        self.assertEqual(self.cloud(), {})
        self.ok("update", "cluster", self.cluster, "--yes", "--admin", **env)
        self.assertIn(self.cluster, self.cloud())


class DeleteClusterTests(FakeKopsCase):
    def test_preview_then_delete_leaves_versions_and_markers(self):
        self.deploy()
        preview = self.ok("delete", "cluster", "--name", self.cluster)
        lines = preview.out.splitlines()
        self.assertEqual(lines[0].split(), ["TYPE", "NAME", "ID"])
        rows = [line.split("\t") for line in lines[1:-2]]
        cells = [[c for c in row if c] for row in rows]
        self.assertEqual(cells, sorted(cells))
        self.assertEqual(len(cells), len(self.cloud()[self.cluster]))
        self.assertEqual(lines[-2:], ["", "Must specify --yes to delete cluster"])
        self.assertIn("Looking for cloud resources to delete", preview.err)
        self.assertIn(self.cluster, self.cloud())

        vpc = [r["id"] for r in self.cloud()[self.cluster] if r["type"] == "vpc"][0]
        result = self.ok("delete", "cluster", "--name", self.cluster, "--yes")
        self.assertRegex(result.out, r"(?m)^instance:i-[0-9a-f]{17}\tok$")
        self.assertIn(f"vpc:{vpc}\tstill has dependencies, will retry\n", result.out)
        self.assertRegex(result.out, r"(?m)^subnet:subnet-[0-9a-f]{17}\tstill has dependencies, will retry$")
        self.assertRegex(result.out, r"Not all resources deleted; waiting before reattempting deletion\n"
                                     r"(\t[a-z-]+:\S+\n)+")
        self.assertIn(f"vpc:{vpc}\tok\n", result.out)
        self.assertTrue(result.out.endswith(f"Deleted kubectl config for {self.cluster}\n\n"
                                            f'Deleted cluster: "{self.cluster}"\n'), result)
        self.assertEqual(self.current_keys(), [])
        versions = self.s3.list_object_versions(Bucket=self.bucket)
        self.assertGreater(len(versions.get("Versions", [])), 0)
        self.assertGreater(len(versions.get("DeleteMarkers", [])), 0)
        self.assertEqual(self.cloud(), {})
        self.assertNotIn(self.cluster, [c["name"] for c in self.kubeconfig()["contexts"]])
        self.fails("get", "clusters", self.cluster)

    def test_stuck_delete_times_out_and_a_rerun_finishes(self):
        self.deploy()
        keys_before = self.current_keys()
        stuck = self.fails("delete", "cluster", self.cluster, "--yes", FAKE_KOPS_DELETE="stuck")
        self.assertEqual(stuck.err.splitlines()[-1], "Error: wait time exceeded during resources deletion")
        self.assertGreaterEqual(stuck.out.count("Not all resources deleted"), 2)
        self.assertEqual(self.current_keys(), keys_before, "nothing is deleted from the state store")
        left = {r["type"] for r in self.cloud()[self.cluster]}
        self.assertIn("vpc", left)
        self.assertNotIn("instance", left)
        rerun = self.ok("delete", "cluster", self.cluster, "--yes")
        self.assertNotIn("still has dependencies", rerun.out)
        self.assertIn(f'Deleted cluster: "{self.cluster}"', rerun.out)
        self.assertEqual(self.current_keys(), [])

    def test_never_deployed_cluster_deletes(self):
        self.create()
        result = self.ok("delete", "cluster", self.cluster, "--yes")
        self.assertEqual(result.out, f'No cloud resources to delete\n\nDeleted cluster: "{self.cluster}"\n')
        self.assertEqual(self.current_keys(), [])

    def test_delete_fail_once_is_access_denied(self):
        self.create()
        result = self.fails("delete", "cluster", self.cluster, "--yes", FAKE_KOPS_FAIL_ONCE="delete")
        self.assertIn("AccessDenied", result.err)
        self.assertNotEqual(self.current_keys(), [])


class SSHPublicKeyTests(FakeKopsCase):
    def test_sshpublickey_verbs(self):
        self.ok("create", "cluster", self.cluster, "--zones", "us-east-1a")
        self.assertEqual(self.fails("get", "sshpublickey", self.cluster).err, "Error: no SSH public key found\n")
        self.assertEqual(self.ok("get", "ssh", self.cluster, "-o", "json").out, "null")
        self.ok("create", "sshpublickey", self.cluster, "-i", str(self.pubkey))
        self.ok("create", "secret", "--name", self.cluster, "sshpublickey", "admin", "-i", str(self.pubkey))
        self.assertEqual(self.ok("get", "sshpublickeys", self.cluster).out, f"ID\n{ED25519_MD5}\n")
        listed = json.loads(self.ok("get", "sshpublickey", self.cluster, "-o", "json").out)
        self.assertEqual(listed, [{"id": ED25519_MD5, "publicKey": ED25519_KEY.strip()}])
        old = self.fails("delete", "secret", "--name", self.cluster, "sshpublickey", "admin", ED25519_MD5)
        self.assertEqual(old.err, "Error: clusterName: Required value: Cluster name is required\n")
        self.ok("delete", "sshpublickey", self.cluster)
        self.assertEqual(self.current_keys(f"{self.cluster}/pki/ssh/"), [])


class ExportKubeconfigTests(FakeKopsCase):
    def test_export_kubeconfig_admin(self):
        self.create()
        result = self.ok("export", "kubeconfig", self.cluster, "--admin=2h", KUBECONFIG=str(self.home / "kc"))
        self.assertEqual(result.out, f"kOps has set your kubectl context to {self.cluster}\n")
        config = fake_kops.yaml_load((self.home / "kc").read_text())
        self.assertEqual(config["current-context"], self.cluster)
        self.assertEqual([u["name"] for u in config["users"]], [self.cluster])


if __name__ == "__main__":
    unittest.main()


class DayTwoTests(FakeKopsCase):
    """edit --set, update on a running cluster, get instances, rolling-update (day-two.md)."""

    def instances(self):
        return json.loads(self.ok("get", "instances", self.cluster, "-o", "json").out)

    def ec2_types(self):
        """The types of this test's instances EC2 runs (other tests make clusters of the same
        name on the same moto: its own instances are those its cloud file ever named)."""
        ec2 = boto3.session.Session().client("ec2", endpoint_url=ENDPOINT, region_name="us-east-1",
                                              aws_access_key_id=ACCESS_KEY, aws_secret_access_key="x")
        self.seen = getattr(self, "seen", set()) | {
            r["id"] for r in self.cloud()[self.cluster] if r["type"] == "instance"}
        f = [{"Name": "instance-id", "Values": sorted(self.seen)},
             {"Name": "instance-state-name", "Values": ["pending", "running"]}]
        return sorted(i["InstanceType"] for r in ec2.describe_instances(Filters=f)["Reservations"]
                      for i in r["Instances"])

    def test_a_count_change_needs_no_roll_and_a_type_change_is_rolled(self):
        self.deploy("--node-count", "2")
        ig = "nodes-us-east-1a"
        self.assertEqual(self.ok("edit", "ig", ig, "--name", self.cluster,
                                 "--set", "spec.minSize=3", "--set", "instancegroup.spec.maxSize=3").out, "")
        self.assertIn("minSize: 3", self.object_text(f"{self.cluster}/instancegroup/{ig}"))
        self.assertEqual(len(self.instances()), 3, "edit alone changes no instance")
        preview = self.ok("update", "cluster", self.cluster)
        self.assertIn(f"AutoScalingGroup/{ig}.{self.cluster}", preview.out)
        self.assertTrue(preview.out.endswith("Must specify --yes to apply changes\n"), preview)
        applied = self.ok("update", "cluster", self.cluster, "--yes")
        self.assertNotIn("rolling-update", applied.out)
        rows = self.instances()
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(r["status"] == "UpToDate" for r in rows), rows)
        self.assertEqual(self.ec2_types(), ["t3.medium"] * 4)

        self.ok("edit", "ig", ig, "--name", self.cluster, "--set", "spec.machineType=t3.large")
        applied = self.ok("update", "cluster", self.cluster, "--yes")
        self.assertIn("Changes may require instances to restart: kops rolling-update cluster", applied.out)
        stale = [r for r in self.instances() if r["status"] == "NeedsUpdate"]
        self.assertEqual(len(stale), 3, "update marks, never replaces")
        dry = self.ok("rolling-update", "cluster", self.cluster)
        self.assertRegex(dry.out, rf"(?m)^{ig}\s+NeedsUpdate\s+3\s+0\s+3\s+3\s+3\s+3$")
        self.assertTrue(dry.out.endswith("Must specify --yes to rolling-update.\n"), dry)
        roll = self.ok("rolling-update", "cluster", self.cluster, "--yes", FAKE_KOPS_ROLL_STEP="0")
        messages = [line.split("] ", 1)[1] for line in self.klog_lines(roll.err)]
        self.assertEqual(sum(m.startswith("Detaching instance") for m in messages), 3, roll)
        self.assertEqual(sum(m.startswith("Stopping instance") for m in messages), 3, roll)
        self.assertEqual(messages[-1], f'Completed rolling update for cluster "{self.cluster}" instance groups [{ig}]')
        rows = self.instances()
        self.assertTrue(all(r["status"] == "UpToDate" for r in rows), rows)
        self.assertFalse({r["id"] for r in rows} & {r["id"] for r in stale}, "the stale instances are gone")
        self.assertEqual(self.ec2_types(), ["t3.large"] * 3 + ["t3.medium"])
        self.assertIn("No rolling-update required.", self.ok("rolling-update", "cluster", self.cluster).out)

    def test_a_failed_roll_prints_its_end_line_and_exits_1(self):
        self.deploy("--node-count", "2")
        self.ok("edit", "ig", "nodes-us-east-1a", "--name", self.cluster, "--set", "spec.machineType=t3.large")
        self.ok("update", "cluster", self.cluster, "--yes")
        roll = self.fails("rolling-update", "cluster", self.cluster, "--yes", FAKE_KOPS_ROLL_STEP="0",
                          FAKE_KOPS_ROLL_FAIL="drain")
        self.assertIn("Cannot evict pod as it would violate the pod's disruption budget.", roll.err)
        self.assertIn('Completed rolling update for cluster', roll.err)
        self.assertIn("Error: failed to roll InstanceGroup \"nodes-us-east-1a\": failed to drain node", roll.err)
        statuses = sorted(r["status"] for r in self.instances() if r["instanceGroup"] == "nodes-us-east-1a")
        self.assertEqual(statuses, ["Detached", "NeedsUpdate", "UpToDate"], "a rerun resumes the detached one")

    def test_an_upgrade_on_1_31_goes_control_plane_first(self):
        self.deploy("--node-count", "1", "--kubernetes-version", "1.35.0")
        self.ok("edit", "cluster", self.cluster, "--set", "cluster.spec.kubernetesVersion=1.36.0")
        self.assertIn("kubernetesVersion: 1.36.0", self.object_text(f"{self.cluster}/config"))
        refused = self.fails("update", "cluster", self.cluster, "--yes")
        self.assertIn("the control plane runs 1.35.0", refused.err)
        self.ok("update", "cluster", self.cluster, "--yes", "--instance-group-roles=control-plane,apiserver")
        self.ok("rolling-update", "cluster", self.cluster, "--yes", "--instance-group-roles=control-plane,apiserver",
                FAKE_KOPS_ROLL_STEP="0")
        self.ok("update", "cluster", self.cluster, "--yes")
        self.ok("rolling-update", "cluster", self.cluster, "--yes", FAKE_KOPS_ROLL_STEP="0")
        self.assertTrue(all(r["status"] == "UpToDate" for r in self.instances()))
