"""SQLModel tables of the survey service.

City → 区 (District) → 街道 (Street) → 社区 (Community) → 楼栋 (Building) → 户 (Household);
测评轮次 (Wave) with its Assignments, Visits and Responses; population margins for
weighting; 问需/问计 feedback items; users and the audit log.

Every table is created by Alembic migrations (``survey_app/migrations``), never by
``create_all`` outside tests.
"""

from sqlmodel import SQLModel

from .fieldwork import (
    Assignment,
    Design,
    HeldSubmission,
    Visit,
    VisitOutcome,
    Wave,
    WaveCommunity,
    WaveStatus,
)
from .geo import Building, Community, District, Household, Street
from .imports import AppSetting, HouseholdStage, ImportJob, ImportStatus
from .people import AuditLog, Role, User, UserScope
from .quality import BackCheck, QualityFlag, ResponseRevision, ReviewEvent, WaveQuality
from .survey import (
    FeedbackEvent,
    FeedbackItem,
    FeedbackStatus,
    IndicatorTotal,
    InstrumentVersion,
    PopulationMargin,
    Response,
    ReviewState,
)

metadata = SQLModel.metadata

__all__ = [
    "AppSetting",
    "HouseholdStage",
    "ImportJob",
    "ImportStatus",
    "Assignment",
    "AuditLog",
    "BackCheck",
    "Building",
    "Community",
    "Design",
    "District",
    "FeedbackEvent",
    "FeedbackItem",
    "FeedbackStatus",
    "HeldSubmission",
    "Household",
    "IndicatorTotal",
    "InstrumentVersion",
    "PopulationMargin",
    "QualityFlag",
    "Response",
    "ResponseRevision",
    "ReviewEvent",
    "ReviewState",
    "Role",
    "Street",
    "User",
    "UserScope",
    "Visit",
    "VisitOutcome",
    "Wave",
    "WaveCommunity",
    "WaveQuality",
    "WaveStatus",
    "metadata",
]
