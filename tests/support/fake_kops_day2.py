"""The stand-in's day-2 verbs: `edit ig|cluster --set/--unset`, `update cluster` on a running
cluster (sizes applied, changed launch specs marked NeedsUpdate, never replaced), `get instances
-o json` and `rolling-update cluster` with its table, klog progress lines and exit codes, as
../shared/day-two.md describes kops 1.30 to 1.36.

The running cloud is $FAKE_KOPS_HOME/cloud.json (and, with an AWS endpoint, the same instances
in moto: a replaced instance is terminated there and its replacement launched with the group's
machine type, so tests judge sizes by EC2's own answers). Each instance keeps the launch spec it
was started with; each Auto Scaling group keeps the spec the last `update --yes` applied. An
instance whose spec differs from its group's applied one is NeedsUpdate; `update` alone never
replaces it, as kops does not.

Failure modes (environment):
  FAKE_KOPS_ROLL_FAIL=validate      the roll's validation after the first replaced node times out
  FAKE_KOPS_ROLL_FAIL=drain         a node group's first drain is blocked by a disruption budget
                                    until --drain-timeout (kops goes on, prints the end line, exit 1)
  FAKE_KOPS_ROLL_STEP=SECONDS       the wait behind each of a node's phases (default 0.05)
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import fake_kops as k

# What `--set` may change, per object (kops accepts any field; the wizard sets only these, and a
# field the stand-in does not model is a configuration error of the test, not kops's answer).
IG_FIELDS = {"spec.minSize": int, "spec.maxSize": int, "spec.machineType": str, "spec.image": str}
CLUSTER_FIELDS = {"spec.kubernetesVersion": str}
ROLL_FAILURES = ("", "validate", "drain")


def _set_field(obj, path, value, fields, what):
    kind = fields.get(path)
    if kind is None:
        raise k.FakeConfigError(f"`kops edit {what} --set {path}=...` is not simulated "
                                f"(simulated: {', '.join(sorted(fields))})")
    node = obj
    parts = path.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(parts[-1], None)
        return
    if kind is int:
        try:
            value = int(value)
        except ValueError:
            raise k.KopsError(f"error setting field {k.go_quote(path)}: cannot parse {k.go_quote(value)} "
                              "as int") from None
    node[parts[-1]] = value


def _apply_sets(ctx, obj, prefix, fields, what):
    sets = ctx.args.get("set") or []
    unsets = ctx.args.get("unset") or []
    if not sets and not unsets:
        raise k.FakeConfigError(f"`kops edit {what}` without --set/--unset opens an editor: not simulated")
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq:
            raise k.KopsError(f"missing value in --set {k.go_quote(item)}; expected KEY=VALUE")
        _set_field(obj, key.removeprefix(prefix), value, fields, what)
    for key in unsets:
        _set_field(obj, key.removeprefix(prefix), None, fields, what)


def cmd_edit_instancegroup(ctx):
    usage = "kops edit instancegroup INSTANCE_GROUP [flags]"
    name = k.name_flag(ctx.args, ctx.env) or k.cluster_from_kubeconfig(ctx.env, True)
    if not name:
        raise k.KopsError("--name is required", usage)
    if len(ctx.args.positionals) != 1:
        raise k.KopsError("Specify name of instance group to edit", usage)
    group_name = ctx.args.positionals[0]
    store = ctx.store()
    k.get_cluster(store, name)
    groups = {k.ig_name(g): g for g in k.load_instance_groups(store, name)}
    group = groups.get(group_name)
    if group is None:
        raise k.KopsError(f"InstanceGroup: {k.go_quote(group_name)} not found")
    _apply_sets(ctx, group, "instancegroup.", IG_FIELDS, "instancegroup")
    spec = group["spec"]
    if int(spec.get("minSize") or 0) > int(spec.get("maxSize") or 0):
        raise k.KopsError(f"spec.minSize: Forbidden: minSize ({spec.get('minSize')}) must be less than or "
                          f"equal to maxSize ({spec.get('maxSize')})")
    store.write(name, f"instancegroup/{group_name}", k.yaml_dump(group))


def cmd_edit_cluster(ctx):
    usage = "kops edit cluster [CLUSTER] [flags]"
    name = k.process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    store = ctx.store()
    cluster = k.get_cluster(store, name)
    _apply_sets(ctx, cluster, "cluster.", CLUSTER_FIELDS, "cluster")
    version = cluster["spec"].get("kubernetesVersion", "")
    try:
        k.parse_version(version)
    except ValueError:
        raise k.KopsError(f"spec.kubernetesVersion: Invalid value: {k.go_quote(version)}: "
                          "unable to determine kubernetes version") from None
    store.write(name, "config", k.yaml_dump(cluster))


# ----------------------------------------------------------------------------------------------
# The running cloud: launch specs, instances, sizes
# ----------------------------------------------------------------------------------------------

def launch_spec(cluster, group):
    """What an instance of `group` is started with now: the spec its launch template holds."""
    return {"machineType": group["spec"].get("machineType", k.DEFAULT_MACHINE_TYPE),
            "image": group["spec"].get("image", ""),
            "kubernetesVersion": cluster["spec"].get("kubernetesVersion", "")}


def role_of(group):
    return {"ControlPlane": "control-plane", "Node": "node", "Bastion": "bastion"}[k.ig_role(group)]


def instances_of(resources, group_name):
    return [r for r in resources if r["type"] == "instance" and r.get("instanceGroup") == group_name]


def asg_of(resources, group_name):
    return next((r for r in resources if r["type"] == "autoscaling-group"
                 and r.get("instanceGroup") == group_name), None)


def needs_update(instance, asg):
    """kops's rule: an instance started from another launch template version, or detached."""
    if instance.get("detached"):
        return True
    applied = (asg or {}).get("applied")
    launched = instance.get("launch")
    return bool(applied and launched and applied != launched)


