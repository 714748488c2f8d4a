//! The cluster's cloud resources as AWS itself knows them: everything carrying the ownership
//! tags kops and the Kubernetes cloud controller put on what they make
//! (`kubernetes.io/cluster/<name>`, `KubernetesCluster=<name>`), plus what kops names after
//! the cluster (IAM roles, instance profiles, the spot-termination queue and rules, Route53
//! records). Teardown's last word is this module's answer, not the wizard's own records:
//! whatever kops's delete missed (a volume a PersistentVolume made, a load balancer caught in
//! a dependency loop) is found here and named.
//!
//! Every question is read-only, and the kinds are asked concurrently.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::join_all;

use super::clients::Clients;
use super::error::AwsError;
use super::http::{Api, AwsHttp, parse, xml};

pub use crate::marks::{LEGACY_TAG, SERVICE_TAG, owned_tag};

/// The tag the EBS CSI driver and the in-tree provisioner put on a PersistentVolume's disk.
pub const PV_TAGS: [&str; 2] = ["kubernetes.io/created-for/pv/name", "CSIVolumeName"];

/// The kinds of cloud resource a cluster can leave behind. Every match over them is
/// exhaustive: a new kind does not compile until it is found, named and counted everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CloudKind {
    Instance,
    AutoScalingGroup,
    LaunchTemplate,
    Volume,
    NetworkInterface,
    ElasticIp,
    NatGateway,
    InternetGateway,
    Subnet,
    RouteTable,
    Vpc,
    DhcpOptions,
    SecurityGroup,
    KeyPair,
    LoadBalancer,
    ClassicLoadBalancer,
    TargetGroup,
    DnsRecord,
    IamRole,
    InstanceProfile,
    Queue,
    EventRule,
}

impl CloudKind {
    pub const ALL: [CloudKind; 22] = [
        CloudKind::Instance,
        CloudKind::AutoScalingGroup,
        CloudKind::LaunchTemplate,
        CloudKind::Volume,
        CloudKind::NetworkInterface,
        CloudKind::ElasticIp,
        CloudKind::NatGateway,
        CloudKind::InternetGateway,
        CloudKind::Subnet,
        CloudKind::RouteTable,
        CloudKind::Vpc,
        CloudKind::DhcpOptions,
        CloudKind::SecurityGroup,
        CloudKind::KeyPair,
        CloudKind::LoadBalancer,
        CloudKind::ClassicLoadBalancer,
        CloudKind::TargetGroup,
        CloudKind::DnsRecord,
        CloudKind::IamRole,
        CloudKind::InstanceProfile,
        CloudKind::Queue,
        CloudKind::EventRule,
    ];

    /// The error codes with which AWS says that a resource of this kind is not there: gone is
    /// what teardown wants, so wherever the wizard describes or deletes one, such an answer
    /// means gone, never a failure. (A controller deleting its own resources while teardown
    /// looks is normal.)
    pub fn gone_codes(self) -> &'static [&'static str] {
        match self {
            CloudKind::Instance => &["InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"],
            // Auto Scaling says so in a ValidationError, too broad to read as gone; the wizard
            // never deletes a group (kops does).
            CloudKind::AutoScalingGroup => &[],
            CloudKind::LaunchTemplate => {
                &["InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException"]
            }
            CloudKind::Volume => &["InvalidVolume.NotFound"],
            CloudKind::NetworkInterface => &["InvalidNetworkInterfaceID.NotFound"],
            CloudKind::ElasticIp => &["InvalidAllocationID.NotFound", "InvalidAddress.NotFound"],
            CloudKind::NatGateway => &["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"],
            CloudKind::InternetGateway => &["InvalidInternetGatewayID.NotFound"],
            CloudKind::Subnet => &["InvalidSubnetID.NotFound"],
            CloudKind::RouteTable => &["InvalidRouteTableID.NotFound"],
            CloudKind::Vpc => &["InvalidVpcID.NotFound"],
            CloudKind::DhcpOptions => &["InvalidDhcpOptionID.NotFound"],
            CloudKind::SecurityGroup => &["InvalidGroup.NotFound"],
            CloudKind::KeyPair => &["InvalidKeyPair.NotFound"],
            CloudKind::LoadBalancer => &["LoadBalancerNotFound", "ListenerNotFound"],
            CloudKind::ClassicLoadBalancer => &["LoadBalancerNotFound", "AccessPointNotFound"],
            CloudKind::TargetGroup => &["TargetGroupNotFound"],
            CloudKind::DnsRecord => &["NoSuchHostedZone"],
            CloudKind::IamRole | CloudKind::InstanceProfile => &["NoSuchEntity"],
            CloudKind::Queue => &["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"],
            CloudKind::EventRule => &["ResourceNotFoundException"],
        }
    }

    /// Whether `e` says a resource of this kind is not there.
    pub fn is_gone(self, e: &AwsError) -> bool {
        e.code.as_deref().is_some_and(|c| self.gone_codes().contains(&c))
    }

    /// The kind in words, as a leftover line names it.
    pub fn noun(self) -> &'static str {
        match self {
            CloudKind::Instance => "EC2 instance",
            CloudKind::AutoScalingGroup => "Auto Scaling group",
            CloudKind::LaunchTemplate => "launch template",
            CloudKind::Volume => "EBS volume",
            CloudKind::NetworkInterface => "network interface",
            CloudKind::ElasticIp => "Elastic IP",
            CloudKind::NatGateway => "NAT gateway",
            CloudKind::InternetGateway => "internet gateway",
            CloudKind::Subnet => "subnet",
            CloudKind::RouteTable => "route table",
            CloudKind::Vpc => "VPC",
            CloudKind::DhcpOptions => "DHCP options set",
            CloudKind::SecurityGroup => "security group",
            CloudKind::KeyPair => "EC2 key pair",
            CloudKind::LoadBalancer => "load balancer",
            CloudKind::ClassicLoadBalancer => "classic load balancer",
            CloudKind::TargetGroup => "target group",
            CloudKind::DnsRecord => "Route53 record",
            CloudKind::IamRole => "IAM role",
            CloudKind::InstanceProfile => "IAM instance profile",
            CloudKind::Queue => "SQS queue",
            CloudKind::EventRule => "EventBridge rule",
        }
    }
}

