"""gunicorn's own logs, as JSON lines that keep no secret (installed by kyc/gunicorn_conf.py).

gunicorn writes two logs through handlers of its own, which Django's LOGGING never reaches: the
error log (start-up, workers, malformed requests, with the request line they carried) and the
access log. Both get the JSON format, the request id and the redaction of every other line
(kyc/ops/logs.py).

An access line keeps what an operator needs — method, path, status, duration, response size,
client address and the request id our middleware returned — and never what clients put secrets
in: the query string (`?api_key=`), the HTTP Basic user name, and every header but a few harmless
ones. Whatever `access_log_format` an operator sets, those atoms are not there to print; an
applicant reference in a path (`/api/v1/applicants/<ref>/`) is masked.
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from typing import Any

from gunicorn import glogging

from kyc.ops.logs import REQUEST_ID_HEADER, redact, write_json_lines

#: Headers an access-log format may print (`%({user-agent}i)s`); every other one reads "-".
SAFE_REQUEST_HEADERS = frozenset(
    {"user-agent", "content-type", "content-length", "x-request-id", "x-forwarded-for"}
)
SAFE_RESPONSE_HEADERS = frozenset(
    {"content-type", "content-length", "retry-after", REQUEST_ID_HEADER.lower()}
)


class GunicornLogger(glogging.Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)  # also on every configuration reload (HUP): handlers are new
        for handler in [*self.error_log.handlers, *self.access_log.handlers]:
            write_json_lines(handler)

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> Any:
        atoms = super().atoms(resp, req, environ, request_time)
        path = redact(atoms.get("U") or "")
        safe = {key: value for key, value in atoms.items() if not key.startswith("{")}
        for key, value in atoms.items():
            name, kind = key[1:-2], key[-1:]
            if key.startswith("{") and (
                (kind == "i" and name in SAFE_REQUEST_HEADERS)
                or (kind == "o" and name in SAFE_RESPONSE_HEADERS)
            ):
                safe[key] = redact(str(value))
        safe.update(
            u="-",  # the Basic-auth user name: clients send API keys there
            q="",  # the query string: clients send API keys there too
            U=path,
            r=f"{atoms.get('m')} {path} {atoms.get('H')}",
            f="-",  # the referer: a staff page's URL, search terms included
        )
        return safe

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        request_id = atoms[f"{{{REQUEST_ID_HEADER.lower()}}}o"]
        try:
            self.access_log.info(
                self.cfg.access_log_format,
                atoms,
                extra={
                    # The middleware's id: this line joins the request's other lines.
                    "request_id": None if request_id == "-" else request_id,
                    "method": atoms["m"],
                    "path": atoms["U"],
                    "status": _status_code(atoms["s"]),
                    "duration_ms": atoms["M"],
                    "bytes": atoms["B"],
                    "remote_addr": atoms["h"],
                },
            )
        except Exception:  # as gunicorn does: a broken format is reported, never raised
            self.error(traceback.format_exc())


def _status_code(status: Any) -> int | str:
    try:
        return int(status)
    except (TypeError, ValueError):
        return str(status)
