"""A fake Kubernetes API server and AWS cloud controller for the wizard's tests.

    python3 fake_k8s.py --home $FAKE_KOPS_HOME [--api-host NAME]

Started once per test by the Rust harness (tests/integration/support), with the test's
environment (moto's AWS_ENDPOINT_URL, admin keys, AWS_REGION, the test's proxy). It makes a CA,
a server certificate for 127.0.0.1 (and NAME) and a client certificate (CN=admin,
O=system:masters), writes them and `server.json` under `$FAKE_KOPS_HOME/k8s/` (where the kops
stand-in takes them for the kubeconfig it writes), prints `READY <api> <apps>` and serves:

- the API over TLS, client certificate required, one cluster per path prefix
  (`<api>/clusters/<name>/...`); a cluster is up while the stand-in's cloud.json has it, else
  503. Namespaces, Deployments (two pods each, Ready a moment after they are made), Pods,
  Services, PersistentVolumes, Events, `/version`; JSON objects and Status errors as kube-rs
  expects.
- the cloud controller, as AWS's in-tree one behaves: a Service of type LoadBalancer carries
  its finalizer; with the annotation `service.beta.kubernetes.io/aws-load-balancer-type: nlb`
  it gets an NLB in moto (tagged as the controller tags it; `provisioning` for a moment), a TCP
  target group per port with the cluster's node instances as targets on the node port
  (`initial` for a moment, then `healthy`: moto_realism.py) and a listener; without it, a
  Classic ELB. Its address is set half a second later. Deleting the Service (or its namespace)
  deletes them, then drops the finalizer. No subnet tagged for load balancers: a Warning event
  and no address.
- the pods' HTTP, where the test's proxy sends an NLB's DNS name (the `apps` port): HTTP/1.1,
  routed as AWS and Kubernetes would: the NLB named by the Host header, active; its listener on
  the request's port; the listener's target group; its healthy targets' port, which must be a
  node port of a Service; that Service's target port; a Ready pod behind the Service's selector
  with a container declaring that port. Each client connection is given one pod, the next
  connection the next pod: two pods are only seen over two connections. `GET /hostname`
  answers the pod's name.

Timing, from the environment: FAKE_K8S_POD_DELAY (seconds until a pod is Ready, default 0.2),
FAKE_K8S_NLB_PROVISIONING (0.3) and FAKE_K8S_TARGETS_INITIAL (0.3): short, for the suite's
time; a test that wants each wait to loop sets them longer. FAKE_K8S_LB: `normal` or
`pending` (never an address: the warning event). Faults a test can switch on and off while it
runs: the words in the file `$FAKE_KOPS_HOME/k8s/faults` (read at each use):
`pods-never-ready`, `nlb-provisioning` (a new NLB never becomes active), `targets-unhealthy`
(a new target group's targets fail their health checks), `pods-silent` (the pods accept
connections and answer nothing). The file `k8s/controller-stopped` stops the controller.
Requests are logged to `$FAKE_KOPS_HOME/k8s/requests.log` as `METHOD PATH STATUS`, the pods'
to `k8s/apps.log` as `HOST PATH STATUS POD`. It exits when stdin closes.
"""

import argparse
import datetime as dt
import ipaddress
import json
import os
import random
import secrets
import ssl
import string
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

LOCK = threading.RLock()
CLUSTERS = {}  # name -> {"objects": {(kind, ns, name): obj}, "rv": int}
HOME = ""
CONNECTIONS = [0]  # client connections to the pods so far: each is given the next pod


