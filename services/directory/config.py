"""Directory settings (env prefix `DIRECTORY_`), read once by the app factory."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.limits import MAX_UPLOAD_BYTES
from shared.settings import BackendSettings


class DirectorySettings(BackendSettings):
    model_config = SettingsConfigDict(env_prefix="DIRECTORY_", extra="ignore", populate_by_name=True)

    matcher_url: str = Field(
        default="http://127.0.0.1:8081", description="Base URL of the matcher service, used by the lot page."
    )
    matcher_timeout_s: float = Field(default=10.0, gt=0, description="How long the lot page waits for the matcher.")
    max_upload_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1024, description="Largest OCDS file a user may upload.")