def new_instance(ctx, cluster, group, resources, spec):
    """One instance launched into `group` with `spec`, in the cloud file and (with an endpoint)
    in EC2, tagged as kops tags it."""
    name = cluster["metadata"]["name"]
    region = k.cluster_region(cluster)
    asg = asg_of(resources, k.ig_name(group))
    item = {"type": "instance", "name": asg["name"] if asg else k.ig_name(group), "id": k.aws_id("i"),
            "instanceGroup": k.ig_name(group), "zone": (k.ig_zones(cluster, group) or [region + "a"])[0],
            "launch": dict(spec), "machineType": spec["machineType"], "launched": time.time()}
    if k.real_cloud(ctx.env):
        import fake_cloud
        item["id"] = fake_cloud.launch_instance(name, item, region)
        item["region"] = region
    resources.append(item)
    return item


TAINT = "kops.k8s.io/scheduled-for-update"


def taints_path(ctx):
    """Where the node taints kops sets live: the fake cluster API reads them into its Nodes."""
    return ctx.settings.path(os.path.join("k8s", "taints.json"))


def set_taint(ctx, instance_ids, on):
    """kops's taint on the nodes of `instance_ids` (`kubectl taint ... PreferNoSchedule`), or
    off them: what an interrupted roll leaves behind (kops #12383)."""
    path = taints_path(ctx)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    taints = k.load_json(path, {})
    for instance_id in instance_ids:
        node = f"{instance_id}.ec2.internal"
        if on:
            taints[node] = [{"key": TAINT, "effect": "PreferNoSchedule"}]
        else:
            taints.pop(node, None)
    k.save_json(path, taints)


def terminate(ctx, resources, instance):
    set_taint(ctx, [instance["id"]], on=False)
    resources.remove(instance)
    if k.real_cloud(ctx.env):
        import fake_cloud
        fake_cloud.terminate_instance(instance["id"], instance.get("region"))


def pending_changes(cluster, groups, resources, roles=None):
    """Per group whose applied spec or size differs from its spec: (group, what changes)."""
    out = []
    for group in groups:
        if roles and role_of(group) not in roles:
            continue
        asg = asg_of(resources, k.ig_name(group))
        if asg is None:
            continue
        changes = []
        spec = launch_spec(cluster, group)
        applied = asg.get("applied") or {}
        for field in ("machineType", "image", "kubernetesVersion"):
            if applied.get(field, spec[field]) != spec[field]:
                changes.append((field, applied.get(field), spec[field]))
        for field in ("minSize", "maxSize"):
            want = int(group["spec"].get(field) or 0)
            have = asg.get(field, want)
            if have != want:
                changes.append((field, have, want))
        if changes:
            out.append((group, changes))
    return out


