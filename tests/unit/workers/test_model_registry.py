"""The model registry: a new pool process reports ready at once; its models load behind it."""

from __future__ import annotations

import threading
import time

import pytest

from workers import model_registry


@pytest.fixture(autouse=True)
def clean_registry():
    saved = dict(model_registry._loaders)
    model_registry.clear()
    yield
    model_registry._loaders.clear()
    model_registry._loaders.update(saved)
    model_registry.clear()


def slow_loader(calls: list, release: threading.Event, value: str):
    def load():
        calls.append(threading.current_thread().name)
        release.wait(5)
        return value
    return load


def test_background_warm_up_returns_at_once_and_get_waits_for_the_load():
    calls, release = [], threading.Event()
    model_registry.register("slow", slow_loader(calls, release, "model"))
    started = time.monotonic()
    thread = model_registry.warm_up_in_background("slow")
    assert time.monotonic() - started < 0.5  # the process would report ready now

    got = []
    waiter = threading.Thread(target=lambda: got.append(model_registry.get("slow")))
    waiter.start()
    time.sleep(0.2)
    assert got == []  # a task that needs the model waits for the load under way
    release.set()
    waiter.join(5)
    thread.join(5)
    assert got == ["model"]
    assert calls == ["model-warm-up"]  # loaded once, by the warm-up thread


def test_a_model_still_loading_does_not_hold_up_another():
    release = threading.Event()
    model_registry.register("slow", slow_loader([], release, "slow"))
    model_registry.register("fast", lambda: "fast")
    thread = model_registry.warm_up_in_background("slow")
    try:
        assert model_registry.get("fast") == "fast"
    finally:
        release.set()
        thread.join(5)


def test_failed_warm_up_leaves_the_error_to_the_task_that_needs_the_model():
    attempts = []

    def broken():
        attempts.append(1)
        raise RuntimeError("artifact missing")

    model_registry.register("broken", broken)
    model_registry.warm_up_in_background("broken").join(5)
    with pytest.raises(RuntimeError, match="artifact missing"):
        model_registry.get("broken")
    assert len(attempts) == 2


def test_no_models_no_thread():
    assert model_registry.warm_up_in_background(" , ") is None