/// One resource AWS still has for the cluster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Found {
    pub kind: CloudKind,
    pub id: String,
    /// What made it, when the tags say (the PersistentVolume or Service behind it).
    pub made_for: Option<String>,
}

impl Found {
    /// A disk a PersistentVolume made: kept by teardown unless `--delete-volumes`.
    pub fn is_volume_of_pv(&self) -> bool {
        self.kind == CloudKind::Volume && self.made_for.is_some()
    }

    pub fn describe(&self) -> String {
        match &self.made_for {
            Some(by) => format!("{} {} ({by})", self.kind.noun(), self.id),
            None => format!("{} {}", self.kind.noun(), self.id),
        }
    }
}

/// What the cluster's cloud says of whose it is (see [`Cloud::cluster_mark`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudMark {
    /// An Auto Scaling group of the cluster carries the wizard's mark naming it.
    Marked,
    /// The cluster has cloud resources, and none of its Auto Scaling groups the mark: these.
    Unmarked(Vec<String>),
    /// AWS has nothing tagged for the cluster.
    Nothing,
}

/// The services a cluster's resources live in, asked with the admin's configuration: IAM
/// through its SDK client, the others through signed requests (`super::http`).
#[derive(Debug, Clone)]
pub struct Cloud {
    http: AwsHttp,
    iam: aws_sdk_iam::Client,
    endpoint: Option<String>,
}

/// Sends a paginated SDK request and collects its pages, naming the operation on failure.
macro_rules! pages {
    ($cloud:ident, $op:literal, $req:expr) => {
        $req.into_paginator().send().try_collect().await.map_err(|e| {
            $crate::engine::aws::error::AwsError::from_sdk($op, &e, $cloud.endpoint.as_deref())
        })
    };
}

/// A tag list's value for `key`.
fn tag<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)>, key: &str) -> Option<&'t str> {
    tags.into_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
}

/// Whether a resource's tags say it is the cluster's: the owned tag (any value: `owned` or
/// `shared` are both the cluster's word) or `KubernetesCluster=<name>`.
fn belongs<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)> + Clone, cluster: &str) -> bool {
    tag(tags.clone(), &owned_tag(cluster)).is_some() || tag(tags, LEGACY_TAG) == Some(cluster)
}

/// What made a resource, from its tags: the Service of a load balancer, the PV of a disk.
fn made_for<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)> + Clone) -> Option<String> {
    if let Some(service) = tag(tags.clone(), SERVICE_TAG) {
        return Some(format!("made for Service {service}"));
    }
    PV_TAGS
        .iter()
        .find_map(|k| tag(tags.clone(), k))
        .map(|pv| format!("made for PersistentVolume {pv}"))
}

/// The EC2 filters that each find resources carrying one of the ownership tags: the owned key,
/// and `KubernetesCluster=<name>`, as Query-protocol fields. Asked one at a time: AWS ORs a
/// filter's values, but moto (the test bed) does not, and one query per tag reads the same on
/// both.
fn tag_filters(cluster: &str) -> [Vec<(String, String)>; 2] {
    let filter = |name: String, value: String| {
        vec![("Filter.1.Name".to_string(), name), ("Filter.1.Value.1".to_string(), value)]
    };
    [
        filter("tag-key".into(), owned_tag(cluster)),
        filter(format!("tag:{LEGACY_TAG}"), cluster.into()),
    ]
}