def now():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_certs(k8s_dir, host=None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn, org=None):
        attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
        if org:
            attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
        return x509.Name(attrs)

    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    end = start + dt.timedelta(days=2)

    def cert(subject, pub, issuer, signer, ca=False, sans=None, client=False):
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
             .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if sans:
            b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        if not ca:
            usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
            b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        return b.sign(signer, hashes.SHA256())

    ca_key = key()
    ca_name = name("fake-kubernetes-ca")
    ca = cert(ca_name, ca_key.public_key(), ca_name, ca_key, ca=True)
    srv_key = key()
    srv = cert(name("kube-apiserver"), srv_key.public_key(), ca_name, ca_key,
               sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
               + ([x509.DNSName(host)] if host else []))
    cli_key = key()
    cli = cert(name("admin", "system:masters"), cli_key.public_key(), ca_name, ca_key, client=True)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    pkcs8 = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())
    os.makedirs(k8s_dir, exist_ok=True)

    def write(file, data, mode=0o644):
        path = os.path.join(k8s_dir, file)
        with open(path, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)
        return path

    write("ca.crt", pem(ca))
    # The stand-in signs a client certificate per `--admin` export with it (fake_kops.mint_admin).
    write("ca.key", pkcs8(ca_key), 0o600)
    write("client.crt", pem(cli))
    write("client.key", pkcs8(cli_key), 0o600)
    return write("server.crt", pem(srv)), write("server.key", pkcs8(srv_key), 0o600), os.path.join(k8s_dir, "ca.crt")


def cluster_up(name):
    try:
        with open(os.path.join(HOME, "cloud.json"), encoding="utf-8") as fh:
            return bool(json.load(fh).get(name))
    except (OSError, ValueError):
        return False


def status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason, "code": code}


def state(cluster):
    return CLUSTERS.setdefault(cluster, {"objects": {}, "rv": 1})


def stamp(st, obj, kind, api, ns):
    st["rv"] += 1
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    meta.setdefault("creationTimestamp", now())
    meta["resourceVersion"] = str(st["rv"])
    if ns:
        meta["namespace"] = ns
    obj["kind"], obj["apiVersion"] = kind, api
    return obj


KINDS = {  # resource -> (kind, apiVersion, namespaced)
    "namespaces": ("Namespace", "v1", False),
    "pods": ("Pod", "v1", True),
    "services": ("Service", "v1", True),
    "events": ("Event", "v1", True),
    "persistentvolumes": ("PersistentVolume", "v1", False),
    "deployments": ("Deployment", "apps/v1", True),
    "poddisruptionbudgets": ("PodDisruptionBudget", "policy/v1", True),
}


def parse_path(path):
    """(cluster, resource, namespace, name) of `/clusters/<c>/api[s/<g>]/<v>/...`."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 2 or parts[0] != "clusters":
        return None
    cluster, rest = parts[1], parts[2:]
    if rest == ["version"]:
        return cluster, "version", None, None
    # Discovery, for kubectl (the plan's script): the legacy documents.
    if rest in (["api"], ["apis"], ["api", "v1"], ["apis", "apps", "v1"]):
        return cluster, "discovery:" + "/".join(rest), None, None
    if rest[:2] == ["api", "v1"]:
        rest = rest[2:]
    elif rest[:3] in (["apis", "apps", "v1"], ["apis", "policy", "v1"]):
        rest = rest[3:]
    else:
        return cluster, None, None, None
    ns = None
    if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) > 2:
        ns, rest = rest[1], rest[2:]
    resource = rest[0] if rest else None
    name = rest[1] if len(rest) > 1 else None
    return cluster, resource, ns, name


def matches(obj, selector):
    if not selector:
        return True
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in selector.split(","):
        k, _, v = term.partition("=")
        if labels.get(k) != v:
            return False
    return True


def pod_name(deploy):
    alnum = string.ascii_lowercase + string.digits
    return f"{deploy}-{secrets.token_hex(5)}-{''.join(random.choice(alnum) for _ in range(5))}"


def faults():
    """The faults a test has switched on: the words of k8s/faults."""
    try:
        with open(os.path.join(HOME, "k8s", "faults"), encoding="utf-8") as fh:
            return set(fh.read().split())
    except OSError:
        return set()


def seconds(var, default):
    return float(os.environ.get(var) or default)


def make_pods(st, ns, deploy):
    spec = deploy.get("spec", {})
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    names = []
    for _ in range(spec.get("replicas", 1)):
        name = pod_name(deploy["metadata"]["name"])
        pod = {"metadata": {"name": name, "labels": dict(labels)},
               "spec": (spec.get("template") or {}).get("spec") or {"containers": []},
               "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}}
        st["objects"][("pods", ns, name)] = stamp(st, pod, "Pod", "v1", ns)
        names.append(name)
    n = spec.get("replicas", 1)
    deploy["status"] = {"replicas": n, "readyReplicas": 0, "availableReplicas": 0, "updatedReplicas": n}
    if "pods-never-ready" not in faults():
        threading.Thread(target=pods_ready, args=(st, ns, deploy["metadata"]["name"], names),
                         daemon=True).start()


def pods_ready(st, ns, deploy, names):
    """The kubelet's work: the image pulled, the container started, its readiness probe passed."""
    time.sleep(seconds("FAKE_K8S_POD_DELAY", 0.2))
    with LOCK:
        ready = 0
        for name in names:
            pod = st["objects"].get(("pods", ns, name))
            if pod is not None:
                pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
                stamp(st, pod, "Pod", "v1", ns)
                ready += 1
        d = st["objects"].get(("deployments", ns, deploy))
        if d is not None:
            d["status"].update(readyReplicas=ready, availableReplicas=ready)
            stamp(st, d, "Deployment", "apps/v1", ns)


