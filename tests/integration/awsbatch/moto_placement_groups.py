"""EC2 placement groups for moto, which (5.2.1) does not implement them: CreatePlacementGroup,
DescribePlacementGroups and DeletePlacementGroup answer "not implemented" (HTTP 500).

`install()` adds the three actions to moto's EC2 request handler in this process: requests are still parsed,
authenticated and answered by moto (its EC2 answers are serialized from botocore's model), only the state —
name, strategy, id, per account and region — lives here. Errors follow EC2's: InvalidPlacementGroup.Duplicate,
InvalidPlacementGroup.Unknown, InvalidParameterValue for a strategy other than cluster, spread, partition.
"""
import threading
import uuid

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.responses import EC2Response

_lock = threading.Lock()
_groups = {}  # (account, region) -> {name: group}


def _table(resp):
    return _groups.setdefault((resp.current_account, resp.region), {})


def _create(self):
    name = self._get_param("GroupName")
    strategy = self._get_param("Strategy")
    if strategy not in ("cluster", "spread", "partition"):
        raise EC2ClientError("InvalidParameterValue", f"Value ({strategy}) for parameter strategy is invalid.")
    self.error_on_dryrun()
    with _lock:
        table = _table(self)
        if name in table:
            raise EC2ClientError("InvalidPlacementGroup.Duplicate", f"The Placement Group '{name}' already exists.")
        group = {"GroupName": name, "Strategy": strategy, "State": "available",
                 "GroupId": "pg-" + uuid.uuid4().hex[:17],
                 "GroupArn": f"arn:aws:ec2:{self.region}:{self.current_account}:placement-group/{name}"}
        table[name] = group
    return ActionResult({"PlacementGroup": group})


def _describe(self):
    names = self._get_param("GroupNames", []) or []
    with _lock:
        table = dict(_table(self))
    for n in names:
        if n not in table:
            raise EC2ClientError("InvalidPlacementGroup.Unknown", f"The Placement Group '{n}' is unknown.")
    groups = [g for n, g in table.items() if not names or n in names]
    return ActionResult({"PlacementGroups": groups})


def _delete(self):
    name = self._get_param("GroupName")
    self.error_on_dryrun()
    with _lock:
        table = _table(self)
        if name not in table:
            raise EC2ClientError("InvalidPlacementGroup.Unknown", f"The Placement Group '{name}' is unknown.")
        del table[name]
    return ActionResult({})


def install():
    EC2Response.create_placement_group = _create
    EC2Response.describe_placement_groups = _describe
    EC2Response.delete_placement_group = _delete


def groups():
    """Every placement group left, for tests checking that nothing is left behind."""
    with _lock:
        return [g for table in _groups.values() for g in table.values()]
