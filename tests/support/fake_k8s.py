"""A fake Kubernetes API server and AWS cloud controller for the wizard's tests.

    python3 fake_k8s.py --home $FAKE_KOPS_HOME

Started once per test by the Rust harness (tests/integration/support), with the test's
environment (moto's AWS_ENDPOINT_URL, admin keys, AWS_REGION). It makes a CA, a server
certificate for 127.0.0.1 and a client certificate (CN=admin, O=system:masters), writes them and
`server.json` under `$FAKE_KOPS_HOME/k8s/` (where the kops stand-in takes them for the kubeconfig
it writes), prints `READY <api> <apps>` and serves:

- the API over TLS, client certificate required, one cluster per path prefix
  (`<api>/clusters/<name>/...`); a cluster is up while the stand-in's cloud.json has it, else
  503. Namespaces, Deployments (ready at once, two pods each), Pods, Services,
  PersistentVolumes, Events, `/version`; JSON objects and Status errors as kube-rs expects.
- the cloud controller: a Service of type LoadBalancer gets an NLB in moto, tagged as the AWS
  cloud controller tags it, a TCP target group with the cluster's node instances as targets and
  a listener; its address is set half a second later. Deleting the Service (or its namespace)
  deletes them. No subnet tagged for load balancers: a Warning event and no address.
- the pods' HTTP on a plain port: `GET /hostname` answers the name of one of the pods behind the
  latest LoadBalancer Service whose NLB exists, alternating between them.

FAKE_K8S_LB (read per request): `normal`, `pending` (never an address: the warning event),
`unhealthy` (the NLB is made, /hostname answers 503). Requests are logged to
`$FAKE_KOPS_HOME/k8s/requests.log` as `METHOD PATH STATUS`. It exits when stdin closes.
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
LAST_LB = {}  # the latest LoadBalancer Service with an NLB: cluster, ns, name, pods, next


def now():
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_certs(k8s_dir):
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
               sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")])
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
    elif rest[:3] == ["apis", "apps", "v1"]:
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


def make_pods(st, ns, deploy):
    spec = deploy.get("spec", {})
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    for _ in range(spec.get("replicas", 1)):
        name = pod_name(deploy["metadata"]["name"])
        pod = {"metadata": {"name": name, "labels": dict(labels)},
               "spec": (spec.get("template") or {}).get("spec") or {"containers": []},
               "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}
        st["objects"][("pods", ns, name)] = stamp(st, pod, "Pod", "v1", ns)
    n = spec.get("replicas", 1)
    deploy["status"] = {"replicas": n, "readyReplicas": n, "availableReplicas": n, "updatedReplicas": n}


def boto(service, cluster=None):
    import boto3
    return boto3.client(service, region_name=(cluster and cluster_region(cluster)) or os.environ.get("AWS_REGION")
                        or "us-east-1")


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
    ec2, elb = boto("ec2", cluster), boto("elbv2", cluster)
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
    lb_name = f"k8s-{ns[:8]}-{name[:8]}-{secrets.token_hex(5)}"[:32]
    lb = elb.create_load_balancer(Name=lb_name, Subnets=[s["SubnetId"] for s in subnets[:1]], Type="network",
                                  Scheme="internet-facing", Tags=tags)["LoadBalancers"][0]
    vpc = subnets[0]["VpcId"]
    nodes = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["k8s.io/role/node"]},
                                            {"Name": "tag-key", "Values": [owned(cluster)]},
                                            {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    node_ids = [i["InstanceId"] for r in nodes["Reservations"] for i in r["Instances"]]
    groups = []
    for port in svc["spec"].get("ports", []):
        tg = elb.create_target_group(Name=f"k8s-{secrets.token_hex(6)}"[:32], Protocol="TCP", Port=port["nodePort"],
                                     VpcId=vpc, TargetType="instance", Tags=tags)["TargetGroups"][0]
        if node_ids:
            elb.register_targets(TargetGroupArn=tg["TargetGroupArn"],
                                 Targets=[{"Id": i, "Port": port["nodePort"]} for i in node_ids])
        elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="TCP", Port=port["port"],
                            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}])
        groups.append(tg["TargetGroupArn"])
    with LOCK:
        svc = st["objects"].get(("services", ns, name))
        if svc is None:  # deleted meanwhile
            remove_balancer({"lb": lb["LoadBalancerArn"], "groups": groups, "cluster": cluster})
            return
        svc["status"] = {"loadBalancer": {"ingress": [{"hostname": lb["DNSName"]}]}}
        selector = svc["spec"].get("selector") or {}
        pods = sorted(o["metadata"]["name"] for (k, n, _), o in st["objects"].items()
                      if k == "pods" and n == ns and all(o["metadata"].get("labels", {}).get(a) == b
                                                          for a, b in selector.items()))
        LAST_LB.clear()
        aws = {"lb": lb["LoadBalancerArn"], "groups": groups, "cluster": cluster}
        svc["_aws"] = aws
        LAST_LB.update({"cluster": cluster, "ns": ns, "name": name, "arn": lb["LoadBalancerArn"],
                        "pods": pods, "next": 0})


def remove_balancer(aws, done=None):
    """The controller's cleanup of a deleted Service: the NLB, then its target groups, then the
    Service's finalizer (`done`), as the AWS cloud controller does; nothing while it is down."""
    time.sleep(0.5)
    if controller_stopped():
        return
    if not aws.get("lb"):  # it never got a load balancer: nothing to remove
        if done:
            with LOCK:
                done()
        return
    elb = boto("elbv2", aws.get("cluster"))
    try:
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
        if LAST_LB.get("ns") == ns and LAST_LB.get("name") == name:
            LAST_LB.clear()
        return obj
    st["objects"].pop(key, None)
    if kind == "services" and obj.get("_aws"):
        threading.Thread(target=remove_balancer, args=(obj["_aws"],), daemon=True).start()
        if LAST_LB.get("ns") == ns and LAST_LB.get("name") == name:
            LAST_LB.clear()
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
    if resource not in KINDS:
        return status(404, "NotFound", f"the server could not find the requested resource ({path})")
    kind, api, namespaced = KINDS[resource]
    with LOCK:
        st = state(cluster)
        if name is None and method == "GET":
            selector = (query.get("labelSelector") or [""])[0]
            items = [public(o) for (r, n, _), o in sorted(st["objects"].items())
                     if r == resource and (ns is None or n == ns) and matches(o, selector)]
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