def pod_ready(pod):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


CLIENTS = {}  # (service, region) -> a boto3 client, made once: each costs botocore's model parsing


def boto(service, cluster=None):
    import boto3
    region = (cluster and cluster_region(cluster)) or os.environ.get("AWS_REGION") or "us-east-1"
    with LOCK:
        if (service, region) not in CLIENTS:
            CLIENTS[(service, region)] = boto3.client(service, region_name=region)
        return CLIENTS[(service, region)]


def cluster_region(cluster):
    """The region the stand-in made the cluster's cloud in (cloud.json's entries say)."""
    try:
        with open(os.path.join(HOME, "cloud.json"), encoding="utf-8") as fh:
            return next((r["region"] for r in json.load(fh).get(cluster) or [] if r.get("region")), None)
    except (OSError, ValueError):
        return None


def owned(cluster):
    return f"kubernetes.io/cluster/{cluster}"


def add_event(st, ns, obj_name, reason, message):
    name = f"{obj_name}.{secrets.token_hex(8)}"
    ev = {"metadata": {"name": name}, "type": "Warning", "reason": reason, "message": message,
          "involvedObject": {"kind": "Service", "name": obj_name, "namespace": ns}}
    st["objects"][("events", ns, name)] = stamp(st, ev, "Event", "v1", ns)


FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


def controller_stopped():
    """The cloud controller is down (crash-looping, its nodes gone) while the file
    k8s/controller-stopped exists: it neither makes nor removes load balancers."""
    return os.path.exists(os.path.join(HOME, "k8s", "controller-stopped"))


NLB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"


