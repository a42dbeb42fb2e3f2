"""Who may receive an event: its owner's endpoints, and the endpoints of the owner's clinic.

Clinic membership is checked when an event is fanned out *and* again before every attempt, so a
patient who leaves a clinic stops reaching it at once, retries of older events included.
"""

from __future__ import annotations

LEFT_CLINIC = "the patient is no longer in this clinic"


def may_receive(*, endpoint_user_id: str, endpoint_clinic_id: str | None,
                event_user_id: str | None, owner_clinic_id: str | None) -> bool:
    """True when an endpoint may be sent an event.

    ``owner_clinic_id`` is the clinic the event's owner belongs to *now* (None if none, or if the
    owner no longer exists). A user's endpoint gets only its owner's events; a clinic endpoint
    gets its creator's events and those of the clinic's current members.
    """
    if event_user_id is not None and endpoint_user_id == event_user_id:
        return True
    return endpoint_clinic_id is not None and owner_clinic_id == endpoint_clinic_id
