//! The cluster's estimated monthly cost, from the answers and the price assets: what the
//! cluster step shows as the sizing changes. List prices only; traffic-based charges are left
//! out and said to be.

use std::sync::OnceLock;

use serde::Deserialize;

use crate::answers::{Answers, Topology};
use crate::catalog::{self, HOURS_PER_MONTH};

const PRICES_TOML: &str = include_str!("../../assets/aws-prices.toml");

/// What the estimate does not include, said wherever it is shown.
pub const LEAVES_OUT: &str = "data transfer, load-balancer and NAT traffic, snapshots, taxes";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Prices {
    prices_region: String,
    prices_as_of: String,
    gp3_gib_month: f64,
    nlb_hour: f64,
    nat_gateway_hour: f64,
    public_ipv4_hour: f64,
    kops_defaults: KopsDefaults,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct KopsDefaults {
    root_gib_control_plane: u32,
    root_gib_node: u32,
    root_gib_bastion: u32,
    etcd_gib: u32,
    etcd_volumes_per_control_plane: u32,
    bastion_machine_type: String,
}

fn prices() -> Option<&'static Prices> {
    static PRICES: OnceLock<Option<Prices>> = OnceLock::new();
    // Compiled in: it parses on every run or on none, and `the_asset_parses` proves it does.
    PRICES.get_or_init(|| toml::from_str(PRICES_TOML).ok()).as_ref()
}

/// One line of the estimate, e.g. `3 × t3.medium control plane`.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub what: String,
    pub monthly_usd: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub lines: Vec<Line>,
    pub total_usd: f64,
    /// Instance types not in the catalog: the total leaves them out.
    pub unknown: Vec<String>,
    /// The region and month the prices are for.
    pub prices_region: String,
    pub prices_as_of: String,
    /// The cluster's region, when it differs from the prices' (prices there may differ).
    pub other_region: Option<String>,
}

/// Said where an estimate would be, when the price data cannot be read.
pub const NO_ESTIMATE: &str = "no cost estimate: the price data is unreadable";

impl Estimate {
    /// What the figures are and what they leave out, under every estimate.
    pub fn footnote(&self) -> String {
        format!("{}, 730 h a month; leaves out {LEAVES_OUT}.", self.label())
    }

    /// `prices of us-east-1, 2025-01`, with a word when the cluster is elsewhere.
    pub fn label(&self) -> String {
        match &self.other_region {
            Some(region) => format!(
                "{} list prices of {}; {region} may differ",
                self.prices_as_of, self.prices_region
            ),
            None => format!("{} list prices of {}", self.prices_as_of, self.prices_region),
        }
    }
}

