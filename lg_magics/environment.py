"""The environment variables lg_magics reads.

Kept free of imports: ``%load_ext lg_magics`` and the pytest plugin read these
names, and both must stay fast to import.
"""

from __future__ import annotations

#: The Agent Server the magics use when none is configured; ``%agent serve`` reuses it.
URL_ENV = "LG_MAGICS_URL"
#: A cassette file every run goes through, as if the notebook began with ``%agent record PATH``.
CASSETTE_ENV = "LG_MAGICS_CASSETTE"
#: ``record``, ``replay`` or ``auto`` for every cassette (``%agent record --mode`` wins).
RECORD_MODE_ENV = "LG_MAGICS_RECORD_MODE"
RECORD_MODES = ("record", "replay", "auto")
#: A token sent as ``Authorization: Bearer <token>`` (servers with custom auth read it).
AUTH_TOKEN_ENV = "LG_MAGICS_AUTH_TOKEN"
#: A JSON object of headers added to every request (values are secrets: never shown).
HEADERS_ENV = "LG_MAGICS_HEADERS"
#: TLS verification: on (default), off, or the path of a CA bundle.
VERIFY_ENV = "LG_MAGICS_VERIFY"
