"""The kops stand-in's cloud, made for real in the AWS endpoint the SDK chain points at (moto).

`update cluster --yes` turns each resource of its plan (see fake_kops.build_cloud_resources) into
the matching AWS resource, tagged as kops tags it (`KubernetesCluster=<name>`,
`kubernetes.io/cluster/<name>=owned`, `Name`); `delete cluster --yes` deletes them. The ids in
cloud.json become AWS's ids. Only boto3.

FAKE_KOPS_FORGET=<type,...> makes delete leave one resource of each listed type in AWS while it
reports it deleted: what kops's delete missed, for a final check to find.
"""

import json
import os

import boto3

# Types whose delete order matters: the ones that hold others go first.
_ORDER = ["autoscaling-group", "launch-template", "instance", "load-balancer", "target-group",
          "nat-gateway", "elastic-ip", "volume", "keypair", "internet-gateway", "subnet",
          "route-table", "security-group", "vpc", "dhcp-options", "iam-instance-profile", "iam-role",
          "sqs", "eventbridge-rule"]

SERVICE_TAG = "kubernetes.io/service-name"


REGION = {"name": None}  # the cluster's region, once materialize or destroy is told it


def _region():
    return REGION["name"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _client(service):
    return boto3.client(service, region_name=_region())


# The cluster's cloud labels (spec.cloudLabels), which kops puts on everything it makes.
LABELS = {"labels": {}}


def tags_for(cluster, name, extra=None):
    tags = dict(LABELS["labels"])
    tags.update({"KubernetesCluster": cluster, f"kubernetes.io/cluster/{cluster}": "owned", "Name": name})
    tags.update(extra or {})
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _ami(ec2):
    images = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "name", "Values": ["*ubuntu*"]}])
    return images["Images"][0]["ImageId"]


def _exists(exc):
    code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
    return "AlreadyExists" in code or "Duplicate" in code or code == "EntityAlreadyExists"


def _made_or_found(create, find):
    """Creates a named resource, or finds the one of that name an earlier cluster of the same
    name left (kops reuses names)."""
    try:
        return create()
    except Exception as exc:
        if not _exists(exc):
            raise
        return find()


