"""Outgoing webhooks following the Standard Webhooks specification.

Plain-Python building blocks (no web framework, task queue or ORM imports):

* :mod:`.events`   - event type catalogue and payload serialisation
* :mod:`.signing`  - secrets, ``webhook-*`` headers, rotation overlap
* :mod:`.urls`     - endpoint URL validation and SSRF guard
* :mod:`.schedule` - retry schedule, Retry-After, auto-disable policy
* :mod:`.delivery` - one bounded HTTP delivery attempt
"""