def control_plane_version(resources, groups):
    """The Kubernetes version the running control plane's instances were started with."""
    names = {k.ig_name(g) for g in groups if k.ig_role(g) == "ControlPlane"}
    versions = [r["launch"]["kubernetesVersion"] for r in resources
                if r["type"] == "instance" and r.get("instanceGroup") in names and r.get("launch")]
    return min(versions, key=k.parse_version) if versions else None


def update_running(ctx, name, yes, roles, ignore_skew):
    """`kops update cluster` on a cluster whose cloud exists: returns True when it handled it."""
    store = ctx.store()
    cluster = k.get_cluster(store, name)
    groups = k.load_instance_groups(store, name)
    cloud = k.load_cloud(ctx.settings)
    resources = cloud.get(name)
    if resources is None:
        return False
    adopt_legacy(cluster, groups, resources)
    sync_with_ec2(ctx, resources)
    changes = pending_changes(cluster, groups, resources, roles)
    k._task_lines(60 + 12 * len(groups))
    running_cp = control_plane_version(resources, groups)
    wanted = cluster["spec"].get("kubernetesVersion", "")
    if (ctx.settings.version_tuple >= (1, 31) and not ignore_skew and running_cp and wanted
            and k.parse_version(wanted) > k.parse_version(running_cp)
            and any(role_of(g) == "node" for g, _ in changes)):
        raise k.KopsError(
            f"refusing to update node instance groups to kubelet version {wanted}: the control plane "
            f"runs {running_cp}; update and roll the control plane first "
            "(--instance-group-roles=control-plane,apiserver), or use --ignore-kubelet-version-skew")
    if not yes:
        if not changes:
            k.out("No changes need to be applied\n")
            return True
        lines = ["Will modify resources:"]
        for group, what in changes:
            lines.append(f"  AutoScalingGroup/{k._asg_name(name, group)}")
            for field, old, new in what:
                lines.append(f"  \t{field[0].upper() + field[1:]}\t{old} -> {new}")
            lines.append("")
        k.out("\n".join(lines) + "\nMust specify --yes to apply changes\n")
        return True
    for group, _ in changes:
        asg = asg_of(resources, k.ig_name(group))
        asg["applied"] = launch_spec(cluster, group)
        low, high = int(group["spec"].get("minSize") or 0), int(group["spec"].get("maxSize") or 0)
        asg["minSize"], asg["maxSize"] = low, high
        members = instances_of(resources, k.ig_name(group))
        # AWS moves the desired capacity into the new range: new instances from the new launch
        # template, or (kops's scale-down is not graceful) instances terminated at once.
        for _ in range(max(0, low - len(members))):
            new_instance(ctx, cluster, group, resources, asg["applied"])
        for victim in members[: max(0, len(members) - high)]:
            terminate(ctx, resources, victim)
    k.write_update_artifacts(ctx, store, cluster, groups)
    k.save_cloud(ctx.settings, cloud)
    restart = any(needs_update(i, asg_of(resources, i.get("instanceGroup")))
                  for i in resources if i["type"] == "instance")
    if not changes:
        k.out("\nNo changes need to be applied\n")
    elif restart:
        k.out("\nCluster changes have been applied to the cloud.\n\n\n"
              "Changes may require instances to restart: kops rolling-update cluster\n\n")
    else:
        k.out("\nCluster changes have been applied to the cloud.\n\n")
    return True


def sync_with_ec2(ctx, resources):
    """Instances EC2 no longer runs (terminated through their Auto Scaling group, as the
    wizard's graceful scale-down does) leave the stand-in's cloud too: kops reads AWS."""
    ids = [r["id"] for r in resources if r["type"] == "instance"]
    if not ids or not k.real_cloud(ctx.env):
        return False
    import fake_cloud
    region = next((r.get("region") for r in resources if r.get("region")), None)
    alive = fake_cloud.running_instances(ids, region)
    gone = [r for r in resources if r["type"] == "instance" and r["id"] not in alive]
    for r in gone:
        resources.remove(r)
    return bool(gone)


