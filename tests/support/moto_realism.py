"""Where moto is quicker than AWS, and a wizard could take a shortcut unseen: made as slow as AWS
where a resource asks for it.

moto makes a load balancer `active` the first time anyone looks, and answers every registered
target `healthy` at once, so a smoke test that never waited for either would pass. AWS takes
minutes for both. Imported by moto's server in the tests (moto_pool.py, moto_server.py), this
makes a load balancer or target group tagged by the fake cloud controller (fake_k8s.py) behave
as AWS's do:

- `kw-test:provisioning-seconds=N` on a load balancer: `provisioning` for N seconds after it
  was made, then `active`;
- `kw-test:initial-seconds=N` on a target group: each target `initial`
  (`Elb.RegistrationInProgress`) for N seconds after it was registered, then `healthy`;
- `kw-test:health=unhealthy` on a target group: after that, `unhealthy`
  (`Target.FailedHealthChecks`) instead, for good (a security group that keeps the NLB out).

Anything without the tags behaves as moto always has.

One more setting: S3 requests are always path-style. moto takes a host name with dots for a
virtual-hosted bucket (`moto.kw-test:5000` as bucket `moto`), but the tests behind a proxy
name moto so, and every client here addresses S3 path-style with an endpoint override.
"""

import time

from moto import settings
from moto.elbv2 import models

PROVISIONING = "kw-test:provisioning-seconds"
INITIAL = "kw-test:initial-seconds"
HEALTH = "kw-test:health"


def _tags(tags):
    return {t["Key"]: t["Value"] for t in tags or []}


def apply():
    if getattr(models, "_kw_realism", False):
        return
    models._kw_realism = True
    settings.S3_IGNORE_SUBDOMAIN_BUCKETNAME = True
    backend = models.ELBv2Backend

    create_lb = backend.create_load_balancer

    def create_load_balancer(self, *args, **kwargs):
        lb = create_lb(self, *args, **kwargs)
        seconds = _tags(kwargs.get("tags")).get(PROVISIONING)
        if seconds:
            lb._kw_active_at = time.time() + float(seconds)
        return lb

    backend.create_load_balancer = create_load_balancer

    activate = models.FakeLoadBalancer.activate

    def activate_later(self):
        if time.time() >= getattr(self, "_kw_active_at", 0):
            activate(self)

    models.FakeLoadBalancer.activate = activate_later

    register = backend.register_targets

    def register_targets(self, target_group_arn, instances, *args, **kwargs):
        result = register(self, target_group_arn, instances, *args, **kwargs)
        tg = self.target_groups.get(target_group_arn)
        if tg is not None:
            tags = self.tagging_service.get_tag_dict_for_resource(target_group_arn)
            seconds = float(tags.get(INITIAL) or 0)
            at = getattr(tg, "_kw_registered", {})
            for target in instances:
                at[target["Id"]] = (time.time() + seconds, tags.get(HEALTH))
            tg._kw_registered = at
        return result

    backend.register_targets = register_targets

    health_for = models.FakeTargetGroup.health_for

    def health_later(self, target, ec2_backend):
        status = health_for(self, target, ec2_backend)
        until, health = getattr(self, "_kw_registered", {}).get(target["Id"], (0, None))
        if status.status != "healthy":
            return status
        port = status.port
        if time.time() < until:
            return models.FakeHealthStatus(target["Id"], port, self.health_check_port, "initial",
                                           "Elb.RegistrationInProgress",
                                           "Target registration is in progress")
        if health == "unhealthy":
            return models.FakeHealthStatus(target["Id"], port, self.health_check_port, "unhealthy",
                                           "Target.FailedHealthChecks", "Health checks failed")
        return status

    models.FakeTargetGroup.health_for = health_later