def ensure_balancer(cluster, ns, name):
    """The cloud controller's work for a LoadBalancer Service, off the request's thread."""
    time.sleep(0.5)
    if controller_stopped():
        return
    mode = os.environ.get("FAKE_K8S_LB", "normal")
    with LOCK:
        st = state(cluster)
        svc = st["objects"].get(("services", ns, name))
        if svc is None:
            return
        annotations = svc["metadata"].get("annotations") or {}
    ec2 = boto("ec2", cluster)
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag-key", "Values": [owned(cluster)]},
                                            {"Name": "tag-key", "Values": ["kubernetes.io/role/elb"]}])["Subnets"]
    if mode == "pending" or not subnets:
        with LOCK:
            add_event(st, ns, name, "SyncLoadBalancerFailed",
                      "Error syncing load balancer: failed to ensure load balancer: could not find any "
                      "suitable subnets for creating the ELB")
        return
    tags = [{"Key": owned(cluster), "Value": "owned"}, {"Key": "kubernetes.io/service-name", "Value": f"{ns}/{name}"},
            {"Key": "KubernetesCluster", "Value": cluster}]
    nodes = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["k8s.io/role/node"]},
                                            {"Name": "tag-key", "Values": [owned(cluster)]},
                                            {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    node_ids = [i["InstanceId"] for r in nodes["Reservations"] for i in r["Instances"]]
    lb_name = f"k8s-{ns[:8]}-{name[:8]}-{secrets.token_hex(5)}"[:32]
    if annotations.get(NLB_ANNOTATION) == "nlb":
        aws, dns = make_nlb(cluster, svc, lb_name, subnets, node_ids, tags)
    else:
        aws, dns = make_classic(cluster, svc, lb_name, subnets, node_ids, tags)
    with LOCK:
        svc = st["objects"].get(("services", ns, name))
        if svc is None:  # deleted meanwhile
            remove_balancer(aws)
            return
        svc["status"] = {"loadBalancer": {"ingress": [{"hostname": dns}]}}
        svc["_aws"] = aws


def make_nlb(cluster, svc, lb_name, subnets, node_ids, tags):
    """An NLB as the in-tree controller makes one for the annotation: a TCP listener per port,
    forwarding to a target group of the nodes on the Service's node port."""
    elb = boto("elbv2", cluster)
    broken = faults()
    provisioning = 3600 if "nlb-provisioning" in broken else seconds("FAKE_K8S_NLB_PROVISIONING", 0.3)
    lb = elb.create_load_balancer(Name=lb_name, Subnets=[s["SubnetId"] for s in subnets[:1]], Type="network",
                                  Scheme="internet-facing",
                                  Tags=tags + [{"Key": "kw-test:provisioning-seconds",
                                                "Value": str(provisioning)}])["LoadBalancers"][0]
    realism = [{"Key": "kw-test:initial-seconds", "Value": str(seconds("FAKE_K8S_TARGETS_INITIAL", 0.3))}]
    if "targets-unhealthy" in broken:
        realism.append({"Key": "kw-test:health", "Value": "unhealthy"})
    groups = []
    for port in svc["spec"].get("ports", []):
        tg = elb.create_target_group(Name=f"k8s-{secrets.token_hex(6)}"[:32], Protocol="TCP", Port=port["nodePort"],
                                     VpcId=subnets[0]["VpcId"], TargetType="instance",
                                     Tags=tags + realism)["TargetGroups"][0]
        if node_ids:
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                                 Targets=[{"Id": i, "Port": port["nodePort"]} for i in node_ids])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=port["port"],
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        groups.append(tg["TargetGroupArn"])
    return {"lb": lb["LoadBalancerArn"], "groups": groups, "cluster": cluster, "dns": lb["DNSName"]}, lb["DNSName"]


def make_classic(cluster, svc, lb_name, subnets, node_ids, tags):
    """What the in-tree controller makes for a Service without the NLB annotation: a Classic
    ELB, which ELBv2 does not know."""
    elb = boto("elb", cluster)
    listeners = [{"Protocol": "TCP", "LoadBalancerPort": p["port"], "InstanceProtocol": "TCP",
                  "InstancePort": p["nodePort"]} for p in svc["spec"].get("ports", [])]
    dns = elb.create_load_balancer(LoadBalancerName=lb_name, Listeners=listeners,
                                   Subnets=[s["SubnetId"] for s in subnets[:1]], Tags=tags)["DNSName"]
    if node_ids:
        elb.register_instances_with_load_balancer(LoadBalancerName=lb_name,
                                                  Instances=[{"InstanceId": i} for i in node_ids])
    return {"classic": lb_name, "cluster": cluster, "dns": dns}, dns


def remove_balancer(aws, done=None):
    """The controller's cleanup of a deleted Service: the NLB, then its target groups, then the
    Service's finalizer (`done`), as the AWS cloud controller does; nothing while it is down."""
    time.sleep(0.5)
    if controller_stopped():
        return
    if not aws.get("lb") and not aws.get("classic"):  # it never got one: nothing to remove
        if done:
            with LOCK:
                done()
        return
    try:
        if aws.get("classic"):
            boto("elb", aws.get("cluster")).delete_load_balancer(LoadBalancerName=aws["classic"])
        else:
            elb = boto("elbv2", aws.get("cluster"))
            elb.delete_load_balancer(LoadBalancerArn=aws["lb"])
            for tg in aws["groups"]:
                elb.delete_target_group(TargetGroupArn=tg)
    except Exception as exc:  # the test's moto may be gone already
        print(f"removing {aws}: {exc}", file=sys.stderr)
        return
    if done:
        with LOCK:
            done()


