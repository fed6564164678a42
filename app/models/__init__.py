"""The application's tables, one module per aggregate. Importing this package registers
every table on ``Base.metadata`` (Alembic's autogenerate relies on it)."""

import workflows.tables  # noqa: F401  (the engine's tables share the metadata)

from .api_key import ApiKey
from .archive_permit import ArchivePermit
from .audit_log import AuditEntry
from .base import Base
from .bulletin import Bulletin
from .calendar_year import CalendarYearVersion
from .case import Case, CaseOutcome, CaseStage, CaseStatus
from .case_event import AppendOnlyError, CaseEvent
from .case_note import CaseComment, EvidenceFile
from .department import Department
from .notification import Notification
from .outbox import OutboxRecord
from .process_draft import DraftState, ProcessDraft
from .rating import Rating, RatingDimension
from .rating_summary import RatingMonthRollup, RatingMonthTotal
from .rating_types import Channel, Dimension, EvaluatorType, IdType, Level
from .saved_filter import SavedFilter
from .service_item import ItemKind, ServiceItem
from .service_record import ServiceRecord
from .staff_member import StaffMember
from .user import DEPARTMENT_ROLES, Role, User, UserRole
from .user_token import UserToken

__all__ = [
    "ApiKey", "AppendOnlyError", "ArchivePermit", "AuditEntry", "Base", "Bulletin", "CalendarYearVersion", "Case", "CaseComment", "CaseEvent", "CaseOutcome", "CaseStage", "CaseStatus",
    "Channel", "DEPARTMENT_ROLES", "Department", "Dimension", "EvaluatorType", "EvidenceFile", "IdType", "ItemKind",
    "DraftState", "Level", "Notification", "OutboxRecord", "ProcessDraft", "Rating", "RatingDimension", "RatingMonthRollup", "RatingMonthTotal", "Role", "SavedFilter", "ServiceItem", "ServiceRecord", "StaffMember",
    "User", "UserRole", "UserToken",
]
