//! The static data catalog: the EC2 instance types the wizard offers (with on-demand list prices
//! for cost estimates) and the commercial AWS regions with their availability-zone letters.
//!
//! The data lives in `assets/instance-types.toml` and `assets/regions.toml` and is compiled into
//! the binary, so the wizard can suggest sizes, validate zones and estimate cost without network
//! access or AWS credentials. It is parsed once, on first use.

use std::sync::OnceLock;

use serde::Deserialize;

/// Embedded so the catalog cannot go missing or drift from the binary that was tested with it.
const INSTANCE_TYPES_TOML: &str = include_str!("../assets/instance-types.toml");
const REGIONS_TOML: &str = include_str!("../assets/regions.toml");

/// AWS's convention for turning hourly into monthly prices (365 × 24 / 12), as used by its
/// pricing pages and calculator, so our estimates line up with what users see there.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// CPU architecture of an instance type; decides which AMI the nodes need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

/// One EC2 instance type, e.g. `t3.medium`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceType {
    pub name: String,
    pub vcpu: u32,
    pub memory_gib: f64,
    pub arch: Arch,
    /// On-demand Linux list price in USD per hour, in [`Catalog::prices_region`].
    pub price_hour: f64,
}

impl InstanceType {
    /// On-demand list price for a month of continuous running, using AWS's 730-hour month.
    pub fn monthly_usd(&self) -> f64 {
        self.price_hour * HOURS_PER_MONTH
    }
}

/// A commercial AWS region and the zone letters that exist in it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Region code, e.g. `us-east-1`.
    pub code: String,
    /// AWS's display name, e.g. `US East (N. Virginia)`.
    pub name: String,
    /// Zone letters; a `char` so that a multi-letter typo in the asset fails to parse.
    pub zones: Vec<char>,
}

impl Region {
    /// Full zone names, e.g. `["us-east-1a", "us-east-1b", ...]`.
    pub fn zone_names(&self) -> Vec<String> {
        self.zones.iter().map(|letter| format!("{}{letter}", self.code)).collect()
    }

    /// Whether `zone` (a full name like `us-east-1a`) is one of this region's zones.
    pub fn has_zone(&self, zone: &str) -> bool {
        let Some(suffix) = zone.strip_prefix(self.code.as_str()) else {
            return false;
        };
        // Exactly one letter may follow the code, so `us-east-10a` is not a zone of `us-east-1`.
        let mut chars = suffix.chars();
        match (chars.next(), chars.next()) {
            (Some(letter), None) => self.zones.contains(&letter),
            _ => false,
        }
    }
}

/// Everything in the embedded assets.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// Region the instance prices are for.
    pub prices_region: String,
    /// Month (`YYYY-MM`) the prices were taken, so the UI can say how old the estimate is.
    pub prices_as_of: String,
    pub instances: Vec<InstanceType>,
    pub regions: Vec<Region>,
}

/// Why the catalog assets failed to parse. Only reachable through [`Catalog::from_toml`] with
/// other text; the embedded assets are proven to parse by the unit tests.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("invalid instance-types catalog")]
    Instances(#[source] toml::de::Error),
    #[error("invalid regions catalog")]
    Regions(#[source] toml::de::Error),
}

/// Layout of `assets/instance-types.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceTypesFile {
    prices_region: String,
    prices_as_of: String,
    instance: Vec<InstanceType>,
}

/// Layout of `assets/regions.toml`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionsFile {
    region: Vec<Region>,
}

impl Catalog {
    /// Parses a catalog from the text of the two asset files.
    pub fn from_toml(instance_types: &str, regions: &str) -> Result<Self, CatalogError> {
        let instances: InstanceTypesFile =
            toml::from_str(instance_types).map_err(CatalogError::Instances)?;
        let regions: RegionsFile = toml::from_str(regions).map_err(CatalogError::Regions)?;
        Ok(Self {
            prices_region: instances.prices_region,
            prices_as_of: instances.prices_as_of,
            instances: instances.instance,
            regions: regions.region,
        })
    }

    /// Looks up an instance type by its exact name, e.g. `t3.medium`.
    pub fn instance(&self, name: &str) -> Option<&InstanceType> {
        self.instances.iter().find(|instance| instance.name == name)
    }