/// The estimated monthly on-demand cost of the cluster these answers describe: instances
/// (730 hours), their root volumes, the etcd volumes, the API load balancer, NAT gateways and
/// public IPv4 addresses, as kops creates them by default. `None` only if the asset is broken.
pub fn estimate(a: &Answers) -> Option<Estimate> {
    let p = prices()?;
    let d = &p.kops_defaults;
    let c = &a.cluster;
    let cat = catalog::catalog();
    let hours = |price: f64| price * HOURS_PER_MONTH;
    let mut lines = Vec::new();
    let mut unknown = Vec::new();
    let zones = u32::try_from(a.zones().len()).unwrap_or(u32::MAX);
    let (control_planes, nodes) = (c.control_plane_count, a.node_count());
    let bastions = u32::from(c.bastion);

    let mut instances = vec![
        (control_planes, c.control_plane_size.as_str(), "control plane"),
        (nodes, c.node_size.as_str(), "node"),
    ];
    if bastions > 0 {
        instances.push((bastions, d.bastion_machine_type.as_str(), "bastion"));
    }
    for (count, size, role) in instances {
        match cat.instance(size) {
            Some(t) => lines.push(Line {
                what: format!("{count} × {size} {role}{}", plural(count)),
                monthly_usd: t.monthly_usd() * f64::from(count),
            }),
            None => unknown.push(size.to_string()),
        }
    }

    let root_gib = control_planes * d.root_gib_control_plane
        + nodes * d.root_gib_node
        + bastions * d.root_gib_bastion;
    lines.push(Line {
        what: format!("{root_gib} GiB gp3 root volumes"),
        monthly_usd: f64::from(root_gib) * p.gp3_gib_month,
    });
    let etcd = control_planes * d.etcd_volumes_per_control_plane;
    lines.push(Line {
        what: format!("{etcd} × {} GiB gp3 etcd volumes", d.etcd_gib),
        monthly_usd: f64::from(etcd * d.etcd_gib) * p.gp3_gib_month,
    });

    let private = c.topology == Topology::Private;
    let mut balancers = Vec::new();
    if c.dns_zone.is_none() || private {
        balancers.push("API");
    }
    if bastions > 0 {
        balancers.push("bastion");
    }
    if !balancers.is_empty() {
        let n = u32::try_from(balancers.len()).unwrap_or(1);
        lines.push(Line {
            what: format!("{} load balancer{} (NLB)", balancers.join(" + "), plural(n)),
            monthly_usd: hours(p.nlb_hour) * f64::from(n),
        });
    }
    if private {
        lines.push(Line {
            what: format!("{zones} NAT gateway{} (one per zone)", plural(zones)),
            monthly_usd: hours(p.nat_gateway_hour) * f64::from(zones),
        });
    }
    // Public topology: every instance has a public address; private: the NAT gateways' ones.
    let addresses = if private { zones } else { control_planes + nodes };
    lines.push(Line {
        what: format!("{addresses} public IPv4 address{}", if addresses == 1 { "" } else { "es" }),
        monthly_usd: hours(p.public_ipv4_hour) * f64::from(addresses),
    });

    let total_usd = lines.iter().map(|l| l.monthly_usd).sum();
    Some(Estimate {
        lines,
        total_usd,
        unknown,
        prices_region: p.prices_region.clone(),
        prices_as_of: p.prices_as_of.clone(),
        other_region: (a.aws.region != p.prices_region).then(|| a.aws.region.clone()),
    })
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asset_parses_and_matches_the_catalog() {
        let p: Prices = toml::from_str(PRICES_TOML).unwrap();
        assert_eq!(p.prices_region, catalog::catalog().prices_region);
        assert_eq!(p.prices_as_of, catalog::catalog().prices_as_of);
        assert_eq!(p.kops_defaults.root_gib_node, 128);
        assert!(catalog::catalog().instance(&p.kops_defaults.bastion_machine_type).is_some());
    }

    fn total(a: &Answers) -> f64 {
        estimate(a).unwrap().total_usd
    }

    #[test]
    fn the_default_cluster() {
        let e = estimate(&Answers::default()).unwrap();
        let what: Vec<&str> = e.lines.iter().map(|l| l.what.as_str()).collect();
        assert_eq!(
            what,
            [
                "1 × t3.medium control plane",
                "1 × t3.medium node",
                "192 GiB gp3 root volumes",
                "2 × 20 GiB gp3 etcd volumes",
                "API load balancer (NLB)",
                "2 public IPv4 addresses",
            ]
        );
        // 2 × 30.368 + 192 × 0.08 + 40 × 0.08 + 16.425 + 2 × 3.65
        let expected = 2.0 * 30.368 + 15.36 + 3.2 + 16.425 + 7.3;
        assert!((e.total_usd - expected).abs() < 1e-6, "{}", e.total_usd);
        assert_eq!(e.label(), "2025-01 list prices of us-east-1");
        assert!(e.unknown.is_empty());
    }

    #[test]
    fn sizing_changes_the_total() {
        let mut a = Answers::default();
        let small = total(&a);
        a.cluster.control_plane_count = 3;
        a.cluster.node_size = "m5.large".into();
        a.cluster.node_count = Some(3);
        assert!(total(&a) > small * 2.0);

        a.cluster.topology = Topology::Private;
        a.cluster.bastion = true;
        a.cluster.zones = vec!["us-east-1a".into(), "us-east-1b".into()];
        let e = estimate(&a).unwrap();
        let what: Vec<&str> = e.lines.iter().map(|l| l.what.as_str()).collect();
        assert!(what.contains(&"2 NAT gateways (one per zone)"), "{what:?}");
        assert!(what.contains(&"API + bastion load balancers (NLB)"), "{what:?}");
        assert!(what.contains(&"1 × t3.micro bastion"), "{what:?}");
        assert!(what.contains(&"6 × 20 GiB gp3 etcd volumes"), "{what:?}");
    }

    #[test]
    fn a_dns_zone_drops_the_public_api_balancer_and_unknown_sizes_are_named() {
        let mut a = Answers::default();
        a.cluster.dns_zone = Some("example.com".into());
        a.cluster.node_size = "x9.huge".into();
        a.aws.region = "eu-west-1".into();
        let e = estimate(&a).unwrap();
        assert!(!e.lines.iter().any(|l| l.what.contains("load balancer")));
        assert_eq!(e.unknown, ["x9.huge"]);
        assert!(e.label().contains("eu-west-1 may differ"));
    }
}
