"""A real IPython kernel driven with jupyter_client, as a notebook frontend would."""

from __future__ import annotations

import json
import queue
import time
from typing import Any, Callable, Optional

from jupyter_client.manager import start_new_kernel


class Kernel:
    def __init__(self) -> None:
        self.manager, self.client = start_new_kernel(kernel_name="python3")
        self._others: list[dict[str, Any]] = []
        self.last_msg_id = ""

    def execute(self, code: str, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Run ``code``; return every iopub message of that execution until the kernel is idle."""
        msg_id = self.client.execute(code)
        messages = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                self._others.append(msg)  # e.g. a background task's: wait_iopub may look for it
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self.reply(msg_id)
                self.last_msg_id = msg_id
                return messages
            messages.append(msg)

    def reply(self, msg_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The shell reply to ``msg_id`` (older replies are skipped)."""
        while True:
            msg = self.client.get_shell_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def wait_iopub(self, condition: Callable[[dict[str, Any]], bool], parent: str, timeout: float = 30.0) -> dict[str, Any]:
        """Read iopub messages of the cell ``parent`` (a background task's messages keep the parent
        of the cell that started it, and may come while other cells run) until one matches."""
        original = condition

        def condition(msg: dict[str, Any]) -> bool:
            return msg["parent_header"].get("msg_id") == parent and original(msg)

        while self._others:
            msg = self._others.pop(0)
            if condition(msg):
                return msg
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching iopub message within {timeout} s")
            try:
                msg = self.client.get_iopub_msg(timeout=left)
            except queue.Empty:
                continue
            if condition(msg):
                return msg

    def send_comm(self, comm_id: str, data: dict[str, Any]) -> str:
        """What a frontend sends when a widget is used, e.g. a button click. Returns the message id,
        the parent of what the kernel does in response."""
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def text_of(self, code: str) -> str:
        """stdout and text/plain results of running ``code``."""
        parts = []
        for msg in self.execute(code):
            content = msg["content"]
            if msg["msg_type"] == "stream":
                parts.append(content["text"])
            elif msg["msg_type"] in ("execute_result", "display_data") and "text/html" not in content["data"]:
                parts.append(content["data"].get("text/plain", ""))
            elif msg["msg_type"] == "error":
                parts.append(f"{content['ename']}: {content['evalue']}")
        return "".join(parts)


def widget_text(msg: dict[str, Any]) -> Optional[str]:
    """The HTML or text a widget update, open or live-view message carries, if any (as JSON for a
    live view's state or changes: its HTML and streamed text are there as they are)."""
    if msg["msg_type"] not in ("comm_msg", "comm_open"):
        return None
    data = msg["content"].get("data", {})
    state = data.get("state", {})
    value = state.get("value")
    if isinstance(value, str):
        return value
    if "run" in state:
        return json.dumps(state["run"])
    if data.get("method") == "custom" and "o" in data.get("content", {}):
        return json.dumps(data["content"]["o"])
    return None