def materialize(cluster, resources, zones, region, labels=None):
    """Creates `resources` (cloud.json entries) in AWS, in the cluster's region, in place: each
    gets its AWS id and the region, and the cluster's cloud labels as tags."""
    REGION["name"] = region
    LABELS["labels"] = dict(labels or {})
    for r in resources:
        r["region"] = region
    ec2 = _client("ec2")
    spec = lambda kind, name, extra=None: [{"ResourceType": kind, "Tags": tags_for(cluster, name, extra)}]
    by_type = lambda t: [r for r in resources if r["type"] == t]
    zone = zones[0] if zones else _region() + "a"

    vpc = None
    for r in by_type("vpc"):
        vpc = ec2.create_vpc(CidrBlock="172.20.0.0/16", TagSpecifications=spec("vpc", r["name"]))["Vpc"]["VpcId"]
        r["id"] = vpc
    for r in by_type("keypair"):
        # kops imports the cluster's SSH public key under this name, tagged for the cluster; a
        # key moto makes stands in for it (the name, the tags and the id are what matter).
        _made_or_found(
            lambda: ec2.create_key_pair(KeyName=r["name"], KeyType="ed25519",
                                        TagSpecifications=spec("key-pair", r["name"])),
            lambda: None)
        r["id"] = r["name"]
    for r in by_type("dhcp-options"):
        r["id"] = ec2.create_dhcp_options(
            DhcpConfigurations=[{"Key": "domain-name-servers", "Values": ["AmazonProvidedDNS"]}],
            TagSpecifications=spec("dhcp-options", r["name"]))["DhcpOptions"]["DhcpOptionsId"]
        # moto drops CreateDhcpOptions' TagSpecifications (AWS applies them): tagged again.
        ec2.create_tags(Resources=[r["id"]], Tags=tags_for(cluster, r["name"]))
    for r in by_type("internet-gateway"):
        r["id"] = ec2.create_internet_gateway(
            TagSpecifications=spec("internet-gateway", r["name"]))["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=r["id"], VpcId=vpc)
    subnets = []
    for i, r in enumerate(by_type("subnet")):
        role = {"kubernetes.io/role/elb": "1"}
        az = next((z for z in zones if z in r["name"]), zone)
        r["id"] = ec2.create_subnet(VpcId=vpc, CidrBlock=f"172.20.{32 * i}.0/19", AvailabilityZone=az,
                                    TagSpecifications=spec("subnet", r["name"], role))["Subnet"]["SubnetId"]
        subnets.append(r["id"])
    for r in by_type("route-table"):
        r["id"] = ec2.create_route_table(VpcId=vpc, TagSpecifications=spec("route-table", r["name"]))[
            "RouteTable"]["RouteTableId"]
    for r in by_type("security-group"):
        r["id"] = ec2.create_security_group(GroupName=r["name"], Description=f"Security group for {r['name']}",
                                            VpcId=vpc, TagSpecifications=spec("security-group", r["name"]))["GroupId"]
    for r in by_type("elastic-ip"):
        r["id"] = ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip", r["name"]))["AllocationId"]
    for r, eip in zip(by_type("nat-gateway"), by_type("elastic-ip")):
        r["id"] = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=eip["id"],
                                         TagSpecifications=spec("natgateway", r["name"]))["NatGateway"]["NatGatewayId"]
    ami = _ami(ec2) if by_type("instance") or by_type("autoscaling-group") else None
    for r in by_type("instance"):
        role = "k8s.io/role/control-plane" if "control-plane" in r.get("instanceGroup", "") else "k8s.io/role/node"
        extra = {role: "1", "kops.k8s.io/instancegroup": r.get("instanceGroup", "")}
        r["id"] = ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1,
                                    InstanceType=r.get("machineType", "t3.medium"),
                                    SubnetId=subnets[0] if subnets else None,
                                    TagSpecifications=spec("instance", r["name"], extra))["Instances"][0]["InstanceId"]
    for r in by_type("volume"):
        r["id"] = ec2.create_volume(AvailabilityZone=zone, Size=20, VolumeType="gp3",
                                    TagSpecifications=spec("volume", r["name"]))["VolumeId"]
    asg = _client("autoscaling")
    for r in by_type("autoscaling-group"):
        lt = _made_or_found(
            lambda: ec2.create_launch_template(
                LaunchTemplateName=r["name"], LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.medium"},
                TagSpecifications=spec("launch-template", r["name"]))["LaunchTemplate"]["LaunchTemplateId"],
            lambda: ec2.describe_launch_templates(LaunchTemplateNames=[r["name"]])["LaunchTemplates"][0][
                "LaunchTemplateId"])
        r["launchTemplate"] = lt
        _made_or_found(lambda: asg.create_auto_scaling_group(
            AutoScalingGroupName=r["name"], LaunchTemplate={"LaunchTemplateId": lt}, MinSize=0, MaxSize=0,
            DesiredCapacity=0, VPCZoneIdentifier=",".join(subnets[:1]),
            Tags=[dict(t, PropagateAtLaunch=True) for t in tags_for(cluster, r["name"])]), lambda: None)
        r["id"] = r["name"]
        # Its instances in it, as the group launched them: a TerminateInstanceInAutoScalingGroup
        # (the wizard's graceful scale-down) finds them there.
        members = [i["id"] for i in by_type("instance") if i["name"] == r["name"]]
        if members:
            asg.update_auto_scaling_group(AutoScalingGroupName=r["name"], MinSize=0, MaxSize=len(members))
            asg.attach_instances(AutoScalingGroupName=r["name"], InstanceIds=members)
    elb = _client("elbv2")
    for r in by_type("load-balancer"):
        lb = _made_or_found(
            lambda: elb.create_load_balancer(Name=r["name"], Subnets=subnets[:1], Type="network",
                                             Scheme="internet-facing", Tags=tags_for(cluster, r["name"])),
            lambda: elb.describe_load_balancers(Names=[r["name"]]))["LoadBalancers"][0]
        r["id"], r["dnsName"] = lb["LoadBalancerArn"], lb["DNSName"]
    for r in by_type("target-group"):
        r["id"] = _made_or_found(
            lambda: elb.create_target_group(Name=r["name"], Protocol="TCP", Port=443, VpcId=vpc,
                                            TargetType="instance", Tags=tags_for(cluster, r["name"])),
            lambda: elb.describe_target_groups(Names=[r["name"]]))["TargetGroups"][0]["TargetGroupArn"]
    iam = _client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for r in by_type("iam-role"):
        _made_or_found(lambda: iam.create_role(RoleName=r["name"], AssumeRolePolicyDocument=trust,
                                               Tags=tags_for(cluster, r["name"])), lambda: None)
    for r in by_type("iam-instance-profile"):
        _made_or_found(lambda: iam.create_instance_profile(InstanceProfileName=r["name"],
                                                           Tags=tags_for(cluster, r["name"])), lambda: None)
    sqs = _client("sqs")
    for r in by_type("sqs"):
        queue = r["id"].rsplit("/", 1)[-1]
        r["id"] = sqs.create_queue(QueueName=queue, tags={t["Key"]: t["Value"] for t in tags_for(cluster, queue)})[
            "QueueUrl"]
    events = _client("events")
    for r in by_type("eventbridge-rule"):
        events.put_rule(Name=r["name"], EventPattern=json.dumps({"source": ["aws.ec2"]}),
                        Tags=tags_for(cluster, r["name"]))
    return resources


