"""Custom auth for the demo graphs (``langgraph_auth.json``): every request needs
``Authorization: Bearer demo-token-0123456789``, as a deployment with custom auth would ask.

Any server that loads a langgraph.json (``langgraph dev``, langhost, Aegra) runs this handler. It reads
the raw headers, whose keys are bytes on langgraph-api and text on Aegra.
"""

from typing import Any

from langgraph_sdk import Auth

TOKEN = "demo-token-0123456789"

auth = Auth()


@auth.authenticate
async def authenticate(headers: dict[Any, Any]) -> dict[str, Any]:
    found = headers.get(b"authorization") or headers.get("authorization") or b""
    value = found.decode() if isinstance(found, bytes) else str(found)
    if value != f"Bearer {TOKEN}":
        raise Auth.exceptions.HTTPException(status_code=401, detail="Missing or wrong bearer token")
    return {"identity": "notebook-user", "is_authenticated": True, "permissions": []}
