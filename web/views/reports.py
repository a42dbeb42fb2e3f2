"""Exports: per-repetition CSV of a result, printable HTML report of a plan's week."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("reports", __name__, url_prefix="/api/v1", description="Exports and reports")