    /// Looks up a region by its exact code, e.g. `eu-west-1`.
    pub fn region(&self, code: &str) -> Option<&Region> {
        self.regions.iter().find(|region| region.code == code)
    }

    /// Estimated monthly on-demand cost of `count` instances of each named type. Types not in
    /// the catalog are listed in [`Estimate::unknown`] (once each, in order of first
    /// appearance) rather than guessed, so the caller can say the total is incomplete.
    pub fn estimate_monthly(&self, items: &[(&str, u32)]) -> Estimate {
        let mut estimate = Estimate::default();
        for &(name, count) in items {
            match self.instance(name) {
                Some(instance) => estimate.total_usd += instance.monthly_usd() * f64::from(count),
                None if !estimate.unknown.iter().any(|unknown| unknown == name) => {
                    estimate.unknown.push(name.to_owned());
                }
                None => {}
            }
        }
        estimate
    }
}

/// Result of [`estimate_monthly`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    /// Monthly on-demand list price in USD of the instance types that are in the catalog.
    pub total_usd: f64,
    /// Instance type names not in the catalog, which `total_usd` does not include.
    pub unknown: Vec<String>,
}

/// The embedded catalog, parsed on first use.
#[allow(clippy::expect_used)] // The one proven invariant; see below.
pub fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| {
        // The assets are compiled in, so they either parse on every run or on none; the
        // `embedded_assets_parse` test proves they do.
        Catalog::from_toml(INSTANCE_TYPES_TOML, REGIONS_TOML)
            .expect("embedded catalog assets parse (proven by tests::embedded_assets_parse)")
    })
}

