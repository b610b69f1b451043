"""Errors of the request workflow, each carrying the HTTP status the API answers with."""

from __future__ import annotations


class WorkflowError(Exception):
    """A refused action; the message says what was wrong and what to do, and is safe to show."""

    http_status = 400


class NotFoundError(WorkflowError):
    http_status = 404


class ForbiddenError(WorkflowError):
    """The caller lacks the role, or the two-person rule forbids them this action."""

    http_status = 403


class ConflictError(WorkflowError):
    """The action does not fit the current state (wrong status, identification pending, register match)."""

    http_status = 409


class InvalidError(WorkflowError):
    http_status = 422
