"""The one error of the Open311 API: an HTTP status and the description the spec's error array carries."""

from __future__ import annotations


class Open311Error(Exception):
    """Refused: answered as ``[{"code": status, "description": ...}]`` with that HTTP status."""

    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description