def adopt_legacy(cluster, groups, resources):
    """A cloud made before the stand-in kept launch specs: what it was made with is what the
    specs say now."""
    for group in groups:
        asg = asg_of(resources, k.ig_name(group))
        if asg is None:
            continue
        asg.setdefault("applied", launch_spec(cluster, group))
        asg.setdefault("minSize", int(group["spec"].get("minSize") or 0))
        asg.setdefault("maxSize", int(group["spec"].get("maxSize") or 0))
        for inst in instances_of(resources, k.ig_name(group)):
            inst.setdefault("launch", dict(asg["applied"]))


# ----------------------------------------------------------------------------------------------
# kops get instances
# ----------------------------------------------------------------------------------------------

def instance_rows(cluster, groups, resources):
    by_group = {k.ig_name(g): g for g in groups}
    rows = []
    for r in resources:
        if r["type"] != "instance" or r.get("instanceGroup") not in by_group:
            continue
        group = by_group[r["instanceGroup"]]
        status = ("Detached" if r.get("detached") else
                  "NeedsUpdate" if needs_update(r, asg_of(resources, r["instanceGroup"])) else "UpToDate")
        role = role_of(group)
        rows.append({"id": r["id"], "nodeName": "" if role == "bastion" else f"i-{r['id'][2:]}.ec2.internal",
                     "status": status, "roles": [role], "internalIP": _internal_ip(r["id"]),
                     "externalIP": k.PLACEHOLDER_IP, "instanceGroup": r["instanceGroup"],
                     "machineType": (r.get("launch") or {}).get("machineType", r.get("machineType", "")),
                     "state": "active"})
    return sorted(rows, key=lambda x: (x["instanceGroup"], x["id"]))


def _internal_ip(instance_id):
    """A private address that stays the same for an instance from call to call."""
    digest = hashlib.sha256(instance_id.encode()).digest()
    return f"172.20.{digest[0] % 96 + 32}.{digest[1] % 250 + 2}"


def cmd_get_instances(ctx):
    usage = "kops get instances [CLUSTER] [flags]"
    name = k.process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    store = ctx.store()
    cluster = k.get_cluster(store, name)
    groups = k.load_instance_groups(store, name)
    cloud = k.load_cloud(ctx.settings)
    resources = cloud.get(name) or []
    adopt_legacy(cluster, groups, resources)
    if sync_with_ec2(ctx, resources):
        k.save_cloud(ctx.settings, cloud)
    rows = instance_rows(cluster, groups, resources)
    output = ctx.args.get("output") or "table"
    if output == "json":
        k.out(json.dumps(rows, indent=2) + "\n")
    elif output == "table":
        k.out(k.render_table(("ID", "NODE-NAME", "STATUS", "ROLES", "STATE", "INTERNAL-IP", "EXTERNAL-IP",
                              "INSTANCE-GROUP", "MACHINE-TYPE"),
                             [(r["id"], r["nodeName"], r["status"], ",".join(r["roles"]), r["state"],
                               r["internalIP"], r["externalIP"], r["instanceGroup"], r["machineType"])
                              for r in rows]))
    else:
        raise k.KopsError(f"unknown output format: {k.go_quote(output)}")


# ----------------------------------------------------------------------------------------------
# kops rolling-update cluster
# ----------------------------------------------------------------------------------------------

def roll_order(groups):
    """Bastions, control-plane groups, apiserver groups, then node groups, each alphabetical."""
    rank = {"Bastion": 0, "ControlPlane": 1, "APIServer": 2, "Node": 3}
    return sorted(groups, key=lambda g: (rank.get(k.ig_role(g), 4), k.ig_name(g)))


def roll_table(groups, resources):
    rows = []
    for g in groups:
        members = instances_of(resources, k.ig_name(g))
        asg = asg_of(resources, k.ig_name(g))
        stale = [m for m in members if needs_update(m, asg)]
        rows.append((k.ig_name(g), "NeedsUpdate" if stale else "Ready", str(len(stale)),
                     str(len(members) - len(stale)), str(g["spec"].get("minSize", 0)),
                     str(len(members)), str(g["spec"].get("maxSize", 0)), str(len(members))))
    return k.render_table(("NAME", "STATUS", "NEEDUPDATE", "READY", "MIN", "TARGET", "MAX", "NODES"), rows)


def _pause(ctx):
    time.sleep(float(ctx.env.get("FAKE_KOPS_ROLL_STEP") or 0.05))


