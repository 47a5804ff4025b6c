"""AgentMagics settings: %config, ipython_config.py and environment variables, in that order."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from lg_magics.exceptions import AgentUsageError
from lg_magics.magics import AgentMagics
from lg_magics.settings import ENVIRONMENT, from_env


def test_from_env_parses_every_setting() -> None:
    environ = {
        "LG_MAGICS_ASSISTANT": " chat ",
        "LG_MAGICS_STREAM_MODES": "values, updates custom",
        "LG_MAGICS_THREAD_PATTERN": "t_{assistant}",
        "LG_MAGICS_UPDATE_INTERVAL": "0.2",
        "LG_MAGICS_FAIL_ON_ERROR": "no",
        "LG_MAGICS_CONCURRENCY": "8",
        "LG_MAGICS_UNRELATED": "x",
    }
    assert from_env(environ) == {
        "default_assistant": "chat",
        "stream_modes": ["values", "updates", "custom"],
        "thread_pattern": "t_{assistant}",
        "update_interval": 0.2,
        "fail_on_error": False,
        "concurrency": 8,
    }
    assert from_env({"LG_MAGICS_ASSISTANT": "  "}) == {}


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("LG_MAGICS_STREAM_MODES", "values bogus", "LG_MAGICS_STREAM_MODES: unknown stream mode 'bogus'"),
        ("LG_MAGICS_UPDATE_INTERVAL", "soon", "LG_MAGICS_UPDATE_INTERVAL must be a number, not 'soon'"),
        ("LG_MAGICS_UPDATE_INTERVAL", "-1", "takes seconds between redraws, from 0 to 60, not -1.0"),
        ("LG_MAGICS_FAIL_ON_ERROR", "maybe", "LG_MAGICS_FAIL_ON_ERROR is true or false"),
        ("LG_MAGICS_CONCURRENCY", "0", "from 1 to 64, not 0"),
        ("LG_MAGICS_THREAD_PATTERN", "{who}_thread", "a variable name with {assistant} in it"),
        ("LG_MAGICS_THREAD_PATTERN", "{assistant.x}", "a variable name with {assistant} in it"),
    ],
)
def test_bad_environment_values_are_one_line(name: str, value: str, message: str) -> None:
    with pytest.raises(AgentUsageError, match=message.replace("(", r"\(").replace("{", r"\{")) as info:
        from_env({name: value})
    assert "\n" not in str(info.value)


def test_every_configurable_setting_has_an_environment_variable_or_is_the_url() -> None:
    configurable = set(AgentMagics.class_trait_names(config=True))
    assert configurable == set(ENVIRONMENT) | {"url"}
    for name in configurable:
        env = ENVIRONMENT[name][0] if name in ENVIRONMENT else "LG_MAGICS_URL"
        assert env in AgentMagics.class_traits()[name].help, f"the help of {name} should name ${env}"


def test_environment_applies_when_loaded_and_config_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.testing.globalipapp import get_ipython

    monkeypatch.setenv("LG_MAGICS_ASSISTANT", "chat")
    monkeypatch.setenv("LG_MAGICS_CONCURRENCY", "6")
    monkeypatch.setenv("LG_MAGICS_STREAM_MODES", "values")
    magics = AgentMagics(shell=get_ipython(), config=Config({"AgentMagics": {"concurrency": 2}}))
    try:
        assert magics.default_assistant == "chat"
        assert magics.stream_modes == ["values"]
        assert magics.concurrency == 2  # ipython_config.py / %config beat the environment
    finally:
        magics.close()


def test_config_magic_lists_and_validates(shell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.ip.run_line_magic("config", "AgentMagics")
    listing = capsys.readouterr().out
    for name in ("default_assistant", "stream_modes", "concurrency", "url", "thread_pattern", "update_interval", "fail_on_error"):
        assert f"AgentMagics.{name}=" in listing
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    with pytest.raises(AgentUsageError, match="AgentMagics.stream_modes: unknown stream mode 'nope'"):
        magics.stream_modes = ["nope"]
    with pytest.raises(AgentUsageError, match="AgentMagics.concurrency takes a number of runs at once from 1 to 64"):
        magics.concurrency = 100


def test_default_assistant_and_stream_modes_apply_to_cells(shell) -> None:
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    shell.ip.run_line_magic("config", "AgentMagics.default_assistant = 'chat'")
    shell.ip.run_line_magic("config", "AgentMagics.stream_modes = ['values']")
    try:
        shell.cell("--stateless", "Hello! My name is Bagatur and I am 26 years old.")
        result = shell.ns["_agent"]
        assert result.transcript.assistant == "chat" and result.transcript.modes == ("values",)
        assert result["user_name"] == "Bagatur"
    finally:
        magics.default_assistant = ""
        magics.stream_modes = ["messages-tuple", "updates"]
    with pytest.raises(AgentUsageError, match="or set %config AgentMagics.default_assistant"):
        shell.cell("--stateless", "hello")


def test_connect_and_serve_update_the_url_setting(shell, server, capsys: pytest.CaptureFixture[str]) -> None:
    from lg_magics.server import free_port

    magics = shell.ip.magics_manager.registry["AgentMagics"]
    assert magics.url == server.url  # the fixture's %agent connect set it
    port = free_port()
    shell.line(f"serve --port {port}")
    try:
        assert magics.url == f"http://127.0.0.1:{port}" != server.url
        shell.line("info --log")
        log = Path(capsys.readouterr().out.splitlines()[-1].removeprefix("Log: "))
        assert log.name == "server.log" and log.is_file()
    finally:
        shell.line("stop")
    assert magics.url == ""


@pytest.mark.kernel
def test_ipython_config_file_sets_the_magics(tmp_path: Path) -> None:
    """A real IPython reading a real profile's ipython_config.py."""
    (tmp_path / "ipython_config.py").write_text("c.AgentMagics.default_assistant = 'slow_chat'\nc.AgentMagics.concurrency = 3\n")
    code = (
        "ip = get_ipython(); ip.run_line_magic('load_ext', 'lg_magics'); "
        "m = ip.magics_manager.registry['AgentMagics']; print(m.default_assistant, m.concurrency, m.stream_modes)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("LG_MAGICS_")}
    env["LG_MAGICS_CONCURRENCY"] = "9"  # loses to the config file
    env["LG_MAGICS_STREAM_MODES"] = "updates"  # the file does not set it: the environment does
    done = subprocess.run(
        [sys.executable, "-m", "IPython", f"--profile-dir={tmp_path}", "--no-banner", "-c", code],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "slow_chat 3 ['updates']"
