"""SQLAlchemy 2 ORM models. The schema itself comes only from migrations/ (Alembic)."""

from models.accounts import ROLES, Clinic, RefreshToken, User
from models.analyses import Analysis, AnalysisResult, Reference
from models.base import Base
from models.jobs import JOB_STATUSES, TERMINAL_STATUSES, Event, Job
from models.performance import PlanPerformance
from models.plans import Exercise, Plan, PlanFeedback, Profile, ReadinessEntry
from models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "ROLES",
    "JOB_STATUSES",
    "TERMINAL_STATUSES",
    "Analysis",
    "AnalysisResult",
    "Base",
    "Clinic",
    "Event",
    "Exercise",
    "Job",
    "Plan",
    "PlanFeedback",
    "PlanPerformance",
    "Profile",
    "ReadinessEntry",
    "RefreshToken",
    "Reference",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