def _flush():
    sys.stdout.flush()
    sys.stderr.flush()


def cmd_rolling_update(ctx):
    usage = "kops rolling-update cluster [CLUSTER] [flags]"
    name = k.process_cluster_args(ctx, usage, kubeconfig_fallback=True)
    fail = ctx.env.get("FAKE_KOPS_ROLL_FAIL", "")
    if fail not in ROLL_FAILURES:
        raise k.FakeConfigError(f"FAKE_KOPS_ROLL_FAIL must be one of {ROLL_FAILURES}")
    store = ctx.store()
    cluster = k.get_cluster(store, name)
    groups = k.load_instance_groups(store, name)
    cloud = k.load_cloud(ctx.settings)
    resources = cloud.get(name)
    if resources is None:
        raise k.KopsError(f"error listing nodes in cluster: cluster {k.go_quote(name)} has no instances")
    adopt_legacy(cluster, groups, resources)
    sync_with_ec2(ctx, resources)
    roles = set(ctx.args.get("instance-group-roles") or [])
    only = set(ctx.args.get("instance-group") or [])
    chosen = [g for g in roll_order(groups)
              if (not roles or role_of(g) in roles or (k.ig_role(g) == "ControlPlane" and "master" in roles))
              and (not only or k.ig_name(g) in only)]
    version = ctx.settings.version_tuple
    control_planes = [g for g in groups if k.ig_role(g) == "ControlPlane"]
    if version <= (1, 31) and len(control_planes) == 1:
        k.klog("I", "rollingupdate.go:74", "Detected single-control-plane cluster; won't detach before draining")
    k.out(roll_table(chosen, resources))
    stale = {k.ig_name(g): [m for m in instances_of(resources, k.ig_name(g))
                            if needs_update(m, asg_of(resources, k.ig_name(g)))] for g in chosen}
    force = bool(ctx.args.get("force"))
    if not force and not any(stale.values()):
        k.out("\nNo rolling-update required.\n")
        return
    if not ctx.args.get("yes"):
        k.out("\nMust specify --yes to rolling-update.\n")
        return
    _flush()
    validation_timeout = ctx.args.get("validation-timeout") or 15 * 60.0
    drain_timeout = ctx.args.get("drain-timeout") or 15 * 60.0
    errors = []
    rolled = []
    for group in chosen:
        gname = k.ig_name(group)
        members = instances_of(resources, gname) if force else stale[gname]
        if not members:
            continue
        rolled.append(gname)
        k.klog("I", "instancegroups.go:467", "Validating the cluster.")
        _pause(ctx)
        k.klog("I", "instancegroups.go:503", "Cluster validated.")
        k.klog("I", "instancegroups.go:348", f"Tainting {len(members)} node(s) in {k.go_quote(gname)} instancegroup.")
        set_taint(ctx, [m["id"] for m in members], on=True)
        surge = k.ig_role(group) == "Node"
        group_error = None
        for n, member in enumerate(list(members)):
            node = f"i-{member['id'][2:]}.ec2.internal"
            # An instance an earlier roll detached already has its replacement: kops counts it
            # toward the surge and goes on to drain it.
            if surge and not member.get("detached"):
                k.klog("I", "instancegroups.go:606", f"Detaching instance {k.go_quote(member['id'])}, node "
                       f"{k.go_quote(node)}, in group {k.go_quote(gname)}.")
                member["detached"] = True
                new_instance(ctx, cluster, group, resources, launch_spec(cluster, group))
                k.save_cloud(ctx.settings, cloud)
                k.klog("I", "instancegroups.go:610", "waiting for 15s after detaching instance")
                _flush()
                _pause(ctx)
            k.klog("I", "instancegroups.go:383", f"Draining the node: {k.go_quote(node)}.")
            if fail == "drain" and n == 0 and surge:
                for _ in range(3):
                    k.err('error when evicting pods/"web-0" -n "default" (will retry after 5s): Cannot evict pod '
                          "as it would violate the pod's disruption budget.\n")
                    _flush()
                    _pause(ctx)
                group_error = (f"failed to drain node {k.go_quote(node)}: error draining node: "
                               f"[error when waiting for pod \"web-0\" terminating: global timeout reached: "
                               f"{k.format_duration(drain_timeout)}]")
                k.klog("E", "instancegroups.go:392", group_error)
                break
            k.out('evicting pod default/web-%d\n' % n)
            k.err("WARNING: ignoring DaemonSet-managed Pods: kube-system/cilium-x\n")
            _pause(ctx)
            k.klog("I", "instancegroups.go:706", "Waiting for 5s for pods to stabilize after draining.")
            k.klog("I", "instancegroups.go:626", f"Stopping instance {k.go_quote(member['id'])}, node "
                   f"{k.go_quote(node)}, in group {k.go_quote(gname)} (this may take a while).")
            terminate(ctx, resources, member)
            if not surge:
                new_instance(ctx, cluster, group, resources, launch_spec(cluster, group))
            k.save_cloud(ctx.settings, cloud)
            k.klog("I", "instancegroups.go:449", "waiting for 15s after terminating instance")
            _flush()
            _pause(ctx)
            if fail == "validate":
                k.klog("I", "instancegroups.go:537", 'Cluster did not pass validation, will retry in "30s": '
                       f'node {k.go_quote(node)} of role "node" is not ready.')
                _flush()
                _pause(ctx)
                group_error = ("error validating cluster after terminating instance: cluster did not validate "
                               f"within a duration of {k.go_quote(k.format_duration(validation_timeout))}")
                break
            k.klog("I", "instancegroups.go:527", "Cluster validated; revalidating in 10s to make sure it does not flap.")
            _pause(ctx)
            k.klog("I", "instancegroups.go:503", "Cluster validated.")
            _flush()
        if group_error:
            k.klog("E", "rollingupdate.go:214", f"failed to roll InstanceGroup {k.go_quote(gname)}: {group_error}")
            errors.append(f"failed to roll InstanceGroup {k.go_quote(gname)}: {group_error}")
            # A validation failure, or any error in a control-plane group, stops the roll;
            # a node group's drain error lets kops go on to the next group.
            if fail == "validate" or k.ig_role(group) != "Node":
                break
    if version >= (1, 32):
        k.klog("I", "rollingupdate.go:241",
               f"Completed rolling update for cluster {k.go_quote(name)} instance groups [{' '.join(rolled)}]")
    else:
        k.klog("I", "rollingupdate.go:241", f"Rolling update completed for cluster {k.go_quote(name)}!")
    if errors:
        raise k.KopsError(f"{len(errors)} error(s) occurred:\n\t* " + "\n\t* ".join(errors)
                          if len(errors) > 1 else errors[0])