class Apps(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        code, text = 503, "no load balancer in front of any pods\n"
        if urlparse(self.path).path == "/hostname" and os.environ.get("FAKE_K8S_LB", "normal") == "normal":
            with LOCK:
                if LAST_LB and LAST_LB["pods"] and balancer_exists(LAST_LB["arn"], LAST_LB["cluster"]):
                    code, text = 200, LAST_LB["pods"][LAST_LB["next"] % len(LAST_LB["pods"])]
                    LAST_LB["next"] += 1
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


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


def balancer_exists(arn, cluster):
    try:
        return bool(boto("elbv2", cluster).describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"])
    except Exception:
        return False


def main():
    global HOME
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    args = parser.parse_args()
    HOME = args.home
    k8s_dir = os.path.join(HOME, "k8s")
    cert, key, ca = make_certs(k8s_dir)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    api.socket = ctx.wrap_socket(api.socket, server_side=True)
    apps = ThreadingHTTPServer(("127.0.0.1", 0), Apps)
    api_url = f"https://127.0.0.1:{api.server_address[1]}"
    apps_url = f"http://127.0.0.1:{apps.server_address[1]}"
    with open(os.path.join(k8s_dir, "server.json"), "w", encoding="utf-8") as fh:
        json.dump({"api": api_url, "apps": apps_url, "pid": os.getpid()}, fh)
    for server in (api, apps):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {api_url} {apps_url}", flush=True)
    # Until the harness closes our stdin (the test ended), or half an hour as a safety net.
    reader = threading.Thread(target=lambda: sys.stdin.read(), daemon=True)
    reader.start()
    reader.join(timeout=1800)


if __name__ == "__main__":
    main()
