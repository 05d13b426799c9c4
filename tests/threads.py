"""A bounded call for the tests of threaded code: a hang fails instead of blocking the suite."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

TIMEOUT = 30.0
"""Seconds a call of generated code may take before the test calls it hung."""


def call_with_timeout(function: Callable[[], Any], timeout: float = TIMEOUT) -> Any:
    """Run `function` on a daemon thread; fail (instead of hanging) after `timeout`."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the call hung: a lane is blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
