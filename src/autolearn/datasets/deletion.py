"""Deleting a dataset: its database rows, its manifests and its labelling drafts.

Refused while any task uses one of its versions: a task records exactly which data its
model saw, and that record must keep resolving. Image blobs are left in place: they are
content-addressed (``blobs/<sha[:2]>/<sha256><ext>``) and may be shared by versions of
other datasets, so removing them safely needs a sweep over every manifest, which a
single delete does not do.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from autolearn.accounts.principal import Principal, may_read_dataset
from autolearn.datasets.commit import check_writable
from autolearn.datasets.formats.base import DatasetError
from autolearn.datasets.manifest import manifest_key
from autolearn.datasets.versions import DatasetNotFoundError, _known_datasets
from autolearn.db import Dataset, DatasetVersion, Task, session_scope
from autolearn.storage import ObjectStore, default_store, open_store

DELETE_HINT = "only its owner or an admin may delete it"
MAX_NAMED = 20  # tasks named in a refusal; the count is always exact


class DatasetInUseError(DatasetError):
    """Tasks use versions of the dataset; the message names them."""


def delete_dataset(
    name: str,
    actor: Principal | None = None,
    engine: Engine | None = None,
    store: ObjectStore | None = None,
) -> dict[str, Any]:
    """Delete dataset ``name`` (owner or admin) unless a task uses one of its versions.

    The rows go in one transaction first; the manifests and drafts are removed after it
    committed, so a failure cannot leave a version whose manifest is gone.
    """
    try:
        with session_scope(engine) as s:
            # Write first, read after (as commit_version does): the no-op UPDATE takes
            # the lock, so no version is added to the dataset while it is deleted.
            s.execute(update(Dataset).where(Dataset.name == name).values(name=name))
            ds = s.scalar(
                select(Dataset).where(Dataset.name == name).options(selectinload(Dataset.versions))
            )
            if ds is None or not may_read_dataset(actor, ds.owner_id):
                raise DatasetNotFoundError(
                    f"no dataset named {name!r}; {_known_datasets(s, actor)}"
                )
            check_writable(ds, actor, hint=DELETE_HINT)
            users = s.execute(
                select(Task.id, Task.name, DatasetVersion.number)
                .join(DatasetVersion, Task.dataset_version_id == DatasetVersion.id)
                .where(DatasetVersion.dataset_id == ds.id)
                .order_by(Task.id)
            ).all()
            if users:
                raise DatasetInUseError(_in_use(name, [(t, n, v) for t, n, v in users]))
            roots = {_store_root(v.manifest_uri, name, v.content_hash) for v in ds.versions}
            summary = {"name": name, "deleted_versions": [v.number for v in ds.versions]}
            _delete_rows(s, ds.id, [v.id for v in ds.versions])
    except IntegrityError:  # a task pinned a version between the check and the delete
        raise DatasetInUseError(
            f"a task started using dataset {name!r} while it was being deleted; it is kept"
        ) from None
    for root in roots - {None}:
        open_store(str(root)).delete(f"datasets/{name}/")
    (store or default_store()).delete(f"datasets/{name}/")  # drafts (and manifests there)
    return summary


def _delete_rows(s: Any, dataset_id: int, version_ids: list[int]) -> None:
    # Versions of other datasets never name a parent here today; should one, it loses
    # its parent link rather than blocking the delete.
    s.execute(
        update(DatasetVersion)
        .where(DatasetVersion.parent_id.in_(version_ids), DatasetVersion.dataset_id != dataset_id)
        .values(parent_id=None)
    )
    s.execute(
        delete(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .execution_options(synchronize_session=False)
    )
    s.execute(
        delete(Dataset).where(Dataset.id == dataset_id).execution_options(synchronize_session=False)
    )


def _in_use(name: str, users: list[tuple[int, str, int]]) -> str:
    listed = ", ".join(f"task {t} ({n!r}, on v{v})" for t, n, v in users[:MAX_NAMED])
    more = f" and {len(users) - MAX_NAMED} more" if len(users) > MAX_NAMED else ""
    return (
        f"dataset {name!r} is used by {len(users)} task(s): {listed}{more}; a task keeps "
        "the exact data its model was trained on, so the dataset cannot be deleted while "
        "they exist"
    )


def _store_root(manifest_uri: str, name: str, content_hash: str) -> str | None:
    """The root URI of the store a manifest was written to (None when it cannot tell)."""
    key = manifest_key(name, content_hash)
    return manifest_uri[: -len(key) - 1] if manifest_uri.endswith("/" + key) else None


__all__ = ["DatasetInUseError", "delete_dataset"]
