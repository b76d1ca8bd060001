"""Settings, read from the environment only (DESIGN §9).

Every variable is listed in `.env.example`. The defaults need no server at all: SQLite under
`var/`, encrypted image files under `var/media/`, and Celery on a filesystem broker that a real
worker process consumes. `DJANGO_ENV=production` removes the development conveniences and
refuses to start without real secrets.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'.")
PRODUCTION = DJANGO_ENV == "production"

VAR_DIR = Path(env.str("KYC_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)

if PRODUCTION:
    try:
        SECRET_KEY = env.str("SECRET_KEY")
    except ImproperlyConfigured:
        raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production.") from None
    if not env.str("KYC_ENCRYPTION_KEYS", default=""):
        raise ImproperlyConfigured("KYC_ENCRYPTION_KEYS must be set when DJANGO_ENV=production.")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-development-only-key")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Second factors for staff (kyc.access builds its pages and policy on these models).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "vendors",
    "kyc.audit",
    "kyc.access",
    "axes",
    "kyc",
    "kyc.known_faces",
    "reviews",
]

MIDDLEWARE = [
    # First: every log line of the request carries its id; the metrics time the whole request.
    "kyc.ops.middleware.RequestIdMiddleware",
    "kyc.ops.middleware.PrometheusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "reviews.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Audit events written by model signals (group and permission changes) name the signed-in
    # user as their actor.
    "kyc.access.actors.CurrentActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Staff access, after messages (the sign-in page says why a session ended), in this order:
    # which device verified the session, end idle or too old sessions, then send anyone whose
    # role needs a second factor to enter (or set up) one.
    "django_otp.middleware.OTPMiddleware",
    "kyc.access.middleware.SessionTimeoutMiddleware",
    "kyc.access.middleware.SecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a sign-in refused by the lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kyc.urls"
WSGI_APPLICATION = "kyc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kyc.access.context_processors.session_clock",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kyc.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so the worker processes the end-to-end tests start can share it; one
    # per test run, so two runs side by side never delete each other's database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
    # Web, worker and beat share one file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions take the write lock up front so two writers queue instead of
    # failing half-way (the audit chain relies on this, DESIGN §8).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DB_POOL_MAX_SIZE := env.int("DB_POOL_MAX_SIZE", default=0):
        # A process-wide pool (psycopg_pool): the worker's threads borrow a connection only
        # while they talk to the database (kyc.db_pool), so many vendor calls can wait at once
        # without holding a PostgreSQL backend each. Pooled connections must not persist per
        # thread. Under bench/load.py two things made answers wait for a connection:
        # - a pool that grows under a burst makes threads wait for new PostgreSQL backends, so
        #   the whole pool is opened when the worker starts;
        # - a health check on every borrow is a round trip each time (three or four per pair).
        #   Without it, a connection broken by a database restart fails its task once and is
        #   replaced; the stuck-attempt and webhook sweepers re-run what failed, and a vendor's
        #   answer, stored first, is not paid twice (kyc.services.pipeline).
        #   DB_POOL_CHECK=true restores it.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DB_POOL_CHECK", default=False)
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": DB_POOL_MAX_SIZE,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env.float("DB_POOL_TIMEOUT", default=30.0),
        }
    else:
        DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    # Parameters travel beside the SQL instead of being quoted into it by psycopg, and a
    # statement a connection runs five times is prepared: PostgreSQL parses and plans it once.
    # Issue 19: bench/attempt_cost.py under callgrind, 18.83 -> 18.19 million instructions per
    # attempt in the worker; bench/pipeline.py, PostgreSQL + Redis CPU per burst of 300 pairs
    # 1.8-2.2 s -> 1.2-1.7 s. Behind PgBouncer in transaction mode without its
    # max_prepared_statements (1.21+), set DB_PREPARED_STATEMENTS=false. PostgreSQL re-plans a
    # prepared statement after a migration; one that changed a column it returns makes it fail
    # ("cached plan must not change result type") until the process restarts, as a deploy does.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (shared by every process: vendor tokens, circuit breakers, throttles) ------------
CACHES = {"default": env.cache("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "kyc.cache.RedisCache"  # reuses its Redis clients

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"  # reviews.views.home sends each role to its own page
LOGOUT_REDIRECT_URL = "login"
# A staff session ends after this many minutes without a request (the page warns shortly
# before), and SESSION_COOKIE_AGE seconds after sign-in however active it is (kyc/access).
KYC_SESSION_IDLE_MINUTES = env.int("KYC_SESSION_IDLE_MINUTES", default=15)
if KYC_SESSION_IDLE_MINUTES < 1:
    raise ImproperlyConfigured("KYC_SESSION_IDLE_MINUTES must be at least 1.")
# The name authenticator apps show next to a staff member's code.
OTP_TOTP_ISSUER = env.str("KYC_TOTP_ISSUER", default="KYC face review")

AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in from a locked-out name or address before a password is checked.
    "axes.backends.AxesStandaloneBackend",
    "kyc.access.passwords.PasswordBackend",
    "kyc.access.oidc.StaffOidcBackend",
]
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For;
# 0 trusts only the connection's own address (kyc/access/addresses.py).
KYC_PROXY_COUNT = env.int("KYC_PROXY_COUNT", default=0)

# --- Staff sign-in lockout (django-axes): per name and per address --------------------------
AXES_FAILURE_LIMIT = env.int("KYC_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("KYC_LOGIN_COOLOFF_MINUTES", default=15))
# Either is enough: a name tried from many addresses, or one address trying many names.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Attempts refused by a lockout do not restart it, so the page's "try again in N minutes" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "kyc.access.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "kyc.access.addresses.client_address"
AXES_USERNAME_CALLABLE = "kyc.access.lockout.username_tried"
# The audit trail records every sign-in and sign-out; axes keeps only the failure counters.
AXES_DISABLE_ACCESS_LOG = True
# kyc/admin/lockouts.py lists the counters; unlocking there is audited.
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# --- The API's guard against guessed keys: N unknown keys from one address in a window ------
KYC_API_KEY_FAILURE_LIMIT = env.int("KYC_API_KEY_FAILURE_LIMIT", default=10)
KYC_API_KEY_FAILURE_WINDOW_SECONDS = env.int("KYC_API_KEY_FAILURE_WINDOW_SECONDS", default=600)
KYC_API_KEY_COOLOFF_SECONDS = env.int("KYC_API_KEY_COOLOFF_SECONDS", default=900)

# --- Single sign-on with OpenID Connect (mozilla-django-oidc; kyc/access/oidc.py) -----------
# On when a client id is set; every endpoint then comes from the provider's discovery document
# (/.well-known/openid-configuration), copied here so start-up never waits on the network.
OIDC_RP_CLIENT_ID = env.str("KYC_OIDC_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("KYC_OIDC_CLIENT_SECRET", default="")
KYC_OIDC_ISSUER = env.str("KYC_OIDC_ISSUER", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("KYC_OIDC_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("KYC_OIDC_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("KYC_OIDC_USERINFO_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("KYC_OIDC_JWKS_ENDPOINT", default="")
KYC_OIDC_END_SESSION_ENDPOINT = env.str("KYC_OIDC_END_SESSION_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("KYC_OIDC_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("KYC_OIDC_SCOPES", default="openid email profile")
# The claim listing the user's groups at the provider, and which of our groups (roles) each
# value grants: {"kyc-reviewers": "Reviewers", ...}. Groups not named here are left alone.
KYC_OIDC_GROUPS_CLAIM = env.str("KYC_OIDC_GROUPS_CLAIM", default="groups")
try:
    KYC_OIDC_GROUP_MAP: dict[str, str] = json.loads(env.str("KYC_OIDC_GROUP_MAP", default="{}"))
except json.JSONDecodeError as error:
    raise ImproperlyConfigured(f"KYC_OIDC_GROUP_MAP is not valid JSON: {error}.") from None
if not isinstance(KYC_OIDC_GROUP_MAP, dict) or not all(
    isinstance(key, str) and isinstance(value, str) for key, value in KYC_OIDC_GROUP_MAP.items()
):
    raise ImproperlyConfigured(
        "KYC_OIDC_GROUP_MAP must be a JSON object of claim values to group names, e.g. "
        '{"kyc-reviewers": "Reviewers"}.'
    )
# Whether a first sign-in that matches no account (by subject or email) creates one.
KYC_OIDC_CREATE_USERS = env.bool("KYC_OIDC_CREATE_USERS", default=True)
# Users who signed in with SSO cannot use a local password: the provider decides who may enter.
KYC_OIDC_DISABLE_PASSWORDS = env.bool("KYC_OIDC_DISABLE_PASSWORDS", default=True)
# Whether a session opened by single sign-on skips the second factor here because the identity
# provider asks for its own (as most corporate providers do). Off: SSO users pass ours too.
KYC_OIDC_PROVIDER_CHECKS_SECOND_FACTOR = env.bool(
    "KYC_OIDC_PROVIDER_CHECKS_SECOND_FACTOR", default=True
)
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # sent back as id_token_hint when signing out at the provider
OIDC_TIMEOUT = env.int("KYC_OIDC_TIMEOUT_SECONDS", default=10)
OIDC_AUTHENTICATION_CALLBACK_URL = "sso_callback"
if OIDC_RP_CLIENT_ID:
    _missing_sso = [
        name
        for name, value in {
            "KYC_OIDC_CLIENT_SECRET": OIDC_RP_CLIENT_SECRET,
            "KYC_OIDC_ISSUER": KYC_OIDC_ISSUER,
            "KYC_OIDC_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
            "KYC_OIDC_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
            "KYC_OIDC_USERINFO_ENDPOINT": OIDC_OP_USER_ENDPOINT,
            "KYC_OIDC_JWKS_ENDPOINT": OIDC_OP_JWKS_ENDPOINT,
        }.items()
        if not value
    ]
    if _missing_sso:
        raise ImproperlyConfigured(
            f"KYC_OIDC_CLIENT_ID is set, so single sign-on needs {', '.join(_missing_sso)} too."
        )

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and images ----------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]

MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
KYC_S3_BUCKET = env.str("KYC_S3_BUCKET", default="")
if KYC_S3_BUCKET:
    _image_inner_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": KYC_S3_BUCKET,
            "endpoint_url": env.str("KYC_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("KYC_S3_REGION", default="") or None,
            "location": env.str("KYC_S3_PREFIX", default="images"),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
else:
    _image_inner_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    # The only files the application stores are biometric images: the default storage
    # encrypts on the way in, so the backend below it only ever sees ciphertext (DESIGN §9).
    "default": {
        "BACKEND": "kyc.storage.EncryptedStorage",
        "OPTIONS": {"inner": _image_inner_storage},
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# "kid:base64-key" entries separated by commas, newest first. Development without the
# variable uses a key generated once into var/ (kyc/crypto.py).
KYC_ENCRYPTION_KEYS = env.str("KYC_ENCRYPTION_KEYS", default="")

# Uploads: two images plus form fields; anything larger is refused before it is read.
KYC_MAX_IMAGE_BYTES = env.int("KYC_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
KYC_MAX_IMAGE_PIXELS = env.int("KYC_MAX_IMAGE_PIXELS", default=40_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * KYC_MAX_IMAGE_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = KYC_MAX_IMAGE_BYTES

# --- Celery (kyc/celery.py) -----------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        # Broadcast messages (worker control) go here; kombu's default is ./control.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
else:
    # Redis / SQS style brokers redeliver a message whose worker died once this long passes
    # without an ack; it must exceed the longest task (CELERY_TASK_TIME_LIMIT).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=600),
        # Redis: how often a worker looks for messages abandoned by a dead worker; kombu's
        # default (every 10th sweep, every 10 s) only notices after about 100 s.
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=3),
    }
    if CELERY_BROKER_URL.startswith("redis://"):
        # The same transport, keeping its Redis client instead of making one per message. Not
        # for rediss://: kombu turns TLS on from that scheme only when it picks the transport.
        CELERY_BROKER_TRANSPORT = "kyc.redis_broker:Transport"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
# Stopping a worker (README, "Stopping a worker"): SIGTERM is a warm shutdown that lets every
# running task finish, however long. A cold one (SIGQUIT, a second Ctrl+C, or SIGTERM under
# REMAP_SIGTERM=SIGQUIT) first waits this long when tasks are running, then abandons them: it
# must cover a running attempt, up to two vendor calls (a token, then the comparison) at the
# longest vendor timeout (15 s by default) plus storing the answer, or that attempt's vendor is
# called and paid twice. Not on idle (worker_enable_soft_shutdown_on_idle stays off): an idle
# worker has nothing to finish, and the messages it prefetched, countdowns included, go back to
# the broker when it closes its channel (kombu restores unacknowledged messages at shutdown).
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = env.float("CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT", default=40)

# Beyond the vendor timeout, how long a running attempt may go silent before it is retried.
KYC_ATTEMPT_GRACE_SECONDS = env.int("KYC_ATTEMPT_GRACE_SECONDS", default=30)
# Review cases are due this many hours after they open (the queue's SLA).
KYC_REVIEW_SLA_HOURS = env.int("KYC_REVIEW_SLA_HOURS", default=24)
# A contested automatic rejection (GDPR Art. 22) is due for its reviewers' decision this many
# hours after the applicant's statement arrives.
KYC_CONTEST_SLA_HOURS = env.int("KYC_CONTEST_SLA_HOURS", default=48)
# A reviewer's claim on a case lapses after this many minutes without a decision.
KYC_CLAIM_MINUTES = env.int("KYC_CLAIM_MINUTES", default=30)
# While a reviewer looks at a case, its page asks the server to prepare the next one's aligned
# face crops (kept encrypted in the cache this many seconds; 0 keeps none), so the next case's
# faces are on screen sooner after the decision. Nothing is claimed by preparing it.
KYC_PREFETCH_NEXT_CASE = env.bool("KYC_PREFETCH_NEXT_CASE", default=True)
KYC_FACE_CROP_CACHE_SECONDS = env.int("KYC_FACE_CROP_CACHE_SECONDS", default=600)
# Decisions that need a second reviewer: "reject", "approve", "resubmit", "all", and
# "override_vendor" (going against the vendor's clear verdict: score band or same-person flag).
KYC_FOUR_EYES_RULES = env.list("KYC_FOUR_EYES_RULES", default=["reject", "override_vendor"])
# Webhooks to private, loopback, link-local (cloud metadata) or unspecified addresses are refused
# in every environment unless this is on: a client's callback_url must never reach our network.
KYC_WEBHOOKS_ALLOW_PRIVATE = env.bool("KYC_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Every task here runs on the maintenance queue (kyc/celery.py routes them by this table).
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-attempts": {"task": "kyc.sweep_stuck_attempts", "schedule": 60.0},
    # Every 15 s: with the 30 s lease and the 15 s grace (kyc/webhooks/delivery.py), a delivery
    # whose worker died is sent again within a minute of its claim.
    "sweep-due-webhooks": {"task": "kyc.sweep_due_webhooks", "schedule": 15.0},
    "purge-expired-images": {"task": "kyc.purge_expired_images", "schedule": 3600.0},
    "release-expired-claims": {"task": "reviews.release_expired_claims", "schedule": 60.0},
    "check-score-drift": {"task": "reviews.check_score_drift", "schedule": 6 * 3600.0},
    "refresh-calibration": {"task": "reviews.refresh_calibration", "schedule": 600.0},
}
# Score drift (reviews.drift): a backend's week whose population-stability index against the
# four weeks before exceeds this is flagged (0.1–0.25 is customarily a moderate shift); weeks
# with fewer scores than KYC_DRIFT_MIN_SCORES, or a reference with fewer, are not judged.
KYC_DRIFT_PSI_LIMIT = env.float("KYC_DRIFT_PSI_LIMIT", default=0.2)
KYC_DRIFT_MIN_SCORES = env.int("KYC_DRIFT_MIN_SCORES", default=100)

# --- Vendor credentials and endpoints (never stored in the database; DESIGN §9) -----------
VENDOR_ENV_VARIABLES = {
    "finauth": [
        "FINAUTH_BASE_URL",
        "FINAUTH_API_KEY",
        "FINAUTH_API_SECRET",
        "FINAUTH_COMPARE_ID",
        "FINAUTH_ENCRYPTION_PUBLIC_KEY",
    ],
    "advance": ["ADVANCE_BASE_URL", "ADVANCE_ACCESS_KEY", "ADVANCE_SECRET_KEY"],
    "zoloz": [
        "ZOLOZ_BASE_URL",
        "ZOLOZ_CLIENT_ID",
        "ZOLOZ_MERCHANT_PRIVATE_KEY",
        "ZOLOZ_PUBLIC_KEY",
    ],
    "alibaba": [
        "ALIBABA_BASE_URL",
        "ALIBABA_ACCESS_KEY_ID",
        "ALIBABA_ACCESS_KEY_SECRET",
        "ALIBABA_REGION",
        "ALIBABA_NETWORK",
    ],
    "local": [],
}


def _sandbox_variables() -> dict[str, str]:
    """Development only: the variables `make demo` (or `manage.py run_sandboxes`) wrote for its
    vendor sandboxes, so that a shell in the demo's folder reaches the same sandboxes
    (`manage.py compare --vendor advance …`). Never in production, and never in a test run
    (pytest sets PYTEST_VERSION for its processes and theirs): a file an earlier demo left
    behind must not change what a test sees."""
    path = VAR_DIR / "sandboxes.json"
    if PRODUCTION or "PYTEST_VERSION" in os.environ or not path.is_file():
        return {}
    try:
        per_vendor = json.loads(path.read_text())
        return {
            name: str(value)
            for variables in per_vendor.values()
            for name, value in variables.items()
        }
    except (OSError, ValueError, AttributeError) as error:
        raise ImproperlyConfigured(
            f"{path} is not the sandboxes' credentials file ({error}): delete it or run "
            "`make demo` again."
        ) from error


_SANDBOX_VARIABLES = _sandbox_variables()


def _vendor_value(name: str) -> str:
    """A variable's value, or the contents of the file named by NAME_FILE (for PEM keys), or in
    development what var/sandboxes.json says."""
    value = env.str(name, default="")
    path = env.str(f"{name}_FILE", default="")
    if not value and path:
        value = Path(path).read_text()
    return value or _SANDBOX_VARIABLES.get(name, "")


VENDOR_CREDENTIALS = {
    vendor: {name: _vendor_value(name) for name in names}
    for vendor, names in VENDOR_ENV_VARIABLES.items()
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "kyc.error_pages.csrf_failure"
# Cookies travel over HTTPS only whenever DEBUG is off (and always in production): a session cookie
# opens biometric images. (Chromium treats http://localhost and 127.0.0.1 as secure, so the
# browser tests and the demo still sign in over plain HTTP there.)
SESSION_COOKIE_SECURE = PRODUCTION or not DEBUG
CSRF_COOKIE_SECURE = PRODUCTION or not DEBUG
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is a one-way door (removal from browser lists takes months): opt in only.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "EXCEPTION_HANDLER": "kyc.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KYC face review API",
    "DESCRIPTION": "Submit selfie/reference image pairs for 1:1 face verification.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's assets come from the drf-spectacular-sidecar package: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: one JSON object per line; never images, keys or raw PII ------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")

# --- Operations: /metrics credentials (HTTP Basic, or a bearer token); unset = no /metrics --
KYC_METRICS_USER = env.str("KYC_METRICS_USER", default="")
KYC_METRICS_PASSWORD = env.str("KYC_METRICS_PASSWORD", default="")
KYC_METRICS_TOKEN = env.str("KYC_METRICS_TOKEN", default="")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        # The same for gunicorn's error and access logs (kyc/gunicorn_conf.py).
        "json": {"()": "kyc.ops.logs.json_formatter"},
    },
    # On the handler, so they see every record written, whichever logger made it (kyc/ops/logs.py).
    "filters": {
        "request_id": {"()": "kyc.ops.logs.RequestIdFilter"},
        "redact": {"()": "kyc.ops.logs.RedactingFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"level": LOG_LEVEL, "propagate": True},
        # One line per HTTP call is noise at INFO; vendor calls are logged by the pipeline.
        "httpx": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
        # Every sign-in at INFO; the audit trail records them, the failures stay at WARNING.
        "axes": {"level": "WARNING"},
    },
}