def launch_instance(cluster, r, region):
    """One more instance of a running cluster (a scale-up, a roll's replacement), in the subnet
    and with the tags of its group's first one: its id."""
    REGION["name"] = region
    ec2 = _client("ec2")
    role = "k8s.io/role/control-plane" if "control-plane" in r.get("instanceGroup", "") else "k8s.io/role/node"
    extra = {role: "1", "kops.k8s.io/instancegroup": r.get("instanceGroup", "")}
    f = [{"Name": "tag:kops.k8s.io/instancegroup", "Values": [r.get("instanceGroup", "")]},
         {"Name": "instance-state-name", "Values": ["pending", "running"]}]
    peers = [i for res in ec2.describe_instances(Filters=f)["Reservations"] for i in res["Instances"]]
    subnet = peers[0].get("SubnetId") if peers else None
    spec = [{"ResourceType": "instance", "Tags": tags_for(cluster, r["name"], extra)}]
    kwargs = {"SubnetId": subnet} if subnet else {}
    new = ec2.run_instances(ImageId=_ami(ec2), MinCount=1, MaxCount=1, InstanceType=r["machineType"],
                            TagSpecifications=spec, **kwargs)["Instances"][0]["InstanceId"]
    # Launched by its group: in it (its maximum raised for a surge, as kops's detach does).
    asg = _client("autoscaling")
    groups = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[r["name"]])["AutoScalingGroups"]
    if groups:
        g = groups[0]
        if len(g["Instances"]) + 1 > g["MaxSize"]:
            asg.update_auto_scaling_group(AutoScalingGroupName=r["name"], MaxSize=len(g["Instances"]) + 1)
        asg.attach_instances(AutoScalingGroupName=r["name"], InstanceIds=[new])
    return new


def terminate_instance(instance_id, region=None):
    """An instance out of its group (its desired capacity one less) and terminated."""
    REGION["name"] = region or REGION["name"]
    asg = _client("autoscaling")
    found = asg.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    for member in found:
        _ignore_missing(lambda: asg.detach_instances(
            AutoScalingGroupName=member["AutoScalingGroupName"], InstanceIds=[instance_id],
            ShouldDecrementDesiredCapacity=True))
    _ignore_missing(lambda: _client("ec2").terminate_instances(InstanceIds=[instance_id]))


def running_instances(ids, region=None):
    """Which of `ids` EC2 has pending or running (the others were terminated, by kops or not)."""
    REGION["name"] = region or REGION["name"]
    f = [{"Name": "instance-id", "Values": list(ids)},
         {"Name": "instance-state-name", "Values": ["pending", "running"]}]
    found = _client("ec2").describe_instances(Filters=f)["Reservations"]
    return {i["InstanceId"] for r in found for i in r["Instances"]}