def commands():
    get_output = k.Flag("output", short="o", default="table")
    roll_flags = [k.Flag("yes", "bool", short="y"), k.Flag("force", "bool"), k.Flag("cloudonly", "bool"),
                  k.Flag("validation-timeout", "duration"), k.Flag("drain-timeout", "duration"),
                  k.Flag("validate-count", "int"), k.Flag("control-plane-interval", "duration"),
                  k.Flag("node-interval", "duration"), k.Flag("bastion-interval", "duration"),
                  k.Flag("post-drain-delay", "duration"), k.Flag("interactive", "bool", short="i"),
                  k.Flag("instance-group", "slice"), k.Flag("instance-group-roles", "slice"),
                  k.Flag("fail-on-drain-error", "bool", default=True),
                  k.Flag("fail-on-validate-error", "bool", default=True),
                  k.Flag("admin", "duration", min_version=(1, 33))]
    return [
        k.Command(("edit", "instancegroup"), "kops edit instancegroup INSTANCE_GROUP [flags]",
                  cmd_edit_instancegroup, [k.Flag("set", "slice"), k.Flag("unset", "slice")],
                  verb="edit", resolve=k._flag_only_cluster),
        k.Command(("edit", "cluster"), "kops edit cluster [CLUSTER] [flags]", cmd_edit_cluster,
                  [k.Flag("set", "slice"), k.Flag("unset", "slice")], verb="edit", resolve=k._silent_cluster(True)),
        k.Command(("get", "instances"), "kops get instances [CLUSTER] [flags]", cmd_get_instances, [get_output],
                  resolve=k._silent_cluster(True)),
        k.Command(("rolling-update", "cluster"), "kops rolling-update cluster [CLUSTER] [flags]", cmd_rolling_update,
                  roll_flags, verb="rolling-update", resolve=k._silent_cluster(True)),
    ]
