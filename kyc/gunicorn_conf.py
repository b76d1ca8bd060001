"""The web server's one configuration: `make demo` and production both run

    gunicorn -c python:kyc.gunicorn_conf --bind HOST:PORT [--workers N] [--threads N]

It serves kyc.wsgi and writes gunicorn's error log (stderr) and access log (stdout) as JSON lines
through the same redaction as every other line (kyc/ops/gunicorn_logs.py): no query string, no
Basic-auth user, no applicant reference in a path. Options given on the command line win over
these; do not pass another --logger-class.
"""

wsgi_app = "kyc.wsgi:application"
logger_class = "kyc.ops.gunicorn_logs.GunicornLogger"
accesslog = "-"
errorlog = "-"
# The line's message; method, path, status, duration_ms, bytes, remote_addr and request_id are
# JSON fields of their own.
access_log_format = "%(m)s %(U)s %(s)s"
# gunicornc's control socket is one path per user ($HOME/.gunicorn/gunicorn.ctl): two servers on
# one machine (the demo and a test run) would fight over it, and nothing here uses it.
control_socket_disable = True