def service_balancers(cluster, region=None):
    """The load balancers the cluster's Services made (the cloud controller's tags)."""
    REGION["name"] = region or REGION["name"]
    elb = _client("elbv2")
    arns = [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
    found = []
    for i in range(0, len(arns), 20):
        for d in elb.describe_tags(ResourceArns=arns[i:i + 20])["TagDescriptions"]:
            keys = {t["Key"] for t in d["Tags"]}
            if SERVICE_TAG in keys and f"kubernetes.io/cluster/{cluster}" in keys:
                found.append(d["ResourceArn"])
    return found


def _ignore_missing(call):
    try:
        call()
    except Exception as exc:  # already gone (a rerun after a failed delete): nothing to do
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        if not any(word in code for word in ("NotFound", "NoSuch", "NonExistent", "Invalid", "ValidationError")):
            raise


def destroy(resources, forget):
    """Deletes `resources` from AWS in a dependency-safe order, leaving the first resource of
    each type in `forget` where it is."""
    REGION["name"] = next((r["region"] for r in resources if r.get("region")), REGION["name"])
    ec2, elb, asg, iam = _client("ec2"), _client("elbv2"), _client("autoscaling"), _client("iam")
    sqs, events = _client("sqs"), _client("events")
    forgotten = set()
    rank = lambda r: _ORDER.index(r["type"]) if r["type"] in _ORDER else len(_ORDER)
    for r in sorted(resources, key=rank):
        t, rid = r["type"], r["id"]
        if t in forget and t not in forgotten:
            forgotten.add(t)
            continue
        if t == "autoscaling-group":
            _ignore_missing(lambda: asg.delete_auto_scaling_group(AutoScalingGroupName=rid, ForceDelete=True))
            if r.get("launchTemplate"):
                _ignore_missing(lambda: ec2.delete_launch_template(LaunchTemplateId=r["launchTemplate"]))
        elif t == "instance":
            _ignore_missing(lambda: ec2.terminate_instances(InstanceIds=[rid]))
        elif t == "load-balancer":
            _ignore_missing(lambda: elb.delete_load_balancer(LoadBalancerArn=rid))
        elif t == "target-group":
            _ignore_missing(lambda: elb.delete_target_group(TargetGroupArn=rid))
        elif t == "nat-gateway":
            _ignore_missing(lambda: ec2.delete_nat_gateway(NatGatewayId=rid))
        elif t == "elastic-ip":
            _ignore_missing(lambda: ec2.release_address(AllocationId=rid))
        elif t == "volume":
            _ignore_missing(lambda: ec2.delete_volume(VolumeId=rid))
        elif t == "internet-gateway":
            vpcs = [x["id"] for x in resources if x["type"] == "vpc"]
            for vpc in vpcs:
                _ignore_missing(lambda: ec2.detach_internet_gateway(InternetGatewayId=rid, VpcId=vpc))
            _ignore_missing(lambda: ec2.delete_internet_gateway(InternetGatewayId=rid))
        elif t == "subnet":
            _ignore_missing(lambda: ec2.delete_subnet(SubnetId=rid))
        elif t == "route-table":
            _ignore_missing(lambda: ec2.delete_route_table(RouteTableId=rid))
        elif t == "security-group":
            _ignore_missing(lambda: ec2.delete_security_group(GroupId=rid))
        elif t == "vpc":
            _ignore_missing(lambda: ec2.delete_vpc(VpcId=rid))
        elif t == "keypair":
            _ignore_missing(lambda: ec2.delete_key_pair(KeyName=rid))
        elif t == "dhcp-options":
            _ignore_missing(lambda: ec2.delete_dhcp_options(DhcpOptionsId=rid))
        elif t == "iam-instance-profile":
            _ignore_missing(lambda: iam.delete_instance_profile(InstanceProfileName=rid))
        elif t == "iam-role":
            _ignore_missing(lambda: iam.delete_role(RoleName=rid))
        elif t == "sqs":
            _ignore_missing(lambda: sqs.delete_queue(QueueUrl=rid))
        elif t == "eventbridge-rule":
            _ignore_missing(lambda: events.delete_rule(Name=rid))
