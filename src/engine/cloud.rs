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

use super::aws::{AwsError, Clients, call};

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
    SecurityGroup,
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
    pub const ALL: [CloudKind; 20] = [
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
        CloudKind::SecurityGroup,
        CloudKind::LoadBalancer,
        CloudKind::ClassicLoadBalancer,
        CloudKind::TargetGroup,
        CloudKind::DnsRecord,
        CloudKind::IamRole,
        CloudKind::InstanceProfile,
        CloudKind::Queue,
        CloudKind::EventRule,
    ];

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
            CloudKind::SecurityGroup => "security group",
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

/// The clients of every service a cluster's resources live in, from the admin's configuration.
#[derive(Debug, Clone)]
pub struct Cloud {
    ec2: aws_sdk_ec2::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    elb: aws_sdk_elasticloadbalancing::Client,
    autoscaling: aws_sdk_autoscaling::Client,
    route53: aws_sdk_route53::Client,
    sqs: aws_sdk_sqs::Client,
    events: aws_sdk_eventbridge::Client,
    iam: aws_sdk_iam::Client,
    endpoint: Option<String>,
}

/// Sends a paginated SDK request and collects its pages, naming the operation on failure.
macro_rules! pages {
    ($cloud:ident, $op:literal, $req:expr) => {
        $req.into_paginator().send().try_collect().await.map_err(|e| {
            $crate::engine::aws::AwsError::from_sdk($op, &e, $cloud.endpoint.as_deref())
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

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(&str, &str)> {
    tags.iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())).collect()
}

/// The EC2 filters that each find resources carrying one of the ownership tags: the owned key,
/// and `KubernetesCluster=<name>`. Asked one at a time: AWS ORs a filter's values, but moto
/// (the test bed) does not, and one query per tag reads the same on both.
fn tag_filters(cluster: &str) -> [aws_sdk_ec2::types::Filter; 2] {
    use aws_sdk_ec2::types::Filter;
    [
        Filter::builder().name("tag-key").values(owned_tag(cluster)).build(),
        Filter::builder().name(format!("tag:{LEGACY_TAG}")).values(cluster).build(),
    ]
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
    /// The one reading of ELBv2's answer, for the smoke test's look-up by DNS name and
    /// teardown's look-up by tags alike.
    fn of(lb: &aws_sdk_elasticloadbalancingv2::types::LoadBalancer, service: Option<&str>) -> Self {
        ServiceBalancer {
            arn: lb.load_balancer_arn().unwrap_or_default().to_string(),
            name: lb.load_balancer_name().unwrap_or_default().to_string(),
            dns: lb.dns_name().unwrap_or_default().to_string(),
            state: lb
                .state()
                .and_then(|s| s.code())
                .map(|c| c.as_str().to_string())
                .unwrap_or_default(),
            service: service.map(str::to_string),
        }
    }
}

impl Cloud {
    pub fn new(clients: &Clients) -> Cloud {
        let config = &clients.config;
        Cloud {
            ec2: aws_sdk_ec2::Client::new(config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(config),
            elb: aws_sdk_elasticloadbalancing::Client::new(config),
            autoscaling: aws_sdk_autoscaling::Client::new(config),
            route53: aws_sdk_route53::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            events: aws_sdk_eventbridge::Client::new(config),
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

    /// The resources of one kind that AWS has for the cluster.
    pub async fn of_kind(&self, kind: CloudKind, cluster: &str) -> Result<Vec<Found>, AwsError> {
        let found = |id: &str, made: Option<String>| Found { kind, id: id.into(), made_for: made };
        let mut out = Vec::new();
        match kind {
            CloudKind::Instance => {
                use aws_sdk_ec2::types::InstanceStateName as S;
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeInstances",
                        self.ec2.describe_instances().filters(filter.clone())
                    )?;
                    for i in pages.iter().flat_map(|p| p.reservations()).flat_map(|r| r.instances())
                    {
                        let gone = matches!(i.state().and_then(|s| s.name()), Some(S::Terminated));
                        if !gone && belongs(ec2_tags(i.tags()), cluster) {
                            out.push(found(i.instance_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::AutoScalingGroup => {
                let pages: Vec<_> = pages!(
                    self,
                    "autoscaling:DescribeAutoScalingGroups",
                    self.autoscaling.describe_auto_scaling_groups()
                )?;
                for g in pages.iter().flat_map(|p| p.auto_scaling_groups()) {
                    let tags: Vec<_> = g
                        .tags()
                        .iter()
                        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
                        .collect();
                    if belongs(tags, cluster) {
                        out.push(found(g.auto_scaling_group_name().unwrap_or_default(), None));
                    }
                }
            }
            CloudKind::LaunchTemplate => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeLaunchTemplates",
                        self.ec2.describe_launch_templates().filters(filter.clone())
                    )?;
                    for t in pages.iter().flat_map(|p| p.launch_templates()) {
                        if belongs(ec2_tags(t.tags()), cluster) {
                            out.push(found(t.launch_template_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::Volume => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeVolumes",
                        self.ec2.describe_volumes().filters(filter.clone())
                    )?;
                    for v in pages.iter().flat_map(|p| p.volumes()) {
                        let tags = ec2_tags(v.tags());
                        if belongs(tags.clone(), cluster) {
                            out.push(found(v.volume_id().unwrap_or_default(), made_for(tags)));
                        }
                    }
                }
            }
            CloudKind::NetworkInterface => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeNetworkInterfaces",
                        self.ec2.describe_network_interfaces().filters(filter.clone())
                    )?;
                    for n in pages.iter().flat_map(|p| p.network_interfaces()) {
                        if belongs(ec2_tags(n.tag_set()), cluster) {
                            out.push(found(n.network_interface_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::ElasticIp => {
                for filter in tag_filters(cluster) {
                    let answer = call!(
                        self,
                        "ec2:DescribeAddresses",
                        self.ec2.describe_addresses().filters(filter.clone())
                    )?;
                    for a in answer.addresses() {
                        if belongs(ec2_tags(a.tags()), cluster) {
                            let id = a.allocation_id().or(a.public_ip()).unwrap_or_default();
                            out.push(found(id, None));
                        }
                    }
                }
            }
            CloudKind::NatGateway => {
                use aws_sdk_ec2::types::NatGatewayState as S;
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeNatGateways",
                        self.ec2.describe_nat_gateways().filter(filter.clone())
                    )?;
                    for n in pages.iter().flat_map(|p| p.nat_gateways()) {
                        let gone = matches!(n.state(), Some(S::Deleted | S::Deleting));
                        if !gone && belongs(ec2_tags(n.tags()), cluster) {
                            out.push(found(n.nat_gateway_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::InternetGateway => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeInternetGateways",
                        self.ec2.describe_internet_gateways().filters(filter.clone())
                    )?;
                    for g in pages.iter().flat_map(|p| p.internet_gateways()) {
                        if belongs(ec2_tags(g.tags()), cluster) {
                            out.push(found(g.internet_gateway_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::Subnet => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeSubnets",
                        self.ec2.describe_subnets().filters(filter.clone())
                    )?;
                    for s in pages.iter().flat_map(|p| p.subnets()) {
                        if belongs(ec2_tags(s.tags()), cluster) {
                            out.push(found(s.subnet_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::RouteTable => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeRouteTables",
                        self.ec2.describe_route_tables().filters(filter.clone())
                    )?;
                    for r in pages.iter().flat_map(|p| p.route_tables()) {
                        if belongs(ec2_tags(r.tags()), cluster) {
                            out.push(found(r.route_table_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::Vpc => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeVpcs",
                        self.ec2.describe_vpcs().filters(filter.clone())
                    )?;
                    for v in pages.iter().flat_map(|p| p.vpcs()) {
                        if belongs(ec2_tags(v.tags()), cluster) {
                            out.push(found(v.vpc_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::SecurityGroup => {
                for filter in tag_filters(cluster) {
                    let pages: Vec<_> = pages!(
                        self,
                        "ec2:DescribeSecurityGroups",
                        self.ec2.describe_security_groups().filters(filter.clone())
                    )?;
                    for g in pages.iter().flat_map(|p| p.security_groups()) {
                        if belongs(ec2_tags(g.tags()), cluster) {
                            out.push(found(g.group_id().unwrap_or_default(), None));
                        }
                    }
                }
            }
            CloudKind::LoadBalancer => {
                for lb in self.balancers_v2(cluster).await? {
                    out.push(found(&lb.name, lb.service.map(|s| format!("made for Service {s}"))));
                }
            }
            CloudKind::ClassicLoadBalancer => {
                let pages: Vec<_> = pages!(
                    self,
                    "elasticloadbalancing:DescribeLoadBalancers",
                    self.elb.describe_load_balancers()
                )?;
                let names: Vec<String> = pages
                    .iter()
                    .flat_map(|p| p.load_balancer_descriptions())
                    .filter_map(|d| d.load_balancer_name().map(str::to_string))
                    .collect();
                for chunk in names.chunks(20) {
                    let answer = call!(
                        self,
                        "elasticloadbalancing:DescribeTags",
                        self.elb.describe_tags().set_load_balancer_names(Some(chunk.to_vec()))
                    )?;
                    for d in answer.tag_descriptions() {
                        let tags: Vec<_> = d
                            .tags()
                            .iter()
                            .map(|t| (t.key(), t.value().unwrap_or_default()))
                            .collect();
                        if belongs(tags.clone(), cluster) {
                            out.push(found(
                                d.load_balancer_name().unwrap_or_default(),
                                made_for(tags),
                            ));
                        }
                    }
                }
            }
            CloudKind::TargetGroup => {
                let pages: Vec<_> = pages!(
                    self,
                    "elasticloadbalancing:DescribeTargetGroups",
                    self.elbv2.describe_target_groups()
                )?;
                let groups: BTreeMap<String, String> = pages
                    .iter()
                    .flat_map(|p| p.target_groups())
                    .filter_map(|g| {
                        Some((
                            g.target_group_arn()?.to_string(),
                            g.target_group_name()?.to_string(),
                        ))
                    })
                    .collect();
                for (arn, tags) in self.v2_tags(groups.keys().cloned().collect()).await? {
                    let pairs: Vec<_> =
                        tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    if belongs(pairs.clone(), cluster) {
                        out.push(found(&groups[&arn], made_for(pairs)));
                    }
                }
            }
            // Asked with the cluster's DNS zone, which only `left` knows.
            CloudKind::DnsRecord => {}
            CloudKind::IamRole => {
                let pages: Vec<_> = pages!(self, "iam:ListRoles", self.iam.list_roles())?;
                for r in pages.iter().flat_map(|p| p.roles()) {
                    if named_after(r.role_name(), cluster) {
                        out.push(found(r.role_name(), None));
                    }
                }
            }
            CloudKind::InstanceProfile => {
                let pages: Vec<_> =
                    pages!(self, "iam:ListInstanceProfiles", self.iam.list_instance_profiles())?;
                for p in pages.iter().flat_map(|p| p.instance_profiles()) {
                    if named_after(p.instance_profile_name(), cluster) {
                        out.push(found(p.instance_profile_name(), None));
                    }
                }
            }
            CloudKind::Queue => {
                let answer = call!(
                    self,
                    "sqs:ListQueues",
                    self.sqs.list_queues().queue_name_prefix(queue_name(cluster))
                )?;
                for url in answer.queue_urls() {
                    if url.rsplit('/').next() == Some(queue_name(cluster).as_str()) {
                        out.push(found(url, None));
                    }
                }
            }
            CloudKind::EventRule => {
                let prefix = rule_prefix(cluster);
                let answer =
                    call!(self, "events:ListRules", self.events.list_rules().name_prefix(&prefix))?;
                for r in answer.rules() {
                    out.push(found(r.name().unwrap_or_default(), None));
                }
            }
        }
        Ok(out)
    }

    /// The cluster's ELBv2 load balancers (kops's API balancer and those Services made).
    pub async fn balancers_v2(&self, cluster: &str) -> Result<Vec<ServiceBalancer>, AwsError> {
        let pages: Vec<_> = pages!(
            self,
            "elasticloadbalancing:DescribeLoadBalancers",
            self.elbv2.describe_load_balancers()
        )?;
        let all: Vec<_> = pages.iter().flat_map(|p| p.load_balancers()).cloned().collect();
        let tags = self
            .v2_tags(all.iter().filter_map(|l| l.load_balancer_arn()).map(str::to_string).collect())
            .await?;
        let mut out = Vec::new();
        for lb in all {
            let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
            let Some(tags) = tags.get(&arn) else { continue };
            let pairs: Vec<_> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            if !belongs(pairs.clone(), cluster) {
                continue;
            }
            out.push(ServiceBalancer::of(&lb, tag(pairs, SERVICE_TAG)));
        }
        Ok(out)
    }

    /// The load balancers the cluster's Services made (kops's own are kops's to delete).
    pub async fn service_balancers(&self, cluster: &str) -> Result<Vec<ServiceBalancer>, AwsError> {
        let mut all = self.balancers_v2(cluster).await?;
        all.retain(|lb| lb.service.is_some());
        Ok(all)
    }

    /// Tags of ELBv2 resources by ARN, asked 20 at a time (the API's limit).
    async fn v2_tags(
        &self,
        arns: Vec<String>,
    ) -> Result<BTreeMap<String, Vec<(String, String)>>, AwsError> {
        let mut out = BTreeMap::new();
        for chunk in arns.chunks(20) {
            let answer = call!(
                self,
                "elasticloadbalancing:DescribeTags",
                self.elbv2.describe_tags().set_resource_arns(Some(chunk.to_vec()))
            )?;
            for d in answer.tag_descriptions() {
                let tags = d
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_string(),
                            t.value().unwrap_or_default().to_string(),
                        )
                    })
                    .collect();
                out.insert(d.resource_arn().unwrap_or_default().to_string(), tags);
            }
        }
        Ok(out)
    }

    /// The records under the cluster's name in its DNS zone's hosted zone.
    async fn dns_records(&self, cluster: &str, zone: Option<&str>) -> Result<Vec<Found>, AwsError> {
        let Some(zone) = zone else { return Ok(Vec::new()) };
        let pages: Vec<_> =
            pages!(self, "route53:ListHostedZones", self.route53.list_hosted_zones())?;
        let suffix = format!(".{cluster}.");
        let wanted = format!("{}.", zone.trim_end_matches('.'));
        let mut out = Vec::new();
        for hosted in pages.iter().flat_map(|p| p.hosted_zones()).filter(|z| z.name() == wanted) {
            let answer = call!(
                self,
                "route53:ListResourceRecordSets",
                self.route53.list_resource_record_sets().hosted_zone_id(hosted.id())
            )?;
            for r in answer.resource_record_sets() {
                use aws_sdk_route53::types::RrType;
                let kops_kind = matches!(r.r#type(), RrType::A | RrType::Aaaa | RrType::Cname);
                if kops_kind && r.name().ends_with(&suffix) {
                    out.push(Found {
                        kind: CloudKind::DnsRecord,
                        id: format!("{} {}", r.name().trim_end_matches('.'), r.r#type().as_str()),
                        made_for: None,
                    });
                }
            }
        }
        Ok(out)
    }

    /// The NLB behind a Service's DNS name, if ELBv2 knows it.
    pub async fn balancer_by_dns(&self, dns: &str) -> Result<Option<ServiceBalancer>, AwsError> {
        let pages: Vec<_> = pages!(
            self,
            "elasticloadbalancing:DescribeLoadBalancers",
            self.elbv2.describe_load_balancers()
        )?;
        Ok(pages
            .iter()
            .flat_map(|p| p.load_balancers())
            .find(|l| l.dns_name() == Some(dns))
            .map(|l| ServiceBalancer::of(l, None)))
    }

    /// The load balancer's targets: (healthy, total, the reasons of the unhealthy ones).
    pub async fn target_health(
        &self,
        lb_arn: &str,
    ) -> Result<(usize, usize, Vec<String>), AwsError> {
        let groups = call!(
            self,
            "elasticloadbalancing:DescribeTargetGroups",
            self.elbv2.describe_target_groups().load_balancer_arn(lb_arn)
        )?;
        let (mut healthy, mut total, mut reasons) = (0, 0, Vec::new());
        for g in groups.target_groups() {
            let answer = call!(
                self,
                "elasticloadbalancing:DescribeTargetHealth",
                self.elbv2
                    .describe_target_health()
                    .target_group_arn(g.target_group_arn().unwrap_or_default())
            )?;
            for t in answer.target_health_descriptions() {
                use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum as H;
                total += 1;
                let health = t.target_health();
                match health.and_then(|h| h.state()) {
                    Some(H::Healthy) => healthy += 1,
                    other => {
                        let id = t.target().and_then(|t| t.id()).unwrap_or_default();
                        let why = health
                            .and_then(|h| h.description().or(h.reason().map(|r| r.as_str())))
                            .unwrap_or("no reason given");
                        let state = other.map(|s| s.as_str()).unwrap_or("unknown");
                        reasons.push(format!("{id}: {state} ({why})"));
                    }
                }
            }
        }
        Ok((healthy, total, reasons))
    }

    /// Deletes a load balancer a Service made, then its target groups (they cannot go while
    /// a listener uses them, and the listeners go with the balancer).
    pub async fn delete_service_balancer(&self, lb: &ServiceBalancer) -> Result<(), AwsError> {
        let groups = call!(
            self,
            "elasticloadbalancing:DescribeTargetGroups",
            self.elbv2.describe_target_groups().load_balancer_arn(&lb.arn)
        )?;
        call!(
            self,
            "elasticloadbalancing:DeleteLoadBalancer",
            self.elbv2.delete_load_balancer().load_balancer_arn(&lb.arn)
        )?;
        for g in groups.target_groups() {
            if let Some(arn) = g.target_group_arn() {
                call!(
                    self,
                    "elasticloadbalancing:DeleteTargetGroup",
                    self.elbv2.delete_target_group().target_group_arn(arn)
                )?;
            }
        }
        Ok(())
    }

    /// Deletes an EBS volume (`--delete-volumes`: a PersistentVolume's disk).
    pub async fn delete_volume(&self, id: &str) -> Result<(), AwsError> {
        call!(self, "ec2:DeleteVolume", self.ec2.delete_volume().volume_id(id))?;
        Ok(())
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
