"""All configuration comes from environment variables prefixed FLEETGRAPH_ (listed in README)."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

#: Where links in mails point when neither FLEETGRAPH_PUBLIC_URL nor `fleetgraph serve` says (the default
#: address of `fleetgraph serve`).
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"


class SettingsError(ValueError):
    pass


def _bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"not a boolean: {raw!r}")


@dataclass(frozen=True)
class Settings:
    #: Directory for the SQLite file, the master key file and other local state.
    data_dir: Path = Path("data")
    #: SQLAlchemy async URL; empty means the SQLite file in data_dir.
    database_url: str = ""
    #: broadcaster URL: memory:// (one process) or redis://host:port (several workers).
    broadcast_url: str = "memory://"
    #: Live events: how often the event log is read while the bus is away (seconds; ten times slower while it
    #: is up, as a safety net), how long events stay in the log for `after:` (hours), and how many events a
    #: subscriber may have waiting before it counts as too slow and is ended with its cursor.
    event_poll_seconds: float = 0.5
    event_retention_hours: float = 24.0
    subscriber_queue: int = 100
    #: On SIGTERM: how long `fleetgraph serve` lets in-flight requests finish after it stopped accepting and
    #: closed every websocket with 1012 (service restart: clients reconnect and resume with their last cursor).
    shutdown_seconds: int = 10
    #: Subscriptions open at once per user (in each server process) and per websocket connection.
    subscriptions_per_user: int = 100
    subscriptions_per_connection: int = 20
    #: Lifetime of an access token (seconds); API users always get this lifetime too.
    access_token_ttl: int = 3600
    #: Lifetime of a refresh token (seconds).
    refresh_token_ttl: int = 14 * 24 * 3600
    #: Failed logins per account or client address before logins are slowed.
    login_slowdown_after: int = 3
    #: Failed logins per account or client address before a lock.
    login_lock_after: int = 10
    #: How long a lock lasts (seconds).
    login_lock_seconds: int = 900
    #: Serve GraphiQL at GET /graphql for browsers.
    graphiql: bool = True
    #: Query limits.
    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 5000
    max_cost: int = 50000
    #: Only persisted queries (sha256 -> document) are accepted when true.
    persisted_queries_only: bool = False
    #: Optional JSON file {"<sha256>": "<document>"} loaded as the persisted-query allow-list.
    persisted_queries_file: str = ""
    #: Master key (key-encryption key): 64 hex characters (version 1) or versions "2:<hex>,1:<hex>", current
    #: first (graph.secrets); empty means data_dir/master.key (made 0600, same form).
    master_key: str = ""
    #: SMTP server for outgoing mail; empty means mails stay in the outbox (visible to platform admins).
    smtp_host: str = ""
    smtp_port: int = 587
    #: "starttls", "tls" (implicit TLS) or "none".
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    #: Sender of every mail.
    mail_from: str = "fleetgraph <no-reply@fleetgraph.invalid>"
    #: Attempts per mail before it is marked failed; the wait doubles from mail_retry_seconds.
    mail_max_attempts: int = 8
    mail_retry_seconds: int = 30
    #: How often the delivery worker looks for due mails (seconds).
    mail_poll_seconds: float = 5.0
    #: Base URL of links in mails (a web front end, or this server's /register, /reset and /confirm-email
    #: pages); empty: the address `fleetgraph serve` listens on (it fills this in), else DEFAULT_PUBLIC_URL.
    #: Never the request's Host header: a forged one would send reset links elsewhere.
    public_url: str = ""
    #: Validity of an invitation's registration link (hours).
    invitation_ttl_hours: int = 72
    #: Validity of e-mail confirmation and password reset links (minutes).
    email_token_ttl_minutes: int = 60
    #: How recent the caller's authentication (login or sessionReauthenticate) must be to create a key download
    #: (seconds).
    key_download_reauth_seconds: int = 300
    #: Validity of a key download's one-time link (seconds).
    key_download_ttl_seconds: int = 300
    #: Base URL of this API server for key download links; empty means the base URL of the request.
    download_base_url: str = ""
    #: Largest multipart (file upload) request body in bytes; larger ones get 413.
    max_upload_bytes: int = 32 * 1024 * 1024
    #: A router with no heartbeat for this long (seconds) is marked offline by the watchdog.
    router_offline_after_seconds: int = 90
    #: How often the router watchdog looks for silent routers (seconds); 0 turns it off in this process.
    router_watchdog_seconds: float = 5.0
    #: Status samples older than this many days are deleted by the watchdog; 0 keeps them forever.
    router_status_retention_days: int = 30
    #: Remote clients (issue 18): silence after which a client counts as disconnected (seconds), how long its
    #: pairing key is valid (minutes), and how many unpaired clients may wait at once (new ones are refused).
    client_offline_after_seconds: int = 90
    client_pairing_minutes: int = 15
    client_max_pending: int = 10_000
    #: MQTT broker for router heartbeats (mqtt://host:port or mqtts://user:password@host:port); empty: no MQTT.
    mqtt_url: str = ""
    #: Telemetry: how old a point may be when it arrives (days; older ones are refused), the retention of an
    #: organisation without its own (days; 0 keeps points forever), and how often the purge worker runs
    #: (seconds; 0 turns it off in this process).
    telemetry_late_days: int = 7
    telemetry_retention_days: int = 365
    telemetry_purge_seconds: float = 3600.0
    #: Demo mode (`serve --demo` turns it on): the demo simulator keeps the demo routers reporting, and platform
    #: admins may read mail bodies in the outbox.
    demo: bool = False
    #: Data monitoring: the cloud host that is ours (HELIX, THINGSBOARD, DOCKERS or NETSUPPORT); a location sending
    #: to another one is OTHER_CLOUD_HOST (we cannot tell whether its data arrives).
    datalog_cloud_host: str = "HELIX"
    #: Data monitoring: an uploaded configuration unacknowledged for this long (seconds) is TIMED_OUT.
    datalog_ack_timeout_seconds: int = 60
    #: Data monitoring: how long a discovery (OPC UA browse, BACnet scan, Modbus read, SNMP walk) waits for the
    #: router's answer (seconds).
    datalog_discovery_timeout_seconds: float = 10.0
    #: Data monitoring: how often the upload timer looks for unanswered uploads (seconds); 0 turns it off here.
    datalog_timer_seconds: float = 5.0
    #: Log level for the fleetgraph loggers.
    log_level: str = "INFO"
    #: "text" (one line per record) or "json" (one JSON object per line, for log shippers).
    log_format: str = "text"
    #: Reverse proxies (IP addresses or networks, comma-separated) whose X-Forwarded-For and
    #: X-Forwarded-Proto headers are believed; empty: no proxy's, the peer's address is the client's.
    trusted_proxies: str = ""
    #: When set, /metrics answers only requests with `Authorization: Bearer <this token>`; empty: anyone who
    #: reaches the port (keep it off the public network then).
    metrics_token: str = ""
    #: "off" or "otlp": OpenTelemetry spans over OTLP/HTTP, configured by the OTEL_* variables (graph.tracing).
    tracing: str = "off"
    #: How often duration alarms that are due are raised (seconds); 0 turns the alarm timer off in this process.
    alarm_timer_seconds: float = 5.0
    #: Outbound deliveries (forwarding, cloud integrations; resolvers/monitoring/delivery): how often the worker
    #: looks for due ones when nothing woke it (seconds; 0 turns the worker off in this process), attempts before a
    #: delivery is FAILED, the first retry's wait (doubling, with jitter, up to the maximum), how long a claim holds
    #: (a worker that stops mid-send frees it after this), and the timeout of one send (seconds).
    delivery_poll_seconds: float = 2.0
    delivery_max_attempts: int = 10
    delivery_retry_seconds: float = 5.0
    delivery_max_backoff_seconds: float = 600.0
    delivery_lease_seconds: float = 60.0
    delivery_timeout_seconds: float = 10.0
    #: Delivered deliveries (and their attempts) are deleted after this many days; 0 keeps them. FAILED ones stay.
    delivery_retention_days: float = 7.0
    #: Whether forwarding targets may be at private, loopback or link-local addresses. Off: an organisation admin
    #: cannot point a target at a service inside the server's network (checked when sending).
    forwarding_private_addresses: bool = False
    #: Where addressSearch looks (issue 17): "embedded" (stored addresses and the shipped sample) or "nominatim".
    address_directory: str = "embedded"
    #: Base URL of the Nominatim search API the "nominatim" directory asks (/search and /lookup below it).
    nominatim_url: str = "https://nominatim.openstreetmap.org"
    nominatim_timeout_seconds: float = 5.0
    #: The organisation that people who sign up with a one-time code join (as CONSUMER); made on the first sign-up.
    consumer_organisation: str = "Consumers"
    #: The HTTP SMS gateway that sends sign-in codes (POST, JSON); empty: no SMS, so sign-in by phone is refused.
    #: Its credentials are set with `fleetgraph sms-gateway-credentials` (sealed with the master key).
    sms_gateway_url: str = ""
    #: Metering integrations (issue 17): base URLs of the city portal (mos.ru), the state housing system (GIS ZhKKh)
    #: and the water utility (Mosvodokanal) adapters; each receives POST <url>/readings (README: the payloads).
    metering_city_portal_url: str = "https://portal.invalid/api"
    metering_state_housing_url: str = "https://gis-housing.invalid/api"
    metering_utility_url: str = "https://utility.invalid/api"
    #: How often the integration scheduler looks for due transfers (seconds; 0 turns it off in this process).
    metering_scheduler_seconds: float = 30.0
    #: Demo mode only: how often the demo consumer's integrations deliver (seconds).
    metering_demo_transfer_seconds: float = 180.0

    #: Theme images (issue 18: logo, dark-mode logo, favicon): the largest accepted upload in bytes.
    theme_image_max_bytes: int = 512 * 1024
    #: Nameservers that check login domains' TXT records ("ip" or "ip:port", comma-separated); empty: the system's.
    dns_nameservers: str = ""
    #: OpenID Connect / OAuth 2 sign-in (issue 19): the providers, a JSON object {"<name>": {"preset": …,
    #: "client_id": …, "client_secret_file": … or "client_secret_env": …, …}} or "@<path of a JSON file>"
    #: (resolvers/identity/federation/providers.py); client secrets never in it. Empty: no federated sign-in.
    oidc_providers: str = ""
    #: Trust a provider's assertion of multi-factor authentication (amr "mfa", "otp" or "hwk", or an acr the
    #: provider's entry lists): no TOTP code is asked then. Off: the organisation's two-factor rules apply.
    oidc_trust_idp_mfa: bool = False
    #: Where a federated sign-in (OpenID Connect callback, SAML assertion consumer) sends the browser, with
    #: "#signin=<code>" or "#error=<reason>" (the fragment never reaches a server log); empty: the public URL.
    sign_in_return_url: str = ""
    #: Base URL of this server for the providers' redirect URI (…/auth/oidc/<name>/callback, registered with
    #: each provider); empty: the base URL of the request.
    oidc_redirect_base_url: str = ""
    #: Federated sign-ins (OpenID Connect and SAML) one client address may have started and not yet seen
    #: expire (10 minutes each), per kind; the next start is answered 429 with Retry-After.
    federation_starts_per_address: int = 30

    def __post_init__(self) -> None:
        if self.log_format not in ("text", "json"):
            raise ValueError(f"FLEETGRAPH_LOG_FORMAT must be text or json, not {self.log_format!r}")
        if self.tracing not in ("off", "otlp"):
            raise SettingsError(f"FLEETGRAPH_TRACING must be off or otlp, not {self.tracing!r}")
        if self.datalog_cloud_host not in ("HELIX", "THINGSBOARD", "DOCKERS", "NETSUPPORT"):
            raise SettingsError("FLEETGRAPH_DATALOG_CLOUD_HOST must be HELIX, THINGSBOARD, DOCKERS or NETSUPPORT")
        if self.address_directory not in ("embedded", "nominatim"):
            raise SettingsError("FLEETGRAPH_ADDRESS_DIRECTORY must be embedded or nominatim")
        if self.federation_starts_per_address < 1:
            raise SettingsError("FLEETGRAPH_FEDERATION_STARTS_PER_ADDRESS must be at least 1")
        _ = self.trusted_proxy_list  # a bad value stops the server at start, not at the first request
        _ = self.dns_nameserver_list

    @property
    def dns_nameserver_list(self) -> list[tuple[str, int]]:
        """(address, port) of each nameserver of FLEETGRAPH_DNS_NAMESERVERS (port 53 unless given)."""
        servers = []
        for entry in filter(None, (part.strip() for part in self.dns_nameservers.split(","))):
            address, port = entry, 53
            if entry.count(":") == 1:  # "ip:port"; an IPv6 address alone has several colons
                address, _, raw_port = entry.partition(":")
                port = int(raw_port) if raw_port.isdigit() and 0 < int(raw_port) < 65536 else -1
            try:
                ipaddress.ip_address(address.strip("[]"))
            except ValueError:
                port = -1
            if port < 0:
                raise SettingsError(f"FLEETGRAPH_DNS_NAMESERVERS: not an IP address (with a port): {entry!r}")
            servers.append((address.strip("[]"), port))
        return servers

    @property
    def trusted_proxy_list(self) -> list[str]:
        """The trusted proxies, normalised ("10.1.2.3/8" is "10.0.0.0/8")."""
        entries = []
        for entry in filter(None, (part.strip() for part in self.trusted_proxies.split(","))):
            try:
                entries.append(
                    str(ipaddress.ip_network(entry, strict=False) if "/" in entry else ipaddress.ip_address(entry))
                )
            except ValueError as exc:
                raise SettingsError(f"FLEETGRAPH_TRUSTED_PROXIES: not an IP address or network: {entry!r}") from exc
        return entries

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = env.get(f"FLEETGRAPH_{field.name.upper()}")
            if raw is None:
                continue
            default = field.default
            try:
                if isinstance(default, bool):
                    values[field.name] = _bool(raw)
                elif isinstance(default, int):
                    values[field.name] = int(raw)
                elif isinstance(default, float):
                    values[field.name] = float(raw)
                elif isinstance(default, Path):
                    values[field.name] = Path(raw)
                else:
                    values[field.name] = raw
            except ValueError as exc:
                raise SettingsError(f"FLEETGRAPH_{field.name.upper()}: {exc}") from exc
        return cls(**values)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'fleetgraph.db').resolve()}"

    def __repr__(self) -> str:  # settings get logged; secrets must not be
        hidden = {"master_key", "smtp_password", "mqtt_url"}
        shown = ", ".join(
            f"{f.name}={'***' if f.name in hidden and getattr(self, f.name) else getattr(self, f.name)!r}"
            for f in fields(self)
        )
        return f"Settings({shown})"

    @property
    def link_base_url(self) -> str:
        """Where links in mails point (without a trailing slash)."""
        return (self.public_url or DEFAULT_PUBLIC_URL).rstrip("/")

    @property
    def mail_bodies_readable(self) -> bool:
        """Platform admins may read queued mail bodies: nothing would deliver them otherwise (no SMTP server),
        or it is a demo."""
        return self.demo or not self.smtp_host

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")
