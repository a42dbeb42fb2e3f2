"""The signing key: generated once per installation (0600), never the public development key."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

import config
from config import DEVELOPMENT_SECRET_KEY, InsecureSecretKeyError, load_secret_key
from tests.conftest import ROOT

NO_OPT_IN = {"PATH": os.environ.get("PATH", "")}


def test_unset_key_is_generated_once_owner_only_and_reused(tmp_path):
    var = tmp_path / "var"
    key, source = load_secret_key(var, NO_OPT_IN)
    path = var / "secret_key"
    assert source == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 48 and key != DEVELOPMENT_SECRET_KEY
    assert load_secret_key(var, NO_OPT_IN)[0] == key  # the next start reuses it
    assert load_secret_key(tmp_path / "other", NO_OPT_IN)[0] != key  # random per installation
    assert [p.name for p in var.iterdir()] == ["secret_key"]  # no temporary files left


def test_processes_starting_together_agree_on_one_key(tmp_path):
    code = "import sys, config; print(config.load_secret_key(config.Path(sys.argv[1]), {})[0])"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "var")], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True, env={**os.environ})
             for _ in range(6)]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1
    assert keys == {(tmp_path / "var" / "secret_key").read_text().strip()}


def test_a_key_file_others_can_read_is_made_private(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("k" * 64)
    path.chmod(0o644)
    assert load_secret_key(tmp_path, NO_OPT_IN)[0] == "k" * 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("content", ["", "short", DEVELOPMENT_SECRET_KEY])
def test_an_unusable_key_file_is_refused(tmp_path, content):
    (tmp_path / "secret_key").write_text(content)
    with pytest.raises(InsecureSecretKeyError, match="usable key"):
        load_secret_key(tmp_path, NO_OPT_IN)


def test_the_public_development_key_is_refused_without_the_test_opt_in(tmp_path):
    with pytest.raises(InsecureSecretKeyError, match="public development key"):
        load_secret_key(tmp_path, {"SECRET_KEY": DEVELOPMENT_SECRET_KEY})
    opted_in = {"ALLOW_DEVELOPMENT_SECRET_KEY": "1"}
    assert load_secret_key(tmp_path, opted_in)[0] == DEVELOPMENT_SECRET_KEY
    assert load_secret_key(tmp_path, {**opted_in, "SECRET_KEY": DEVELOPMENT_SECRET_KEY})[0] == (
        DEVELOPMENT_SECRET_KEY)
    assert not (tmp_path / "secret_key").exists()


def test_an_explicit_key_wins_and_writes_nothing(tmp_path):
    assert load_secret_key(tmp_path, {"SECRET_KEY": "x" * 40}) == ("x" * 40, "SECRET_KEY")
    assert not (tmp_path / "secret_key").exists()


def test_fallback_keys_never_include_the_public_key(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS", f"old-key-1, {DEVELOPMENT_SECRET_KEY},old-key-2")
    assert config._fallback_keys() == ("old-key-1", "old-key-2")


def test_a_process_given_the_public_key_refuses_to_start(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ALLOW_DEVELOPMENT_SECRET_KEY"}
    env.update(SECRET_KEY=DEVELOPMENT_SECRET_KEY, VAR_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "import config"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "SECRET_KEY is the public development key" in done.stderr
