"""The sync engine: per-link clocks, echo suppression, three-way field merge, conflicts (no I/O).

Every function is pure: state in, decision and new state out; time is passed in. The
connectors and task-core do the I/O and persist the states returned here.
"""

from tether_sync.conflict import Conflict
from tether_sync.deletion import (
    ArchiveProviderCopy,
    DeletionDecision,
    DeletionGuard,
    DeletionPaused,
    GuardConfig,
    UnlinkAndFlag,
    Verdict,
    guard_deletion,
    on_core_deleted,
    on_provider_deleted,
)
from tether_sync.due import Due, DueValue, due_json, due_parts, is_instant, normalise_due
from tether_sync.fields import (
    FIELD_NAMES,
    FieldName,
    FieldValue,
    TaskFields,
    TaskSnapshot,
    changed_fields,
    coerce_values,
    field_name,
)
from tether_sync.inbound import ProviderChange, after_publish, decide_inbound, is_echo
from tether_sync.link_state import LinkState
from tether_sync.merge import (
    CoreTask,
    FieldStamp,
    MergeOutcome,
    MergeStatus,
    apply_core_edit,
    delete_task,
    merge_provider_change,
)
from tether_sync.outbound import (
    OutboundDecision,
    Skip,
    SkipReason,
    WritePlan,
    after_write,
    coalesce,
    decide_outbound,
)
from tether_sync.policy import DEFAULT_POLICY, Candidate, ConflictPolicy, SyncPolicy
from tether_sync.replica import CORE_REPLICA, Provider, link_replica

__all__ = [
    "CORE_REPLICA",
    "DEFAULT_POLICY",
    "FIELD_NAMES",
    "ArchiveProviderCopy",
    "Candidate",
    "Conflict",
    "ConflictPolicy",
    "CoreTask",
    "DeletionDecision",
    "DeletionGuard",
    "DeletionPaused",
    "Due",
    "DueValue",
    "FieldName",
    "FieldStamp",
    "FieldValue",
    "GuardConfig",
    "LinkState",
    "MergeOutcome",
    "MergeStatus",
    "OutboundDecision",
    "Provider",
    "ProviderChange",
    "Skip",
    "SkipReason",
    "SyncPolicy",
    "TaskFields",
    "TaskSnapshot",
    "UnlinkAndFlag",
    "Verdict",
    "WritePlan",
    "after_publish",
    "after_write",
    "apply_core_edit",
    "changed_fields",
    "coalesce",
    "coerce_values",
    "decide_inbound",
    "decide_outbound",
    "delete_task",
    "due_json",
    "due_parts",
    "field_name",
    "guard_deletion",
    "is_echo",
    "is_instant",
    "link_replica",
    "merge_provider_change",
    "normalise_due",
    "on_core_deleted",
    "on_provider_deleted",
]