def finish_terminating(st, key):
    """Drops a Terminating object once its finalizers are gone, and a Terminating namespace
    once nothing is left in it."""
    obj = st["objects"].get(key)
    if obj is not None and not obj.get("metadata", {}).get("finalizers"):
        st["objects"].pop(key, None)
    for nskey, nsobj in list(st["objects"].items()):
        if nskey[0] == "namespaces" and nsobj.get("metadata", {}).get("deletionTimestamp"):
            if not any(k[1] == nskey[2] for k in st["objects"] if k[0] != "namespaces"):
                st["objects"].pop(nskey, None)


def delete_object(st, key):
    obj = st["objects"].get(key)
    if obj is None:
        return None
    kind, ns, name = key
    meta = obj.setdefault("metadata", {})
    if meta.get("finalizers"):
        # Terminating until the controller has removed what the finalizer guards.
        if not meta.get("deletionTimestamp"):
            meta["deletionTimestamp"] = now()

            def cleared():
                meta["finalizers"] = []
                finish_terminating(st, key)

            threading.Thread(target=remove_balancer, args=(obj.get("_aws") or {}, cleared),
                             daemon=True).start()
        return obj
    st["objects"].pop(key, None)
    if kind == "services" and obj.get("_aws"):
        threading.Thread(target=remove_balancer, args=(obj["_aws"],), daemon=True).start()
    if kind == "deployments":
        for k in [k for k in st["objects"] if k[0] == "pods" and k[1] == ns and k[2].startswith(name + "-")]:
            st["objects"].pop(k)
    return obj


def public(obj):
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def discovery(doc):
    """The legacy discovery documents kubectl falls back to."""
    if doc == "api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
    if doc == "apis":
        apps = {"groupVersion": "apps/v1", "version": "v1"}
        return {"kind": "APIGroupList", "apiVersion": "v1",
                "groups": [{"name": "apps", "versions": [apps], "preferredVersion": apps}]}
    group = "apps/v1" if doc.startswith("apis") else "v1"
    verbs = ["create", "delete", "get", "list"]
    resources = [{"name": r, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": verbs}
                 for r, (k, api, ns) in KINDS.items() if api == group]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group, "resources": resources}


def field_node(selector):
    """The node of a `spec.nodeName=NAME` field selector (a drain's pod list), else None."""
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if key == "spec.nodeName":
            return value
    return None


CORDONED = set()  # (cluster, node name): nodes marked unschedulable


