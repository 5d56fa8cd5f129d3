"""Connection settings shared by the gateway, the edge agent and the tools (pydantic-settings)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MqttSettings(BaseSettings):
    """Where the broker is and how to log in; read from CAMPUSEDGE_MQTT_* variables."""

    model_config = SettingsConfigDict(env_prefix="CAMPUSEDGE_MQTT_", extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls_ca: str | None = Field(default=None, description="CA file; enables TLS when set")
    tls_cert: str | None = Field(default=None, description="client certificate (PEM), with tls_ca")
    tls_key: str | None = Field(default=None, description="client certificate's key (PEM, 0600)")
    keepalive_s: int = Field(default=30, ge=5, le=3600)