/// Estimated monthly on-demand cost of a set of `(instance type, count)` pairs, from the
/// embedded catalog; unknown types are returned separately, not guessed.
pub fn estimate_monthly(items: &[(&str, u32)]) -> Estimate {
    catalog().estimate_monthly(items)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    const BURSTABLE_SIZES: [&str; 7] =
        ["nano", "micro", "small", "medium", "large", "xlarge", "2xlarge"];
    const STANDARD_SIZES: [&str; 3] = ["large", "xlarge", "2xlarge"];

    #[test]
    fn embedded_assets_parse() {
        let parsed = Catalog::from_toml(INSTANCE_TYPES_TOML, REGIONS_TOML)
            .unwrap_or_else(|error| panic!("{error}: {:?}", std::error::Error::source(&error)));
        assert!(!parsed.instances.is_empty());
        assert!(!parsed.regions.is_empty());
        assert_eq!(&parsed, catalog());
    }

    #[test]
    fn prices_are_dated() {
        let catalog = catalog();
        assert_eq!(catalog.prices_region, "us-east-1");
        assert!(catalog.region(&catalog.prices_region).is_some());
        let (year, month) = catalog.prices_as_of.split_once('-').expect("prices_as_of is YYYY-MM");
        assert_eq!(year.len(), 4);
        assert_eq!(month.len(), 2);
        let year: u32 = year.parse().expect("year is a number");
        let month: u32 = month.parse().expect("month is a number");
        assert!(year >= 2024 && (1..=12).contains(&month));
    }

    #[test]
    fn required_families_and_sizes_exist() {
        let catalog = catalog();
        let families = [
            ("t3", &BURSTABLE_SIZES[..]),
            ("t3a", &BURSTABLE_SIZES[..]),
            ("t4g", &BURSTABLE_SIZES[..]),
            ("m5", &STANDARD_SIZES[..]),
            ("m6i", &STANDARD_SIZES[..]),
            ("m7i", &STANDARD_SIZES[..]),
            ("c5", &STANDARD_SIZES[..]),
            ("c6i", &STANDARD_SIZES[..]),
            ("r5", &STANDARD_SIZES[..]),
        ];
        for (family, sizes) in families {
            for size in sizes {
                let name = format!("{family}.{size}");
                assert!(catalog.instance(&name).is_some(), "{name} missing");
            }
        }
    }

    #[test]
    fn instance_names_are_unique() {
        let mut seen = HashSet::new();
        for instance in &catalog().instances {
            assert!(seen.insert(&instance.name), "{} duplicated", instance.name);
        }
    }

    #[test]
    fn instance_values_are_plausible() {
        for instance in &catalog().instances {
            let name = &instance.name;
            assert!(instance.price_hour > 0.0, "{name} price");
            assert!(instance.memory_gib > 0.0, "{name} memory");
            assert!(instance.vcpu > 0, "{name} vcpu");
            assert!(name.split_once('.').is_some(), "{name} is family.size");
        }
    }

    #[test]
    fn arm64_exactly_for_t4g() {
        for instance in &catalog().instances {
            let graviton = instance.name.starts_with("t4g.");
            assert_eq!(
                instance.arch == Arch::Arm64,
                graviton,
                "{} arch {:?}",
                instance.name,
                instance.arch
            );
        }
    }

    #[test]
    fn t3_medium_matches_aws() {
        let t3 = catalog().instance("t3.medium").expect("t3.medium exists");
        assert_eq!(t3.vcpu, 2);
        assert_eq!(t3.memory_gib, 4.0);
        assert_eq!(t3.arch, Arch::X86_64);
        assert_eq!(t3.price_hour, 0.0416);
        assert!((t3.monthly_usd() - 0.0416 * 730.0).abs() < 1e-9);
    }

    #[test]
    fn required_regions_exist_once_with_sane_zones() {
        let catalog = catalog();
        let required = [
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
            "ca-central-1",
            "sa-east-1",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-east-1",
            "me-south-1",
            "me-central-1",
            "af-south-1",
            "il-central-1",
        ];
        for code in required {
            assert!(catalog.region(code).is_some(), "{code} missing");
        }
        let mut seen = HashSet::new();
        for region in &catalog.regions {
            assert!(seen.insert(&region.code), "{} duplicated", region.code);
            assert!(!region.name.is_empty(), "{} name", region.code);
            // kops needs zones to spread over; every commercial region has at least two.
            assert!(region.zones.len() >= 2, "{} zones", region.code);
            assert!(
                region.zones.iter().all(char::is_ascii_lowercase),
                "{} zone letters",
                region.code
            );
            assert!(
                region.zones.windows(2).all(|pair| pair[0] < pair[1]),
                "{} zones sorted and unique",
                region.code
            );
        }
    }

    #[test]
    fn us_east_1_zones() {
        let region = catalog().region("us-east-1").expect("us-east-1 exists");
        assert_eq!(
            region.zone_names(),
            ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
        );
        for zone in region.zone_names() {
            assert!(region.has_zone(&zone), "{zone}");
        }
        assert!(!region.has_zone("us-east-1g"));
        assert!(!region.has_zone("us-east-1"));
        assert!(!region.has_zone("us-east-10a"));
        assert!(!region.has_zone("us-east-2a"));
        assert!(!region.has_zone("us-east-1aa"));
    }

    #[test]
    fn unknown_lookups_are_none() {
        let catalog = catalog();
        assert_eq!(catalog.region("us-east-9"), None);
        assert_eq!(catalog.region(""), None);
        assert_eq!(catalog.instance("t3.gigantic"), None);
        assert_eq!(catalog.instance("T3.MEDIUM"), None);
    }

    #[test]
    fn estimate_sums_counts_and_lists_unknown() {
        let estimate = estimate_monthly(&[
            ("t3.medium", 3),
            ("m5.large", 2),
            ("x9.huge", 1),
            ("t3.medium", 1),
            ("x9.huge", 4),
            ("nope", 0),
        ]);
        let expected = (0.0416 * 4.0 + 0.096 * 2.0) * 730.0;
        assert!(
            (estimate.total_usd - expected).abs() < 1e-9,
            "{} != {expected}",
            estimate.total_usd
        );
        assert_eq!(estimate.unknown, ["x9.huge", "nope"]);

        assert_eq!(estimate_monthly(&[]), Estimate::default());
    }

    #[test]
    fn bad_assets_are_rejected() {
        let typo = "prices_region = \"us-east-1\"\nprices_as_of = \"2025-01\"\n\
                    [[instance]]\nname = \"t3.nano\"\nvcpus = 2\nmemory_gib = 0.5\n\
                    arch = \"x86_64\"\nprice_hour = 0.0052\n";
        assert!(matches!(Catalog::from_toml(typo, REGIONS_TOML), Err(CatalogError::Instances(_))));
        let long_zone = "[[region]]\ncode = \"x-1\"\nname = \"X\"\nzones = [\"ab\"]\n";
        assert!(matches!(
            Catalog::from_toml(INSTANCE_TYPES_TOML, long_zone),
            Err(CatalogError::Regions(_))
        ));
    }
}