def cluster_nodes(cluster):
    """The cluster's Nodes: one per instance of the stand-in's cloud, named as kops names
    them (`<instance id>.ec2.internal`), Ready, cordoned once patched so."""
    try:
        with open(os.path.join(HOME, "cloud.json"), encoding="utf-8") as fh:
            resources = json.load(fh).get(cluster) or []
    except (OSError, ValueError):
        resources = []
    try:
        with open(os.path.join(HOME, "k8s", "taints.json"), encoding="utf-8") as fh:
            taints = json.load(fh)
    except (OSError, ValueError):
        taints = {}
    nodes = []
    for r in resources:
        if r.get("type") != "instance":
            continue
        name = f"{r['id']}.ec2.internal"
        nodes.append({"kind": "Node", "apiVersion": "v1",
                      "metadata": {"name": name, "uid": r["id"], "resourceVersion": "1",
                                   "labels": {"kops.k8s.io/instancegroup": r.get("instanceGroup", "")}},
                      "spec": {"providerID": f"aws:///{r.get('zone', '')}/{r['id']}",
                               "unschedulable": (cluster, name) in CORDONED,
                               "taints": taints.get(name, [])},
                      "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    return nodes


def nodes_request(cluster, method, name, body):
    nodes = {n["metadata"]["name"]: n for n in cluster_nodes(cluster)}
    if name is None and method == "GET":
        return 200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": list(nodes.values())}
    node = nodes.get(name)
    if node is None:
        return status(404, "NotFound", f'nodes "{name}" not found')
    if method == "PATCH":
        patch = json.loads(body or b"{}")
        spec = patch.get("spec") or {}
        if "unschedulable" in spec:
            with LOCK:
                (CORDONED.add if spec["unschedulable"] else CORDONED.discard)((cluster, name))
            node["spec"]["unschedulable"] = bool(spec["unschedulable"])
        if "taints" in spec:  # a merge patch replaces the list whole
            path = os.path.join(HOME, "k8s", "taints.json")
            with LOCK:
                try:
                    with open(path, encoding="utf-8") as fh:
                        taints = json.load(fh)
                except (OSError, ValueError):
                    taints = {}
                taints[name] = spec["taints"] or []
                with open(path, "w", encoding="utf-8") as fh:
                    json.dump(taints, fh)
            node["spec"]["taints"] = spec["taints"] or []
        return 200, node
    if method == "GET":
        return 200, node
    return status(405, "MethodNotAllowed", f"{method} is not supported on nodes here")


def evict(cluster, ns, name):
    """The Eviction API: refused with 429 while a PodDisruptionBudget of the pod allows no
    disruption (as the API server refuses it), else the pod deleted. Each eviction is logged
    with whether its node's instance was still running in EC2 then: a drain must come before
    the instance's end."""
    with LOCK:
        st = state(cluster)
        pod = st["objects"].get(("pods", ns, name))
        if pod is None:
            return status(404, "NotFound", f'pods "{name}" not found')
        labels = pod.get("metadata", {}).get("labels") or {}
        for (r, n, budget), pdb in st["objects"].items():
            wanted = ((pdb.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
            allowed = (pdb.get("status") or {}).get("disruptionsAllowed", 1)
            if r == "poddisruptionbudgets" and n == ns and wanted and all(
                    labels.get(k) == v for k, v in wanted.items()) and allowed == 0:
                return 429, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                             "message": "Cannot evict pod as it would violate the pod's disruption budget.",
                             "reason": "TooManyRequests", "code": 429,
                             "details": {"causes": [{"reason": "DisruptionBudget", "message":
                                         f"The disruption budget {budget} needs 1 healthy pods and has 1 "
                                         "currently"}]}}
        node = (pod.get("spec") or {}).get("nodeName") or ""
        delete_object(st, ("pods", ns, name))
    running = None
    if node:
        try:
            found = boto("ec2", cluster).describe_instances(InstanceIds=[node.split(".")[0]])
            running = found["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
        except Exception:  # noqa: BLE001 - no such instance: not running
            running = False
    with open(os.path.join(HOME, "k8s", "evictions.jsonl"), "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"pod": f"{ns}/{name}", "node": node, "instance_running": running,
                             "at": time.time()}) + "\n")
    return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}


def handle(method, path, query, body):
    parsed = parse_path(path)
    if parsed is None:
        return status(404, "NotFound", f"the server could not find the requested resource ({path})")
    cluster, resource, ns, name = parsed
    if not cluster_up(cluster):
        return status(503, "ServiceUnavailable", f"cluster {cluster} is not running")
    if resource == "version":
        return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.2", "platform": "linux/amd64"}
    if resource and resource.startswith("discovery:"):
        return 200, discovery(resource.split(":", 1)[1])
    if resource == "nodes":
        return nodes_request(cluster, method, name, body)
    if resource == "pods" and name and method == "POST" and path.rstrip("/").endswith("/eviction"):
        return evict(cluster, ns, name)
    if resource not in KINDS:
        return status(404, "NotFound", f"the server could not find the requested resource ({path})")
    kind, api, namespaced = KINDS[resource]
    with LOCK:
        st = state(cluster)
        if name is None and method == "GET":
            selector = (query.get("labelSelector") or [""])[0]
            on_node = field_node((query.get("fieldSelector") or [""])[0])
            items = [public(o) for (r, n, _), o in sorted(st["objects"].items())
                     if r == resource and (ns is None or n == ns) and matches(o, selector)
                     and (on_node is None or (o.get("spec") or {}).get("nodeName") == on_node)]
            return 200, {"kind": f"{kind}List", "apiVersion": api, "metadata": {"resourceVersion": str(st["rv"])},
                         "items": items}
        if name is None and method == "POST":
            obj = json.loads(body or b"{}")
            obj_name = obj.get("metadata", {}).get("name")
            if namespaced and ns is None:
                return status(400, "BadRequest", "a namespace is needed")
            if namespaced and ("namespaces", None, ns) not in st["objects"]:
                return status(404, "NotFound", f'namespaces "{ns}" not found')
            key = (resource, ns if namespaced else None, obj_name)
            if key in st["objects"]:
                return status(409, "AlreadyExists", f'{resource} "{obj_name}" already exists')
            stamp(st, obj, kind, api, ns if namespaced else None)
            if resource == "namespaces":
                obj["status"] = {"phase": "Active"}
            if resource == "deployments":
                make_pods(st, ns, obj)
            if resource == "services":
                spec = obj.setdefault("spec", {})
                spec["clusterIP"] = f"100.64.{random.randint(1, 250)}.{random.randint(1, 250)}"
                for port in spec.get("ports", []):
                    port.setdefault("nodePort", random.randint(30000, 32767))
                obj["status"] = {"loadBalancer": {}}
                if spec.get("type") == "LoadBalancer":
                    obj["metadata"]["finalizers"] = [FINALIZER]
                    threading.Thread(target=ensure_balancer, args=(cluster, ns, obj_name), daemon=True).start()
            st["objects"][key] = obj
            return 201, public(obj)
        key = (resource, ns if namespaced else None, name)
        if method == "GET":
            obj = st["objects"].get(key)
            return (200, public(obj)) if obj else status(404, "NotFound", f'{resource} "{name}" not found')
        if method == "DELETE":
            obj = delete_object(st, key)
            if obj is None:
                return status(404, "NotFound", f'{resource} "{name}" not found')
            if resource == "namespaces":
                for k in [k for k in st["objects"] if k[1] == name]:
                    delete_object(st, k)
                obj["status"] = {"phase": "Terminating"}
                obj.setdefault("metadata", {})["deletionTimestamp"] = now()
                st["objects"][key] = obj
                finish_terminating(st, key)
            return 200, public(obj)
    return status(405, "MethodNotAllowed", f"{method} is not supported here")


class Api(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _serve(self):
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            refused = expired(self.connection.getpeercert(binary_form=True))
            if refused:
                code, obj = status(401, "Unauthorized", refused)
            else:
                code, obj = handle(self.command, url.path, parse_qs(url.query), body)
        except Exception as exc:  # a bug in the fake: say so, as a 500
            code, obj = status(500, "InternalError", f"fake_k8s: {exc!r}")
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        with open(os.path.join(HOME, "k8s", "requests.log"), "a", encoding="utf-8") as fh:
            fh.write(f"{self.command} {url.path} {code}\n")

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _serve


def route(host):
    """The pods an NLB's DNS name and port lead to, following AWS and Kubernetes as they route
    a TCP connection: (cluster, namespace, [pod names]), or why nothing answers there."""
    name, _, port = host.partition(":")
    port = int(port or 80)
    with LOCK:
        clusters = list(CLUSTERS)
    for cluster in clusters:
        elb = boto("elbv2", cluster)
        lb = next((lb for lb in elb.describe_load_balancers()["LoadBalancers"] if lb["DNSName"] == name), None)
        if lb is None:
            continue
        tags = {t["Key"]: t["Value"] for d in elb.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"]
                for t in d["Tags"]}
        if tags.get(owned(cluster)) is None:
            continue
        if lb["State"]["Code"] != "active":
            return f"load balancer {lb['LoadBalancerName']} is {lb['State']['Code']}"
        listener = next((l for l in elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
                         if l["Port"] == port), None)
        if listener is None:
            return f"no listener on port {port}"
        forward = [a["TargetGroupArn"] for a in listener["DefaultActions"] if a.get("Type") == "forward"]
        if not forward:
            return f"the listener on port {port} forwards nowhere"
        health = elb.describe_target_health(TargetGroupArn=forward[0])["TargetHealthDescriptions"]
        node_ports = {h["Target"]["Port"] for h in health if h["TargetHealth"]["State"] == "healthy"}
        if not node_ports:
            return f"no healthy target in {forward[0].rsplit('/', 2)[-2]}"
        with LOCK:
            st = state(cluster)
            for (kind, ns, _), svc in st["objects"].items():
                if kind != "services":
                    continue
                target_ports = [p.get("targetPort", p["port"]) for p in svc["spec"].get("ports", [])
                                if p.get("nodePort") in node_ports]
                if not target_ports:
                    continue
                selector = svc["spec"].get("selector") or {}
                pods = sorted(o["metadata"]["name"] for (k, n, _), o in st["objects"].items()
                              if k == "pods" and n == ns and pod_ready(o)
                              and all(o["metadata"].get("labels", {}).get(a) == b for a, b in selector.items())
                              and any(c.get("containerPort") in target_ports
                                      for ct in (o.get("spec") or {}).get("containers") or []
                                      for c in ct.get("ports") or []))
                if not pods:
                    return f"no ready pod listens on port {target_ports[0]}"
                return cluster, ns, pods
        return f"no Service has node port {sorted(node_ports)}"
    return f"no load balancer is named {name}"


class Apps(BaseHTTPRequestHandler):
    """The pods' HTTP behind an NLB: one handler per client connection, which keeps the pod it
    was routed to for as long as the connection lasts (an NLB balances connections, not
    requests)."""

    protocol_version = "HTTP/1.1"
    pod = None

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        host = self.headers.get("Host") or urlparse(self.path).netloc
        path = urlparse(self.path).path
        code, text = 200, ""
        if self.pod is None:
            routed = route(host)
            if isinstance(routed, str):
                code, text = 503, routed
            else:
                cluster, ns, pods = routed
                with LOCK:
                    self.pod = (cluster, ns, pods[CONNECTIONS[0] % len(pods)])
                    CONNECTIONS[0] += 1
        if self.pod is not None:
            if "pods-silent" in faults():
                self.close_connection = True  # accepted, then closed without a word
                self.log(host, path, 0, "silent")
                return
            code, text = (200, self.pod[2]) if path == "/hostname" else (404, "not found")
        data = (text + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.log(host, path, code, self.pod[2] if self.pod else text)

    def log(self, host, path, code, what):
        with open(os.path.join(HOME, "k8s", "apps.log"), "a", encoding="utf-8") as fh:
            fh.write(f"{host} {path} {code} {what}\n")


def expired(der):
    """Why the API refuses this client certificate (401), as kube-apiserver does for one whose
    time is up: the stand-in records each admin certificate's end in k8s/issued.json, and a
    test may list serials in k8s/revoked to end one early. Certificates it did not issue (the
    one made at start) are taken."""
    if not der:
        return "no client certificate"
    from cryptography import x509
    serial = str(x509.load_der_x509_certificate(der).serial_number)
    k8s = os.path.join(HOME, "k8s")
    try:
        with open(os.path.join(k8s, "revoked"), encoding="utf-8") as fh:
            if serial in fh.read().split():
                return "Unauthorized"
    except OSError:
        pass
    try:
        with open(os.path.join(k8s, "issued.json"), encoding="utf-8") as fh:
            ends = json.load(fh).get(serial)
    except (OSError, ValueError):
        ends = None
    if ends is not None and time.time() > ends:
        return "Unauthorized"
    return None


def drain(fd):
    while os.read(fd, 65536):
        pass


def main():
    global HOME
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--api-host", help="the API's host name in the kubeconfig (else 127.0.0.1)")
    args = parser.parse_args()
    HOME = args.home
    k8s_dir = os.path.join(HOME, "k8s")
    cert, key, ca = make_certs(k8s_dir, args.api_host)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.socket = ctx.wrap_socket(api.socket, server_side=True)
    apps = ThreadingHTTPServer(("127.0.0.1", 0), Apps)
    api_url = f"https://{args.api_host or '127.0.0.1'}:{api.server_address[1]}"
    apps_url = f"http://127.0.0.1:{apps.server_address[1]}"
    with open(os.path.join(k8s_dir, "server.json"), "w", encoding="utf-8") as fh:
        json.dump({"api": api_url, "apps": apps_url, "pid": os.getpid()}, fh)
    for server in (api, apps):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {api_url} {apps_url}", flush=True)
    # Until the harness closes our stdin (the test ended), or half an hour as a safety net.
    # Read from the descriptor itself: forked by the suite's fork server, `sys.stdin` is the
    # server's object, whose buffer another thread there may have held at the fork.
    reader = threading.Thread(target=lambda: drain(0), daemon=True)
    reader.start()
    reader.join(timeout=1800)


if __name__ == "__main__":
    main()
