"""POSE_DEVICE: the backend it implies, clear errors, and the queue pose chunks are routed to."""

from __future__ import annotations

import importlib

import pytest

import config


def test_cpu_is_the_default_and_runs_onnx():
    assert config._pose_device_and_backend({}) == ("cpu", "onnx")
    assert config._pose_device_and_backend({"POSE_BACKEND": "torch"}) == ("cpu", "torch")


def test_cuda_runs_torch():
    assert config._pose_device_and_backend({"POSE_DEVICE": "cuda"}) == ("cuda", "torch")
    assert config._pose_device_and_backend({"POSE_DEVICE": "CUDA:1"}) == ("cuda:1", "torch")


@pytest.mark.parametrize("env, message", [
    ({"POSE_DEVICE": "tpu"}, "POSE_DEVICE must be"),
    ({"POSE_DEVICE": "cuda", "POSE_BACKEND": "onnx"}, "torch backend"),
    ({"POSE_BACKEND": "tensorrt"}, "POSE_BACKEND must be"),
])
def test_bad_values_are_refused(env, message):
    with pytest.raises(ValueError, match=message):
        config._pose_device_and_backend(env)


def test_pose_chunks_route_by_device(monkeypatch):
    import celery_config

    try:
        assert celery_config.task_routes["video.pose_chunk"]["queue"] == "pose"
        monkeypatch.setenv("POSE_DEVICE", "cuda")
        monkeypatch.setattr(config, "settings", config.load_settings())
        gpu = importlib.reload(celery_config)
        assert gpu.task_routes["video.pose_chunk"] == {"queue": "pose_gpu",
                                                       "routing_key": "pose_gpu"}
        assert "pose_gpu" in gpu.QUEUES
    finally:
        monkeypatch.undo()
        importlib.reload(celery_config)
    assert celery_config.task_routes["video.pose_chunk"]["queue"] == "pose"
