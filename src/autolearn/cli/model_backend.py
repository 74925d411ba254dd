"""Where ``autolearn model`` and ``autolearn service`` act: this machine's services
(embedded) or a server through the SDK, picked like every other command by ``--server``
(``cli/backend.py``). Both return the same dicts, so the output is the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class ModelBackend(Protocol):
    remote: bool

    def publish(self, task_id: int, name: str, profile: str, description: str) -> dict: ...
    def list_versions(self, name: str | None, limit: int, offset: int) -> dict[str, Any]: ...
    def get_version(self, ref: str) -> dict[str, Any]: ...
    def download(self, ref: str, dest: Path) -> Path: ...
    def delete_version(self, ref: str) -> dict[str, Any]: ...
    def deploy(self, model: str, name: str | None, config: dict[str, Any]) -> dict: ...
    def list_services(self, limit: int, offset: int) -> dict[str, Any]: ...
    def get_service(self, service_id: int) -> dict[str, Any]: ...
    def stop_service(self, service_id: int) -> dict[str, Any]: ...
    def start_service(self, service_id: int) -> dict[str, Any]: ...
    def delete_service(self, service_id: int) -> dict[str, Any]: ...
    def predict(
        self, service_id: int, image: Path, top_k: int, threshold: float | None
    ) -> dict: ...


class EmbeddedModels:
    """This machine's database and store, as the local operator."""

    remote = False

    def publish(self, task_id: int, name: str, profile: str, description: str) -> dict:
        from autolearn.models.published import publish

        return publish(task_id, name, profile, description)

    def list_versions(self, name: str | None, limit: int, offset: int) -> dict[str, Any]:
        from autolearn.models.published import list_versions

        return list_versions(name, limit, offset)

    def get_version(self, ref: str) -> dict[str, Any]:
        from autolearn.models.published import get_version

        return get_version(ref)

    def download(self, ref: str, dest: Path) -> Path:
        """Copied through a temporary name, never left half-written."""
        import shutil

        from autolearn.models.published import artifact_filename, open_artifact

        view, handle = open_artifact(ref)
        target = dest / artifact_filename(view) if dest.is_dir() else dest
        partial = target.with_name(f".{target.name}.part")
        with handle, partial.open("wb") as fh:
            shutil.copyfileobj(handle, fh, 1024 * 1024)
        partial.replace(target)
        return target

    def delete_version(self, ref: str) -> dict[str, Any]:
        from autolearn.models.published import delete_version

        return delete_version(ref)

    def deploy(self, model: str, name: str | None, config: dict[str, Any]) -> dict:
        from autolearn.serving.services import deploy

        return deploy(model, name, config)

    def list_services(self, limit: int, offset: int) -> dict[str, Any]:
        from autolearn.serving.services import list_services

        return list_services(limit, offset)

    def get_service(self, service_id: int) -> dict[str, Any]:
        from autolearn.serving.services import get_service

        return get_service(service_id)

    def stop_service(self, service_id: int) -> dict[str, Any]:
        from autolearn.serving.services import stop_service

        return stop_service(service_id)

    def start_service(self, service_id: int) -> dict[str, Any]:
        from autolearn.serving.services import start_service

        return start_service(service_id)

    def delete_service(self, service_id: int) -> dict[str, Any]:
        from autolearn.serving.services import delete_service

        return delete_service(service_id)

    def predict(self, service_id: int, image: Path, top_k: int, threshold: float | None) -> dict:
        """Without a server the service's model runs here, once, with its own settings:
        what its endpoint would answer (a stopped service refuses as it would)."""
        import time

        from autolearn.serving.errors import ServiceNotReadyError
        from autolearn.serving.predictor import read_image
        from autolearn.serving.runtime import load_runtime
        from autolearn.serving.services import get_service

        view = get_service(service_id)
        if view["status"] != "RUNNING":
            raise ServiceNotReadyError(f"service {service_id} is {view['status']}; start it")
        started = time.perf_counter()
        runtime = load_runtime(view["model"]["artifact_uri"], threads=view["config"]["threads"])
        result = runtime.predict([read_image(image)], threshold=threshold, top_k=top_k)[0]
        result.pop("image", None)
        latency = round((time.perf_counter() - started) * 1000, 2)
        return {
            "service": service_id,
            "model": view["model"]["ref"],
            **result,
            "latency_ms": latency,
        }


class RemoteModels:
    """A server, through ``autolearn.sdk.Client``."""

    remote = True

    def __init__(self, server: str, token: str | None) -> None:
        from autolearn.sdk import Client

        self.client = Client(server.rstrip("/"), token=token)

    def publish(self, task_id: int, name: str, profile: str, description: str) -> dict:
        return self.client.publish_model(task_id, name, profile, description)

    def list_versions(self, name: str | None, limit: int, offset: int) -> dict[str, Any]:
        return self.client.list_model_versions(name, limit, offset)

    def get_version(self, ref: str) -> dict[str, Any]:
        return self.client.get_model_version(ref)

    def download(self, ref: str, dest: Path) -> Path:
        return self.client.download_model_version(ref, dest)

    def delete_version(self, ref: str) -> dict[str, Any]:
        return self.client.delete_model_version(ref)

    def deploy(self, model: str, name: str | None, config: dict[str, Any]) -> dict:
        return self.client.deploy_model(model, name, **config)

    def list_services(self, limit: int, offset: int) -> dict[str, Any]:
        return self.client.list_services(limit, offset)

    def get_service(self, service_id: int) -> dict[str, Any]:
        return self.client.get_service(service_id)

    def stop_service(self, service_id: int) -> dict[str, Any]:
        return self.client.stop_service(service_id)

    def start_service(self, service_id: int) -> dict[str, Any]:
        return self.client.start_service(service_id)

    def delete_service(self, service_id: int) -> dict[str, Any]:
        return self.client.delete_service(service_id)

    def predict(self, service_id: int, image: Path, top_k: int, threshold: float | None) -> dict:
        return self.client.predict_service(
            service_id, image, top_k=top_k, threshold=threshold, wait_s=60
        )


def current_models() -> ModelBackend:
    """The backend ``--server`` / ``AUTOLEARN_SERVER`` selected (``cli/backend.py``)."""
    from autolearn.cli.backend import _selected

    server = _selected["server"]
    return RemoteModels(server, _selected["token"]) if server else EmbeddedModels()