/// How one EC2 kind is listed: the action, where its items are in the answer, the element
/// with its id, and whether an item in some state is already gone.
struct Ec2Listing {
    operation: &'static str,
    items: [&'static str; 2],
    id: &'static str,
    gone: fn(xml::Node) -> bool,
}

impl Ec2Listing {
    const fn of(operation: &'static str, set: &'static str, id: &'static str) -> Self {
        Ec2Listing { operation, items: [set, "item"], id, gone: |_| false }
    }
}

/// The tags of an item of the Query APIs other than EC2 (`Tags`/`member`/`Key`, `Value`).
fn member_tags<'a>(node: xml::Node<'a, '_>) -> Vec<(&'a str, &'a str)> {
    xml::tags(node, ["Tags", "member"], ["Key", "Value"])
}

/// A load balancer a Service made, as the smoke test and teardown follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBalancer {
    pub arn: String,
    pub name: String,
    pub dns: String,
    /// `active`, `provisioning`, `failed`...
    pub state: String,
    /// `<namespace>/<name>` of the Service.
    pub service: Option<String>,
}

impl ServiceBalancer {
    /// The one reading of ELBv2's answer (a `LoadBalancers` member), for the smoke test's
    /// look-up by DNS name and teardown's look-up by tags alike.
    fn of(lb: xml::Node, service: Option<&str>) -> Self {
        let text = |path: &[&str]| xml::text(lb, path).unwrap_or_default().to_string();
        ServiceBalancer {
            arn: text(&["LoadBalancerArn"]),
            name: text(&["LoadBalancerName"]),
            dns: text(&["DNSName"]),
            state: text(&["State", "Code"]),
            service: service.map(str::to_string),
        }
    }
}

/// The ARN fields of an ELBv2 request: `<name>.member.1`, `.member.2`...
fn members(name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{name}.member.{}", i + 1), v.clone()))
        .collect()
}

fn field(name: &str, value: &str) -> Vec<(String, String)> {
    vec![(name.to_string(), value.to_string())]
}

/// ELBv2 and the classic ELB page with `Marker`; EC2 and Auto Scaling with `NextToken`.
const MARKER: (&str, &str) = ("NextMarker", "Marker");
const EC2_TOKEN: (&str, &str) = ("nextToken", "NextToken");
const TOKEN: (&str, &str) = ("NextToken", "NextToken");

impl Cloud {
    pub fn new(clients: &Clients) -> Cloud {
        Cloud {
            http: clients.http.clone(),
            iam: clients.iam.clone(),
            endpoint: clients.endpoint.clone(),
        }
    }

    /// Everything AWS still has for the cluster, every kind asked at once, sorted by kind; and
    /// the kinds AWS would not answer for (then nothing is proved about them). Route53 is
    /// asked only when the cluster has a DNS zone: without one kops makes no records.
    pub async fn left(
        &self,
        cluster: &str,
        dns_zone: Option<&str>,
    ) -> (Vec<Found>, Vec<(CloudKind, AwsError)>) {
        let asked = CloudKind::ALL.iter().map(|k| async move {
            let answer = match k {
                CloudKind::DnsRecord => self.dns_records(cluster, dns_zone).await,
                other => self.of_kind(*other, cluster).await,
            };
            (*k, answer)
        });
        let mut found = Vec::new();
        let mut unasked = Vec::new();
        for (kind, answer) in join_all(asked).await {
            match answer {
                Ok(f) => found.extend(f),
                Err(e) => unasked.push((kind, e)),
            }
        }
        // A resource with both tags was found by both of its kind's queries.
        found.sort();
        found.dedup();
        (found, unasked)
    }

    /// Whether the cluster's cloud proves it the wizard's: kops puts its cloud labels (setup
    /// passes `--cloud-labels kops-wizard:cluster=<name>`) on every Auto Scaling group it makes,
    /// and only someone with EC2 rights can tag one. A cluster with no cloud at all has only its
    /// state to lose, which whoever wrote the bucket controls already.
    pub async fn cluster_mark(
        &self,
        cluster: &str,
        dns_zone: Option<&str>,
    ) -> Result<CloudMark, AwsError> {
        let op = "autoscaling:DescribeAutoScalingGroups";
        let mut unmarked = Vec::new();
        for page in self.http.query_pages(Api::AutoScaling, op, &[], TOKEN).await? {
            let doc = parse(op, &page)?;
            for g in xml::all(&doc, &["AutoScalingGroups", "member"]) {
                let tags = member_tags(g);
                if !belongs(tags.clone(), cluster) {
                    continue;
                }
                if tag(tags, crate::marks::MARK_TAG) == Some(cluster) {
                    return Ok(CloudMark::Marked);
                }
                unmarked.push(xml::text(g, &["AutoScalingGroupName"]).unwrap_or_default().into());
            }
        }
        if !unmarked.is_empty() {
            return Ok(CloudMark::Unmarked(unmarked));
        }
        let (found, unasked) = self.left(cluster, dns_zone).await;
        if let Some((_, e)) = unasked.into_iter().next() {
            return Err(e);
        }
        Ok(match found.is_empty() {
            true => CloudMark::Nothing,
            false => CloudMark::Unmarked(found.iter().map(Found::describe).collect()),
        })
    }

    /// The resources of one kind that AWS has for the cluster.
    pub async fn of_kind(&self, kind: CloudKind, cluster: &str) -> Result<Vec<Found>, AwsError> {
        let found = |id: &str, made: Option<String>| Found { kind, id: id.into(), made_for: made };
        let listing = match kind {
            CloudKind::Instance => Ec2Listing {
                operation: "ec2:DescribeInstances",
                items: ["instancesSet", "item"],
                id: "instanceId",
                gone: |i| xml::text(i, &["instanceState", "name"]) == Some("terminated"),
            },
            CloudKind::LaunchTemplate => {
                Ec2Listing::of("ec2:DescribeLaunchTemplates", "launchTemplates", "launchTemplateId")
            }
            CloudKind::Volume => Ec2Listing::of("ec2:DescribeVolumes", "volumeSet", "volumeId"),
            CloudKind::NetworkInterface => Ec2Listing::of(
                "ec2:DescribeNetworkInterfaces",
                "networkInterfaceSet",
                "networkInterfaceId",
            ),
            CloudKind::ElasticIp => {
                Ec2Listing::of("ec2:DescribeAddresses", "addressesSet", "allocationId")
            }
            CloudKind::NatGateway => Ec2Listing {
                operation: "ec2:DescribeNatGateways",
                items: ["natGatewaySet", "item"],
                id: "natGatewayId",
                gone: |n| matches!(xml::text(n, &["state"]), Some("deleted" | "deleting")),
            },
            CloudKind::InternetGateway => Ec2Listing::of(
                "ec2:DescribeInternetGateways",
                "internetGatewaySet",
                "internetGatewayId",
            ),
            CloudKind::Subnet => Ec2Listing::of("ec2:DescribeSubnets", "subnetSet", "subnetId"),
            CloudKind::RouteTable => {
                Ec2Listing::of("ec2:DescribeRouteTables", "routeTableSet", "routeTableId")
            }
            CloudKind::Vpc => Ec2Listing::of("ec2:DescribeVpcs", "vpcSet", "vpcId"),
            CloudKind::DhcpOptions => {
                Ec2Listing::of("ec2:DescribeDhcpOptions", "dhcpOptionsSet", "dhcpOptionsId")
            }
            // kops imports the cluster's SSH key as `kubernetes.<cluster>-<fingerprint>`,
            // tagged for the cluster.
            CloudKind::KeyPair => Ec2Listing::of("ec2:DescribeKeyPairs", "keySet", "keyName"),
            CloudKind::SecurityGroup => {
                Ec2Listing::of("ec2:DescribeSecurityGroups", "securityGroupInfo", "groupId")
            }
            CloudKind::AutoScalingGroup => {
                let op = "autoscaling:DescribeAutoScalingGroups";
                let mut out = Vec::new();
                for page in self.http.query_pages(Api::AutoScaling, op, &[], TOKEN).await? {
                    let doc = parse(op, &page)?;
                    for g in xml::all(&doc, &["AutoScalingGroups", "member"]) {
                        if belongs(member_tags(g), cluster) {
                            let name = xml::text(g, &["AutoScalingGroupName"]);
                            out.push(found(name.unwrap_or_default(), None));
                        }
                    }
                }
                return Ok(out);
            }
            CloudKind::LoadBalancer => {
                let lbs = self.balancers_v2(cluster).await?;
                return Ok(lbs
                    .into_iter()
                    .map(|lb| found(&lb.name, lb.service.map(|s| format!("made for Service {s}"))))
                    .collect());
            }
            CloudKind::ClassicLoadBalancer => {
                let op = "elasticloadbalancing:DescribeLoadBalancers";
                let mut names = Vec::new();
                for page in self.http.query_pages(Api::Elb, op, &[], MARKER).await? {
                    let doc = parse(op, &page)?;
                    let all = xml::all(&doc, &["LoadBalancerDescriptions", "member"]);
                    names.extend(
                        all.into_iter().filter_map(|d| {
                            xml::text(d, &["LoadBalancerName"]).map(str::to_string)
                        }),
                    );
                }
                let mut out = Vec::new();
                let op = "elasticloadbalancing:DescribeTags";
                for chunk in names.chunks(20) {
                    let fields = members("LoadBalancerNames", chunk);
                    let answer = self.http.query(Api::Elb, op, &fields).await?;
                    let doc = parse(op, &answer)?;
                    for d in xml::all(&doc, &["TagDescriptions", "member"]) {
                        let tags = member_tags(d);
                        if belongs(tags.clone(), cluster) {
                            let name = xml::text(d, &["LoadBalancerName"]).unwrap_or_default();
                            out.push(found(name, made_for(tags)));
                        }
                    }
                }
                return Ok(out);
            }
            CloudKind::TargetGroup => {
                let groups = self.target_groups(&[]).await?;
                let mut out = Vec::new();
                for (arn, tags) in self.v2_tags(groups.keys().cloned().collect()).await? {
                    let pairs: Vec<_> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    if belongs(pairs.clone(), cluster) {
                        out.push(found(&groups[&arn], made_for(pairs)));
                    }
                }
                return Ok(out);
            }
            // Asked with the cluster's DNS zone, which only `left` knows.
            CloudKind::DnsRecord => return Ok(Vec::new()),
            CloudKind::IamRole => {
                let pages: Vec<_> = pages!(self, "iam:ListRoles", self.iam.list_roles())?;
                let named = pages.iter().flat_map(|p| p.roles()).map(|r| r.role_name());
                return Ok(named
                    .filter(|n| named_after(n, cluster))
                    .map(|n| found(n, None))
                    .collect());
            }
            CloudKind::InstanceProfile => {
                let pages: Vec<_> =
                    pages!(self, "iam:ListInstanceProfiles", self.iam.list_instance_profiles())?;
                let named = pages
                    .iter()
                    .flat_map(|p| p.instance_profiles())
                    .map(|p| p.instance_profile_name());
                return Ok(named
                    .filter(|n| named_after(n, cluster))
                    .map(|n| found(n, None))
                    .collect());
            }
            CloudKind::Queue => {
                let op = "sqs:ListQueues";
                let request = serde_json::json!({ "QueueNamePrefix": queue_name(cluster) });
                let answer = self.http.json(Api::Sqs, op, request).await?;
                let urls = answer["QueueUrls"].as_array().cloned().unwrap_or_default();
                return Ok(urls
                    .iter()
                    .filter_map(|u| u.as_str())
                    .filter(|u| u.rsplit('/').next() == Some(queue_name(cluster).as_str()))
                    .map(|u| found(u, None))
                    .collect());
            }
            CloudKind::EventRule => {
                let op = "events:ListRules";
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let mut request = serde_json::json!({ "NamePrefix": rule_prefix(cluster) });
                    if let Some(t) = token.take() {
                        request["NextToken"] = t.into();
                    }
                    let answer = self.http.json(Api::EventBridge, op, request).await?;
                    let rules = answer["Rules"].as_array().cloned().unwrap_or_default();
                    out.extend(
                        rules.iter().filter_map(|r| r["Name"].as_str()).map(|n| found(n, None)),
                    );
                    token = answer["NextToken"].as_str().map(str::to_string);
                    if token.is_none() {
                        return Ok(out);
                    }
                }
            }
        };
        self.ec2_tagged(&listing, cluster, found).await
    }

    /// The items of one EC2 kind carrying the cluster's tags, and not already gone.
    async fn ec2_tagged(
        &self,
        listing: &Ec2Listing,
        cluster: &str,
        found: impl Fn(&str, Option<String>) -> Found,
    ) -> Result<Vec<Found>, AwsError> {
        let mut out = Vec::new();
        for filter in tag_filters(cluster) {
            let op = listing.operation;
            for page in self.http.query_pages(Api::Ec2, op, &filter, EC2_TOKEN).await? {
                let doc = parse(op, &page)?;
                for item in xml::all(&doc, &listing.items) {
                    let tags = xml::tags(item, ["tagSet", "item"], ["key", "value"]);
                    if (listing.gone)(item) || !belongs(tags.clone(), cluster) {
                        continue;
                    }
                    // An address outside a VPC has no allocation id, only its IP.
                    let id = xml::text(item, &[listing.id]).or(xml::text(item, &["publicIp"]));
                    out.push(found(id.unwrap_or_default(), made_for(tags)));
                }
            }
        }
        Ok(out)
    }

    /// The cluster's ELBv2 load balancers (kops's API balancer and those Services made).
    pub async fn balancers_v2(&self, cluster: &str) -> Result<Vec<ServiceBalancer>, AwsError> {
        let op = "elasticloadbalancing:DescribeLoadBalancers";
        let pages = self.http.query_pages(Api::Elbv2, op, &[], MARKER).await?;
        let docs = pages.iter().map(|p| parse(op, p)).collect::<Result<Vec<_>, _>>()?;
        let all: Vec<_> =
            docs.iter().flat_map(|d| xml::all(d, &["LoadBalancers", "member"])).collect();
        let arns = all.iter().filter_map(|l| xml::text(*l, &["LoadBalancerArn"]));
        let tags = self.v2_tags(arns.map(str::to_string).collect()).await?;
        let mut out = Vec::new();
        for lb in all {
            let arn = xml::text(lb, &["LoadBalancerArn"]).unwrap_or_default();
            let Some(tags) = tags.get(arn) else { continue };
            let pairs: Vec<_> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if !belongs(pairs.clone(), cluster) {
                continue;
            }
            out.push(ServiceBalancer::of(lb, tag(pairs, SERVICE_TAG)));
        }
        Ok(out)
    }

    /// The load balancers the cluster's Services made (kops's own are kops's to delete).
    pub async fn service_balancers(&self, cluster: &str) -> Result<Vec<ServiceBalancer>, AwsError> {
        let mut all = self.balancers_v2(cluster).await?;
        all.retain(|lb| lb.service.is_some());
        Ok(all)
    }

    /// Target groups (ARN to name), all of them or those of one load balancer (none when the
    /// load balancer, or a group, is gone meanwhile).
    async fn target_groups(
        &self,
        filter: &[(String, String)],
    ) -> Result<BTreeMap<String, String>, AwsError> {
        let op = "elasticloadbalancing:DescribeTargetGroups";
        let mut out = BTreeMap::new();
        let gone =
            |e: &AwsError| CloudKind::LoadBalancer.is_gone(e) || CloudKind::TargetGroup.is_gone(e);
        // A group deleted while it was listed makes the listing say so: asked again (what is
        // still there is listed then), and a load balancer gone has none.
        let mut tries = 0;
        let pages = loop {
            match self.http.query_pages(Api::Elbv2, op, filter, MARKER).await {
                Ok(pages) => break pages,
                Err(e) if CloudKind::LoadBalancer.is_gone(&e) => return Ok(out),
                Err(e) if gone(&e) && tries < 3 => tries += 1,
                Err(e) if gone(&e) => return Ok(out),
                Err(e) => return Err(e),
            }
        };
        for page in pages {
            let doc = parse(op, &page)?;
            for g in xml::all(&doc, &["TargetGroups", "member"]) {
                let (Some(arn), Some(name)) =
                    (xml::text(g, &["TargetGroupArn"]), xml::text(g, &["TargetGroupName"]))
                else {
                    continue;
                };
                out.insert(arn.to_string(), name.to_string());
            }
        }
        Ok(out)
    }

    /// Tags of ELBv2 resources by ARN, asked 20 at a time (the API's limit). A resource gone
    /// since it was listed (a controller deleting its own) fails its whole batch: the batch is
    /// then asked one by one, and what is gone is left out.
    async fn v2_tags(
        &self,
        arns: Vec<String>,
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, AwsError> {
        let op = "elasticloadbalancing:DescribeTags";
        let gone =
            |e: &AwsError| CloudKind::LoadBalancer.is_gone(e) || CloudKind::TargetGroup.is_gone(e);
        let mut out = BTreeMap::new();
        let mut read = |answer: String| -> Result<(), AwsError> {
            let doc = parse(op, &answer)?;
            for d in xml::all(&doc, &["TagDescriptions", "member"]) {
                let tags = member_tags(d);
                let owned = tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
                out.insert(xml::text(d, &["ResourceArn"]).unwrap_or_default().to_string(), owned);
            }
            Ok(())
        };
        for chunk in arns.chunks(20) {
            match self.http.query(Api::Elbv2, op, &members("ResourceArns", chunk)).await {
                Ok(answer) => read(answer)?,
                Err(e) if gone(&e) => {
                    for arn in chunk {
                        match self
                            .http
                            .query(
                                Api::Elbv2,
                                op,
                                &members("ResourceArns", std::slice::from_ref(arn)),
                            )
                            .await
                        {
                            Ok(answer) => read(answer)?,
                            Err(e) if gone(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The records under the cluster's name in its DNS zone's hosted zone.
    async fn dns_records(&self, cluster: &str, zone: Option<&str>) -> Result<Vec<Found>, AwsError> {
        let Some(zone) = zone else { return Ok(Vec::new()) };
        let suffix = format!(".{cluster}.");
        let wanted = format!("{}.", zone.trim_end_matches('.'));
        let mut hosted = Vec::new();
        let op = "route53:ListHostedZones";
        let mut marker: Option<String> = None;
        loop {
            let path = match marker.take() {
                Some(m) => format!("/2013-04-01/hostedzone?marker={}", encode(&m)),
                None => "/2013-04-01/hostedzone".to_string(),
            };
            let answer = self.http.get(Api::Route53, op, &path).await?;
            let doc = parse(op, &answer)?;
            for z in xml::all(&doc, &["HostedZones", "HostedZone"]) {
                if xml::text(z, &["Name"]) == Some(wanted.as_str()) {
                    hosted.extend(xml::text(z, &["Id"]).map(str::to_string));
                }
            }
            marker = truncated(&doc, "NextMarker");
            if marker.is_none() {
                break;
            }
        }
        let op = "route53:ListResourceRecordSets";
        let mut out = Vec::new();
        for id in hosted {
            let id = id.trim_start_matches("/hostedzone/");
            let mut next: Option<(String, String)> = None;
            loop {
                let mut path = format!("/2013-04-01/hostedzone/{}/rrset", encode(id));
                if let Some((name, kind)) = next.take() {
                    path += &format!("?name={}&type={}", encode(&name), encode(&kind));
                }
                let answer = self.http.get(Api::Route53, op, &path).await?;
                let doc = parse(op, &answer)?;
                for r in xml::all(&doc, &["ResourceRecordSets", "ResourceRecordSet"]) {
                    let (name, kind) = (
                        xml::text(r, &["Name"]).unwrap_or_default(),
                        xml::text(r, &["Type"]).unwrap_or_default(),
                    );
                    if matches!(kind, "A" | "AAAA" | "CNAME") && name.ends_with(&suffix) {
                        out.push(Found {
                            kind: CloudKind::DnsRecord,
                            id: format!("{} {kind}", name.trim_end_matches('.')),
                            made_for: None,
                        });
                    }
                }
                next = truncated(&doc, "NextRecordName").map(|n| {
                    (
                        n,
                        xml::text(doc.root_element(), &["NextRecordType"])
                            .unwrap_or_default()
                            .to_string(),
                    )
                });
                if next.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The NLB behind a Service's DNS name, if ELBv2 knows it.
    pub async fn balancer_by_dns(&self, dns: &str) -> Result<Option<ServiceBalancer>, AwsError> {
        let op = "elasticloadbalancing:DescribeLoadBalancers";
        for page in self.http.query_pages(Api::Elbv2, op, &[], MARKER).await? {
            let doc = parse(op, &page)?;
            let all = xml::all(&doc, &["LoadBalancers", "member"]);
            if let Some(lb) = all.into_iter().find(|l| xml::text(*l, &["DNSName"]) == Some(dns)) {
                return Ok(Some(ServiceBalancer::of(lb, None)));
            }
        }
        Ok(None)
    }

    /// The load balancer's targets: (healthy, total, the reasons of the unhealthy ones).
    pub async fn target_health(
        &self,
        lb_arn: &str,
    ) -> Result<(usize, usize, Vec<String>), AwsError> {
        let groups = self.target_groups(&field("LoadBalancerArn", lb_arn)).await?;
        let (mut healthy, mut total, mut reasons) = (0, 0, Vec::new());
        let op = "elasticloadbalancing:DescribeTargetHealth";
        for arn in groups.keys() {
            let answer = match self.http.query(Api::Elbv2, op, &field("TargetGroupArn", arn)).await
            {
                Ok(answer) => answer,
                Err(e) if CloudKind::TargetGroup.is_gone(&e) => continue,
                Err(e) => return Err(e),
            };
            let doc = parse(op, &answer)?;
            for t in xml::all(&doc, &["TargetHealthDescriptions", "member"]) {
                total += 1;
                match xml::text(t, &["TargetHealth", "State"]) {
                    Some("healthy") => healthy += 1,
                    state => {
                        let id = xml::text(t, &["Target", "Id"]).unwrap_or_default();
                        let why = xml::text(t, &["TargetHealth", "Description"])
                            .or(xml::text(t, &["TargetHealth", "Reason"]))
                            .unwrap_or("no reason given");
                        let state = state.unwrap_or("unknown");
                        reasons.push(format!("{id}: {state} ({why})"));
                    }
                }
            }
        }
        Ok((healthy, total, reasons))
    }

    /// Deletes a load balancer a Service made, its listeners, then its target groups (they
    /// cannot go while a listener uses them). What is gone already (the cloud controller
    /// racing) counts as deleted; a target group still in use for a moment after its balancer
    /// went is tried again, for up to half a minute.
    pub async fn delete_service_balancer(
        &self,
        cluster: &str,
        lb: &ServiceBalancer,
    ) -> Result<(), AwsError> {
        let mut groups = self.target_groups(&field("LoadBalancerArn", &lb.arn)).await?;
        // And the groups tagged for the same Service: a controller that stopped halfway left
        // them without their load balancer.
        if let Some(service) = &lb.service {
            let all = self.target_groups(&[]).await?;
            for (arn, tags) in self.v2_tags(all.keys().cloned().collect()).await? {
                let pairs: Vec<_> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                if belongs(pairs.clone(), cluster) && tag(pairs, SERVICE_TAG) == Some(service) {
                    groups.insert(arn.clone(), all.get(&arn).cloned().unwrap_or_default());
                }
            }
        }
        let lb_gone = |e: &AwsError| CloudKind::LoadBalancer.is_gone(e);
        let op = "elasticloadbalancing:DescribeListeners";
        match self
            .http
            .query_pages(Api::Elbv2, op, &field("LoadBalancerArn", &lb.arn), MARKER)
            .await
        {
            Ok(pages) => {
                for page in pages {
                    let doc = parse(op, &page)?;
                    for l in xml::all(&doc, &["Listeners", "member"]) {
                        let arn = xml::text(l, &["ListenerArn"]).unwrap_or_default();
                        let op = "elasticloadbalancing:DeleteListener";
                        match self.http.query(Api::Elbv2, op, &field("ListenerArn", arn)).await {
                            Ok(_) => {}
                            Err(e) if lb_gone(&e) => {}
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            Err(e) if lb_gone(&e) => {}
            Err(e) => return Err(e),
        }
        let op = "elasticloadbalancing:DeleteLoadBalancer";
        match self.http.query(Api::Elbv2, op, &field("LoadBalancerArn", &lb.arn)).await {
            Ok(_) => {}
            Err(e) if lb_gone(&e) => {}
            Err(e) => return Err(e),
        }
        for arn in groups.keys() {
            let op = "elasticloadbalancing:DeleteTargetGroup";
            let mut pause = Duration::from_millis(500);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            loop {
                match self.http.query(Api::Elbv2, op, &field("TargetGroupArn", arn)).await {
                    Ok(_) => break,
                    Err(e) if CloudKind::TargetGroup.is_gone(&e) => break,
                    Err(e)
                        if e.code.as_deref() == Some("ResourceInUse")
                            && tokio::time::Instant::now() < deadline =>
                    {
                        tokio::time::sleep(pause).await;
                        pause = (pause * 2).min(Duration::from_secs(5));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Deletes an EBS volume (`--delete-volumes`: a PersistentVolume's disk); gone is done.
    pub async fn delete_volume(&self, id: &str) -> Result<(), AwsError> {
        match self.http.query(Api::Ec2, "ec2:DeleteVolume", &field("VolumeId", id)).await {
            Ok(_) => Ok(()),
            Err(e) if CloudKind::Volume.is_gone(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Waits until none of `arns` is in ELBv2 any more, up to `limit`; returns those left.
    pub async fn wait_balancers_gone(
        &self,
        cluster: &str,
        arns: &[String],
        limit: Duration,
    ) -> Result<Vec<ServiceBalancer>, AwsError> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut pause = Duration::from_millis(250);
        loop {
            let left: Vec<_> = self
                .balancers_v2(cluster)
                .await?
                .into_iter()
                .filter(|lb| arns.contains(&lb.arn))
                .collect();
            if left.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(left);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}

/// A Route53 listing's next-page value, when the answer says it is truncated.
fn truncated(doc: &xml::Document, next: &str) -> Option<String> {
    let root = doc.root_element();
    (xml::text(root, &["IsTruncated"]) == Some("true"))
        .then(|| xml::text(root, &[next]).map(str::to_string))
        .flatten()
}

/// A path segment or query value, percent-encoded.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Whether an IAM name is one kops gives the cluster's roles and instance profiles
/// (`masters.<name>`, `nodes.<name>`, `bastions.<name>`, `control-plane.<name>`...).
fn named_after(name: &str, cluster: &str) -> bool {
    name.strip_suffix(cluster).is_some_and(|role| {
        role.strip_suffix('.').is_some_and(|r| !r.is_empty() && !r.contains('.'))
    })
}

/// kops's spot-termination queue: the cluster's name with dots as dashes, then `-nth`.
fn queue_name(cluster: &str) -> String {
    let base: String = cluster.replace('.', "-").chars().take(75).collect();
    format!("{base}-nth")
}

/// kops names its EventBridge rules `<cluster name, at most 40 characters>-<event>`.
fn rule_prefix(cluster: &str) -> String {
    let base: String = cluster.chars().take(40).collect();
    format!("{base}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ownership_is_the_owned_tag_or_the_legacy_tag_with_this_name() {
        let c = "a.k8s.local";
        assert!(belongs([("kubernetes.io/cluster/a.k8s.local", "owned")], c));
        assert!(belongs([("kubernetes.io/cluster/a.k8s.local", "shared")], c));
        assert!(belongs([("KubernetesCluster", "a.k8s.local")], c));
        assert!(!belongs([("KubernetesCluster", "b.k8s.local")], c));
        assert!(!belongs([("kubernetes.io/cluster/b.k8s.local", "owned")], c));
    }

    #[test]
    fn kops_iam_names_are_a_single_role_word_before_the_cluster() {
        let c = "a.example.com";
        assert!(named_after("masters.a.example.com", c));
        assert!(named_after("nodes.a.example.com", c));
        assert!(!named_after("a.example.com", c));
        assert!(!named_after("x.masters.a.example.com", c));
        assert!(!named_after("mastersa.example.com", c));
    }

    #[test]
    fn what_made_a_resource_comes_from_its_tags() {
        assert_eq!(
            made_for([(SERVICE_TAG, "kops-wizard-smoke/hello")]).as_deref(),
            Some("made for Service kops-wizard-smoke/hello")
        );
        assert_eq!(
            made_for([("kubernetes.io/created-for/pv/name", "pvc-1")]).as_deref(),
            Some("made for PersistentVolume pvc-1")
        );
        assert_eq!(made_for([("Name", "x")]), None);
    }

    #[test]
    fn kops_names_the_queue_and_rules_after_the_cluster() {
        assert_eq!(queue_name("a.k8s.local"), "a-k8s-local-nth");
        assert_eq!(rule_prefix("a.k8s.local"), "a.k8s.local-");
    }
}
